//! OpenTelemetry trace export, off unless `OTEL_EXPORTER_OTLP_ENDPOINT` is set: a tracing
//! layer turns DER IQ's spans (one per request, and one per pipeline stage under it:
//! retrieval, draft, guard, database, audit) into OTLP spans, and an exporter task posts
//! them in batches as OTLP/HTTP JSON to `<endpoint>/v1/traces`. Spans are dropped, never
//! waited for, when the collector is slow or down: tracing must not slow the gateway.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use tokio::sync::mpsc;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Metadata, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

/// Spans held for export before new ones are dropped.
pub const QUEUE: usize = 8192;
/// The most spans in one export request.
pub const MAX_BATCH: usize = 512;
/// How long the exporter waits to fill a batch.
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// A finished span.
#[derive(Debug, Clone)]
pub struct SpanData {
    pub trace_id: u128,
    pub span_id: u64,
    pub parent_span_id: Option<u64>,
    pub name: &'static str,
    pub target: &'static str,
    pub start_unix_nanos: u128,
    pub end_unix_nanos: u128,
    pub attributes: Vec<(&'static str, String)>,
}

/// Whether a span is one of DER IQ's (only those are exported, not the libraries').
pub fn is_ours(meta: &Metadata<'_>) -> bool {
    meta.target().starts_with("deriq")
}

fn now_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

fn random_u64() -> u64 {
    loop {
        let v = rand::random::<u64>();
        if v != 0 {
            return v;
        }
    }
}

struct Attrs<'a>(&'a mut Vec<(&'static str, String)>);

impl Visit for Attrs<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push((field.name(), value.to_string()));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push((field.name(), format!("{value:?}")));
    }
}

/// The tracing layer: records our spans and queues them for the exporter when they close.
pub struct OtlpLayer {
    tx: mpsc::Sender<SpanData>,
}

/// Posts queued spans to the collector; run it with [`OtlpExporter::run`] on the runtime.
pub struct OtlpExporter {
    rx: mpsc::Receiver<SpanData>,
    url: String,
    client: reqwest::Client,
}

/// The layer and its exporter for a collector endpoint (`http://host:4318`).
pub fn pipeline(endpoint: &str) -> (OtlpLayer, OtlpExporter) {
    let (tx, rx) = mpsc::channel(QUEUE);
    let url = format!("{}/v1/traces", endpoint.trim_end_matches('/'));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap_or_default();
    (OtlpLayer { tx }, OtlpExporter { rx, url, client })
}

impl<S> Layer<S> for OtlpLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let meta = attrs.metadata();
        if !is_ours(meta) {
            return;
        }
        let Some(span) = ctx.span(id) else { return };
        let parent = span.scope().skip(1).find_map(|p| {
            p.extensions()
                .get::<SpanData>()
                .map(|d| (d.trace_id, d.span_id))
        });
        let mut data = SpanData {
            trace_id: parent
                .map(|p| p.0)
                .unwrap_or_else(|| (u128::from(random_u64()) << 64) | u128::from(random_u64())),
            span_id: random_u64(),
            parent_span_id: parent.map(|p| p.1),
            name: meta.name(),
            target: meta.target(),
            start_unix_nanos: now_nanos(),
            end_unix_nanos: 0,
            attributes: Vec::new(),
        };
        attrs.record(&mut Attrs(&mut data.attributes));
        span.extensions_mut().insert(data);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id)
            && let Some(data) = span.extensions_mut().get_mut::<SpanData>()
        {
            values.record(&mut Attrs(&mut data.attributes));
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let Some(mut data) = span.extensions_mut().remove::<SpanData>() else {
            return;
        };
        data.end_unix_nanos = now_nanos();
        // A full queue drops the span rather than block the request.
        let _ = self.tx.try_send(data);
    }
}

