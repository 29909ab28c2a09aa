//! Authentication and the role × operation matrix: who may call what, and
//! how much of a request each caller sees.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use envagin::auth::{MintClaims, mint_token};
use envagin::domain::reference::Reference;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{SUBMIT, TEST_JWT_SECRET, TestApp, code, spawn_app};

const QUEUE: &str = "query($code: String!) { queue(code: $code) { code counts { queued } } }";
const CLAIM_NEXT: &str =
    "mutation($queue: String!) { claimNextRequest(queue: $queue) { reference status } }";
const CLAIM: &str =
    "mutation($reference: String!) { claimRequest(reference: $reference) { status } }";
const RELEASE: &str =
    "mutation($reference: String!) { releaseRequest(reference: $reference) { status } }";
const SET_STATUS: &str =
    "mutation($reference: String!, $status: RequestStatus!, $message: String) {
  setStatus(reference: $reference, status: $status, messageToCitizen: $message) { status } }";
const REROUTE: &str = "mutation($reference: String!, $category: String!, $reason: String) {
  rerouteRequest(reference: $reference, category: $category, reason: $reason) { status } }";
const COMMENT: &str = "mutation($reference: String!, $body: String!) {
  addComment(reference: $reference, body: $body) { status } }";
const MARK_DUPLICATE: &str = "mutation($reference: String!, $of: String!) {
  markDuplicate(reference: $reference, of: $of) { status } }";
const SET_PRIORITY: &str = "mutation($reference: String!, $priority: Priority!, $reason: String) {
  setPriority(reference: $reference, priority: $priority, reason: $reason) { priority } }";
const BY_REFERENCE: &str =
    "query($reference: String!) { requestByReference(reference: $reference) {
  reference status access administration category categoryName description registeredBy
  priority queue version assignee { sub } classification { confidence }
  contact { name phone personalNumber } location { address }
  history { kind status message note actor { id } } } }";

const STREET_LIGHT: &str = "Gatlampan utanför Storgatan 12 är trasig och lyser inte";
const SOC_TEXT: &str = "Jag behöver ekonomiskt bistånd till hyran den här månaden";

/// Every staff operation, called on `reference` (with `other` as a second
/// request where one is needed), as (name, query, variables).
fn staff_operations(reference: &str, other: &str) -> Vec<(&'static str, &'static str, Value)> {
    let on = |extra: Value| {
        let mut vars = json!({ "reference": reference });
        vars.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        vars
    };
    vec![
        ("queue", QUEUE, json!({ "code": "TF" })),
        ("claimNextRequest", CLAIM_NEXT, json!({ "queue": "TF" })),
        ("claimRequest", CLAIM, on(json!({}))),
        ("releaseRequest", RELEASE, on(json!({}))),
        (
            "setStatus",
            SET_STATUS,
            on(json!({ "status": "IN_PROGRESS" })),
        ),
        (
            "rerouteRequest",
            REROUTE,
            on(json!({ "category": "school", "reason": "fel förvaltning" })),
        ),
        ("addComment", COMMENT, on(json!({ "body": "anteckning" }))),
        ("markDuplicate", MARK_DUPLICATE, on(json!({ "of": other }))),
        (
            "setPriority",
            SET_PRIORITY,
            on(json!({ "priority": "HIGH", "reason": "brådskande" })),
        ),
        ("requestByReference", BY_REFERENCE, on(json!({}))),
    ]
}

#[tokio::test]
async fn staff_operations_without_a_token_are_unauthenticated_and_change_nothing() {
    let app = spawn_app().await;
    let (reference, _) = submit(&app, json!({ "description": STREET_LIGHT })).await;
    let (other, _) = submit(&app, json!({ "description": "Hål i vägen på Kungsgatan" })).await;
    let events = app.count("request_events").await;

    for (name, query, vars) in staff_operations(&reference, &other) {
        let answer = app.gql(query, vars).await;
        assert_eq!(code(&answer), "UNAUTHENTICATED", "{name}: {answer}");
    }

    assert_eq!(app.count("request_events").await, events);
    let handler = app.handler("tf-anna", &["TF"]);
    let stored = by_reference(&app, &handler, &reference).await;
    assert_eq!(stored["status"], "QUEUED");
    assert_eq!(stored["priority"], "NORMAL");
}

