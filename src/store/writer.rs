//! Write transactions, and group commit on SQLite.
//!
//! SQLite lets one writer in at a time, and most of a small write's cost is
//! its commit: every page it touched (the right edge of each index, the
//! sequence table) is appended to the WAL again, then synced. So on SQLite
//! use cases take turns on one connection (`connect_writer`), each in its
//! own savepoint inside a shared transaction, and while others wait for the
//! turn the transaction stays open for them: one commit makes a whole group
//! durable. A use case's `commit` returns only after the group's commit, so
//! nothing is acknowledged before it is on disk; a use case that fails rolls
//! back its savepoint and leaves the others' work alone.
//!
//! PostgreSQL needs none of this: writers run side by side and its WAL
//! writer already flushes concurrent commits together.
//!
//! The writer fails closed. After a failed commit, release or begin the
//! connection's transaction state can no longer be trusted (SQLite may
//! have rolled back on its own while the driver still counts a
//! transaction; its next "transaction" is then a savepoint inside one that
//! is never committed, and every commit after it "succeeds" without
//! storing anything). So the writer throws that connection away and opens
//! a new one for the next group, and after every group commit it checks
//! that the connection really is outside any transaction before it tells a
//! member its work is durable. Until a commit succeeds again the writer
//! reports a fault (`Writer::check`, behind `/ready`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, ExecResult, QueryResult, Statement, TransactionTrait,
};
use tokio::sync::{Mutex, OwnedMutexGuard, watch};

use super::{StoreError, begin_write};

/// Most use cases one commit makes durable.
const MAX_GROUP: usize = 64;

/// How long a use case waits for its group's commit before it commits the
/// group itself: the one expected to do it may have gone (its client hung
/// up, or it failed).
const ORPHAN_AFTER: Duration = Duration::from_millis(20);

/// How long a use case waits for the writer's turn when the pool sets no
/// acquire timeout.
const DEFAULT_TURN_WAIT: Duration = Duration::from_secs(30);

/// The SQLite writer's connection, and how to open it again.
pub struct SqliteWriter {
    pub db: DatabaseConnection,
    pub options: ConnectOptions,
}

/// Where write transactions begin.
#[derive(Clone)]
pub struct Writer {
    db: DatabaseConnection,
    group: Option<Arc<Group>>,
    fault: Arc<Fault>,
}

/// Why and when writes last failed for a reason no retry can mend, and
/// whether a write has reached the disk since the start.
#[derive(Default)]
struct Fault {
    last: std::sync::Mutex<Option<(String, Instant)>>,
    /// Until a commit that wrote something succeeds, readiness is proven
    /// by a test write: a server started on a full disk or a read-only
    /// file is not put into rotation.
    proven: std::sync::atomic::AtomicBool,
}

impl Fault {
    fn set(&self, error: &str) {
        if let Ok(mut last) = self.last.lock() {
            *last = Some((error.to_owned(), Instant::now()));
        }
    }

    fn get(&self) -> Option<(String, Instant)> {
        self.last.lock().ok().and_then(|f| f.clone())
    }

    /// A write reached the disk.
    fn clear(&self) {
        self.proven.store(true, Ordering::SeqCst);
        if let Ok(mut last) = self.last.lock()
            && last.take().is_some()
        {
            tracing::info!("writes succeed again");
        }
    }

    fn proven(&self) -> bool {
        self.proven.load(Ordering::SeqCst)
    }

    /// Whether the next commit should tell if it wrote anything: only
    /// then can it prove or clear anything.
    fn wants_proof(&self) -> bool {
        !self.proven() || self.get().is_some()
    }
}

impl Writer {
    /// `sqlite` is the one connection SQLite writes through; without it
    /// (PostgreSQL) every write transaction is its own, on `db`.
    pub fn new(db: DatabaseConnection, sqlite: Option<SqliteWriter>) -> Self {
        let fault = Arc::new(Fault::default());
        let group = sqlite.map(|writer| {
            Arc::new(Group {
                options: writer.options,
                turn: Arc::new(Mutex::new(Turn {
                    open: None,
                    db: Some(writer.db),
                })),
                waiting: AtomicUsize::new(0),
                next_id: AtomicU64::new(1),
                fault: fault.clone(),
            })
        });
        Self { db, group, fault }
    }

