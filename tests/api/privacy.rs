//! Personal data: the access log, rate-limited look-ups, protected identity
//! set by a handler, the retention purge, statistics, and logs free of
//! personal data.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{LOOKUP, TestApp, code, field, spawn_app, spawn_app_with};

const BY_REFERENCE: &str = "query($r: String!) { requestByReference(reference: $r) {
    status description contact { name email phone personalNumber } location { address }
    history { kind status message note } } }";
const ACCESS_LOG: &str = "query($r: String!) { accessLog(reference: $r) { actorSub fields } }";

async fn submit_with_contact(app: &TestApp, text: &str) -> (String, String) {
    let p = app
        .submit(json!({
            "description": text,
            "contact": { "name": "Anna Svensson", "email": "anna.svensson@example.se", "phone": "070-123 45 67", "personalNumber": "19121212-1212" },
            "location": { "address": "Storgatan 12" }
        }))
        .await;
    (
        p["request"]["reference"].as_str().unwrap().to_owned(),
        p["trackingCode"].as_str().unwrap().to_owned(),
    )
}

async fn ok(app: &TestApp, token: &str, query: &str, variables: Value) -> Value {
    let answer = app.gql_as(token, query, variables).await;
    assert!(answer["errors"].is_null(), "{answer}");
    answer["data"].clone()
}

