//! Fault injection (issue 15): the faults `durability.rs`, `faults.rs`,
//! `connection_faults.rs` and `restart.rs` leave out, each held to the one
//! promise of the README's fault table. Every acknowledged request (an
//! answer with a reference and a tracking code) is found afterwards, by its
//! reference and tracking code, with the history it was acknowledged with;
//! every refused one is absent, or, when the connection broke after the
//! commit, found once by a retry with its idempotency key; nothing is
//! half-written; and the service recovers without a restart of its own.
//!
//! Each test prints its figures (`eprintln!`, shown with `--nocapture`).
//! Tests of PostgreSQL faults return at once unless
//! `ENVAGIN_TEST_DATABASE_URL` is set; tests of SQLite faults return when
//! it is.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::durability::OwnPostgres;
use crate::restart::Server;
use crate::smtp_sink::{ReceivedMail, SmtpSink};
use crate::support::{LOOKUP, SUBMIT, fresh_database};

fn on_postgres() -> bool {
    std::env::var("ENVAGIN_TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty())
}

const TEXTS: [&str; 4] = [
    "gatlampan utanför Storgatan 12 är trasig",
    "soptunnan har inte tömts på två veckor",
    "stort hål i vägen på Kungsgatan",
    "det luktar mögel i lägenheten",
];

/// Longest a test client waits for one answer: an answer later than this
/// counts as a hang.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(60);

/// What the service answered one submission.
#[derive(Debug, Clone)]
enum Outcome {
    Acknowledged {
        reference: String,
        tracking_code: String,
        history: Value,
    },
    /// Answered with an error, carrying its `extensions.code`.
    Refused { code: String },
    /// No answer (connection broken, client timeout).
    Unanswered { why: String },
}

#[derive(Debug, Clone)]
struct Submission {
    marker: String,
    outcome: Outcome,
    took: Duration,
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(CLIENT_TIMEOUT)
        .build()
        .expect("HTTP client")
}

/// Submits a request whose description starts with `marker` and whose
/// idempotency key is `marker`.
async fn submit_keyed(
    http: &reqwest::Client,
    base: &str,
    marker: &str,
    email: Option<&str>,
) -> Outcome {
    let n = marker.bytes().map(usize::from).sum::<usize>();
    let mut input = json!({
        "description": format!("{marker}: {}", TEXTS[n % TEXTS.len()]),
        "idempotencyKey": marker,
    });
    if let Some(email) = email {
        input["contact"] = json!({ "email": email });
    }
    let sent = http
        .post(format!("{base}/graphql"))
        .json(&json!({ "query": SUBMIT, "variables": { "input": input } }))
        .send()
        .await;
    let answer = match sent {
        Ok(answer) => answer,
        Err(e) => return Outcome::Unanswered { why: e.to_string() },
    };
    let answer = match answer.json::<Value>().await {
        Ok(answer) => answer,
        Err(e) => return Outcome::Unanswered { why: e.to_string() },
    };
    let payload = &answer["data"]["submitRequest"];
    match (
        answer["errors"].is_null(),
        payload["request"]["reference"].as_str(),
        payload["trackingCode"].as_str(),
    ) {
        (true, Some(reference), Some(tracking_code)) => Outcome::Acknowledged {
            reference: reference.to_owned(),
            tracking_code: tracking_code.to_owned(),
            history: payload["request"]["history"].clone(),
        },
        _ => Outcome::Refused {
            code: answer["errors"][0]["extensions"]["code"]
                .as_str()
                .unwrap_or("(no code)")
                .to_owned(),
        },
    }
}

/// `clients` concurrent submitters, each with its own numbered markers
/// `{prefix}-{client}-{n}`, until `stop`.
async fn load(
    base: String,
    prefix: String,
    clients: usize,
    stop: Arc<AtomicBool>,
    email: bool,
) -> Vec<Submission> {
    let tasks = (0..clients).map(|client| {
        let (base, prefix, stop) = (base.clone(), prefix.clone(), stop.clone());
        tokio::spawn(async move {
            let http = http();
            let mut done = Vec::new();
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                n += 1;
                let marker = format!("{prefix}-{client}-{n}");
                let address = format!("boende-{client}-{n}@example.se");
                let started = Instant::now();
                let outcome =
                    submit_keyed(&http, &base, &marker, email.then_some(address.as_str())).await;
                let refused = !matches!(outcome, Outcome::Acknowledged { .. });
                done.push(Submission {
                    marker,
                    outcome,
                    took: started.elapsed(),
                });
                if refused {
                    // No busy loop against a server that answers at once.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
            done
        })
    });
    futures_util::future::join_all(tasks)
        .await
        .into_iter()
        .flat_map(|t| t.expect("client ran"))
        .collect()
}

/// A stored request as the database holds it.
#[derive(Debug, Clone)]
struct Stored {
    reference: String,
    events: i64,
}

/// Every stored request by the marker its description starts with.
async fn stored(url: &str) -> BTreeMap<String, Vec<Stored>> {
    let db = Database::connect(url)
        .await
        .expect("connect to the database");
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT r.reference, r.description, \
             (SELECT COUNT(*) FROM request_events e WHERE e.request_id = r.id) AS events \
             FROM requests r",
        ))
        .await
        .expect("requests read");
    db.close().await.ok();
    let mut by_marker: BTreeMap<String, Vec<Stored>> = BTreeMap::new();
    for row in rows {
        let description: String = row.try_get("", "description").expect("description");
        let marker = description
            .split_once(": ")
            .map_or(description.as_str(), |(m, _)| m);
        by_marker
            .entry(marker.to_owned())
            .or_default()
            .push(Stored {
                reference: row.try_get("", "reference").expect("reference"),
                events: row.try_get("", "events").expect("events"),
            });
    }
    by_marker
}

