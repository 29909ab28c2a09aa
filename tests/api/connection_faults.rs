//! PostgreSQL connections killed under load (`pg_terminate_backend`, as a
//! failover, a proxy or an operator would): every acknowledged request is
//! stored, every refused one can be retried with its idempotency key, and
//! nothing is stored twice. (On SQLite there is no server to lose; the test
//! returns at once.)

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::{Value, json};

use crate::support::{LOOKUP, SUBMIT, TestApp, spawn_app};

fn on_postgres() -> bool {
    std::env::var("ENVAGIN_TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty())
}

fn input(marker: &str) -> Value {
    json!({
        "description": format!("{marker}: gatlampan på Storgatan {marker} är trasig"),
        "idempotencyKey": marker,
    })
}

/// The reference and tracking code, or `None` when the submission was
/// refused or not answered.
async fn submit(app: &TestApp, marker: &str) -> Option<(String, String)> {
    let answer = app
        .client
        .post(app.url("/graphql"))
        .json(&json!({ "query": SUBMIT, "variables": { "input": input(marker) } }))
        .send()
        .await
        .ok()?
        .json::<Value>()
        .await
        .ok()?;
    let payload = &answer["data"]["submitRequest"];
    match (
        answer["errors"].is_null(),
        payload["request"]["reference"].as_str(),
    ) {
        (true, Some(reference)) => Some((
            reference.to_owned(),
            payload["trackingCode"].as_str()?.to_owned(),
        )),
        _ => None,
    }
}

/// Terminates every other connection to the test database, over and over,
/// until `stop`; answers how many it terminated.
async fn kill_connections(url: String, stop: Arc<AtomicBool>) -> i64 {
    let admin = Database::connect(url.as_str())
        .await
        .expect("admin connection");
    let mut killed = 0;
    while !stop.load(Ordering::SeqCst) {
        let row = admin
            .query_one_raw(Statement::from_string(
                admin.get_database_backend(),
                "SELECT COUNT(pg_terminate_backend(pid)) AS n FROM pg_stat_activity \
                 WHERE datname = current_database() AND pid <> pg_backend_pid()",
            ))
            .await;
        if let Ok(Some(row)) = row {
            killed += row.try_get::<i64>("", "n").unwrap_or(0);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    killed
}

/// Looks a request up; a pooled connection the killer ended while it sat
/// idle fails its first use, so an `INTERNAL` is tried again a few times.
async fn lookup(app: &TestApp, reference: &str, tracking_code: &str) -> Value {
    let variables = json!({ "reference": reference, "trackingCode": tracking_code });
    let mut answer = app.gql(LOOKUP, variables.clone()).await;
    for _ in 0..20 {
        if answer["errors"][0]["extensions"]["code"] != "INTERNAL" {
            break;
        }
        answer = app.gql(LOOKUP, variables.clone()).await;
    }
    answer
}

#[tokio::test]
async fn acknowledged_requests_survive_their_database_connections_being_killed_under_load() {
    if !on_postgres() {
        return;
    }
    let app = Arc::new(spawn_app().await);
    let stop = Arc::new(AtomicBool::new(false));
    let killer = tokio::spawn(kill_connections(app.database_url.clone(), stop.clone()));
    let clients = (0..8).map(|client| {
        let app = app.clone();
        tokio::spawn(async move {
            let mut outcomes = Vec::new();
            for n in 0..40 {
                let marker = format!("conn-{client}-{n}");
                let outcome = submit(&app, &marker).await;
                outcomes.push((marker, outcome));
            }
            outcomes
        })
    });
    let mut outcomes: BTreeMap<String, Option<(String, String)>> = BTreeMap::new();
    for client in futures_util::future::join_all(clients).await {
        outcomes.extend(client.expect("client ran"));
    }
    stop.store(true, Ordering::SeqCst);
    let killed = killer.await.expect("killer ran");
    let acknowledged = outcomes.values().filter(|o| o.is_some()).count();
    eprintln!(
        "connection faults: {} submissions, {acknowledged} acknowledged, {} refused, {killed} connections killed",
        outcomes.len(),
        outcomes.len() - acknowledged
    );
    assert!(killed > 0, "the load really lost connections");

    // Every acknowledged request is found with its own tracking code.
    for (marker, outcome) in &outcomes {
        if let Some((reference, tracking_code)) = outcome {
            let answer = lookup(&app, reference, tracking_code).await;
            assert!(
                answer["errors"].is_null(),
                "{marker} was acknowledged as {reference} but is not found: {answer}"
            );
        }
    }
    // Every refused one, retried with its key once the connections are
    // left alone, is registered: by then either stored once or not at all.
    for (marker, outcome) in &outcomes {
        if outcome.is_none() {
            let mut registered = None;
            for _ in 0..20 {
                registered = submit(&app, marker).await;
                if registered.is_some() {
                    break;
                }
            }
            assert!(
                registered.is_some(),
                "{marker} could not be registered on retry"
            );
        }
    }
    let db = app.db().await;
    for marker in outcomes.keys() {
        let row = db
            .query_one_raw(Statement::from_sql_and_values(
                db.get_database_backend(),
                "SELECT COUNT(*) AS n FROM requests WHERE description LIKE $1",
                [format!("{marker}: %").into()],
            ))
            .await
            .expect("count")
            .expect("a row");
        assert_eq!(
            row.try_get::<i64>("", "n").expect("count"),
            1,
            "{marker} stored exactly once"
        );
    }
}

/// Ends every other session on the test database once.
async fn kill_connections_once(url: &str) -> i64 {
    let admin = Database::connect(url).await.expect("admin connection");
    let row = admin
        .query_one_raw(Statement::from_string(
            admin.get_database_backend(),
            "SELECT COUNT(pg_terminate_backend(pid)) AS n FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        ))
        .await
        .expect("terminates")
        .expect("a row");
    admin.close().await.ok();
    row.try_get::<i64>("", "n").expect("a count")
}

#[tokio::test]
async fn a_submission_right_after_the_pools_connections_were_killed_is_stored_not_refused() {
    if !on_postgres() {
        return;
    }
    let app = spawn_app().await;
    // Warm the pool with several connections, all used a moment ago, so
    // that none of them is pinged when next taken.
    let markers: Vec<String> = (0..4).map(|n| format!("warm-{n}")).collect();
    let warm = markers.iter().map(|marker| submit(&app, marker));
    for outcome in futures_util::future::join_all(warm).await {
        assert!(outcome.is_some(), "the pool works before the fault");
    }
    let killed = kill_connections_once(&app.database_url).await;
    assert!(killed > 0, "the pool's connections were ended");
    for n in 0..4 {
        let marker = format!("after-{n}");
        let (reference, tracking_code) = submit(&app, &marker)
            .await
            .unwrap_or_else(|| panic!("{marker} is stored on a fresh connection, not refused"));
        let answer = lookup(&app, &reference, &tracking_code).await;
        assert!(answer["errors"].is_null(), "{answer}");
    }
}

const REPLY: &str = "mutation($r: String!, $t: String!, $b: String!) { \
    replyAsCitizen(reference: $r, trackingCode: $t, body: $b) { status } }";

#[tokio::test]
async fn residents_replies_and_the_readiness_check_right_after_the_pools_connections_were_killed_succeed()
 {
    if !on_postgres() {
        return;
    }
    let app = spawn_app().await;
    let markers: Vec<String> = (0..8).map(|n| format!("reply-{n}")).collect();
    let submitted = markers.iter().map(|marker| submit(&app, marker));
    let requests: Vec<(String, String)> = futures_util::future::join_all(submitted)
        .await
        .into_iter()
        .map(|outcome| outcome.expect("stored before the fault"))
        .collect();
    assert!(kill_connections_once(&app.database_url).await > 0);
    let replies = requests.iter().map(|(reference, tracking_code)| {
        app.gql(
            REPLY,
            json!({ "r": reference, "t": tracking_code, "b": "Här är mer information" }),
        )
    });
    let ready = app.client.get(app.url("/ready")).send();
    let (answers, ready) = tokio::join!(futures_util::future::join_all(replies), ready);
    for answer in &answers {
        assert!(answer["errors"].is_null(), "the reply is stored: {answer}");
    }
    assert_eq!(
        ready.expect("ready answers").status(),
        200,
        "a database that is up is not reported unreachable"
    );
}
