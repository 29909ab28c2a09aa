//! Hostile and malformed input: every one gets a clear, coded error or is
//! stored as the plain text it is; never a 500, never a panic, never
//! somebody else's data.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{LOOKUP, SUBMIT, TestApp, code, spawn_app, spawn_app_with};

async fn post_raw(app: &TestApp, content_type: &str, body: Vec<u8>) -> (u16, Value) {
    let response = app
        .client
        .post(app.url("/graphql"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn first_code(answer: &Value) -> Option<&str> {
    answer["errors"][0]["extensions"]["code"].as_str()
}

#[tokio::test]
async fn malformed_bodies_get_a_coded_client_error() {
    let app = spawn_app().await;
    let cases: Vec<(&str, &str, Vec<u8>)> = vec![
        (
            "unterminated JSON",
            "application/json",
            br#"{"query": "{ catalogue { administrations { code } } }""#.to_vec(),
        ),
        (
            "invalid UTF-8",
            "application/json",
            b"{\"query\": \"\xff\xfe{ catalogue }\"}".to_vec(),
        ),
        (
            "not JSON at all",
            "application/json",
            b"DROP TABLE requests;".to_vec(),
        ),
        (
            "JSON but no query",
            "application/json",
            br#"{"variables": {}}"#.to_vec(),
        ),
        ("an empty body", "application/json", Vec::new()),
        (
            "a wrong content type",
            "text/plain",
            br#"{"query": "{ __typename }"}"#.to_vec(),
        ),
        (
            "a NUL in the JSON",
            "application/json",
            b"{\"query\": \"{ catalogue \x00 }\"}".to_vec(),
        ),
    ];
    for (what, content_type, body) in cases {
        let (status, answer) = post_raw(&app, content_type, body).await;
        assert!(
            (400..500).contains(&status) || (status == 200 && first_code(&answer).is_some()),
            "{what}: HTTP {status} {answer}"
        );
        if status != 415 {
            assert!(first_code(&answer).is_some(), "{what}: no code in {answer}");
        }
    }
    assert_eq!(app.count("requests").await, 0);
}

#[tokio::test]
async fn a_query_with_ten_thousand_directives_is_refused_quickly() {
    let app = spawn_app().await;
    let directives = "@skip(if: false) ".repeat(10_000);
    let query = format!("{{ catalogue {{ administrations {{ code {directives} }} }} }}");
    let started = std::time::Instant::now();
    let answer = app.gql(&query, json!({})).await;
    assert!(answer["errors"].is_array(), "{answer}");
    assert!(first_code(&answer).is_some(), "{answer}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[tokio::test]
async fn a_large_batch_is_refused_whole_and_runs_nothing() {
    let app = spawn_app().await;
    let batch: Vec<Value> = (0..1_000)
        .map(|i| json!({ "query": SUBMIT, "variables": { "input": { "description": format!("Hål i vägen {i}") } } }))
        .collect();
    let response = app
        .client
        .post(app.url("/graphql"))
        .json(&batch)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    assert!(status == 400 || status == 413, "HTTP {status}");
    assert_eq!(app.count("requests").await, 0);
}

#[tokio::test]
async fn control_characters_nul_bytes_and_huge_words_are_stored_as_plain_text() {
    let app = spawn_app().await;
    let word = "a".repeat(9_000);
    let description = format!("Hål\u{0}i\u{7}vägen\u{1b}[31m på Kungsgatan {word}");
    let answer = app
        .gql(SUBMIT, json!({ "input": { "description": description } }))
        .await;
    assert!(answer["errors"].is_null(), "{answer}");
    let payload = &answer["data"]["submitRequest"];
    let handler = app.token("kc-anna", &["contact_centre"], &[]);
    let stored = app
        .gql_as(
            &handler,
            "query($r: String!) { requestByReference(reference: $r) { description } }",
            json!({ "r": payload["request"]["reference"] }),
        )
        .await;
    let text = stored["data"]["requestByReference"]["description"]
        .as_str()
        .unwrap_or_default();
    assert!(text.contains("Kungsgatan"), "{stored}");
    assert!(text.contains(&word), "the long word is kept");
    assert!(
        !text.chars().any(|c| c.is_control() && c != '\n'),
        "control characters removed: {text:?}"
    );
}

#[tokio::test]
async fn injection_strings_are_stored_and_returned_as_the_text_they_are() {
    let app = spawn_app().await;
    let evil = "'; DROP TABLE requests; -- <script>alert('x')</script> \" OR 1=1 --";
    let answer = app
        .gql(SUBMIT, json!({ "input": { "description": format!("Gatlampan är trasig {evil}"), "contact": { "name": evil } } }))
        .await;
    assert!(answer["errors"].is_null(), "{answer}");
    let reference = answer["data"]["submitRequest"]["request"]["reference"].clone();
    let agent = app.token("kc-anna", &["contact_centre"], &[]);
    let read = app
        .gql_as(
            &agent,
            "query($r: String!) { requestByReference(reference: $r) { description contact { name } } }",
            json!({ "r": reference }),
        )
        .await;
    let request = &read["data"]["requestByReference"];
    assert!(
        request["description"].as_str().unwrap().ends_with(evil),
        "{read}"
    );
    assert_eq!(request["contact"]["name"], evil);
    // Searching with the same text is a search, not a statement.
    let found = app
        .gql_as(
            &agent,
            "query($t: String!) { searchRequests(filter: { text: $t }) { nodes { reference } } }",
            json!({ "t": evil }),
        )
        .await;
    assert!(
        found["errors"].is_null() || first_code(&found) == Some("BAD_USER_INPUT"),
        "{found}"
    );
    assert_eq!(app.count("requests").await, 1, "the table is still there");
}

#[tokio::test]
async fn a_lookup_with_injection_or_another_residents_reference_reveals_nothing() {
    let app = spawn_app().await;
    let mine = app
        .submit(json!({ "description": "Soptunnan har inte tömts" }))
        .await;
    let theirs = app
        .submit(json!({ "description": "Hål i vägen på Kungsgatan" }))
        .await;
    for (reference, code_value) in [
        (
            theirs["request"]["reference"].clone(),
            mine["trackingCode"].clone(),
        ),
        (json!("EVI-2026-000001-3' OR '1'='1"), json!("' OR '1'='1")),
        (theirs["request"]["reference"].clone(), json!("%")),
        (theirs["request"]["reference"].clone(), json!("")),
    ] {
        let answer = app
            .gql(
                LOOKUP,
                json!({ "reference": reference, "trackingCode": code_value }),
            )
            .await;
        assert!(answer["data"]["request"].is_null(), "{answer}");
        assert!(
            matches!(code(&answer), "NOT_FOUND" | "BAD_USER_INPUT"),
            "{answer}"
        );
    }
}

/// Sends `submitRequest` from `forwarded_for` (an `X-Forwarded-For`
/// header) and answers the HTTP status and body.
async fn submit_from(app: &TestApp, forwarded_for: &str, text: &str) -> (u16, Value) {
    let response = app
        .client
        .post(app.url("/graphql"))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({ "query": SUBMIT, "variables": { "input": { "description": text } } }))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn anonymous_submissions_beyond_an_addresss_budget_are_refused_with_429_and_not_stored() {
    let app = spawn_app_with(|c| c.submit_max_per_address = 3).await;
    for n in 0..3 {
        let (status, answer) =
            submit_from(&app, "198.51.100.7", &format!("Gatlampan {n} är trasig")).await;
        assert_eq!(status, 200, "{answer}");
        assert!(answer["errors"].is_null(), "{answer}");
    }
    let (status, answer) = submit_from(&app, "198.51.100.7", "Gatlampan 4 är trasig").await;
    assert_eq!(status, 429, "{answer}");
    assert_eq!(first_code(&answer), Some("RATE_LIMITED"), "{answer}");
    assert_eq!(
        app.count("requests").await,
        3,
        "the refused one is not stored"
    );

    // The budget is the address's, not the form's: Open311 shares it.
    let open311 = app
        .client
        .post(app.url("/open311/v2/requests.json"))
        .form(&[
            ("service_code", "street_lighting"),
            ("description", "Trasig lampa"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(open311.status().as_u16(), 429);

    // Staff registering a call are not anonymous and not counted.
    let agent = app.contact_centre("kc-anna");
    let registered = app
        .gql_as(
            &agent,
            SUBMIT,
            json!({ "input": { "description": "Ringde om gatlampan", "channel": "PHONE" } }),
        )
        .await;
    assert!(registered["errors"].is_null(), "{registered}");
    assert_eq!(app.count("requests").await, 4);
}

/// Sends `submitRequest` with `token` as the bearer: (HTTP status, body).
async fn submit_as(app: &TestApp, token: &str, input: Value) -> (u16, Value) {
    let response = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(token)
        .json(&json!({ "query": SUBMIT, "variables": { "input": input } }))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn a_signed_in_residents_submissions_beyond_the_budget_are_refused_with_429_and_not_stored() {
    let app = spawn_app_with(|c| c.submit_max_per_address = 2).await;
    let anna = app.token("anna-eid", &["citizen"], &[]);
    for n in 0..2 {
        let input = json!({ "description": format!("Gatlampan {n} är trasig") });
        let (status, answer) = submit_as(&app, &anna, input).await;
        assert_eq!(status, 200, "{answer}");
        assert!(answer["errors"].is_null(), "{answer}");
    }
    let input = json!({ "description": "Gatlampan 3 är trasig" });
    let (status, answer) = submit_as(&app, &anna, input).await;
    assert_eq!(status, 429, "{answer}");
    assert_eq!(first_code(&answer), Some("RATE_LIMITED"), "{answer}");
    assert_eq!(
        app.count("requests").await,
        2,
        "the refused one is not stored"
    );

    // The budget is the subject's: another resident, and anonymous
    // residents at the same address, still have theirs.
    let bertil = app.token("bertil-eid", &["citizen"], &[]);
    let input = json!({ "description": "Soptunnan har inte tömts" });
    let (status, answer) = submit_as(&app, &bertil, input).await;
    assert_eq!(status, 200, "{answer}");
    let (status, answer) = submit_from(&app, "198.51.100.7", "Parkbänken är trasig").await;
    assert_eq!(status, 200, "{answer}");

    // Staff registering calls are not counted.
    let agent = app.contact_centre("kc-anna");
    for n in 0..3 {
        let input = json!({ "description": format!("Ringde om gatlampa {n}"), "channel": "PHONE" });
        let (status, answer) = submit_as(&app, &agent, input).await;
        assert_eq!(status, 200, "{answer}");
        assert!(answer["errors"].is_null(), "{answer}");
    }
    assert_eq!(app.count("requests").await, 7);
}

#[tokio::test]
async fn x_forwarded_for_names_the_address_only_behind_a_trusted_proxy() {
    // Not trusted (the default): every header value is the same peer,
    // 127.0.0.1, so a client cannot dodge its budget by inventing addresses.
    let app = spawn_app_with(|c| c.submit_max_per_address = 2).await;
    for (n, address) in ["203.0.113.1", "203.0.113.2"].iter().enumerate() {
        let (status, _) = submit_from(&app, address, &format!("Soptunnan {n} är inte tömd")).await;
        assert_eq!(status, 200);
    }
    let (status, _) = submit_from(&app, "203.0.113.3", "Soptunnan 3 är inte tömd").await;
    assert_eq!(status, 429, "a made-up address does not reset the budget");

    // Trusted: each address has its own budget.
    let app = spawn_app_with(|c| {
        c.submit_max_per_address = 2;
        c.trust_forwarded_for = true;
    })
    .await;
    for address in ["203.0.113.1", "203.0.113.1", "203.0.113.2", "203.0.113.2"] {
        let (status, answer) = submit_from(&app, address, "Soptunnan är inte tömd").await;
        assert_eq!(status, 200, "{answer}");
    }
    let (status, _) = submit_from(&app, "203.0.113.1", "Soptunnan är inte tömd").await;
    assert_eq!(status, 429);
}

/// Error codes of every error in `answer`, each field's own.
fn error_codes(answer: &Value) -> Vec<String> {
    answer["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|e| e["extensions"]["code"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn concurrent_batches_of_aliased_guesses_evaluate_no_more_guesses_than_the_budget() {
    let app = std::sync::Arc::new(spawn_app_with(|c| c.lookup_failures = 10).await);
    let submitted = app
        .submit(json!({ "description": "Gatlampan på Storgatan är trasig" }))
        .await;
    let reference = submitted["request"]["reference"]
        .as_str()
        .unwrap()
        .to_owned();
    // 30 aliases, each a wrong tracking code for a real reference.
    let fields: String = (0..30)
        .map(|i| {
            format!("g{i}: request(reference: $r, trackingCode: \"ABCD-EFGH-JKMN-{i:04}\") {{ status }} ")
        })
        .collect();
    let query = format!("query($r: String!) {{ {fields} }}");
    let batches = (0..8).map(|_| {
        let (app, query, reference) = (app.clone(), query.clone(), reference.clone());
        tokio::spawn(async move { app.gql(&query, json!({ "r": reference })).await })
    });
    let mut codes = Vec::new();
    for answer in futures_util::future::join_all(batches).await {
        codes.extend(error_codes(&answer.unwrap()));
    }
    let evaluated = codes.iter().filter(|c| *c == "NOT_FOUND").count();
    let refused = codes.iter().filter(|c| *c == "RATE_LIMITED").count();
    assert_eq!(evaluated + refused, 240, "every guess answered: {codes:?}");
    assert_eq!(
        evaluated, 10,
        "8 concurrent batches of 30 aliased guesses evaluated only the budget's 10"
    );
}

#[tokio::test]
async fn a_small_query_whose_fragments_double_each_other_is_refused_before_it_is_validated() {
    let app = spawn_app().await;
    // 1 KB of text that expands to 2^25 selections: validating it took a
    // minute of CPU before this limit.
    let mut query = String::from("{ ...F25 } fragment F0 on QueryRoot { __typename } ");
    for level in 1..=25 {
        let below = level - 1;
        query.push_str(&format!(
            "fragment F{level} on QueryRoot {{ ...F{below} ...F{below} }} "
        ));
    }
    let answer = app.gql(&query, json!({})).await;
    assert_eq!(code(&answer), "BAD_USER_INPUT", "{answer}");
    assert!(
        answer["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("fragments")),
        "{answer}"
    );
    // GraphiQL's introspection query, fragments and all, is still fine.
    let answer = app.gql("{ ...A } fragment A on QueryRoot { catalogue { ...B } } fragment B on Catalogue { administrations { code } }", json!({})).await;
    assert!(answer["errors"].is_null(), "{answer}");
}

#[tokio::test]
async fn fragments_that_fan_out_are_refused_before_async_graphql_walks_them() {
    let app = spawn_app().await;
    // 16^8 spreads in under 1 KB: async-graphql's own recursion check,
    // which ran before ours, would have walked them for minutes.
    let mut query = String::from("{ ...F8 } fragment F0 on QueryRoot { __typename } ");
    for level in 1..=8 {
        let spreads = format!("...F{} ", level - 1).repeat(16);
        query.push_str(&format!("fragment F{level} on QueryRoot {{ {spreads}}} "));
    }
    assert!(query.len() < 1_100, "{}", query.len());
    let answer: Value = app
        .client
        .post(app.url("/graphql"))
        .timeout(std::time::Duration::from_secs(20))
        .json(&json!({ "query": query }))
        .send()
        .await
        .expect("answered, not still walking fragments")
        .json()
        .await
        .unwrap();
    assert_eq!(code(&answer), "BAD_USER_INPUT", "{answer}");
    assert!(
        answer["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("fragments")),
        "{answer}"
    );
}

/// A text of `words` random-looking words nobody's vocabulary knows.
fn gibberish(words: usize) -> String {
    (0..words)
        .map(|i| format!("qz{:x}vbk", i.wrapping_mul(2_654_435_761) % 1_000_003))
        .collect::<Vec<_>>()
        .join(" ")
}

#[tokio::test]
async fn a_batch_of_aliased_classifications_of_long_texts_is_refused_before_any_runs() {
    let app = spawn_app().await;
    let text = gibberish(900);
    assert!(text.len() < 10_000, "within a description's length");
    let fields: String = (0..30)
        .map(|i| format!("c{i}: classify(text: $t) {{ category confidence }} "))
        .collect();
    let operation = json!({ "query": format!("query($t: String!) {{ {fields} }}"), "variables": { "t": text } });
    let batch = vec![operation; 10];
    let answers: Value = app
        .client
        .post(app.url("/graphql"))
        .json(&batch)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let answers = answers.as_array().expect("one answer per operation");
    assert_eq!(answers.len(), 10);
    for answer in answers {
        assert!(answer["data"].is_null(), "nothing ran: {answer}");
        assert_eq!(code(answer), "BAD_USER_INPUT", "{answer}");
        assert!(
            answer["errors"][0]["message"]
                .as_str()
                .is_some_and(|m| m.contains("complex")),
            "refused by the complexity limit: {answer}"
        );
    }
    // A form's own preview of the same text still works.
    let one = app
        .gql(
            "query($t: String!) { classify(text: $t) { category } }",
            json!({ "t": text }),
        )
        .await;
    assert!(one["errors"].is_null(), "{one}");
}

#[tokio::test]
async fn previews_beyond_a_residents_budget_are_refused_and_staff_are_not_counted() {
    let app = spawn_app_with(|c| c.preview_max_per_address = 4).await;
    let classify = "query($t: String!) { classify(text: $t) { category } }";
    let answers = "query($t: String!) { answers(text: $t) { relevance } }";
    for query in [classify, answers, classify, answers] {
        let answer = app.gql(query, json!({ "t": "Gatlampan är trasig" })).await;
        assert!(answer["errors"].is_null(), "{answer}");
    }
    for query in [classify, answers] {
        let answer = app.gql(query, json!({ "t": "Gatlampan är trasig" })).await;
        assert_eq!(code(&answer), "RATE_LIMITED", "{answer}");
    }
    let agent = app.contact_centre("kc-anna");
    let answer = app
        .gql_as(&agent, classify, json!({ "t": "Gatlampan är trasig" }))
        .await;
    assert!(
        answer["errors"].is_null(),
        "staff are not counted: {answer}"
    );
    // A signed-in resident has a budget of their own, wherever they ask from.
    let resident = app.token("citizen-1", &["citizen"], &[]);
    for _ in 0..4 {
        let answer = app
            .gql_as(&resident, classify, json!({ "t": "Gatlampan är trasig" }))
            .await;
        assert!(answer["errors"].is_null(), "{answer}");
    }
    let answer = app
        .gql_as(&resident, classify, json!({ "t": "Gatlampan är trasig" }))
        .await;
    assert_eq!(code(&answer), "RATE_LIMITED", "{answer}");
}

const FOUR_PREVIEWS: &str = "query($t: String!) { \
    a: classify(text: $t) { category } \
    b: emergencyAdvice(text: $t) \
    c: answers(text: $t) { relevance } \
    d: classify(text: $t) { category } }";

#[tokio::test]
async fn previews_that_find_every_analysis_thread_taken_are_refused_as_busy_when_none_may_wait() {
    let app = spawn_app_with(|c| {
        c.analysis_threads = 1;
        c.preview_wait_ms = 0;
    })
    .await;
    // The four fields of one operation are resolved at once: the first
    // takes the only thread, the others find it taken.
    let answer = app.gql(FOUR_PREVIEWS, json!({ "t": gibberish(150) })).await;
    let errors = answer["errors"].as_array().cloned().unwrap_or_default();
    assert!(!errors.is_empty(), "some were refused: {answer}");
    assert!(errors.len() < 4, "the first one ran: {answer}");
    for error in &errors {
        assert_eq!(error["extensions"]["code"], "RATE_LIMITED", "{answer}");
        assert!(
            error["message"]
                .as_str()
                .is_some_and(|m| m.contains("busy")),
            "says the server is busy, not that the caller asked too often: {answer}"
        );
    }
}

#[tokio::test]
async fn previews_wait_their_turn_for_an_analysis_thread_within_the_configured_wait() {
    let app = spawn_app_with(|c| {
        c.analysis_threads = 1;
        c.preview_wait_ms = 10_000;
    })
    .await;
    let answer = app.gql(FOUR_PREVIEWS, json!({ "t": gibberish(150) })).await;
    assert!(answer["errors"].is_null(), "{answer}");
    assert!(answer["data"]["a"][0]["category"].is_string(), "{answer}");
}

#[tokio::test]
async fn submissions_are_never_refused_as_busy_however_many_arrive_at_once() {
    let app = spawn_app_with(|c| {
        c.analysis_threads = 1;
        c.preview_wait_ms = 0;
    })
    .await;
    let texts: Vec<String> = (0..12)
        .map(|i| {
            format!(
                "Gatlampan nummer {i} på Storgatan är trasig. {}",
                gibberish(200)
            )
        })
        .collect();
    let answers = futures_util::future::join_all(
        texts
            .iter()
            .map(|text| app.gql(SUBMIT, json!({ "input": { "description": text } }))),
    )
    .await;
    for answer in &answers {
        assert!(
            answer["data"]["submitRequest"]["request"]["reference"].is_string(),
            "{answer}"
        );
    }
    assert_eq!(app.count("requests").await, 12);
}

#[tokio::test]
async fn a_value_nested_thousands_deep_is_refused_and_the_server_lives_on() {
    let app = spawn_app().await;
    for depth in [2_000, 20_000] {
        let nested = format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
        let objects = format!("{}1{}", "{a: ".repeat(depth), "}".repeat(depth));
        for query in [
            format!("query($a: [Int] = {nested}) {{ __typename }}"),
            // A block string the parser reads differently from a naive scan.
            format!(
                "query($s: String = \"\"\"\\\"\"\"\" \"\"\", $a: [Int] = {nested}) {{ __typename }}"
            ),
            format!("{{ classify(text: \"x\", categoryHint: {objects}) {{ category }} }}"),
        ] {
            let (status, answer) = post_raw(
                &app,
                "application/json",
                serde_json::to_vec(&json!({ "query": query })).unwrap(),
            )
            .await;
            assert!(status < 500, "{status}: {answer}");
            assert_eq!(first_code(&answer), Some("BAD_USER_INPUT"), "{answer}");
            assert!(
                answer["errors"][0]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("nests")),
                "{answer}"
            );
        }
    }
    let health = app.client.get(app.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), 200, "still alive");
}

/// Writes `head` to a fresh connection a few bytes at a time, a pause
/// between each, and reports how long the server kept the connection open
/// (or `None` when it was still open after `patience`).
async fn trickle(
    app: &TestApp,
    head: &[u8],
    pause: Duration,
    patience: Duration,
) -> Option<Duration> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(app.addr)
        .await
        .expect("connects");
    let started = Instant::now();
    let (mut reader, mut writer) = stream.split();
    let write = async {
        for piece in head.chunks(3) {
            if writer.write_all(piece).await.is_err() {
                break;
            }
            tokio::time::sleep(pause).await;
        }
        std::future::pending::<()>().await;
    };
    let closed = async {
        let mut buffer = [0u8; 1024];
        while let Ok(n) = reader.read(&mut buffer).await {
            if n == 0 {
                break;
            }
        }
    };
    tokio::time::timeout(patience, async {
        tokio::select! {
            () = write => {}
            () = closed => {}
        }
    })
    .await
    .ok()
    .map(|()| started.elapsed())
}

#[tokio::test]
async fn a_client_that_trickles_its_request_headers_is_cut_off_after_the_header_timeout() {
    let app = spawn_app_with(|c| c.header_timeout_secs = 1).await;
    let head = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow-1: aaaaaaaaaa\r\nX-Slow-2: bbbbbbbbbb\r\nX-Slow-3: cccccccccc\r\n\r\n";
    let open_for = trickle(
        &app,
        head,
        Duration::from_millis(200),
        Duration::from_secs(8),
    )
    .await
    .expect("the connection is closed, not held open by a slow client");
    assert!(
        open_for < Duration::from_secs(3),
        "closed after {open_for:?}, with a header timeout of 1 s"
    );
    let health = app
        .client
        .get(app.url("/health"))
        .send()
        .await
        .expect("health");
    assert_eq!(health.status(), 200, "the server serves others meanwhile");
}

#[tokio::test]
async fn a_connection_left_idle_is_closed_after_the_header_timeout() {
    let app = spawn_app_with(|c| c.header_timeout_secs = 1).await;
    let open_for = trickle(&app, b"", Duration::ZERO, Duration::from_secs(8))
        .await
        .expect("an idle connection is closed");
    assert!(
        open_for < Duration::from_secs(3),
        "closed after {open_for:?}"
    );
}

#[tokio::test]
async fn a_client_sending_its_headers_in_time_is_answered_on_a_kept_alive_connection() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app_with(|c| c.header_timeout_secs = 2).await;
    let mut stream = tokio::net::TcpStream::connect(app.addr)
        .await
        .expect("connects");
    for _ in 0..2 {
        stream
            .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .expect("writes");
        let mut buffer = [0u8; 4096];
        let n = stream.read(&mut buffer).await.expect("reads");
        let answer = String::from_utf8_lossy(&buffer[..n]);
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