async fn scalar(url: &str, sql: &str) -> i64 {
    let db = Database::connect(url)
        .await
        .expect("connect to the database");
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .expect("query")
        .expect("a row");
    db.close().await.ok();
    row.try_get("", "n").expect("a count")
}

/// Looks a request up through the API. A pooled connection that broke
/// while it sat idle may fail its first use (`INTERNAL`, see the README),
/// so that is tried again for a while.
async fn lookup(http: &reqwest::Client, base: &str, reference: &str, tracking: &str) -> Value {
    let body = json!({ "query": LOOKUP, "variables": { "reference": reference, "trackingCode": tracking } });
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let answer = http
            .post(format!("{base}/graphql"))
            .json(&body)
            .send()
            .await
            .expect("lookup answered")
            .json::<Value>()
            .await
            .expect("lookup JSON");
        if answer["errors"][0]["extensions"]["code"] != "INTERNAL" || Instant::now() > deadline {
            return answer;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// What a test saw, for its assertion messages and the closing note.
#[derive(Debug, Default)]
struct Figures {
    submitted: usize,
    acknowledged: usize,
    /// Acknowledged ones found by reference + tracking code with the
    /// history they were acknowledged with.
    found: usize,
    /// Answered with an error.
    refused: usize,
    /// Not answered at all.
    unanswered: usize,
    /// Refused or unanswered, and not stored.
    absent: usize,
    /// Refused or unanswered, but stored (the commit happened, the answer
    /// was lost): a retry with the key finds it.
    stored_anyway: usize,
    /// Refused or unanswered ones stored exactly once after a retry with
    /// their key.
    retried_once: usize,
    errors: BTreeMap<String, usize>,
    slowest: Duration,
}

impl fmt::Display for Figures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} submitted, {} acknowledged, {} found, {} refused + {} unanswered \
             ({} absent, {} stored though refused), {} retried and stored once, \
             errors {:?}, slowest answer {:.1} s",
            self.submitted,
            self.acknowledged,
            self.found,
            self.refused,
            self.unanswered,
            self.absent,
            self.stored_anyway,
            self.retried_once,
            self.errors,
            self.slowest.as_secs_f64()
        )
    }
}

/// Holds `submissions` to the promise; with `retry`, every refused one is
/// submitted again with its key until acknowledged and must then be
/// stored exactly once.
async fn check_promise(
    what: &str,
    base: &str,
    url: &str,
    submissions: &[Submission],
    retry: bool,
) -> Figures {
    let http = http();
    let mut figures = Figures {
        submitted: submissions.len(),
        ..Figures::default()
    };
    let before = stored(url).await;
    for s in submissions {
        figures.slowest = figures.slowest.max(s.took);
        let copies = before.get(&s.marker).map_or(0, Vec::len);
        match &s.outcome {
            Outcome::Acknowledged {
                reference,
                tracking_code,
                history,
            } => {
                figures.acknowledged += 1;
                let answer = lookup(&http, base, reference, tracking_code).await;
                let request = &answer["data"]["request"];
                assert!(
                    request["reference"] == reference.as_str() && request["history"] == *history,
                    "{what}: {} was acknowledged as {reference} with history {history} \
                     but reads {answer} ({figures})",
                    s.marker
                );
                assert_eq!(
                    copies, 1,
                    "{what}: {} acknowledged, stored {copies} times ({figures})",
                    s.marker
                );
                figures.found += 1;
            }
            Outcome::Refused { code } => {
                figures.refused += 1;
                *figures.errors.entry(code.clone()).or_default() += 1;
            }
            Outcome::Unanswered { why } => {
                figures.unanswered += 1;
                let why = if why.contains("timed out") {
                    "(no answer: client timeout)"
                } else {
                    "(no answer: connection)"
                };
                *figures.errors.entry(why.to_owned()).or_default() += 1;
            }
        }
        if !matches!(s.outcome, Outcome::Acknowledged { .. }) {
            assert!(
                copies <= 1,
                "{what}: {} refused, yet stored {copies} times ({figures})",
                s.marker
            );
            if copies == 0 {
                figures.absent += 1;
            } else {
                figures.stored_anyway += 1;
            }
        }
    }
    if retry {
        let deadline = Instant::now() + Duration::from_secs(60);
        for s in submissions {
            if matches!(s.outcome, Outcome::Acknowledged { .. }) {
                continue;
            }
            let (reference, tracking_code) = loop {
                match submit_keyed(&http, base, &s.marker, None).await {
                    Outcome::Acknowledged {
                        reference,
                        tracking_code,
                        ..
                    } => break (reference, tracking_code),
                    other => assert!(
                        Instant::now() < deadline,
                        "{what}: {} cannot be registered on retry: {other:?} ({figures})",
                        s.marker
                    ),
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            };
            if let Some(earlier) = before.get(&s.marker) {
                assert_eq!(
                    earlier[0].reference, reference,
                    "{what}: the retry of {} found another request than the stored one",
                    s.marker
                );
            }
            let answer = lookup(&http, base, &reference, &tracking_code).await;
            assert!(
                answer["errors"].is_null(),
                "{what}: the retry of {} ({reference}) is not found: {answer}",
                s.marker
            );
        }
    }
    let after = stored(url).await;
    for s in submissions {
        let copies = after.get(&s.marker).map_or(0, Vec::len);
        let expected = match (&s.outcome, retry) {
            (Outcome::Acknowledged { .. }, _) | (_, true) => 1,
            _ => before.get(&s.marker).map_or(0, Vec::len),
        };
        assert_eq!(
            copies, expected,
            "{what}: {} stored {copies} times, expected {expected} ({figures})",
            s.marker
        );
        if retry && !matches!(s.outcome, Outcome::Acknowledged { .. }) {
            figures.retried_once += 1;
        }
    }
    let half_written: Vec<&Stored> = after
        .values()
        .flatten()
        .filter(|stored| stored.events < 2)
        .collect();
    assert!(
        half_written.is_empty(),
        "{what}: requests stored without their first events: {half_written:?} ({figures})"
    );
    eprintln!("{what}: {figures}");
    figures
}

pub(crate) async fn ready_status(base: &str) -> Option<u16> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .ok()?;
    http.get(format!("{base}/ready"))
        .send()
        .await
        .ok()
        .map(|r| r.status().as_u16())
}

