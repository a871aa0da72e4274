//! Load benchmark of `POST /api/der-iq/query` on loopback with the offline drafter:
//! throughput, p50/p95/p99 latency and errors at 64 and 512 concurrent connections, and
//! the gateway's own overhead (request time minus drafter time and database time: the
//! query, the audit insert, directory reads), read from `/metrics` (the histogram's
//! buckets, per level) and from each response's `Server-Timing`.
//!
//! Two runs: with the results cache (the default, 10 s: a repeated question reuses its
//! rows, the audit record is still written for each request) and without it (every
//! request runs its query on the database).
//!
//! Bounded: `DERIQ_LOAD_REQUESTS` requests per level (default 4000) or
//! `DERIQ_LOAD_SECONDS` seconds (default 60), whichever comes first. Needs the embedded
//! primary (`deriq db up`). Run: `cargo bench -p deriq-gateway --bench http_load`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::panic
)]

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/http_support/mod.rs"]
mod http_support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use deriq_core::Role;
use deriq_gateway::http::GatewayOptions;
use deriq_gateway::http::auth::{Claims, TokenKeys};
use serde_json::json;

const QUESTION: &str = "How many drug tests did we run last quarter?";

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn timing_of(header: Option<&reqwest::header::HeaderValue>, name: &str) -> Option<f64> {
    let h = header?.to_str().ok()?;
    let prefix = format!("{name};dur=");
    h.split(',')
        .map(str::trim)
        .find_map(|p| p.strip_prefix(prefix.as_str()))
        .and_then(|v| v.parse().ok())
}

/// The query route's overhead histogram and the stage sums, from `/metrics`.
#[derive(Default, Clone)]
struct Snapshot {
    /// Cumulative bucket counts by upper bound (seconds).
    overhead: BTreeMap<u64, f64>,
    overhead_count: f64,
    /// (sum seconds, count) by stage.
    stages: BTreeMap<String, (f64, f64)>,
    cache_hits: f64,
}

fn label<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let start = line.find(&format!("{name}=\""))? + name.len() + 2;
    let end = line[start..].find('"')? + start;
    Some(&line[start..end])
}