    /// Runs `work` in a write transaction and commits the transaction
    /// `work` hands back. A transaction that PostgreSQL aborted to break a
    /// deadlock or a serialisation conflict is run again from the start
    /// (see `retry_pause`): `work` must therefore do nothing but read and
    /// write through the transaction, and leave side effects to its
    /// caller, after the commit.
    ///
    /// The transaction is passed by value and handed back rather than lent:
    /// a future that borrows its argument cannot be shown to be `Send`.
    pub async fn run<T, E, W, F>(&self, mut work: W) -> Result<T, E>
    where
        W: FnMut(WriteTx) -> F,
        F: Future<Output = Result<(WriteTx, T), E>>,
        E: From<StoreError> + Transient + std::fmt::Display,
    {
        let mut tries = 1;
        loop {
            let attempt = async {
                let (tx, value) = work(self.begin().await?).await?;
                tx.commit().await?;
                Ok::<T, E>(value)
            };
            match attempt.await {
                Err(e) if e.is_transient() => tries = retry_pause(tries, &e).await.ok_or(e)?,
                Err(e) if e.is_storage_fault() => {
                    self.fault.set(&e.to_string());
                    return Err(e);
                }
                result => return result,
            }
        }
    }

    pub async fn begin(&self) -> Result<WriteTx, StoreError> {
        match &self.group {
            None => Ok(WriteTx {
                tx: Some(begin_write(&self.db).await?),
                seat: None,
            }),
            Some(group) => group.join().await,
        }
    }

    /// Whether writes are being stored. After a failed commit the SQLite
    /// writer is at fault until a commit succeeds again. For `FAULT_HOLD`
    /// after the last failure that is the answer; after it, this tries a
    /// commit itself (a write that changes nothing but still has to reach
    /// the disk), so that a server taken out of rotation finds its way
    /// back once the disk has room.
    pub async fn check(&self) -> Result<(), StoreError> {
        let (fault, since) = match self.fault.get() {
            Some(fault) => fault,
            None if self.fault.proven() => return Ok(()),
            None => (
                "nothing written yet since the start".to_owned(),
                Instant::now()
                    .checked_sub(FAULT_HOLD)
                    .unwrap_or_else(Instant::now),
            ),
        };
        if since.elapsed() < FAULT_HOLD {
            return Err(lost(&format!("writes are failing: {fault}")));
        }
        self.run(|tx| async move {
            tx.execute_unprepared(PROBE).await?;
            Ok::<_, StoreError>((tx, ()))
        })
        .await
        .map_err(|e| {
            lost(&format!(
                "writes are failing ({fault}); a test write failed too: {e}"
            ))
        })?;
        self.fault.clear();
        Ok(())
    }
}

/// How long a failed commit alone makes the writer report a fault; a
/// small test write could succeed where requests fail (a nearly full disk).
const FAULT_HOLD: Duration = Duration::from_secs(15);

/// Whether the database takes a write, tried on a connection of `db`'s
/// pool (at start-up, before the writer is in use): the test write of
/// `Writer::check`.
pub async fn probe(db: &DatabaseConnection) -> Result<(), StoreError> {
    let tx = begin_write(db).await?;
    tx.execute_unprepared(PROBE).await?;
    Ok(tx.commit().await?)
}

/// Rewrites one row with its own values: SQLite writes the page all the
/// same, so the commit needs the disk like any other.
const PROBE: &str = "UPDATE catalogue_documents SET checksum = checksum \
     WHERE id = (SELECT MAX(id) FROM catalogue_documents)";

struct Group {
    options: ConnectOptions,
    /// Held by the use case writing now; guards the connection and the
    /// open group.
    turn: Arc<Mutex<Turn>>,
    /// Use cases waiting for the turn: while there are any, the group stays
    /// open for them.
    waiting: AtomicUsize,
    next_id: AtomicU64,
    /// Shared with the `Writer`.
    fault: Arc<Fault>,
}