/// Waits (at most `limit`) until `/ready` answers `status`.
async fn wait_for_ready_status(base: &str, status: u16, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if ready_status(base).await == Some(status) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

// ---------------------------------------------------------------------
// 1. PostgreSQL restarted under load.

#[tokio::test]
async fn requests_acknowledged_while_postgresql_restarts_are_kept_and_refused_ones_are_stored_once_on_retry()
 {
    if !on_postgres() {
        return;
    }
    let Some(pg) = OwnPostgres::start() else {
        return;
    };
    let pg = Arc::new(pg);
    let dir = tempfile::TempDir::new().unwrap();
    let server = Server::spawn(|c| {
        c.env("ENVAGIN_DATABASE_URL", pg.url())
            .env("ENVAGIN_DATA_DIR", dir.path())
            .env("ENVAGIN_DB_ACQUIRE_TIMEOUT_SECS", "2");
    })
    .await;
    let ctl = |action: &'static str, mode: &'static str| {
        let pg = pg.clone();
        tokio::task::spawn_blocking(move || pg.ctl_mode(action, mode))
    };
    for mode in ["fast", "immediate"] {
        let stop = Arc::new(AtomicBool::new(false));
        let clients = tokio::spawn(load(
            server.base.clone(),
            format!("pgrestart-{mode}"),
            10,
            stop.clone(),
            false,
        ));
        tokio::time::sleep(Duration::from_secs(1)).await;
        // A restart as an operator does it, under load.
        ctl("restart", mode).await.unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await;
        // And a longer one: down long enough to see /ready say so.
        ctl("stop", mode).await.unwrap();
        let down = wait_for_ready_status(&server.base, 503, Duration::from_secs(20)).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        ctl("start", "fast").await.unwrap();
        let back = wait_for_ready_status(&server.base, 200, Duration::from_secs(30)).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        stop.store(true, Ordering::SeqCst);
        let submissions = clients.await.unwrap();
        let what = format!("PostgreSQL restart -m {mode}");
        let figures = check_promise(&what, &server.base, &pg.url(), &submissions, true).await;
        assert!(
            down,
            "{what}: /ready never answered 503 while PostgreSQL was down"
        );
        assert!(
            back,
            "{what}: /ready did not answer 200 after PostgreSQL came back"
        );
        assert!(
            figures.acknowledged > 10 && figures.refused + figures.unanswered > 0,
            "{what}: the load ran into the restart ({figures})"
        );
        assert_eq!(
            figures.errors.keys().filter(|c| c.starts_with('(')).count(),
            0,
            "{what}: every failure is an answer with a code ({figures})"
        );
        assert!(
            figures.errors.keys().all(|c| c == "INTERNAL"),
            "{what}: failures answer INTERNAL ({figures})"
        );
    }
}

// ---------------------------------------------------------------------
// 2. A slow database.

/// How the proxy treats traffic now.
const PASS: u64 = 0;
const STALL: u64 = u64::MAX;

/// A TCP proxy between the server and PostgreSQL that passes traffic, holds
/// each chunk for a while, or holds everything (`STALL`).
struct SlowProxy {
    addr: std::net::SocketAddr,
    /// `PASS`, `STALL`, or milliseconds to hold each chunk.
    delay_ms: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl SlowProxy {
    async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let delay_ms = Arc::new(AtomicU64::new(PASS));
        let task = tokio::spawn({
            let delay_ms = delay_ms.clone();
            async move {
                while let Ok((client, _)) = listener.accept().await {
                    let Ok(server) = TcpStream::connect(&upstream).await else {
                        continue;
                    };
                    let (cr, cw) = client.into_split();
                    let (sr, sw) = server.into_split();
                    tokio::spawn(pipe(cr, sw, delay_ms.clone()));
                    tokio::spawn(pipe(sr, cw, delay_ms.clone()));
                }
            }
        });
        Self {
            addr,
            delay_ms,
            task,
        }
    }

    fn set(&self, mode: u64) {
        self.delay_ms.store(mode, Ordering::SeqCst);
    }
}

impl Drop for SlowProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    delay_ms: Arc<AtomicU64>,
) {
    let mut buffer = vec![0_u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        loop {
            match delay_ms.load(Ordering::SeqCst) {
                PASS => break,
                STALL => tokio::time::sleep(Duration::from_millis(20)).await,
                ms => {
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    break;
                }
            }
        }
        if to.write_all(&buffer[..n]).await.is_err() {
            break;
        }
    }
    to.shutdown().await.ok();
}

