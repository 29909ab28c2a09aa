//! The personal-data access log (GDPR art. 5.2 accountability): every staff
//! read of a request's personal data is appended before the answer leaves
//! the server. No operation changes or deletes entries.

use std::collections::BTreeMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;

use super::{RequestRecord, ServiceError, Services, actor};
use crate::domain::actor::{Caller, Role};
use crate::domain::reference::Reference;
use crate::store;
use crate::store::entities::access_log;

/// Collects, during one API call, which personal-data fields of which
/// requests a staff member read.
#[derive(Default)]
pub struct AccessRecorder {
    reads: Mutex<BTreeMap<i64, Vec<&'static str>>>,
}

impl AccessRecorder {
    pub fn note(&self, request_id: i64, field: &'static str) {
        if let Ok(mut reads) = self.reads.lock() {
            let fields = reads.entry(request_id).or_default();
            if !fields.contains(&field) {
                fields.push(field);
            }
        }
    }

    fn take(&self) -> BTreeMap<i64, Vec<&'static str>> {
        self.reads
            .lock()
            .map(|mut r| std::mem::take(&mut *r))
            .unwrap_or_default()
    }
}

pub struct AccessLogEntry {
    pub actor_sub: String,
    pub actor_name: Option<String>,
    pub fields: Vec<String>,
    pub at: DateTime<Utc>,
}

impl Services {
    /// Writes what `recorder` collected; the caller must not send the
    /// answer if this fails.
    pub async fn record_access(
        &self,
        caller: &Caller,
        recorder: &AccessRecorder,
    ) -> Result<(), ServiceError> {
        let reads = recorder.take();
        let Some(actor) = caller.actor() else {
            return Ok(());
        };
        if reads.is_empty() {
            return Ok(());
        }
        let now = Utc::now();
        let rows: Vec<_> = reads
            .into_iter()
            .map(|(request_id, fields)| access_log::ActiveModel {
                request_id: Set(request_id),
                actor_sub: Set(actor.sub.clone()),
                actor_name: Set(actor.name.clone()),
                fields: Set(fields.join(",")),
                at: Set(now),
                ..Default::default()
            })
            .collect();
        // A write like any other: on SQLite it takes its turn at the writer.
        let rows = &rows;
        self.write(|tx| async move {
            store::access_log::append(&tx, rows.clone()).await?;
            Ok((tx, ()))
        })
        .await
    }

    /// Who read a request's personal data: for its administration's
    /// handlers and for the system owner.
    pub async fn access_log(
        &self,
        caller: &Caller,
        reference: &str,
    ) -> Result<Vec<AccessLogEntry>, ServiceError> {
        let actor = actor(caller)?;
        let reference = Reference::parse(reference)?;
        let record = if actor.has(Role::Admin) {
            let model = store::requests::find_by_reference(self.db(), &reference.to_string())
                .await?
                .ok_or(ServiceError::NotFound)?;
            RequestRecord::try_from(model)?
        } else {
            self.load_visible(self.db(), actor, &reference).await?
        };
        if !(actor.has(Role::Admin) || actor.handles(&record.administration)) {
            return Err(ServiceError::forbidden(
                "the access log is for the owning administration and the system owner",
            ));
        }
        let entries = store::access_log::for_request(self.db(), record.id).await?;
        Ok(entries
            .into_iter()
            .map(|e| AccessLogEntry {
                actor_sub: e.actor_sub,
                actor_name: e.actor_name,
                fields: e.fields.split(',').map(str::to_owned).collect(),
                at: e.at,
            })
            .collect())
    }
}