#[tokio::test]
async fn every_staff_read_of_personal_data_is_in_the_access_log_and_nothing_else_is() {
    let app = spawn_app().await;
    let (reference, _) = submit_with_contact(&app, "Gatlampan på Storgatan är trasig").await;
    let anna = app.handler("tf-anna", &["TF"]);
    ok(
        &app,
        &anna,
        "query($r: String!) { requestByReference(reference: $r) { status } }",
        json!({ "r": reference }),
    )
    .await;
    let empty = ok(&app, &anna, ACCESS_LOG, json!({ "r": reference })).await;
    assert_eq!(
        empty["accessLog"],
        json!([]),
        "a status read is not a personal-data read"
    );

    ok(&app, &anna, BY_REFERENCE, json!({ "r": reference })).await;
    let kc = app.contact_centre("kc-bertil");
    ok(
        &app,
        &kc,
        "query($r: String!) { requestByReference(reference: $r) { contact { email } } }",
        json!({ "r": reference }),
    )
    .await;
    let admin = app.token("admin-cecilia", &["admin"], &[]);
    let log = ok(&app, &admin, ACCESS_LOG, json!({ "r": reference })).await;
    let entries = log["accessLog"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{log}");
    assert_eq!(entries[0]["actorSub"], "tf-anna");
    assert_eq!(
        entries[0]["fields"],
        json!(["description", "contact", "location"])
    );
    assert_eq!(entries[1]["actorSub"], "kc-bertil");
    assert_eq!(entries[1]["fields"], json!(["contact"]));

    let other = app.handler("buf-bo", &["BUF"]);
    let refused = app
        .gql_as(&other, ACCESS_LOG, json!({ "r": reference }))
        .await;
    assert_eq!(code(&refused), "NOT_FOUND", "{refused}");
    let refused = app.gql_as(&kc, ACCESS_LOG, json!({ "r": reference })).await;
    assert_eq!(code(&refused), "FORBIDDEN", "{refused}");
}

#[tokio::test]
async fn ten_wrong_tracking_codes_from_one_address_block_it_for_a_while() {
    let app = spawn_app().await;
    let (reference, tracking) = submit_with_contact(&app, "Gatlampan på Storgatan är trasig").await;
    for _ in 0..10 {
        let wrong = app
            .gql(
                LOOKUP,
                json!({ "reference": reference, "trackingCode": "AAAA-BBBB-CCCC-DDDD" }),
            )
            .await;
        assert_eq!(code(&wrong), "NOT_FOUND");
    }
    let blocked = app
        .gql(
            LOOKUP,
            json!({ "reference": reference, "trackingCode": tracking }),
        )
        .await;
    assert_eq!(
        code(&blocked),
        "RATE_LIMITED",
        "even the right pair waits: {blocked}"
    );
    let reply = app
        .gql(
            "mutation($r: String!, $t: String!) { replyAsCitizen(reference: $r, trackingCode: $t, body: \"hej\") { status } }",
            json!({ "r": reference, "t": tracking }),
        )
        .await;
    assert_eq!(code(&reply), "RATE_LIMITED");
}

#[tokio::test]
async fn right_pairs_are_never_counted_against_an_address() {
    let app = spawn_app_with(|c| c.lookup_failures = 2).await;
    let (reference, tracking) = submit_with_contact(&app, "Gatlampan på Storgatan är trasig").await;
    for _ in 0..5 {
        let right = app
            .gql(
                LOOKUP,
                json!({ "reference": reference, "trackingCode": tracking }),
            )
            .await;
        assert!(right["errors"].is_null(), "{right}");
    }
}

#[tokio::test]
async fn a_handler_can_protect_the_identity_of_a_resident_after_submission() {
    let app = spawn_app().await;
    let (reference, _) = submit_with_contact(&app, "Gatlampan på Storgatan är trasig").await;
    let set = "mutation($r: String!, $why: String) { setProtectedIdentity(reference: $r, protected: true, reason: $why) { protectedIdentity } }";
    let anna = app.handler("tf-anna", &["TF"]);
    let missing = app.gql_as(&anna, set, json!({ "r": reference })).await;
    assert_eq!(field(&missing), "reason");
    let kc = app.contact_centre("kc-bertil");
    let refused = app
        .gql_as(&kc, set, json!({ "r": reference, "why": "x" }))
        .await;
    assert_eq!(code(&refused), "FORBIDDEN");
    let done = ok(
        &app,
        &anna,
        set,
        json!({ "r": reference, "why": "skyddad identitet enligt Skatteverket" }),
    )
    .await;
    assert_eq!(done["setProtectedIdentity"]["protectedIdentity"], true);
    let seen = ok(
        &app,
        &kc,
        "query($r: String!) { requestByReference(reference: $r) { access contact { name } } }",
        json!({ "r": reference }),
    )
    .await;
    assert_eq!(seen["requestByReference"]["access"], "STATUS_ONLY");
    assert_eq!(seen["requestByReference"]["contact"], Value::Null);
    let search = ok(&app, &kc, "{ searchRequests(filter: { email: \"anna.svensson@example.se\" }) { nodes { reference } } }", json!({})).await;
    assert_eq!(search["searchRequests"]["nodes"], json!([]));
}

#[tokio::test]
async fn personal_data_of_closed_requests_is_purged_after_the_retention_period() {
    let app = spawn_app_with(|c| {
        c.retention_days = 0;
        c.jobs_interval_secs = 1;
    })
    .await;
    let (closed, tracking) = submit_with_contact(&app, "Gatlampan på Storgatan är trasig").await;
    let (open, _) = submit_with_contact(&app, "Gatlampan på Kungsgatan är trasig").await;
    let anna = app.handler("tf-anna", &["TF"]);
    for step in [
        "mutation($r: String!) { claimRequest(reference: $r) { status } }",
        "mutation($r: String!) { setStatus(reference: $r, status: RESOLVED, messageToCitizen: \"Lagad, Anna\") { status } }",
        "mutation($r: String!) { setStatus(reference: $r, status: CLOSED) { status } }",
    ] {
        ok(&app, &anna, step, json!({ "r": closed })).await;
    }
    let mut purged = Value::Null;
    for _ in 0..40 {
        purged = ok(&app, &anna, BY_REFERENCE, json!({ "r": closed })).await["requestByReference"]
            .clone();
        if purged["description"] != "Gatlampan på Storgatan är trasig" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(
        purged["description"],
        envagin::service::PURGED_MARKER,
        "{purged}"
    );
    assert_eq!(
        purged["contact"],
        json!({ "name": null, "email": null, "phone": null, "personalNumber": null })
    );
    assert_eq!(purged["location"]["address"], Value::Null);
    assert_eq!(purged["status"], "CLOSED");
    let history = purged["history"].as_array().unwrap();
    assert!(
        history.iter().any(|e| e["status"] == "RESOLVED"),
        "status history stays"
    );
    assert!(
        history
            .iter()
            .all(|e| e["message"].is_null() || e["message"] == envagin::service::PURGED_MARKER)
    );
    assert_eq!(history.last().unwrap()["kind"], "PERSONAL_DATA_PURGED");
    let kc = app.contact_centre("kc-bertil");
    let found = ok(
        &app,
        &kc,
        "{ searchRequests(filter: { personalNumber: \"19121212-1212\" }) { nodes { reference } } }",
        json!({}),
    )
    .await;
    assert_eq!(
        found["searchRequests"]["nodes"],
        json!([{ "reference": open }]),
        "only the open request is findable"
    );
    let resident = app
        .gql(
            LOOKUP,
            json!({ "reference": closed, "trackingCode": tracking }),
        )
        .await;
    assert_eq!(
        resident["data"]["request"]["status"], "CLOSED",
        "the resident still sees the outcome"
    );
    let intact = ok(&app, &anna, BY_REFERENCE, json!({ "r": open })).await;
    assert_eq!(
        intact["requestByReference"]["contact"]["email"],
        "anna.svensson@example.se"
    );
}

#[tokio::test]
async fn statistics_count_volumes_service_levels_and_routing_quality() {
    let app = spawn_app().await;
    let (lit, _) = submit_with_contact(&app, "Gatlampan på Storgatan är trasig").await;
    submit_with_contact(&app, "Gatlampan på Kungsgatan är trasig").await;
    let (vague, _) = submit_with_contact(&app, "Hej, jag undrar en sak om mitt ärende").await;
    let anna = app.handler("tf-anna", &["TF"]);
    ok(
        &app,
        &anna,
        "mutation($r: String!) { claimRequest(reference: $r) { status } }",
        json!({ "r": lit }),
    )
    .await;
    ok(&app, &anna, "mutation($r: String!) { setStatus(reference: $r, status: RESOLVED, messageToCitizen: \"Lagad\") { status } }", json!({ "r": lit })).await;
    let kc = app.contact_centre("kc-bertil");
    ok(&app, &kc, "mutation($r: String!) { rerouteRequest(reference: $r, category: \"library\", reason: \"gäller lånekort\") { status } }", json!({ "r": vague })).await;

    let query = "query($f: DateTime!, $t: DateTime!) { stats(from: $f, to: $t) {
        total byChannel { key count } byAdministration { key count } byStatus { key count }
        firstResponseDays { count median p90 } resolutionDays { count median }
        resolvedWithinServiceLevel triagedShare reroutedShare } }";
    let period = json!({ "f": "2000-01-01T00:00:00Z", "t": "2100-01-01T00:00:00Z" });
    let admin = app.token("admin-cecilia", &["admin"], &[]);
    let s = ok(&app, &admin, query, period.clone()).await["stats"].clone();
    assert_eq!(s["total"], 3);
    assert_eq!(s["byChannel"], json!([{ "key": "WEB", "count": 3 }]));
    assert_eq!(
        s["firstResponseDays"]["count"], 2,
        "the claimed and the rerouted request: {s}"
    );
    assert_eq!(s["firstResponseDays"]["median"], 0);
    assert_eq!(s["resolutionDays"]["count"], 1);
    assert_eq!(s["resolvedWithinServiceLevel"], 1.0);
    let third = 1.0 / 3.0;
    assert!(
        (s["triagedShare"].as_f64().unwrap() - third).abs() < 1e-9,
        "{s}"
    );
    assert!(
        (s["reroutedShare"].as_f64().unwrap() - third).abs() < 1e-9,
        "{s}"
    );

    let tf_only = ok(&app, &anna, query, period.clone()).await["stats"].clone();
    assert_eq!(
        tf_only["total"], 2,
        "a handler sees their administrations: {tf_only}"
    );
    let refused = app.gql_as(&kc, query, period).await;
    assert_eq!(code(&refused), "FORBIDDEN");
    let backwards = app
        .gql_as(
            &admin,
            query,
            json!({ "f": "2030-01-01T00:00:00Z", "t": "2020-01-01T00:00:00Z" }),
        )
        .await;
    assert_eq!(field(&backwards), "to");
}