/// `postgres://user@host:port/db?q` → (`host:port`, a function putting
/// another address in its place).
fn split_address(url: &str) -> (String, String, String) {
    let (scheme, rest) = url.split_once("://").expect("a URL");
    let (user, rest) = rest.split_once('@').map_or(("", rest), |(u, r)| (u, r));
    let at = rest.find('/').unwrap_or(rest.len());
    let user = if user.is_empty() {
        String::new()
    } else {
        format!("{user}@")
    };
    (
        rest[..at].to_owned(),
        format!("{scheme}://{user}"),
        rest[at..].to_owned(),
    )
}

#[tokio::test]
async fn a_slow_or_stalled_postgresql_ends_requests_in_a_coded_error_or_stores_them_whole() {
    if !on_postgres() {
        return;
    }
    let dir = tempfile::TempDir::new().unwrap();
    let url = fresh_database(&dir).await;
    let (upstream, before, after) = split_address(&url);
    let proxy = SlowProxy::start(upstream).await;
    let proxied = format!("{before}{}{after}", proxy.addr);
    let server = Server::spawn(|c| {
        c.env("ENVAGIN_DATABASE_URL", &proxied)
            .env("ENVAGIN_DATA_DIR", dir.path())
            .env("ENVAGIN_DB_ACQUIRE_TIMEOUT_SECS", "2");
    })
    .await;
    let stop = Arc::new(AtomicBool::new(false));
    let clients = tokio::spawn(load(
        server.base.clone(),
        "slowpg".into(),
        8,
        stop.clone(),
        false,
    ));
    tokio::time::sleep(Duration::from_secs(1)).await;
    proxy.set(1_000);
    tokio::time::sleep(Duration::from_secs(4)).await;
    proxy.set(STALL);
    tokio::time::sleep(Duration::from_secs(6)).await;
    proxy.set(PASS);
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::SeqCst);
    let submissions = clients.await.unwrap();
    let figures = check_promise("slow PostgreSQL", &server.base, &url, &submissions, true).await;
    assert!(
        wait_for_ready_status(&server.base, 200, Duration::from_secs(30)).await,
        "ready again once PostgreSQL is fast again ({figures})"
    );
    assert!(
        figures.acknowledged > 10 && figures.refused > 0,
        "the load ran into the slow database ({figures})"
    );
    assert_eq!(
        figures.unanswered, 0,
        "every submission answered, none hung past {CLIENT_TIMEOUT:?} ({figures})"
    );
    assert!(
        figures.errors.keys().all(|c| c == "INTERNAL"),
        "failures answer INTERNAL ({figures})"
    );
}

/// A query already sent on a connection whose traffic stalls (a network
/// partition, a hung proxy, a frozen PostgreSQL) was waited for without
/// bound: only waiting for a connection had a limit, so the request
/// answered when the stall ended (after 20 s, against a 2 s timeout).
/// `ENVAGIN_REQUEST_TIMEOUT_SECS` now gives the whole request up.
#[tokio::test]
async fn a_stalled_postgresql_connection_ends_its_request_within_the_configured_timeout() {
    if !on_postgres() {
        return;
    }
    let Stallable {
        _dir,
        url,
        proxy,
        server,
    } = behind_a_stallable_proxy(4).await;
    let http = http();
    assert!(matches!(
        submit_keyed(&http, &server.base, "stall-before", None).await,
        Outcome::Acknowledged { .. }
    ));
    proxy.set(STALL);
    let started = Instant::now();
    let stalled = async {
        let outcome = submit_keyed(&http, &server.base, "stall-during", None).await;
        (outcome, started.elapsed())
    };
    let release = async {
        tokio::time::sleep(Duration::from_secs(20)).await;
        proxy.set(PASS);
    };
    let ((outcome, took), ()) = tokio::join!(stalled, release);
    eprintln!("stalled PostgreSQL: answered {outcome:?} after {took:?}");
    assert!(
        took < Duration::from_secs(10),
        "answered within the 4 s request timeout and some room, not after the stall: \
         {outcome:?} after {took:?}"
    );
    assert!(
        matches!(&outcome, Outcome::Refused { code } if code == "INTERNAL"),
        "given up with a coded error: {outcome:?}"
    );
    // Once the database answers again, the same key is stored exactly once
    // with its whole history, whether or not the given-up attempt got as
    // far as its commit.
    let retried = retry_until_acknowledged(&http, &server.base, "stall-during").await;
    let rows = stored(&url).await;
    let stalled = rows
        .get("stall-during")
        .map(Vec::as_slice)
        .unwrap_or_default();
    assert_eq!(stalled.len(), 1, "stored once: {stalled:?}");
    assert!(stalled[0].events > 0, "with its history: {stalled:?}");
    assert!(
        matches!(&retried, Outcome::Acknowledged { reference, .. } if *reference == stalled[0].reference),
        "the retry is answered with the stored request: {retried:?} vs {stalled:?}"
    );
}