fn value(line: &str) -> f64 {
    line.rsplit(' ')
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

async fn snapshot(s: &http_support::Server) -> Snapshot {
    let text = s
        .client
        .get(s.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut snap = Snapshot::default();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        if line.starts_with("deriq_gateway_overhead_seconds_bucket")
            && label(line, "route") == Some("/api/der-iq/query")
        {
            let le = label(line, "le").unwrap();
            let key = if le == "+Inf" {
                u64::MAX
            } else {
                (le.parse::<f64>().unwrap() * 1e7).round() as u64
            };
            snap.overhead.insert(key, value(line));
        } else if line.starts_with("deriq_gateway_overhead_seconds_count")
            && label(line, "route") == Some("/api/der-iq/query")
        {
            snap.overhead_count = value(line);
        } else if line.starts_with("deriq_stage_duration_seconds_sum") {
            snap.stages
                .entry(label(line, "stage").unwrap().to_string())
                .or_default()
                .0 = value(line);
        } else if line.starts_with("deriq_stage_duration_seconds_count") {
            snap.stages
                .entry(label(line, "stage").unwrap().to_string())
                .or_default()
                .1 = value(line);
        } else if line.starts_with("deriq_cache_total")
            && label(line, "cache") == Some("results")
            && label(line, "outcome") == Some("hit")
        {
            snap.cache_hits = value(line);
        }
    }
    snap
}

/// From two snapshots: the share of requests with overhead ≤ 2 ms, the bucket bounds of
/// p50 and p99, the mean of each stage, and the cache hits.
fn report_metrics(before: &Snapshot, after: &Snapshot) -> String {
    let n = after.overhead_count - before.overhead_count;
    let bucket = |q: f64| -> String {
        for (le, c) in &after.overhead {
            let c = c - before.overhead.get(le).copied().unwrap_or(0.0);
            if c >= q * n {
                return if *le == u64::MAX {
                    "> 30 s".into()
                } else {
                    format!("≤ {} ms", *le as f64 / 1e4)
                };
            }
        }
        "n/a".into()
    };
    let within_2ms = after.overhead.get(&20_000).copied().unwrap_or(0.0)
        - before.overhead.get(&20_000).copied().unwrap_or(0.0);
    let mean = |stage: &str| {
        let (s1, c1) = after.stages.get(stage).copied().unwrap_or_default();
        let (s0, c0) = before.stages.get(stage).copied().unwrap_or_default();
        if c1 > c0 {
            (s1 - s0) / (c1 - c0) * 1e3
        } else {
            0.0
        }
    };
    format!(
        "/metrics: overhead p50 {}, p99 {}, {:.2}% ≤ 2 ms; mean ms: draft {:.3}, guard {:.3}, database {:.3}, audit {:.3}, pipeline total {:.3}; results-cache hits {}",
        bucket(0.5),
        bucket(0.99),
        if n > 0.0 {
            within_2ms / n * 100.0
        } else {
            f64::NAN
        },
        mean("draft"),
        mean("guard"),
        mean("database"),
        mean("audit"),
        mean("total"),
        after.cache_hits - before.cache_hits,
    )
}

async fn level(
    s: &http_support::Server,
    token: &str,
    connections: usize,
    max_requests: usize,
    max_time: Duration,
) -> String {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .build()
        .unwrap();
    let before = snapshot(s).await;
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (client, next, url, token) = (
            client.clone(),
            next.clone(),
            s.url("/api/der-iq/query"),
            token.to_string(),
        );
        tasks.push(tokio::spawn(async move {
            let mut out: Vec<(f64, Option<f64>, bool)> = Vec::new();
            while next.fetch_add(1, Ordering::Relaxed) < max_requests
                && started.elapsed() < max_time
            {
                let t = Instant::now();
                let r = client
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&json!({ "question": QUESTION }))
                    .send()
                    .await;
                match r {
                    Ok(r) => {
                        let ok = r.status().is_success();
                        let o = timing_of(r.headers().get("server-timing"), "overhead");
                        let ok = ok && r.bytes().await.is_ok();
                        out.push((t.elapsed().as_secs_f64() * 1e3, o, ok));
                    }
                    Err(_) => out.push((t.elapsed().as_secs_f64() * 1e3, None, false)),
                }
            }
            out
        }));
    }
    let mut lat = Vec::new();
    let mut overhead = Vec::new();
    let mut errors = 0;
    for t in tasks {
        for (ms, o, ok) in t.await.unwrap() {
            lat.push(ms);
            overhead.extend(o);
            if !ok {
                errors += 1;
            }
        }
    }
    let wall = started.elapsed().as_secs_f64();
    lat.sort_by(f64::total_cmp);
    overhead.sort_by(f64::total_cmp);
    let after = snapshot(s).await;
    format!(
        "{connections:>4} connections: {n} requests in {wall:.1} s = {rps:.0} req/s; latency ms p50 {p50:.1} p95 {p95:.1} p99 {p99:.1}; errors {errors}; \
         overhead (Server-Timing) ms p50 {o50:.3} p99 {o99:.3}\n      {metrics}",
        n = lat.len(),
        rps = lat.len() as f64 / wall,
        p50 = pct(&lat, 50.0),
        p95 = pct(&lat, 95.0),
        p99 = pct(&lat, 99.0),
        o50 = pct(&overhead, 50.0),
        o99 = pct(&overhead, 99.0),
        metrics = report_metrics(&before, &after),
    )
}

async fn run(
    app: &common::TestApp,
    results_ttl: Duration,
    max_requests: usize,
    max_time: Duration,
) {
    let keys = TokenKeys::hs256(common::TEST_JWT_SECRET, "deriq", "der-iq");
    let mut settings = http_support::settings();
    settings.tenant_per_minute = 10_000_000;
    settings.user_per_minute = 10_000_000;
    let options = GatewayOptions {
        results_ttl,
        ..GatewayOptions::default()
    };
    let s = http_support::start_with(app, keys.clone(), settings, options, |_| {}).await;
    let user = deriq_gateway::directory::find_user(
        &s.asker.directory_pool,
        &common::demo_email(Role::CompanyAdmin),
    )
    .await
    .unwrap();
    let token = keys
        .mint(&Claims::for_user(
            &user,
            "deriq",
            "der-iq",
            chrono::Utc::now().timestamp(),
            3600,
        ))
        .unwrap();
    println!(
        "results cache {}:",
        if results_ttl.is_zero() {
            "off".to_string()
        } else {
            format!("{} s", results_ttl.as_secs())
        }
    );
    level(&s, &token, 8, 200, max_time).await; // warm-up
    for c in [64, 512] {
        println!("  {}", level(&s, &token, c, max_requests, max_time).await);
    }
    s.stop().await;
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let app = common::TestApp::new().await;
        let max_requests = env_num("DERIQ_LOAD_REQUESTS", 4000) as usize;
        let max_time = Duration::from_secs(env_num("DERIQ_LOAD_SECONDS", 60));
        run(&app, Duration::from_secs(10), max_requests, max_time).await;
        run(&app, Duration::ZERO, max_requests, max_time).await;
        app.cleanup().await;
    });
}
