//! The route handlers: parse, check, call the pipeline, shape the answer.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Extension, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use deriq_core::Module;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::body::JsonBody;
use super::caller::Caller;
use super::error::ApiError;
use super::idempotency::{self, Claim, Stored};
use super::middleware::{PipelineTime, RequestId};
use crate::ask::{Answer, AskRequest, MAX_QUESTION_CHARS};
use crate::drafter::DrafterKind;

/// `GET /healthz`: the process is up.
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

async fn probe(pool: &sqlx::PgPool) -> Value {
    let t = Instant::now();
    match tokio::time::timeout(Duration::from_secs(2), sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(pool)).await {
        Ok(Ok(_)) => json!({ "ok": true, "ms": t.elapsed().as_secs_f64() * 1e3 }),
        Ok(Err(e)) => json!({ "ok": false, "error": e.to_string() }),
        Err(_) => json!({ "ok": false, "error": "no answer within 2 s" }),
    }
}

/// `GET /readyz`: the primary, every replica and the default drafter are usable.
pub async fn readyz(State(s): State<AppState>) -> Response {
    let mut checks = serde_json::Map::new();
    checks.insert("primary".into(), probe(&s.asker.directory_pool).await);
    for (name, pool) in &s.replica_probes {
        checks.insert(format!("replica {name}"), probe(pool).await);
    }
    let drafter = s.asker.default_drafter;
    let drafter_ok = s.asker.drafters.contains_key(&drafter);
    checks.insert("drafter".into(), json!({ "ok": drafter_ok, "name": format!("{drafter:?}").to_lowercase() }));
    checks.insert("retrieval".into(), json!({ "ok": true, "enabled": s.asker.retrieval.is_some() }));
    let ready = checks.values().all(|c| c["ok"] == json!(true));
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(json!({ "status": if ready { "ready" } else { "not_ready" }, "checks": checks }))).into_response()
}

/// `GET /metrics`: Prometheus text.
pub async fn metrics(State(s): State<AppState>) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], s.metrics.render()).into_response()
}

/// `GET /openapi.json`.
pub async fn openapi() -> Json<Value> {
    Json(super::openapi::document())
}

/// Any other path.
pub async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint").hint("GET /openapi.json lists the endpoints")
}

/// The body of `POST /api/der-iq/query`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueryBody {
    /// The question, in plain English.
    pub question: String,
    /// Which drafter writes the SQL; the server's default when absent.
    #[serde(default)]
    pub drafter: Option<DrafterKind>,
    /// The module the question is asked from (RBAC is checked before anything runs).
    #[serde(default)]
    pub module: Option<Module>,
    /// Download the rows as CSV. For a full-tier role (the rows may hold PII) the token
    /// must carry an `mfa` claim from the last [`MFA_FRESH_SECONDS`] seconds.
    #[serde(default)]
    pub export: bool,
}

/// How recent an MFA must be for a PII export.
pub const MFA_FRESH_SECONDS: i64 = 15 * 60;

/// A PII export needs a recent MFA: 403 "MFA required" otherwise.
pub fn require_mfa_for_export(caller: &Caller, now: i64) -> Result<(), ApiError> {
    if deriq_core::permissions::tier(caller.role) != deriq_core::Tier::Full {
        return Ok(());
    }
    match caller.claims.mfa {
        Some(at) if at <= now + super::auth::LEEWAY_SECONDS as i64 && now - at <= MFA_FRESH_SECONDS => Ok(()),
        Some(_) => Err(ApiError::forbidden("mfa_required", "MFA required: the last MFA is older than 15 minutes").hint("complete MFA again, then retry the export")),
        None => Err(ApiError::forbidden("mfa_required", "MFA required: exports that may hold PII need a token with a recent `mfa` claim").hint("complete MFA, then retry the export")),
    }
}

fn csv_field(v: &Value) -> String {
    let text = match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    // Quote when needed; neutralise spreadsheet formulas.
    let text = if text.starts_with(['=', '+', '-', '@']) && text.parse::<f64>().is_err() { format!("'{text}") } else { text };
    if text.contains([',', '"', '\n', '\r']) || text.starts_with(' ') || text.ends_with(' ') { format!("\"{}\"", text.replace('"', "\"\"")) } else { text }
}