#[tokio::test]
async fn a_submission_over_a_websocket_is_given_up_too_when_the_database_stalls() {
    if !on_postgres() {
        return;
    }
    let Stallable {
        _dir,
        proxy,
        server,
        ..
    } = behind_a_stallable_proxy(3).await;
    let ws = format!("{}/graphql/ws", server.base.replacen("http", "ws", 1));
    let mut socket = crate::live::connect_to(&ws, json!({}))
        .await
        .expect("connected");
    proxy.set(STALL);
    let started = Instant::now();
    crate::live::send(
        &mut socket,
        json!({ "id": "s", "type": "subscribe", "payload": {
            "query": SUBMIT,
            "variables": { "input": { "description": "ws-stall: Gatlampan på Storgatan är trasig", "idempotencyKey": "ws-stall" } }
        } }),
    )
    .await;
    let answer = crate::live::next(&mut socket).await;
    let took = started.elapsed();
    proxy.set(PASS);
    eprintln!("stalled PostgreSQL over WebSocket: {answer:?} after {took:?}");
    let answer = answer.expect("an answer before the stall ends, not silence");
    assert_eq!(
        answer["payload"]["errors"][0]["extensions"]["code"], "INTERNAL",
        "{answer}"
    );
    assert!(took < Duration::from_secs(8), "{took:?}");
}

/// A server whose PostgreSQL traffic goes through a proxy the test can
/// stall, with the given request timeout.
struct Stallable {
    _dir: tempfile::TempDir,
    url: String,
    proxy: SlowProxy,
    server: Server,
}

async fn behind_a_stallable_proxy(request_timeout_secs: u64) -> Stallable {
    let dir = tempfile::TempDir::new().unwrap();
    let url = fresh_database(&dir).await;
    let (upstream, before, after) = split_address(&url);
    let proxy = SlowProxy::start(upstream).await;
    let proxied = format!("{before}{}{after}", proxy.addr);
    let server = Server::spawn(|c| {
        c.env("ENVAGIN_DATABASE_URL", &proxied)
            .env("ENVAGIN_DATA_DIR", dir.path())
            .env("ENVAGIN_DB_ACQUIRE_TIMEOUT_SECS", "2")
            .env(
                "ENVAGIN_READY_TIMEOUT_SECS",
                READY_TIMEOUT.as_secs().to_string(),
            )
            .env(
                "ENVAGIN_REQUEST_TIMEOUT_SECS",
                request_timeout_secs.to_string(),
            );
    })
    .await;
    Stallable {
        _dir: dir,
        url,
        proxy,
        server,
    }
}

/// `/ready`'s wait for the database on a stallable server.
const READY_TIMEOUT: Duration = Duration::from_secs(1);

#[tokio::test]
async fn readiness_answers_503_within_its_own_timeout_while_postgresql_stalls() {
    if !on_postgres() {
        return;
    }
    let stallable = behind_a_stallable_proxy(30).await;
    let base = stallable.server.base.clone();
    assert_eq!(ready_status(&base).await, Some(200));
    stallable.proxy.set(STALL);
    // Connections in the pool are stalled now; a probe must hear "not
    // ready" well before a load balancer would give up on it.
    let started = Instant::now();
    let status = ready_status(&base).await;
    let took = started.elapsed();
    stallable.proxy.set(PASS);
    assert_eq!(status, Some(503), "not ready while the database stalls");
    assert!(
        took < READY_TIMEOUT + Duration::from_secs(1),
        "answered after {took:?}, with a readiness timeout of {READY_TIMEOUT:?}"
    );
    assert!(
        wait_for_ready_status(&base, 200, Duration::from_secs(30)).await,
        "ready again when the database answers"
    );
}

