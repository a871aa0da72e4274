//! A transaction of a query login role with the caller's signed scope: the only way the
//! gateway runs drafted SQL (after the guard). READ ONLY, bounded by timeouts, and the
//! scope is set with `set_config(..., true)`, so it ends with the transaction.

use std::time::{SystemTime, UNIX_EPOCH};

use deriq_core::{Scope, ScopeKey, Tier};
use sqlx::{PgPool, Postgres, Transaction};

/// The database login role that runs queries for a tier.
pub fn query_role(tier: Tier) -> &'static str {
    match tier {
        Tier::Full => "deriq_query_full",
        Tier::Deidentified => "deriq_query_deid",
    }
}

/// How long a signed scope stays valid: longer than any statement timeout.
pub const SCOPE_TTL_SECONDS: i64 = 120;

/// Opens a read-only transaction on `pool` (a pool of `query_role(tier)` logins) with the
/// signed scope in place.
pub async fn begin(pool: &PgPool, key: &ScopeKey, tier: Tier, scope: &Scope, statement_timeout_ms: u32) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let signed = scope.sign(key, query_role(tier), now + SCOPE_TTL_SECONDS);
    let mut tx = pool.begin().await?;
    sqlx::query("SET TRANSACTION READ ONLY").execute(&mut *tx).await?;
    sqlx::query("SELECT set_config('deriq.scope', $1, true), set_config('statement_timeout', $2, true), set_config('search_path', 'compliance', true)")
        .bind(signed.0)
        .bind(format!("{statement_timeout_ms}ms"))
        .execute(&mut *tx)
        .await?;
    Ok(tx)
}
