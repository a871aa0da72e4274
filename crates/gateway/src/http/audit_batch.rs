//! Group commit for the audit trail: requests hand their record to background writers,
//! which insert whatever has queued up in one multi-row `INSERT ... SELECT FROM UNNEST`
//! (one round trip and one WAL flush for many questions) and then answer every request.
//! A request still waits for its own record to be durable before it answers, so the
//! fail-closed rule holds: when the batch insert fails, each record goes through
//! [`AuditLog::write`] (the store again, else the fsynced spool), and only a record that
//! neither can take fails its question. Records carry their own ids and the insert skips
//! ids already present, so a record written twice (a retry after an unclear failure) is
//! stored once.

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::{Mutex, mpsc, oneshot};
use uuid::Uuid;

use crate::ask::{Asker, AuditFuture, AuditSink};
use crate::audit::{AuditRecord, AuditUnavailable, Written};

/// The most records in one insert.
pub const MAX_BATCH: usize = 64;
/// How long a batch insert may take before its records go the single-record way.
pub const BATCH_TIMEOUT: Duration = Duration::from_secs(3);

type Reply = oneshot::Sender<Result<Written, AuditUnavailable>>;
type Queue = Arc<Mutex<mpsc::Receiver<(AuditRecord, Reply)>>>;

const INSERT_BATCH: &str = "INSERT INTO deriq.audit_log (id, occurred_at, tenant_id, user_id, user_email, user_role, action, resource, \
    resource_id, request_id, ip_address, user_agent, result, error_code, error_message, duration_ms, details) \
    SELECT * FROM UNNEST($1::uuid[], $2::timestamptz[], $3::uuid[], $4::uuid[], $5::text[], $6::text[], $7::text[], $8::text[], \
    $9::text[], $10::text[], $11::text[]::inet[], $12::text[], $13::text[], $14::text[], $15::text[], $16::int4[], $17::jsonb[]) \
    ON CONFLICT DO NOTHING";

/// Inserts records in one statement.
pub async fn insert_batch(pool: &PgPool, records: &[&AuditRecord]) -> Result<u64, sqlx::Error> {
    let col = |f: &dyn Fn(&AuditRecord) -> Option<String>| {
        records
            .iter()
            .map(|r| f(r))
            .collect::<Vec<Option<String>>>()
    };
    let done = sqlx::query(INSERT_BATCH)
        .bind(records.iter().map(|r| r.id).collect::<Vec<Uuid>>())
        .bind(records.iter().map(|r| r.occurred_at).collect::<Vec<_>>())
        .bind(
            records
                .iter()
                .map(|r| r.tenant_id)
                .collect::<Vec<Option<Uuid>>>(),
        )
        .bind(
            records
                .iter()
                .map(|r| r.user_id)
                .collect::<Vec<Option<Uuid>>>(),
        )
        .bind(col(&|r| r.user_email.clone()))
        .bind(col(&|r| r.user_role.clone()))
        .bind(col(&|r| Some(r.action.clone())))
        .bind(col(&|r| Some(r.resource.clone())))
        .bind(col(&|r| r.resource_id.clone()))
        .bind(col(&|r| Some(r.request_id.clone())))
        .bind(col(&|r| r.ip_address.clone()))
        .bind(col(&|r| r.user_agent.clone()))
        .bind(col(&|r| Some(r.result.clone())))
        .bind(col(&|r| r.error_code.clone()))
        .bind(col(&|r| r.error_message.clone()))
        .bind(records.iter().map(|r| r.duration_ms).collect::<Vec<i32>>())
        .bind(
            records
                .iter()
                .map(|r| r.details.clone())
                .collect::<Vec<serde_json::Value>>(),
        )
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}

/// The batching audit writer of a gateway.
#[derive(Debug, Clone)]
pub struct AuditBatcher {
    tx: mpsc::Sender<(AuditRecord, Reply)>,
    asker: Arc<Asker>,
}

impl AuditBatcher {
    /// Starts `workers` writers inserting through `pool` (the gateway login on the primary),
    /// falling back to the pipeline's own audit log (and its spool). Needs a Tokio runtime.
    pub fn start(asker: Arc<Asker>, pool: PgPool, workers: usize) -> Arc<AuditBatcher> {
        let (tx, rx) = mpsc::channel::<(AuditRecord, Reply)>(4 * MAX_BATCH);
        let queue: Queue = Arc::new(Mutex::new(rx));
        for _ in 0..workers.max(1) {
            tokio::spawn(worker(queue.clone(), asker.clone(), pool.clone()));
        }
        Arc::new(AuditBatcher { tx, asker })
    }
}

async fn worker(queue: Queue, asker: Arc<Asker>, pool: PgPool) {
    loop {
        let mut batch = Vec::new();
        {
            let mut rx = queue.lock().await;
            match rx.recv().await {
                Some(item) => batch.push(item),
                None => return,
            }
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(item) => batch.push(item),
                    Err(_) => break,
                }
            }
        }
        write_batch(&asker, &pool, batch).await;
    }
}

async fn write_batch(asker: &Asker, pool: &PgPool, batch: Vec<(AuditRecord, Reply)>) {
    if std::fs::metadata(asker.audit.spool_path()).is_ok_and(|m| m.len() > 0) {
        // The store was down earlier: move the spooled records in first (kept on failure).
        let _ = asker.audit.drain().await;
    }
    let records: Vec<&AuditRecord> = batch.iter().map(|(r, _)| r).collect();
    let stored = match tokio::time::timeout(BATCH_TIMEOUT, insert_batch(pool, &records)).await {
        Ok(Ok(_)) => true,
        Ok(Err(e)) => {
            tracing::warn!(target: "deriq::audit", error = %e, records = records.len(), "audit batch insert failed; writing the records one by one");
            false
        }
        Err(_) => {
            tracing::warn!(target: "deriq::audit", records = records.len(), "audit batch insert timed out; writing the records one by one");
            false
        }
    };
    for (record, reply) in batch {
        let outcome = if stored {
            Ok(Written::Store)
        } else {
            // One by one: the store again, else the spool; fails only when neither works.
            asker.audit.write(&record).await
        };
        let _ = reply.send(outcome);
    }
}

impl AuditSink for AuditBatcher {
    fn write(&self, record: AuditRecord) -> AuditFuture<'_> {
        Box::pin(async move {
            let (reply, answer) = oneshot::channel();
            match self.tx.send((record, reply)).await {
                Ok(()) => match answer.await {
                    Ok(outcome) => outcome,
                    // The writer is gone without answering: fail closed.
                    Err(_) => Err(AuditUnavailable {
                        store: "the audit writer stopped".into(),
                        path: self.asker.audit.spool_path().to_path_buf(),
                        spool: "not tried".into(),
                    }),
                },
                Err(mpsc::error::SendError((record, _))) => self.asker.audit.write(&record).await,
            }
        })
    }
}
