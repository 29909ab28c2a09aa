//! E-mail as a channel: the mail gateway's endpoint and the
//! `envagin ingest-email` command turn a message into a request, or into a
//! reply when it names the sender's own request.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::smtp_sink::SmtpSink;
use crate::support::{TestApp, fresh_database, spawn_app_with};

const GATEWAY_SECRET: &str = "gateway-secret-gateway-secret-0123456789";
const BY_REFERENCE: &str =
    "query($reference: String!) { requestByReference(reference: $reference) {
  reference status channel description contact { name email }
  history { kind status message } } }";

async fn app_with_gateway(sink: Option<&SmtpSink>) -> TestApp {
    let smtp = sink.map(SmtpSink::url);
    spawn_app_with(move |c| {
        c.mail_gateway_secret = Some(GATEWAY_SECRET.to_owned());
        c.smtp_url = smtp;
        c.outbox_poll_ms = 50;
    })
    .await
}

async fn post_mail(app: &TestApp, secret: Option<&str>, raw: &str) -> (u16, Value) {
    let mut request = app
        .client
        .post(app.url("/gateway/email"))
        .header("content-type", "message/rfc822")
        .body(raw.to_owned());
    if let Some(secret) = secret {
        request = request.bearer_auth(secret);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn mail(from: &str, subject: &str, message_id: &str, body: &str) -> String {
    format!(
        "From: {from}\r\nTo: kontakt@exempelby.se\r\nSubject: {subject}\r\nMessage-ID: <{message_id}>\r\n\
         Date: Thu, 26 Nov 2026 10:00:00 +0100\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n"
    )
}

async fn staff_view(app: &TestApp, reference: &str) -> Value {
    let handler = app.handler("tf-bertil", &["TF"]);
    let answer = app
        .gql_as(&handler, BY_REFERENCE, json!({ "reference": reference }))
        .await;
    answer["data"]["requestByReference"].clone()
}

#[tokio::test]
async fn an_email_becomes_a_request_with_channel_email_and_the_sender_gets_a_receipt() {
    let sink = SmtpSink::start().await;
    let app = app_with_gateway(Some(&sink)).await;
    let raw = mail(
        "Anna Svensson <Anna@Example.se>",
        "Trasig gatlampa",
        "m1@example.se",
        "Gatlampan utanför Storgatan 12 lyser inte sedan i måndags.",
    );
    let (status, answer) = post_mail(&app, Some(GATEWAY_SECRET), &raw).await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(answer["outcome"], "CREATED");
    let reference = answer["reference"].as_str().unwrap().to_owned();

    let request = staff_view(&app, &reference).await;
    assert_eq!(request["channel"], "EMAIL");
    assert_eq!(request["status"], "QUEUED", "{request}");
    assert_eq!(request["contact"]["email"], "anna@example.se");
    assert_eq!(request["contact"]["name"], "Anna Svensson");
    assert!(
        request["description"]
            .as_str()
            .unwrap()
            .contains("Storgatan 12")
    );

    let receipts = sink.wait_for(1, Duration::from_secs(20)).await;
    assert_eq!(receipts[0].to, vec!["anna@example.se".to_owned()]);

    // The gateway retries the same message: still one request.
    let (again, repeated) = post_mail(&app, Some(GATEWAY_SECRET), &raw).await;
    assert_eq!(again, 201);
    assert_eq!(repeated["reference"], reference.as_str());
    assert_eq!(app.count("requests").await, 1);
}

#[tokio::test]
async fn a_different_message_reusing_a_message_id_becomes_its_own_request_and_retries_of_either_stay_one()
 {
    let app = app_with_gateway(None).await;
    let first = mail(
        "anna@example.se",
        "Trasig gatlampa",
        "reused@example.se",
        "Gatlampan utanför Storgatan 12 lyser inte.",
    );
    // A broken client (or someone else) sends another message under the
    // same Message-ID: it must neither be taken for a retry nor refused
    // with "try again later" for ever.
    let second = mail(
        "bertil@example.se",
        "Soptunnan",
        "reused@example.se",
        "Soptunnan på Lillgatan 3 har inte tömts på två veckor.",
    );

    let (status, created) = post_mail(&app, Some(GATEWAY_SECRET), &first).await;
    assert_eq!(status, 201, "{created}");
    let (status, other) = post_mail(&app, Some(GATEWAY_SECRET), &second).await;
    assert_eq!(
        status, 201,
        "a permanent answer that stores the message: {other}"
    );
    assert_eq!(other["outcome"], "CREATED");
    assert_ne!(other["reference"], created["reference"]);
    let stored = staff_view(&app, other["reference"].as_str().unwrap()).await;
    assert_eq!(stored["contact"]["email"], "bertil@example.se", "{stored}");
    assert!(
        stored["description"]
            .as_str()
            .unwrap()
            .contains("Lillgatan 3"),
        "{stored}"
    );

    // The mail server retries each of them: still two requests.
    for (raw, answer) in [(&first, &created), (&second, &other)] {
        let (status, again) = post_mail(&app, Some(GATEWAY_SECRET), raw).await;
        assert_eq!(status, 201, "{again}");
        assert_eq!(again["reference"], answer["reference"]);
    }
    assert_eq!(app.count("requests").await, 2);
}

#[tokio::test]
async fn an_email_naming_the_senders_request_becomes_a_reply_that_reopens_it() {
    let app = app_with_gateway(None).await;
    let (_, created) = post_mail(
        &app,
        Some(GATEWAY_SECRET),
        &mail(
            "anna@example.se",
            "Trasig gatlampa",
            "m1@example.se",
            "Gatlampan på Storgatan 12 lyser inte.",
        ),
    )
    .await;
    let reference = created["reference"].as_str().unwrap().to_owned();
    let handler = app.handler("tf-bertil", &["TF"]);
    app.gql_as(
        &handler,
        "mutation($r: String!) { claimRequest(reference: $r) { status } }",
        json!({ "r": reference }),
    )
    .await;
    let asked = app
        .gql_as(
            &handler,
            "mutation($r: String!) { setStatus(reference: $r, status: WAITING_FOR_CITIZEN, messageToCitizen: \"Vilken stolpe?\") { status } }",
            json!({ "r": reference }),
        )
        .await;
    assert!(asked["errors"].is_null(), "{asked}");

    let reply = mail(
        "Anna Svensson <anna@example.se>",
        &format!("SV: Ditt ärende {reference}: en fråga"),
        "m2@example.se",
        "Det är stolpen närmast busshållplatsen.\r\n\r\nDen 26 nov. 2026 kl. 10:00 skrev Exempelby kommun <noreply@exempelby.se>:\r\n> Vilken stolpe?",
    );
    let (status, answer) = post_mail(&app, Some(GATEWAY_SECRET), &reply).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer,
        json!({ "outcome": "REPLIED", "reference": reference })
    );
    let request = staff_view(&app, &reference).await;
    assert_eq!(
        request["status"], "IN_PROGRESS",
        "the reply reopens it: {request}"
    );
    let last = request["history"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["kind"], "CITIZEN_REPLY");
    assert_eq!(
        last["message"], "Det är stolpen närmast busshållplatsen.",
        "the quote is dropped"
    );

    // Someone else naming the reference does not write in Anna's request.
    let stranger = mail(
        "eve@example.se",
        &format!("Re: {reference}"),
        "m3@example.se",
        "Stäng ärendet, det är fixat.",
    );
    let (status, answer) = post_mail(&app, Some(GATEWAY_SECRET), &stranger).await;
    assert_eq!(status, 201, "{answer}");
    assert_ne!(answer["reference"], reference.as_str());
    let request = staff_view(&app, &reference).await;
    assert_eq!(
        request["history"].as_array().unwrap().last().unwrap()["kind"],
        "CITIZEN_REPLY"
    );
}

#[tokio::test]
async fn attachments_are_kept_within_limits_and_the_refused_ones_are_named_in_the_receipt() {
    let sink = SmtpSink::start().await;
    let app = app_with_gateway(Some(&sink)).await;
    let raw = "From: anna@example.se\r\nTo: kontakt@exempelby.se\r\nSubject: Hål i vägen\r\n\
        Message-ID: <m4@example.se>\r\nMIME-Version: 1.0\r\n\
        Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
        --b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nStort hål i vägen på Kungsgatan, se bild.\r\n\
        --b1\r\nContent-Type: image/jpeg; name=\"hal.jpg\"\r\nContent-Disposition: attachment; filename=\"hal.jpg\"\r\n\
        Content-Transfer-Encoding: base64\r\n\r\n/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAP8=\r\n\
        --b1\r\nContent-Type: application/x-msdownload; name=\"faktura.exe\"\r\n\
        Content-Disposition: attachment; filename=\"faktura.exe\"\r\nContent-Transfer-Encoding: base64\r\n\r\nTVqQAAMAAAAEAAAA\r\n\
        --b1--\r\n";
    let (status, answer) = post_mail(&app, Some(GATEWAY_SECRET), raw).await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(
        app.count("attachments").await,
        1,
        "the photo is kept, the program is not"
    );
    let reference = answer["reference"].as_str().unwrap().to_owned();

    // Its handlers see the photo and download it; the read is logged.
    let handler = app.handler("tf-bertil", &["TF"]);
    let query = "query($r: String!) { requestByReference(reference: $r) {
      attachments { id filename contentType sizeBytes url } } }";
    let seen = app.gql_as(&handler, query, json!({ "r": reference })).await;
    let files = seen["data"]["requestByReference"]["attachments"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(files.len(), 1, "{seen}");
    assert_eq!(files[0]["filename"], "hal.jpg");
    assert_eq!(files[0]["contentType"], "image/jpeg");
    let url = app.url(files[0]["url"].as_str().unwrap());
    let download = app
        .client
        .get(&url)
        .bearer_auth(&handler)
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), 200);
    assert_eq!(download.headers()["content-type"], "image/jpeg");
    assert_eq!(download.headers()["x-content-type-options"], "nosniff");
    assert!(
        download.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment;")
    );
    let bytes = download.bytes().await.unwrap();
    assert_eq!(
        &bytes[..4],
        &[0xFF, 0xD8, 0xFF, 0xE0],
        "the JPEG as it was sent"
    );
    let log = app
        .gql_as(
            &handler,
            "query($r: String!) { accessLog(reference: $r) { fields } }",
            json!({ "r": reference }),
        )
        .await;
    assert!(log.to_string().contains("attachments"), "{log}");

    // Nobody else: not another administration, not without a token.
    let other = app.handler("soc-cecilia", &["SOC"]);
    assert_eq!(
        app.client
            .get(&url)
            .bearer_auth(&other)
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(app.client.get(&url).send().await.unwrap().status(), 401);
    let hidden = app.gql_as(&other, query, json!({ "r": reference })).await;
    assert!(hidden["data"]["requestByReference"].is_null(), "{hidden}");
    let receipt = sink.wait_for(1, Duration::from_secs(20)).await;
    let text = mail_parser::MessageParser::default()
        .parse(receipt[0].data.as_bytes())
        .unwrap()
        .body_text(0)
        .unwrap()
        .into_owned();
    assert!(text.contains("faktura.exe"), "{text}");
}

