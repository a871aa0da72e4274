//! `deriq db status`: both servers, replication lag and the migration version.

use serde::Serialize;
use sqlx::PgPool;

use super::{DbError, Endpoints, pool};

/// A row of pg_stat_replication: client, state, replay lag in bytes and in milliseconds.
type ReplicationRow = (Option<String>, Option<String>, Option<i64>, Option<f64>);

/// The state of one server.
#[derive(Debug, Serialize)]
pub struct ServerStatus {
    pub role: &'static str,
    pub address: String,
    pub reachable: bool,
    pub in_recovery: Option<bool>,
    pub error: Option<String>,
}

/// One replication connection, as the primary sees it.
#[derive(Debug, Serialize)]
pub struct Replication {
    pub client: String,
    pub state: String,
    pub lag_bytes: Option<i64>,
    pub replay_lag_ms: Option<f64>,
}

/// The whole status.
#[derive(Debug, Serialize)]
pub struct Status {
    pub primary: ServerStatus,
    pub replicas: Vec<ServerStatus>,
    pub replication: Vec<Replication>,
    pub migration_version: Option<i64>,
}

async fn probe(role: &'static str, opts: sqlx::postgres::PgConnectOptions) -> (ServerStatus, Option<PgPool>) {
    let address = format!("{}:{}", opts.get_host(), opts.get_port());
    match pool(role, opts, 1).await {
        Ok(p) => {
            let rec: Result<bool, _> = sqlx::query_scalar("SELECT pg_is_in_recovery()").fetch_one(&p).await;
            let (in_recovery, error) = match rec {
                Ok(r) => (Some(r), None),
                Err(e) => (None, Some(e.to_string())),
            };
            (ServerStatus { role, address, reachable: true, in_recovery, error }, Some(p))
        }
        Err(e) => (ServerStatus { role, address, reachable: false, in_recovery: None, error: Some(e.to_string()) }, None),
    }
}

/// Reads the status of the primary and every replica.
pub async fn status(endpoints: &Endpoints) -> Result<Status, DbError> {
    let (primary, primary_pool) = probe("primary", endpoints.admin.clone()).await;
    let mut replicas = Vec::new();
    for r in &endpoints.replicas {
        let opts = r.clone().username("deriq_query_full").password(&endpoints.query_full_password);
        let (s, p) = probe("replica", opts).await;
        if let Some(p) = p {
            p.close().await;
        }
        replicas.push(s);
    }
    let mut replication = Vec::new();
    let mut migration_version = None;
    if let Some(p) = primary_pool {
        let rows: Vec<ReplicationRow> = sqlx::query_as(
            "SELECT coalesce(application_name, '') || '@' || coalesce(client_addr::text, 'local'), state, \
                    pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint, \
                    extract(epoch FROM replay_lag)::float8 * 1000 \
             FROM pg_stat_replication ORDER BY 1",
        )
        .fetch_all(&p)
        .await
        .map_err(|source| DbError::Query { doing: "reading pg_stat_replication", source })?;
        replication = rows
            .into_iter()
            .map(|(client, state, lag_bytes, replay_lag_ms)| Replication {
                client: client.unwrap_or_default(),
                state: state.unwrap_or_default(),
                lag_bytes,
                replay_lag_ms,
            })
            .collect();
        migration_version = sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(&p)
            .await
            .ok()
            .flatten();
        p.close().await;
    }
    Ok(Status { primary, replicas, replication, migration_version })
}
