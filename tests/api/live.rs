//! The requestEvents subscription over a real WebSocket (graphql-transport-ws).

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::support::{TestApp, spawn_app};

pub(crate) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

const SUBSCRIBE: &str = "subscription($r: String!, $t: String) {
    requestEvents(reference: $r, trackingCode: $t) { kind status message note actor { id } } }";

async fn connect(app: &TestApp, payload: Value) -> Result<Socket, String> {
    connect_to(&format!("ws://{}/graphql/ws", app.addr), payload).await
}

/// A graphql-transport-ws connection to `url`, initialised with `payload`.
pub(crate) async fn connect_to(url: &str, payload: Value) -> Result<Socket, String> {
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .map_err(|e| e.to_string())?;
    send(
        &mut socket,
        json!({ "type": "connection_init", "payload": payload }),
    )
    .await;
    match next(&mut socket).await {
        Some(m) if m["type"] == "connection_ack" => Ok(socket),
        other => Err(format!("no connection_ack: {other:?}")),
    }
}

pub(crate) async fn send(socket: &mut Socket, message: Value) {
    socket
        .send(Message::Text(message.to_string().into()))
        .await
        .unwrap();
}

/// The next JSON message, or None if the socket closes or stays silent.
pub(crate) async fn next(socket: &mut Socket) -> Option<Value> {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .ok()??
            .ok()?;
        match message {
            Message::Text(text) => return serde_json::from_str(&text).ok(),
            Message::Close(_) => return None,
            _ => continue,
        }
    }
}

/// The payload of the next `next` message of subscription "1".
pub(crate) async fn next_event(socket: &mut Socket) -> Value {
    let message = next(socket).await.expect("an event");
    assert_eq!(message["type"], "next", "{message}");
    message["payload"]["data"]["requestEvents"].clone()
}

pub(crate) async fn subscribe(socket: &mut Socket, variables: Value) {
    send(
        socket,
        json!({ "id": "1", "type": "subscribe", "payload": { "query": SUBSCRIBE, "variables": variables } }),
    )
    .await;
    // The server registers the subscription asynchronously.
    tokio::time::sleep(Duration::from_millis(1_000)).await;
}

#[tokio::test]
async fn the_resident_sees_status_changes_and_messages_live_but_no_internal_notes() {
    let app = spawn_app().await;
    let p = app
        .submit(json!({ "description": "Gatlampan på Storgatan är trasig" }))
        .await;
    let reference = p["request"]["reference"].as_str().unwrap().to_owned();
    let mut socket = connect(&app, json!({})).await.unwrap();
    subscribe(
        &mut socket,
        json!({ "r": reference, "t": p["trackingCode"] }),
    )
    .await;

    let tf = app.handler("tf-anna", &["TF"]);
    let change = |q: &'static str| {
        let (app, tf, reference) = (&app, tf.clone(), reference.clone());
        async move {
            let answer = app.gql_as(&tf, q, json!({ "r": reference })).await;
            assert!(answer["errors"].is_null(), "{answer}");
        }
    };
    change("mutation($r: String!) { claimRequest(reference: $r) { status } }").await;
    change("mutation($r: String!) { addComment(reference: $r, body: \"intern anteckning\") { status } }").await;
    change("mutation($r: String!) { setStatus(reference: $r, status: WAITING_FOR_CITIZEN, messageToCitizen: \"Vilken stolpe?\") { status } }").await;

    let claimed = next_event(&mut socket).await;
    assert_eq!(claimed["kind"], "CLAIMED");
    assert_eq!(claimed["status"], "IN_PROGRESS");
    assert_eq!(claimed["actor"], Value::Null);
    let asked = next_event(&mut socket).await;
    assert_eq!(asked["status"], "WAITING_FOR_CITIZEN");
    assert_eq!(asked["message"], "Vilken stolpe?");
    assert_eq!(asked["note"], Value::Null);
}

