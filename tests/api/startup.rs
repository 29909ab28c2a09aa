//! Replicas starting at the same moment on a fresh PostgreSQL database:
//! every first-start write (migrations, catalogue, knowledge base) happens
//! once, no replica dies on a deadlock, and a transaction the database
//! aborts to break a deadlock is run again. (On SQLite there is one process
//! by design; these tests then have nothing to prove and return at once.)

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use envagin::store::{self, StoreError};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use tokio::sync::Barrier;

use crate::fault_injection::ready_status;
use crate::restart::Server;
use crate::support::{SUBMIT, TEST_JWT_SECRET, TEST_SEARCH_KEY, code, fresh_database};

fn on_postgres() -> bool {
    std::env::var("ENVAGIN_TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty())
}

/// Rounds of the start-up race; `ENVAGIN_TEST_STARTUP_ROUNDS` to try harder.
fn rounds() -> usize {
    std::env::var("ENVAGIN_TEST_STARTUP_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(20)
}

/// Starts one replica per entry of `catalogues` at the same moment on the
/// database `url`; an entry names the replica's catalogue file, or `None`
/// for the built-in sample. Each must become ready.
async fn start_together(
    url: &str,
    dir: &tempfile::TempDir,
    catalogues: &[Option<std::path::PathBuf>],
) -> Vec<Server> {
    let starts = catalogues.iter().enumerate().map(|(i, catalogue)| {
        let (url, data) = (url.to_owned(), dir.path().join(format!("replica-{i}")));
        let catalogue = catalogue.clone();
        Server::spawn(move |c| {
            on_database(c, &url, &data);
            if let Some(path) = catalogue {
                c.env("ENVAGIN_CATALOGUE", path);
            }
        })
    });
    futures_util::future::join_all(starts).await
}

/// A server on the database `url`, its data in `data`, with the tests'
/// secrets.
fn on_database(command: &mut std::process::Command, url: &str, data: &std::path::Path) {
    command
        .env("ENVAGIN_DATABASE_URL", url)
        .env("ENVAGIN_DATA_DIR", data)
        .env("ENVAGIN_JWT_SECRET", TEST_JWT_SECRET)
        .env("ENVAGIN_SEARCH_KEY", TEST_SEARCH_KEY);
}

async fn scalar(db: &DatabaseConnection, sql: &str) -> i64 {
    db.query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .expect("query")
        .expect("a row")
        .try_get_by_index(0)
        .expect("a number")
}

async fn text(db: &DatabaseConnection, sql: &str) -> String {
    db.query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .expect("query")
        .expect("a row")
        .try_get_by_index(0)
        .expect("a text")
}

#[tokio::test]
async fn five_replicas_starting_together_on_a_fresh_database_all_become_ready_every_time() {
    if !on_postgres() {
        return;
    }
    for round in 1..=rounds() {
        let dir = tempfile::TempDir::new().unwrap();
        let url = fresh_database(&dir).await;
        let replicas = start_together(&url, &dir, &[None, None, None, None, None]).await;
        assert_eq!(replicas.len(), 5);
        let db = Database::connect(url.as_str()).await.unwrap();
        assert_eq!(
            scalar(&db, "SELECT COUNT(*) FROM catalogue_documents").await,
            1,
            "round {round}: the sample catalogue recorded once"
        );
        assert_eq!(
            scalar(&db, "SELECT COUNT(*) FROM categories WHERE active").await,
            34,
            "round {round}: every category of the sample installed"
        );
        assert_eq!(
            scalar(&db, "SELECT COUNT(*) FROM articles").await,
            69,
            "round {round}: the sample knowledge base loaded once"
        );
        db.close().await.ok();
        drop(replicas);
    }
}

/// The sample catalogue with the street-lighting category renamed: a
/// different file whose every category still exists.
fn renamed_catalogue(dir: &tempfile::TempDir, name: &str) -> std::path::PathBuf {
    let sample = include_str!("../../src/assets/catalogue.toml");
    let original = r#"name = { sv = "Gatubelysning", en = "Street lighting" }"#;
    assert!(
        sample.contains(original),
        "the sample names street lighting"
    );
    let renamed = sample.replace(
        original,
        &format!(r#"name = {{ sv = "{name}", en = "Street lighting" }}"#),
    );
    let path = dir.path().join(format!("{name}.toml"));
    std::fs::write(&path, renamed).unwrap();
    path
}

#[tokio::test]
async fn replicas_given_different_catalogues_start_together_and_the_last_one_installed_is_in_force_whole()
 {
    if !on_postgres() {
        return;
    }
    for round in 1..=5 {
        let dir = tempfile::TempDir::new().unwrap();
        let url = fresh_database(&dir).await;
        let (a, b) = (
            renamed_catalogue(&dir, "Belysning A"),
            renamed_catalogue(&dir, "Belysning B"),
        );
        let replicas = start_together(&url, &dir, &[Some(a), Some(b.clone()), Some(b)]).await;
        assert_eq!(replicas.len(), 3, "every replica started");
        let db = Database::connect(url.as_str()).await.unwrap();
        // Each replica installs its file when it differs from the one the
        // replica before it left in force: A B B installs twice, B A B
        // three times.
        let installs = scalar(&db, "SELECT COUNT(*) FROM catalogue_documents").await;
        assert!(
            (2..=3).contains(&installs),
            "round {round}: {installs} installs, one after the other"
        );
        let in_force = text(
            &db,
            "SELECT source FROM catalogue_documents ORDER BY id DESC LIMIT 1",
        )
        .await;
        let expected_name = if in_force.ends_with("Belysning A.toml") {
            "Belysning A"
        } else {
            "Belysning B"
        };
        assert_eq!(
            text(
                &db,
                "SELECT name_sv FROM categories WHERE code = 'street_lighting'"
            )
            .await,
            expected_name,
            "round {round}: the code tables are those of the catalogue in force"
        );
        assert_eq!(
            scalar(&db, "SELECT COUNT(*) FROM categories WHERE active").await,
            34,
            "round {round}: no category left inactive by an interleaved install"
        );
        db.close().await.ok();
        drop(replicas);
    }
}

#[tokio::test]
async fn a_transaction_the_database_aborts_to_break_a_deadlock_is_run_again_and_commits_once() {
    if !on_postgres() {
        return;
    }
    let dir = tempfile::TempDir::new().unwrap();
    let url = fresh_database(&dir).await;
    let db = Database::connect(url.as_str()).await.unwrap();
    db.execute_unprepared(
        "CREATE TABLE counters (id INT PRIMARY KEY, n INT NOT NULL);
         INSERT INTO counters VALUES (1, 0), (2, 0);",
    )
    .await
    .unwrap();
    // Two transactions lock the two rows in opposite orders, and meet in
    // the middle on their first attempt: PostgreSQL aborts one of them.
    let meet = Arc::new(Barrier::new(2));
    let attempts = Arc::new(AtomicU32::new(0));
    let bump = |first: i32, second: i32| {
        let (db, meet, attempts) = (db.clone(), meet.clone(), attempts.clone());
        async move {
            store::transaction(&db, |tx| {
                let (meet, attempts) = (meet.clone(), attempts.clone());
                async move {
                    let attempt = attempts.fetch_add(1, Ordering::SeqCst);
                    increment(&tx, first).await?;
                    if attempt < 2 {
                        meet.wait().await;
                    }
                    increment(&tx, second).await?;
                    Ok::<_, StoreError>((tx, ()))
                }
            })
            .await
        }
    };
    let (one, two) = tokio::join!(bump(1, 2), bump(2, 1));
    one.expect("the first transaction committed");
    two.expect("the second transaction committed");
    assert_eq!(
        attempts.load(Ordering::SeqCst),
        3,
        "one of the two ran again"
    );
    assert_eq!(
        scalar(&db, "SELECT SUM(n) FROM counters").await,
        4,
        "each transaction's two increments stored exactly once"
    );
}

async fn increment(tx: &sea_orm::DatabaseTransaction, id: i32) -> Result<(), StoreError> {
    tx.execute_unprepared(&format!("UPDATE counters SET n = n + 1 WHERE id = {id}"))
        .await?;
    Ok(())
}

/// Runs the binary with `envs` until it exits (it must, within a minute);
/// answers whether it succeeded and the ERROR lines it logged.
fn run_to_exit(envs: &[(&str, &str)]) -> (bool, Vec<String>) {
    let dir = tempfile::TempDir::new().unwrap();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_envagin"));
    command
        .env("ENVAGIN_ADDR", "127.0.0.1:0")
        .env("ENVAGIN_DATA_DIR", dir.path())
        .env("ENVAGIN_LOG_FORMAT", "json")
        .env("RUST_LOG", "info");
    for (name, value) in envs {
        command.env(name, value);
    }
    let output = command.output().expect("the binary runs");
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let errors = log
        .lines()
        .filter(|l| l.contains("\"ERROR\""))
        .map(str::to_owned)
        .collect();
    (output.status.success(), errors)
}

#[test]
fn a_server_that_cannot_reach_its_database_says_why_in_one_line_and_exits_non_zero() {
    let (succeeded, errors) = run_to_exit(&[
        (
            "ENVAGIN_DATABASE_URL",
            "postgres://postgres@127.0.0.1:1/envagin",
        ),
        ("ENVAGIN_DB_ACQUIRE_TIMEOUT_SECS", "2"),
    ]);
    assert!(!succeeded);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("Connection refused"), "{errors:?}");
}

#[test]
fn a_catalogue_with_a_syntax_error_is_refused_in_one_line_naming_the_place() {
    let dir = tempfile::TempDir::new().unwrap();
    let path = dir.path().join("broken.toml");
    std::fs::write(&path, "version = 1\ntriage_queue = \"TRIAGE\n").unwrap();
    let (succeeded, errors) = run_to_exit(&[("ENVAGIN_CATALOGUE", path.to_str().unwrap())]);
    assert!(!succeeded);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("line 2"), "{errors:?}");
}

#[test]
fn a_port_already_in_use_is_reported_before_the_database_is_touched() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let data = tempfile::TempDir::new().unwrap();
    let (succeeded, errors) = run_to_exit(&[
        ("ENVAGIN_ADDR", &addr),
        ("ENVAGIN_DATA_DIR", data.path().to_str().unwrap()),
    ]);
    assert!(!succeeded);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("cannot listen"), "{errors:?}");
    let created: Vec<_> = std::fs::read_dir(data.path()).unwrap().collect();
    assert!(created.is_empty(), "touched before binding: {created:?}");
}

