//! What a run measured: per operation a latency histogram (HDR, in
//! microseconds: exact percentiles at fixed memory), counts of HTTP and
//! GraphQL errors with the first few messages, and the table printed at the
//! end.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;

/// Errors whose message is kept, per operation.
const KEPT_MESSAGES: usize = 5;

/// One operation's figures, merged over all clients.
pub struct OpStats {
    pub latency: Histogram<u64>,
    /// Transport failures and non-2xx answers.
    pub http_errors: u64,
    /// 2xx answers carrying GraphQL `errors` or a wrong answer.
    pub graphql_errors: u64,
    pub messages: Vec<String>,
}

impl Default for OpStats {
    fn default() -> Self {
        Self {
            // 1 µs to 10 min, 3 significant digits.
            latency: Histogram::new_with_bounds(1, 600_000_000, 3).expect("histogram bounds"),
            http_errors: 0,
            graphql_errors: 0,
            messages: Vec::new(),
        }
    }
}

impl OpStats {
    pub fn record(&mut self, took: Duration) {
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.latency.saturating_record(micros.max(1));
    }

    pub fn fail(&mut self, kind: ErrorKind, message: String) {
        match kind {
            ErrorKind::Http => self.http_errors += 1,
            ErrorKind::Graphql => self.graphql_errors += 1,
        }
        if self.messages.len() < KEPT_MESSAGES {
            self.messages.push(message);
        }
    }

    pub fn merge(&mut self, other: &OpStats) {
        self.latency
            .add(&other.latency)
            .expect("same histogram bounds");
        self.http_errors += other.http_errors;
        self.graphql_errors += other.graphql_errors;
        for m in &other.messages {
            if self.messages.len() < KEPT_MESSAGES {
                self.messages.push(m.clone());
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub enum ErrorKind {
    Http,
    Graphql,
}

/// Operation name → figures, for one client or a whole scenario.
#[derive(Default)]
pub struct Tally(pub BTreeMap<&'static str, OpStats>);

impl Tally {
    pub fn op(&mut self, name: &'static str) -> &mut OpStats {
        self.0.entry(name).or_default()
    }

    pub fn merge(&mut self, other: &Tally) {
        for (name, stats) in &other.0 {
            self.op(name).merge(stats);
        }
    }
}

/// One row of the report.
pub struct Row {
    pub scenario: String,
    pub op: String,
    pub clients: usize,
    pub requests: u64,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub http_errors: u64,
    pub graphql_errors: u64,
    /// Ours as a share of the baseline's throughput, when measured.
    pub of_baseline: Option<f64>,
    pub note: String,
}

impl Row {
    pub fn new(scenario: &str, op: &str, clients: usize, stats: &OpStats, secs: f64) -> Self {
        let ms = |v: u64| v as f64 / 1000.0;
        let h = &stats.latency;
        Self {
            scenario: scenario.to_owned(),
            op: op.to_owned(),
            clients,
            requests: h.len(),
            per_second: h.len() as f64 / secs.max(1e-9),
            p50_ms: ms(h.value_at_quantile(0.50)),
            p90_ms: ms(h.value_at_quantile(0.90)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            max_ms: ms(h.max()),
            http_errors: stats.http_errors,
            graphql_errors: stats.graphql_errors,
            of_baseline: None,
            note: String::new(),
        }
    }
}

/// The table in Markdown, ready for the README.
pub fn markdown(rows: &[Row]) -> String {
    let mut out = String::from(
        "| scenario | operation | clients | requests | req/s | p50 ms | p90 ms | p99 ms | max ms | HTTP errors | GraphQL errors | of baseline | note |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n",
    );
    for r in rows {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {:.0} | {:.1} | {:.1} | {:.1} | {:.1} | {} | {} | {} | {} |\n",
            r.scenario,
            r.op,
            r.clients,
            r.requests,
            r.per_second,
            r.p50_ms,
            r.p90_ms,
            r.p99_ms,
            r.max_ms,
            r.http_errors,
            r.graphql_errors,
            r.of_baseline
                .map_or_else(|| "—".to_owned(), |s| format!("{:.0} %", s * 100.0)),
            r.note,
        ));
    }
    out
}