#[tokio::test]
async fn invalid_tokens_are_refused_with_401_and_unauthenticated() {
    let app = spawn_app().await;
    let now = jsonwebtoken::get_current_timestamp();
    let other_issuer = {
        let mut s = app.auth.clone();
        s.issuer = "other".into();
        mint_token(TEST_JWT_SECRET.as_bytes(), &s, &handler_claims()).unwrap()
    };
    let other_audience = {
        let mut s = app.auth.clone();
        s.audience = "other".into();
        mint_token(TEST_JWT_SECRET.as_bytes(), &s, &handler_claims()).unwrap()
    };
    let other_secret = mint_token(
        b"another-secret-another-secret-0123456789",
        &app.auth,
        &handler_claims(),
    )
    .unwrap();
    let expired = hs256(
        &app,
        json!({ "iat": now - 7200, "nbf": now - 7200, "exp": now - 3600 }),
    );
    let not_yet_valid = hs256(
        &app,
        json!({ "iat": now, "nbf": now + 3600, "exp": now + 7200 }),
    );
    let unsigned = alg_none(&app);
    let cases = [
        ("garbage", "Bearer not-a-token".to_owned()),
        ("another scheme", "Basic dGY6YW5uYQ==".to_owned()),
        ("expired", format!("Bearer {expired}")),
        ("not yet valid", format!("Bearer {not_yet_valid}")),
        ("wrong issuer", format!("Bearer {other_issuer}")),
        ("wrong audience", format!("Bearer {other_audience}")),
        ("another secret", format!("Bearer {other_secret}")),
        ("alg none", format!("Bearer {unsigned}")),
    ];

    for (name, header) in &cases {
        for (query, vars) in [
            (QUEUE, json!({ "code": "TF" })),
            // Even a public operation: a bad token is never treated as anonymous.
            (SUBMIT, json!({ "input": { "description": STREET_LIGHT } })),
        ] {
            let (status, answer) = post(&app, Some(header), query, vars).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{name}: {answer}");
            assert_eq!(code(&answer), "UNAUTHENTICATED", "{name}: {answer}");
            assert_eq!(answer["data"], Value::Null, "{name}: {answer}");
        }
    }
    assert_eq!(app.count("requests").await, 0);
}

