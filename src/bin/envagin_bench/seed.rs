//! A year of history written straight into the database, fast: the rows
//! one submission writes (the request, its history events and its search
//! terms), aged along the life cycle as a real year would leave them.
//!
//! SQLite: multi-row INSERTs with bound values in large transactions, on a
//! connection that syncs only at checkpoints (a bulk load need not survive a
//! power cut). PostgreSQL: `COPY … FROM STDIN`. Rows are generated on a
//! thread of their own while the previous chunk is written. Afterwards the
//! reference counter (SQLite `counters`) or sequence (PostgreSQL
//! `request_reference_seq`) and the id sequence are moved past the seeded
//! rows, so the server continues after them, and the tables are analysed.
//!
//! Delivered receipts (the outbox) are not seeded: the sender reads only
//! pending rows through its index, so old sent ones would only take disk.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::{DateTime, Datelike, Utc};
use envagin::domain::calendar::WorkingCalendar;
use envagin::domain::catalogue::Catalogue;
use envagin::domain::personal_number::PersonalNumber;
use envagin::domain::reference::Reference;
use envagin::domain::search;
use envagin::domain::tracking::TrackingCode;
use envagin::service::{CatalogueSource, install_catalogue};
use envagin::store::{PoolSettings, connect, migrate};
use rand::{Rng, RngExt};
use sea_orm::sqlx::{self, QueryBuilder, Sqlite};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};

use super::texts;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Requests generated and written together (one transaction on SQLite).
const CHUNK: usize = 20_000;

const REQUEST_COLUMNS: &[&str] = &[
    "id",
    "reference",
    "tracking_code_hash",
    "status",
    "channel",
    "language",
    "description",
    "category_code",
    "administration_code",
    "queue_code",
    "priority",
    "confidential",
    "protected_identity",
    "classification_confidence",
    "classification_explanation",
    "location_latitude",
    "location_longitude",
    "location_address",
    "contact_name",
    "contact_email",
    "contact_phone",
    "personal_number",
    "personal_number_digest",
    "registered_by",
    "citizen_sub",
    "assignee_sub",
    "assignee_name",
    "duplicate_of",
    "version",
    "received_at",
    "ack_due_at",
    "resolve_due_at",
    "acknowledged_at",
    "closed_at",
    "purged_at",
    "first_response_days",
    "resolution_days",
    "resolved_on_time",
    "triaged",
    "rerouted",
    "created_at",
    "updated_at",
];

const EVENT_COLUMNS: &[&str] = &[
    "request_id",
    "kind",
    "from_status",
    "to_status",
    "actor_kind",
    "actor_id",
    "actor_name",
    "public",
    "message",
    "note",
    "detail",
    "administration_code",
    "confidential",
    "created_at",
];

const TERM_COLUMNS: &[&str] = &["term", "request_id"];

/// SQLite allows 32 766 bound values in one statement.
const SQLITE_MAX_BINDS: usize = 32_000;

pub struct SeedOptions {
    pub database_url: String,
    pub count: u64,
    /// The server's `ENVAGIN_SEARCH_KEY`: personal numbers are found by a
    /// digest under it.
    pub search_key: Vec<u8>,
    /// Where the sample of (reference, tracking code, contact data) goes.
    pub pairs_file: PathBuf,
    pub sample: u64,
    /// Received over this many days up to now.
    pub days: u32,
}

/// One value of a row, bound (SQLite) or written as COPY text (PostgreSQL).
#[derive(Clone)]
enum Val {
    Null,
    Int(i64),
    Float(f64),
    Text(String),
    Bool(bool),
    Time(DateTime<Utc>),
}

impl From<Option<String>> for Val {
    fn from(v: Option<String>) -> Self {
        v.map_or(Val::Null, Val::Text)
    }
}

impl From<Option<DateTime<Utc>>> for Val {
    fn from(v: Option<DateTime<Utc>>) -> Self {
        v.map_or(Val::Null, Val::Time)
    }
}

impl From<Option<i64>> for Val {
    fn from(v: Option<i64>) -> Self {
        v.map_or(Val::Null, Val::Int)
    }
}

fn s(v: &str) -> Val {
    Val::Text(v.to_owned())
}

