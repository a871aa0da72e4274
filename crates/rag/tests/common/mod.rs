//! Shared helpers for the database tests: a throw-away database per test, and a small
//! deterministic embedder so that plumbing tests do not need the model.

#![allow(dead_code, clippy::panic)]

use std::str::FromStr;
use std::sync::Arc;

use deriq_rag::tokens::{TiktokenCounter, TokenCounter};
use deriq_rag::{EmbedError, Embedder};
use sha2::{Digest, Sha256};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};

/// Environment variable with a superuser (or database-owner) connection string.
pub const DB_ENV: &str = "DERIQ_TEST_DATABASE_URL";

/// A database created for one test and dropped by [`TestDb::drop_db`].
pub struct TestDb {
    pub pool: PgPool,
    admin: PgConnectOptions,
    name: String,
}

fn admin_options() -> PgConnectOptions {
    let url = std::env::var(DB_ENV).unwrap_or_else(|_| {
        panic!(
            "{DB_ENV} is not set. The database tests need PostgreSQL with pgvector: set it to a \
             superuser URL such as postgres://postgres@127.0.0.1:55432/postgres (the project's \
             test script sets it after starting its embedded server)"
        )
    });
    PgConnectOptions::from_str(&url).unwrap_or_else(|e| panic!("{DB_ENV} is not a valid URL: {e}"))
}

impl TestDb {
    /// Creates `deriq_rag_test_<random>` and applies the corpus migration to it.
    pub async fn new() -> TestDb {
        let admin = admin_options();
        let name = format!("deriq_rag_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = PgConnection::connect_with(&admin)
            .await
            .unwrap_or_else(|e| panic!("cannot connect with {DB_ENV}: {e}"));
        // The name is generated above, never user input.
        sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("CREATE DATABASE failed: {e}"));
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .connect_with(admin.clone().database(&name))
            .await
            .unwrap_or_else(|e| panic!("cannot connect to {name}: {e}"));
        deriq_rag::store::apply_migration(&pool)
            .await
            .unwrap_or_else(|e| panic!("migration failed: {e}"));
        TestDb { pool, admin, name }
    }

    /// Closes the pool and drops the database.
    pub async fn drop_db(self) {
        self.pool.close().await;
        if let Ok(mut conn) = PgConnection::connect_with(&self.admin).await {
            let _ = sqlx::raw_sql(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut conn)
            .await;
        }
    }
}

/// Bag-of-words hashed into `dim` buckets, L2-normalised: texts sharing words are similar.
pub struct HashEmbedder {
    pub dim: usize,
    pub id: String,
}

impl HashEmbedder {
    pub fn new(dim: usize) -> Self {
        Self {
            dim,
            id: format!("test:hash-bag-of-words-{dim}"),
        }
    }

    pub fn vector(&self, text: &str) -> Vec<f32> {
        let mut v = vec![0f32; self.dim];
        for word in text
            .to_lowercase()
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.len() > 2)
        {
            let h = Sha256::digest(word.as_bytes());
            let bucket = usize::from(h[0]) << 8 | usize::from(h[1]);
            v[bucket % self.dim] += 1.0;
        }
        deriq_rag::embed::normalize(&mut v);
        v
    }
}

#[async_trait::async_trait]
impl Embedder for HashEmbedder {
    fn model_id(&self) -> &str {
        &self.id
    }
    fn dimension(&self) -> usize {
        self.dim
    }
    fn token_counter(&self) -> Arc<dyn TokenCounter> {
        Arc::new(TiktokenCounter::default())
    }
    fn max_input_tokens(&self) -> usize {
        256
    }
    async fn embed_batch(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        Ok(texts.iter().map(|t| self.vector(t)).collect())
    }
}

/// The hand-made corpus under tests/fixtures/corpus.
pub fn fixture_corpus() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/corpus")
}
