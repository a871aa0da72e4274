//! The corpus tables (migrations `0100_regulatory_corpus.sql` and `0106_rag_questions.sql`)
//! and the index metadata row.

use sqlx::PgPool;

use crate::error::RagError;

/// The migration that creates the corpus tables, for test databases and tools that do not
/// run the project's migrator.
pub const MIGRATION_SQL: &str = include_str!("../../../../migrations/0100_regulatory_corpus.sql");

/// The migration that adds the editors' questions ([`crate::questions`]).
pub const QUESTIONS_MIGRATION_SQL: &str =
    include_str!("../../../../migrations/0106_rag_questions.sql");

/// Applies [`MIGRATION_SQL`] and [`QUESTIONS_MIGRATION_SQL`] to a database that does not
/// have the tables yet.
pub async fn apply_migration(pool: &PgPool) -> Result<(), RagError> {
    sqlx::raw_sql(MIGRATION_SQL).execute(pool).await?;
    sqlx::raw_sql(QUESTIONS_MIGRATION_SQL).execute(pool).await?;
    Ok(())
}

/// What the stored vectors were computed with.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct IndexMetadata {
    /// Embedder model id.
    pub model: String,
    /// Vector length.
    pub dimension: i32,
    /// Chunker version the chunks were cut with.
    pub chunker_version: String,
}

/// Reads the index metadata row, if the index has been built.
pub async fn index_metadata(pool: &PgPool) -> Result<Option<IndexMetadata>, RagError> {
    let row: Option<(String, i32, String)> = sqlx::query_as(
        "SELECT model, dimension, chunker_version FROM deriq.rag_index_meta WHERE singleton",
    )
    .fetch_optional(pool)
    .await?;
    Ok(
        row.map(|(model, dimension, chunker_version)| IndexMetadata {
            model,
            dimension,
            chunker_version,
        }),
    )
}