/// The rows of an answer as CSV (header line first).
pub fn csv(answer: &Answer) -> String {
    let mut out = answer.columns.iter().map(|c| csv_field(&Value::String(c.name.clone()))).collect::<Vec<_>>().join(",");
    out.push_str("\r\n");
    for row in &answer.rows {
        out.push_str(&row.iter().map(csv_field).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    out
}

/// Runs `work` once per Idempotency-Key (per user and route), replaying its response to retries.
pub async fn idempotent<F>(s: &AppState, caller: &Caller, route: &'static str, headers: &HeaderMap, raw: &Bytes, work: F) -> Result<Response, ApiError>
where
    F: std::future::Future<Output = Result<Response, ApiError>>,
{
    let Some(key) = idempotency::key_of(headers)? else {
        return work.await;
    };
    let qualified = format!("{}:{route}:{key}", caller.user.id);
    match s.idempotency.claim(qualified, raw)? {
        Claim::Replay(stored) => {
            s.metrics.idempotent_replays.with_label_values(&[route]).inc();
            let mut resp = (stored.status, stored.body.clone()).into_response();
            for (k, v) in &stored.headers {
                if let Ok(name) = header::HeaderName::from_bytes(k.as_bytes()) {
                    resp.headers_mut().insert(name, v.clone());
                }
            }
            resp.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
            Ok(resp)
        }
        Claim::Run(qualified) => {
            let resp = work.await.unwrap_or_else(IntoResponse::into_response);
            let (parts, body) = resp.into_parts();
            let bytes = match axum::body::to_bytes(body, usize::MAX).await {
                Ok(b) => b,
                Err(_) => {
                    s.idempotency.abandon(&qualified);
                    return Err(ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "response_unreadable", "the response could not be kept"));
                }
            };
            let kept: Vec<(String, HeaderValue)> = parts.headers.iter().filter(|(k, _)| *k == header::CONTENT_TYPE).map(|(k, v)| (k.to_string(), v.clone())).collect();
            s.idempotency.finish(qualified, raw, Stored { status: parts.status, headers: kept, body: bytes.clone() });
            Ok(Response::from_parts(parts, axum::body::Body::from(bytes)))
        }
    }
}

/// The `AskRequest` for a caller's question, with the gateway's caches and time limits.
pub fn gateway_request(s: &AppState, caller: &Caller, question: &str, drafter: Option<DrafterKind>, rid: &RequestId, peer: Option<SocketAddr>, headers: &HeaderMap) -> AskRequest {
    let mut req = ask_request(caller, question, drafter, rid, peer, headers);
    req.caches = Some(s.caches.clone());
    req.timeouts = s.options.timeouts;
    req.audit_sink = s.audit.clone().map(|a| a as std::sync::Arc<dyn crate::ask::AuditSink>);
    req
}

/// The `AskRequest` for a caller's question: the caller as resolved, and the tenant it
/// is narrowed to.
pub fn ask_request(caller: &Caller, question: &str, drafter: Option<DrafterKind>, rid: &RequestId, peer: Option<SocketAddr>, headers: &HeaderMap) -> AskRequest {
    let mut req = AskRequest::new(caller.user.email.clone(), question);
    req.caller = Some(caller.resolved.clone());
    req.tenant = caller.narrowed_to;
    req.drafter = drafter;
    req.request_id = rid.0.clone();
    req.ip_address = peer.map(|p| p.ip().to_string());
    req.user_agent = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(|s| s.chars().take(256).collect());
    req
}

/// The pipeline's time outside the gateway, for the overhead figure and `Server-Timing`.
pub fn pipeline_time(a: &Answer) -> PipelineTime {
    let t = &a.timings_ms;
    PipelineTime {
        stages: vec![("retrieval", t.retrieval), ("directory", t.directory), ("draft", t.draft), ("provider", t.provider), ("guard", t.guard), ("db", t.database), ("audit", t.audit)],
        drafter_ms: t.draft,
        database_ms: t.database + t.audit + t.directory,
        results_cached: a.results_cached,
    }
}

/// The JSON response of an answer, as `deriq ask --json` prints it.
pub fn answer_response(s: &AppState, answer: &Answer) -> Result<Response, ApiError> {
    s.metrics.record_answer(answer);
    let bytes = serde_json::to_vec(answer).map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "serialisation_failed", e.to_string()))?;
    let mut resp = ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], bytes).into_response();
    resp.extensions_mut().insert(pipeline_time(answer));
    Ok(resp)
}