/// A chunk of generated rows.
#[derive(Default)]
struct Chunk {
    requests: Vec<Vec<Val>>,
    events: Vec<Vec<Val>>,
    terms: Vec<Vec<Val>>,
    samples: Vec<String>,
    /// The reference sequence number of the chunk's last request.
    last_sequence: u64,
}

pub async fn seed(opts: SeedOptions) -> Result<(), BoxError> {
    let pool = PoolSettings {
        max_connections: 1,
        acquire_timeout: Duration::from_secs(120),
        sqlite_full_sync: false,
        sqlite_mmap_mib: envagin::store::DEFAULT_SQLITE_MMAP_MIB,
    };
    let db = connect(&opts.database_url, &pool).await?;
    let backend = db.get_database_backend();
    migrate(&db).await?;
    let catalogue = install_catalogue(&db, CatalogueSource::Sample).await?;
    if backend == DbBackend::Sqlite {
        // A bulk load: sync at the end, and keep the indexes in memory.
        db.execute_unprepared("PRAGMA synchronous = OFF").await?;
        db.execute_unprepared("PRAGMA cache_size = -524288").await?; // 512 MiB
    }
    let first_sequence = current_sequence(&db).await? + 1;
    let first_id = query_i64(&db, "SELECT COALESCE(MAX(id), 0) AS value FROM requests").await? + 1;
    eprintln!(
        "seeding {} requests from reference sequence {first_sequence}, id {first_id} …",
        opts.count
    );

    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Chunk>(2);
    let generator = {
        let count = opts.count;
        let key = opts.search_key.clone();
        let sample = opts.sample;
        let days = opts.days;
        std::thread::spawn(move || {
            let mut rng = rand::rng();
            let now = Utc::now();
            let mut generator = Generator {
                catalogue,
                calendar: WorkingCalendar::default(),
                key,
                now,
                span: chrono::Duration::days(i64::from(days)),
                count,
                sample_every: (count / sample.max(1)).max(1),
            };
            let mut i = 0;
            while i < count {
                let end = (i + CHUNK as u64).min(count);
                let mut chunk = Chunk {
                    last_sequence: first_sequence + end - 1,
                    ..Chunk::default()
                };
                for k in i..end {
                    generator.request(
                        k,
                        first_sequence + k,
                        first_id + k as i64,
                        &mut rng,
                        &mut chunk,
                    );
                }
                if sender.blocking_send(chunk).is_err() {
                    return;
                }
                i = end;
            }
        })
    };

    let mut pairs = std::io::BufWriter::new(std::fs::File::create(&opts.pairs_file)?);
    writeln!(
        pairs,
        "# reference\ttracking code\tpersonal number\te-mail\tphone (seeded by envagin-bench)"
    )?;
    let started = Instant::now();
    let (mut written, mut events, mut terms, mut sampled) = (0u64, 0u64, 0u64, 0u64);
    let mut next_report = 100_000;
    while let Some(chunk) = receiver.recv().await {
        match backend {
            DbBackend::Postgres => write_postgres(&db, &chunk).await?,
            _ => write_sqlite(&db, &chunk).await?,
        }
        written += chunk.requests.len() as u64;
        events += chunk.events.len() as u64;
        terms += chunk.terms.len() as u64;
        sampled += chunk.samples.len() as u64;
        for line in &chunk.samples {
            writeln!(pairs, "{line}")?;
        }
        if written >= next_report || written == opts.count {
            let secs = started.elapsed().as_secs_f64();
            eprintln!(
                "  {written} requests ({events} events, {terms} search terms) in {secs:.1} s: {:.0} requests/s",
                written as f64 / secs
            );
            next_report += 100_000;
        }
    }
    generator.join().map_err(|_| "the row generator panicked")?;
    pairs.flush()?;
    let inserted = started.elapsed();

    let analysing = Instant::now();
    db.execute_unprepared("ANALYZE").await?;
    if backend == DbBackend::Sqlite {
        // Keep sqlite_stat1 (row counts: good plans) but not the STAT4
        // samples: with them SQLite re-plans every statement that binds a
        // value to an indexed column each time it runs (measured: status
        // lookups 739 -> 518 us of server CPU without them). The server
        // never runs ANALYZE itself, so its databases have no samples.
        let stat4 = query_i64(
            &db,
            "SELECT COUNT(*) AS value FROM sqlite_master WHERE name = 'sqlite_stat4'",
        )
        .await?;
        if stat4 > 0 {
            db.execute_unprepared("DELETE FROM sqlite_stat4").await?;
        }
        db.execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
            .await?;
    }
    eprintln!(
        "seeded {written} requests, {events} events, {terms} search terms in {:.1} s ({:.0} requests/s); ANALYZE {:.1} s; {sampled} sample rows in {}",
        inserted.as_secs_f64(),
        written as f64 / inserted.as_secs_f64(),
        analysing.elapsed().as_secs_f64(),
        opts.pairs_file.display()
    );
    db.close().await?;
    Ok(())
}