struct Turn {
    open: Option<OpenGroup>,
    /// The writer connection; `None` after it was thrown away, until the
    /// next group opens a new one.
    db: Option<DatabaseConnection>,
}

impl Turn {
    /// Rolls back an open group nobody has committed into yet, instead of
    /// leaving it to hold SQLite's write lock until the next writer comes.
    fn abandon_if_empty(&mut self) {
        if self.open.as_ref().is_some_and(|open| open.members == 0) {
            self.open.take();
        }
    }
}

struct OpenGroup {
    id: u64,
    tx: DatabaseTransaction,
    /// Use cases whose savepoint is released into this group.
    members: usize,
    done: watch::Sender<Option<Result<(), String>>>,
    /// SQLite's `total_changes()` when the group began, taken only while
    /// the writer has something to prove (`Fault::wants_proof`): a commit
    /// proves the disk takes writes only if rows changed (an empty
    /// transaction commits even on a read-only file).
    changes_at_begin: Option<i64>,
}

impl Group {
    async fn join(self: &Arc<Self>) -> Result<WriteTx, StoreError> {
        // The turn is the writer's one connection: wait for it no longer
        // than for a pooled one. Otherwise, while another process holds
        // SQLite's write lock, use cases queue behind one another and each
        // in turn waits out the busy timeout, without bound.
        let wait = self
            .options
            .get_acquire_timeout()
            .unwrap_or(DEFAULT_TURN_WAIT);
        let Ok(mut turn) = tokio::time::timeout(wait, self.take_turn()).await else {
            return Err(lost(&format!(
                "no turn to write within {} s",
                wait.as_secs_f64()
            )));
        };
        if turn.open.is_none() {
            let db = self.connection(&mut turn).await?;
            match begin_write(&db).await {
                Ok(tx) => {
                    let changes_at_begin = if self.fault.wants_proof() {
                        total_changes(&tx).await
                    } else {
                        None
                    };
                    turn.open = Some(OpenGroup {
                        id: self.next_id.fetch_add(1, Ordering::Relaxed),
                        tx,
                        members: 0,
                        done: watch::channel(None).0,
                        changes_at_begin,
                    });
                }
                Err(e) => {
                    self.discard(&mut turn, &e.to_string()).await;
                    return Err(e);
                }
            }
        }
        let open = turn.open.as_ref().ok_or_else(|| lost("no open group"))?;
        let savepoint = match open.tx.begin().await {
            Ok(savepoint) => savepoint,
            Err(e) => {
                self.discard(&mut turn, &e.to_string()).await;
                return Err(e.into());
            }
        };
        Ok(WriteTx {
            tx: Some(savepoint),
            seat: Some(Seat {
                group: self.clone(),
                turn,
            }),
        })
    }

    /// The writer connection, opened anew if the last one was thrown away.
    async fn connection(&self, turn: &mut Turn) -> Result<DatabaseConnection, StoreError> {
        if let Some(db) = &turn.db {
            return Ok(db.clone());
        }
        let db = Database::connect(self.options.clone()).await.map_err(|e| {
            self.fault
                .set(&format!("cannot reopen the writer connection: {e}"));
            e
        })?;
        tracing::warn!("SQLite writer: opened a new connection after a failure");
        turn.db = Some(db.clone());
        Ok(db)
    }

    /// Fails the open group, if any, and throws the connection away:
    /// closing it rolls back whatever transaction SQLite may still hold
    /// open, so nothing of the group can be committed later by accident.
    async fn discard(&self, turn: &mut Turn, error: &str) {
        self.fault.set(error);
        if let Some(open) = turn.open.take() {
            open.done
                .send_replace(Some(Err(format!("the group failed: {error}"))));
        }
        if let Some(db) = turn.db.take()
            && let Err(e) = db.close().await
        {
            tracing::warn!(error = %e, "SQLite writer: closing the failed connection");
        }
        tracing::error!(
            error,
            "SQLite writer: a commit, release or begin failed; nothing of the open group was \
             acknowledged, and the connection is replaced before the next write"
        );
    }