/// `POST /api/der-iq/query`: one question, the answer as JSON.
pub async fn query(
    State(s): State<AppState>,
    Extension(rid): Extension<RequestId>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    caller: Caller,
    headers: HeaderMap,
    body: JsonBody<QueryBody>,
) -> Result<Response, ApiError> {
    let q = &body.value;
    if let Some(m) = q.module {
        caller.require(m)?;
    }
    if q.export {
        require_mfa_for_export(&caller, super::caller::unix_now())?;
    }
    let req = gateway_request(&s, &caller, &q.question, q.drafter, &rid, Some(peer), &headers);
    let export = q.export;
    idempotent(&s, &caller, "query", &headers, &body.raw, async {
        let answer = s.asker.ask(&req).await?;
        if !export {
            return answer_response(&s, &answer);
        }
        s.metrics.record_answer(&answer);
        if answer.sql.is_none() {
            return Err(ApiError::unprocessable("nothing_to_export", format!("the question did not produce rows to export: {}", answer.answer)));
        }
        let disposition = format!("attachment; filename=\"der-iq-{}.csv\"", answer.request_id);
        let mut resp = ([(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()), (header::CONTENT_DISPOSITION, disposition)], csv(&answer)).into_response();
        resp.extensions_mut().insert(pipeline_time(&answer));
        Ok(resp)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_formulas_neutralised() {
        assert_eq!(csv_field(&json!("plain")), "plain");
        assert_eq!(csv_field(&json!("a,b")), "\"a,b\"");
        assert_eq!(csv_field(&json!("say \"hi\"")), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field(&json!("=HYPERLINK(\"x\")")), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field(&json!(-3)), "-3");
        assert_eq!(csv_field(&Value::Null), "");
    }
}

/// The body of `POST /api/der-iq/search`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchBody {
    /// What to look for in the regulations.
    pub query: String,
    /// How many sections (1 to 20, default 5); each comes with its best passage and up to two
    /// more passages of the same section that score nearly as well.
    #[serde(default)]
    pub k: Option<usize>,
}

/// `POST /api/der-iq/search`: regulatory retrieval with citations.
pub async fn search(State(s): State<AppState>, caller: Caller, headers: HeaderMap, body: JsonBody<SearchBody>) -> Result<Response, ApiError> {
    let b = &body.value;
    let text = b.query.trim();
    if text.is_empty() {
        return Err(ApiError::unprocessable("empty_query", "the search query is empty"));
    }
    let chars = text.chars().count();
    if chars > MAX_QUESTION_CHARS {
        return Err(ApiError::unprocessable("query_too_long", format!("the search query is {chars} characters long; the limit is {MAX_QUESTION_CHARS}")));
    }
    let k = b.k.unwrap_or(5);
    if !(1..=20).contains(&k) {
        return Err(ApiError::unprocessable("bad_k", format!("k must be between 1 and 20, got {k}")));
    }
    let retrieval = s.asker.retrieval.as_ref().ok_or_else(|| ApiError::unavailable("retrieval_disabled", "regulatory search is not enabled on this server").hint("start `deriq serve` without --no-retrieval"))?;
    idempotent(&s, &caller, "search", &headers, &body.raw, async {
        let t = Instant::now();
        let results = retrieval.search(text, k).await.map_err(|e| ApiError::unavailable("retrieval_unavailable", format!("regulatory search failed: {e}")))?;
        let ms = t.elapsed().as_secs_f64() * 1e3;
        let mut resp = Json(json!({ "results": results, "timings_ms": { "retrieval": ms } })).into_response();
        resp.extensions_mut().insert(PipelineTime { stages: vec![("retrieval", ms)], drafter_ms: 0.0, database_ms: ms, results_cached: false });
        Ok(resp)
    })
    .await
}

/// The query of `GET /api/der-iq/schema`.
#[derive(Debug, Deserialize)]
pub struct SchemaParams {
    /// Only this module.
    pub module: Option<String>,
}

/// `GET /api/der-iq/schema`: what the caller may ask about.
pub async fn schema(caller: Caller, Query(p): Query<SchemaParams>) -> Result<Json<Value>, ApiError> {
    let module = match p.module.as_deref() {
        None => None,
        Some(m) => Some(m.parse::<Module>().map_err(|e| ApiError::bad_request("unknown_module", e.to_string()))?),
    };
    if let Some(m) = module {
        caller.require(m)?;
    }
    Ok(Json(super::schema::for_role(caller.role, module)))
}
