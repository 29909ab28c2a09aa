//! Residents hear back: the outbox delivers each message over a real SMTP
//! conversation, retries what fails, keeps what never goes through as a
//! dead letter, loses nothing in a crash, sends nothing under protected
//! identity, and administrations' systems get signed webhooks.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, KeyInit, Mac};
use mail_parser::MessageParser;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::restart::Server;
use crate::smtp_sink::{ReceivedMail, SmtpSink};
use crate::support::{SUBMIT, TestApp, fresh_database, spawn_app_with};

const STREET_LIGHT: &str = "Gatlampan utanför Storgatan 12 är trasig och lyser inte";
const SET_STATUS: &str =
    "mutation($reference: String!, $status: RequestStatus!, $message: String) {
  setStatus(reference: $reference, status: $status, messageToCitizen: $message) { status } }";
const CLAIM: &str =
    "mutation($reference: String!) { claimRequest(reference: $reference) { status } }";

async fn app_mailing_to(
    sink: &SmtpSink,
    adjust: impl FnOnce(&mut envagin::config::Config),
) -> TestApp {
    let url = sink.url();
    spawn_app_with(move |c| {
        c.smtp_url = Some(url);
        c.mail_from = "Exempelby kommun <noreply@exempelby.se>".into();
        c.outbox_poll_ms = 50;
        c.outbox_retry_base_secs = 0;
        adjust(c);
    })
    .await
}

/// A delivered e-mail as the resident's mail program shows it.
pub(crate) struct Letter {
    to: Vec<String>,
    pub(crate) subject: String,
    text: String,
    html: String,
    message_id: String,
    auto_submitted: Option<String>,
}

pub(crate) fn read(mail: &ReceivedMail) -> Letter {
    let message = MessageParser::default()
        .parse(mail.data.as_bytes())
        .expect("a parseable message");
    Letter {
        to: mail.to.clone(),
        subject: message.subject().unwrap_or_default().to_owned(),
        text: message.body_text(0).unwrap_or_default().into_owned(),
        html: message.body_html(0).unwrap_or_default().into_owned(),
        message_id: message.message_id().unwrap_or_default().to_owned(),
        auto_submitted: ReceivedMail::header(&mail.data, "Auto-Submitted"),
    }
}

fn with_email(description: &str, email: &str) -> Value {
    json!({ "input": { "description": description, "contact": { "email": email } } })
}

async fn submit(app: &TestApp, input: Value) -> (String, String) {
    let answer = app.gql(SUBMIT, input).await;
    assert!(answer["errors"].is_null(), "submission failed: {answer}");
    let payload = &answer["data"]["submitRequest"];
    (
        payload["request"]["reference"].as_str().unwrap().to_owned(),
        payload["trackingCode"].as_str().unwrap().to_owned(),
    )
}

/// The outbox rows of the test database: (message id, channel, state,
/// attempts, body still stored, last error).
async fn outbox(app: &TestApp) -> Vec<(String, String, String, i32, bool, Option<String>)> {
    let db = app.db().await;
    db.query_all_raw(Statement::from_string(
        db.get_database_backend(),
        "SELECT message_id, channel, state, attempts, body_text, last_error FROM notifications ORDER BY id",
    ))
    .await
    .unwrap()
    .into_iter()
    .map(|row| {
        let body: Option<String> = row.try_get("", "body_text").unwrap();
        (
            row.try_get("", "message_id").unwrap(),
            row.try_get("", "channel").unwrap(),
            row.try_get("", "state").unwrap(),
            row.try_get("", "attempts").unwrap(),
            body.is_some(),
            row.try_get("", "last_error").unwrap(),
        )
    })
    .collect()
}

async fn wait_until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting until {what}");
}