async fn retry_until_acknowledged(http: &reqwest::Client, base: &str, marker: &str) -> Outcome {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let outcome = submit_keyed(http, base, marker, None).await;
        if matches!(outcome, Outcome::Acknowledged { .. }) || Instant::now() > deadline {
            return outcome;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// The SQLite file of a `sqlite://path?mode=rwc` URL.
fn sqlite_path(url: &str) -> String {
    let path = url.trim_start_matches("sqlite://");
    path.split_once('?').map_or(path, |(p, _)| p).to_owned()
}

/// The server's SQLite busy timeout (`store::options`).
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// How long the test's own writer holds the lock: well past the busy
/// timeout, so that requests queued behind one another would wait it out
/// in turn if nothing bounded their wait.
const LOCK_HELD: Duration = Duration::from_secs(16);

const LOCKED_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

#[tokio::test]
async fn a_sqlite_database_locked_past_the_busy_timeout_refuses_cleanly_and_recovers() {
    if on_postgres() {
        return;
    }
    use sea_orm::sqlx::{Connection, sqlite::SqliteConnection};
    let dir = tempfile::TempDir::new().unwrap();
    let url = fresh_database(&dir).await;
    let server = Server::spawn(|c| {
        c.env("ENVAGIN_DATABASE_URL", &url)
            .env("ENVAGIN_DATA_DIR", dir.path())
            .env(
                "ENVAGIN_DB_ACQUIRE_TIMEOUT_SECS",
                LOCKED_ACQUIRE_TIMEOUT.as_secs().to_string(),
            );
    })
    .await;
    let stop = Arc::new(AtomicBool::new(false));
    let clients = tokio::spawn(load(
        server.base.clone(),
        "locked".into(),
        8,
        stop.clone(),
        false,
    ));
    tokio::time::sleep(Duration::from_secs(1)).await;
    // Another process's writer (a backup tool, a careless operator) holds
    // the write lock for longer than the server's 10 s busy timeout.
    let mut holder = SqliteConnection::connect(&format!("sqlite://{}", sqlite_path(&url)))
        .await
        .expect("a second connection to the file");
    sea_orm::sqlx::query("PRAGMA busy_timeout = 30000")
        .execute(&mut holder)
        .await
        .unwrap();
    sea_orm::sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut holder)
        .await
        .expect("the write lock taken");
    let locked = Instant::now();
    tokio::time::sleep(LOCK_HELD).await;
    sea_orm::sqlx::query("ROLLBACK")
        .execute(&mut holder)
        .await
        .unwrap();
    let held = locked.elapsed();
    holder.close().await.ok();
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::SeqCst);
    let submissions = clients.await.unwrap();
    let figures = check_promise("SQLite locked", &server.base, &url, &submissions, true).await;
    eprintln!(
        "SQLite locked: the lock was held {:.1} s",
        held.as_secs_f64()
    );
    assert!(
        wait_for_ready_status(&server.base, 200, Duration::from_secs(30)).await,
        "ready again once the lock is gone ({figures})"
    );
    assert!(
        figures.acknowledged > 10 && figures.refused > 0,
        "the load ran into the lock ({figures})"
    );
    assert_eq!(
        figures.unanswered, 0,
        "every submission answered, none hung past {CLIENT_TIMEOUT:?} ({figures})"
    );
    assert!(
        figures.errors.keys().all(|c| c == "INTERNAL"),
        "failures answer INTERNAL ({figures})"
    );
    // A liveness bound, not a performance figure: an answer (either one)
    // within the busy timeout plus the wait for a connection, with room to
    // spare, while the lock was held for longer than both.
    let bound = BUSY_TIMEOUT + LOCKED_ACQUIRE_TIMEOUT + Duration::from_secs(2);
    assert!(
        figures.slowest < bound,
        "no request waited past {bound:?} for a lock held {held:?} ({figures})"
    );
}

/// A shared library that, preloaded into the server, makes its disk slow
/// on the test's say: while the file named by `SLOW_DISK_FLAG` exists,
/// every `fsync`, `fdatasync` and positioned write first sleeps the number
/// of milliseconds the file holds. SQLite (bundled into the binary) calls
/// these through libc, so this is the disk as the database sees it.
const SLOW_DISK_SHIM: &str = r#"
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

static void slow_down(void) {
    const char *flag = getenv("SLOW_DISK_FLAG");
    if (!flag) return;
    FILE *f = fopen(flag, "r");
    if (!f) return;
    long ms = 0;
    if (fscanf(f, "%ld", &ms) != 1) ms = 0;
    fclose(f);
    struct timespec pause = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&pause, NULL);
}

int fsync(int fd) {
    static int (*real)(int);
    if (!real) real = dlsym(RTLD_NEXT, "fsync");
    slow_down();
    return real(fd);
}

int fdatasync(int fd) {
    static int (*real)(int);
    if (!real) real = dlsym(RTLD_NEXT, "fdatasync");
    slow_down();
    return real(fd);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t offset) {
    static ssize_t (*real)(int, const void *, size_t, off_t);
    if (!real) real = dlsym(RTLD_NEXT, "pwrite64");
    slow_down();
    return real(fd, buf, n, offset);
}
"#;

/// Builds the slow-disk library with the C compiler every Rust toolchain
/// links with.
fn slow_disk_library(dir: &std::path::Path) -> std::path::PathBuf {
    let source = dir.join("slow_disk.c");
    let library = dir.join("libslow_disk.so");
    std::fs::write(&source, SLOW_DISK_SHIM).expect("writes the shim");
    let built = std::process::Command::new("cc")
        .args(["-shared", "-fPIC", "-O2", "-o"])
        .arg(&library)
        .arg(&source)
        .arg("-ldl")
        .status()
        .expect("the C compiler runs");
    assert!(built.success(), "the slow-disk shim compiles");
    library
}

/// The request timeout of the slow-disk test's server.
const SLOW_DISK_TIMEOUT: Duration = Duration::from_secs(3);