#[tokio::test]
async fn staff_subscribe_with_their_token_and_see_internal_notes() {
    let app = spawn_app().await;
    let p = app
        .submit(json!({ "description": "Gatlampan på Storgatan är trasig" }))
        .await;
    let reference = p["request"]["reference"].as_str().unwrap().to_owned();
    let tf = app.handler("tf-anna", &["TF"]);
    let mut socket = connect(&app, json!({ "Authorization": format!("Bearer {tf}") }))
        .await
        .unwrap();
    subscribe(&mut socket, json!({ "r": reference })).await;
    let answer = app
        .gql_as(&tf, "mutation($r: String!) { addComment(reference: $r, body: \"ringde boende\") { status } }", json!({ "r": reference }))
        .await;
    assert!(answer["errors"].is_null(), "{answer}");
    let comment = next_event(&mut socket).await;
    assert_eq!(comment["kind"], "COMMENT");
    assert_eq!(comment["note"], "ringde boende");
    assert_eq!(comment["actor"]["id"], "tf-anna");
}

#[tokio::test]
async fn a_wrong_tracking_code_or_another_administration_gets_no_stream() {
    let app = spawn_app().await;
    let p = app
        .submit(json!({ "description": "Gatlampan på Storgatan är trasig" }))
        .await;
    let reference = p["request"]["reference"].as_str().unwrap().to_owned();
    let mut socket = connect(&app, json!({})).await.unwrap();
    subscribe(
        &mut socket,
        json!({ "r": reference, "t": "AAAA-BBBB-CCCC-DDDD" }),
    )
    .await;
    let refused = next(&mut socket).await.expect("an answer");
    assert_eq!(refused_code(&refused), "NOT_FOUND", "{refused}");

    let buf = app.handler("buf-bo", &["BUF"]);
    let mut staff = connect(&app, json!({ "Authorization": format!("Bearer {buf}") }))
        .await
        .unwrap();
    subscribe(&mut staff, json!({ "r": reference })).await;
    let refused = next(&mut staff).await.expect("an answer");
    assert_eq!(refused_code(&refused), "NOT_FOUND", "{refused}");
}

