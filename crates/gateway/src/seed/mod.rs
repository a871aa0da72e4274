//! `deriq db seed`: a deterministic, realistic demo data set, written with COPY.
//!
//! The same options (employees per tenant and the as-of date) always produce the same
//! rows. Dates are spread relative to the as-of date (default: today), so that questions
//! such as "medical cards expiring in the next 30 days" have answers.

pub mod copy;
pub mod demo;
mod generate;

use chrono::NaiveDate;
use serde::Serialize;
use sqlx::PgPool;

pub use generate::generate;

/// What to seed.
#[derive(Debug, Clone)]
pub struct SeedOptions {
    pub employees_per_tenant: usize,
    /// The "today" of the data set.
    pub as_of: NaiveDate,
}

/// The seeding failed.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("database error while {doing}: {source}")]
    Db { doing: String, source: sqlx::Error },
    #[error("--employees-per-tenant must be between 10 and 100000, got {0}")]
    BadSize(usize),
}

/// Rows written per table.
#[derive(Debug, Serialize)]
pub struct SeedSummary {
    pub as_of: NaiveDate,
    pub tables: Vec<(String, usize)>,
}

impl SeedSummary {
    /// Rows written to one table.
    pub fn rows(&self, table: &str) -> usize {
        self.tables.iter().find(|(t, _)| t == table).map(|(_, n)| *n).unwrap_or(0)
    }
}

/// Replaces all business data with the demo data set, in one transaction. `admin` must be
/// a login that bypasses row-level security (the embedded superuser).
pub async fn seed(admin: &PgPool, options: &SeedOptions, progress: &dyn Fn(&str, usize, usize)) -> Result<SeedSummary, SeedError> {
    if !(10..=100_000).contains(&options.employees_per_tenant) {
        return Err(SeedError::BadSize(options.employees_per_tenant));
    }
    let tables = generate(options);
    let db = |doing: &str| {
        let doing = doing.to_string();
        move |source| SeedError::Db { doing, source }
    };
    let mut tx = admin.begin().await.map_err(db("starting the transaction"))?;
    let names: Vec<String> = tables.iter().map(|t| format!("compliance.{}", t.name)).collect();
    // Table names come from the generator's constant list, never from input.
    let truncate = format!("TRUNCATE {} CASCADE", names.join(", "));
    sqlx::query(&truncate).execute(&mut *tx).await.map_err(db("emptying the tables"))?;
    let total = tables.len();
    let mut summary = Vec::new();
    for (i, t) in tables.iter().enumerate() {
        progress(t.name, i + 1, total);
        let stmt = format!("COPY compliance.{} ({}) FROM STDIN", t.name, t.columns.join(", "));
        let mut copy = tx.copy_in_raw(&stmt).await.map_err(db(&format!("starting COPY into {}", t.name)))?;
        copy.send(t.data.as_bytes()).await.map_err(db(&format!("copying into {}", t.name)))?;
        copy.finish().await.map_err(db(&format!("finishing COPY into {}", t.name)))?;
        summary.push((t.name.to_string(), t.rows));
    }
    tx.commit().await.map_err(db("committing"))?;
    sqlx::query("ANALYZE").execute(admin).await.map_err(db("analysing"))?;
    Ok(SeedSummary { as_of: options.as_of, tables: summary })
}