#[tokio::test]
async fn a_slow_disk_ends_requests_within_the_timeout_and_keeps_every_acknowledged_one() {
    if on_postgres() {
        return;
    }
    let dir = tempfile::TempDir::new().unwrap();
    let url = fresh_database(&dir).await;
    let library = slow_disk_library(dir.path());
    let flag = dir.path().join("slow-disk-ms");
    let server = Server::spawn(|c| {
        c.env("ENVAGIN_DATABASE_URL", &url)
            .env("ENVAGIN_DATA_DIR", dir.path())
            .env(
                "ENVAGIN_REQUEST_TIMEOUT_SECS",
                SLOW_DISK_TIMEOUT.as_secs().to_string(),
            )
            .env("LD_PRELOAD", &library)
            .env("SLOW_DISK_FLAG", &flag);
    })
    .await;
    let stop = Arc::new(AtomicBool::new(false));
    let clients = tokio::spawn(load(
        server.base.clone(),
        "slowdisk".into(),
        8,
        stop.clone(),
        false,
    ));
    // A disk that takes its time (a busy SAN, a failing drive), then one
    // that all but stops, then a healthy one again.
    for (delay_ms, lasting) in [(400, 5), (5_000, 8), (0, 3)] {
        std::fs::write(&flag, delay_ms.to_string()).expect("sets the delay");
        tokio::time::sleep(Duration::from_secs(lasting)).await;
    }
    std::fs::remove_file(&flag).expect("the disk is fast again");
    stop.store(true, Ordering::SeqCst);
    let submissions = clients.await.unwrap();
    let figures = check_promise("slow disk", &server.base, &url, &submissions, true).await;
    assert!(
        figures.acknowledged > 10 && figures.refused > 0,
        "the load ran into the slow disk ({figures})"
    );
    assert_eq!(
        figures.unanswered, 0,
        "every submission answered ({figures})"
    );
    assert!(
        figures.errors.keys().all(|c| c == "INTERNAL"),
        "failures answer INTERNAL ({figures})"
    );
    // A liveness bound: the request timeout with room to spare, while one
    // write took longer than it.
    let bound = SLOW_DISK_TIMEOUT + Duration::from_secs(2);
    assert!(
        figures.slowest < bound,
        "no request waited past {bound:?} on a disk taking 5 s a write ({figures})"
    );
    assert!(
        wait_for_ready_status(&server.base, 200, Duration::from_secs(30)).await,
        "ready once the disk is fast again ({figures})"
    );
}

// ---------------------------------------------------------------------
// 3. kill -9 while the outbox delivers.

/// The outbox's message id of a delivered mail (`Message-ID: <id@domain>`).
fn message_id(mail: &ReceivedMail) -> String {
    let header = ReceivedMail::header(&mail.data, "Message-ID").unwrap_or_default();
    let id = header.trim().trim_matches(['<', '>']);
    id.rsplit_once('@').map_or(id, |(id, _)| id).to_owned()
}

#[tokio::test]
async fn notifications_in_flight_when_the_server_is_killed_are_delivered_at_least_once() {
    let dir = tempfile::TempDir::new().unwrap();
    let url = fresh_database(&dir).await;
    let sink = SmtpSink::start().await;
    // A slow relay: it keeps each message at once but takes its time to
    // say so, so a kill catches messages taken but not yet recorded sent.
    sink.answer_after(Duration::from_millis(150));
    let mailing = |c: &mut std::process::Command| {
        c.env("ENVAGIN_DATABASE_URL", &url)
            .env("ENVAGIN_DATA_DIR", dir.path())
            .env("ENVAGIN_SMTP_URL", sink.url())
            .env("ENVAGIN_OUTBOX_POLL_MS", "50")
            .env("ENVAGIN_OUTBOX_LEASE_SECS", "2")
            .env("ENVAGIN_OUTBOX_RETRY_BASE_SECS", "0");
    };
    let server = Server::spawn(mailing).await;
    let stop = Arc::new(AtomicBool::new(false));
    let clients = tokio::spawn(load(
        server.base.clone(),
        "outbox".into(),
        4,
        stop.clone(),
        true,
    ));
    // Killed once deliveries are well under way and submissions go on.
    let deadline = Instant::now() + Duration::from_secs(30);
    while sink.messages().len() < 8 {
        assert!(Instant::now() < deadline, "deliveries began");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let delivered_before_kill = sink.messages().len();
    server.kill();
    stop.store(true, Ordering::SeqCst);
    let submissions = clients.await.unwrap();

    // The relay is quicker now, so that the backlog the load left is
    // delivered within the test's time.
    sink.answer_after(Duration::from_millis(5));
    let restarted = Server::spawn(mailing).await;
    let figures = check_promise(
        "kill -9 during outbox delivery",
        &restarted.base,
        &url,
        &submissions,
        false,
    )
    .await;
    // Every message the outbox holds is delivered, and marked sent.
    let db = Database::connect(url.as_str()).await.unwrap();
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT message_id FROM notifications",
        ))
        .await
        .unwrap();
    let expected: Vec<String> = rows
        .iter()
        .map(|r| r.try_get::<String>("", "message_id").unwrap())
        .collect();
    // Waits while deliveries go on (a busy CI machine delivers slowly),
    // and gives up once none has arrived for a while: what is missing then
    // is lost.
    let mut last_progress = (0, Instant::now());
    let (mails, missing) = loop {
        let mails = sink.messages();
        if mails.len() > last_progress.0 {
            last_progress = (mails.len(), Instant::now());
        }
        let mut delivered: BTreeMap<String, usize> = BTreeMap::new();
        for mail in &mails {
            *delivered.entry(message_id(mail)).or_default() += 1;
        }
        let missing: Vec<&String> = expected
            .iter()
            .filter(|id| !delivered.contains_key(id.as_str()))
            .collect();
        let unsent = scalar(
            &url,
            "SELECT COUNT(*) AS n FROM notifications WHERE state <> 'SENT'",
        )
        .await;
        let stalled = last_progress.1.elapsed() > Duration::from_secs(20);
        if (missing.is_empty() && unsent == 0) || stalled {
            break (delivered, missing.len());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let sent = mails.values().sum::<usize>();
    let duplicated = mails.values().filter(|n| **n > 1).count();
    let report = format!(
        "{} notifications in the outbox, {} distinct delivered ({sent} deliveries, \
         {duplicated} delivered more than once, {} extra copies), {missing} lost; \
         {delivered_before_kill} delivered before the kill; requests: {figures}",
        expected.len(),
        mails.len(),
        sent - mails.len(),
    );
    eprintln!("kill -9 during outbox delivery: {report}");
    assert_eq!(missing, 0, "every notification delivered: {report}");
    assert_eq!(
        scalar(
            &url,
            "SELECT COUNT(*) AS n FROM notifications WHERE state <> 'SENT'"
        )
        .await,
        0,
        "every notification recorded sent: {report}"
    );
    assert!(
        expected.len() > delivered_before_kill,
        "the kill left deliveries to do: {report}"
    );
    // Each acknowledged request's receipt is among them.
    for s in &submissions {
        if let Outcome::Acknowledged { reference, .. } = &s.outcome {
            assert!(
                sink.messages()
                    .iter()
                    .any(|m| m.data.contains(reference.as_str())),
                "the receipt of {reference} was lost: {report}"
            );
        }
    }
}

// ---------------------------------------------------------------------
// 4. kill -9 during start-up and migration.

const CATALOGUE: &str = r#"{ catalogue {
    administrations { code nameSv confidential queues { code } categories { code } }
    categories { code nameSv administration queue defaultPriority ackDueDays resolveDueDays confidential referralAuthority }
} }"#;

