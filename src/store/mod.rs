//! Persistence: sea-orm entities and the queries the use cases need, on
//! SQLite (embedded default) and PostgreSQL alike. Functions take any
//! connection or transaction; the service layer owns transaction boundaries.

pub mod access_log;
pub mod attachments;
pub mod auto_close;
pub mod catalogue;
pub mod entities;
pub mod knowledge;
pub mod open311;
pub mod outbox;
pub mod requests;
pub mod retention;
pub mod search;
pub mod stats;
pub mod training;
pub mod work;
pub mod writer;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use migrations::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, SqlErr, SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(DbErr),
    #[error("a row with this key already exists")]
    Duplicate,
    #[error("stored data is not readable: {0}")]
    Corrupt(String),
    #[error("cannot connect to the database: {0}")]
    Unreachable(String),
    /// The database cannot store anything, whatever is written: no use
    /// case can succeed until an operator acts (`Writer::check`).
    #[error("the database cannot store writes ({fault}): {source}")]
    Storage { fault: StorageFault, source: DbErr },
}

/// What is wrong with the storage under the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StorageFault {
    #[error("the disk is full")]
    Full,
    #[error("the disk is full or failing: the WAL index cannot grow")]
    WalIndex,
    #[error("the disk is full or failing (I/O error)")]
    Io,
    #[error("the disk is failing")]
    Failing,
    #[error(
        "the database is read-only to this process: check the owner and mode of the database \
         file, of its -wal and -shm files, and of the mount"
    )]
    ReadOnlyFile,
    #[error("the database is read-only to this process")]
    ReadOnlyDatabase,
    #[error("the database file is damaged")]
    Damaged,
    #[error("the database file cannot be opened")]
    CannotOpen,
}

impl From<DbErr> for StoreError {
    /// Every database error passes here, so this is where a connection
    /// found gone makes the pool check the others (`suspect_connections`),
    /// and where a fault of the storage under the database is told apart
    /// from a refused statement.
    fn from(err: DbErr) -> Self {
        if connection_lost(&err) {
            suspect_connections();
        }
        match storage_fault(&err) {
            Some(fault) => {
                if fault == StorageFault::ReadOnlyDatabase {
                    replace_connections();
                }
                Self::Storage { fault, source: err }
            }
            None => Self::Db(err),
        }
    }
}

impl StoreError {
    /// Whether the storage under the database failed (`Storage`).
    pub fn is_storage_fault(&self) -> bool {
        matches!(self, Self::Storage { .. })
    }
}

/// What is wrong with the storage under a failed statement, if that is
/// why it failed: SQLite's primary result codes, PostgreSQL's SQLSTATEs.
/// SQLite reports a full disk as `SQLITE_FULL` only when the database
/// file cannot grow; when the WAL index cannot, it is an I/O error.
fn storage_fault(err: &DbErr) -> Option<StorageFault> {
    use sea_orm::RuntimeErr;
    let (DbErr::Exec(RuntimeErr::SqlxError(e))
    | DbErr::Query(RuntimeErr::SqlxError(e))
    | DbErr::Conn(RuntimeErr::SqlxError(e))) = err
    else {
        return None;
    };
    let db = e.as_database_error()?;
    let code = db.code()?;
    let sqlite = db
        .try_downcast_ref::<sea_orm::sqlx::sqlite::SqliteError>()
        .is_some();
    let fault = if sqlite {
        match code.parse::<u32>().ok()? {
            4874 => StorageFault::WalIndex,
            extended => match extended & 0xff {
                13 => StorageFault::Full,
                8 => StorageFault::ReadOnlyFile,
                11 | 26 => StorageFault::Damaged,
                10 => StorageFault::Io,
                14 => StorageFault::CannotOpen,
                _ => return None,
            },
        }
    } else {
        match code.as_ref() {
            "53100" => StorageFault::Full,
            "25006" => StorageFault::ReadOnlyDatabase,
            "XX001" | "XX002" => StorageFault::Damaged,
            "58030" => StorageFault::Failing,
            _ => return None,
        }
    };
    Some(fault)
}

impl StoreError {
    /// Unique-constraint violations become `Duplicate` so use cases can turn
    /// them into a user-facing answer instead of an internal error.
    pub fn from_write(err: DbErr) -> Self {
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => Self::Duplicate,
            _ => err.into(),
        }
    }
}

