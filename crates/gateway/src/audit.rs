//! The audit trail: one AU-3 record per question (who, role, tenant, action, resource,
//! request id, IP, result, duration, details with the question, drafted and executed SQL,
//! guard decision, rows and timings), written through the gateway login, append-only.
//!
//! When the store cannot be written, the record goes to a local spool file (one JSON line
//! per record, fsynced), drained into the store when it is back. Records carry their own
//! id and timestamp, and the store ignores a record it already has, so a drain that is
//! interrupted and repeated writes nothing twice. When neither the store nor the spool
//! can be written, `write` fails and the caller must fail closed.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use tokio::sync::Mutex;
use uuid::Uuid;

/// One audit record, in the shape of `deriq.audit_log`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AuditRecord {
    pub id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub tenant_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub user_email: Option<String>,
    pub user_role: Option<String>,
    /// READ, EXPORT, ACCESS_DENIED, ...
    pub action: String,
    /// "der-iq/ask", "der-iq/search", ...
    pub resource: String,
    pub resource_id: Option<String>,
    pub request_id: String,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    /// SUCCESS or FAILURE.
    pub result: String,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub duration_ms: i32,
    pub details: serde_json::Value,
}

/// Where a record went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Written {
    Store,
    Spool,
}

/// Neither the store nor the spool could take the record.
#[derive(Debug, thiserror::Error)]
#[error("the audit trail cannot be written (store: {store}; spool {path}: {spool}); the request is refused")]
pub struct AuditUnavailable {
    pub store: String,
    pub path: PathBuf,
    pub spool: String,
}

/// What a drain did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DrainReport {
    pub read: usize,
    pub inserted: usize,
    pub already_present: usize,
}

/// The audit writer.
pub struct AuditLog {
    pool: PgPool,
    spool: PathBuf,
    spool_lock: Mutex<()>,
    store_timeout: Duration,
}

const INSERT: &str = "INSERT INTO deriq.audit_log (id, occurred_at, tenant_id, user_id, user_email, user_role, action, resource, \
    resource_id, request_id, ip_address, user_agent, result, error_code, error_message, duration_ms, details) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::inet, $12, $13, $14, $15, $16, $17) ON CONFLICT DO NOTHING";

async fn insert(pool: &PgPool, r: &AuditRecord) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(INSERT)
        .bind(r.id)
        .bind(r.occurred_at)
        .bind(r.tenant_id)
        .bind(r.user_id)
        .bind(&r.user_email)
        .bind(&r.user_role)
        .bind(&r.action)
        .bind(&r.resource)
        .bind(&r.resource_id)
        .bind(&r.request_id)
        .bind(&r.ip_address)
        .bind(&r.user_agent)
        .bind(&r.result)
        .bind(&r.error_code)
        .bind(&r.error_message)
        .bind(r.duration_ms)
        .bind(&r.details)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() == 1)
}

impl AuditLog {
    /// A writer through `pool` (the gateway login on the primary), spooling to `spool`.
    pub fn new(pool: PgPool, spool: PathBuf) -> Self {
        AuditLog { pool, spool, spool_lock: Mutex::new(()), store_timeout: Duration::from_secs(3) }
    }

    /// The spool file.
    pub fn spool_path(&self) -> &Path {
        &self.spool
    }

    /// Writes one record: to the store, else to the spool. Drains a non-empty spool first
    /// when the store is reachable.
    pub async fn write(&self, record: &AuditRecord) -> Result<Written, AuditUnavailable> {
        if self.spool_len() > 0 {
            let _ = self.drain().await;
        }
        let store_error = match tokio::time::timeout(self.store_timeout, insert(&self.pool, record)).await {
            Ok(Ok(_)) => return Ok(Written::Store),
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!("no answer within {} s", self.store_timeout.as_secs()),
        };
        tracing::warn!(error = %store_error, spool = %self.spool.display(), "audit store unavailable; spooling the record");
        let _guard = self.spool_lock.lock().await;
        append_line(&self.spool, record).map_err(|e| AuditUnavailable { store: store_error, path: self.spool.clone(), spool: e.to_string() })?;
        Ok(Written::Spool)
    }

    fn spool_len(&self) -> u64 {
        std::fs::metadata(&self.spool).map(|m| m.len()).unwrap_or(0)
    }

    /// Moves every spooled record into the store. A record the store already has is
    /// skipped, so a repeated drain is harmless. The spool is emptied only after every
    /// record is in; on failure it is left as it was.
    pub async fn drain(&self) -> Result<DrainReport, sqlx::Error> {
        let _guard = self.spool_lock.lock().await;
        let records = match read_lines(&self.spool) {
            Ok(r) => r,
            Err(_) => return Ok(DrainReport::default()),
        };
        let mut report = DrainReport { read: records.len(), ..DrainReport::default() };
        for r in &records {
            if insert(&self.pool, r).await? {
                report.inserted += 1;
            } else {
                report.already_present += 1;
            }
        }
        if !records.is_empty() {
            // Every record is now in the store: empty the spool.
            if let Ok(f) = std::fs::OpenOptions::new().write(true).truncate(true).open(&self.spool) {
                let _ = f.sync_all();
            }
        }
        Ok(report)
    }
}

fn append_line(path: &Path, record: &AuditRecord) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut line = serde_json::to_string(record).map_err(std::io::Error::other)?;
    line.push('\n');
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    f.write_all(line.as_bytes())?;
    f.sync_all()
}

fn read_lines(path: &Path) -> std::io::Result<Vec<AuditRecord>> {
    let f = std::fs::File::open(path)?;
    let mut out = Vec::new();
    for line in std::io::BufReader::new(f).lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        // A torn last line (a crash mid-write) is skipped; complete lines are kept.
        if let Ok(r) = serde_json::from_str(&line) {
            out.push(r);
        }
    }
    Ok(out)
}
