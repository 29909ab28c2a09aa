//! The load: closed-loop clients (each sends a request, waits for the
//! answer, sends the next), spread round-robin over the targets, for a
//! duration or a number of requests. Each operation checks its answer, so an
//! error is never counted as a fast success.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, RngExt, SeedableRng};
use serde_json::{Value, json};

use super::report::{ErrorKind, Tally};
use super::seed::Sample;
use super::texts;

const SUBMIT: &str = "mutation Submit($i: SubmitRequestInput!) { submitRequest(input: $i) { request { reference status category administration } trackingCode referral emergencyAdvice } }";

/// What the resident's status page asks (the same as the API tests).
const STATUS: &str = "query Status($reference: String!, $trackingCode: String!) { request(reference: $reference, trackingCode: $trackingCode) { reference status category administration categoryName createdAt updatedAt receivedAt history { kind status message at } } }";

const SEARCH: &str = "query Search($f: SearchFilterInput!) { searchRequests(filter: $f, first: 20) { nodes { reference status administration createdAt } } }";

const CLAIM: &str =
    "mutation Claim($q: String!) { claimNextRequest(queue: $q) { reference status version } }";

const RESOLVE: &str = "mutation Resolve($r: String!, $m: String!) { setStatus(reference: $r, status: RESOLVED, messageToCitizen: $m) { reference status } }";

/// Queues handlers work (every administration's own queue; not triage,
/// which needs a person to classify, nor referrals).
pub const HANDLER_QUEUES: &[&str] = &["TF", "SBF", "SOC", "VOF", "BUF", "KFF", "KLK", "KC"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    Submit,
    Status,
    Claim,
    Search,
    Mixed,
    BaselineSubmit,
    BaselineStatus,
}

impl Scenario {
    pub fn name(self) -> &'static str {
        match self {
            Self::Submit => "submit",
            Self::Status => "status",
            Self::Claim => "claim",
            Self::Search => "search",
            Self::Mixed => "mixed",
            Self::BaselineSubmit => "baseline-submit",
            Self::BaselineStatus => "baseline-status",
        }
    }
}

/// A day's proportions for `mixed`: residents following their requests
/// most, then new requests, the contact centre's lookups, handlers' work.
const MIX: &[(u32, Op)] = &[
    (45, Op::Status),
    (25, Op::Submit),
    (20, Op::Search),
    (10, Op::Claim),
];

#[derive(Debug, Clone, Copy)]
enum Op {
    Submit,
    Status,
    Search,
    Claim,
}

pub struct Handler {
    pub token: String,
}

/// Everything the clients share.
pub struct Ctx {
    pub http: reqwest::Client,
    /// GraphQL endpoints, used round-robin.
    pub targets: Vec<String>,
    next_target: AtomicUsize,
    pub samples: Vec<Sample>,
    pub contact_centre: String,
    pub handlers: Vec<Handler>,
    /// Every reference a handler got from `claimNextRequest`.
    claimed: Mutex<HashSet<String>>,
    pub double_claims: AtomicU64,
    /// Set when every handler found every queue empty.
    pub queues_empty: AtomicBool,
    /// The baseline server's address, when it runs.
    pub baseline: Option<String>,
}

impl Ctx {
    pub fn new(
        targets: Vec<String>,
        samples: Vec<Sample>,
        contact_centre: String,
        handlers: Vec<Handler>,
        clients: usize,
    ) -> Self {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(clients.max(16))
            .timeout(Duration::from_secs(60))
            .tcp_nodelay(true)
            .build()
            .expect("an HTTP client");
        Self {
            http,
            targets,
            next_target: AtomicUsize::new(0),
            samples,
            contact_centre,
            handlers,
            claimed: Mutex::new(HashSet::new()),
            double_claims: AtomicU64::new(0),
            queues_empty: AtomicBool::new(false),
            baseline: None,
        }
    }

    fn target(&self) -> &str {
        let i = self.next_target.fetch_add(1, Ordering::Relaxed);
        &self.targets[i % self.targets.len()]
    }
}

/// When a run stops.
pub enum Stop {
    At(Instant),
    /// Requests left to send, over all clients.
    Count(AtomicU64),
}

impl Stop {
    fn next(&self) -> bool {
        match self {
            Self::At(t) => Instant::now() < *t,
            Self::Count(left) => left
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                .is_ok(),
        }
    }
}