    async fn take_turn(&self) -> OwnedMutexGuard<Turn> {
        let _waiting = Waiting::count(&self.waiting);
        self.turn.clone().lock_owned().await
    }

    /// Commits the open group `id`, if it is still open, in a task of its
    /// own so that no client hanging up can interrupt it halfway.
    async fn close_orphan(self: &Arc<Self>, id: u64) {
        let mut turn = self.take_turn().await;
        if turn.open.as_ref().is_some_and(|open| open.id == id)
            && let Some(open) = turn.open.take()
        {
            self.clone().commit_group(open, turn).await;
        }
    }

    /// Commits a group in its own task and tells every member the outcome:
    /// durable only if the commit succeeded and the connection is then
    /// outside any transaction.
    async fn commit_group(self: Arc<Self>, open: OpenGroup, mut turn: OwnedMutexGuard<Turn>) {
        let committing = tokio::spawn(async move {
            let OpenGroup {
                tx,
                members,
                done,
                changes_at_begin,
                ..
            } = open;
            let wrote = match changes_at_begin {
                Some(before) => total_changes(&tx).await.is_some_and(|after| after > before),
                None => false,
            };
            let result = match tx.commit().await {
                Ok(()) => self.verify_outside_transaction(&turn).await,
                Err(e) => Err(e.to_string()),
            };
            match &result {
                Ok(()) if wrote => self.fault.clear(),
                Ok(()) => {}
                Err(e) => {
                    tracing::error!(error = %e, members, "group commit failed; nothing in it was acknowledged");
                    self.discard(&mut turn, e).await;
                }
            }
            done.send_replace(Some(result));
            drop(turn);
        });
        if let Err(e) = committing.await {
            tracing::error!(error = %e, "group commit task ended abnormally");
        }
    }

    /// A plain `BEGIN` fails inside a transaction: proof that the commit
    /// really ended it. It and its `ROLLBACK` touch no page.
    async fn verify_outside_transaction(&self, turn: &Turn) -> Result<(), String> {
        let db = turn.db.as_ref().ok_or("no writer connection")?;
        db.execute_unprepared("BEGIN").await.map_err(|e| {
            format!("the connection is still inside a transaction after COMMIT: {e}")
        })?;
        db.execute_unprepared("ROLLBACK")
            .await
            .map_err(|e| format!("ending the check transaction: {e}"))?;
        Ok(())
    }
}

/// Rows changed on the transaction's connection since it was opened
/// (`None` if SQLite cannot say).
async fn total_changes(tx: &DatabaseTransaction) -> Option<i64> {
    tx.query_one_raw(Statement::from_string(
        DbBackend::Sqlite,
        "SELECT total_changes()",
    ))
    .await
    .ok()
    .flatten()
    .and_then(|row| row.try_get_by_index::<i64>(0).ok())
}

