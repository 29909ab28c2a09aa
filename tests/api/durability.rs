//! The service holds: a process killed mid-load loses nothing it
//! acknowledged and leaves nothing half-written, a stop on SIGTERM is
//! graceful, and a database that goes away and comes back is survived
//! without a restart.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::{Value, json};

use crate::live::{connect_to, next, subscribe};
use crate::restart::Server;
use crate::support::{LOOKUP, SUBMIT, TEST_JWT_SECRET, fresh_database};

const TEXTS: [&str; 4] = [
    "Gatlampan utanför Storgatan 12 är trasig",
    "Soptunnan har inte tömts på två veckor",
    "Stort hål i vägen på Kungsgatan",
    "Det luktar mögel i lägenheten",
];

async fn start(url: &str, dir: &std::path::Path) -> Server {
    Server::spawn(|c| {
        c.env("ENVAGIN_DATABASE_URL", url)
            .env("ENVAGIN_DATA_DIR", dir)
            .env("ENVAGIN_JWT_SECRET", TEST_JWT_SECRET);
    })
    .await
}

/// Submissions from `clients` loops until `stop`; returns every
/// acknowledged (reference, tracking code).
async fn submit_until(
    base: String,
    clients: usize,
    stop: Arc<AtomicBool>,
) -> Vec<(String, String)> {
    let loops = (0..clients).map(|client| {
        let (base, stop) = (base.clone(), stop.clone());
        tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut acknowledged = Vec::new();
            let mut i = 0;
            while !stop.load(Ordering::SeqCst) {
                i += 1;
                let input = json!({ "input": { "description": format!("{} ({client}-{i})", TEXTS[i % 4]) } });
                let answer = http
                    .post(format!("{base}/graphql"))
                    .json(&json!({ "query": SUBMIT, "variables": input }))
                    .send()
                    .await;
                let Ok(answer) = answer else { break };
                let Ok(answer) = answer.json::<Value>().await else { break };
                let payload = &answer["data"]["submitRequest"];
                if let (Some(r), Some(t)) = (
                    payload["request"]["reference"].as_str(),
                    payload["trackingCode"].as_str(),
                ) {
                    acknowledged.push((r.to_owned(), t.to_owned()));
                }
            }
            acknowledged
        })
    });
    futures_util::future::join_all(loops)
        .await
        .into_iter()
        .flat_map(|r| r.unwrap())
        .collect()
}

async fn scalar(url: &str, sql: &str) -> i64 {
    let db = Database::connect(url).await.unwrap();
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap();
    row.try_get("", "n").unwrap()
}

#[tokio::test]
async fn a_server_killed_under_load_keeps_every_acknowledged_request_whole() {
    let dir = tempfile::TempDir::new().unwrap();
    let url = fresh_database(&dir).await;
    let server = start(&url, dir.path()).await;
    let stop = Arc::new(AtomicBool::new(false));
    let load = tokio::spawn(submit_until(server.base.clone(), 8, stop.clone()));
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    server.kill();
    stop.store(true, Ordering::SeqCst);
    let acknowledged = load.await.unwrap();
    assert!(
        acknowledged.len() > 10,
        "the load ran: {}",
        acknowledged.len()
    );

    let restarted = start(&url, dir.path()).await;
    for (reference, tracking_code) in &acknowledged {
        let answer = restarted
            .gql(
                LOOKUP,
                json!({ "reference": reference, "trackingCode": tracking_code }),
            )
            .await;
        let history = answer["data"]["request"]["history"].as_array();
        assert!(
            history.is_some_and(|h| h.len() >= 2),
            "{reference} was acknowledged but is not whole after the crash: {answer}"
        );
    }
    let half_written = scalar(
        &url,
        "SELECT COUNT(*) AS n FROM requests r WHERE (SELECT COUNT(*) FROM request_events e WHERE e.request_id = r.id) < 2",
    )
    .await;
    assert_eq!(half_written, 0, "a request without its first events");
}