#[tokio::test]
async fn the_gateway_refuses_a_wrong_secret_ignores_auto_replies_and_reports_malformed_mail() {
    let app = app_with_gateway(None).await;
    let raw = mail(
        "anna@example.se",
        "Hej",
        "m5@example.se",
        "Soptunnan har inte tömts.",
    );
    assert_eq!(post_mail(&app, None, &raw).await.0, 401);
    assert_eq!(
        post_mail(&app, Some("not-the-secret-not-the-secret-0123456789"), &raw)
            .await
            .0,
        401
    );

    let auto_reply = raw.replace(
        "Subject: Hej",
        "Subject: Frånvaro\r\nAuto-Submitted: auto-replied",
    );
    let (status, answer) = post_mail(&app, Some(GATEWAY_SECRET), &auto_reply).await;
    assert_eq!((status, answer["outcome"].as_str()), (202, Some("IGNORED")));

    let (status, answer) = post_mail(&app, Some(GATEWAY_SECRET), "this is not an e-mail").await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["code"], "BAD_USER_INPUT");
    assert_eq!(app.count("requests").await, 0, "nothing stored");
}

#[tokio::test]
async fn the_gateway_is_off_unless_a_secret_is_configured() {
    let app = spawn_app_with(|_| {}).await;
    let raw = mail(
        "anna@example.se",
        "Hej",
        "m6@example.se",
        "Soptunnan har inte tömts.",
    );
    assert_eq!(post_mail(&app, Some(GATEWAY_SECRET), &raw).await.0, 404);
}

#[tokio::test]
async fn the_ingest_command_registers_a_message_from_standard_input() {
    let dir = tempfile::TempDir::new().unwrap();
    let url = fresh_database(&dir).await;
    let run = |raw: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_envagin"))
            .arg("ingest-email")
            .env("ENVAGIN_DATABASE_URL", &url)
            .env("ENVAGIN_DATA_DIR", dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(raw.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let output = run(&mail(
        "anna@example.se",
        "Soptunnan",
        "m7@example.se",
        "Soptunnan har inte tömts på två veckor.",
    ));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.starts_with("created EVI-"), "{stdout}");

    let output = run("garbage without headers");
    assert_eq!(
        output.status.code(),
        Some(65),
        "a malformed message is a data error for the mail server"
    );
}
