//! Three server processes over one PostgreSQL: whichever replica a request
//! reaches, the result is the same. (On SQLite there is one process by
//! design; these tests then have nothing to prove and return at once.)

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::{Value, json};

use crate::live::{connect_to, next_event, subscribe};
use crate::notifications::{read, silent_mail_server};
use crate::restart::Server;
use crate::smtp_sink::SmtpSink;
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

pub(crate) fn token(sub: &str, roles: &[&str], adm: &[&str]) -> String {
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
    let defined = <migrations::Migrator as migrations::MigratorTrait>::migrations().len();
    assert_eq!(
        applied as usize, defined,
        "each migration recorded exactly once"
    );
    let articles = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM articles",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap();
    assert_eq!(
        articles, 69,
        "the sample knowledge base loaded exactly once"
    );

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

/// Three replicas, each configured by `env` on top of the shared settings.
async fn three_replicas_with(
    url: &str,
    dir: &std::path::Path,
    env: [Vec<(&'static str, String)>; 3],
) -> Vec<Server> {
    let starts = env.into_iter().enumerate().map(|(i, extra)| {
        let (url, data) = (url.to_owned(), dir.join(format!("replica-{i}")));
        Server::spawn(move |c| {
            c.env("ENVAGIN_DATABASE_URL", url)
                .env("ENVAGIN_DATA_DIR", data)
                .env("ENVAGIN_JWT_SECRET", TEST_JWT_SECRET)
                .env("ENVAGIN_SEARCH_KEY", TEST_SEARCH_KEY);
            for (key, value) in extra {
                c.env(key, value);
            }
        })
    });
    futures_util::future::join_all(starts).await
}

async fn submit_with_email(server: &Server, i: usize) -> String {
    let answer = server
        .gql(
            SUBMIT,
            json!({ "input": {
                "description": format!("Gatlampan vid Storgatan {i} är trasig"),
                "contact": { "email": format!("boende{i}@example.se") },
            } }),
        )
        .await;
    answer["data"]["submitRequest"]["request"]["reference"]
        .as_str()
        .unwrap_or_else(|| panic!("acknowledged: {answer}"))
        .to_owned()
}

fn subjects(mails: &[crate::smtp_sink::ReceivedMail]) -> Vec<String> {
    mails.iter().map(|m| read(m).subject).collect()
}

#[tokio::test]
async fn three_outbox_senders_deliver_every_receipt_exactly_once() {
    if !on_postgres() {
        return;
    }
    let sink = SmtpSink::start().await;
    let dir = tempfile::TempDir::new().unwrap();
    let url = fresh_database(&dir).await;
    let env = || {
        vec![
            ("ENVAGIN_SMTP_URL", sink.url()),
            ("ENVAGIN_OUTBOX_POLL_MS", "100".to_owned()),
        ]
    };
    let replicas = three_replicas_with(&url, dir.path(), [env(), env(), env()]).await;
    let submissions = (0..90).map(|i| submit_with_email(&replicas[i % 3], i));
    let references = futures_util::future::join_all(submissions).await;

    sink.wait_for(90, std::time::Duration::from_secs(60)).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let subjects = subjects(&sink.messages());
    assert_eq!(subjects.len(), 90, "one receipt per request, no more");
    for reference in &references {
        let n = subjects
            .iter()
            .filter(|s| s.contains(reference.as_str()))
            .count();
        assert_eq!(n, 1, "{reference} delivered {n} times");
    }
}

#[tokio::test]
async fn a_killed_replicas_leased_messages_are_delivered_by_another_after_the_lease() {
    if !on_postgres() {
        return;
    }
    let sink = SmtpSink::start().await;
    // Replica A's mail server accepts and never answers: A leases the
    // messages and hangs mid-delivery.
    let (silent_addr, _silent) = silent_mail_server().await;
    let dir = tempfile::TempDir::new().unwrap();
    let url = fresh_database(&dir).await;
    let a = vec![
        ("ENVAGIN_SMTP_URL", format!("smtp://{silent_addr}")),
        ("ENVAGIN_OUTBOX_POLL_MS", "20".to_owned()),
        ("ENVAGIN_OUTBOX_LEASE_SECS", "2".to_owned()),
    ];
    let others = || {
        vec![
            ("ENVAGIN_SMTP_URL", sink.url()),
            ("ENVAGIN_OUTBOX_POLL_MS", "1000".to_owned()),
        ]
    };
    let mut replicas = three_replicas_with(&url, dir.path(), [a, others(), others()]).await;
    let mut references = Vec::new();
    for i in 0..10 {
        references.push(submit_with_email(&replicas[0], i).await);
    }
    let pid = replicas[0].pid();
    let db = sea_orm::Database::connect(url.as_str()).await.unwrap();
    use sea_orm::ConnectionTrait;
    let leased_by_a = || {
        let db = db.clone();
        async move {
            db.query_one_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                format!(
                    "SELECT COUNT(*) AS n FROM notifications WHERE state = 'PENDING' AND leased_by LIKE '%:{pid}:%'"
                ),
            ))
            .await
            .unwrap()
            .unwrap()
            .try_get::<i64>("", "n")
            .unwrap()
        }
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while leased_by_a().await == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "replica A never leased a message"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    replicas.remove(0).kill();

    let mails = sink.wait_for(10, std::time::Duration::from_secs(30)).await;
    let subjects = subjects(&mails);
    for reference in &references {
        assert!(
            subjects.iter().any(|s| s.contains(reference.as_str())),
            "the receipt of {reference}, leased by the dead replica, was never delivered"
        );
    }
    assert_eq!(
        leased_by_a().await,
        0,
        "nothing stays with the dead replica"
    );
}
