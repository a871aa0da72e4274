//! End-to-end latency of `deriq ask` with the offline drafter on the demo data: the
//! questions of the NL-to-SQL suite, each asked as its user through the whole pipeline
//! (directory, drafter, guard, replica execution, audit write).
//!
//! Needs `deriq db up` and `deriq db seed` (default size).
//!   cargo bench -p deriq-gateway --bench ask_latency

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use deriq_gateway::app::{self, BuildOptions};
use deriq_gateway::ask::AskRequest;
use deriq_gateway::config::{Config, project_root};

const ROUNDS: usize = 3;

#[tokio::main]
async fn main() {
    let config = Config::load().unwrap();
    let asker = app::build(&config, BuildOptions { retrieval: false, ..BuildOptions::default() }).await.unwrap();
    let questions = deriq_gateway::eval::suite::load(&project_root().join("evals/nl2sql/questions.jsonl")).unwrap();
    let mut wall = Vec::new();
    let mut overhead = Vec::new();
    let mut database = Vec::new();
    for round in 0..=ROUNDS {
        for q in &questions {
            let req = AskRequest::new(q.user.clone(), q.question.clone());
            let t = Instant::now();
            let a = asker.ask(&req).await.unwrap();
            let ms = t.elapsed().as_secs_f64() * 1e3;
            if round > 0 {
                wall.push(ms);
                overhead.push(a.timings_ms.overhead);
                database.push(a.timings_ms.database);
            }
        }
    }
    let pct = |v: &mut Vec<f64>, p: f64| {
        v.sort_by(f64::total_cmp);
        v[((v.len() as f64 - 1.0) * p).round() as usize]
    };
    println!("{} asks ({} questions × {ROUNDS} rounds, after one warm-up round)", wall.len(), questions.len());
    println!("end to end  p50 {:>7.2} ms  p95 {:>7.2} ms  p99 {:>7.2} ms  max {:>7.2} ms", pct(&mut wall, 0.5), pct(&mut wall, 0.95), pct(&mut wall, 0.99), pct(&mut wall, 1.0));
    println!("database    p50 {:>7.2} ms  p95 {:>7.2} ms", pct(&mut database, 0.5), pct(&mut database, 0.95));
    println!("overhead    p50 {:>7.2} ms  p95 {:>7.2} ms  (total - provider - database)", pct(&mut overhead, 0.5), pct(&mut overhead, 0.95));
}
