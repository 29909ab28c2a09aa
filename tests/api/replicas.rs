//! Three server processes over one PostgreSQL: whichever replica a request
//! reaches, the result is the same. (On SQLite there is one process by
//! design; these tests then have nothing to prove and return at once.)

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::{Value, json};

use crate::live::{connect_to, next_event, subscribe};
use crate::restart::Server;
use crate::support::{SUBMIT, TEST_JWT_SECRET, TEST_SEARCH_KEY, fresh_database};

fn on_postgres() -> bool {
    std::env::var("ENVAGIN_TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty())
}

/// Three replicas started at the same moment on a fresh database.
async fn three_replicas() -> (Vec<Server>, String, tempfile::TempDir) {
    let dir = tempfile::TempDir::new().unwrap();
    let url = fresh_database(&dir).await;
    let starts = (0..3).map(|i| {
        let (url, data) = (url.clone(), dir.path().join(format!("replica-{i}")));
        Server::spawn(move |c| {
            c.env("ENVAGIN_DATABASE_URL", url)
                .env("ENVAGIN_DATA_DIR", data)
                .env("ENVAGIN_JWT_SECRET", TEST_JWT_SECRET)
                .env("ENVAGIN_SEARCH_KEY", TEST_SEARCH_KEY);
        })
    });
    (futures_util::future::join_all(starts).await, url, dir)
}

fn token(sub: &str, roles: &[&str], adm: &[&str]) -> String {
    use envagin::auth::{MintClaims, mint_token};
    let mut config = envagin::config::Config::from_env().unwrap();
    config.jwt_secret = Some(TEST_JWT_SECRET.to_owned());
    let claims = MintClaims {
        sub: sub.into(),
        name: None,
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        adm: adm.iter().map(|a| (*a).to_owned()).collect(),
        ttl: std::time::Duration::from_secs(600),
    };
    mint_token(TEST_JWT_SECRET.as_bytes(), &config.auth_settings(), &claims).unwrap()
}

async fn gql_as(server: &Server, token: &str, query: &str, variables: Value) -> Value {
    reqwest::Client::new()
        .post(format!("{}/graphql", server.base))
        .bearer_auth(token)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn replicas_starting_together_migrate_once_and_share_events_and_learning() {
    if !on_postgres() {
        return;
    }
    let (replicas, url, _dir) = three_replicas().await;
    let db = sea_orm::Database::connect(url.as_str()).await.unwrap();
    use sea_orm::ConnectionTrait;
    let applied = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM seaql_migrations",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap();
    assert_eq!(applied, 3, "each migration recorded exactly once");

    // Submit through A, subscribe on B, change through C.
    let submitted = replicas[0]
        .gql(
            SUBMIT,
            json!({ "input": { "description": "Gatlampan på Storgatan är trasig" } }),
        )
        .await;
    let p = &submitted["data"]["submitRequest"];
    let reference = p["request"]["reference"]
        .as_str()
        .expect("submitted")
        .to_owned();
    let ws = format!(
        "{}/graphql/ws",
        replicas[1].base.replace("http://", "ws://")
    );
    let mut socket = connect_to(&ws, json!({})).await.unwrap();
    subscribe(
        &mut socket,
        json!({ "r": reference, "t": p["trackingCode"] }),
    )
    .await;
    let handler = token("tf-anna", &["handler"], &["TF"]);
    let claimed = gql_as(
        &replicas[2],
        &handler,
        "mutation($r: String!) { claimRequest(reference: $r) { status } }",
        json!({ "r": reference }),
    )
    .await;
    assert!(claimed["errors"].is_null(), "{claimed}");
    let event = next_event(&mut socket).await;
    assert_eq!(
        event["status"], "IN_PROGRESS",
        "the subscriber on B saw C's change"
    );

    // A correction made on A routes the same words on B.
    let phrasing = "Det knakar i elskåpet vid vår gemensamma cykelparkering";
    let triaged = replicas[0]
        .gql(SUBMIT, json!({ "input": { "description": phrasing } }))
        .await;
    let triaged_ref = triaged["data"]["submitRequest"]["request"]["reference"]
        .as_str()
        .unwrap()
        .to_owned();
    let agent = token("kc-bo", &["contact_centre"], &[]);
    let target = "street_lighting";
    let moved = gql_as(
        &replicas[0],
        &agent,
        "mutation($r: String!, $c: String!) { rerouteRequest(reference: $r, category: $c, reason: \"belysningsskåp\") { category } }",
        json!({ "r": triaged_ref, "c": target }),
    )
    .await;
    assert!(moved["errors"].is_null(), "{moved}");
    let mut learned = Value::Null;
    for _ in 0..20 {
        let again = replicas[1]
            .gql(SUBMIT, json!({ "input": { "description": phrasing } }))
            .await;
        learned = again["data"]["submitRequest"]["request"]["category"].clone();
        if learned == target {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(learned, target, "replica B learned replica A's correction");
}

#[tokio::test]
async fn sixteen_handlers_on_three_replicas_claim_two_thousand_requests_each_once() {
    if !on_postgres() {
        return;
    }
    let (replicas, _url, _dir) = three_replicas().await;
    let replicas = Arc::new(replicas);
    let seeders: Vec<_> = (0..16)
        .map(|t| {
            let replicas = replicas.clone();
            tokio::spawn(async move {
                for i in (t * 125)..((t + 1) * 125) {
                    let answer = replicas[i % 3]
                        .gql(SUBMIT, json!({ "input": { "description": format!("Gatlampa {i} är trasig"), "categoryHint": "street_lighting" } }))
                        .await;
                    assert_eq!(answer["data"]["submitRequest"]["request"]["status"], "QUEUED", "{answer}");
                }
            })
        })
        .collect();
    for s in seeders {
        s.await.unwrap();
    }
    let handlers: Vec<_> = (0..16)
        .map(|h| {
            let replicas = replicas.clone();
            tokio::spawn(async move {
                let token = token(&format!("handler-{h}"), &["handler"], &["TF"]);
                let mut got = Vec::new();
                loop {
                    let answer = gql_as(
                        &replicas[h % 3],
                        &token,
                        "mutation { claimNextRequest(queue: \"TF\") { reference } }",
                        json!({}),
                    )
                    .await;
                    assert!(answer["errors"].is_null(), "{answer}");
                    match answer["data"]["claimNextRequest"]["reference"].as_str() {
                        Some(r) => got.push(r.to_owned()),
                        None => return got,
                    }
                }
            })
        })
        .collect();
    let mut all = Vec::new();
    for h in handlers {
        all.extend(h.await.unwrap());
    }
    let unique: HashSet<&String> = all.iter().collect();
    assert_eq!(all.len(), 2_000);
    assert_eq!(unique.len(), 2_000, "no request claimed twice");
}
