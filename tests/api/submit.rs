use serde_json::{Value, json};

use crate::support::{LOOKUP, SUBMIT, code, field, spawn_app};

#[tokio::test]
async fn a_resident_submits_a_request_and_reads_it_back_with_reference_and_tracking_code() {
    let app = spawn_app().await;
    let payload = app
        .submit(json!({ "description": "Gatlampan utanför Storgatan 12 är trasig och lyser inte" }))
        .await;
    let request = &payload["request"];
    let reference = request["reference"].as_str().unwrap();
    let year = chrono::Utc::now().format("%Y").to_string();
    assert!(
        reference.starts_with(&format!("EVI-{year}-000001-")),
        "{reference}"
    );
    assert_eq!(request["status"], "QUEUED");
    assert_eq!(request["category"], "street_lighting");
    assert_eq!(request["administration"], "TF");
    let code = payload["trackingCode"].as_str().unwrap();
    assert_eq!(code.len(), 19);

    let read = app
        .gql(
            LOOKUP,
            json!({ "reference": reference, "trackingCode": code }),
        )
        .await;
    assert!(read["errors"].is_null(), "{read}");
    let r = &read["data"]["request"];
    assert_eq!(r["reference"], reference);
    assert_eq!(r["status"], "QUEUED");
    assert_eq!(r["category"], "street_lighting");
    assert_eq!(r["categoryName"], "Gatubelysning");
    assert_eq!(r["administration"], "TF");
    let kinds: Vec<&str> = r["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["SUBMITTED", "ROUTED"]);
    assert_eq!(r["history"][1]["status"], "QUEUED");
}

#[tokio::test]
async fn references_are_sequential_and_carry_a_valid_check_digit() {
    let app = spawn_app().await;
    let mut references = Vec::new();
    for text in ["Hål i vägen på Kungsgatan", "Soptunnan har inte tömts"] {
        let p = app.submit(json!({ "description": text })).await;
        references.push(p["request"]["reference"].as_str().unwrap().to_owned());
    }
    assert!(references[0].contains("-000001-"), "{references:?}");
    assert!(references[1].contains("-000002-"), "{references:?}");
    for r in &references {
        assert!(
            envagin::domain::reference::Reference::parse(r).is_ok(),
            "{r}"
        );
    }
}

#[tokio::test]
async fn the_residents_category_pick_routes_the_request() {
    let app = spawn_app().await;
    let p = app
        .submit(json!({ "description": "Fråga om lånekort", "categoryHint": "library" }))
        .await;
    assert_eq!(p["request"]["category"], "library");
    assert_eq!(p["request"]["administration"], "KFF");
    assert_eq!(p["request"]["status"], "QUEUED");
}

#[tokio::test]
async fn an_unknown_category_pick_falls_back_to_the_text() {
    let app = spawn_app().await;
    let p = app
        .submit(json!({ "description": "Det är ingen snöröjning på min gata", "categoryHint": "no_such_thing" }))
        .await;
    assert_eq!(p["request"]["category"], "snow_and_ice");
}

#[tokio::test]
async fn a_text_the_router_cannot_place_waits_in_triage_at_the_contact_centre() {
    let app = spawn_app().await;
    let p = app
        .submit(json!({ "description": "Hej, jag undrar en sak." }))
        .await;
    assert_eq!(p["request"]["status"], "TRIAGE");
    assert_eq!(p["request"]["category"], Value::Null);
    assert_eq!(p["request"]["administration"], "KC");
    assert_eq!(p["request"]["history"][1]["kind"], "TRIAGED");
}

#[tokio::test]
async fn a_matter_for_another_authority_is_referred_with_a_message_naming_it() {
    let app = spawn_app().await;
    let p = app
        .submit(json!({ "description": "I need to change my folkbokföring and my tax return", "categoryHint": "ext_tax_agency", "language": "en" }))
        .await;
    assert_eq!(p["request"]["status"], "REFERRED");
    let referral = p["referral"].as_str().unwrap();
    assert!(referral.contains("Skatteverket"), "{referral}");
    let history = &p["request"]["history"];
    assert_eq!(history[1]["kind"], "REFERRED");
    assert_eq!(history[1]["message"], referral);
}

#[tokio::test]
async fn immediate_danger_is_accepted_and_the_answer_says_call_112() {
    let app = spawn_app().await;
    let p = app
        .submit(json!({ "description": "Det brinner i soptunnorna vid lekplatsen!" }))
        .await;
    assert!(p["request"]["reference"].is_string());
    assert!(p["emergencyAdvice"].as_str().unwrap().contains("112"));
    let calm = app
        .submit(json!({ "description": "Lekplatsen behöver ny sand" }))
        .await;
    assert_eq!(calm["emergencyAdvice"], Value::Null);
}

#[tokio::test]
async fn contact_details_in_everyday_formats_are_accepted() {
    let app = spawn_app().await;
    app.submit(json!({
        "description": "Vattenläcka i källaren",
        "contact": { "name": "Anna Svensson", "email": "Anna@Example.se", "phone": "070-123 45 67", "personalNumber": "19121212-1212" },
        "location": { "latitude": 59.33, "longitude": 18.06, "address": "Storgatan 1" }
    }))
    .await;
    let db = app.db().await;
    use sea_orm::{ConnectionTrait, Statement};
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT contact_email, contact_phone, personal_number FROM requests",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        row.try_get::<String>("", "contact_email").unwrap(),
        "anna@example.se"
    );
    assert_eq!(
        row.try_get::<String>("", "contact_phone").unwrap(),
        "+46701234567"
    );
    assert_eq!(
        row.try_get::<String>("", "personal_number").unwrap(),
        "191212121212"
    );
}