/// Runs `scenario` with `clients` clients until `stop`; the figures and
/// the time it took.
pub async fn run(ctx: &Arc<Ctx>, scenario: Scenario, clients: usize, stop: Stop) -> (Tally, f64) {
    let stop = Arc::new(stop);
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let ctx = ctx.clone();
            let stop = stop.clone();
            tokio::spawn(async move {
                let mut tally = Tally::default();
                let mut rng = StdRng::from_rng(&mut rand::rng());
                let mut client = Client { index: c, queue: c };
                while stop.next() {
                    let more = client.step(&ctx, scenario, &mut tally, &mut rng).await;
                    if !more {
                        break;
                    }
                }
                tally
            })
        })
        .collect();
    let mut total = Tally::default();
    for t in tasks {
        total.merge(&t.await.expect("client task"));
    }
    (total, started.elapsed().as_secs_f64())
}

struct Client {
    index: usize,
    /// Handlers: which of `HANDLER_QUEUES` this one is draining.
    queue: usize,
}

/// A GraphQL answer, or why there is none.
enum Answer {
    Data(Value),
    Failed(ErrorKind, String),
}

impl Client {
    /// One operation of `scenario`; false when this client has nothing left
    /// to do (a handler who found every queue empty).
    async fn step(
        &mut self,
        ctx: &Ctx,
        scenario: Scenario,
        tally: &mut Tally,
        rng: &mut impl Rng,
    ) -> bool {
        match scenario {
            Scenario::Submit => self.submit(ctx, tally, rng, "submit").await,
            Scenario::Status => self.status(ctx, tally, rng).await,
            Scenario::Search => self.search(ctx, tally, rng).await,
            Scenario::Claim => return self.claim(ctx, tally).await,
            Scenario::Mixed => {
                let total: u32 = MIX.iter().map(|m| m.0).sum();
                let mut roll = rng.random_range(0..total);
                let mut op = Op::Status;
                for (share, candidate) in MIX {
                    if roll < *share {
                        op = *candidate;
                        break;
                    }
                    roll -= share;
                }
                match op {
                    Op::Submit => self.submit(ctx, tally, rng, "submit").await,
                    Op::Status => self.status(ctx, tally, rng).await,
                    Op::Search => self.search(ctx, tally, rng).await,
                    Op::Claim => {
                        if !ctx.queues_empty.load(Ordering::Relaxed) {
                            self.claim(ctx, tally).await;
                        }
                    }
                }
            }
            Scenario::BaselineSubmit => {
                let base = ctx.baseline.as_deref().expect("baseline server");
                let (input, _) = submission(rng, false);
                let url = format!("{base}/baseline/submit");
                let answer = self.post_plain(ctx, &url, &input).await;
                check_plain(tally, "baseline insert", answer, "reference");
            }
            Scenario::BaselineStatus => {
                let base = ctx.baseline.as_deref().expect("baseline server");
                let sample = &ctx.samples[rng.random_range(0..ctx.samples.len())];
                let url = format!("{base}/baseline/status");
                let body =
                    json!({ "reference": sample.reference, "trackingCode": sample.tracking_code });
                let answer = self.post_plain(ctx, &url, &body).await;
                check_plain(tally, "baseline select", answer, "status");
            }
        }
        true
    }

    async fn submit(&mut self, ctx: &Ctx, tally: &mut Tally, rng: &mut impl Rng, op: &'static str) {
        // One in seven is registered by the contact centre from a call.
        let by_phone = rng.random_bool(0.15);
        let (input, _) = submission(rng, by_phone);
        let token = by_phone.then_some(ctx.contact_centre.as_str());
        let (answer, took) = self
            .graphql(ctx, token, SUBMIT, json!({ "i": input }))
            .await;
        let stats = tally.op(op);
        stats.record(took);
        match answer {
            Answer::Data(data) => {
                let payload = &data["submitRequest"];
                if payload["trackingCode"].as_str().is_none()
                    || payload["request"]["reference"].as_str().is_none()
                {
                    stats.fail(
                        ErrorKind::Graphql,
                        format!("no reference or tracking code: {data}"),
                    );
                }
            }
            Answer::Failed(kind, message) => stats.fail(kind, message),
        }
    }

