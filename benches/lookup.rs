//! Finding one request among many, through the real HTTP + GraphQL stack, on
//! SQLite (default) or PostgreSQL (`ENVAGIN_TEST_DATABASE_URL`, as for the
//! tests): a resident's `request(reference, trackingCode)` and the contact
//! centre's `searchRequests` by reference and by personal identity number.
//!
//! `cargo bench --bench lookup` — `ENVAGIN_BENCH_SEED` (default 1 000 000)
//! requests are written straight into the database in multi-row INSERTs, then
//! `ENVAGIN_BENCH_CLIENTS` (default 16) clients make `ENVAGIN_BENCH_LOOKUPS`
//! (default 20 000) lookups per scenario of random seeded requests. Every
//! lookup must find exactly its request.

#[path = "../tests/api/support.rs"]
#[allow(dead_code)]
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{Datelike, Days, NaiveDate, TimeZone, Utc};
use envagin::domain::personal_number::PersonalNumber;
use envagin::domain::reference::Reference;
use envagin::domain::tracking::TrackingCode;
use envagin::store::entities::requests;
use envagin::store::{PoolSettings, connect};
use rand::RngExt;
use sea_orm::ActiveValue::Set;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, TransactionTrait};
use serde_json::{Value, json};
use support::{LOOKUP, TEST_SEARCH_KEY, TestApp, spawn_app};

/// Every seeded request has this tracking code; only its hash is stored.
const TRACKING_CODE: &str = "ABCD-EFGH-JKMN-PQRS";
const YEAR: i32 = 2026;
/// 31 bound values a row: 1000 rows stay under SQLite's 32 766 parameters.
const ROWS_PER_INSERT: u64 = 1_000;
const ROWS_PER_TRANSACTION: u64 = 50_000;

const SEARCH: &str = "query($filter: SearchFilterInput!) {
  searchRequests(filter: $filter) { nodes { reference status category createdAt } } }";

/// (category, administration and queue, description)
const KINDS: [(&str, &str, &str); 3] = [
    (
        "street_lighting",
        "TF",
        "Gatlampan är trasig utanför Storgatan",
    ),
    (
        "snow_and_ice",
        "TF",
        "Ingen har plogat på Skolvägen i veckan, nummer",
    ),
    (
        "preschool",
        "BUF",
        "Vi vill ställa vårt barn i kö till förskolan, ärende",
    ),
];

#[derive(Clone, Copy)]
enum Scenario {
    Resident,
    ByReference,
    ByPersonalNumber,
}

impl Scenario {
    fn label(self) -> &'static str {
        match self {
            Self::Resident => "resident request(reference, trackingCode)",
            Self::ByReference => "contact centre searchRequests(reference)",
            Self::ByPersonalNumber => "contact centre searchRequests(personalNumber)",
        }
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let seed_rows = env_u64("ENVAGIN_BENCH_SEED", 1_000_000);
    let clients = env_u64("ENVAGIN_BENCH_CLIENTS", 16);
    let lookups = env_u64("ENVAGIN_BENCH_LOOKUPS", 20_000);
    let app = Arc::new(spawn_app().await);
    let backend = if std::env::var("ENVAGIN_TEST_DATABASE_URL").is_ok_and(|v| !v.is_empty()) {
        "PostgreSQL"
    } else {
        "SQLite"
    };

    eprintln!("seeding {seed_rows} requests on {backend} …");
    seed(&app.database_url, seed_rows, backend).await;

