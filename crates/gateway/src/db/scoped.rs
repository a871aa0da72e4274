//! A transaction of a query login role with the caller's signed scope: the only way the
//! gateway runs drafted SQL (after the guard). READ ONLY, bounded by timeouts, and the
//! scope is set with `set_config(..., true)`, so it ends with the transaction.
//!
//! Four query logins: one per tier (full, de-identified), each in an unlimited form for a scope
//! of one whole tenant and a `_limited` form for every other scope (several tenants, a location
//! list, one employee). Their row-level security policies differ (migrations/0104, 0105): the
//! unlimited logins check one tenant as a scalar, so a tenant-wide query pays no per-row cost
//! and is planned like an explicit tenant predicate. The database rejects a scope signed for
//! another login, and any other scope on an unlimited login sees nothing.

use std::time::{SystemTime, UNIX_EPOCH};

use deriq_core::{Scope, ScopeKey, Tier};
use sha2::{Digest, Sha256};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres, Transaction};

/// One of the database logins that run guarded queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct QueryLogin {
    pub tier: Tier,
    /// For every scope but one whole tenant (`Scope::is_limited`).
    pub limited: bool,
}

impl QueryLogin {
    /// All four query logins.
    pub const ALL: [QueryLogin; 4] = [
        QueryLogin { tier: Tier::Full, limited: false },
        QueryLogin { tier: Tier::Deidentified, limited: false },
        QueryLogin { tier: Tier::Full, limited: true },
        QueryLogin { tier: Tier::Deidentified, limited: true },
    ];

    /// The login that runs a scope's queries at a tier.
    pub fn for_scope(tier: Tier, scope: &Scope) -> Self {
        QueryLogin { tier, limited: scope.is_limited() }
    }

    /// The database role name.
    pub fn role(self) -> &'static str {
        match (self.tier, self.limited) {
            (Tier::Full, false) => "deriq_query_full",
            (Tier::Deidentified, false) => "deriq_query_deid",
            (Tier::Full, true) => "deriq_query_full_limited",
            (Tier::Deidentified, true) => "deriq_query_deid_limited",
        }
    }

    fn index(self) -> usize {
        match (self.tier, self.limited) {
            (Tier::Full, false) => 0,
            (Tier::Deidentified, false) => 1,
            (Tier::Full, true) => 2,
            (Tier::Deidentified, true) => 3,
        }
    }

    /// The login's password. A limited login's password is derived from its tier's unlimited
    /// one (SHA-256 of it and the role name): both logins have the same grants and see only what
    /// a scope signed for them allows, so whoever holds one password gains nothing from the
    /// other, and no further secret has to be configured.
    pub fn password(self, full_password: &str, deid_password: &str) -> String {
        let base = match self.tier {
            Tier::Full => full_password,
            Tier::Deidentified => deid_password,
        };
        if !self.limited {
            return base.to_string();
        }
        let mut h = Sha256::new();
        h.update(base.as_bytes());
        h.update(b":");
        h.update(self.role().as_bytes());
        hex::encode(h.finalize())
    }
}

/// The database login role of a tier's unlimited login (a scope of one whole tenant).
pub fn query_role(tier: Tier) -> &'static str {
    QueryLogin { tier, limited: false }.role()
}

/// Lazily connecting pools of the four query logins on one server.
#[derive(Debug, Clone)]
pub struct QueryPools {
    pools: [PgPool; 4],
}

impl QueryPools {
    /// Pools on `base` (host, port, database), `max` connections each, connecting on first use.
    pub fn connect_lazy(base: &PgConnectOptions, full_password: &str, deid_password: &str, max: u32) -> Self {
        let pool = |login: QueryLogin| {
            PgPoolOptions::new()
                .max_connections(max)
                .acquire_timeout(std::time::Duration::from_secs(3))
                .connect_lazy_with(
                    base.clone()
                        .username(login.role())
                        .password(&login.password(full_password, deid_password))
                        .options([("search_path", "compliance")]),
                )
        };
        QueryPools { pools: QueryLogin::ALL.map(pool) }
    }

    /// The pool of the login that runs `scope` at `tier`.
    pub fn for_scope(&self, tier: Tier, scope: &Scope) -> &PgPool {
        &self.pools[QueryLogin::for_scope(tier, scope).index()]
    }

    /// Closes every pool.
    pub async fn close(&self) {
        for p in &self.pools {
            p.close().await;
        }
    }
}

/// How long a signed scope stays valid: longer than any statement timeout.
pub const SCOPE_TTL_SECONDS: i64 = 120;

/// Opens a read-only transaction on `pool` with the signed scope in place. `pool` must be a
/// pool of `QueryLogin::for_scope(tier, scope)` (see [`QueryPools::for_scope`]); on any other
/// login the database sees an invalid scope and returns no rows.
pub async fn begin(pool: &PgPool, key: &ScopeKey, tier: Tier, scope: &Scope, statement_timeout_ms: u32) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let signed = scope.sign(key, QueryLogin::for_scope(tier, scope).role(), now + SCOPE_TTL_SECONDS);
    let mut tx = pool.begin().await?;
    // One round trip: read-only (the same as SET TRANSACTION READ ONLY, which is allowed at any
    // point of a transaction), the scope, the timeout and the search path, all transaction-local.
    sqlx::query(
        "SELECT set_config('transaction_read_only', 'on', true), set_config('deriq.scope', $1, true), \
         set_config('statement_timeout', $2, true), set_config('search_path', 'compliance', true)",
    )
        .bind(signed.0)
        .bind(format!("{statement_timeout_ms}ms"))
        .execute(&mut *tx)
        .await?;
    Ok(tx)
}