    async fn status(&mut self, ctx: &Ctx, tally: &mut Tally, rng: &mut impl Rng) {
        let sample = &ctx.samples[rng.random_range(0..ctx.samples.len())];
        let variables =
            json!({ "reference": sample.reference, "trackingCode": sample.tracking_code });
        let (answer, took) = self.graphql(ctx, None, STATUS, variables).await;
        let stats = tally.op("status");
        stats.record(took);
        match answer {
            Answer::Data(data) => {
                if data["request"]["reference"].as_str() != Some(sample.reference.as_str()) {
                    stats.fail(
                        ErrorKind::Graphql,
                        format!("{} not found: {data}", sample.reference),
                    );
                }
            }
            Answer::Failed(kind, message) => stats.fail(kind, message),
        }
    }

    async fn search(&mut self, ctx: &Ctx, tally: &mut Tally, rng: &mut impl Rng) {
        let sample = &ctx.samples[rng.random_range(0..ctx.samples.len())];
        let roll = rng.random_range(0..100);
        // By reference most, then by the person, then by words.
        let (op, filter, expect) = match roll {
            0..40 => (
                "search: reference",
                json!({ "reference": sample.reference }),
                true,
            ),
            40..60 if sample.personal_number.is_some() => (
                "search: personal number",
                json!({ "personalNumber": sample.personal_number }),
                true,
            ),
            60..75 if sample.email.is_some() => {
                ("search: e-mail", json!({ "email": sample.email }), true)
            }
            75..85 if sample.phone.is_some() => {
                ("search: phone", json!({ "phone": sample.phone }), true)
            }
            85..100 => {
                let word = texts::SEARCH_WORDS[rng.random_range(0..texts::SEARCH_WORDS.len())];
                ("search: text", json!({ "text": word }), false)
            }
            _ => (
                "search: reference",
                json!({ "reference": sample.reference }),
                true,
            ),
        };
        let (answer, took) = self
            .graphql(
                ctx,
                Some(&ctx.contact_centre),
                SEARCH,
                json!({ "f": filter }),
            )
            .await;
        let stats = tally.op(op);
        stats.record(took);
        match answer {
            Answer::Data(data) => {
                let nodes = data["searchRequests"]["nodes"].as_array();
                let found = nodes.is_some_and(|n| {
                    !expect
                        || n.iter()
                            .any(|r| r["reference"].as_str() == Some(sample.reference.as_str()))
                });
                if !found {
                    stats.fail(
                        ErrorKind::Graphql,
                        format!("{op} did not find {}: {data}", sample.reference),
                    );
                }
            }
            Answer::Failed(kind, message) => stats.fail(kind, message),
        }
    }

    /// A handler takes the most urgent request of their queue and resolves
    /// it; an empty queue sends them to the next. False when all are empty.
    async fn claim(&mut self, ctx: &Ctx, tally: &mut Tally) -> bool {
        let handler = &ctx.handlers[self.index % ctx.handlers.len()];
        let mut empty_queues = 0;
        let reference = loop {
            let queue = HANDLER_QUEUES[self.queue % HANDLER_QUEUES.len()];
            let (answer, took) = self
                .graphql(ctx, Some(&handler.token), CLAIM, json!({ "q": queue }))
                .await;
            let stats = tally.op("claim");
            match answer {
                Answer::Data(data) => match data["claimNextRequest"]["reference"].as_str() {
                    Some(reference) => {
                        stats.record(took);
                        break reference.to_owned();
                    }
                    None => {
                        empty_queues += 1;
                        self.queue += 1;
                        if empty_queues >= HANDLER_QUEUES.len() {
                            ctx.queues_empty.store(true, Ordering::Relaxed);
                            return false;
                        }
                    }
                },
                Answer::Failed(kind, message) => {
                    stats.record(took);
                    stats.fail(kind, message);
                    return true;
                }
            }
        };
        let fresh = ctx
            .claimed
            .lock()
            .expect("claimed set")
            .insert(reference.clone());
        if !fresh {
            ctx.double_claims.fetch_add(1, Ordering::Relaxed);
            tally
                .op("claim")
                .fail(ErrorKind::Graphql, format!("{reference} was claimed twice"));
        }
        let variables = json!({ "r": reference, "m": "Tack för att du hörde av dig. Vi har åtgärdat det du beskrev." });
        let (answer, took) = self
            .graphql(ctx, Some(&handler.token), RESOLVE, variables)
            .await;
        let stats = tally.op("resolve");
        stats.record(took);
        match answer {
            Answer::Data(data) => {
                if data["setStatus"]["status"].as_str() != Some("RESOLVED") {
                    stats.fail(ErrorKind::Graphql, format!("not resolved: {data}"));
                }
            }
            Answer::Failed(kind, message) => stats.fail(kind, message),
        }
        true
    }

