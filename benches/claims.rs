//! Claims per second with 16 concurrent handlers on one queue, through the
//! real HTTP + GraphQL stack, on SQLite (default) or PostgreSQL
//! (`ENVAGIN_TEST_DATABASE_URL`, as for the tests).
//!
//! `cargo bench --bench claims` — `ENVAGIN_BENCH_REQUESTS` (default 5000) and
//! `ENVAGIN_BENCH_HANDLERS` (default 16) size the run.

#[path = "../tests/api/support.rs"]
#[allow(dead_code)]
mod support;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use support::{TestApp, spawn_app};

const CLAIM_NEXT: &str = "mutation($q: String!) { claimNextRequest(queue: $q) { reference } }";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let requests = env_usize("ENVAGIN_BENCH_REQUESTS", 5_000);
    let handlers = env_usize("ENVAGIN_BENCH_HANDLERS", 16);
    let app = Arc::new(spawn_app().await);
    let backend = if std::env::var("ENVAGIN_TEST_DATABASE_URL").is_ok_and(|v| !v.is_empty()) {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    eprintln!("seeding {requests} requests on {backend} …");
    let seeded = Instant::now();
    seed(&app, requests, 32).await;
    eprintln!("seeded in {:.1} s", seeded.elapsed().as_secs_f64());

    let started = Instant::now();
    let tasks: Vec<_> = (0..handlers)
        .map(|h| tokio::spawn(drain(app.clone(), format!("bench-{h}"))))
        .collect();
    let mut latencies = Vec::with_capacity(requests);
    let mut references = HashSet::new();
    for t in tasks {
        let (refs, lat) = t.await.expect("handler task");
        latencies.extend(lat);
        for r in refs {
            assert!(references.insert(r), "a request was claimed twice");
        }
    }
    let elapsed = started.elapsed();
    assert_eq!(
        references.len(),
        requests,
        "every request claimed exactly once"
    );
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p) as usize];
    println!(
        "claims | {backend} | {handlers} handlers | {requests} requests | {:.0} claims/s | p50 {:.1} ms | p99 {:.1} ms | max {:.1} ms | 0 double claims",
        requests as f64 / elapsed.as_secs_f64(),
        ms(pct(0.50)),
        ms(pct(0.99)),
        ms(*latencies.last().unwrap_or(&Duration::ZERO)),
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn seed(app: &Arc<TestApp>, n: usize, parallel: usize) {
    let per_task = n.div_ceil(parallel);
    let tasks: Vec<_> = (0..parallel)
        .map(|t| {
            let app = app.clone();
            tokio::spawn(async move {
                for i in (t * per_task)..((t + 1) * per_task).min(n) {
                    app.submit(json!({ "description": format!("Gatlampa {i} är trasig"), "categoryHint": "street_lighting" }))
                        .await;
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("seeding task");
    }
}

async fn drain(app: Arc<TestApp>, handler: String) -> (Vec<String>, Vec<Duration>) {
    let token = app.handler(&handler, &["TF"]);
    let (mut refs, mut latencies) = (Vec::new(), Vec::new());
    loop {
        let t = Instant::now();
        let answer = app.gql_as(&token, CLAIM_NEXT, json!({ "q": "TF" })).await;
        latencies.push(t.elapsed());
        assert!(answer["errors"].is_null(), "claim failed: {answer}");
        match answer["data"]["claimNextRequest"]["reference"].as_str() {
            Some(r) => refs.push(r.to_owned()),
            None => {
                latencies.pop();
                return (refs, latencies);
            }
        }
    }
}