/// The error code of a refused subscription, and that no data came.
fn refused_code(message: &Value) -> &str {
    assert_eq!(message["payload"]["data"], Value::Null, "{message}");
    message["payload"]["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_default()
}

#[tokio::test]
async fn a_token_that_does_not_verify_gets_no_connection() {
    let app = spawn_app().await;
    let refused = connect(&app, json!({ "Authorization": "Bearer not-a-token" })).await;
    assert!(refused.is_err());
}

#[tokio::test]
async fn a_staff_stream_ends_when_the_request_is_rerouted_out_of_reach() {
    let app = spawn_app().await;
    let p = app
        .submit(json!({ "description": "Gatlampan på Storgatan är trasig" }))
        .await;
    let reference = p["request"]["reference"].as_str().unwrap().to_owned();
    let tf = app.handler("tf-anna", &["TF"]);
    let mut socket = connect(&app, json!({ "Authorization": format!("Bearer {tf}") }))
        .await
        .unwrap();
    subscribe(&mut socket, json!({ "r": reference })).await;
    let kc = app.contact_centre("kc-bertil");
    let moved = app
        .gql_as(
            &kc,
            "mutation($r: String!) { rerouteRequest(reference: $r, category: \"financial_assistance\", reason: \"gäller bistånd\") { status } }",
            json!({ "r": reference }),
        )
        .await;
    assert!(moved["errors"].is_null(), "{moved}");
    let soc = app.handler("soc-sara", &["SOC"]);
    let note = app
        .gql_as(&soc, "mutation($r: String!) { addComment(reference: $r, body: \"hemlig anteckning\") { status } }", json!({ "r": reference }))
        .await;
    assert!(note["errors"].is_null(), "{note}");
    while let Some(message) = next(&mut socket).await {
        assert!(!message.to_string().contains("hemlig"), "{message}");
        if message["type"] == "complete" {
            return;
        }
    }
}

#[tokio::test]
async fn personal_data_is_not_served_over_the_websocket_where_reads_are_not_logged() {
    let app = spawn_app().await;
    let p = app
        .submit(json!({ "description": "Gatlampan på Storgatan är trasig", "contact": { "email": "anna@example.se" } }))
        .await;
    let tf = app.handler("tf-anna", &["TF"]);
    let mut socket = connect(&app, json!({ "Authorization": format!("Bearer {tf}") }))
        .await
        .unwrap();
    send(
        &mut socket,
        json!({ "id": "q", "type": "subscribe", "payload": {
            "query": "query($r: String!) { requestByReference(reference: $r) { status description contact { email } } }",
            "variables": { "r": p["request"]["reference"] } } }),
    )
    .await;
    let answer = next(&mut socket).await.expect("an answer");
    let request = &answer["payload"]["data"]["requestByReference"];
    assert_eq!(request["status"], "QUEUED", "{answer}");
    assert_eq!(request["description"], Value::Null);
    assert_eq!(request["contact"], Value::Null);
}

#[tokio::test]
async fn a_stream_stops_serving_staff_once_their_token_has_expired() {
    use envagin::auth::{MintClaims, mint_token};
    let app = spawn_app().await;
    let p = app
        .submit(json!({ "description": "Gatlampan på Storgatan är trasig" }))
        .await;
    let reference = p["request"]["reference"].as_str().unwrap().to_owned();
    let short = MintClaims {
        sub: "tf-anna".into(),
        name: None,
        roles: vec!["handler".into()],
        adm: vec!["TF".into()],
        ttl: Duration::from_secs(1),
    };
    let token = mint_token(
        crate::support::TEST_JWT_SECRET.as_bytes(),
        &app.auth,
        &short,
    )
    .unwrap();
    let mut socket = connect(&app, json!({ "Authorization": format!("Bearer {token}") }))
        .await
        .unwrap();
    subscribe(&mut socket, json!({ "r": reference })).await;
    tokio::time::sleep(Duration::from_millis(2_200)).await;
    let tf = app.handler("tf-bo", &["TF"]);
    let note = app
        .gql_as(&tf, "mutation($r: String!) { addComment(reference: $r, body: \"efter utgång\") { status } }", json!({ "r": reference }))
        .await;
    assert!(note["errors"].is_null(), "{note}");
    while let Some(message) = next(&mut socket).await {
        assert!(!message.to_string().contains("efter utgång"), "{message}");
        if message["type"] == "complete" {
            return;
        }
    }
}

#[tokio::test]
async fn a_websocket_message_larger_than_a_request_body_may_be_closes_the_connection() {
    let app = spawn_app().await;
    let mut socket = connect(&app, json!({})).await.expect("connected");
    let huge = "x".repeat(300 * 1024);
    send(
        &mut socket,
        json!({ "id": "1", "type": "subscribe", "payload": { "query": format!("{{ classify(text: \"{huge}\") {{ category }} }}") } }),
    )
    .await;
    assert_eq!(next(&mut socket).await, None, "closed, nothing parsed");
    // Everyone else is still served.
    let mut other = connect(&app, json!({})).await.expect("connected");
    send(
        &mut other,
        json!({ "id": "2", "type": "subscribe", "payload": { "query": "{ __typename }" } }),
    )
    .await;
    let answer = next(&mut other).await.expect("an answer");
    assert_eq!(
        answer["payload"]["data"]["__typename"], "QueryRoot",
        "{answer}"
    );
}

/// A WebSocket opened with the subscription protocol and nothing sent.
async fn open_without_init(app: &TestApp) -> Socket {
    let mut request = format!("ws://{}/graphql/ws", app.addr)
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    tokio_tungstenite::connect_async(request)
        .await
        .expect("upgraded")
        .0
}

#[tokio::test]
async fn a_websocket_that_never_sends_connection_init_is_closed_after_the_header_timeout() {
    let app = crate::support::spawn_app_with(|c| c.header_timeout_secs = 1).await;
    let mut silent = open_without_init(&app).await;
    let started = std::time::Instant::now();
    let ended = tokio::time::timeout(Duration::from_secs(8), async {
        while let Some(Ok(message)) = silent.next().await {
            if matches!(message, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
    assert!(
        ended.is_ok(),
        "the silent socket is closed, not kept for ever"
    );
    assert!(started.elapsed() < Duration::from_secs(4));

    // One that says who it is in time stays open past the timeout.
    let mut talking = connect(&app, json!({})).await.expect("initialised");
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    send(&mut talking, json!({ "type": "ping" })).await;
    assert_eq!(
        next(&mut talking).await.map(|m| m["type"].clone()),
        Some(json!("pong")),
        "an initialised socket is kept"
    );
}