async fn query_i64(db: &DatabaseConnection, sql: &str) -> Result<i64, BoxError> {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await?
        .ok_or("no row")?;
    Ok(row.try_get("", "value")?)
}

/// The last reference sequence number handed out.
async fn current_sequence(db: &DatabaseConnection) -> Result<u64, BoxError> {
    let sql = match db.get_database_backend() {
        DbBackend::Postgres => {
            "SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS value FROM request_reference_seq"
        }
        _ => "SELECT value FROM counters WHERE name = 'request_reference'",
    };
    Ok(u64::try_from(query_i64(db, sql).await?)?)
}

async fn write_sqlite(db: &DatabaseConnection, chunk: &Chunk) -> Result<(), BoxError> {
    let pool = db.get_sqlite_connection_pool();
    let mut tx = pool.begin().await?;
    for (table, columns, rows) in [
        ("requests", REQUEST_COLUMNS, &chunk.requests),
        ("request_events", EVENT_COLUMNS, &chunk.events),
        ("request_search_terms", TERM_COLUMNS, &chunk.terms),
    ] {
        for part in rows.chunks(SQLITE_MAX_BINDS / columns.len()) {
            let mut qb = QueryBuilder::<Sqlite>::new(format!(
                "INSERT INTO {table} ({}) ",
                columns.join(", ")
            ));
            qb.push_values(part, |mut b, row| {
                for v in row {
                    match v {
                        Val::Null => b.push_bind(None::<i64>),
                        Val::Int(i) => b.push_bind(*i),
                        Val::Float(f) => b.push_bind(*f),
                        Val::Text(t) => b.push_bind(t.clone()),
                        Val::Bool(x) => b.push_bind(*x),
                        Val::Time(t) => b.push_bind(*t),
                    };
                }
            });
            qb.build().execute(&mut *tx).await?;
        }
    }
    // In the same transaction: an interrupted seed leaves a consistent
    // database that the server, or another seed, continues after.
    sqlx::query("UPDATE counters SET value = MAX(value, ?) WHERE name = 'request_reference'")
        .bind(i64::try_from(chunk.last_sequence)?)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

async fn write_postgres(db: &DatabaseConnection, chunk: &Chunk) -> Result<(), BoxError> {
    let pool = db.get_postgres_connection_pool();
    let mut tx = pool.begin().await?;
    for (table, columns, rows) in [
        ("requests", REQUEST_COLUMNS, &chunk.requests),
        ("request_events", EVENT_COLUMNS, &chunk.events),
        ("request_search_terms", TERM_COLUMNS, &chunk.terms),
    ] {
        let mut text = String::with_capacity(rows.len() * 64 * columns.len());
        for row in rows {
            for (i, v) in row.iter().enumerate() {
                if i > 0 {
                    text.push('\t');
                }
                copy_value(&mut text, v);
            }
            text.push('\n');
        }
        let statement = format!("COPY {table} ({}) FROM STDIN", columns.join(", "));
        let mut copy = (*tx).copy_in_raw(&statement).await?;
        copy.send(text.into_bytes()).await?;
        copy.finish().await?;
    }
    // Sequences are not transactional: moved before the commit, an
    // interrupted seed leaves at worst a gap, never a reused number.
    sqlx::query(
        "SELECT setval('request_reference_seq', GREATEST($1, (SELECT last_value FROM request_reference_seq))), \
         setval(pg_get_serial_sequence('requests', 'id'), (SELECT MAX(id) FROM requests))",
    )
    .bind(i64::try_from(chunk.last_sequence)?)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A value in COPY's text format.
fn copy_value(out: &mut String, v: &Val) {
    match v {
        Val::Null => out.push_str("\\N"),
        Val::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Val::Float(f) => {
            let _ = write!(out, "{f}");
        }
        Val::Bool(b) => out.push(if *b { 't' } else { 'f' }),
        Val::Time(t) => out.push_str(&t.to_rfc3339()),
        Val::Text(t) => {
            for c in t.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '\t' => out.push_str("\\t"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    c => out.push(c),
                }
            }
        }
    }
}

/// An event of a seeded history: kind, from and to status, actor kind and
/// id, message to the resident, internal note, time.
type SeedEvent = (
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    &'static str,
    Option<String>,
    Option<String>,
    Option<String>,
    DateTime<Utc>,
);

struct Generator {
    catalogue: Catalogue,
    calendar: WorkingCalendar,
    key: Vec<u8>,
    now: DateTime<Utc>,
    span: chrono::Duration,
    count: u64,
    sample_every: u64,
}

/// Where a request is in its life cycle, given how long ago it arrived.
fn status_for(age_days: i64, rng: &mut impl Rng) -> &'static str {
    let roll = rng.random_range(0..100);
    let table: &[(u32, &str)] = if age_days < 1 {
        &[(5, "TRIAGE"), (80, "QUEUED"), (15, "IN_PROGRESS")]
    } else if age_days < 10 {
        &[
            (2, "TRIAGE"),
            (40, "QUEUED"),
            (30, "IN_PROGRESS"),
            (5, "WAITING_FOR_CITIZEN"),
            (13, "RESOLVED"),
            (10, "CLOSED"),
        ]
    } else if age_days < 40 {
        &[
            (15, "QUEUED"),
            (20, "IN_PROGRESS"),
            (5, "WAITING_FOR_CITIZEN"),
            (60, "CLOSED"),
        ]
    } else {
        &[
            (3, "QUEUED"),
            (2, "IN_PROGRESS"),
            (1, "WAITING_FOR_CITIZEN"),
            (94, "CLOSED"),
        ]
    };
    let mut acc = 0;
    for (share, status) in table {
        acc += share;
        if roll < acc {
            return status;
        }
    }
    "CLOSED"
}