/// Until when (milliseconds since the Unix epoch) every pooled connection
/// is pinged before use, however recently it was used. A connection found
/// gone means the database most likely closed the others too (a restart,
/// a failover, an operator ending sessions): without this, each of them
/// would fail one request in turn before the pool replaced it.
static SUSPECT_UNTIL_MS: AtomicU64 = AtomicU64::new(0);
const SUSPECT_FOR: Duration = Duration::from_secs(10);

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// When a statement last failed because the database was read-only. A
/// PostgreSQL session keeps the `default_transaction_read_only` it began
/// with (a database switched read-only and back, a standby promoted behind
/// the same address): connections opened before that failure are replaced
/// rather than reused, so writes work again as soon as the database takes
/// them, without a restart.
static READ_ONLY_SEEN_MS: AtomicU64 = AtomicU64::new(0);

fn replace_connections() {
    READ_ONLY_SEEN_MS.fetch_max(now_ms(), Ordering::Relaxed);
}

/// Whether a connection opened `age` ago predates the last read-only
/// failure.
fn predates_read_only(age: Duration) -> bool {
    let seen = READ_ONLY_SEEN_MS.load(Ordering::Relaxed);
    seen != 0 && u128::from(now_ms().saturating_sub(seen)) < age.as_millis()
}

fn suspect_connections() {
    let until = now_ms().saturating_add(u64::try_from(SUSPECT_FOR.as_millis()).unwrap_or(0));
    SUSPECT_UNTIL_MS.fetch_max(until, Ordering::Relaxed);
}

fn connections_suspect() -> bool {
    now_ms() < SUSPECT_UNTIL_MS.load(Ordering::Relaxed)
}

pub struct PoolSettings {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
    /// SQLite only: sync the WAL on every commit (`FULL`), or only at
    /// checkpoints (`NORMAL`: survives a process crash, not a power loss).
    pub sqlite_full_sync: bool,
    /// SQLite only: how much of the database file each connection reads
    /// through a memory map instead of copying pages in with `pread`.
    pub sqlite_mmap_mib: u64,
}

/// The memory map SQLite gets unless configured otherwise; SQLite caps it
/// at 2 GiB in the bundled build.
pub const DEFAULT_SQLITE_MMAP_MIB: u64 = 2048;

/// How long a pooled connection may sit idle before it is pinged when
/// taken from the pool.
const IDLE_PING_AFTER: Duration = Duration::from_secs(1);

pub async fn connect(url: &str, pool: &PoolSettings) -> Result<DatabaseConnection, StoreError> {
    match Database::connect(options(url, pool, pool.max_connections, None)).await {
        Ok(db) => Ok(db),
        Err(e) if is_pool_timeout(&e) => Err(why_unreachable(url).await.unwrap_or(e.into())),
        Err(e) => Err(e.into()),
    }
}

fn is_pool_timeout(err: &DbErr) -> bool {
    matches!(err, DbErr::Conn(sea_orm::RuntimeErr::SqlxError(e))
        if matches!(e.as_ref(), sea_orm::sqlx::Error::PoolTimedOut))
}

/// The pool retries a refused connection until its time is up and then
/// says only that it timed out; one plain connection says why (refused,
/// unknown host, wrong password), which is what an operator needs.
async fn why_unreachable(url: &str) -> Option<StoreError> {
    use sea_orm::sqlx::Connection;
    if !url.starts_with("postgres") {
        return None;
    }
    let attempt = sea_orm::sqlx::postgres::PgConnection::connect(url);
    match tokio::time::timeout(Duration::from_secs(10), attempt).await {
        Ok(Err(e)) => Some(StoreError::Unreachable(e.to_string())),
        _ => None,
    }
}

/// How many pages the SQLite writer keeps in its own cache (64 MiB).
const WRITER_CACHE_KIB: u32 = 64 * 1024;

/// SQLite only: the one connection every write transaction goes through.
/// SQLite lets one writer in at a time anyway, and a connection's page
/// cache is dropped whenever another connection has written: with writes
/// spread over the pool every transaction started cold and read its index
/// pages from the file again. One writer keeps them warm.
pub async fn connect_writer(
    db: &DatabaseConnection,
    url: &str,
    pool: &PoolSettings,
) -> Result<Option<writer::SqliteWriter>, StoreError> {
    if db.get_database_backend() != DbBackend::Sqlite {
        return Ok(None);
    }
    let options = options(url, pool, 1, Some(WRITER_CACHE_KIB));
    Ok(Some(writer::SqliteWriter {
        db: Database::connect(options.clone()).await?,
        options,
    }))
}