#[tokio::test]
async fn a_resident_who_left_an_email_address_gets_a_receipt_with_reference_and_tracking_code() {
    let sink = SmtpSink::start().await;
    let app = app_mailing_to(&sink, |_| {}).await;
    let (reference, tracking_code) =
        submit(&app, with_email(STREET_LIGHT, "anna@example.se")).await;

    let mails = sink.wait_for(1, Duration::from_secs(20)).await;
    assert_eq!(mails.len(), 1);
    let letter = read(&mails[0]);
    assert_eq!(letter.to, vec!["anna@example.se".to_owned()]);
    assert!(letter.subject.contains(&reference), "{}", letter.subject);
    assert!(letter.text.contains(&tracking_code), "{}", letter.text);
    assert!(
        letter
            .text
            .contains(&format!("/status?reference={reference}"))
    );
    assert!(letter.html.contains(&reference));
    assert_eq!(letter.auto_submitted.as_deref(), Some("auto-generated"));

    // Delivered once, recorded as sent, and the tracking code no longer
    // lies in the outbox.
    wait_until("the receipt is recorded as sent", || async {
        outbox(&app).await.iter().all(|row| row.2 == "SENT")
    })
    .await;
    let rows = outbox(&app).await;
    assert_eq!(rows.len(), 1);
    let (message_id, channel, _, attempts, body_kept, _) = &rows[0];
    assert_eq!(
        (channel.as_str(), *attempts, *body_kept),
        ("EMAIL", 1, false)
    );
    assert!(
        letter.message_id.starts_with(message_id.as_str()),
        "{}",
        letter.message_id
    );
}

#[tokio::test]
async fn a_resident_who_wrote_in_another_language_gets_the_receipt_in_swedish_and_english() {
    let sink = SmtpSink::start().await;
    let app = app_mailing_to(&sink, |_| {}).await;
    let polish =
        "Latarnia uliczna przed naszym blokiem nie świeci od dwóch tygodni, proszę o naprawę";
    let (reference, tracking_code) = submit(&app, with_email(polish, "jan@example.pl")).await;
    let mails = sink.wait_for(1, Duration::from_secs(20)).await;
    let letter = read(&mails[0]);
    assert!(letter.subject.contains("Ditt ärende"), "{}", letter.subject);
    assert!(
        letter.subject.contains("Your request"),
        "{}",
        letter.subject
    );
    assert!(letter.text.contains("In English"), "{}", letter.text);
    for label in ["Spårningskod", "Tracking code"] {
        assert!(
            letter.text.contains(&format!("{label}: {tracking_code}")),
            "{label} in its language: {}",
            letter.text
        );
    }
    assert!(letter.html.contains("lang=\"en\""), "{}", letter.html);
    // One written in Swedish gets Swedish only.
    submit(&app, with_email(STREET_LIGHT, "anna@example.se")).await;
    let mails = sink.wait_for(2, Duration::from_secs(20)).await;
    let swedish = mails
        .iter()
        .map(read)
        .find(|l| !l.subject.contains(&reference))
        .expect("the second receipt");
    assert!(
        !swedish.subject.contains("Your request"),
        "{}",
        swedish.subject
    );
}

#[tokio::test]
async fn a_handlers_question_reaches_the_resident_with_personal_numbers_masked() {
    let sink = SmtpSink::start().await;
    let app = app_mailing_to(&sink, |_| {}).await;
    let (reference, _) = submit(&app, with_email(STREET_LIGHT, "anna@example.se")).await;
    let handler = app.handler("tf-bertil", &["TF"]);
    let claimed = app
        .gql_as(&handler, CLAIM, json!({ "reference": reference }))
        .await;
    assert!(claimed["errors"].is_null(), "{claimed}");
    let asked = app
        .gql_as(
            &handler,
            SET_STATUS,
            json!({
                "reference": reference,
                "status": "WAITING_FOR_CITIZEN",
                "message": "Vilken stolpe gäller det? (Gäller det 19800101-1234:s fastighet?)",
            }),
        )
        .await;
    assert!(asked["errors"].is_null(), "{asked}");

    let mails = sink.wait_for(2, Duration::from_secs(20)).await;
    assert_eq!(mails.len(), 2, "a receipt and the question, no more");
    let question = read(&mails[1]);
    assert!(question.subject.contains(&reference));
    assert!(
        question.text.contains("Vilken stolpe gäller det?"),
        "{}",
        question.text
    );
    assert!(question.text.contains("19800101-****"), "{}", question.text);
    assert!(!question.text.contains("1234:s"), "{}", question.text);
    // A claim tells the resident nothing.
    assert!(!mails.iter().any(|m| read(m).text.contains("IN_PROGRESS")));
}