#[tokio::test]
async fn a_server_killed_while_it_migrates_a_new_database_starts_whole_the_next_time() {
    let defined = <migrations::Migrator as migrations::MigratorTrait>::migrations().len() as i64;
    let mut reference_catalogue: Option<Value> = None;
    let killed_after = Arc::new(Mutex::new(Vec::new()));
    for delay_ms in [0_u64, 15, 30, 50, 150, 400] {
        let dir = tempfile::TempDir::new().unwrap();
        let url = fresh_database(&dir).await;
        let configure = |c: &mut std::process::Command| {
            c.env("ENVAGIN_DATABASE_URL", &url)
                .env("ENVAGIN_DATA_DIR", dir.path());
        };
        let doomed = Server::launch(configure);
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        doomed.kill();
        let applied_at_kill = if on_postgres() || dir.path().join("test.db").exists() {
            let n = Database::connect(url.as_str())
                .await
                .ok()
                .map(|db| async move {
                    db.query_one_raw(Statement::from_string(
                        db.get_database_backend(),
                        "SELECT COUNT(*) AS n FROM seaql_migrations",
                    ))
                    .await
                    .ok()
                    .flatten()
                    .and_then(|row| row.try_get::<i64>("", "n").ok())
                });
            match n {
                Some(n) => n.await,
                None => None,
            }
        } else {
            None
        };
        killed_after
            .lock()
            .unwrap()
            .push(format!("{delay_ms} ms: {applied_at_kill:?} migrations"));

        let server = Server::spawn(configure).await;
        let applied = scalar(&url, "SELECT COUNT(*) AS n FROM seaql_migrations").await;
        let distinct = scalar(
            &url,
            "SELECT COUNT(DISTINCT version) AS n FROM seaql_migrations",
        )
        .await;
        assert_eq!(
            (applied, distinct),
            (defined, defined),
            "killed after {delay_ms} ms: each of the {defined} migrations recorded once"
        );
        let catalogue = server.gql(CATALOGUE, json!({})).await;
        assert!(catalogue["errors"].is_null(), "{catalogue}");
        let categories = catalogue["data"]["catalogue"]["categories"]
            .as_array()
            .map_or(0, Vec::len);
        let administrations = catalogue["data"]["catalogue"]["administrations"]
            .as_array()
            .map_or(0, Vec::len);
        match &reference_catalogue {
            None => {
                assert!(
                    administrations >= 9 && categories >= 30,
                    "the sample catalogue: {administrations} administrations, {categories} categories"
                );
                reference_catalogue = Some(catalogue.clone());
            }
            Some(whole) => assert_eq!(
                &catalogue, whole,
                "killed after {delay_ms} ms: the catalogue is whole"
            ),
        }
        let catalogue_rows = scalar(&url, "SELECT COUNT(*) AS n FROM catalogue_documents").await;
        assert!(
            catalogue_rows >= 1,
            "killed after {delay_ms} ms: a catalogue installed"
        );
        let http = http();
        let marker = format!("migrated-{delay_ms}");
        let Outcome::Acknowledged {
            reference,
            tracking_code,
            history,
        } = submit_keyed(&http, &server.base, &marker, None).await
        else {
            panic!("killed after {delay_ms} ms: the restarted server takes submissions");
        };
        let answer = lookup(&http, &server.base, &reference, &tracking_code).await;
        assert_eq!(answer["data"]["request"]["history"], history, "{answer}");
        eprintln!(
            "kill -9 during migration after {delay_ms} ms ({applied_at_kill:?} of {defined} \
             migrations recorded at the kill): restarted with {applied} migrations, \
             {administrations} administrations, {categories} categories, {reference} stored"
        );
    }
    eprintln!(
        "kill -9 during migration: {}",
        killed_after.lock().unwrap().join("; ")
    );
}
