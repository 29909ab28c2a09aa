//! Keeping replicas in step. Two things change in one process and must
//! reach the others: new events of a request (for live subscriptions),
//! corrections the classifier learns from, and knowledge-base edits. On PostgreSQL each is announced
//! with NOTIFY inside the transaction that made it, so it is delivered on
//! commit and only then, to every replica's LISTEN (including the one that
//! made it). On SQLite there is one process, and a local channel suffices.
//!
//! Why LISTEN/NOTIFY rather than polling: a subscriber on another replica
//! hears of a change within milliseconds, and an idle system makes no
//! queries at all. A listener that loses its connection catches up on
//! corrections when it reconnects.

use std::collections::HashSet;

use sea_orm::sqlx::postgres::PgListener;
use sea_orm::{ConnectionTrait, DbBackend, Statement};

use super::{ServiceError, Services};
use crate::store::writer::WriteTx;
use crate::store::{self, StoreError};

const EVENTS: &str = "envagin_events";
const CORRECTIONS: &str = "envagin_corrections";
const KNOWLEDGE: &str = "envagin_knowledge";

impl Services {
    fn is_postgres(&self) -> bool {
        self.db().get_database_backend() == DbBackend::Postgres
    }

    /// A use case that writes events on requests: `work` also gives the
    /// requests it wrote events on, whose subscribers on every replica hear
    /// of them once the transaction is committed.
    pub(super) async fn write_announcing<T, W, F>(&self, mut work: W) -> Result<T, ServiceError>
    where
        W: FnMut(WriteTx) -> F,
        F: Future<Output = Result<(WriteTx, (T, Vec<i64>)), ServiceError>>,
    {
        let postgres = self.is_postgres();
        let (value, request_ids) = self
            .write(|tx| {
                let work = work(tx);
                async move {
                    let (tx, (value, request_ids)) = work.await?;
                    if postgres {
                        for id in &request_ids {
                            notify(&tx, EVENTS, *id).await?;
                        }
                    }
                    Ok((tx, (value, request_ids)))
                }
            })
            .await?;
        if !postgres {
            for id in request_ids {
                self.announce(id);
            }
        }
        Ok(value)
    }

    /// A knowledge-base change: once committed, every replica's index is
    /// brought up to date, this one at once, the others through a
    /// notification.
    pub(super) async fn write_knowledge<T, W, F>(&self, mut work: W) -> Result<T, ServiceError>
    where
        W: FnMut(WriteTx) -> F,
        F: Future<Output = Result<(WriteTx, T), ServiceError>>,
    {
        let postgres = self.is_postgres();
        let value = self
            .write(|tx| {
                let work = work(tx);
                async move {
                    let (tx, value) = work.await?;
                    if postgres {
                        notify(&tx, KNOWLEDGE, 0).await?;
                    }
                    Ok((tx, value))
                }
            })
            .await?;
        self.reload_knowledge().await?;
        Ok(value)
    }

    /// Queues the announcement of a stored correction in `tx` (PostgreSQL;
    /// on SQLite the caller learns it directly after commit).
    pub(super) async fn announce_correction(
        &self,
        tx: &WriteTx,
        id: i64,
    ) -> Result<(), ServiceError> {
        if self.is_postgres() {
            notify(tx, CORRECTIONS, id).await?;
        }
        Ok(())
    }

    /// Learns a stored correction once, however many times it is announced.
    /// Corrections into confidential categories are not learned: the public
    /// classify preview would then answer differently for words from secret
    /// requests, and so reveal them.
    pub fn learn_correction(&self, id: i64, text: &str, category: &str) {
        if !super::training::learnable(self.catalogue(), category) {
            return;
        }
        let first_time = self
            .inner
            .applied_corrections
            .lock()
            .is_ok_and(|mut applied| applied.insert(id));
        if first_time {
            self.inner.classifier.learn(text, category);
        }
    }

    /// Counts corrections as learned without applying them: the model was
    /// trained on them at start-up (`training::training_texts`).
    pub fn trained_on_corrections(&self, ids: &[i64]) {
        if let Ok(mut applied) = self.inner.applied_corrections.lock() {
            applied.extend(ids);
        }
    }

    /// Learns every stored correction not yet learned.
    pub async fn catch_up_corrections(&self) -> Result<(), ServiceError> {
        let applied: HashSet<i64> = self
            .inner
            .applied_corrections
            .lock()
            .map(|a| a.clone())
            .unwrap_or_default();
        for c in store::work::all_corrections(self.db()).await? {
            if !applied.contains(&c.id) {
                self.learn_correction(c.id, &c.text, &c.to_category);
            }
        }
        Ok(())
    }

    /// Runs until the process ends: turns notifications from all replicas
    /// into local announcements and learned corrections.
    pub async fn listen_for_replicas(self) {
        if !self.is_postgres() {
            return;
        }
        loop {
            if let Err(e) = self.listen_once().await {
                tracing::warn!(error = %e, "lost the notification channel to other replicas; reconnecting");
            }
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    }

    async fn listen_once(&self) -> Result<(), ServiceError> {
        let pool = self.db().get_postgres_connection_pool();
        let mut listener = PgListener::connect_with(pool).await.map_err(db_error)?;
        listener
            .listen_all([EVENTS, CORRECTIONS, KNOWLEDGE])
            .await
            .map_err(db_error)?;
        // Changes committed while we were not listening.
        self.catch_up_corrections().await?;
        self.reload_knowledge().await?;
        loop {
            let Some(notification) = listener.try_recv().await.map_err(db_error)? else {
                self.catch_up_corrections().await?;
                continue;
            };
            let Ok(id) = notification.payload().parse::<i64>() else {
                continue;
            };
            match notification.channel() {
                EVENTS => self.announce(id),
                CORRECTIONS => self.learn_stored_correction(id).await?,
                KNOWLEDGE => self.reload_knowledge().await?,
                _ => {}
            }
        }
    }

    async fn learn_stored_correction(&self, id: i64) -> Result<(), ServiceError> {
        if let Some(c) = store::work::find_correction(self.db(), id).await? {
            self.learn_correction(c.id, &c.text, &c.to_category);
        }
        Ok(())
    }
}

async fn notify(tx: &WriteTx, channel: &str, id: i64) -> Result<(), ServiceError> {
    tx.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_notify($1, $2)",
        [channel.into(), id.to_string().into()],
    ))
    .await?;
    Ok(())
}

fn db_error(e: sea_orm::sqlx::Error) -> ServiceError {
    ServiceError::Internal(StoreError::Corrupt(format!("notification channel: {e}")))
}