    let token: Arc<str> = app.contact_centre("kc").into();
    let mut failed = 0;
    for scenario in [
        Scenario::Resident,
        Scenario::ByReference,
        Scenario::ByPersonalNumber,
    ] {
        let started = Instant::now();
        let tasks: Vec<_> = (0..clients)
            .map(|c| {
                let count = lookups / clients + u64::from(c < lookups % clients);
                let mut rng = rand::rng();
                let seqs: Vec<u64> = (0..count)
                    .map(|_| rng.random_range(1..=seed_rows))
                    .collect();
                tokio::spawn(client(app.clone(), scenario, token.clone(), seqs))
            })
            .collect();
        let (mut latencies, mut errors) = (Vec::new(), 0);
        for t in tasks {
            let (lat, err) = t.await.expect("client task");
            latencies.extend(lat);
            errors += err;
        }
        let elapsed = started.elapsed();
        failed += errors;
        latencies.sort();
        let pct = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p) as usize];
        println!(
            "lookup | {backend} | {} | {seed_rows} rows | {clients} clients | {} lookups | {:.0} req/s | p50 {:.1} ms | p99 {:.1} ms | max {:.1} ms | {errors} errors",
            scenario.label(),
            latencies.len(),
            latencies.len() as f64 / elapsed.as_secs_f64(),
            ms(pct(0.50)),
            ms(pct(0.99)),
            ms(*latencies.last().unwrap_or(&Duration::ZERO)),
        );
    }
    assert_eq!(failed, 0, "every lookup must find exactly its request");
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// One client: looks up `seqs` one after the other; latencies and errors.
async fn client(
    app: Arc<TestApp>,
    scenario: Scenario,
    token: Arc<str>,
    seqs: Vec<u64>,
) -> (Vec<Duration>, usize) {
    let (mut latencies, mut errors) = (Vec::with_capacity(seqs.len()), 0);
    for seq in seqs {
        let reference = Reference::new(YEAR, seq).to_string();
        let (query, variables, token) = match scenario {
            Scenario::Resident => (
                LOOKUP,
                json!({ "reference": reference, "trackingCode": TRACKING_CODE }),
                None,
            ),
            Scenario::ByReference => (
                SEARCH,
                json!({ "filter": { "reference": reference } }),
                Some(&*token),
            ),
            Scenario::ByPersonalNumber => (
                SEARCH,
                json!({ "filter": { "personalNumber": personal_number(seq).canonical() } }),
                Some(&*token),
            ),
        };
        let started = Instant::now();
        let answer = post(&app, token, query, variables).await;
        latencies.push(started.elapsed());
        let found: Option<Vec<&str>> = answer.as_ref().ok().and_then(|a| match scenario {
            Scenario::Resident => Some(vec![a["data"]["request"]["reference"].as_str()?]),
            _ => a["data"]["searchRequests"]["nodes"]
                .as_array()?
                .iter()
                .map(|n| n["reference"].as_str())
                .collect(),
        });
        if found != Some(vec![reference.as_str()]) {
            if errors == 0 {
                eprintln!("{}: {reference}: {answer:?}", scenario.label());
            }
            errors += 1;
        }
    }
    (latencies, errors)
}