fn options(
    url: &str,
    pool: &PoolSettings,
    max_connections: u32,
    sqlite_cache_kib: Option<u32>,
) -> ConnectOptions {
    let synchronous = if pool.sqlite_full_sync {
        SqliteSynchronous::Full
    } else {
        SqliteSynchronous::Normal
    };
    let mmap_bytes = (pool.sqlite_mmap_mib * 1024 * 1024).to_string();
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(max_connections)
        .acquire_timeout(pool.acquire_timeout)
        // A connection that sat idle may have been dropped (a database
        // restart, a proxy's or firewall's timeout): ping it before use.
        // One in constant use needs no ping: pinging on every checkout
        // doubled the round trips of each query.
        .test_before_acquire_if_idle_for(IDLE_PING_AFTER)
        // ...and so is every connection while connections are suspect; a
        // ping that fails discards the connection and the pool hands out
        // another.
        .map_sqlx_postgres_before_acquire(|conn, meta| {
            Box::pin(async move {
                if predates_read_only(meta.age) {
                    return Ok(false);
                }
                if meta.idle_for < IDLE_PING_AFTER && connections_suspect() {
                    use sea_orm::sqlx::Connection;
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
        .sqlx_logging(false)
        // WAL lets readers run beside the writer; synchronous=FULL makes a
        // commit durable before we answer the resident (OSL 5 kap 1 §).
        .map_sqlx_sqlite_opts(move |o| {
            let o = o
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(synchronous)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
                // Pages read through the map are the kernel's page cache
                // itself: no copy per read and no second cache per connection.
                .pragma("mmap_size", mmap_bytes.clone());
            match sqlite_cache_kib {
                Some(kib) => o.pragma("cache_size", format!("-{kib}")),
                None => o,
            }
        });
    options
}

/// Key of the PostgreSQL advisory lock that serialises migrations.
pub const MIGRATION_LOCK: i64 = 0x0045_5641_4749_4e4d;

/// Brings the schema up to date. On PostgreSQL several replicas may start
/// at once: each migrates inside one transaction holding an advisory lock,
/// so the first applies the migrations and the others, once they get the
/// lock, find nothing left to do.
///
/// On SQLite too the migrations run inside one transaction (SQLite's DDL
/// is transactional; sea-orm-migration would otherwise run them without
/// one): a process killed halfway leaves the schema as it was, instead of
/// tables without their migration's record, which the next start would
/// try to create again and fail on for ever.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), StoreError> {
    if db.get_database_backend() != DbBackend::Postgres {
        let tx = begin_write(db).await?;
        Migrator::up(&tx, None).await?;
        tx.commit().await?;
        return Ok(());
    }
    let tx = db.begin().await?;
    tx.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
        .await?;
    Migrator::up(&tx, None).await?;
    tx.commit().await?;
    Ok(())
}

/// Key of the PostgreSQL advisory lock that serialises first-start set-up
/// (such as loading the sample knowledge base) between replicas.
const SETUP_LOCK: i64 = 0x0045_5641_4749_4e53;

/// Holds, until `tx` ends, the lock that lets one replica at a time set up
/// shared data. SQLite needs none: a write transaction already excludes
/// every other writer.
pub async fn lock_setup(tx: &DatabaseTransaction) -> Result<(), StoreError> {
    if tx.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    let taken = tx
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            format!("SELECT pg_try_advisory_xact_lock({SETUP_LOCK}) AS taken"),
        ))
        .await?
        .map(|row| row.try_get::<bool>("", "taken"))
        .transpose()?
        .unwrap_or(false);
    if !taken {
        // Normally a moment; a replica stuck while holding the lock would
        // stall every starting replica, and this line says where.
        tracing::info!("another replica is setting up the database; waiting for it to finish");
        tx.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({SETUP_LOCK})"))
            .await?;
    }
    Ok(())
}

/// Starts a transaction that will write. On SQLite it takes the write lock
/// up front (BEGIN IMMEDIATE): a deferred transaction that reads first and
/// writes later fails with SQLITE_BUSY when another writer got in between,
/// instead of waiting its turn.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, StoreError> {
    let options = TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    };
    // A pooled connection used less than `IDLE_PING_AFTER` ago is handed
    // out unpinged, and may have been closed since (a database restart, a
    // killed backend). Its BEGIN is the first thing to fail, before any of
    // the use case's work has been sent, so taking another connection is
    // safe, as it is for a read.
    again_on_lost_connection(db, || async {
        Ok::<_, StoreError>(db.begin_with_options(options).await?)
    })
    .await
}

