//! Prometheus metrics: requests, latency by stage, guard decisions, drafter tokens, cache
//! hits, rate-limit rejections, idempotent replays, and the gateway's own overhead
//! (total request time minus drafter-provider and database time).

use prometheus::{Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder};

use crate::ask::Answer;

/// Latency buckets in seconds, from 0.1 ms to 30 s.
const BUCKETS: &[f64] = &[0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// A metric could not be registered (a programming error caught at start-up).
#[derive(Debug, thiserror::Error)]
#[error("metrics registry: {0}")]
pub struct MetricsError(#[from] prometheus::Error);

/// The gateway's metrics.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    pub requests: IntCounterVec,
    pub request_seconds: HistogramVec,
    pub stage_seconds: HistogramVec,
    pub overhead_seconds: HistogramVec,
    pub guard_decisions: IntCounterVec,
    pub drafter_tokens: IntCounterVec,
    pub cache: IntCounterVec,
    pub rate_limited: IntCounterVec,
    pub idempotent_replays: IntCounterVec,
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Result<Self, MetricsError> {
        let registry = Registry::new();
        let counter = |name: &str, help: &str, labels: &[&str]| -> Result<IntCounterVec, MetricsError> {
            let c = IntCounterVec::new(Opts::new(name, help), labels)?;
            registry.register(Box::new(c.clone()))?;
            Ok(c)
        };
        let histogram = |name: &str, help: &str, labels: &[&str]| -> Result<HistogramVec, MetricsError> {
            let h = HistogramVec::new(HistogramOpts::new(name, help).buckets(BUCKETS.to_vec()), labels)?;
            registry.register(Box::new(h.clone()))?;
            Ok(h)
        };
        Ok(Metrics {
            requests: counter("deriq_http_requests_total", "HTTP requests by route and status", &["route", "status"])?,
            request_seconds: histogram("deriq_http_request_duration_seconds", "HTTP request latency by route", &["route"])?,
            stage_seconds: histogram("deriq_stage_duration_seconds", "Ask pipeline latency by stage", &["stage"])?,
            overhead_seconds: histogram("deriq_gateway_overhead_seconds", "Request time minus drafter time and database time (query, audit insert, directory reads)", &["route"])?,
            guard_decisions: counter("deriq_guard_decisions_total", "SQL guard outcomes of answered questions", &["decision"])?,
            drafter_tokens: counter("deriq_drafter_tokens_total", "LLM tokens by drafter and kind", &["drafter", "kind"])?,
            cache: counter("deriq_cache_total", "Cache lookups by cache and outcome", &["cache", "outcome"])?,
            rate_limited: counter("deriq_rate_limit_rejections_total", "Requests refused by a rate limit", &["limit"])?,
            idempotent_replays: counter("deriq_idempotent_replays_total", "Responses replayed for an Idempotency-Key", &["route"])?,
            registry,
        })
    }

    /// Records what an answer says about the pipeline.
    pub fn record_answer(&self, a: &Answer) {
        let t = &a.timings_ms;
        for (stage, ms) in [("retrieval", t.retrieval), ("draft", t.draft), ("provider", t.provider), ("guard", t.guard), ("database", t.database), ("audit", t.audit), ("directory", t.directory), ("total", t.total), ("overhead", t.overhead)] {
            self.stage_seconds.with_label_values(&[stage]).observe(ms / 1e3);
        }
        if a.sql.is_some() {
            self.cache.with_label_values(&["results", if a.results_cached { "hit" } else { "miss" }]).inc();
        }
        let decision = if a.sql.is_some() { "allow" } else if a.drafted_sql.is_some() { "reject" } else { "none" };
        self.guard_decisions.with_label_values(&[decision]).inc();
        let u = &a.usage;
        for (kind, n) in [("input", u.input_tokens), ("output", u.output_tokens), ("cache_read", u.cache_read_input_tokens), ("cache_creation", u.cache_creation_input_tokens)] {
            if n > 0 {
                self.drafter_tokens.with_label_values(&[a.drafter.as_str(), kind]).inc_by(n);
            }
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut buf) {
            return format!("# metrics could not be encoded: {e}\n");
        }
        String::from_utf8_lossy(&buf).into_owned()
    }
}