/// The subscriber of `deriq serve`: JSON logs on stderr filtered by `DERIQ_LOG` (default
/// info), and, when `otlp_endpoint` is set, trace export. Returns the exporter to run on
/// the runtime.
pub fn init_serve_logging(otlp_endpoint: Option<&str>) -> Option<OtlpExporter> {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = tracing_subscriber::EnvFilter::try_from_env("DERIQ_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt::layer()
        .json()
        .with_writer(std::io::stderr);
    let (layer, exporter) = match otlp_endpoint {
        Some(e) => {
            let (l, x) = pipeline(e);
            (Some(l), Some(x))
        }
        None => (None, None),
    };
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(logs)
        .with(layer)
        .try_init();
    exporter
}

/// The OTLP/HTTP JSON body of a batch.
pub fn export_body(spans: &[SpanData]) -> Value {
    let spans: Vec<Value> = spans
        .iter()
        .map(|s| {
            let mut span = json!({
                "traceId": format!("{:032x}", s.trace_id),
                "spanId": format!("{:016x}", s.span_id),
                "name": s.name,
                "kind": if s.parent_span_id.is_none() { 2 } else { 1 },
                "startTimeUnixNano": s.start_unix_nanos.to_string(),
                "endTimeUnixNano": s.end_unix_nanos.to_string(),
                "attributes": s.attributes.iter().map(|(k, v)| json!({ "key": k, "value": { "stringValue": v } }))
                    .chain(std::iter::once(json!({ "key": "code.namespace", "value": { "stringValue": s.target } })))
                    .collect::<Vec<_>>(),
            });
            if let Some(p) = s.parent_span_id {
                span["parentSpanId"] = json!(format!("{p:016x}"));
            }
            span
        })
        .collect();
    json!({ "resourceSpans": [{
        "resource": { "attributes": [
            { "key": "service.name", "value": { "stringValue": "deriq" } },
            { "key": "service.version", "value": { "stringValue": env!("CARGO_PKG_VERSION") } }
        ] },
        "scopeSpans": [{ "scope": { "name": "deriq-gateway" }, "spans": spans }]
    }] })
}

impl OtlpExporter {
    /// Exports until every layer is gone (the process ends).
    pub async fn run(mut self) {
        while let Some(first) = self.rx.recv().await {
            let mut batch = vec![first];
            let deadline = tokio::time::Instant::now() + FLUSH_EVERY;
            while batch.len() < MAX_BATCH {
                match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                    Ok(Some(s)) => batch.push(s),
                    Ok(None) | Err(_) => break,
                }
            }
            let sent = self
                .client
                .post(&self.url)
                .json(&export_body(&batch))
                .send()
                .await;
            match sent {
                Ok(r) if r.status().is_success() => {}
                Ok(r) => {
                    tracing::warn!(target: "otlp_export", status = %r.status(), spans = batch.len(), "the trace collector refused spans")
                }
                Err(e) => {
                    tracing::warn!(target: "otlp_export", error = %e, spans = batch.len(), "the trace collector is unreachable; spans dropped")
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use tracing_subscriber::layer::SubscriberExt;

    #[tokio::test]
    async fn stage_spans_are_children_of_the_request_span_in_one_trace() {
        let (layer, mut exporter) = pipeline("http://127.0.0.1:1");
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || {
            let request =
                tracing::info_span!(target: "deriq::http", "request", route = "/api/der-iq/query");
            let _in = request.enter();
            tracing::info_span!(target: "deriq_gateway::ask", "draft", attempt = 1).in_scope(|| {});
            tracing::info_span!(target: "sqlx::query", "query").in_scope(|| {});
        });
        let mut spans = Vec::new();
        while let Ok(s) = exporter.rx.try_recv() {
            spans.push(s);
        }
        assert_eq!(
            spans.iter().map(|s| s.name).collect::<Vec<_>>(),
            vec!["draft", "request"],
            "library spans are not exported"
        );
        let (draft, request) = (&spans[0], &spans[1]);
        assert_eq!(draft.trace_id, request.trace_id);
        assert_eq!(draft.parent_span_id, Some(request.span_id));
        assert!(
            request.parent_span_id.is_none() && request.end_unix_nanos >= request.start_unix_nanos
        );
        let body = export_body(&spans);
        let first = &body["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
        assert_eq!(first["parentSpanId"], format!("{:016x}", request.span_id));
        assert_eq!(first["traceId"].as_str().unwrap().len(), 32);
        assert!(
            first["attributes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["key"] == "attempt" && a["value"]["stringValue"] == "1")
        );
    }
}
