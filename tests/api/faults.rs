//! Faults of the machine under the service (issue 15): the SQLite data
//! directory on a filesystem that fills up. What the service acknowledged
//! it keeps, what it refused it does not, once space is freed it takes
//! requests again without a restart, and no reference is handed out twice.
//!
//! The test mounts a small tmpfs of its own and so needs root; elsewhere it
//! says so and passes, unless `ENVAGIN_FAULT_TESTS=required`. It applies to
//! SQLite only: with `ENVAGIN_TEST_DATABASE_URL` set (PostgreSQL) it returns.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::{Value, json};

use crate::restart::Server;
use crate::support::{LOOKUP, SUBMIT};

/// Size of the filesystem under the data directory. A fresh database with
/// the catalogue and the knowledge base (db, WAL and shm) takes about
/// 1.2 MiB; the rest is room for the ballast that fills it up on cue, and
/// once that is gone, for all the test writes after.
const TMPFS_MIB: u64 = 16;

/// Free space left beside the ballast when the load starts: a few dozen
/// submissions' worth.
const HEADROOM_BYTES: u64 = 512 * 1024;

/// Concurrent submitters, so that group commits hold several submissions.
const CLIENTS: usize = 12;

/// Submissions sent after the first refusal, with the disk still full.
const AFTER_FIRST_REFUSAL: usize = 200;

/// Most submissions while the disk fills, should it never fill.
const FILL_CAP: usize = 4_000;

/// Submissions once the space is freed again.
const AFTER_FREEING: usize = 96;

/// ~8,000 characters: well under the 10,000 a description may have.
fn long_description(marker: &str) -> String {
    let sentence = "Vattenläckan vid Storgatan 12 har vuxit och vattnet rinner nu ut över \
                    trottoaren och ner i källaren på nummer 14. ";
    format!(
        "{marker} {}",
        sentence.repeat(8_000 / sentence.chars().count())
    )
}

/// A tmpfs of `size_mib` on a temporary directory, unmounted on drop, also
/// when the test panics.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size_mib: u64) -> Result<Self, String> {
        let dir = tempfile::TempDir::new().map_err(|e| e.to_string())?;
        let output = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size_mib}m,mode=0700")])
            .arg("envagin-faults")
            .arg(dir.path())
            .output()
            .map_err(|e| format!("mount: {e}"))?;
        if !output.status.success() {
            return Err(String::from_utf8_lossy(&output.stderr).trim().to_owned());
        }
        Ok(Self { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let unmounted = Command::new("umount")
            .arg(self.dir.path())
            .status()
            .is_ok_and(|s| s.success());
        if !unmounted {
            // Still busy (a server that would not die): detach it lazily.
            Command::new("umount")
                .arg("-l")
                .arg(self.dir.path())
                .status()
                .ok();
        }
    }
}

/// Fills the filesystem of `path` with one file until no space is left,
/// then gives `leave` bytes of it back. Returns the file's size.
fn fill_leaving(path: &Path, leave: u64) -> u64 {
    let mut file = std::fs::File::create(path).expect("ballast file");
    let chunk = vec![0x5a_u8; 64 * 1024];
    let mut written = 0_u64;
    loop {
        match file.write(&chunk) {
            Ok(0) => break,
            Ok(n) => written += n as u64,
            Err(e) if e.kind() == std::io::ErrorKind::StorageFull => break,
            Err(e) => panic!("writing the ballast: {e}"),
        }
    }
    let size = written.saturating_sub(leave);
    file.set_len(size).expect("ballast shrunk");
    size
}

fn files_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// What the service answered one submission.
#[derive(Debug, Clone)]
enum Outcome {
    /// Answered without errors, with a reference and tracking code.
    Acknowledged {
        marker: String,
        reference: String,
        tracking_code: String,
    },
    /// Answered with an error (and so, by the promise, not stored).
    Refused { marker: String, code: String },
    /// No answer (transport error, timeout): may or may not be stored.
    Unanswered,
}