/// Runs a read, again on another connection when the one it was given had
/// been closed since its last use (see `begin_write`): reads change
/// nothing, so running one twice is safe.
pub async fn read<T, E, F, Fut>(db: &DatabaseConnection, query: F) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: ConnectionLost + std::fmt::Display,
{
    again_on_lost_connection(db, query).await
}

/// Runs `work` until it does not fail for a lost connection. The pool
/// drops each dead connection, and each fails once, so a pool's worth of
/// them plus one fresh is enough.
async fn again_on_lost_connection<T, E, F, Fut>(
    db: &DatabaseConnection,
    mut work: F,
) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: ConnectionLost + std::fmt::Display,
{
    let mut tries = 0;
    loop {
        match work().await {
            Err(e) if e.connection_lost() && tries <= pool_use(db).0 => {
                tries += 1;
                tracing::info!(error = %e, "a pooled connection was closed; trying on another");
            }
            result => return result,
        }
    }
}

/// An error that says the database connection under it was gone.
pub trait ConnectionLost {
    fn connection_lost(&self) -> bool;
}

impl ConnectionLost for StoreError {
    fn connection_lost(&self) -> bool {
        matches!(self, Self::Db(e) if connection_lost(e))
    }
}

/// Whether the connection under a failed statement is gone (closed
/// socket, or the server ending the session), rather than the statement
/// being refused.
fn connection_lost(err: &DbErr) -> bool {
    use sea_orm::RuntimeErr;
    use sea_orm::sqlx::Error;
    let (DbErr::Exec(RuntimeErr::SqlxError(e))
    | DbErr::Query(RuntimeErr::SqlxError(e))
    | DbErr::Conn(RuntimeErr::SqlxError(e))) = err
    else {
        return false;
    };
    match e.as_ref() {
        Error::Io(_) | Error::Protocol(_) => true,
        // Class 08 is "connection exception"; 57P01-57P03 are the server
        // shutting the session down (administrator, crash, starting up).
        Error::Database(db) => db
            .code()
            .is_some_and(|code| code.starts_with("08") || code.starts_with("57P")),
        _ => false,
    }
}

/// Runs `work` in a write transaction on `db` and commits the transaction
/// it hands back, running it again when PostgreSQL aborted it to resolve a
/// deadlock or serialisation conflict (as `writer::Writer::run`, which use
/// cases go through; this is for start-up work).
pub async fn transaction<T, E, W, F>(db: &DatabaseConnection, mut work: W) -> Result<T, E>
where
    W: FnMut(DatabaseTransaction) -> F,
    F: Future<Output = Result<(DatabaseTransaction, T), E>>,
    E: From<StoreError> + writer::Transient + std::fmt::Display,
{
    let mut tries = 1;
    loop {
        let attempt = async {
            let (tx, value) = work(begin_write(db).await?).await?;
            tx.commit().await.map_err(StoreError::from)?;
            Ok::<T, E>(value)
        };
        match attempt.await {
            Err(e) if e.is_transient() => tries = writer::retry_pause(tries, &e).await.ok_or(e)?,
            result => return result,
        }
    }
}

/// Whether the database answers: a connection the database closed
/// moments ago is not counted against it (`read`).
pub async fn ping(db: &DatabaseConnection) -> Result<(), StoreError> {
    read(db, || async { Ok::<_, StoreError>(db.ping().await?) }).await
}

/// Open and idle connections of the pool.
pub fn pool_use(db: &DatabaseConnection) -> (u32, usize) {
    match db.get_database_backend() {
        DbBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            (pool.size(), pool.num_idle())
        }
        _ => {
            let pool = db.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle())
        }
    }
}