async fn refused(input: Value, expected_field: &str) {
    let app = spawn_app().await;
    let answer = app.gql(SUBMIT, json!({ "input": input })).await;
    assert_eq!(code(&answer), "BAD_USER_INPUT", "{answer}");
    assert_eq!(field(&answer), expected_field, "{answer}");
    assert_eq!(answer["data"], Value::Null, "{answer}");
    assert_eq!(app.count("requests").await, 0, "nothing may be stored");
    assert_eq!(
        app.count("request_events").await,
        0,
        "nothing may be stored"
    );
}

#[tokio::test]
async fn an_empty_description_is_refused_and_nothing_is_stored() {
    refused(json!({ "description": "   \n " }), "description").await;
}

#[tokio::test]
async fn a_description_over_ten_thousand_characters_is_refused() {
    refused(json!({ "description": "a".repeat(10_001) }), "description").await;
}

#[tokio::test]
async fn an_invalid_email_is_refused_with_its_field() {
    refused(
        json!({ "description": "Hål i vägen", "contact": { "email": "anna@" } }),
        "contact.email",
    )
    .await;
}

#[tokio::test]
async fn an_invalid_phone_number_is_refused_with_its_field() {
    refused(
        json!({ "description": "Hål i vägen", "contact": { "phone": "12-34" } }),
        "contact.phone",
    )
    .await;
}

#[tokio::test]
async fn a_personal_number_with_a_wrong_check_digit_is_refused() {
    refused(
        json!({ "description": "Hål i vägen", "contact": { "personalNumber": "19121212-1213" } }),
        "contact.personalNumber",
    )
    .await;
}

#[tokio::test]
async fn a_personal_number_with_an_impossible_date_is_refused() {
    refused(
        json!({ "description": "Hål i vägen", "contact": { "personalNumber": "19801332-1234" } }),
        "contact.personalNumber",
    )
    .await;
}

#[tokio::test]
async fn a_coordination_number_is_accepted() {
    let app = spawn_app().await;
    app.submit(
        json!({ "description": "Hål i vägen", "contact": { "personalNumber": "701063-2391" } }),
    )
    .await;
}

#[tokio::test]
async fn a_latitude_out_of_range_is_refused() {
    refused(
        json!({ "description": "Hål i vägen", "location": { "latitude": 95.0, "longitude": 18.0 } }),
        "location.latitude",
    )
    .await;
}

#[tokio::test]
async fn a_longitude_out_of_range_is_refused() {
    refused(
        json!({ "description": "Hål i vägen", "location": { "latitude": 59.0, "longitude": -181.0 } }),
        "location.longitude",
    )
    .await;
}

#[tokio::test]
async fn a_latitude_without_longitude_is_refused() {
    refused(
        json!({ "description": "Hål i vägen", "location": { "latitude": 59.0 } }),
        "location.longitude",
    )
    .await;
}

#[tokio::test]
async fn an_unsupported_language_is_refused() {
    refused(
        json!({ "description": "Hål i vägen", "language": "fi" }),
        "language",
    )
    .await;
}