#[tokio::test]
async fn a_token_valid_for_thirty_years_is_unauthenticated_and_one_for_a_working_day_is_accepted() {
    let app = spawn_app().await;
    let now = jsonwebtoken::get_current_timestamp();
    let thirty_years = 30 * 365 * 24 * 3600;
    let forever = hs256(&app, json!({ "exp": now + thirty_years }));
    let forever_without_iat = {
        let mut claims = claims(&app, json!({ "exp": now + thirty_years }));
        claims.as_object_mut().unwrap().remove("iat");
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(TEST_JWT_SECRET.as_bytes()),
        )
        .unwrap()
    };
    // An `iat` just before a far `exp` must not make it look short-lived.
    let future_iat = hs256(
        &app,
        json!({ "iat": now + thirty_years - 3600, "exp": now + thirty_years }),
    );
    for (name, token) in [
        ("30 years", &forever),
        ("30 years, no iat", &forever_without_iat),
        ("30 years, iat in the future", &future_iat),
    ] {
        let (status, answer) = post(
            &app,
            Some(&format!("Bearer {token}")),
            QUEUE,
            json!({ "code": "TF" }),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{name}: {answer}");
        assert_eq!(code(&answer), "UNAUTHENTICATED", "{name}: {answer}");
    }

    // Issued an hour ago, good for the rest of a working day: accepted.
    let working_day = hs256(&app, json!({ "iat": now - 3600, "exp": now + 7 * 3600 }));
    let (status, answer) = post(
        &app,
        Some(&format!("Bearer {working_day}")),
        QUEUE,
        json!({ "code": "TF" }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["data"]["queue"]["code"], "TF", "{answer}");

    // The server's own minting stays within the maximum.
    let too_long = MintClaims {
        ttl: std::time::Duration::from_secs(thirty_years),
        ..handler_claims()
    };
    assert!(mint_token(TEST_JWT_SECRET.as_bytes(), &app.auth, &too_long).is_err());
}

#[tokio::test]
async fn a_valid_token_is_accepted() {
    let app = spawn_app().await;
    let token = mint_token(TEST_JWT_SECRET.as_bytes(), &app.auth, &handler_claims()).unwrap();

    let (status, answer) = post(
        &app,
        Some(&format!("Bearer {token}")),
        QUEUE,
        json!({ "code": "TF" }),
    )
    .await;

    assert_eq!(status, StatusCode::OK, "{answer}");
    assert!(answer["errors"].is_null(), "{answer}");
    assert_eq!(answer["data"]["queue"]["code"], "TF");
}

#[tokio::test]
async fn working_a_queue_without_the_right_role_or_administration_is_forbidden() {
    let app = spawn_app().await;
    submit(&app, json!({ "description": STREET_LIGHT })).await;
    submit(
        &app,
        json!({ "description": SOC_TEXT, "categoryHint": "financial_assistance" }),
    )
    .await;
    let events = app.count("request_events").await;
    let callers = [
        (
            "a TF handler on SOC",
            app.handler("tf-anna", &["TF"]),
            "SOC",
        ),
        ("an admin", app.token("root", &["admin"], &[]), "TF"),
        (
            "a citizen",
            app.token("medborgare", &["citizen"], &[]),
            "TF",
        ),
        (
            "a citizen listed in TF",
            app.token("medborgare", &["citizen"], &["TF"]),
            "TF",
        ),
        (
            "the contact centre on TF",
            app.contact_centre("kc-anna"),
            "TF",
        ),
    ];

    for (who, token, queue) in &callers {
        for (query, vars) in [
            (QUEUE, json!({ "code": queue })),
            (CLAIM_NEXT, json!({ "queue": queue })),
        ] {
            let answer = app.gql_as(token, query, vars).await;
            assert_eq!(code(&answer), "FORBIDDEN", "{who}: {answer}");
        }
    }
    assert_eq!(app.count("request_events").await, events, "nothing claimed");
}

#[tokio::test]
async fn the_contact_centre_may_read_a_handlers_request_but_not_work_it() {
    let app = spawn_app().await;
    let (reference, _) = submit(&app, json!({ "description": STREET_LIGHT })).await;
    let agent = app.contact_centre("kc-anna");
    let events = app.count("request_events").await;

    for (query, vars) in [
        (CLAIM, json!({ "reference": reference })),
        (
            SET_STATUS,
            json!({ "reference": reference, "status": "IN_PROGRESS" }),
        ),
        (
            SET_PRIORITY,
            json!({ "reference": reference, "priority": "HIGH", "reason": "brådskande" }),
        ),
    ] {
        let answer = app.gql_as(&agent, query, vars).await;
        assert_eq!(code(&answer), "FORBIDDEN", "{answer}");
    }
    assert_eq!(app.count("request_events").await, events);
    assert_eq!(
        by_reference(&app, &agent, &reference).await["status"],
        "QUEUED"
    );
}

#[tokio::test]
async fn a_handler_of_another_administration_cannot_read_claim_or_even_find_a_confidential_request()
{
    let app = spawn_app().await;
    let (secret, _) = submit(
        &app,
        json!({ "description": SOC_TEXT, "categoryHint": "financial_assistance" }),
    )
    .await;
    let (own, _) = submit(&app, json!({ "description": STREET_LIGHT })).await;
    let soc = app.handler("soc-sara", &["SOC"]);
    assert_eq!(
        by_reference(&app, &soc, &secret).await["administration"],
        "SOC"
    );
    let tf = app.handler("tf-anna", &["TF"]);
    let events = app.count("request_events").await;
    let year = chrono::Utc::now().format("%Y").to_string().parse().unwrap();
    let unknown = Reference::new(year, 999_999).to_string();

    for (name, query, vars) in staff_operations(&secret, &own).into_iter().skip(2) {
        let answer = app.gql_as(&tf, query, vars.clone()).await;
        assert_eq!(code(&answer), "NOT_FOUND", "{name}: {answer}");
        // Exactly as if the request did not exist.
        let mut vars = vars;
        vars["reference"] = json!(unknown);
        let missing = app.gql_as(&tf, query, vars).await;
        assert_eq!(
            answer["errors"][0]["message"],
            missing["errors"][0]["message"]
        );
    }
    let answer = app
        .gql_as(
            &tf,
            MARK_DUPLICATE,
            json!({ "reference": own, "of": secret }),
        )
        .await;
    assert_eq!(code(&answer), "NOT_FOUND", "as master: {answer}");

    assert_eq!(app.count("request_events").await, events);
    let stored = by_reference(&app, &soc, &secret).await;
    assert_eq!(stored["status"], "QUEUED");
    assert_eq!(stored["assignee"], Value::Null);
}

#[tokio::test]
async fn the_contact_centre_registers_requests_from_the_phone_but_others_may_not() {
    let app = spawn_app().await;
    let input = json!({ "description": STREET_LIGHT, "channel": "PHONE" });
    let agent = app.contact_centre("kc-anna");

    let registered = app.gql_as(&agent, SUBMIT, json!({ "input": input })).await;
    assert!(registered["errors"].is_null(), "{registered}");
    let reference = registered["data"]["submitRequest"]["request"]["reference"]
        .as_str()
        .unwrap();
    assert_eq!(
        by_reference(&app, &agent, reference).await["registeredBy"],
        "kc-anna"
    );

    let anonymous = app.gql(SUBMIT, json!({ "input": input })).await;
    assert_eq!(code(&anonymous), "UNAUTHENTICATED", "{anonymous}");
    let citizen = app.token("medborgare", &["citizen"], &[]);
    let as_citizen = app
        .gql_as(&citizen, SUBMIT, json!({ "input": input }))
        .await;
    assert_eq!(code(&as_citizen), "FORBIDDEN", "{as_citizen}");
    assert_eq!(
        app.count("requests").await,
        1,
        "refused ones are not stored"
    );
}

#[tokio::test]
async fn the_contact_centre_sees_a_confidential_request_only_at_status_level() {
    let app = spawn_app().await;
    let (reference, _) = submit(&app, confidential_input()).await;
    let soc = app.handler("soc-sara", &["SOC"]);
    claim_and_ask_the_resident(&app, &soc, &reference).await;

    let seen = by_reference(&app, &app.contact_centre("kc-anna"), &reference).await;

    assert_eq!(seen["access"], "STATUS_ONLY");
    assert_eq!(seen["reference"], reference.as_str());
    assert_eq!(seen["status"], "WAITING_FOR_CITIZEN");
    assert_eq!(seen["administration"], "SOC");
    for hidden in [
        "description",
        "contact",
        "location",
        "category",
        "categoryName",
        "priority",
        "queue",
        "version",
        "assignee",
        "registeredBy",
        "classification",
    ] {
        assert_eq!(seen[hidden], Value::Null, "{hidden} leaks: {seen}");
    }
    let history = seen["history"].as_array().unwrap();
    assert!(!history.is_empty());
    for event in history {
        assert_eq!(event["message"], Value::Null, "{event}");
        assert_eq!(event["note"], Value::Null, "{event}");
        assert_eq!(event["actor"], Value::Null, "{event}");
    }
    let text = seen.to_string();
    for secret in ["hyran", "Anna Svensson", "soc-sara", "kontoutdrag"] {
        assert!(!text.contains(secret), "{secret} leaks: {seen}");
    }
}

#[tokio::test]
async fn the_contact_centre_sees_only_status_changes_in_a_confidential_history() {
    let app = spawn_app().await;
    let (reference, tracking) = submit(&app, confidential_input()).await;
    let soc = app.handler("soc-sara", &["SOC"]);
    claim_and_ask_the_resident(&app, &soc, &reference).await;
    let comment = app
        .gql_as(
            &soc,
            "mutation($reference: String!) { addComment(reference: $reference, body: \"Vi har tagit emot underlagen\", internal: false) { status } }",
            json!({ "reference": reference }),
        )
        .await;
    assert!(comment["errors"].is_null(), "{comment}");
    let reply = app
        .gql(
            "mutation($reference: String!, $code: String!) { replyAsCitizen(reference: $reference, trackingCode: $code, body: \"Här är kontoutdragen\") { status } }",
            json!({ "reference": reference, "code": tracking }),
        )
        .await;
    assert!(reply["errors"].is_null(), "{reply}");

    let seen = by_reference(&app, &app.contact_centre("kc-anna"), &reference).await;

    for event in seen["history"].as_array().unwrap() {
        assert!(!event["status"].is_null(), "not a status change: {event}");
    }
}

#[tokio::test]
async fn the_contact_centre_cannot_declassify_a_confidential_request_by_rerouting_it_to_itself() {
    let app = spawn_app().await;
    let (secret, _) = submit(&app, confidential_input()).await;
    let agent = app.contact_centre("kc-bertil");
    let events = app.count("request_events").await;

    let answer = app
        .gql_as(
            &agent,
            "mutation($reference: String!) { rerouteRequest(reference: $reference, category: \"general_question\", reason: \"Ser ut som en allmän fråga\") { description contact { name } } }",
            json!({ "reference": secret }),
        )
        .await;

    assert_eq!(code(&answer), "FORBIDDEN", "{answer}");
    assert!(!answer.to_string().contains("hyran"), "{answer}");
    assert_eq!(app.count("request_events").await, events);
    let seen = by_reference(&app, &agent, &secret).await;
    assert_eq!(seen["administration"], "SOC");
    assert_eq!(seen["description"], Value::Null, "{seen}");
    assert_eq!(seen["contact"], Value::Null, "{seen}");
}

#[tokio::test]
async fn the_agent_who_registered_a_confidential_request_reads_it_in_full_and_other_agents_do_not()
{
    let app = spawn_app().await;
    let anna = app.contact_centre("kc-anna");
    let mut input = confidential_input();
    input["channel"] = json!("PHONE");
    let registered = app.gql_as(&anna, SUBMIT, json!({ "input": input })).await;
    assert!(registered["errors"].is_null(), "{registered}");
    let reference = registered["data"]["submitRequest"]["request"]["reference"]
        .as_str()
        .unwrap();

    let own = by_reference(&app, &anna, reference).await;
    assert_eq!(own["access"], "FULL");
    assert_eq!(own["description"], confidential_input()["description"]);
    assert_eq!(own["contact"]["name"], "Anna Svensson");
    assert_eq!(own["category"], "financial_assistance");

    let colleague = by_reference(&app, &app.contact_centre("kc-bertil"), reference).await;
    assert_eq!(colleague["access"], "STATUS_ONLY");
    assert_eq!(colleague["description"], Value::Null);
    assert_eq!(colleague["contact"], Value::Null);
}

#[tokio::test]
async fn the_contact_centre_reads_a_non_confidential_request_in_full() {
    let app = spawn_app().await;
    let (reference, _) = submit(
        &app,
        json!({ "description": STREET_LIGHT, "contact": { "name": "Anna Svensson" } }),
    )
    .await;

    let seen = by_reference(&app, &app.contact_centre("kc-anna"), &reference).await;

    assert_eq!(seen["access"], "FULL");
    assert_eq!(seen["description"], STREET_LIGHT);
    assert_eq!(seen["contact"]["name"], "Anna Svensson");
    assert_eq!(seen["category"], "street_lighting");
}

#[tokio::test]
async fn admins_and_citizens_find_no_request_at_all() {
    let app = spawn_app().await;
    let (open, _) = submit(&app, json!({ "description": STREET_LIGHT })).await;
    let (secret, _) = submit(&app, confidential_input()).await;

    for (who, token) in [
        ("admin", app.token("root", &["admin"], &[])),
        ("citizen", app.token("medborgare", &["citizen"], &[])),
    ] {
        for reference in [&open, &secret] {
            let answer = app
                .gql_as(&token, BY_REFERENCE, json!({ "reference": reference }))
                .await;
            assert_eq!(code(&answer), "NOT_FOUND", "{who}: {answer}");
        }
    }
}

#[tokio::test]
async fn unknown_roles_in_a_token_are_ignored() {
    let app = spawn_app().await;
    let (reference, _) = submit(&app, json!({ "description": STREET_LIGHT })).await;

    let wizard_only = app.token("merlin", &["wizard"], &["TF"]);
    let refused = app
        .gql_as(&wizard_only, CLAIM_NEXT, json!({ "queue": "TF" }))
        .await;
    assert_eq!(code(&refused), "FORBIDDEN", "{refused}");

    let wizard_handler = app.token("merlin", &["wizard", "handler"], &["TF"]);
    let claimed = app
        .gql_as(&wizard_handler, CLAIM_NEXT, json!({ "queue": "TF" }))
        .await;
    assert!(claimed["errors"].is_null(), "{claimed}");
    assert_eq!(
        claimed["data"]["claimNextRequest"]["reference"],
        reference.as_str()
    );
    assert_eq!(claimed["data"]["claimNextRequest"]["status"], "IN_PROGRESS");
}

// --- helpers -------------------------------------------------------------

/// A confidential (SOC) request with personal data.
fn confidential_input() -> Value {
    json!({
        "description": SOC_TEXT,
        "categoryHint": "financial_assistance",
        "contact": { "name": "Anna Svensson", "phone": "070-123 45 67", "personalNumber": "19121212-1212" },
        "location": { "address": "Storgatan 1" }
    })
}

/// Submits anonymously: (reference, tracking code).
async fn submit(app: &TestApp, input: Value) -> (String, String) {
    let payload = app.submit(input).await;
    (
        payload["request"]["reference"].as_str().unwrap().to_owned(),
        payload["trackingCode"].as_str().unwrap().to_owned(),
    )
}

/// The request as `token` sees it, failing the test on any error.
async fn by_reference(app: &TestApp, token: &str, reference: &str) -> Value {
    let answer = app
        .gql_as(token, BY_REFERENCE, json!({ "reference": reference }))
        .await;
    assert!(answer["errors"].is_null(), "{answer}");
    answer["data"]["requestByReference"].clone()
}

/// Claims the request and asks the resident for more (a message in the history).
async fn claim_and_ask_the_resident(app: &TestApp, token: &str, reference: &str) {
    for (query, vars) in [
        (CLAIM, json!({ "reference": reference })),
        (
            SET_STATUS,
            json!({ "reference": reference, "status": "WAITING_FOR_CITIZEN", "message": "Skicka dina kontoutdrag" }),
        ),
    ] {
        let answer = app.gql_as(token, query, vars).await;
        assert!(answer["errors"].is_null(), "{answer}");
    }
}

/// Posts with a raw `Authorization` header value: (HTTP status, body).
async fn post(
    app: &TestApp,
    authorization: Option<&str>,
    query: &str,
    variables: Value,
) -> (StatusCode, Value) {
    let mut request = app
        .client
        .post(app.url("/graphql"))
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(value) = authorization {
        request = request.header(reqwest::header::AUTHORIZATION, value);
    }
    let response = request.send().await.expect("request sent");
    let status = response.status();
    (status, response.json().await.expect("JSON answer"))
}

fn handler_claims() -> MintClaims {
    MintClaims {
        sub: "tf-anna".into(),
        name: None,
        roles: vec!["handler".into()],
        adm: vec!["TF".into()],
        ttl: std::time::Duration::from_secs(3600),
    }
}

/// Valid handler claims for this server, with `overrides` applied.
fn claims(app: &TestApp, overrides: Value) -> Value {
    let now = jsonwebtoken::get_current_timestamp();
    let mut claims = json!({
        "sub": "tf-anna", "roles": ["handler"], "adm": ["TF"],
        "iss": app.auth.issuer, "aud": app.auth.audience,
        "iat": now, "nbf": now, "exp": now + 3600,
    });
    claims
        .as_object_mut()
        .unwrap()
        .extend(overrides.as_object().unwrap().clone());
    claims
}

/// A token signed with the server's secret, with `overrides` in its claims.
fn hs256(app: &TestApp, overrides: Value) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims(app, overrides),
        &EncodingKey::from_secret(TEST_JWT_SECRET.as_bytes()),
    )
    .unwrap()
}

/// An unsigned token (`alg: none`) with otherwise valid claims.
fn alg_none(app: &TestApp) -> String {
    let header = URL_SAFE_NO_PAD.encode(json!({ "alg": "none", "typ": "JWT" }).to_string());
    let payload = URL_SAFE_NO_PAD.encode(claims(app, json!({})).to_string());
    format!("{header}.{payload}.")
}