#[tokio::test]
async fn a_protected_identity_in_triage_shows_the_contact_centre_the_text_but_no_contact_data() {
    let app = spawn_app().await;
    let p = app
        .submit(json!({
            "description": "Hej, jag undrar en sak om mitt ärende",
            "protectedIdentity": true,
            "contact": { "name": "Anna Svensson", "email": "anna.svensson@example.se" },
            "location": { "address": "Hemligvägen 1" }
        }))
        .await;
    assert_eq!(p["request"]["status"], "TRIAGE");
    let kc = app.contact_centre("kc-bertil");
    let queue = ok(&app, &kc, "{ queue(code: \"TRIAGE\") { nodes { description contact { name } location { address } } } }", json!({})).await;
    let seen = &queue["queue"]["nodes"][0];
    assert_eq!(
        seen["description"], "Hej, jag undrar en sak om mitt ärende",
        "triage needs the text"
    );
    assert_eq!(seen["contact"], Value::Null);
    assert_eq!(seen["location"], Value::Null);
}

#[tokio::test]
async fn only_the_handling_administration_writes_to_the_resident() {
    let app = spawn_app().await;
    let (reference, _) = submit_with_contact(&app, "Gatlampan på Storgatan är trasig").await;
    let kc = app.contact_centre("kc-bertil");
    let comment = "mutation($r: String!, $i: Boolean!) { addComment(reference: $r, body: \"Ringde in\", internal: $i) { status } }";
    let public = app
        .gql_as(&kc, comment, json!({ "r": reference, "i": false }))
        .await;
    assert_eq!(code(&public), "FORBIDDEN", "{public}");
    ok(&app, &kc, comment, json!({ "r": reference, "i": true })).await;
    let anna = app.handler("tf-anna", &["TF"]);
    ok(&app, &anna, comment, json!({ "r": reference, "i": false })).await;
    let queue = ok(
        &app,
        &anna,
        "{ queue(code: \"TF\") { counts { overdue } nodes { overdue } } }",
        json!({}),
    )
    .await;
    assert_eq!(
        queue["queue"]["nodes"][0]["overdue"], false,
        "a message to the resident is a first response"
    );
}