async fn submit(http: &reqwest::Client, base: &str, marker: &str) -> Outcome {
    let input = json!({ "input": { "description": long_description(marker) } });
    let answer = http
        .post(format!("{base}/graphql"))
        .json(&json!({ "query": SUBMIT, "variables": input }))
        .send()
        .await;
    let Ok(answer) = answer else {
        return Outcome::Unanswered;
    };
    let Ok(answer) = answer.json::<Value>().await else {
        return Outcome::Unanswered;
    };
    let payload = &answer["data"]["submitRequest"];
    match (
        answer["errors"].is_null(),
        payload["request"]["reference"].as_str(),
        payload["trackingCode"].as_str(),
    ) {
        (true, Some(reference), Some(tracking_code)) => Outcome::Acknowledged {
            marker: marker.to_owned(),
            reference: reference.to_owned(),
            tracking_code: tracking_code.to_owned(),
        },
        _ => Outcome::Refused {
            marker: marker.to_owned(),
            code: answer["errors"][0]["extensions"]["code"]
                .as_str()
                .unwrap_or("(no code)")
                .to_owned(),
        },
    }
}

/// When a load stops.
struct Limit {
    max: usize,
    /// Stop this many submissions after the first refusal.
    after_refusal: Option<usize>,
    deadline: Instant,
}

/// `clients` concurrent submitters until `limit`; every outcome, in the
/// order the submissions were numbered, and how many of them were
/// acknowledged after the first one refused.
async fn load(base: &str, phase: &str, clients: usize, limit: Limit) -> (Vec<Outcome>, usize) {
    let sent = Arc::new(AtomicUsize::new(0));
    let first_refused = Arc::new(AtomicUsize::new(usize::MAX));
    let outcomes = Arc::new(Mutex::new(BTreeMap::new()));
    let limit = Arc::new(limit);
    let tasks = (0..clients).map(|client| {
        let (base, phase) = (base.to_owned(), phase.to_owned());
        let (sent, first_refused, outcomes, limit) = (
            sent.clone(),
            first_refused.clone(),
            outcomes.clone(),
            limit.clone(),
        );
        tokio::spawn(async move {
            let http = reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .expect("HTTP client");
            loop {
                let n = sent.fetch_add(1, Ordering::SeqCst);
                let refused_at = first_refused.load(Ordering::SeqCst);
                let enough_after_refusal = limit
                    .after_refusal
                    .is_some_and(|k| refused_at != usize::MAX && n >= refused_at + k);
                if n >= limit.max || enough_after_refusal || Instant::now() > limit.deadline {
                    break;
                }
                let outcome = submit(&http, &base, &format!("fault-{phase}-{client}-{n}")).await;
                if matches!(outcome, Outcome::Refused { .. }) {
                    first_refused.fetch_min(n, Ordering::SeqCst);
                }
                outcomes.lock().expect("outcomes").insert(n, outcome);
            }
        })
    });
    for task in futures_util::future::join_all(tasks).await {
        task.expect("submitter");
    }
    let outcomes = std::mem::take(&mut *outcomes.lock().expect("outcomes"));
    let first_refused = first_refused.load(Ordering::SeqCst);
    let acknowledged_after_refusal = outcomes
        .range(first_refused.saturating_add(1)..)
        .filter(|(_, o)| matches!(o, Outcome::Acknowledged { .. }))
        .count();
    (outcomes.into_values().collect(), acknowledged_after_refusal)
}

async fn ready_status(base: &str) -> Option<StatusCode> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("HTTP client")
        .get(format!("{base}/ready"))
        .send()
        .await
        .ok()
        .map(|r| r.status())
}

/// Each stored request's marker (the first word of its description) and
/// reference, read through a connection of the test's own.
async fn stored(url: &str) -> HashMap<String, String> {
    let db = Database::connect(url)
        .await
        .expect("a connection of our own");
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT reference, substr(description, 1, 48) AS head FROM requests",
        ))
        .await
        .expect("requests read");
    let mut stored = HashMap::new();
    for row in rows {
        let reference: String = row.try_get("", "reference").expect("reference");
        let head: String = row.try_get("", "head").expect("head");
        let marker = head.split_whitespace().next().unwrap_or_default();
        if marker.starts_with("fault-") {
            stored.insert(marker.to_owned(), reference);
        }
    }
    db.close().await.ok();
    stored
}