#[tokio::test]
async fn a_server_killed_during_claims_leaves_each_request_claimed_once_or_still_queued() {
    let dir = tempfile::TempDir::new().unwrap();
    let url = fresh_database(&dir).await;
    let server = start(&url, dir.path()).await;
    for i in 0..150 {
        server
            .gql(SUBMIT, json!({ "input": { "description": format!("{} ({i})", TEXTS[0]), "categoryHint": "street_lighting" } }))
            .await;
    }
    let queued_before = scalar(
        &url,
        "SELECT COUNT(*) AS n FROM requests WHERE status = 'QUEUED'",
    )
    .await;
    let stop = Arc::new(AtomicBool::new(false));
    let handlers = (0..8).map(|h| {
        let (base, stop) = (server.base.clone(), stop.clone());
        tokio::spawn(async move {
            let token = crate::replicas::token(&format!("tf-{h}"), &["handler"], &["TF"]);
            let http = reqwest::Client::new();
            let mut claimed = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                let Ok(answer) = http
                    .post(format!("{base}/graphql"))
                    .bearer_auth(&token)
                    .json(&json!({ "query": "mutation { claimNextRequest(queue: \"TF\") { reference } }" }))
                    .send()
                    .await
                else {
                    break;
                };
                let Ok(answer) = answer.json::<Value>().await else { break };
                match answer["data"]["claimNextRequest"]["reference"].as_str() {
                    Some(reference) => claimed.push((reference.to_owned(), format!("tf-{h}"))),
                    None => break,
                }
            }
            claimed
        })
    });
    let handlers: Vec<_> = handlers.collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.kill();
    stop.store(true, Ordering::SeqCst);
    let mut acknowledged = Vec::new();
    for h in handlers {
        acknowledged.extend(h.await.unwrap());
    }

    let _restarted = start(&url, dir.path()).await;
    let db = Database::connect(url.as_str()).await.unwrap();
    for (reference, handler) in &acknowledged {
        let row = db
            .query_one_raw(Statement::from_sql_and_values(
                db.get_database_backend(),
                match db.get_database_backend() {
                    sea_orm::DbBackend::Postgres => {
                        "SELECT status, assignee_sub FROM requests WHERE reference = $1"
                    }
                    _ => "SELECT status, assignee_sub FROM requests WHERE reference = ?",
                },
                [reference.clone().into()],
            ))
            .await
            .unwrap()
            .expect("the claimed request is there");
        let status: String = row.try_get("", "status").unwrap();
        let assignee: Option<String> = row.try_get("", "assignee_sub").unwrap();
        assert_eq!(
            (status.as_str(), assignee.as_deref()),
            ("IN_PROGRESS", Some(handler.as_str()))
        );
    }
    let total = scalar(&url, "SELECT COUNT(*) AS n FROM requests").await;
    let queued = scalar(
        &url,
        "SELECT COUNT(*) AS n FROM requests WHERE status = 'QUEUED'",
    )
    .await;
    let in_progress = scalar(
        &url,
        "SELECT COUNT(*) AS n FROM requests WHERE status = 'IN_PROGRESS'",
    )
    .await;
    assert_eq!(total, 150, "none gone");
    assert_eq!(
        queued + in_progress,
        queued_before,
        "each still queued or claimed"
    );
    assert!(
        in_progress >= acknowledged.len() as i64,
        "every acknowledged claim held"
    );
    let claim_events = scalar(
        &url,
        "SELECT COUNT(*) AS n FROM request_events WHERE kind = 'CLAIMED'",
    )
    .await;
    assert_eq!(
        claim_events, in_progress,
        "one claim event per claimed request, none doubled"
    );
}

#[tokio::test]
async fn sigterm_finishes_requests_in_flight_ends_subscriptions_and_exits_zero() {
    let dir = tempfile::TempDir::new().unwrap();
    let url = fresh_database(&dir).await;
    let server = start(&url, dir.path()).await;
    let first = server
        .gql(SUBMIT, json!({ "input": { "description": TEXTS[0] } }))
        .await;
    let payload = &first["data"]["submitRequest"];
    let ws = format!("{}/graphql/ws", server.base.replace("http://", "ws://"));
    let mut socket = connect_to(&ws, json!({})).await.unwrap();
    subscribe(
        &mut socket,
        json!({ "r": payload["request"]["reference"], "t": payload["trackingCode"] }),
    )
    .await;

    let stop = Arc::new(AtomicBool::new(false));
    let load = tokio::spawn(submit_until(server.base.clone(), 8, stop.clone()));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let base = server.base.clone();
    let started = Instant::now();
    let status = server.terminate(Duration::from_secs(30)).await;
    stop.store(true, Ordering::SeqCst);
    assert!(status.success(), "exit status {status:?}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "stopped within the grace period"
    );

    // The subscriber was told the subscription is complete, then the
    // connection closed.
    let farewell = next(&mut socket).await;
    assert!(
        farewell.is_none() || farewell.as_ref().is_some_and(|m| m["type"] == "complete"),
        "{farewell:?}"
    );
    assert!(
        reqwest::get(format!("{base}/health")).await.is_err(),
        "no longer accepting"
    );

    let acknowledged = load.await.unwrap();
    let restarted = start(&url, dir.path()).await;
    for (reference, tracking_code) in &acknowledged {
        let answer = restarted
            .gql(
                LOOKUP,
                json!({ "reference": reference, "trackingCode": tracking_code }),
            )
            .await;
        assert!(
            answer["data"]["request"]["reference"].is_string(),
            "{reference}: {answer}"
        );
    }
}