#[tokio::test]
async fn a_request_may_be_merged_only_into_one_the_handler_reads_in_full() {
    let app = spawn_app().await;
    let (kc_request, _) = submit_with_contact(&app, "Hej, jag undrar en sak om mitt ärende").await;
    let secret = app
        .submit(json!({ "description": "Jag behöver försörjningsstöd", "categoryHint": "financial_assistance" }))
        .await;
    let kc = app.contact_centre("kc-bertil");
    ok(&app, &kc, "mutation($r: String!) { rerouteRequest(reference: $r, category: \"general_question\", reason: \"allmän fråga\") { status } }", json!({ "r": kc_request })).await;
    let merge = app
        .gql_as(
            &kc,
            "mutation($r: String!, $o: String!) { markDuplicate(reference: $r, of: $o) { status } }",
            json!({ "r": kc_request, "o": secret["request"]["reference"] }),
        )
        .await;
    assert_eq!(code(&merge), "FORBIDDEN", "{merge}");
}

#[tokio::test]
async fn notes_written_in_social_services_stay_there_when_the_request_moves_on() {
    let app = spawn_app().await;
    let p = app
        .submit(json!({ "description": "Jag behöver ekonomiskt bistånd till hyran", "categoryHint": "financial_assistance" }))
        .await;
    let reference = p["request"]["reference"].as_str().unwrap().to_owned();
    assert_eq!(p["request"]["administration"], "SOC", "{p}");
    let soc = app.handler("soc-sara", &["SOC"]);
    ok(&app, &soc, "mutation($r: String!) { addComment(reference: $r, body: \"känd hos oss sedan tidigare\") { status } }", json!({ "r": reference })).await;
    ok(&app, &soc, "mutation($r: String!) { rerouteRequest(reference: $r, category: \"street_lighting\", reason: \"inte vårt, pågående utredning\") { status } }", json!({ "r": reference })).await;
    let tf = app.handler("tf-anna", &["TF"]);
    let seen = ok(&app, &tf, BY_REFERENCE, json!({ "r": reference })).await;
    let text = seen.to_string();
    assert!(
        !text.contains("känd hos oss") && !text.contains("utredning"),
        "{seen}"
    );
    let history = seen["requestByReference"]["history"].as_array().unwrap();
    assert!(
        history
            .iter()
            .any(|e| e["kind"] == "REROUTED" && e["status"] == "QUEUED"),
        "the move itself is shown: {seen}"
    );
    ok(
        &app,
        &tf,
        "mutation($r: String!) { addComment(reference: $r, body: \"tittar på det\") { status } }",
        json!({ "r": reference }),
    )
    .await;
    let later = ok(&app, &tf, BY_REFERENCE, json!({ "r": reference })).await;
    assert!(
        later.to_string().contains("tittar på det"),
        "TF's own notes are TF's: {later}"
    );
    let back = app
        .gql_as(&soc, BY_REFERENCE, json!({ "r": reference }))
        .await;
    assert_eq!(code(&back), "NOT_FOUND", "SOC no longer reads it: {back}");
}

