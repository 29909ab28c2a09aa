//! Many handlers, one queue: every request claimed exactly once.

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::{Value, json};

use crate::support::{TestApp, spawn_app};

const CLAIM_NEXT: &str =
    "mutation($q: String!) { claimNextRequest(queue: $q) { reference status assignee { sub } } }";

/// Submits `n` street-lighting requests, `parallel` at a time.
pub async fn seed(app: &Arc<TestApp>, n: usize, parallel: usize) {
    let per_task = n.div_ceil(parallel);
    let tasks: Vec<_> = (0..parallel)
        .map(|t| {
            let app = app.clone();
            tokio::spawn(async move {
                for i in (t * per_task)..((t + 1) * per_task).min(n) {
                    app.submit(json!({ "description": format!("Gatlampa nummer {i} är trasig"), "categoryHint": "street_lighting" }))
                        .await;
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("seeding task");
    }
}

/// One handler claiming until the queue is empty; the references it got.
async fn drain(app: Arc<TestApp>, handler: String) -> Vec<String> {
    let token = app.handler(&handler, &["TF"]);
    let mut got = Vec::new();
    loop {
        let answer = app.gql_as(&token, CLAIM_NEXT, json!({ "q": "TF" })).await;
        assert!(answer["errors"].is_null(), "claim failed: {answer}");
        let claimed = &answer["data"]["claimNextRequest"];
        if claimed.is_null() {
            return got;
        }
        assert_eq!(claimed["status"], "IN_PROGRESS");
        assert_eq!(claimed["assignee"]["sub"], handler.as_str());
        got.push(claimed["reference"].as_str().expect("reference").to_owned());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_handlers_claim_two_thousand_requests_each_exactly_once() {
    let app = Arc::new(spawn_app().await);
    seed(&app, 2_000, 16).await;
    let handlers: Vec<_> = (0..16)
        .map(|h| tokio::spawn(drain(app.clone(), format!("handler-{h}"))))
        .collect();
    let mut all = Vec::new();
    for h in handlers {
        all.extend(h.await.expect("handler task"));
    }
    let unique: HashSet<&String> = all.iter().collect();
    assert_eq!(all.len(), 2_000, "every request claimed once, none twice");
    assert_eq!(unique.len(), 2_000, "no request claimed twice");
    let supervisor = app.handler("supervisor", &["TF"]);
    let queue: Value = app
        .gql_as(
            &supervisor,
            "{ queue(code: \"TF\") { counts { queued inProgress } } }",
            json!({}),
        )
        .await;
    assert_eq!(queue["data"]["queue"]["counts"]["queued"], 0, "{queue}");
    assert_eq!(
        queue["data"]["queue"]["counts"]["inProgress"], 2_000,
        "{queue}"
    );
    assert_eq!(
        app.count("request_events").await,
        2_000 * 3,
        "submitted, routed and claimed: one event each"
    );
}