#[tokio::test]
async fn an_unknown_channel_is_refused_as_bad_input() {
    let app = spawn_app().await;
    let answer = app
        .gql(
            SUBMIT,
            json!({ "input": { "description": "Hål i vägen", "channel": "FAX" } }),
        )
        .await;
    assert_eq!(code(&answer), "BAD_USER_INPUT", "{answer}");
    assert_eq!(app.count("requests").await, 0);
}

#[tokio::test]
async fn all_broken_fields_are_listed_in_one_answer() {
    let app = spawn_app().await;
    let answer = app
        .gql(
            SUBMIT,
            json!({ "input": { "description": "", "contact": { "email": "x", "phone": "y" } } }),
        )
        .await;
    let fields: Vec<&str> = answer["errors"][0]["extensions"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["description", "contact.email", "contact.phone"]);
}

#[tokio::test]
async fn a_retried_submission_with_the_same_key_returns_the_first_answer() {
    let app = spawn_app().await;
    let input = json!({ "description": "Gatlampan är trasig", "idempotencyKey": "form-7f3a-1" });
    let first = app.submit(input.clone()).await;
    let second = app.submit(input).await;
    assert_eq!(
        first["request"]["reference"],
        second["request"]["reference"]
    );
    assert_eq!(first["trackingCode"], second["trackingCode"]);
    assert_eq!(app.count("requests").await, 1);
}

#[tokio::test]
async fn the_same_key_with_different_input_is_a_conflict() {
    let app = spawn_app().await;
    app.submit(json!({ "description": "Gatlampan är trasig", "idempotencyKey": "k-1" }))
        .await;
    let answer = app
        .gql(
            SUBMIT,
            json!({ "input": { "description": "Något helt annat", "idempotencyKey": "k-1" } }),
        )
        .await;
    assert_eq!(code(&answer), "CONFLICT", "{answer}");
    assert_eq!(field(&answer), "idempotencyKey");
    assert_eq!(app.count("requests").await, 1);
}

#[tokio::test]
async fn concurrent_retries_with_one_key_create_exactly_one_request() {
    let app = std::sync::Arc::new(spawn_app().await);
    let input = json!({ "description": "Vattenläcka på Storgatan", "idempotencyKey": "burst-1" });
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let app = app.clone();
            let input = input.clone();
            tokio::spawn(async move { app.submit(input).await })
        })
        .collect();
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    for a in &answers {
        assert_eq!(
            a["request"]["reference"],
            answers[0]["request"]["reference"]
        );
        assert_eq!(a["trackingCode"], answers[0]["trackingCode"]);
    }
    assert_eq!(app.count("requests").await, 1);
    assert_eq!(app.count("request_events").await, 2);
}

/// On SQLite concurrent submissions share one commit (`store::writer`):
/// one of them failing inside its transaction must leave the others whole.
#[tokio::test]
async fn submissions_arriving_together_each_stand_or_fall_alone() {
    let app = std::sync::Arc::new(spawn_app().await);
    let inputs = (0..16)
        .map(|n| json!({ "description": format!("Gatlampan vid Storgatan {n} är trasig") }))
        .chain((0..8).map(|n| {
            json!({ "description": format!("Vattenläcka vid Ågatan {n}"), "idempotencyKey": "shared" })
        }));
    let tasks: Vec<_> = inputs
        .map(|input| {
            let app = app.clone();
            tokio::spawn(async move { app.gql(SUBMIT, json!({ "input": input })).await })
        })
        .collect();
    let mut accepted = Vec::new();
    let mut conflicts = 0;
    for task in tasks {
        let answer = task.await.unwrap();
        if answer["errors"].is_null() {
            accepted.push(answer["data"]["submitRequest"].clone());
        } else {
            assert_eq!(code(&answer), "CONFLICT", "{answer}");
            assert_eq!(field(&answer), "idempotencyKey", "{answer}");
            conflicts += 1;
        }
    }
    assert_eq!(
        accepted.len(),
        17,
        "16 distinct submissions and one with the key"
    );
    assert_eq!(conflicts, 7, "the key's other uses, with different content");
    assert_eq!(app.count("requests").await, 17);
    for submitted in &accepted {
        let reference = &submitted["request"]["reference"];
        let found = app
            .gql(
                LOOKUP,
                json!({ "reference": reference, "trackingCode": submitted["trackingCode"] }),
            )
            .await;
        assert_eq!(found["data"]["request"]["reference"], *reference, "{found}");
        assert_eq!(
            found["data"]["request"]["history"], submitted["request"]["history"],
            "the acknowledged history is the stored one"
        );
    }
}

