//! Guard time per query over a realistic mix: the 50 accepted queries of the corpus and
//! the attack corpus's rejections, for a de-identified auditor.
//!
//! Before the criterion groups run, every query is timed on its own many times and the
//! median and 99th percentile of single calls are printed, for accepted and rejected
//! queries separately.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/common/fixture.rs"]
#[allow(dead_code)]
mod fixture;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use deriq_sql_guard::Guard;
use deriq_sql_guard::corpus::{ACCEPTED, Expect, attack_corpus};

fn rejected() -> Vec<&'static str> {
    attack_corpus()
        .iter()
        .filter(|a| a.expect != Expect::Scoped)
        .map(|a| a.sql)
        .collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn single_call_figures(g: &Guard, name: &str, queries: &[&str], accepted: bool) {
    const RUNS: usize = 300;
    let mut samples = Vec::with_capacity(queries.len() * RUNS);
    for q in queries {
        assert_eq!(g.check(q).is_ok(), accepted, "{q}");
        for _ in 0..20 {
            black_box(g.check(black_box(q)).is_ok());
        }
        for _ in 0..RUNS {
            let t = Instant::now();
            black_box(g.check(black_box(q)).is_ok());
            samples.push(t.elapsed());
        }
    }
    samples.sort_unstable();
    println!(
        "{name}: {} queries x {RUNS} calls: median {:.1} us, p99 {:.1} us, max {:.1} us",
        queries.len(),
        percentile(&samples, 0.5).as_secs_f64() * 1e6,
        percentile(&samples, 0.99).as_secs_f64() * 1e6,
        samples.last().map_or(0.0, |d| d.as_secs_f64() * 1e6),
    );
}

fn bench(c: &mut Criterion) {
    let g = fixture::compiled(fixture::auditor());
    let rejected = rejected();
    single_call_figures(&g, "accepted", ACCEPTED, true);
    single_call_figures(&g, "rejected", &rejected, false);

    c.bench_function("accepted mix (50 queries per iteration)", |b| {
        b.iter(|| {
            for q in ACCEPTED {
                black_box(g.check(black_box(q)).is_ok());
            }
        })
    });
    c.bench_function("rejected mix (attack corpus per iteration)", |b| {
        b.iter(|| {
            for q in &rejected {
                black_box(g.check(black_box(q)).is_err());
            }
        })
    });
    c.bench_function("policy compilation (Guard::new)", |b| {
        b.iter(|| black_box(Guard::new(fixture::auditor()).is_ok()))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(Duration::from_secs(4)).warm_up_time(Duration::from_secs(1));
    targets = bench
}
criterion_main!(benches);