    async fn graphql(
        &self,
        ctx: &Ctx,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> (Answer, Duration) {
        let mut request = ctx
            .http
            .post(ctx.target())
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let started = Instant::now();
        let answer = match request.send().await {
            Err(e) => Answer::Failed(ErrorKind::Http, format!("transport: {e}")),
            Ok(response) => {
                let status = response.status();
                match response.bytes().await {
                    Err(e) => Answer::Failed(ErrorKind::Http, format!("reading the body: {e}")),
                    Ok(body) if !status.is_success() => Answer::Failed(
                        ErrorKind::Http,
                        format!("HTTP {status}: {}", String::from_utf8_lossy(&body)),
                    ),
                    Ok(body) => match serde_json::from_slice::<Value>(&body) {
                        Err(e) => Answer::Failed(ErrorKind::Http, format!("not JSON: {e}")),
                        Ok(v) if v["errors"].as_array().is_some_and(|e| !e.is_empty()) => {
                            let e = &v["errors"][0];
                            Answer::Failed(
                                ErrorKind::Graphql,
                                format!(
                                    "{}: {}",
                                    e["extensions"]["code"].as_str().unwrap_or("?"),
                                    e["message"].as_str().unwrap_or("?")
                                ),
                            )
                        }
                        Ok(mut v) => Answer::Data(v["data"].take()),
                    },
                }
            }
        };
        (answer, started.elapsed())
    }

    async fn post_plain(&self, ctx: &Ctx, url: &str, body: &Value) -> (Answer, Duration) {
        let started = Instant::now();
        let answer = match ctx.http.post(url).json(body).send().await {
            Err(e) => Answer::Failed(ErrorKind::Http, format!("transport: {e}")),
            Ok(response) => {
                let status = response.status();
                match response.bytes().await {
                    Ok(body) if status.is_success() => match serde_json::from_slice(&body) {
                        Ok(v) => Answer::Data(v),
                        Err(e) => Answer::Failed(ErrorKind::Http, format!("not JSON: {e}")),
                    },
                    Ok(body) => Answer::Failed(
                        ErrorKind::Http,
                        format!("HTTP {status}: {}", String::from_utf8_lossy(&body)),
                    ),
                    Err(e) => Answer::Failed(ErrorKind::Http, format!("reading the body: {e}")),
                }
            }
        };
        (answer, started.elapsed())
    }
}

fn check_plain(tally: &mut Tally, op: &'static str, answer: (Answer, Duration), field: &str) {
    let stats = tally.op(op);
    stats.record(answer.1);
    match answer.0 {
        Answer::Data(v) if v[field].is_string() => {}
        Answer::Data(v) => stats.fail(ErrorKind::Graphql, format!("unexpected answer: {v}")),
        Answer::Failed(kind, message) => stats.fail(kind, message),
    }
}

/// A submission as the web form (or the contact centre, `by_phone`) sends
/// it: a realistic text, sometimes the resident's category pick (now and
/// then a wrong one), contact data as people give it.
pub fn submission(rng: &mut impl Rng, by_phone: bool) -> (Value, &'static str) {
    let (category, text) = texts::request_text(rng);
    let hint = match rng.random_range(0..10) {
        0..6 => Some(category),
        6..9 => None,
        _ => Some(texts::KINDS[rng.random_range(0..texts::KINDS.len())].0),
    };
    let contact = texts::contact(rng.random_range(0..24_000_000), rng);
    let mut input = json!({
        "description": text,
        "language": if texts::is_english(&text) { "en" } else { "sv" },
        "contact": {
            "name": contact.name,
            "email": contact.email,
            "phone": contact.phone,
            "personalNumber": contact.personal_number,
        },
    });
    if let Some(hint) = hint {
        input["categoryHint"] = json!(hint);
    }
    if rng.random_bool(0.3) {
        input["location"] = json!({ "address": format!("Storgatan {}", rng.random_range(1..100)) });
    }
    if by_phone {
        input["channel"] = json!("PHONE");
    } else {
        // The web form sends one so that a double click registers once.
        input["idempotencyKey"] = json!(format!("{:032x}", rng.random::<u128>()));
    }
    (input, category)
}
