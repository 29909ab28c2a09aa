use serde_json::{Value, json};

use crate::support::{code, spawn_app, spawn_app_with};

#[tokio::test]
async fn an_oversize_body_is_refused_with_413_and_not_stored() {
    let app = spawn_app().await;
    let description = "x".repeat(300 * 1024);
    let response = app
        .client
        .post(app.url("/graphql"))
        .json(&json!({
            "query": "mutation($d: String!) { submitRequest(input: { description: $d }) { trackingCode } }",
            "variables": { "d": description }
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    assert_eq!(app.count("requests").await, 0);
}

#[tokio::test]
async fn an_over_deep_query_is_refused_before_it_runs() {
    let app = spawn_app().await;
    let deep = "{ __schema { types { fields { type { ofType { ofType { ofType { ofType { ofType { ofType { ofType { ofType { ofType { ofType { ofType { ofType { ofType { name } } } } } } } } } } } } } } } } } }";
    let answer = app.gql(deep, json!({})).await;
    assert_eq!(code(&answer), "BAD_USER_INPUT", "{answer}");
    assert!(
        answer["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("too deep"),
        "{answer}"
    );
    assert!(answer["data"].is_null());
}

#[tokio::test]
async fn a_flood_of_aliases_is_refused() {
    let app = spawn_app().await;
    let fields: String = (0..31).map(|i| format!("a{i}: __typename ")).collect();
    let answer = app.gql(&format!("{{ {fields} }}"), json!({})).await;
    assert_eq!(code(&answer), "BAD_USER_INPUT", "{answer}");
    assert!(
        answer["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("aliases"),
        "{answer}"
    );
    let fields: String = (0..30).map(|i| format!("a{i}: __typename ")).collect();
    let answer = app.gql(&format!("{{ {fields} }}"), json!({})).await;
    assert!(answer["errors"].is_null(), "{answer}");
}

#[tokio::test]
async fn a_query_selecting_too_many_fields_exceeds_the_complexity_limit() {
    let app = spawn_app().await;
    let fields =
        "code nameSv nameEn administration queue ackDueDays resolveDueDays confidential ".repeat(8);
    let query = format!(
        "{{ catalogue {{ categories {{ {fields} }} administrations {{ categories {{ {fields} }} queues {{ code }} }} }} }}"
    );
    let answer = app.gql(&query, json!({})).await;
    assert!(
        answer["errors"].is_null(),
        "repeated fields merge: {answer}"
    );
    let fields: String = (0..25).map(|i| format!("c{i}: categories {{ code nameSv nameEn administration queue ackDueDays resolveDueDays confidential }} ")).collect();
    let answer = app
        .gql(&format!("{{ catalogue {{ {fields} }} }}"), json!({}))
        .await;
    assert_eq!(code(&answer), "BAD_USER_INPUT", "{answer}");
}

#[tokio::test]
async fn graphiqls_introspection_query_is_within_the_limits() {
    let app = spawn_app().await;
    let answer = app.gql(INTROSPECTION, json!({})).await;
    assert!(answer["errors"].is_null(), "{answer}");
    assert!(
        answer["data"]["__schema"]["types"]
            .as_array()
            .unwrap()
            .len()
            > 10
    );
}

#[tokio::test]
async fn introspection_can_be_switched_off() {
    let app = spawn_app_with(|c| c.graphql_introspection = false).await;
    let answer = app.gql("{ __schema { types { name } } }", json!({})).await;
    assert!(answer["data"]["__schema"].is_null(), "{answer}");
    let ordinary = app
        .gql("{ catalogue { categories { code } } }", json!({}))
        .await;
    assert!(ordinary["errors"].is_null(), "{ordinary}");
}

#[tokio::test]
async fn a_batch_larger_than_allowed_is_refused_whole() {
    let app = spawn_app().await;
    let one = json!({ "query": "mutation { submitRequest(input: { description: \"Hål i vägen\" }) { trackingCode } }" });
    let batch: Vec<Value> = std::iter::repeat_n(one.clone(), 11).collect();
    let response = app
        .client
        .post(app.url("/graphql"))
        .json(&batch)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(code(&body), "BAD_USER_INPUT");
    assert_eq!(app.count("requests").await, 0);
    let small: Vec<Value> = std::iter::repeat_n(one, 2).collect();
    let answers: Value = app
        .client
        .post(app.url("/graphql"))
        .json(&small)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answers.as_array().unwrap().len(), 2);
    assert_eq!(app.count("requests").await, 2);
}

#[tokio::test]
async fn a_body_that_is_not_graphql_gets_a_coded_error() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(code(&body), "BAD_USER_INPUT");
}

#[tokio::test]
async fn a_syntax_error_gets_a_coded_error() {
    let app = spawn_app().await;
    let answer = app.gql("{ catalogue { ", json!({})).await;
    assert_eq!(code(&answer), "BAD_USER_INPUT", "{answer}");
}

#[tokio::test]
async fn health_and_readiness_answer_and_graphiql_is_served() {
    let app = spawn_app().await;
    let health = app.client.get(app.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let ready: Value = app
        .client
        .get(app.url("/ready"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["status"], "ready");
    let page = app
        .client
        .get(app.url("/graphql"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("graphiql"), "GraphiQL page");
}

#[tokio::test]
async fn graphiql_is_off_by_default_behind_an_https_public_url_unless_switched_on() {
    let production = spawn_app_with(|c| c.public_url = Some("https://evi.example.se".into())).await;
    let page = production
        .client
        .get(production.url("/graphql"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 405, "no page that loads scripts from a CDN");
    let answer = production
        .gql("{ catalogue { administrations { code } } }", json!({}))
        .await;
    assert!(
        answer["errors"].is_null(),
        "the API itself answers: {answer}"
    );

    let switched_on = spawn_app_with(|c| {
        c.public_url = Some("https://evi.example.se".into());
        c.graphiql = Some(true);
    })
    .await;
    let page = switched_on
        .client
        .get(switched_on.url("/graphql"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("graphiql"), "switched on explicitly");
}

/// The query GraphiQL sends on load (graphql-js `getIntrospectionQuery`).
const INTROSPECTION: &str = r#"
query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } }
}
"#;

#[tokio::test]
async fn every_answer_carries_a_request_id_the_client_may_choose() {
    let app = spawn_app().await;
    let generated = app.client.get(app.url("/health")).send().await.unwrap();
    let id = generated.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(id.len(), 36, "a generated UUID: {id}");
    let chosen = app
        .client
        .get(app.url("/health"))
        .header("x-request-id", "support-ticket-4711")
        .send()
        .await
        .unwrap();
    assert_eq!(chosen.headers()["x-request-id"], "support-ticket-4711");
    let hostile = app
        .client
        .get(app.url("/health"))
        .header("x-request-id", "anna@example.se\" injected=1")
        .send()
        .await
        .unwrap();
    let replaced = hostile.headers()["x-request-id"].to_str().unwrap();
    assert!(
        !replaced.contains('@') && replaced.len() == 36,
        "{replaced}"
    );
}

#[tokio::test]
async fn metrics_are_scraped_in_prometheus_text_format() {
    let app = spawn_app().await;
    app.submit(json!({ "description": "Gatlampan på Storgatan är trasig" }))
        .await;
    let _ = app
        .gql("{ catalogue { categories { code } } }", json!({}))
        .await;
    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    for series in [
        "envagin_http_requests_total{",
        "envagin_http_request_duration_seconds_bucket{",
        "envagin_graphql_operations_total{operation=\"submitRequest\",outcome=\"ok\"}",
        "envagin_graphql_operation_duration_seconds_bucket{operation=\"catalogue\"",
        "envagin_requests_routed_total{outcome=\"QUEUED\"}",
        "envagin_queue_requests{queue=\"TF\",status=\"queued\"}",
        "envagin_queue_overdue{queue=\"TRIAGE\"}",
        "envagin_db_pool_connections",
        "envagin_outbox_pending",
        "envagin_outbox_dead",
        "envagin_notifications_sent_total{channel=\"EMAIL\"}",
        "envagin_notifications_failed_total{channel=\"WEBHOOK\"}",
    ] {
        assert!(text.contains(series), "missing {series} in\n{text}");
    }
}

#[tokio::test]
async fn metrics_need_the_scrapers_token_when_one_is_set() {
    let secret = "metrics-scraper-secret-of-at-least-32-bytes";
    let app = spawn_app_with(|c| c.metrics_token = Some(secret.to_owned())).await;
    let scrape = |token: Option<&str>| {
        let mut request = app.client.get(app.url("/metrics"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    assert_eq!(scrape(None).await.unwrap().status(), 403);
    assert_eq!(
        scrape(Some("a-wrong-secret-of-the-same-kind-and-length!"))
            .await
            .unwrap()
            .status(),
        403
    );
    let allowed = scrape(Some(secret)).await.unwrap();
    assert_eq!(allowed.status(), 200);
    assert!(
        allowed
            .text()
            .await
            .unwrap()
            .contains("envagin_outbox_pending")
    );
}

#[tokio::test]
async fn metrics_show_no_live_count_of_a_confidential_queue() {
    let app = spawn_app().await;
    let p = app
        .submit(json!({ "description": "Jag behöver ekonomiskt bistånd till hyran den här månaden", "categoryHint": "financial_assistance" }))
        .await;
    assert_eq!(p["request"]["administration"], "SOC", "{p}");
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("envagin_queue_requests{queue=\"TF\""),
        "{text}"
    );
    for confidential in ["queue=\"SOC\"", "queue=\"VOF\""] {
        assert!(!text.contains(confidential), "{confidential} in\n{text}");
    }
}