/// Holds the database so that a server starting on it waits in its
/// migrations: on PostgreSQL the migrations' advisory lock, on SQLite an
/// exclusive transaction (within SQLite's ten-second busy timeout).
async fn hold_migrations(url: &str) -> DatabaseConnection {
    let mut options = sea_orm::ConnectOptions::new(url.to_owned());
    options.max_connections(1).min_connections(1);
    let db = Database::connect(options).await.expect("connect");
    let hold = if on_postgres() {
        format!("SELECT pg_advisory_lock({})", store::MIGRATION_LOCK)
    } else {
        "BEGIN EXCLUSIVE".to_owned()
    };
    db.execute_unprepared(&hold).await.expect("lock taken");
    db
}

async fn release_migrations(db: DatabaseConnection) {
    if !on_postgres() {
        db.execute_unprepared("COMMIT")
            .await
            .expect("lock released");
    }
    db.close().await.expect("closed");
}

#[tokio::test]
async fn while_it_starts_the_server_answers_health_and_asks_everyone_else_to_come_back() {
    let dir = tempfile::TempDir::new().unwrap();
    let url = fresh_database(&dir).await;
    let held = hold_migrations(&url).await;
    let data = dir.path().join("data");
    let server = Server::launch(|c| on_database(c, &url, &data));
    let client = reqwest::Client::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let health = loop {
        if let Ok(r) = client.get(format!("{}/health", server.base)).send().await {
            break r;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no /health while starting"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(health.status(), 200);
    let ready = client
        .get(format!("{}/ready", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503);
    let graphql = client
        .post(format!("{}/graphql", server.base))
        .json(&serde_json::json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(graphql.status(), 503);
    assert!(graphql.headers().contains_key("retry-after"));
    release_migrations(held).await;
    server.wait_ready().await;
    let answer = server.gql("{ __typename }", serde_json::json!({})).await;
    assert_eq!(answer["data"]["__typename"], "QueryRoot", "{answer}");
}

/// The same database, from now on refusing every write: on PostgreSQL
/// every new transaction is read-only (as after a fail-over to a
/// standby); on SQLite the file is opened read-only (as on a read-only
/// mount, or a file the server's user may not write).
async fn read_only(url: &str) -> String {
    if !on_postgres() {
        return url.replace("mode=rwc", "mode=ro");
    }
    set_read_only(url, true).await;
    url.to_owned()
}

/// Sets the PostgreSQL database's default for new sessions; sessions
/// already open keep theirs.
async fn set_read_only(url: &str, read_only: bool) {
    // From the administrative database, which stays writable.
    let admin = std::env::var("ENVAGIN_TEST_DATABASE_URL").expect("on PostgreSQL");
    let db = Database::connect(admin.as_str()).await.expect("connect");
    let (base, _) = url.split_once('?').unwrap_or((url, ""));
    let (_, name) = base.rsplit_once('/').expect("database URL has a path");
    let setting = if read_only { "on" } else { "off" };
    db.execute_unprepared(&format!(
        "ALTER DATABASE {name} SET default_transaction_read_only = {setting}"
    ))
    .await
    .expect("database default set");
    db.close().await.expect("closed");
}

#[tokio::test]
async fn a_server_whose_database_refuses_writes_does_not_start_and_says_why_in_one_line() {
    let dir = tempfile::TempDir::new().unwrap();
    let url = fresh_database(&dir).await;
    let data = dir.path().join("data");
    let writable = Server::spawn(|c| on_database(c, &url, &data)).await;
    writable.terminate(std::time::Duration::from_secs(30)).await;

    let read_only = read_only(&url).await;
    let (succeeded, errors) = run_to_exit(&[
        ("ENVAGIN_DATABASE_URL", &read_only),
        ("ENVAGIN_DATA_DIR", data.to_str().unwrap()),
        ("ENVAGIN_JWT_SECRET", TEST_JWT_SECRET),
        ("ENVAGIN_SEARCH_KEY", TEST_SEARCH_KEY),
    ]);
    assert!(!succeeded);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains("the database is read-only to this process"),
        "{errors:?}"
    );
}

/// Submits one request; answers its reference, or the error code.
async fn submit_one(server: &Server) -> Result<String, String> {
    let answer = server
        .gql(
            SUBMIT,
            serde_json::json!({ "input": {
                "description": "Gatlampan utanför Storgatan 5 är trasig sedan en vecka",
                "channel": "WEB",
            }}),
        )
        .await;
    match answer["data"]["submitRequest"]["request"]["reference"].as_str() {
        Some(reference) => Ok(reference.to_owned()),
        None => Err(code(&answer).to_owned()),
    }
}

#[tokio::test]
async fn a_postgresql_database_switched_read_only_and_back_takes_writes_again_without_a_restart() {
    if !on_postgres() {
        return;
    }
    let dir = tempfile::TempDir::new().unwrap();
    let url = fresh_database(&dir).await;
    let server = Server::spawn(|c| on_database(c, &url, &dir.path().join("data"))).await;
    assert!(submit_one(&server).await.is_ok());

    // As after a fail-over to a standby: every session from now on is
    // read-only, the server's own included once they are ended.
    set_read_only(&url, true).await;
    let db = Database::connect(url.as_str()).await.expect("connect");
    db.execute_unprepared(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .await
    .expect("sessions ended");
    db.close().await.expect("closed");
    assert_eq!(submit_one(&server).await, Err("INTERNAL".to_owned()));
    assert_eq!(ready_status(&server.base).await, Some(503));

    // Switched back, with no session ended: the server's read-only
    // sessions must not keep it refusing writes.
    set_read_only(&url, false).await;
    let mut refused = 0;
    while let Err(code) = submit_one(&server).await {
        assert_eq!(code, "INTERNAL");
        refused += 1;
        assert!(
            refused <= 2,
            "still refused after the database took writes again"
        );
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while ready_status(&server.base).await != Some(200) {
        assert!(std::time::Instant::now() < deadline, "never ready again");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}
