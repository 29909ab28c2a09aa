//! The real binary, killed without warning, keeps what it acknowledged.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::{LOOKUP, SUBMIT, fresh_database};

pub(crate) struct Server {
    child: Child,
    pub(crate) base: String,
}

impl Server {
    async fn start(database_url: &str, data_dir: &std::path::Path) -> Self {
        Self::spawn(|c| {
            c.env("ENVAGIN_DATABASE_URL", database_url)
                .env("ENVAGIN_DATA_DIR", data_dir);
        })
        .await
    }

    /// Starts the binary on a free port, configured by `configure`, and
    /// waits until it is ready.
    pub(crate) async fn spawn(configure: impl FnOnce(&mut Command)) -> Self {
        let server = Self::launch(configure);
        server.wait_ready().await;
        server
    }

    /// Starts the binary on a free port, configured by `configure`,
    /// without waiting for it to be ready (to kill it during start-up).
    pub(crate) fn launch(configure: impl FnOnce(&mut Command)) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut command = Command::new(env!("CARGO_BIN_EXE_envagin"));
        command
            .env("ENVAGIN_ADDR", format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "warn")
            .env(
                "ENVAGIN_SUBMIT_MAX_PER_ADDRESS",
                crate::support::LOAD_TEST_SUBMIT_BUDGET.to_string(),
            )
            // Warnings and errors of a server that fails to start show in
            // the test output.
            .stdout(Stdio::inherit())
            .stderr(Stdio::inherit());
        configure(&mut command);
        Self {
            child: command.spawn().expect("server binary starts"),
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    pub(crate) async fn wait_ready(&self) {
        // Generous: CI machines run many servers of parallel tests at once.
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            if let Ok(r) = reqwest::get(format!("{}/ready", self.base)).await
                && r.status().is_success()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("server did not become ready");
    }

    pub(crate) async fn gql(&self, query: &str, variables: serde_json::Value) -> serde_json::Value {
        reqwest::Client::new()
            .post(format!("{}/graphql", self.base))
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Sends SIGTERM and waits (at most `limit`) for the process to exit.
    pub(crate) async fn terminate(mut self, limit: Duration) -> std::process::ExitStatus {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "SIGTERM delivered");
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the server did not stop within {limit:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    pub(crate) fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().ok();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

#[tokio::test]
async fn an_acknowledged_request_survives_the_server_being_killed() {
    let dir = tempfile::TempDir::new().unwrap();
    let url = fresh_database(&dir).await;
    let server = Server::start(&url, dir.path()).await;
    let answer = server
        .gql(
            SUBMIT,
            json!({ "input": { "description": "Gatlampan på Storgatan är trasig" } }),
        )
        .await;
    let payload = &answer["data"]["submitRequest"];
    let reference = payload["request"]["reference"]
        .as_str()
        .expect("acknowledged")
        .to_owned();
    let tracking = payload["trackingCode"].as_str().unwrap().to_owned();
    server.kill();

    let restarted = Server::start(&url, dir.path()).await;
    let read = restarted
        .gql(
            LOOKUP,
            json!({ "reference": reference, "trackingCode": tracking }),
        )
        .await;
    assert_eq!(
        read["data"]["request"]["reference"],
        reference.as_str(),
        "{read}"
    );
    assert_eq!(read["data"]["request"]["status"], "QUEUED");
}

#[tokio::test]
async fn the_default_start_creates_and_migrates_the_data_directory() {
    let dir = tempfile::TempDir::new().unwrap();
    let data = dir.path().join("nested").join("data");
    let server = Server::spawn(|c| {
        c.current_dir(dir.path())
            .env_remove("ENVAGIN_DATABASE_URL")
            .env("ENVAGIN_DATA_DIR", &data);
    })
    .await;
    let answer = server
        .gql("{ catalogue { categories { code } } }", json!({}))
        .await;
    assert_eq!(
        answer["data"]["catalogue"]["categories"]
            .as_array()
            .unwrap()
            .len(),
        34
    );
    assert!(data.join("envagin.db").exists());
}

#[tokio::test]
async fn the_server_log_carries_no_personal_data_even_at_debug_level() {
    use envagin::auth::{MintClaims, mint_token};
    let dir = tempfile::TempDir::new().unwrap();
    let url = fresh_database(&dir).await;
    let log_path = dir.path().join("server.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let server = Server::spawn(|c| {
        c.env("ENVAGIN_DATABASE_URL", &url)
            .env("ENVAGIN_DATA_DIR", dir.path())
            .env("ENVAGIN_JWT_SECRET", crate::support::TEST_JWT_SECRET)
            .env("RUST_LOG", "debug")
            .stdout(log.try_clone().unwrap())
            .stderr(log);
    })
    .await;
    let mut config = envagin::config::Config::from_env().unwrap();
    config.jwt_secret = Some(crate::support::TEST_JWT_SECRET.to_owned());
    let claims = |sub: &str, roles: &[&str], adm: &[&str]| MintClaims {
        sub: sub.into(),
        name: Some(sub.into()),
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        adm: adm.iter().map(|a| (*a).to_owned()).collect(),
        ttl: Duration::from_secs(600),
    };
    let secret = crate::support::TEST_JWT_SECRET.as_bytes();
    let handler = mint_token(
        secret,
        &config.auth_settings(),
        &claims("tf-anna", &["handler"], &["TF"]),
    )
    .unwrap();
    let agent = mint_token(
        secret,
        &config.auth_settings(),
        &claims("kc-bo", &["contact_centre"], &[]),
    )
    .unwrap();

    let answer = server
        .gql(
            SUBMIT,
            json!({ "input": {
                "description": "Gatlampan utanför Zlatanvägen 7 är trasig",
                "contact": { "name": "Zelda Qvarnström", "email": "zelda.qvarnstrom@example.se", "phone": "070-987 65 43", "personalNumber": "19811218-9876" }
            } }),
        )
        .await;
    let reference = answer["data"]["submitRequest"]["request"]["reference"]
        .as_str()
        .unwrap()
        .to_owned();
    for (token, query) in [
        (
            &handler,
            "query($r: String!) { requestByReference(reference: $r) { description contact { name email phone personalNumber } } }",
        ),
        (
            &agent,
            "query($r: String!) { searchRequests(filter: { reference: $r, email: \"zelda.qvarnstrom@example.se\" }) { nodes { reference } } }",
        ),
        (
            &agent,
            "query($r: String!) { searchRequests(filter: { reference: $r, phone: \"0709876543\", personalNumber: \"811218-9876\" }) { nodes { reference } } }",
        ),
        (
            &agent,
            "query($r: String!) { searchRequests(filter: { reference: $r, text: \"Zlatanvägen\" }) { nodes { reference } } }",
        ),
    ] {
        let answer = reqwest::Client::new()
            .post(format!("{}/graphql", server.base))
            .bearer_auth(token)
            .json(&json!({ "query": query, "variables": { "r": reference } }))
            .send()
            .await
            .unwrap()
            .json::<serde_json::Value>()
            .await
            .unwrap();
        assert!(answer["errors"].is_null(), "{answer}");
    }
    server.kill();
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        log.contains(&reference),
        "the log does record what happened"
    );
    for secret in [
        "Zelda",
        "Qvarnstr",
        "zelda.qvarnstrom",
        "987 65 43",
        "Zlatanv",
    ] {
        assert!(!log.contains(secret), "the log contains {secret:?}");
    }
    for digits in ["709876543", "9876", "811218"] {
        assert!(
            !contains_number(&log, digits),
            "the log contains the number {digits:?}"
        );
    }
}

/// Whether `digits` stand in `log` as a number of their own: timestamps'
/// fractions and request ids are long runs of digits and letters that
/// contain any four digits by chance now and then.
fn contains_number(log: &str, digits: &str) -> bool {
    log.match_indices(digits).any(|(at, _)| {
        let before = log[..at].chars().next_back();
        let after = log[at + digits.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_alphanumeric())
            && !after.is_some_and(|c| c.is_ascii_alphanumeric())
    })
}

#[tokio::test]
async fn the_server_reaches_postgresql_over_tls_when_the_url_asks_for_it() {
    use sea_orm::ConnectionTrait;
    // Only where the test server speaks TLS (.ci/with-postgres sets this).
    if std::env::var("ENVAGIN_TEST_POSTGRES_TLS").is_err() {
        return;
    }
    let dir = tempfile::TempDir::new().unwrap();
    let url = fresh_database(&dir).await;
    let separator = if url.contains('?') { '&' } else { '?' };
    let tls_url = format!("{url}{separator}sslmode=require");
    let pool = envagin::store::PoolSettings {
        max_connections: 1,
        acquire_timeout: Duration::from_secs(10),
        sqlite_full_sync: true,
        sqlite_mmap_mib: envagin::store::DEFAULT_SQLITE_MMAP_MIB,
    };
    let db = envagin::store::connect(&tls_url, &pool)
        .await
        .expect("TLS connection");
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
        ))
        .await
        .unwrap()
        .unwrap();
    assert!(
        row.try_get::<bool>("", "ssl").unwrap(),
        "the connection is encrypted"
    );
}