#[tokio::test]
async fn the_tracking_code_is_stored_only_as_a_hash() {
    use sea_orm::{ConnectionTrait, Statement};
    use sha2::{Digest, Sha256};
    let app = spawn_app().await;
    let p = app
        .submit(json!({ "description": "Gatlampan är trasig", "idempotencyKey": "k" }))
        .await;
    let code = p["trackingCode"].as_str().unwrap().replace('-', "");
    let db = app.db().await;
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT r.tracking_code_hash, i.sealed_tracking_code FROM requests r JOIN idempotency_keys i ON i.request_id = r.id",
        ))
        .await
        .unwrap()
        .unwrap();
    let hash: String = row.try_get("", "tracking_code_hash").unwrap();
    let sealed: String = row.try_get("", "sealed_tracking_code").unwrap();
    assert_eq!(hash, hex::encode(Sha256::digest(code.as_bytes())));
    assert!(
        !sealed.contains(&code)
            && !sealed
                .to_uppercase()
                .contains(&hex::encode_upper(code.as_bytes()))
    );
}

#[tokio::test]
async fn a_failure_halfway_through_stores_nothing_and_reveals_no_internals() {
    use sea_orm::ConnectionTrait;
    let app = spawn_app().await;
    // Break the history table so the transaction fails after the request row
    // has been written.
    app.db()
        .await
        .execute_unprepared("DROP TABLE request_events")
        .await
        .unwrap();
    let answer = app
        .gql(
            SUBMIT,
            json!({ "input": { "description": "Gatlampan är trasig" } }),
        )
        .await;
    assert_eq!(code(&answer), "INTERNAL", "{answer}");
    assert_eq!(answer["errors"][0]["message"], "internal error");
    let text = answer.to_string().to_lowercase();
    for leak in ["request_events", "sql", "table", "relation"] {
        assert!(!text.contains(leak), "answer leaks {leak}: {answer}");
    }
    assert_eq!(
        app.count("requests").await,
        0,
        "the request row was rolled back"
    );
}

#[tokio::test]
async fn the_suite_runs_on_the_database_ci_asked_for() {
    use sea_orm::DbBackend;
    let app = spawn_app().await;
    let expected = match std::env::var("ENVAGIN_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => DbBackend::Postgres,
        _ => DbBackend::Sqlite,
    };
    assert_eq!(app.db().await.get_database_backend(), expected);
}

#[tokio::test]
async fn a_letter_counts_as_received_when_it_reached_the_municipality() {
    let app = spawn_app().await;
    let agent = app.contact_centre("kc-bertil");
    let received = (chrono::Utc::now() - chrono::Duration::days(3)).to_rfc3339();
    let answer = app
        .gql_as(
            &agent,
            "mutation($i: SubmitRequestInput!) { submitRequest(input: $i) { request { reference } } }",
            json!({ "i": { "description": "Brev om trasig gatlampa på Storgatan", "channel": "LETTER", "receivedAt": received } }),
        )
        .await;
    assert!(answer["errors"].is_null(), "{answer}");
    let reference = answer["data"]["submitRequest"]["request"]["reference"]
        .as_str()
        .unwrap()
        .to_owned();
    let tf = app.handler("tf-anna", &["TF"]);
    let seen = app
        .gql_as(
            &tf,
            "query($r: String!) { requestByReference(reference: $r) { receivedAt createdAt } }",
            json!({ "r": reference }),
        )
        .await;
    let r = &seen["data"]["requestByReference"];
    let received_at =
        chrono::DateTime::parse_from_rfc3339(r["receivedAt"].as_str().unwrap()).unwrap();
    let created_at =
        chrono::DateTime::parse_from_rfc3339(r["createdAt"].as_str().unwrap()).unwrap();
    assert!(
        created_at - received_at > chrono::Duration::days(2),
        "{seen}"
    );

    for (channel, when) in [
        ("WEB", received.clone()),
        (
            "LETTER",
            (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339(),
        ),
        (
            "LETTER",
            (chrono::Utc::now() - chrono::Duration::days(40)).to_rfc3339(),
        ),
    ] {
        let refused = app
            .gql_as(
                &agent,
                "mutation($i: SubmitRequestInput!) { submitRequest(input: $i) { trackingCode } }",
                json!({ "i": { "description": "Brev", "channel": channel, "receivedAt": when } }),
            )
            .await;
        assert_eq!(field(&refused), "receivedAt", "{channel} {when}: {refused}");
    }
}