/// The acknowledged requests the resident's lookup does not find.
async fn not_found_by_lookup(base: &str, acknowledged: &[(String, String, String)]) -> Vec<String> {
    let chunks = acknowledged.chunks(acknowledged.len().div_ceil(8).max(1));
    let tasks = chunks.map(|chunk| {
        let (base, chunk) = (base.to_owned(), chunk.to_vec());
        tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut missing = Vec::new();
            for (_, reference, tracking_code) in chunk {
                let answer: Value = http
                    .post(format!("{base}/graphql"))
                    .json(&json!({ "query": LOOKUP, "variables": { "reference": reference, "trackingCode": tracking_code } }))
                    .send()
                    .await
                    .expect("lookup sent")
                    .json()
                    .await
                    .expect("lookup answered");
                if answer["data"]["request"]["reference"] != reference.as_str() {
                    missing.push(reference);
                }
            }
            missing
        })
    });
    futures_util::future::join_all(tasks)
        .await
        .into_iter()
        .flat_map(|t| t.expect("lookups"))
        .collect()
}

/// (marker, reference, tracking code) of every acknowledged submission.
fn acknowledged(outcomes: &[Outcome]) -> Vec<(String, String, String)> {
    outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Acknowledged {
                marker,
                reference,
                tracking_code,
            } => Some((marker.clone(), reference.clone(), tracking_code.clone())),
            _ => None,
        })
        .collect()
}

fn refused(outcomes: &[Outcome]) -> Vec<(String, String)> {
    outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Refused { marker, code } => Some((marker.clone(), code.clone())),
            _ => None,
        })
        .collect()
}

fn unanswered(outcomes: &[Outcome]) -> usize {
    outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Unanswered))
        .count()
}

/// What one check of the database and the lookup found.
struct Check {
    missing_in_db: Vec<String>,
    wrong_reference_in_db: Vec<String>,
    missing_by_lookup: Vec<String>,
    refused_but_stored: Vec<String>,
}

async fn check(
    base: &str,
    url: &str,
    acknowledged: &[(String, String, String)],
    refused: &[(String, String)],
) -> Check {
    let stored = stored(url).await;
    let mut missing_in_db = Vec::new();
    let mut wrong_reference_in_db = Vec::new();
    for (marker, reference, _) in acknowledged {
        match stored.get(marker) {
            None => missing_in_db.push(reference.clone()),
            Some(r) if r != reference => {
                wrong_reference_in_db.push(format!("{marker}: answered {reference}, stored {r}"))
            }
            Some(_) => {}
        }
    }
    Check {
        missing_in_db,
        wrong_reference_in_db,
        missing_by_lookup: not_found_by_lookup(base, acknowledged).await,
        refused_but_stored: refused
            .iter()
            .filter(|(marker, _)| stored.contains_key(marker))
            .map(|(marker, _)| marker.clone())
            .collect(),
    }
}

impl Check {
    fn report(&self, when: &str, acknowledged: usize, refused: usize) {
        eprintln!(
            "faults: {when}: acknowledged {acknowledged}, found in the database {}, found by lookup {}, stored under another reference {}; refused {refused}, of them stored {}",
            acknowledged - self.missing_in_db.len(),
            acknowledged - self.missing_by_lookup.len(),
            self.wrong_reference_in_db.len(),
            self.refused_but_stored.len(),
        );
    }

    fn violations(&self, when: &str, violations: &mut Vec<String>) {
        let sample = |v: &[String]| v.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
        if !self.missing_in_db.is_empty() {
            violations.push(format!(
                "{when}: {} acknowledged requests are not in the database (e.g. {})",
                self.missing_in_db.len(),
                sample(&self.missing_in_db)
            ));
        }
        if !self.wrong_reference_in_db.is_empty() {
            violations.push(format!(
                "{when}: {} acknowledged requests are stored under another reference (e.g. {})",
                self.wrong_reference_in_db.len(),
                sample(&self.wrong_reference_in_db)
            ));
        }
        if !self.missing_by_lookup.is_empty() {
            violations.push(format!(
                "{when}: {} acknowledged requests are not found by reference and tracking code (e.g. {})",
                self.missing_by_lookup.len(),
                sample(&self.missing_by_lookup)
            ));
        }
        if !self.refused_but_stored.is_empty() {
            violations.push(format!(
                "{when}: {} refused requests are stored all the same (e.g. {})",
                self.refused_but_stored.len(),
                sample(&self.refused_but_stored)
            ));
        }
    }
}