async fn post(
    app: &TestApp,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> Result<Value, reqwest::Error> {
    let mut request = app
        .client
        .post(app.url("/graphql"))
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await?.json().await
}

/// Writes requests 1..=n in multi-row INSERTs, `ROWS_PER_TRANSACTION` to a
/// transaction, then moves the reference sequence past them and analyses.
async fn seed(url: &str, n: u64, backend: &str) {
    let pool = PoolSettings {
        max_connections: 1,
        acquire_timeout: Duration::from_secs(60),
        sqlite_full_sync: false,
        sqlite_mmap_mib: envagin::store::DEFAULT_SQLITE_MMAP_MIB,
    };
    let db = connect(url, &pool)
        .await
        .expect("connect to bench database");
    if db.get_database_backend() == DbBackend::Sqlite {
        exec(&db, "PRAGMA cache_size = -262144").await; // 256 MiB
    }
    let hash = TrackingCode::parse(TRACKING_CODE)
        .expect("tracking code")
        .hash();
    let key = TEST_SEARCH_KEY.as_bytes();
    let started = Instant::now();
    let mut seq = 1;
    while seq <= n {
        let end = (seq + ROWS_PER_TRANSACTION).min(n + 1);
        let txn = db.begin().await.expect("begin");
        while seq < end {
            let to = (seq + ROWS_PER_INSERT).min(end);
            requests::Entity::insert_many((seq..to).map(|s| row(s, n, &hash, key)))
                .exec_without_returning(&txn)
                .await
                .expect("insert requests");
            seq = to;
        }
        txn.commit().await.expect("commit");
        if (end - 1).is_multiple_of(200_000) || end > n {
            eprintln!(
                "  {} rows, {:.1} s",
                end - 1,
                started.elapsed().as_secs_f64()
            );
        }
    }
    let inserted = started.elapsed();
    match db.get_database_backend() {
        DbBackend::Postgres => {
            exec(&db, &format!("SELECT setval('request_reference_seq', {n})")).await;
        }
        _ => {
            exec(
                &db,
                &format!("UPDATE counters SET value = {n} WHERE name = 'request_reference'"),
            )
            .await;
        }
    }
    let analysed = Instant::now();
    exec(&db, "ANALYZE").await;
    println!(
        "seed | {backend} | {n} rows | {:.1} s | {:.0} rows/s | ANALYZE {:.1} s",
        inserted.as_secs_f64(),
        n as f64 / inserted.as_secs_f64(),
        analysed.elapsed().as_secs_f64(),
    );
    db.close().await.ok();
}

async fn exec(db: &DatabaseConnection, sql: &str) {
    db.execute_unprepared(sql).await.expect(sql);
}

/// Request `seq` of `n`, received in order over the year so far: 20 %
/// queued, 20 % in progress, 60 % closed.
fn row(seq: u64, n: u64, tracking_hash: &str, search_key: &[u8]) -> requests::ActiveModel {
    let (category, administration, text) = KINDS[(seq % 3) as usize];
    let status = match seq % 10 {
        0 | 1 => "QUEUED",
        2 | 3 => "IN_PROGRESS",
        _ => "CLOSED",
    };
    let year_start = Utc.with_ymd_and_hms(YEAR, 1, 1, 7, 0, 0).unwrap();
    let received = year_start + chrono::Duration::seconds((seq * 28_000_000 / n.max(1)) as i64);
    let acknowledged = (status != "QUEUED").then(|| received + chrono::Duration::hours(20));
    let closed = (status == "CLOSED").then(|| received + chrono::Duration::days(9));
    let assignee = acknowledged.map(|_| format!("handler-{}", seq % 40));
    let pn = personal_number(seq);
    requests::ActiveModel {
        reference: Set(Reference::new(YEAR, seq).to_string()),
        tracking_code_hash: Set(tracking_hash.to_owned()),
        status: Set(status.to_owned()),
        channel: Set("WEB".to_owned()),
        language: Set("sv".to_owned()),
        description: Set(format!("{text} {}.", seq % 97 + 1)),
        category_code: Set(Some(category.to_owned())),
        administration_code: Set(administration.to_owned()),
        queue_code: Set(administration.to_owned()),
        priority: Set(2),
        confidential: Set(false),
        protected_identity: Set(false),
        classification_confidence: Set(0.9),
        classification_explanation: Set("seeded by benches/lookup.rs".to_owned()),
        contact_name: Set(Some(format!("Invånare {seq}"))),
        contact_email: Set(Some(format!("invanare{seq}@example.se"))),
        personal_number: Set(Some(pn.canonical().to_owned())),
        personal_number_digest: Set(Some(pn.search_digest(search_key))),
        assignee_sub: Set(assignee.clone()),
        assignee_name: Set(assignee),
        version: Set(1),
        received_at: Set(received),
        ack_due_at: Set(received + chrono::Duration::days(2)),
        resolve_due_at: Set(received + chrono::Duration::days(20)),
        acknowledged_at: Set(acknowledged),
        closed_at: Set(closed),
        first_response_days: Set(acknowledged.map(|_| 1)),
        resolution_days: Set(closed.map(|_| 9)),
        rerouted: Set(false),
        created_at: Set(received),
        updated_at: Set(closed.or(acknowledged).unwrap_or(received)),
        ..Default::default()
    }
}

/// A distinct valid personnummer for each `seq` below 24 million: a birth
/// date from 1940 on, a serial, and the Luhn check digit.
fn personal_number(seq: u64) -> PersonalNumber {
    let born = NaiveDate::from_ymd_opt(1940, 1, 1).unwrap() + Days::new(seq % 24_000);
    let serial = seq / 24_000 % 1_000;
    let nine = format!(
        "{:02}{:02}{:02}{serial:03}",
        born.year() % 100,
        born.month(),
        born.day()
    );
    let sum: u32 = nine
        .bytes()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0') * if i % 2 == 0 { 2 } else { 1 };
            d / 10 + d % 10
        })
        .sum();
    let digits = format!("{}{nine}{}", born.year() / 100, (10 - sum % 10) % 10);
    PersonalNumber::parse(&digits, today()).expect("a valid personal number")
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(YEAR, 11, 26).unwrap()
}