#[tokio::test]
async fn a_confidential_request_sent_back_to_triage_is_routed_by_the_contact_centre_without_being_read()
 {
    let app = spawn_app().await;
    let p = app
        .submit(json!({
            "description": "Jag behöver försörjningsstöd till hyran",
            "categoryHint": "financial_assistance",
            "contact": { "name": "Anna Svensson", "email": "anna.svensson@example.se" },
        }))
        .await;
    let reference = p["request"]["reference"].as_str().unwrap().to_owned();
    assert_eq!(p["request"]["administration"], "SOC", "{p}");
    let soc = app.handler("soc-sara", &["SOC"]);
    ok(&app, &soc, "mutation($r: String!) { setStatus(reference: $r, status: TRIAGE, reason: \"gäller inte oss\") { status } }", json!({ "r": reference })).await;

    let kc = app.contact_centre("kc-bertil");
    let seen =
        ok(&app, &kc, BY_REFERENCE, json!({ "r": reference })).await["requestByReference"].clone();
    assert_eq!(seen["status"], "TRIAGE");
    assert_eq!(seen["description"], Value::Null, "{seen}");
    assert_eq!(seen["contact"], Value::Null, "{seen}");
    assert!(!seen.to_string().contains("gäller inte oss"), "{seen}");
    let queue = ok(
        &app,
        &kc,
        "{ queue(code: \"TRIAGE\", status: [TRIAGE]) { nodes { reference description } } }",
        json!({}),
    )
    .await;
    let listed = &queue["queue"]["nodes"];
    assert_eq!(listed[0]["reference"], reference.as_str(), "{queue}");
    assert_eq!(listed[0]["description"], Value::Null, "{queue}");
    let found = ok(
        &app,
        &kc,
        "{ searchRequests(filter: { text: \"försörjningsstöd\" }) { nodes { reference } } }",
        json!({}),
    )
    .await;
    assert_eq!(
        found["searchRequests"]["nodes"],
        json!([]),
        "its words find nothing: {found}"
    );

    let routed = ok(&app, &kc, "mutation($r: String!) { rerouteRequest(reference: $r, category: \"complaints_and_feedback\", reason: \"enligt handläggarens besked\") { status administration } }", json!({ "r": reference })).await;
    assert_eq!(
        routed["rerouteRequest"],
        json!({ "status": "QUEUED", "administration": "KLK" })
    );
    let after = ok(&app, &kc, BY_REFERENCE, json!({ "r": reference })).await;
    assert_eq!(
        after["requestByReference"]["description"],
        Value::Null,
        "routing it does not open it to the router: {after}"
    );
    let klk = app.handler("klk-karin", &["KLK"]);
    let owner = ok(&app, &klk, BY_REFERENCE, json!({ "r": reference })).await;
    assert_eq!(
        owner["requestByReference"]["description"],
        "Jag behöver försörjningsstöd till hyran"
    );
    let log = ok(&app, &klk, ACCESS_LOG, json!({ "r": reference })).await;
    assert!(
        !log.to_string().contains("kc-bertil"),
        "the contact centre read nothing: {log}"
    );
}

