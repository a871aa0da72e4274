//! Load benchmark of `POST /api/der-iq/query` on loopback with the offline drafter:
//! throughput, p50/p95/p99 latency and errors at 64 and 512 concurrent connections,
//! and the gateway's own overhead (from each response's `Server-Timing`).
//!
//! Bounded: `DERIQ_LOAD_REQUESTS` requests per level (default 2000) or
//! `DERIQ_LOAD_SECONDS` seconds (default 60), whichever comes first. Needs the embedded
//! primary (`deriq db up`). Run: `cargo bench -p deriq-gateway --bench http_load`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use deriq_core::Role;
use serde_json::json;

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn overhead_of(header: Option<&reqwest::header::HeaderValue>) -> Option<f64> {
    let h = header?.to_str().ok()?;
    h.split(',').map(str::trim).find_map(|p| p.strip_prefix("overhead;dur=")).and_then(|v| v.parse().ok())
}

async fn level(s: &common::TestServer, token: &str, connections: usize, max_requests: usize, max_time: Duration) {
    let client = reqwest::Client::builder().pool_max_idle_per_host(connections).build().unwrap();
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (client, next, url, token) = (client.clone(), next.clone(), s.url("/api/der-iq/query"), token.to_string());
        tasks.push(tokio::spawn(async move {
            let mut out: Vec<(f64, Option<f64>, bool)> = Vec::new();
            while next.fetch_add(1, Ordering::Relaxed) < max_requests && started.elapsed() < max_time {
                let t = Instant::now();
                let r = client.post(&url).bearer_auth(&token).json(&json!({ "question": "How many drug tests did we run last quarter?" })).send().await;
                let ok = match r {
                    Ok(r) => {
                        let ok = r.status().is_success();
                        let o = overhead_of(r.headers().get("server-timing"));
                        let _ = r.bytes().await;
                        out.push((t.elapsed().as_secs_f64() * 1e3, o, ok));
                        continue;
                    }
                    Err(_) => false,
                };
                out.push((t.elapsed().as_secs_f64() * 1e3, None, ok));
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
            if let Some(o) = o {
                overhead.push(o);
            }
            if !ok {
                errors += 1;
            }
        }
    }
    let wall = started.elapsed().as_secs_f64();
    lat.sort_by(f64::total_cmp);
    overhead.sort_by(f64::total_cmp);
    println!(
        "{connections:>4} connections: {n} requests in {wall:.1} s = {rps:.0} req/s; latency ms p50 {p50:.1} p95 {p95:.1} p99 {p99:.1}; errors {errors}; gateway overhead ms p50 {o50:.3} p99 {o99:.3}",
        n = lat.len(),
        rps = lat.len() as f64 / wall,
        p50 = pct(&lat, 50.0),
        p95 = pct(&lat, 95.0),
        p99 = pct(&lat, 99.0),
        o50 = pct(&overhead, 50.0),
        o99 = pct(&overhead, 99.0),
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let app = common::TestApp::new().await;
        let s = app.serve_with(deriq_gateway::http::HttpSettings {
            tenant_per_minute: 10_000_000,
            user_per_minute: 10_000_000,
            body_limit_bytes: deriq_gateway::http::DEFAULT_BODY_LIMIT,
            caller_ttl: Duration::from_secs(30),
        })
        .await;
        let token = s.token(Role::CompanyAdmin).await;
        let max_requests = env_num("DERIQ_LOAD_REQUESTS", 2000) as usize;
        let max_time = Duration::from_secs(env_num("DERIQ_LOAD_SECONDS", 60));
        level(&s, &token, 8, 100, max_time).await; // warm-up
        for c in [64, 512] {
            level(&s, &token, c, max_requests, max_time).await;
        }
        let metrics = s.client.get(s.url("/metrics")).send().await.unwrap().text().await.unwrap();
        for line in metrics.lines().filter(|l| l.starts_with("deriq_gateway_overhead_seconds_sum") || l.starts_with("deriq_gateway_overhead_seconds_count")) {
            println!("{line}");
        }
        s.stop().await;
        app.cleanup().await;
    });
}