impl Generator {
    /// Request `k` of the seed, with reference `sequence` and row `id`.
    fn request(&mut self, k: u64, sequence: u64, id: i64, rng: &mut impl Rng, chunk: &mut Chunk) {
        let now = self.now;
        // In order of arrival over the span, ending an hour ago.
        let offset = self.span.num_seconds() as f64 * (1.0 - (k as f64 + 0.5) / self.count as f64);
        let received = now
            - chrono::Duration::hours(1)
            - chrono::Duration::seconds(offset as i64)
            - chrono::Duration::seconds(rng.random_range(0..60));
        let age_days = (now - received).num_days();

        let (category_code, description) = texts::request_text(rng);
        let category = self
            .catalogue
            .category(category_code)
            .expect("the texts use catalogue categories");
        let referral = category.referral.is_some();
        let mut status = if referral {
            "REFERRED"
        } else {
            status_for(age_days, rng)
        };
        // The auto-close job closes what stayed resolved two weeks.
        if status == "RESOLVED" && age_days > 10 {
            status = "CLOSED";
        }
        let triage = status == "TRIAGE";
        let (category_code, administration, queue, confidential, priority) = if triage {
            (
                None,
                self.catalogue.triage_administration().to_owned(),
                self.catalogue.triage_queue().to_owned(),
                false,
                2,
            )
        } else {
            (
                Some(category.code.clone()),
                category.administration.clone(),
                category.queue.clone(),
                self.catalogue.is_confidential(category),
                category.priority.rank(),
            )
        };
        let (ack_days, resolve_days) = if triage {
            self.catalogue.triage_service_levels()
        } else {
            (category.ack_days, category.resolve_days)
        };
        let ack_due = self.calendar.due_at(received, ack_days);
        let resolve_due = self.calendar.due_at(received, resolve_days);

        let channel = match rng.random_range(0..100) {
            0..75 => "WEB",
            75..90 => "PHONE",
            90..97 => "EMAIL",
            _ => "VISIT",
        };
        let registered_by =
            (channel != "WEB").then(|| format!("kc-agent-{}", rng.random_range(1..=12)));
        let contact = texts::contact(sequence, rng);
        let protected = rng.random_bool(0.003);
        let language = if texts::is_english(&description) {
            "en"
        } else {
            "sv"
        };
        let handler = format!("handler-{}-{}", administration, rng.random_range(1..=8));
        let clamp = |t: DateTime<Utc>| t.min(now - chrono::Duration::minutes(1));

        // The history a request at this status has.
        let handled = matches!(
            status,
            "IN_PROGRESS" | "WAITING_FOR_CITIZEN" | "RESOLVED" | "CLOSED"
        );
        let acknowledged = handled
            .then(|| clamp(received + chrono::Duration::minutes(rng.random_range(30..2_000))));
        let resolved = matches!(status, "RESOLVED" | "CLOSED").then(|| {
            clamp(
                acknowledged.unwrap_or(received)
                    + chrono::Duration::hours(rng.random_range(1..200)),
            )
        });
        let closed = match status {
            "REFERRED" => Some(received),
            "CLOSED" => {
                resolved.map(|r| clamp(r + chrono::Duration::days(rng.random_range(0..15))))
            }
            _ => None,
        };
        let waiting = (status == "WAITING_FOR_CITIZEN").then(|| {
            clamp(
                acknowledged.unwrap_or(received) + chrono::Duration::hours(rng.random_range(1..48)),
            )
        });

        let routed_kind = match status {
            "REFERRED" => "REFERRED",
            "TRIAGE" => "TRIAGED",
            _ => "ROUTED",
        };
        let first_status = match status {
            "REFERRED" => "REFERRED",
            "TRIAGE" => "TRIAGE",
            _ => "QUEUED",
        };
        let explanation = format!("ord: {}", category.code.replace('_', " "));
        let referral_message = category.referral.as_ref().map(|r| r.message.sv.clone());
        let mut history: Vec<SeedEvent> = vec![
            (
                "SUBMITTED",
                None,
                Some("RECEIVED"),
                if registered_by.is_some() {
                    "STAFF"
                } else {
                    "RESIDENT"
                },
                registered_by.clone(),
                None,
                None,
                received,
            ),
            (
                routed_kind,
                Some("RECEIVED"),
                Some(first_status),
                "SYSTEM",
                None,
                referral_message.clone(),
                Some(explanation.clone()),
                received,
            ),
        ];
        if let Some(at) = acknowledged {
            history.push((
                "CLAIMED",
                Some("QUEUED"),
                Some("IN_PROGRESS"),
                "STAFF",
                Some(handler.clone()),
                None,
                None,
                at,
            ));
        }
        if let Some(at) = waiting {
            history.push((
                "STATUS_CHANGED",
                Some("IN_PROGRESS"),
                Some("WAITING_FOR_CITIZEN"),
                "STAFF",
                Some(handler.clone()),
                Some("Kan du skicka en bild eller beskriva platsen närmare?".to_owned()),
                None,
                at,
            ));
        }
        if let Some(at) = resolved {
            history.push((
                "STATUS_CHANGED",
                Some("IN_PROGRESS"),
                Some("RESOLVED"),
                "STAFF",
                Some(handler.clone()),
                Some("Tack för att du hörde av dig. Vi har åtgärdat det du beskrev.".to_owned()),
                None,
                at,
            ));
        }
        if status == "CLOSED"
            && let Some(at) = closed
        {
            history.push((
                "STATUS_CHANGED",
                Some("RESOLVED"),
                Some("CLOSED"),
                "SYSTEM",
                None,
                None,
                None,
                at,
            ));
        }
        let updated = history.last().map_or(received, |e| e.7);
        let version = history.len().saturating_sub(1).max(1) as i64;
        let assignee = matches!(status, "IN_PROGRESS" | "WAITING_FOR_CITIZEN" | "RESOLVED")
            .then(|| handler.clone());

        let code = TrackingCode::generate();
        let reference = Reference::new(received.year(), sequence).to_string();
        let pn_digest = contact.personal_number.as_deref().map(|p| {
            PersonalNumber::parse(p, now.date_naive())
                .expect("generated numbers are valid")
                .search_digest(&self.key)
        });
        let address = rng
            .random_bool(0.4)
            .then(|| format!("{} {}", "Storgatan", rng.random_range(1..100)));
        let (lat, lon) = if rng.random_bool(0.3) {
            (
                Some(59.3 + rng.random_range(0.0..0.2)),
                Some(18.0 + rng.random_range(0.0..0.2)),
            )
        } else {
            (None, None)
        };

        chunk.requests.push(vec![
            Val::Int(id),
            Val::Text(reference.clone()),
            Val::Text(code.hash()),
            s(status),
            s(channel),
            s(language),
            Val::Text(description.clone()),
            category_code.into(),
            Val::Text(administration.clone()),
            Val::Text(queue),
            Val::Int(i64::from(priority)),
            Val::Bool(confidential),
            Val::Bool(protected),
            Val::Float(if triage { 0.3 } else { 0.85 }),
            Val::Text(explanation),
            lat.map_or(Val::Null, Val::Float),
            lon.map_or(Val::Null, Val::Float),
            address.into(),
            contact.name.clone().into(),
            contact.email.clone().into(),
            contact.phone.clone().into(),
            contact.personal_number.clone().into(),
            pn_digest.into(),
            registered_by.into(),
            Val::Null,
            assignee.clone().into(),
            assignee.map(|a| format!("Handläggare {a}")).into(),
            Val::Null,
            Val::Int(version),
            Val::Time(received),
            Val::Time(ack_due),
            Val::Time(resolve_due),
            acknowledged.into(),
            closed.into(),
            Val::Null,
            acknowledged
                .map(|a| i64::from(self.calendar.working_days_between(received, a)))
                .into(),
            resolved
                .map(|r| i64::from(self.calendar.working_days_between(received, r)))
                .into(),
            resolved.map_or(Val::Null, |r| Val::Bool(r <= resolve_due)),
            Val::Bool(triage),
            Val::Bool(false),
            Val::Time(received),
            Val::Time(updated),
        ]);
        for (kind, from, to, actor_kind, actor_id, message, note, at) in history {
            chunk.events.push(vec![
                Val::Int(id),
                s(kind),
                from.map(str::to_owned).into(),
                to.map(str::to_owned).into(),
                s(actor_kind),
                actor_id.into(),
                Val::Null,
                Val::Bool(true),
                message.into(),
                note.into(),
                Val::Null,
                Val::Text(administration.clone()),
                Val::Bool(confidential),
                Val::Time(at),
            ]);
        }
        for term in search::terms(&description) {
            chunk.terms.push(vec![Val::Text(term), Val::Int(id)]);
        }
        if k.is_multiple_of(self.sample_every) && !protected {
            chunk.samples.push(format!(
                "{reference}\t{code}\t{}\t{}\t{}",
                contact.personal_number.unwrap_or_default(),
                contact.email.unwrap_or_default(),
                contact.phone.unwrap_or_default()
            ));
        }
    }
}

/// Seeded (reference, tracking code) pairs and contact data, for lookups.
#[derive(Debug, Clone)]
pub struct Sample {
    pub reference: String,
    pub tracking_code: String,
    pub personal_number: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

pub fn read_samples(path: &PathBuf) -> Result<Vec<Sample>, BoxError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "cannot read {}: {e} (seed first with --seed N)",
            path.display()
        )
    })?;
    let opt = |s: Option<&str>| s.filter(|v| !v.is_empty()).map(str::to_owned);
    Ok(text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|line| {
            let mut parts = line.split('\t');
            Some(Sample {
                reference: parts.next()?.to_owned(),
                tracking_code: parts.next()?.to_owned(),
                personal_number: opt(parts.next()),
                email: opt(parts.next()),
                phone: opt(parts.next()),
            })
        })
        .collect())
}
