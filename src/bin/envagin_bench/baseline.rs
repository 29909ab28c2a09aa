//! What this stack can do at most on this machine: a minimal axum server,
//! in the bench process, over the same database with the same pool and
//! SQLite settings as the real server (WAL, `synchronous=FULL`, writers
//! taking turns), with no GraphQL, no validation, no classifier, no history
//! and no outbox. One route inserts one row in a write transaction, the
//! other selects one request by its unique reference and checks the
//! tracking code's hash, as the resident's status lookup does.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use chrono::Utc;
use envagin::domain::tracking::TrackingCode;
use envagin::store::{PoolSettings, begin_write, connect};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use serde_json::{Value, json};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

struct Baseline {
    db: DatabaseConnection,
    /// SQLite has one writer: the server lets writers take turns in a fair
    /// queue instead of polling the lock, and so does the baseline.
    write_turn: Option<tokio::sync::Mutex<()>>,
    next: AtomicU64,
    run: u64,
}

pub struct Running {
    pub url: String,
    db: DatabaseConnection,
    shutdown: tokio::sync::oneshot::Sender<()>,
}

impl Running {
    /// Stops serving and drops the scratch table.
    pub async fn stop(self) -> Result<(), BoxError> {
        let _ = self.shutdown.send(());
        self.db
            .execute_unprepared("DROP TABLE IF EXISTS bench_baseline")
            .await?;
        self.db.close().await?;
        Ok(())
    }
}

pub async fn start(
    database_url: &str,
    max_connections: u32,
    sqlite_full_sync: bool,
) -> Result<Running, BoxError> {
    let pool = PoolSettings {
        max_connections,
        acquire_timeout: Duration::from_secs(10),
        sqlite_full_sync,
        sqlite_mmap_mib: envagin::store::DEFAULT_SQLITE_MMAP_MIB,
    };
    let db = connect(database_url, &pool).await?;
    let backend = db.get_database_backend();
    let ddl = match backend {
        DbBackend::Postgres => {
            "CREATE TABLE IF NOT EXISTS bench_baseline (id BIGSERIAL PRIMARY KEY, reference VARCHAR(32) NOT NULL UNIQUE, tracking_code_hash VARCHAR(64) NOT NULL, description TEXT NOT NULL, contact_email VARCHAR(254), created_at TIMESTAMPTZ NOT NULL)"
        }
        _ => {
            "CREATE TABLE IF NOT EXISTS bench_baseline (id INTEGER PRIMARY KEY AUTOINCREMENT, reference VARCHAR(32) NOT NULL UNIQUE, tracking_code_hash VARCHAR(64) NOT NULL, description TEXT NOT NULL, contact_email VARCHAR(254), created_at TEXT NOT NULL)"
        }
    };
    db.execute_unprepared(ddl).await?;
    let state = Arc::new(Baseline {
        db: db.clone(),
        write_turn: (backend == DbBackend::Sqlite).then(|| tokio::sync::Mutex::new(())),
        next: AtomicU64::new(0),
        run: u64::from(std::process::id()),
    });
    let router = Router::new()
        .route("/baseline/submit", post(insert))
        .route("/baseline/status", post(select))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let addr = listener.local_addr()?;
    let (shutdown, stopped) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await;
    });
    Ok(Running {
        url: format!("http://{addr}"),
        db,
        shutdown,
    })
}

fn internal(e: impl std::fmt::Display) -> (StatusCode, String) {
    (StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
}

async fn insert(
    State(state): State<Arc<Baseline>>,
    Json(input): Json<Value>,
) -> Result<Json<Value>, (StatusCode, String)> {
    let n = state.next.fetch_add(1, Ordering::Relaxed);
    let reference = format!("B-{}-{n}", state.run);
    let code = TrackingCode::generate();
    let backend = state.db.get_database_backend();
    let _turn = match &state.write_turn {
        Some(turn) => Some(turn.lock().await),
        None => None,
    };
    let tx = begin_write(&state.db).await.map_err(internal)?;
    let sql = match backend {
        DbBackend::Postgres => {
            "INSERT INTO bench_baseline (reference, tracking_code_hash, description, contact_email, created_at) VALUES ($1, $2, $3, $4, $5)"
        }
        _ => {
            "INSERT INTO bench_baseline (reference, tracking_code_hash, description, contact_email, created_at) VALUES (?, ?, ?, ?, ?)"
        }
    };
    tx.execute_raw(Statement::from_sql_and_values(
        backend,
        sql,
        [
            reference.clone().into(),
            code.hash().into(),
            input["description"].as_str().unwrap_or_default().into(),
            input["contact"]["email"].as_str().map(str::to_owned).into(),
            Utc::now().into(),
        ],
    ))
    .await
    .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    Ok(Json(
        json!({ "reference": reference, "trackingCode": code.to_string() }),
    ))
}

async fn select(
    State(state): State<Arc<Baseline>>,
    Json(input): Json<Value>,
) -> Result<Json<Value>, (StatusCode, String)> {
    let reference = input["reference"].as_str().unwrap_or_default();
    let hash = TrackingCode::parse(input["trackingCode"].as_str().unwrap_or_default())
        .map(|c| c.hash())
        .unwrap_or_default();
    let backend = state.db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => {
            "SELECT reference, status, tracking_code_hash, category_code, administration_code FROM requests WHERE reference = $1"
        }
        _ => {
            "SELECT reference, status, tracking_code_hash, category_code, administration_code FROM requests WHERE reference = ?"
        }
    };
    let row = state
        .db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [reference.into()],
        ))
        .await
        .map_err(internal)?;
    let found = row.and_then(|row| {
        let stored: String = row.try_get("", "tracking_code_hash").ok()?;
        (stored == hash).then(|| {
            json!({
                "reference": row.try_get::<String>("", "reference").ok(),
                "status": row.try_get::<String>("", "status").ok(),
                "category": row.try_get::<Option<String>>("", "category_code").ok().flatten(),
                "administration": row.try_get::<String>("", "administration_code").ok(),
            })
        })
    });
    found
        .map(Json)
        .ok_or((StatusCode::NOT_FOUND, "not found".to_owned()))
}