#[tokio::test]
async fn a_resolved_request_without_reply_is_closed_automatically() {
    let app = spawn_app_with(|c| {
        c.auto_close_days = 0;
        c.jobs_interval_secs = 1;
    })
    .await;
    let (reference, tracking) = submit_with_contact(&app, "Gatlampan på Storgatan är trasig").await;
    let anna = app.handler("tf-anna", &["TF"]);
    ok(
        &app,
        &anna,
        "mutation($r: String!) { claimRequest(reference: $r) { status } }",
        json!({ "r": reference }),
    )
    .await;
    ok(&app, &anna, "mutation($r: String!) { setStatus(reference: $r, status: RESOLVED, messageToCitizen: \"Lagad\") { status } }", json!({ "r": reference })).await;
    let mut status = Value::Null;
    for _ in 0..40 {
        let seen = app
            .gql(
                LOOKUP,
                json!({ "reference": reference, "trackingCode": tracking }),
            )
            .await;
        status = seen["data"]["request"]["status"].clone();
        if status == "CLOSED" {
            let last = seen["data"]["request"]["history"]
                .as_array()
                .unwrap()
                .last()
                .cloned()
                .unwrap();
            assert_eq!(last["status"], "CLOSED");
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(status, "CLOSED");
}

#[tokio::test]
async fn expired_idempotency_keys_are_forgotten() {
    let app = spawn_app_with(|c| {
        c.idempotency_ttl_hours = 0;
        c.jobs_interval_secs = 1;
    })
    .await;
    app.submit(json!({ "description": "Gatlampan är trasig", "idempotencyKey": "form-1" }))
        .await;
    for _ in 0..40 {
        if app.count("idempotency_keys").await == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("the expired idempotency key is still stored");
}

#[tokio::test]
async fn a_key_used_again_after_it_expired_registers_a_new_request() {
    let app = spawn_app_with(|c| c.idempotency_ttl_hours = 0).await;
    let input = json!({ "description": "Gatlampan är trasig", "idempotencyKey": "form-2" });
    let first = app.submit(input.clone()).await;
    let second = app.submit(input).await;
    assert_ne!(
        first["request"]["reference"], second["request"]["reference"],
        "an expired key does not replay"
    );
    assert_eq!(app.count("requests").await, 2);
    // The housekeeping job may already have purged the (at once expired)
    // key: what must hold either way is that it no longer names the first.
    let db = app.db().await;
    let first_reference = first["request"]["reference"].as_str().unwrap();
    let naming_first = sea_orm::ConnectionTrait::query_one_raw(
        &db,
        sea_orm::Statement::from_string(
            db.get_database_backend(),
            format!(
                "SELECT COUNT(*) AS n FROM idempotency_keys k JOIN requests r \
                 ON r.id = k.request_id WHERE r.reference = '{first_reference}'"
            ),
        ),
    )
    .await
    .unwrap()
    .unwrap()
    .try_get::<i64>("", "n")
    .unwrap();
    assert_eq!(
        naming_first, 0,
        "the key no longer stands for the first request"
    );
    assert!(app.count("idempotency_keys").await <= 1);
}