/// Errors and warnings of the server's log, counted by message.
fn log_summary(path: &Path) -> Vec<(usize, String)> {
    let Ok(file) = std::fs::File::open(path) else {
        return Vec::new();
    };
    let mut counts: HashMap<String, usize> = HashMap::new();
    for line in std::io::BufReader::new(file).lines().map_while(Result::ok) {
        let line = without_colours(&line);
        let Some(at) = line.find(" ERROR ").or_else(|| line.find(" WARN ")) else {
            continue;
        };
        // Without the timestamp, and without what differs per line (the
        // long numbers); short ones such as SQLite's codes stay.
        let message = long_numbers_masked(&line[at..]);
        *counts
            .entry(message.chars().take(300).collect())
            .or_default() += 1;
    }
    let mut summary: Vec<_> = counts.into_iter().map(|(m, n)| (n, m)).collect();
    summary.sort_by(|a, b| b.cmp(a));
    summary
}

/// `text` with every run of more than two digits as `#`.
fn long_numbers_masked(text: &str) -> String {
    let mut masked = String::with_capacity(text.len());
    let mut digits = String::new();
    for c in text.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        if digits.len() > 2 {
            masked.push('#');
        } else {
            masked.push_str(&digits);
        }
        digits.clear();
        masked.push(c);
    }
    masked.pop();
    masked
}

/// `line` without its ANSI colour sequences.
fn without_colours(line: &str) -> String {
    let mut plain = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            chars.by_ref().find(|c| c.is_ascii_alphabetic());
        } else {
            plain.push(c);
        }
    }
    plain
}