/// Counts a waiter for as long as it waits, even if its future is dropped.
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn count(counter: &'a AtomicUsize) -> Self {
        counter.fetch_add(1, Ordering::SeqCst);
        Self(counter)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A use case's place in the group: the turn, held until it commits.
struct Seat {
    group: Arc<Group>,
    turn: OwnedMutexGuard<Turn>,
}

/// One use case's write transaction: a transaction of its own
/// (PostgreSQL) or a savepoint in the group's (SQLite). Dropped without
/// `commit`, it rolls back.
pub struct WriteTx {
    tx: Option<DatabaseTransaction>,
    seat: Option<Seat>,
}

impl WriteTx {
    fn tx(&self) -> &DatabaseTransaction {
        // Only `commit` takes it, and that consumes `self`.
        self.tx
            .as_ref()
            .expect("a write transaction used after commit")
    }

    /// Makes the use case's writes durable; on SQLite returns once the
    /// group holding them is committed.
    pub async fn commit(mut self) -> Result<(), StoreError> {
        let tx = self.tx.take().ok_or_else(|| lost("committed twice"))?;
        let Some(seat) = self.seat.take() else {
            return Ok(tx.commit().await?);
        };
        let Seat { group, mut turn } = seat;
        if let Err(e) = tx.commit().await {
            // A savepoint that cannot be released leaves the connection's
            // transaction state in doubt: the whole group goes.
            group.discard(&mut turn, &e.to_string()).await;
            return Err(e.into());
        }
        let open = turn.open.as_mut().ok_or_else(|| lost("no open group"))?;
        open.members += 1;
        let id = open.id;
        let mut done = open.done.subscribe();
        let others_waiting = group.waiting.load(Ordering::SeqCst) > 0;
        if others_waiting && open.members < MAX_GROUP {
            drop(turn);
        } else if let Some(open) = turn.open.take() {
            group.clone().commit_group(open, turn).await;
        }
        loop {
            if let Some(result) = done.borrow_and_update().clone() {
                return result.map_err(|e| lost(&e));
            }
            match tokio::time::timeout(ORPHAN_AFTER, done.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return Err(lost("the group was abandoned before its commit")),
                Err(_) => group.close_orphan(id).await,
            }
        }
    }
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        if let Some(seat) = &mut self.seat {
            // The savepoint rolls back as `self.tx` drops, before the next
            // statement on the connection.
            self.tx.take();
            seat.turn.abandon_if_empty();
        }
    }
}

/// How a failed transaction's error bears on running it, or any, again.
pub trait Transient {
    /// Running the same transaction again may not meet it.
    fn is_transient(&self) -> bool;
    /// No transaction can succeed until the storage is mended
    /// (`StoreError::Storage`).
    fn is_storage_fault(&self) -> bool;
}

impl Transient for StoreError {
    fn is_transient(&self) -> bool {
        matches!(self, Self::Db(e) if is_transient(e))
    }

    fn is_storage_fault(&self) -> bool {
        StoreError::is_storage_fault(self)
    }
}

/// SQLSTATEs of a transaction PostgreSQL aborted so that others could go
/// on: `40P01` (deadlock detected) and `40001` (serialisation failure).
const TRANSIENT_SQLSTATES: [&str; 2] = ["40P01", "40001"];

fn is_transient(err: &DbErr) -> bool {
    use sea_orm::RuntimeErr;
    match err {
        DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e))
        | DbErr::Conn(RuntimeErr::SqlxError(e)) => e
            .as_database_error()
            .and_then(|db| db.code())
            .is_some_and(|code| TRANSIENT_SQLSTATES.contains(&code.as_ref())),
        _ => false,
    }
}

/// Attempts of one transaction in all, the first included.
const MAX_ATTEMPTS: u32 = 5;

/// After `tries` attempts of a transaction the database aborted: waits and
/// gives the number of the next attempt, or `None` when it is time to give
/// up. The wait is random and up to twice as long after each failure, so
/// that the transactions that met do not meet again in the same order.
pub async fn retry_pause(tries: u32, error: &impl std::fmt::Display) -> Option<u32> {
    use rand::RngExt;
    if tries >= MAX_ATTEMPTS {
        return None;
    }
    let ceiling_ms = 10u64 << tries;
    let pause = Duration::from_millis(rand::rng().random_range(ceiling_ms / 2..=ceiling_ms));
    tracing::warn!(
        attempt = tries,
        pause_ms = pause.as_millis(),
        %error,
        "transaction aborted by the database to resolve a conflict; running it again"
    );
    tokio::time::sleep(pause).await;
    Some(tries + 1)
}

fn lost(what: &str) -> StoreError {
    StoreError::Db(DbErr::Custom(format!("write transaction: {what}")))
}

#[async_trait::async_trait]
impl ConnectionTrait for WriteTx {
    fn get_database_backend(&self) -> DbBackend {
        self.tx().get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.tx().execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.tx().execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.tx().query_one_raw(stmt).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.tx().query_all_raw(stmt).await
    }

    fn support_returning(&self) -> bool {
        self.tx().support_returning()
    }
}