#[tokio::test]
async fn nothing_is_sent_to_a_resident_with_protected_identity() {
    let sink = SmtpSink::start().await;
    let app = app_mailing_to(&sink, |_| {}).await;
    let protected = json!({ "input": {
        "description": STREET_LIGHT,
        "protectedIdentity": true,
        "contact": { "email": "skyddad@example.se", "phone": "0701234567" },
    } });
    submit(&app, protected).await;
    // Messages go out in the order they were written: once the next
    // resident's receipt is there, the protected one's would be too.
    let (reference, _) = submit(&app, with_email(STREET_LIGHT, "anna@example.se")).await;
    sink.wait_for(1, Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mails: Vec<_> = sink.messages().iter().map(read).collect();
    assert_eq!(
        mails.len(),
        1,
        "only the unprotected resident hears: {:?}",
        mails.iter().map(|m| &m.to).collect::<Vec<_>>()
    );
    assert_eq!(mails[0].to, vec!["anna@example.se".to_owned()]);
    assert!(mails[0].subject.contains(&reference));
    drop(mails);
    assert_eq!(
        outbox(&app).await.len(),
        1,
        "no row is even written for the protected request"
    );
}

#[tokio::test]
async fn a_message_the_mail_server_defers_is_retried_with_the_same_message_id() {
    let sink = SmtpSink::start().await;
    sink.fail_next(2);
    let app = app_mailing_to(&sink, |_| {}).await;
    let (reference, _) = submit(&app, with_email(STREET_LIGHT, "anna@example.se")).await;

    let mails = sink.wait_for(1, Duration::from_secs(20)).await;
    assert!(read(&mails[0]).subject.contains(&reference));
    wait_until("the receipt is recorded as sent", || async {
        outbox(&app).await.iter().all(|row| row.2 == "SENT")
    })
    .await;
    let rows = outbox(&app).await;
    assert_eq!(rows[0].3, 3, "two deferrals, then delivered");
    assert!(read(&mails[0]).message_id.starts_with(rows[0].0.as_str()));
}

#[tokio::test]
async fn a_message_that_keeps_failing_becomes_a_dead_letter_after_the_configured_attempts() {
    let sink = SmtpSink::start().await;
    sink.fail_next(1_000);
    let app = app_mailing_to(&sink, |c| c.outbox_max_attempts = 3).await;
    submit(&app, with_email(STREET_LIGHT, "anna@example.se")).await;

    wait_until("the receipt is given up on", || async {
        outbox(&app).await.iter().all(|row| row.2 == "DEAD")
    })
    .await;
    let rows = outbox(&app).await;
    assert_eq!(rows[0].3, 3);
    assert!(rows[0].4, "a dead letter keeps its body for the operator");
    assert!(
        rows[0].5.as_deref().unwrap_or_default().contains("451"),
        "{:?}",
        rows[0].5
    );
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.lines().any(|l| l == "envagin_outbox_dead 1"),
        "{metrics}"
    );
    assert!(
        metrics.lines().any(|l| l == "envagin_outbox_pending 0"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_mailbox_the_server_refuses_is_given_up_at_once() {
    let sink = SmtpSink::start().await;
    sink.reject_all(true);
    let app = app_mailing_to(&sink, |c| c.outbox_max_attempts = 10).await;
    submit(&app, with_email(STREET_LIGHT, "finns-inte@example.se")).await;
    wait_until("the receipt is given up on", || async {
        outbox(&app).await.iter().all(|row| row.2 == "DEAD")
    })
    .await;
    let rows = outbox(&app).await;
    assert_eq!(rows[0].3, 1, "a permanent refusal is not retried");
}

/// A mail server that accepts connections and then says nothing: a sender
/// talking to it is stuck mid-delivery.
pub(crate) async fn silent_mail_server() -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    (addr, task)
}

#[tokio::test]
async fn messages_of_a_server_killed_mid_delivery_are_delivered_after_its_lease() {
    let dir = tempfile::TempDir::new().unwrap();
    let url = fresh_database(&dir).await;
    let (silent, _silent_task) = silent_mail_server().await;
    let server = Server::spawn(|c| {
        c.env("ENVAGIN_DATABASE_URL", &url)
            .env("ENVAGIN_DATA_DIR", dir.path())
            .env("ENVAGIN_SMTP_URL", format!("smtp://{silent}"))
            .env("ENVAGIN_OUTBOX_POLL_MS", "50")
            .env("ENVAGIN_OUTBOX_LEASE_SECS", "2");
    })
    .await;
    let mut references = Vec::new();
    for i in 0..5 {
        let answer = server
            .gql(
                SUBMIT,
                with_email(
                    &format!("{STREET_LIGHT} ({i})"),
                    &format!("boende{i}@example.se"),
                ),
            )
            .await;
        let reference = answer["data"]["submitRequest"]["request"]["reference"]
            .as_str()
            .unwrap_or_else(|| panic!("acknowledged: {answer}"))
            .to_owned();
        references.push(reference);
    }
    // The sender has leased the first message and hangs on the silent
    // server; then the process dies without a word.
    let db = sea_orm::Database::connect(url.as_str()).await.unwrap();
    wait_until("the sender is mid-delivery", || async {
        let row = db
            .query_one_raw(Statement::from_string(
                db.get_database_backend(),
                "SELECT COUNT(*) AS n FROM notifications WHERE attempts > 0",
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get::<i64>("", "n").unwrap() > 0
    })
    .await;
    server.kill();

    let sink = SmtpSink::start().await;
    let sink_url = sink.url();
    let data_dir = tempfile::TempDir::new().unwrap();
    let _restarted = Server::spawn(|c| {
        c.env("ENVAGIN_DATABASE_URL", &url)
            .env("ENVAGIN_DATA_DIR", data_dir.path())
            .env("ENVAGIN_SMTP_URL", sink_url)
            .env("ENVAGIN_OUTBOX_POLL_MS", "50");
    })
    .await;
    let mails = sink.wait_for(5, Duration::from_secs(30)).await;
    for reference in &references {
        assert!(
            mails
                .iter()
                .any(|m| read(m).subject.contains(reference.as_str())),
            "the receipt of {reference} was lost"
        );
    }
}

/// An administration's system: records each delivery, and refuses the
/// first `refuse` of them with 503.
#[derive(Clone, Default)]
struct Receiver {
    deliveries: Arc<Mutex<Vec<(HeaderMap, String)>>>,
    refuse: Arc<Mutex<usize>>,
}

impl Receiver {
    async fn start(refuse: usize) -> (Self, String) {
        let receiver = Self::default();
        *receiver.refuse.lock().unwrap() = refuse;
        let state = receiver.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: String| {
                let state = state.clone();
                async move {
                    state.deliveries.lock().unwrap().push((headers, body));
                    let mut refuse = state.refuse.lock().unwrap();
                    if *refuse > 0 {
                        *refuse -= 1;
                        StatusCode::SERVICE_UNAVAILABLE
                    } else {
                        StatusCode::NO_CONTENT
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.ok() });
        (receiver, url)
    }

    fn deliveries(&self) -> Vec<(HeaderMap, String)> {
        self.deliveries.lock().unwrap().clone()
    }
}

/// The receiver's side of the README's recipe, written independently of
/// the server's code: HMAC-SHA256 over "<t>.<body>", compared with v1.
fn signature_holds(secret: &str, header: &str, body: &str) -> bool {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", value)) => t = Some(value),
            Some(("v1", value)) => v1 = Some(value),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return false;
    };
    let age = chrono::Utc::now().timestamp() - t.parse::<i64>().unwrap_or(0);
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    let expected = hex::decode(v1).unwrap_or_default();
    age.abs() < 300 && mac.verify_slice(&expected).is_ok()
}

const WEBHOOK_SECRET: &str = "webhook-secret-webhook-secret-0123456789";

#[tokio::test]
async fn an_administrations_system_gets_signed_webhooks_for_routed_requests_and_status_changes() {
    let (receiver, hook) = Receiver::start(1).await;
    let app = spawn_app_with(move |c| {
        c.webhooks = envagin::config::Webhooks(BTreeMap::from([("TF".to_owned(), hook)]));
        c.webhook_secret = Some(WEBHOOK_SECRET.to_owned());
        c.outbox_poll_ms = 50;
        c.outbox_retry_base_secs = 0;
    })
    .await;
    let input = json!({ "input": {
        "description": STREET_LIGHT,
        "contact": { "name": "Anna Svensson", "email": "anna@example.se", "personalNumber": "19121212-1212" },
    } });
    let (reference, _) = submit(&app, input).await;
    // Refused once, then delivered again with the same delivery id.
    wait_until("the routed request is delivered", || async {
        receiver.deliveries().len() >= 2
    })
    .await;
    let deliveries = receiver.deliveries();
    let (first, second) = (&deliveries[0], &deliveries[1]);
    assert_eq!(
        first.0["x-envagin-delivery"],
        second.0["x-envagin-delivery"]
    );
    assert_eq!(first.1, second.1, "the same body on every attempt");
    let body: Value = serde_json::from_str(&second.1).unwrap();
    assert_eq!(body["type"], "request.routed");
    assert_eq!(body["request"]["reference"], reference.as_str());
    assert_eq!(body["request"]["administration"], "TF");
    assert_eq!(body["request"]["contact"]["email"], "anna@example.se");
    assert!(
        !second.1.contains("19121212"),
        "personal identity numbers never leave: {}",
        second.1
    );
    let signature = second.0["x-envagin-signature"].to_str().unwrap();
    assert!(
        signature_holds(WEBHOOK_SECRET, signature, &second.1),
        "{signature}"
    );
    assert!(!signature_holds(
        "another-secret-another-secret-0123456789",
        signature,
        &second.1
    ));
    let tampered = second.1.replace("TF", "SOC");
    assert!(!signature_holds(WEBHOOK_SECRET, signature, &tampered));

    let handler = app.handler("tf-bertil", &["TF"]);
    app.gql_as(&handler, CLAIM, json!({ "reference": reference }))
        .await;
    wait_until("the claim is delivered", || async {
        receiver.deliveries().len() >= 3
    })
    .await;
    let (headers, body) = &receiver.deliveries()[2];
    let body_json: Value = serde_json::from_str(body).unwrap();
    assert_eq!(body_json["type"], "request.status_changed");
    assert_eq!(body_json["request"]["status"], "IN_PROGRESS");
    assert_eq!(headers["x-envagin-event"], "request.status_changed");
    assert!(signature_holds(
        WEBHOOK_SECRET,
        headers["x-envagin-signature"].to_str().unwrap(),
        body
    ));
}

#[tokio::test]
async fn an_administrations_system_works_its_own_requests_with_a_service_token_and_no_others() {
    let app = spawn_app_with(|_| {}).await;
    let (street, _) = submit(&app, json!({ "input": { "description": STREET_LIGHT } })).await;
    let (care, _) = submit(
        &app,
        json!({ "input": { "description": "Min mamma behöver hemtjänst, hon klarar inte att laga mat själv längre", "categoryHint": "home_care" } }),
    )
    .await;
    let system = app.token("tf-system", &["service"], &["TF"]);
    let claimed = app
        .gql_as(&system, CLAIM, json!({ "reference": street }))
        .await;
    assert_eq!(
        claimed["data"]["claimRequest"]["status"], "IN_PROGRESS",
        "{claimed}"
    );
    let resolved = app
        .gql_as(
            &system,
            SET_STATUS,
            json!({ "reference": street, "status": "RESOLVED", "message": "Lampan är lagad." }),
        )
        .await;
    assert_eq!(
        resolved["data"]["setStatus"]["status"], "RESOLVED",
        "{resolved}"
    );
    let elsewhere = app
        .gql_as(&system, CLAIM, json!({ "reference": care }))
        .await;
    assert_eq!(
        elsewhere["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{elsewhere}"
    );
}
