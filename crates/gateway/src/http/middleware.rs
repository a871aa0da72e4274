//! Per-request observation: a request id (the caller's `X-Request-Id` when sensible,
//! else a new one), the latency and status metrics, the gateway-overhead figure, the
//! `Server-Timing` header and one structured log line.

use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

use tracing::Instrument;

use super::AppState;

/// The id of a request, echoed in `X-Request-Id` and the audit log.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Pipeline time spent outside the gateway, set by handlers that ran the pipeline.
#[derive(Debug, Clone, Default)]
pub struct PipelineTime {
    /// Stages for `Server-Timing`, in milliseconds.
    pub stages: Vec<(&'static str, f64)>,
    /// Time in the drafter (an LLM provider's, or the offline drafter's own), in milliseconds.
    pub drafter_ms: f64,
    /// Time in the database (the query, the audit insert, directory reads), in milliseconds.
    pub database_ms: f64,
    /// The rows came from the results cache.
    pub results_cached: bool,
}

const ROUTES: &[&str] = &[
    "/healthz",
    "/readyz",
    "/metrics",
    "/openapi.json",
    "/api/der-iq/query",
    "/api/der-iq/search",
    "/api/der-iq/schema",
    "/api/der-iq/chat",
    "/api/der-iq/me",
    "/api/der-iq/dev/users",
    "/api/der-iq/dev/token",
    "/",
    "/app.js",
    "/app.css",
];

fn request_id(req: &Request) -> String {
    req.headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|s| !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

/// The observing middleware.
pub async fn observe(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request_id(&req);
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let route = ROUTES.iter().find(|r| **r == path).copied().unwrap_or("unmatched");
    req.extensions_mut().insert(RequestId(id.clone()));
    let span = tracing::info_span!("request", method = %method, route, request_id = %id, status = tracing::field::Empty);
    let mut resp = next.run(req).instrument(span.clone()).await;
    let total_ms = started.elapsed().as_secs_f64() * 1e3;
    let status = resp.status().as_u16();
    span.record("status", status);
    let pipeline = resp.extensions().get::<PipelineTime>().cloned();
    let overhead_ms = pipeline.as_ref().map(|p| (total_ms - p.drafter_ms - p.database_ms).max(0.0));
    let m = &state.metrics;
    m.requests.with_label_values(&[route, &status.to_string()]).inc();
    m.request_seconds.with_label_values(&[route]).observe(total_ms / 1e3);
    let mut timing = format!("total;dur={total_ms:.2}");
    if let (Some(p), Some(o)) = (&pipeline, overhead_ms) {
        m.overhead_seconds.with_label_values(&[route]).observe(o / 1e3);
        for (name, ms) in &p.stages {
            timing.push_str(&format!(", {name};dur={ms:.2}"));
        }
        timing.push_str(&format!(", overhead;dur={o:.2}"));
        if p.results_cached {
            timing.push_str(", cache;desc=hit");
        }
    }
    let headers = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&id) {
        headers.insert("x-request-id", v);
    }
    if let Ok(v) = HeaderValue::from_str(&timing) {
        headers.insert("server-timing", v);
    }
    tracing::info!(target: "deriq::http", request_id = %id, method = %method, path = %path, status, duration_ms = total_ms, overhead_ms, "request");
    resp
}