/// A PostgreSQL cluster of the test's own, which it may stop and start.
pub(crate) struct OwnPostgres {
    bin: std::path::PathBuf,
    data: std::path::PathBuf,
    port: u16,
    _dir: tempfile::TempDir,
}

impl OwnPostgres {
    /// `None` where PostgreSQL is not installed (the suite then runs on
    /// SQLite only).
    pub(crate) fn start() -> Option<Self> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .find(|b| b.join("pg_ctl").exists())?;
        let dir = tempfile::TempDir::new().ok()?;
        let data = dir.path().join("data");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let pg = Self {
            bin,
            data,
            port,
            _dir: dir,
        };
        as_postgres(
            &[
                "chown",
                "-R",
                "postgres",
                &pg._dir.path().display().to_string(),
            ],
            true,
        );
        pg.run(
            "initdb",
            &[
                "-D",
                &pg.data.display().to_string(),
                "-U",
                "postgres",
                "--auth=trust",
            ],
        );
        pg.ctl("start");
        Some(pg)
    }

    pub(crate) fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    pub(crate) fn ctl(&self, action: &str) {
        self.ctl_mode(action, "immediate");
    }

    /// `pg_ctl action` with shutdown mode `mode` (`fast`, `immediate`)
    /// for `stop` and `restart`.
    pub(crate) fn ctl_mode(&self, action: &str, mode: &str) {
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {}",
            self.port,
            self.data.display()
        );
        let data = self.data.display().to_string();
        let mut args = vec!["-D", data.as_str(), "-w", "-m", mode, action];
        if action == "start" || action == "restart" {
            args.extend(["-o", options.as_str(), "-l"]);
            let log = format!("{}.log", data);
            self.run("pg_ctl", &[args.as_slice(), &[log.as_str()]].concat());
        } else {
            self.run("pg_ctl", &args);
        }
    }

    fn run(&self, program: &str, args: &[&str]) {
        let program = self.bin.join(program).display().to_string();
        let command: Vec<&str> = std::iter::once(program.as_str())
            .chain(args.iter().copied())
            .collect();
        as_postgres(&command, false);
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        self.ctl("stop");
    }
}

/// Runs a command as the `postgres` user when we are root (PostgreSQL
/// refuses to run as root), else as ourselves.
fn as_postgres(command: &[&str], root_only: bool) {
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout == b"0\n")
        .unwrap_or(false);
    let status = if root && !root_only {
        std::process::Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .args(command)
            .stdout(std::process::Stdio::null())
            .status()
    } else if root || !root_only {
        std::process::Command::new(command[0])
            .args(&command[1..])
            .stdout(std::process::Stdio::null())
            .status()
    } else {
        return;
    };
    assert!(status.is_ok_and(|s| s.success()), "{command:?} failed");
}

#[tokio::test]
async fn requests_fail_fast_while_postgresql_is_down_and_work_again_when_it_is_back() {
    // Only where the suite runs on PostgreSQL (CI's second pass).
    if std::env::var("ENVAGIN_TEST_DATABASE_URL").map_or(true, |u| u.is_empty()) {
        return;
    }
    let Some(pg) = OwnPostgres::start() else {
        return;
    };
    let dir = tempfile::TempDir::new().unwrap();
    let server = Server::spawn(|c| {
        c.env("ENVAGIN_DATABASE_URL", pg.url())
            .env("ENVAGIN_DATA_DIR", dir.path())
            .env("ENVAGIN_DB_ACQUIRE_TIMEOUT_SECS", "2");
    })
    .await;
    let submit = || server.gql(SUBMIT, json!({ "input": { "description": TEXTS[1] } }));
    assert!(submit().await["data"]["submitRequest"]["request"]["reference"].is_string());

    pg.ctl("stop");
    let started = Instant::now();
    let answer = submit().await;
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "failed fast: {:?}",
        started.elapsed()
    );
    assert_eq!(
        answer["errors"][0]["extensions"]["code"], "INTERNAL",
        "{answer}"
    );
    assert!(
        !answer.to_string().contains("postgres"),
        "no internals leak: {answer}"
    );
    let ready = reqwest::get(format!("{}/ready", server.base))
        .await
        .unwrap();
    assert_eq!(ready.status(), 503);
    assert_eq!(
        reqwest::get(format!("{}/health", server.base))
            .await
            .unwrap()
            .status(),
        200
    );

    pg.ctl("start");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let answer = submit().await;
        if answer["data"]["submitRequest"]["request"]["reference"].is_string() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not back after PostgreSQL returned: {answer}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let ready = reqwest::get(format!("{}/ready", server.base))
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
}
