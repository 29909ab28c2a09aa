//! Test support: a real server on a fresh database per test. SQLite in a
//! temporary directory by default; PostgreSQL (a new database per test) when
//! `ENVAGIN_TEST_DATABASE_URL` names a server.

use std::net::SocketAddr;
use std::time::Duration;

use envagin::app::App;
use envagin::auth::{AuthSettings, MintClaims, mint_token};
use envagin::config::Config;
use rand::RngExt;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use serde_json::{Value, json};
use tempfile::TempDir;

pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub database_url: String,
    pub auth: AuthSettings,
    _dir: TempDir,
}

/// The HS256 secret every test server trusts.
pub const TEST_JWT_SECRET: &str = "test-secret-test-secret-test-secret-0123456789";

/// The personal-number search key of every test server.
pub const TEST_SEARCH_KEY: &str = "test-search-key-test-search-key-0123456789";

/// A fresh database URL: SQLite in `dir`, or a new PostgreSQL database.
pub async fn fresh_database(dir: &TempDir) -> String {
    match std::env::var("ENVAGIN_TEST_DATABASE_URL") {
        Ok(admin_url) if !admin_url.is_empty() => {
            let name = format!("envagin_test_{:016x}", rand::rng().random::<u64>());
            let admin = Database::connect(admin_url.as_str())
                .await
                .expect("connect to ENVAGIN_TEST_DATABASE_URL");
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .expect("create test database");
            admin.close().await.ok();
            let (base, query) = admin_url.split_once('?').unwrap_or((&admin_url, ""));
            let (server, _) = base.rsplit_once('/').expect("database URL has a path");
            if query.is_empty() {
                format!("{server}/{name}")
            } else {
                format!("{server}/{name}?{query}")
            }
        }
        _ => format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display()),
    }
}

pub fn test_config(database_url: &str, dir: &TempDir) -> Config {
    let mut config = Config::from_env().expect("default configuration");
    config.database_url = Some(database_url.to_owned());
    config.data_dir = dir.path().to_owned();
    config.catalogue = None;
    config.jwt_secret = Some(TEST_JWT_SECRET.to_owned());
    config.search_key = Some(TEST_SEARCH_KEY.to_owned());
    config.jwks_url = None;
    // Every test client submits from 127.0.0.1; the budget per address has
    // tests of its own (`hostile.rs`).
    config.submit_max_per_address = LOAD_TEST_SUBMIT_BUDGET;
    config
}

/// Anonymous submissions per address the tests' servers allow: more than
/// any test sends, so that only the budget's own tests meet it.
pub const LOAD_TEST_SUBMIT_BUDGET: usize = 10_000;

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    let dir = TempDir::new().expect("temp dir");
    let database_url = fresh_database(&dir).await;
    start(database_url, dir, adjust).await
}

/// A second server on the database of `other`, as after a restart.
pub async fn spawn_app_sharing_database(other: &TestApp) -> TestApp {
    spawn_app_sharing_database_with(other, |_| {}).await
}

/// Another server on `other`'s database, configured by `adjust`.
pub async fn spawn_app_sharing_database_with(
    other: &TestApp,
    adjust: impl FnOnce(&mut Config),
) -> TestApp {
    let dir = TempDir::new().expect("temp dir");
    start(other.database_url.clone(), dir, adjust).await
}

async fn start(database_url: String, dir: TempDir, adjust: impl FnOnce(&mut Config)) -> TestApp {
    let mut config = test_config(&database_url, &dir);
    adjust(&mut config);
    let app = App::build(&config).await.expect("application starts");
    let config = config.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let header_timeout = Duration::from_secs(config.header_timeout_secs);
    tokio::spawn(app.serve_on(listener, header_timeout, std::future::pending()));
    TestApp {
        addr,
        client: reqwest::Client::new(),
        database_url,
        auth: config.auth_settings(),
        _dir: dir,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub async fn gql(&self, query: &str, variables: Value) -> Value {
        self.gql_with(None, query, variables).await
    }

    /// As the holder of `token`.
    pub async fn gql_as(&self, token: &str, query: &str, variables: Value) -> Value {
        self.gql_with(Some(token), query, variables).await
    }

    async fn gql_with(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut request = self
            .client
            .post(self.url("/graphql"))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request
            .send()
            .await
            .expect("request sent")
            .json()
            .await
            .expect("JSON answer")
    }

    /// A token for `sub` with `roles` and administrations `adm`.
    pub fn token(&self, sub: &str, roles: &[&str], adm: &[&str]) -> String {
        let claims = MintClaims {
            sub: sub.to_owned(),
            name: Some(format!("Test {sub}")),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            adm: adm.iter().map(|a| (*a).to_owned()).collect(),
            ttl: std::time::Duration::from_secs(3600),
        };
        mint_token(TEST_JWT_SECRET.as_bytes(), &self.auth, &claims).expect("token minted")
    }

    /// A case handler of the given administrations.
    pub fn handler(&self, sub: &str, adm: &[&str]) -> String {
        self.token(sub, &["handler"], adm)
    }

    /// A contact-centre agent.
    pub fn contact_centre(&self, sub: &str) -> String {
        self.token(sub, &["contact_centre"], &[])
    }

    /// Submits and returns the payload, failing the test on any error.
    pub async fn submit(&self, input: Value) -> Value {
        let answer = self.gql(SUBMIT, json!({ "input": input })).await;
        assert!(answer["errors"].is_null(), "submission failed: {answer}");
        answer["data"]["submitRequest"].clone()
    }

    pub async fn db(&self) -> DatabaseConnection {
        Database::connect(self.database_url.as_str())
            .await
            .expect("connect to test database")
    }

    pub async fn count(&self, table: &str) -> i64 {
        let db = self.db().await;
        let row = db
            .query_one_raw(Statement::from_string(
                db.get_database_backend(),
                format!("SELECT COUNT(*) AS n FROM {table}"),
            ))
            .await
            .expect("count query")
            .expect("a row");
        row.try_get("", "n").expect("count")
    }
}

pub const SUBMIT: &str = r#"
mutation Submit($input: SubmitRequestInput!) {
  submitRequest(input: $input) {
    request { reference status category administration createdAt updatedAt history { kind status message at } }
    trackingCode
    referral
    emergencyAdvice
  }
}"#;

pub const LOOKUP: &str = r#"
query Lookup($reference: String!, $trackingCode: String!) {
  request(reference: $reference, trackingCode: $trackingCode) {
    reference status category administration categoryName createdAt updatedAt receivedAt
    history { kind status message at }
  }
}"#;

/// The first error's `extensions.code`.
pub fn code(answer: &Value) -> &str {
    answer["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code in {answer}"))
}

/// The first error's `extensions.field`.
pub fn field(answer: &Value) -> &str {
    answer["errors"][0]["extensions"]["field"]
        .as_str()
        .unwrap_or_else(|| panic!("no error field in {answer}"))
}