async fn start(url: &str, data_dir: &Path, log: &Path) -> Server {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("server log");
    Server::spawn(|c| {
        c.env("ENVAGIN_DATABASE_URL", url)
            .env("ENVAGIN_DATA_DIR", data_dir)
            // Lost requests are lookups that fail: not to be taken for an
            // enumeration attempt.
            .env("ENVAGIN_LOOKUP_MAX_FAILURES", "1000000")
            .stdout(log.try_clone().expect("server log"))
            .stderr(log);
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_requests_survive_a_full_disk_and_the_service_recovers_when_space_is_freed() {
    if std::env::var("ENVAGIN_TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty()) {
        return;
    }
    let started = Instant::now();
    let disk = match Tmpfs::mount(TMPFS_MIB) {
        Ok(disk) => disk,
        Err(e) if std::env::var("ENVAGIN_FAULT_TESTS").as_deref() != Ok("required") => {
            eprintln!("faults: skipped, no small filesystem of our own to fill ({e})");
            return;
        }
        Err(e) => panic!("ENVAGIN_FAULT_TESTS=required, but no tmpfs could be mounted: {e}"),
    };
    let logs = tempfile::TempDir::new().expect("log dir");
    let log = logs.path().join("server.log");
    let data: PathBuf = disk.path().to_owned();
    let url = format!("sqlite://{}?mode=rwc", data.join("test.db").display());
    let server = start(&url, &data, &log).await;
    eprintln!(
        "faults: started on a {TMPFS_MIB} MiB tmpfs; the fresh database takes {} KiB",
        files_size(&data) / 1024
    );

    // The disk fills: ballast leaves a little room, the load takes it.
    let ballast = data.join("ballast");
    let ballast_size = fill_leaving(&ballast, HEADROOM_BYTES);
    eprintln!(
        "faults: ballast of {} KiB leaves {} KiB free",
        ballast_size / 1024,
        HEADROOM_BYTES / 1024
    );
    let (filling, acknowledged_after_first_refusal) = load(
        &server.base,
        "a",
        CLIENTS,
        Limit {
            max: FILL_CAP,
            after_refusal: Some(AFTER_FIRST_REFUSAL),
            deadline: Instant::now() + Duration::from_secs(300),
        },
    )
    .await;
    let ready_while_full = ready_status(&server.base).await;
    let refused_filling = refused(&filling);
    let mut codes: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, code) in &refused_filling {
        *codes.entry(code.as_str()).or_default() += 1;
    }
    let acknowledged_filling = acknowledged(&filling);
    eprintln!(
        "faults: disk filling: sent {}, acknowledged {} ({} of them after the first refusal), refused {} {codes:?}, unanswered {}; /ready then: {ready_while_full:?}",
        filling.len(),
        acknowledged_filling.len(),
        acknowledged_after_first_refusal,
        refused_filling.len(),
        unanswered(&filling),
    );

    // Space is freed: the service takes requests again, without a restart.
    std::fs::remove_file(&ballast).expect("ballast removed");
    let recovery_deadline = Instant::now() + Duration::from_secs(15);
    while ready_status(&server.base).await != Some(StatusCode::OK)
        && Instant::now() < recovery_deadline
    {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let ready_after_freeing = ready_status(&server.base).await;
    let (freed, _) = load(
        &server.base,
        "b",
        8,
        Limit {
            max: AFTER_FREEING,
            after_refusal: None,
            deadline: Instant::now() + Duration::from_secs(120),
        },
    )
    .await;
    let acknowledged_freed = acknowledged(&freed);
    let refused_freed = refused(&freed);
    eprintln!(
        "faults: space freed: /ready {ready_after_freeing:?}; sent {}, acknowledged {}, refused {}, unanswered {}",
        freed.len(),
        acknowledged_freed.len(),
        refused_freed.len(),
        unanswered(&freed),
    );

    let all_acknowledged: Vec<_> = acknowledged_filling
        .iter()
        .chain(&acknowledged_freed)
        .cloned()
        .collect();
    let all_refused: Vec<_> = refused_filling
        .iter()
        .chain(&refused_freed)
        .cloned()
        .collect();
    let live = check(&server.base, &url, &all_acknowledged, &all_refused).await;
    live.report("live server", all_acknowledged.len(), all_refused.len());

    // A restart on the same database.
    let stop = server.terminate(Duration::from_secs(60)).await;
    let restarted = start(&url, &data, &log).await;
    let after_restart = check(&restarted.base, &url, &all_acknowledged, &all_refused).await;
    after_restart.report("after a restart", all_acknowledged.len(), all_refused.len());
    let next = submit(&reqwest::Client::new(), &restarted.base, "fault-c-0-0").await;
    let handed_out: HashSet<&str> = all_acknowledged
        .iter()
        .map(|(_, reference, _)| reference.as_str())
        .collect();
    eprintln!(
        "faults: stopped on SIGTERM with {stop}; the first submission after the restart: {next:?}"
    );

    drop(restarted);
    eprintln!("faults: server log, errors and warnings by count:");
    for (count, message) in log_summary(&log).iter().take(12) {
        eprintln!("faults:   {count:>5} × {message}");
    }
    eprintln!("faults: took {:.1?}", started.elapsed());

    let mut violations = Vec::new();
    if refused_filling.is_empty() {
        violations.push(format!(
            "the disk never filled: no submission of {} refused",
            filling.len()
        ));
    }
    live.violations("on the live server", &mut violations);
    after_restart.violations("after a restart", &mut violations);
    if handed_out.len() != all_acknowledged.len() {
        violations.push(format!(
            "{} references were handed out more than once",
            all_acknowledged.len() - handed_out.len()
        ));
    }
    match &next {
        Outcome::Acknowledged { reference, .. } if handed_out.contains(reference.as_str()) => {
            violations.push(format!(
                "after the restart {reference} was handed out again"
            ));
        }
        Outcome::Acknowledged { .. } => {}
        other => violations.push(format!(
            "the first submission after the restart was not acknowledged: {other:?}"
        )),
    }
    if acknowledged_freed.len() != freed.len() {
        violations.push(format!(
            "once space was freed, {} of {} submissions were not acknowledged",
            freed.len() - acknowledged_freed.len(),
            freed.len()
        ));
    }
    if ready_while_full != Some(StatusCode::SERVICE_UNAVAILABLE) {
        violations.push(format!(
            "/ready answered {ready_while_full:?} while the writer could not commit, not 503"
        ));
    }
    if ready_after_freeing != Some(StatusCode::OK) {
        violations.push(format!(
            "/ready answered {ready_after_freeing:?} once space was freed, not 200"
        ));
    }
    assert!(
        violations.is_empty(),
        "a full disk (issue 15):\n  {}",
        violations.join("\n  ")
    );
}
