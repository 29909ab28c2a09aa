use serde_json::{Value, json};

use crate::support::{LOOKUP, TestApp, code, field, spawn_app};

async fn submitted(app: &TestApp) -> (String, String) {
    let p = app
        .submit(json!({ "description": "Gatlampan på Storgatan är trasig" }))
        .await;
    (
        p["request"]["reference"].as_str().unwrap().to_owned(),
        p["trackingCode"].as_str().unwrap().to_owned(),
    )
}

fn with_check_digit(reference: &str, digit: u32) -> String {
    let (body, _) = reference.rsplit_once('-').unwrap();
    format!("{body}-{digit}")
}

#[tokio::test]
async fn a_reference_with_a_wrong_check_digit_is_refused_as_bad_input() {
    let app = spawn_app().await;
    let (reference, tracking) = submitted(&app).await;
    let right: u32 = reference.rsplit_once('-').unwrap().1.parse().unwrap();
    let wrong = with_check_digit(&reference, (right + 1) % 10);
    let answer = app
        .gql(
            LOOKUP,
            json!({ "reference": wrong, "trackingCode": tracking }),
        )
        .await;
    assert_eq!(code(&answer), "BAD_USER_INPUT", "{answer}");
    assert_eq!(field(&answer), "reference");
}

#[tokio::test]
async fn a_wrong_tracking_code_and_an_unknown_reference_look_exactly_the_same() {
    let app = spawn_app().await;
    let (reference, tracking) = submitted(&app).await;
    let other_code = if tracking.starts_with('Z') { "Y" } else { "Z" }.to_owned() + &tracking[1..];
    let wrong_code = app
        .gql(
            LOOKUP,
            json!({ "reference": reference, "trackingCode": other_code }),
        )
        .await;
    let unknown = envagin::domain::reference::Reference::new(2026, 999_999).to_string();
    let unknown_ref = app
        .gql(
            LOOKUP,
            json!({ "reference": unknown, "trackingCode": tracking }),
        )
        .await;
    let malformed = app
        .gql(
            LOOKUP,
            json!({ "reference": reference, "trackingCode": "nope" }),
        )
        .await;
    for answer in [&wrong_code, &unknown_ref, &malformed] {
        assert_eq!(code(answer), "NOT_FOUND", "{answer}");
        assert_eq!(answer["data"], Value::Null);
    }
    let strip = |a: &Value| {
        let mut e = a["errors"][0].clone();
        e.as_object_mut().unwrap().remove("locations");
        e
    };
    assert_eq!(strip(&wrong_code), strip(&unknown_ref));
    assert_eq!(strip(&wrong_code), strip(&malformed));
}

#[tokio::test]
async fn the_tracking_code_may_be_typed_loosely() {
    let app = spawn_app().await;
    let (reference, tracking) = submitted(&app).await;
    let loose = tracking.to_lowercase().replace('-', " ");
    let answer = app
        .gql(
            LOOKUP,
            json!({ "reference": reference.to_lowercase(), "trackingCode": loose }),
        )
        .await;
    assert_eq!(
        answer["data"]["request"]["reference"],
        reference.as_str(),
        "{answer}"
    );
}

#[tokio::test]
async fn the_resident_view_shows_no_personal_data_internal_notes_or_staff() {
    let app = spawn_app().await;
    let p = app
        .submit(json!({
            "description": "Gatlampan på Storgatan är trasig",
            "contact": { "name": "Anna Svensson", "email": "anna@example.se", "personalNumber": "19121212-1212" }
        }))
        .await;
    let reference = p["request"]["reference"].as_str().unwrap();
    let tracking = p["trackingCode"].as_str().unwrap();
    let answer = app
        .gql(
            "query($r: String!, $t: String!) { request(reference: $r, trackingCode: $t) {
                access description contact { name } location { address } assignee { sub } version queue priority
                classification { explanation } registeredBy history { note actor { id } message } } }",
            json!({ "r": reference, "t": tracking }),
        )
        .await;
    let r = &answer["data"]["request"];
    assert_eq!(r["access"], "RESIDENT", "{answer}");
    for hidden in [
        "description",
        "contact",
        "location",
        "assignee",
        "version",
        "queue",
        "priority",
        "classification",
        "registeredBy",
    ] {
        assert_eq!(r[hidden], Value::Null, "{hidden} leaked: {answer}");
    }
    for event in r["history"].as_array().unwrap() {
        assert_eq!(event["note"], Value::Null, "{answer}");
        assert_eq!(event["actor"], Value::Null, "{answer}");
    }
    assert!(!answer.to_string().contains("Anna"), "{answer}");
}
