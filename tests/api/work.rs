//! Working requests: queues, claims and the life cycle of DESIGN.md, as
//! handlers, the contact centre and the resident see it.

use chrono::{DateTime, Datelike, Utc, Weekday};
use sea_orm::ActiveValue::Set;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::support::{TestApp, code, field, spawn_app};

const QUEUE: &str =
    "query($code: String!, $first: Int! = 20, $after: String, $status: [RequestStatus!]) {
  queue(code: $code, first: $first, after: $after, status: $status) {
    code administration
    counts { queued inProgress waitingForCitizen overdue }
    edges { cursor node { reference priority resolveDueAt status overdue } }
    pageInfo { hasNextPage endCursor } } }";
const CLAIM_NEXT: &str = "mutation($queue: String!) {
  claimNextRequest(queue: $queue) { reference status assignee { sub } } }";
const CLAIM: &str = "mutation($reference: String!, $expectedVersion: Int) {
  claimRequest(reference: $reference, expectedVersion: $expectedVersion) { status assignee { sub } } }";
const RELEASE: &str = "mutation($reference: String!, $expectedVersion: Int) {
  releaseRequest(reference: $reference, expectedVersion: $expectedVersion) { status assignee { sub } } }";
const SET_STATUS: &str = "mutation($reference: String!, $status: RequestStatus!, $message: String, $reason: String, $expectedVersion: Int) {
  setStatus(reference: $reference, status: $status, messageToCitizen: $message, reason: $reason, expectedVersion: $expectedVersion) {
    status administration access } }";
const REROUTE: &str = "mutation($reference: String!, $category: String!, $reason: String, $expectedVersion: Int) {
  rerouteRequest(reference: $reference, category: $category, reason: $reason, expectedVersion: $expectedVersion) {
    status administration } }";
const COMMENT: &str = "mutation($reference: String!, $body: String!, $internal: Boolean!) {
  addComment(reference: $reference, body: $body, internal: $internal) { status } }";
const REPLY: &str = "mutation($reference: String!, $trackingCode: String!, $body: String!) {
  replyAsCitizen(reference: $reference, trackingCode: $trackingCode, body: $body) { status } }";
const MARK_DUPLICATE: &str = "mutation($reference: String!, $of: String!, $expectedVersion: Int) {
  markDuplicate(reference: $reference, of: $of, expectedVersion: $expectedVersion) { status effectiveStatus } }";
const SET_PRIORITY: &str = "mutation($reference: String!, $priority: Priority!, $reason: String, $expectedVersion: Int) {
  setPriority(reference: $reference, priority: $priority, reason: $reason, expectedVersion: $expectedVersion) { priority } }";
const BY_REFERENCE: &str =
    "query($reference: String!) { requestByReference(reference: $reference) {
  reference status effectiveStatus access category administration queue priority version
  ackDueAt resolveDueAt assignee { sub }
  history { kind status message note public actor { kind id name } } } }";
const RESIDENT_VIEW: &str = "query($reference: String!, $trackingCode: String!) {
  request(reference: $reference, trackingCode: $trackingCode) {
    status effectiveStatus category administration
    history { kind status message note public actor { kind id name } } } }";

const STREET_LIGHT: &str = "Gatlampan utanför Storgatan 12 är trasig och lyser inte";
const FIRE: &str = "Det brinner i soptunnorna vid lekplatsen!";
const UNPLACEABLE: &str = "Hej, jag undrar en sak om mitt ärende";
/// Has a subject ("brevet"), but nothing that tells whose letter it is.
const VAGUE_LETTER: &str = "Hej, jag undrar över brevet jag fick i förra veckan";

#[tokio::test]
async fn the_queue_lists_the_most_urgent_first_then_by_resolution_due_time_with_counts() {
    let app = spawn_app().await;
    // Submitted least urgent first, so that id order is the reverse of queue order.
    let mut references = Vec::new();
    for (text, hint) in [
        ("Hål i vägen på Kungsgatan", "street_maintenance"), // NORMAL, 15 days
        (STREET_LIGHT, "street_lighting"),                   // NORMAL, 10 days
        ("Soptunnan har inte tömts", "waste_collection"),    // NORMAL, 5 days
        ("Vattenläcka i gatan", "water_and_sewage"),         // HIGH
        (FIRE, "parks_and_playgrounds"),                     // URGENT: emergency
    ] {
        references.push(
            submit(&app, json!({ "description": text, "categoryHint": hint }))
                .await
                .0,
        );
    }
    let tf = app.handler("tf-anna", &["TF"]);
    claim(&app, &tf, &references[0]).await;
    make_overdue(&app, &references[1]).await;

    let queue = &ok(&app, &tf, QUEUE, json!({ "code": "TF" })).await["queue"];

    let listed: Vec<&str> = nodes(queue)
        .map(|n| n["reference"].as_str().unwrap())
        .collect();
    let expected: Vec<&str> = references.iter().rev().map(String::as_str).collect();
    assert_eq!(listed, expected);
    let priorities: Vec<&str> = nodes(queue)
        .map(|n| n["priority"].as_str().unwrap())
        .collect();
    assert_eq!(priorities, ["URGENT", "HIGH", "NORMAL", "NORMAL", "NORMAL"]);
    let due: Vec<DateTime<Utc>> = nodes(queue)
        .skip(2)
        .map(|n| time(&n["resolveDueAt"]))
        .collect();
    assert!(due.is_sorted(), "{due:?}");
    assert_eq!(queue["administration"], "TF");
    assert_eq!(
        queue["counts"],
        json!({ "queued": 4, "inProgress": 1, "waitingForCitizen": 0, "overdue": 1 })
    );
    assert_eq!(nodes(queue).nth(3).unwrap()["overdue"], true);
}

#[tokio::test]
async fn paging_through_a_queue_with_cursors_visits_every_request_exactly_once_in_order() {
    let app = spawn_app().await;
    for i in 0..7 {
        let text = if i % 3 == 0 {
            format!("Det brinner i gatlampan utanför nummer {i}!")
        } else {
            format!("Gatlampa nummer {i} är trasig")
        };
        submit(
            &app,
            json!({ "description": text, "categoryHint": "street_lighting" }),
        )
        .await;
    }
    let tf = app.handler("tf-anna", &["TF"]);
    let all = ok(&app, &tf, QUEUE, json!({ "code": "TF", "first": 100 })).await;
    let expected: Vec<Value> = nodes(&all["queue"])
        .map(|n| n["reference"].clone())
        .collect();

    let mut visited = Vec::new();
    let mut after = Value::Null;
    let mut pages = 0;
    loop {
        let page = ok(
            &app,
            &tf,
            QUEUE,
            json!({ "code": "TF", "first": 3, "after": after }),
        )
        .await;
        let page = &page["queue"];
        pages += 1;
        visited.extend(nodes(page).map(|n| n["reference"].clone()));
        let edges = page["edges"].as_array().unwrap();
        assert_eq!(
            page["pageInfo"]["endCursor"],
            edges.last().unwrap()["cursor"]
        );
        if page["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }

    assert_eq!(expected.len(), 7);
    assert_eq!(visited, expected);
    assert_eq!(pages, 3);
}

#[tokio::test]
async fn a_cursor_that_did_not_come_from_the_queue_is_refused_on_after() {
    let app = spawn_app().await;
    let tf = app.handler("tf-anna", &["TF"]);
    for after in ["garbage!", "", "bm90fGF8Y3Vyc29y", "MXwyfDN8NA"] {
        let answer = app
            .gql_as(&tf, QUEUE, json!({ "code": "TF", "after": after }))
            .await;
        assert_eq!(code(&answer), "BAD_USER_INPUT", "{after:?}: {answer}");
        assert_eq!(field(&answer), "after", "{after:?}: {answer}");
    }
}

#[tokio::test]
async fn a_page_size_outside_one_to_a_hundred_is_refused_on_first() {
    let app = spawn_app().await;
    let tf = app.handler("tf-anna", &["TF"]);
    for first in [0, -1, 101] {
        let answer = app
            .gql_as(&tf, QUEUE, json!({ "code": "TF", "first": first }))
            .await;
        assert_eq!(code(&answer), "BAD_USER_INPUT", "{first}: {answer}");
        assert_eq!(field(&answer), "first", "{first}: {answer}");
    }
    for first in [1, 100] {
        ok(&app, &tf, QUEUE, json!({ "code": "TF", "first": first })).await;
    }
}

#[tokio::test]
async fn claiming_the_next_request_takes_the_most_urgent_and_assigns_it_to_the_caller() {
    let app = spawn_app().await;
    submit(&app, json!({ "description": STREET_LIGHT })).await;
    let (fire, _) = submit(&app, json!({ "description": FIRE })).await;
    let tf = app.handler("tf-anna", &["TF"]);

    let claimed = ok(&app, &tf, CLAIM_NEXT, json!({ "queue": "TF" })).await;

    let claimed = &claimed["claimNextRequest"];
    assert_eq!(claimed["reference"], fire.as_str());
    assert_eq!(claimed["status"], "IN_PROGRESS");
    assert_eq!(claimed["assignee"]["sub"], "tf-anna");
    let stored = read(&app, &tf, &fire).await;
    assert_eq!(stored["priority"], "URGENT");
    assert_eq!(stored["assignee"]["sub"], "tf-anna");
    assert_eq!(last_event(&stored)["kind"], "CLAIMED");
}

#[tokio::test]
async fn claiming_from_an_empty_queue_returns_null() {
    let app = spawn_app().await;
    let (only, _) = submit(&app, json!({ "description": STREET_LIGHT })).await;
    let tf = app.handler("tf-anna", &["TF"]);
    claim(&app, &tf, &only).await;

    let answer = ok(&app, &tf, CLAIM_NEXT, json!({ "queue": "TF" })).await;

    assert_eq!(answer["claimNextRequest"], Value::Null);
}

#[tokio::test]
async fn claiming_a_request_already_in_progress_is_a_conflict() {
    let app = spawn_app().await;
    let (reference, _) = submit(&app, json!({ "description": STREET_LIGHT })).await;
    claim(&app, &app.handler("tf-anna", &["TF"]), &reference).await;
    let bertil = app.handler("tf-bertil", &["TF"]);

    let answer = app
        .gql_as(&bertil, CLAIM, json!({ "reference": reference }))
        .await;

    assert_eq!(code(&answer), "CONFLICT", "{answer}");
    assert_eq!(
        read(&app, &bertil, &reference).await["assignee"]["sub"],
        "tf-anna"
    );
}

#[tokio::test]
async fn releasing_a_request_puts_it_back_in_the_queue_without_an_assignee() {
    let app = spawn_app().await;
    let (reference, _) = submit(&app, json!({ "description": STREET_LIGHT })).await;
    let anna = app.handler("tf-anna", &["TF"]);
    claim(&app, &anna, &reference).await;

    let released = ok(&app, &anna, RELEASE, json!({ "reference": reference })).await;

    assert_eq!(released["releaseRequest"]["status"], "QUEUED");
    assert_eq!(released["releaseRequest"]["assignee"], Value::Null);
    let stored = read(&app, &anna, &reference).await;
    assert_eq!(stored["assignee"], Value::Null);
    assert_eq!(last_event(&stored)["kind"], "RELEASED");
    let bertil = app.handler("tf-bertil", &["TF"]);
    let next = ok(&app, &bertil, CLAIM_NEXT, json!({ "queue": "TF" })).await;
    assert_eq!(next["claimNextRequest"]["reference"], reference.as_str());
    assert_eq!(next["claimNextRequest"]["assignee"]["sub"], "tf-bertil");
}

#[tokio::test]
async fn set_status_follows_the_life_cycle_and_refuses_everything_else() {
    use Expect::{Moves, Refused};
    const MSG: Option<&str> = Some("Meddelande till dig");
    const WHY: Option<&str> = Some("Skräppost");
    let conflict = Refused("CONFLICT", None);
    let no_message = Refused("BAD_USER_INPUT", Some("messageToCitizen"));
    let use_reroute = Refused("BAD_USER_INPUT", Some("status"));
    let mut cases = vec![
        ("QUEUED", "IN_PROGRESS", None, None, Moves),
        ("QUEUED", "REFERRED", MSG, None, Moves),
        ("QUEUED", "REFERRED", None, None, no_message),
        ("QUEUED", "WAITING_FOR_CITIZEN", MSG, None, conflict),
        ("QUEUED", "RESOLVED", MSG, None, conflict),
        ("QUEUED", "CLOSED", MSG, WHY, conflict),
        ("QUEUED", "QUEUED", None, WHY, use_reroute),
        ("QUEUED", "DUPLICATE", None, None, use_reroute),
        ("IN_PROGRESS", "QUEUED", None, None, Moves),
        ("IN_PROGRESS", "WAITING_FOR_CITIZEN", MSG, None, Moves),
        ("IN_PROGRESS", "WAITING_FOR_CITIZEN", None, None, no_message),
        (
            "IN_PROGRESS",
            "WAITING_FOR_CITIZEN",
            Some("  \n "),
            None,
            no_message,
        ),
        ("IN_PROGRESS", "RESOLVED", MSG, None, Moves),
        ("IN_PROGRESS", "RESOLVED", None, None, no_message),
        ("IN_PROGRESS", "REFERRED", MSG, None, Moves),
        ("IN_PROGRESS", "REFERRED", None, None, no_message),
        ("IN_PROGRESS", "CLOSED", MSG, WHY, conflict),
        ("IN_PROGRESS", "TRIAGE", None, None, conflict),
        ("IN_PROGRESS", "RECEIVED", None, None, conflict),
        ("IN_PROGRESS", "DUPLICATE", None, None, use_reroute),
        ("WAITING_FOR_CITIZEN", "IN_PROGRESS", None, None, Moves),
        ("WAITING_FOR_CITIZEN", "RESOLVED", MSG, None, Moves),
        ("WAITING_FOR_CITIZEN", "CLOSED", MSG, None, Moves),
        ("WAITING_FOR_CITIZEN", "CLOSED", None, None, no_message),
        ("WAITING_FOR_CITIZEN", "QUEUED", None, None, conflict),
        ("RESOLVED", "IN_PROGRESS", None, None, Moves),
        ("RESOLVED", "CLOSED", None, None, Moves),
        ("RESOLVED", "QUEUED", None, None, conflict),
        ("RESOLVED", "WAITING_FOR_CITIZEN", MSG, None, conflict),
        ("REFERRED", "QUEUED", None, WHY, use_reroute),
        ("REFERRED", "IN_PROGRESS", None, None, conflict),
        ("REFERRED", "CLOSED", MSG, WHY, conflict),
        ("TRIAGE", "CLOSED", None, WHY, Moves),
        (
            "TRIAGE",
            "CLOSED",
            None,
            None,
            Refused("BAD_USER_INPUT", Some("reason")),
        ),
        ("TRIAGE", "REFERRED", MSG, None, Moves),
        ("TRIAGE", "QUEUED", None, WHY, use_reroute),
        ("TRIAGE", "IN_PROGRESS", None, None, conflict),
    ];
    for to in STATUSES {
        cases.push(("CLOSED", to, MSG, WHY, conflict));
    }
    let app = spawn_app().await;

    for (from, to, message, reason, expect) in cases {
        let case = format!("{from} → {to} (message {message:?}, reason {reason:?})");
        let (reference, token) = request_in(&app, from).await;
        let events = app.count("request_events").await;
        let vars =
            json!({ "reference": reference, "status": to, "message": message, "reason": reason });
        let answer = app.gql_as(&token, SET_STATUS, vars).await;
        let stored = read(&app, &token, &reference).await;
        match expect {
            Moves => {
                assert!(answer["errors"].is_null(), "{case}: {answer}");
                assert_eq!(stored["status"], to, "{case}");
                assert_eq!(app.count("request_events").await, events + 1, "{case}");
                assert_eq!(last_event(&stored)["status"], to, "{case}");
                if let Some(message) = message {
                    assert_eq!(last_event(&stored)["message"], message, "{case}");
                }
            }
            Refused(expected_code, expected_field) => {
                assert_eq!(code(&answer), expected_code, "{case}: {answer}");
                if let Some(expected_field) = expected_field {
                    assert_eq!(field(&answer), expected_field, "{case}: {answer}");
                }
                assert_eq!(stored["status"], from, "{case}: nothing changed");
                assert_eq!(
                    app.count("request_events").await,
                    events,
                    "{case}: no event"
                );
            }
        }
    }
}

#[tokio::test]
async fn sending_a_queued_request_back_to_triage_hands_it_to_the_contact_centre() {
    let app = spawn_app().await;
    let (reference, _) = submit(&app, json!({ "description": STREET_LIGHT })).await;
    let tf = app.handler("tf-anna", &["TF"]);

    let moved = ok(
        &app,
        &tf,
        SET_STATUS,
        json!({ "reference": reference, "status": "TRIAGE", "reason": "Oklart vad som avses" }),
    )
    .await;

    assert_eq!(moved["setStatus"]["status"], "TRIAGE");
    assert_eq!(moved["setStatus"]["administration"], "KC");
    let agent = app.contact_centre("kc-anna");
    let stored = read(&app, &agent, &reference).await;
    assert_eq!(stored["queue"], "TRIAGE");
    assert_eq!(stored["category"], Value::Null);
    // The default filter (queued, in progress, waiting) leaves triage out.
    let triage = ok(
        &app,
        &agent,
        QUEUE,
        json!({ "code": "TRIAGE", "status": ["TRIAGE"] }),
    )
    .await;
    assert!(nodes(&triage["queue"]).any(|n| n["reference"] == reference.as_str()));
    let lost = app
        .gql_as(&tf, BY_REFERENCE, json!({ "reference": reference }))
        .await;
    assert_eq!(code(&lost), "NOT_FOUND", "{lost}");
}

#[tokio::test]
async fn the_resident_sees_messages_to_them_but_never_internal_comments_or_who_acted() {
    let app = spawn_app().await;
    let (reference, tracking) = submit(&app, json!({ "description": STREET_LIGHT })).await;
    let tf = app.handler("tf-anna", &["TF"]);
    claim(&app, &tf, &reference).await;
    let internal = "Intern anteckning: entreprenören är sen";
    let public = "Vi har beställt en ny lampa";
    let question = "Vilken stolpe gäller det?";
    for (body, is_internal) in [(internal, true), (public, false)] {
        let vars = json!({ "reference": reference, "body": body, "internal": is_internal });
        ok(&app, &tf, COMMENT, vars).await;
    }
    let vars =
        json!({ "reference": reference, "status": "WAITING_FOR_CITIZEN", "message": question });
    ok(&app, &tf, SET_STATUS, vars).await;

    let seen = resident_view(&app, &reference, &tracking).await;

    let messages: Vec<&Value> = history(&seen)
        .map(|e| &e["message"])
        .filter(|m| !m.is_null())
        .collect();
    assert_eq!(messages, [public, question]);
    for event in history(&seen) {
        assert_eq!(event["actor"], Value::Null, "{event}");
        assert_eq!(event["note"], Value::Null, "{event}");
        assert_eq!(event["public"], true, "{event}");
    }
    let text = seen.to_string();
    for hidden in [internal, "tf-anna"] {
        assert!(!text.contains(hidden), "{hidden} leaks: {seen}");
    }
    // The handler sees everything, with who did it.
    let staff = read(&app, &tf, &reference).await;
    let comment = history(&staff).find(|e| e["note"] == internal).unwrap();
    assert_eq!(comment["public"], false);
    assert_eq!(comment["actor"]["id"], "tf-anna");
}

#[tokio::test]
async fn a_resident_reply_reopens_a_request_that_waits_for_them_or_is_resolved() {
    let app = spawn_app().await;
    for from in ["WAITING_FOR_CITIZEN", "RESOLVED"] {
        let (reference, tracking) = submit(&app, json!({ "description": STREET_LIGHT })).await;
        let tf = app.handler("tf-anna", &["TF"]);
        bring(&app, &tf, &reference, from).await;
        let body = format!("Svar när ärendet är {from}: stolpe 14");

        let answer = app
            .gql(
                REPLY,
                json!({ "reference": reference, "trackingCode": tracking, "body": body }),
            )
            .await;

        assert!(answer["errors"].is_null(), "{from}: {answer}");
        assert_eq!(
            answer["data"]["replyAsCitizen"]["status"], "IN_PROGRESS",
            "{from}"
        );
        let stored = read(&app, &tf, &reference).await;
        assert_eq!(stored["status"], "IN_PROGRESS", "{from}");
        assert_eq!(
            stored["assignee"]["sub"], "tf-anna",
            "{from}: back to its handler"
        );
        let reply = last_event(&stored);
        assert_eq!(reply["kind"], "CITIZEN_REPLY", "{from}");
        assert_eq!(reply["status"], "IN_PROGRESS", "{from}");
        assert_eq!(reply["message"], body.as_str(), "{from}");
        assert_eq!(reply["actor"]["kind"], "RESIDENT", "{from}");
    }
}

#[tokio::test]
async fn a_resident_reply_to_a_closed_request_is_a_conflict() {
    let app = spawn_app().await;
    let (reference, tracking) = submit(&app, json!({ "description": STREET_LIGHT })).await;
    bring(&app, &app.handler("tf-anna", &["TF"]), &reference, "CLOSED").await;
    let events = app.count("request_events").await;

    let answer = app
        .gql(
            REPLY,
            json!({ "reference": reference, "trackingCode": tracking, "body": "Hallå?" }),
        )
        .await;

    assert_eq!(code(&answer), "CONFLICT", "{answer}");
    assert_eq!(app.count("request_events").await, events);
}

#[tokio::test]
async fn a_resident_reply_with_a_wrong_tracking_code_is_not_found() {
    let app = spawn_app().await;
    let (reference, _) = submit(&app, json!({ "description": STREET_LIGHT })).await;
    let (_, someone_elses) = submit(&app, json!({ "description": "Hål i vägen" })).await;
    let events = app.count("request_events").await;

    for wrong in [someone_elses.as_str(), "not-a-code"] {
        let answer = app
            .gql(
                REPLY,
                json!({ "reference": reference, "trackingCode": wrong, "body": "Hej" }),
            )
            .await;
        assert_eq!(code(&answer), "NOT_FOUND", "{wrong}: {answer}");
    }
    assert_eq!(app.count("request_events").await, events);
}

#[tokio::test]
async fn a_change_based_on_a_stale_version_is_a_conflict_on_expected_version_and_changes_nothing() {
    let app = spawn_app().await;
    let (reference, _) = submit(&app, json!({ "description": STREET_LIGHT })).await;
    let (other, _) = submit(&app, json!({ "description": "Hål i vägen" })).await;
    let anna = app.handler("tf-anna", &["TF"]);
    claim(&app, &anna, &reference).await;
    let stale = read(&app, &anna, &reference).await["version"].clone();
    let bertil = app.handler("tf-bertil", &["TF"]);
    let vars =
        json!({ "reference": reference, "priority": "HIGH", "reason": "Ligger vid en skola" });
    ok(&app, &bertil, SET_PRIORITY, vars).await;
    let before = read(&app, &anna, &reference).await;
    assert_ne!(before["version"], stale);

    let with_stale = |extra: Value| {
        let mut vars = json!({ "reference": reference, "expectedVersion": stale });
        vars.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        vars
    };
    for (name, query, vars) in [
        ("claimRequest", CLAIM, with_stale(json!({}))),
        ("releaseRequest", RELEASE, with_stale(json!({}))),
        (
            "setStatus",
            SET_STATUS,
            with_stale(json!({ "status": "RESOLVED", "message": "Lagad" })),
        ),
        (
            "rerouteRequest",
            REROUTE,
            with_stale(json!({ "category": "school", "reason": "Skolgården" })),
        ),
        (
            "markDuplicate",
            MARK_DUPLICATE,
            with_stale(json!({ "of": other })),
        ),
        (
            "setPriority",
            SET_PRIORITY,
            with_stale(json!({ "priority": "LOW", "reason": "Inte bråttom" })),
        ),
    ] {
        let answer = app.gql_as(&anna, query, vars).await;
        assert_eq!(code(&answer), "CONFLICT", "{name}: {answer}");
        assert_eq!(field(&answer), "expectedVersion", "{name}: {answer}");
    }

    assert_eq!(
        read(&app, &anna, &reference).await,
        before,
        "nothing changed"
    );
    let vars = json!({ "reference": reference, "status": "RESOLVED", "message": "Lagad", "expectedVersion": before["version"] });
    ok(&app, &anna, SET_STATUS, vars).await;
}

#[tokio::test]
async fn rerouting_to_another_administration_moves_the_request_out_of_the_old_ones_reach() {
    let app = spawn_app().await;
    let (reference, tracking) = submit(&app, json!({ "description": STREET_LIGHT })).await;
    let tf = app.handler("tf-anna", &["TF"]);
    claim(&app, &tf, &reference).await;
    let reason = "Lampan står på skolgården";

    let moved = ok(
        &app,
        &tf,
        REROUTE,
        json!({ "reference": reference, "category": "school", "reason": reason }),
    )
    .await;

    assert_eq!(
        moved["rerouteRequest"],
        json!({ "status": "QUEUED", "administration": "BUF" })
    );
    let buf = app.handler("buf-bo", &["BUF"]);
    let stored = read(&app, &buf, &reference).await;
    assert_eq!(stored["category"], "school");
    assert_eq!(stored["queue"], "BUF");
    assert_eq!(stored["assignee"], Value::Null);
    let event = last_event(&stored);
    assert_eq!(event["kind"], "REROUTED");
    assert_eq!(event["note"], reason);
    assert_eq!(event["actor"]["id"], "tf-anna");
    let queue = ok(&app, &buf, QUEUE, json!({ "code": "BUF" })).await;
    assert!(nodes(&queue["queue"]).any(|n| n["reference"] == reference.as_str()));
    let lost = app
        .gql_as(&tf, BY_REFERENCE, json!({ "reference": reference }))
        .await;
    assert_eq!(code(&lost), "NOT_FOUND", "{lost}");
    let resident = resident_view(&app, &reference, &tracking).await;
    assert_eq!(resident["administration"], "BUF");
    assert!(
        !resident.to_string().contains(reason),
        "the reason is internal: {resident}"
    );
}

#[tokio::test]
async fn rerouting_to_another_authority_refers_the_request_and_tells_the_resident_where_to_turn() {
    let app = spawn_app().await;
    let (reference, tracking) = submit(&app, json!({ "description": STREET_LIGHT })).await;
    let tf = app.handler("tf-anna", &["TF"]);

    let moved = ok(
        &app,
        &tf,
        REROUTE,
        json!({ "reference": reference, "category": "ext_police", "reason": "Lampan är stulen" }),
    )
    .await;

    assert_eq!(moved["rerouteRequest"]["status"], "REFERRED");
    let seen = resident_view(&app, &reference, &tracking).await;
    assert_eq!(seen["status"], "REFERRED");
    let event = history(&seen).last().unwrap();
    assert_eq!(event["status"], "REFERRED");
    assert!(
        event["message"].as_str().unwrap().contains("Polisen"),
        "{event}"
    );
}

#[tokio::test]
async fn a_reroute_without_a_reason_or_to_an_unknown_category_is_refused() {
    let app = spawn_app().await;
    let (reference, _) = submit(&app, json!({ "description": STREET_LIGHT })).await;
    let tf = app.handler("tf-anna", &["TF"]);
    let events = app.count("request_events").await;

    for (category, reason, expected_field) in [
        ("school", None, "reason"),
        ("school", Some("   "), "reason"),
        ("no_such_category", Some("Fel kategori"), "category"),
    ] {
        let vars = json!({ "reference": reference, "category": category, "reason": reason });
        let answer = app.gql_as(&tf, REROUTE, vars).await;
        assert_eq!(
            code(&answer),
            "BAD_USER_INPUT",
            "{category} {reason:?}: {answer}"
        );
        assert_eq!(
            field(&answer),
            expected_field,
            "{category} {reason:?}: {answer}"
        );
    }
    assert_eq!(app.count("request_events").await, events);
    assert_eq!(
        read(&app, &tf, &reference).await["category"],
        "street_lighting"
    );
}

#[tokio::test]
async fn the_classifier_learns_from_a_contact_centre_reroute_out_of_triage() {
    let app = spawn_app().await;
    let (first, _) = submit(&app, json!({ "description": VAGUE_LETTER })).await;
    let agent = app.contact_centre("kc-anna");
    assert_eq!(read(&app, &agent, &first).await["status"], "TRIAGE");

    let vars =
        json!({ "reference": first, "category": "library", "reason": "Gäller ett bibliotekslån" });
    let moved = ok(&app, &agent, REROUTE, vars).await;
    assert_eq!(
        moved["rerouteRequest"],
        json!({ "status": "QUEUED", "administration": "KFF" })
    );

    let again = app.submit(json!({ "description": VAGUE_LETTER })).await;
    assert_eq!(again["request"]["status"], "QUEUED", "{again}");
    assert_eq!(again["request"]["category"], "library", "{again}");
}

#[tokio::test]
async fn a_duplicate_follows_the_status_of_its_original() {
    let app = spawn_app().await;
    let (master, _) = submit(&app, json!({ "description": STREET_LIGHT })).await;
    let (copy, tracking) = submit(
        &app,
        json!({ "description": "Trasig gatlampa på Storgatan" }),
    )
    .await;
    let tf = app.handler("tf-anna", &["TF"]);

    let marked = ok(
        &app,
        &tf,
        MARK_DUPLICATE,
        json!({ "reference": copy, "of": master }),
    )
    .await;

    assert_eq!(
        marked["markDuplicate"],
        json!({ "status": "DUPLICATE", "effectiveStatus": "QUEUED" })
    );
    assert_eq!(
        last_event(&read(&app, &tf, &copy).await)["kind"],
        "MARKED_DUPLICATE"
    );
    bring(&app, &tf, &master, "RESOLVED").await;
    let stored = read(&app, &tf, &copy).await;
    assert_eq!(stored["status"], "DUPLICATE");
    assert_eq!(stored["effectiveStatus"], "RESOLVED");
    let resident = resident_view(&app, &copy, &tracking).await;
    assert_eq!(resident["effectiveStatus"], "RESOLVED");
}

#[tokio::test]
async fn a_request_cannot_be_marked_a_duplicate_of_itself() {
    let app = spawn_app().await;
    let (reference, _) = submit(&app, json!({ "description": STREET_LIGHT })).await;
    let tf = app.handler("tf-anna", &["TF"]);

    let answer = app
        .gql_as(
            &tf,
            MARK_DUPLICATE,
            json!({ "reference": reference, "of": reference }),
        )
        .await;

    assert_eq!(code(&answer), "BAD_USER_INPUT", "{answer}");
    assert_eq!(field(&answer), "of", "{answer}");
    assert_eq!(read(&app, &tf, &reference).await["status"], "QUEUED");
}

#[tokio::test]
async fn setting_a_duplicate_back_to_queued_with_a_reason_unmerges_it() {
    let app = spawn_app().await;
    let (master, _) = submit(&app, json!({ "description": STREET_LIGHT })).await;
    let (copy, _) = submit(
        &app,
        json!({ "description": "Trasig gatlampa på Lillgatan" }),
    )
    .await;
    let tf = app.handler("tf-anna", &["TF"]);
    ok(
        &app,
        &tf,
        MARK_DUPLICATE,
        json!({ "reference": copy, "of": master }),
    )
    .await;

    let unreasoned = app
        .gql_as(
            &tf,
            SET_STATUS,
            json!({ "reference": copy, "status": "QUEUED" }),
        )
        .await;
    assert_eq!(code(&unreasoned), "BAD_USER_INPUT", "{unreasoned}");
    assert_eq!(field(&unreasoned), "reason", "{unreasoned}");
    let vars = json!({ "reference": copy, "status": "QUEUED", "reason": "Annan gata" });
    ok(&app, &tf, SET_STATUS, vars).await;

    bring(&app, &tf, &master, "RESOLVED").await;
    let stored = read(&app, &tf, &copy).await;
    assert_eq!(stored["status"], "QUEUED");
    assert_eq!(
        stored["effectiveStatus"], "QUEUED",
        "no longer follows {master}"
    );
}

#[tokio::test]
async fn raising_the_priority_with_a_reason_moves_a_request_ahead_in_the_queue() {
    let app = spawn_app().await;
    let (first, _) = submit(&app, json!({ "description": STREET_LIGHT })).await;
    let (second, tracking) = submit(
        &app,
        json!({ "description": "Gatlampan på Lillgatan blinkar" }),
    )
    .await;
    let tf = app.handler("tf-anna", &["TF"]);
    let reason = "Mörk skolväg";

    let raised = ok(
        &app,
        &tf,
        SET_PRIORITY,
        json!({ "reference": second, "priority": "HIGH", "reason": reason }),
    )
    .await;

    assert_eq!(raised["setPriority"]["priority"], "HIGH");
    let queue = ok(&app, &tf, QUEUE, json!({ "code": "TF" })).await;
    let order: Vec<&str> = nodes(&queue["queue"])
        .map(|n| n["reference"].as_str().unwrap())
        .collect();
    assert_eq!(order, [second.as_str(), first.as_str()]);
    let event = last_event(&read(&app, &tf, &second).await).clone();
    assert_eq!(event["kind"], "PRIORITY_CHANGED");
    assert_eq!(event["note"], reason);
    let resident = resident_view(&app, &second, &tracking).await;
    assert!(!resident.to_string().contains(reason), "{resident}");
}

#[tokio::test]
async fn changing_the_priority_without_a_reason_is_refused() {
    let app = spawn_app().await;
    let (reference, _) = submit(&app, json!({ "description": STREET_LIGHT })).await;
    let tf = app.handler("tf-anna", &["TF"]);

    let answer = app
        .gql_as(
            &tf,
            SET_PRIORITY,
            json!({ "reference": reference, "priority": "URGENT" }),
        )
        .await;

    assert_eq!(code(&answer), "BAD_USER_INPUT", "{answer}");
    assert_eq!(field(&answer), "reason", "{answer}");
    assert_eq!(read(&app, &tf, &reference).await["priority"], "NORMAL");
}

#[tokio::test]
async fn a_new_street_lighting_request_is_due_on_future_working_days() {
    let app = spawn_app().await;
    let (reference, _) = submit(&app, json!({ "description": STREET_LIGHT })).await;

    let stored = read(&app, &app.handler("tf-anna", &["TF"]), &reference).await;

    let now = Utc::now();
    let ack = time(&stored["ackDueAt"]);
    let resolve = time(&stored["resolveDueAt"]);
    assert!(ack > now && resolve >= ack, "{ack} {resolve}");
    for due in [ack, resolve] {
        let local = due.with_timezone(&chrono_tz::Europe::Stockholm);
        assert!(
            !matches!(local.weekday(), Weekday::Sat | Weekday::Sun),
            "{local} is not a working day"
        );
    }
    // Two and ten working days: eight working days lie between them.
    assert!(
        resolve - ack >= chrono::Duration::days(8),
        "{ack} {resolve}"
    );
    assert!(ack - now >= chrono::Duration::days(1), "{ack}");
}

#[tokio::test]
async fn every_change_writes_exactly_one_history_event() {
    let app = spawn_app().await;
    let (reference, _) = submit(&app, json!({ "description": STREET_LIGHT })).await;
    let (master, _) = submit(&app, json!({ "description": "Hål i vägen på Kungsgatan" })).await;
    let tf = app.handler("tf-anna", &["TF"]);
    let r = |extra: Value| {
        let mut vars = json!({ "reference": reference });
        vars.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        vars
    };
    let steps = [
        ("claim", CLAIM, r(json!({}))),
        (
            "internal comment",
            COMMENT,
            r(json!({ "body": "Notering", "internal": true })),
        ),
        (
            "public comment",
            COMMENT,
            r(json!({ "body": "Vi tittar på det", "internal": false })),
        ),
        (
            "priority",
            SET_PRIORITY,
            r(json!({ "priority": "HIGH", "reason": "Skolväg" })),
        ),
        ("release", RELEASE, r(json!({}))),
        (
            "reroute",
            REROUTE,
            r(json!({ "category": "street_maintenance", "reason": "Stolpen är påkörd" })),
        ),
        ("claim again", CLAIM, r(json!({}))),
        (
            "ask",
            SET_STATUS,
            r(json!({ "status": "WAITING_FOR_CITIZEN", "message": "Vilken stolpe?" })),
        ),
        (
            "resolve",
            SET_STATUS,
            r(json!({ "status": "RESOLVED", "message": "Lagad" })),
        ),
        ("close", SET_STATUS, r(json!({ "status": "CLOSED" }))),
    ];

    for (name, query, vars) in steps {
        let before = app.count("request_events").await;
        ok(&app, &tf, query, vars).await;
        assert_eq!(app.count("request_events").await, before + 1, "{name}");
    }

    let (other, other_tracking) = submit(
        &app,
        json!({ "description": "Gatlampan på torget är släckt" }),
    )
    .await;
    let before = app.count("request_events").await;
    ok(
        &app,
        &tf,
        MARK_DUPLICATE,
        json!({ "reference": other, "of": master }),
    )
    .await;
    assert_eq!(
        app.count("request_events").await,
        before + 1,
        "markDuplicate"
    );
    let before = app.count("request_events").await;
    let reply = json!({ "reference": other, "trackingCode": other_tracking, "body": "Tack" });
    assert!(app.gql(REPLY, reply).await["errors"].is_null());
    assert_eq!(
        app.count("request_events").await,
        before + 2,
        "replyAsCitizen on a duplicate: one event on it, one forwarded to the original"
    );
}

// --- helpers -------------------------------------------------------------

/// Every status of the life cycle.
const STATUSES: [&str; 9] = [
    "RECEIVED",
    "TRIAGE",
    "QUEUED",
    "IN_PROGRESS",
    "WAITING_FOR_CITIZEN",
    "RESOLVED",
    "CLOSED",
    "REFERRED",
    "DUPLICATE",
];

#[derive(Clone, Copy)]
enum Expect {
    Moves,
    /// Refused with this code (and field, where one is named).
    Refused(&'static str, Option<&'static str>),
}

/// A fresh request in status `from`, and a token of staff who work it.
async fn request_in(app: &TestApp, from: &str) -> (String, String) {
    if from == "TRIAGE" {
        let (reference, _) = submit(app, json!({ "description": UNPLACEABLE })).await;
        return (reference, app.contact_centre("kc-anna"));
    }
    let (reference, _) = submit(app, json!({ "description": STREET_LIGHT })).await;
    let token = app.handler("tf-anna", &["TF"]);
    bring(app, &token, &reference, from).await;
    (reference, token)
}

/// Moves a queued TF request to `status` along the life cycle.
async fn bring(app: &TestApp, token: &str, reference: &str, status: &str) {
    let path: &[&str] = match status {
        "QUEUED" => &[],
        "IN_PROGRESS" => &["IN_PROGRESS"],
        "WAITING_FOR_CITIZEN" => &["IN_PROGRESS", "WAITING_FOR_CITIZEN"],
        "RESOLVED" => &["IN_PROGRESS", "RESOLVED"],
        "CLOSED" => &["IN_PROGRESS", "RESOLVED", "CLOSED"],
        "REFERRED" => &["REFERRED"],
        other => panic!("no path to {other}"),
    };
    for step in path {
        let vars = json!({ "reference": reference, "status": step, "message": "Meddelande" });
        ok(app, token, SET_STATUS, vars).await;
    }
}

/// Submits anonymously: (reference, tracking code).
async fn submit(app: &TestApp, input: Value) -> (String, String) {
    let payload = app.submit(input).await;
    (
        payload["request"]["reference"].as_str().unwrap().to_owned(),
        payload["trackingCode"].as_str().unwrap().to_owned(),
    )
}

/// Runs an operation as `token`, failing the test on any error: the data.
async fn ok(app: &TestApp, token: &str, query: &str, vars: Value) -> Value {
    let answer = app.gql_as(token, query, vars).await;
    assert!(answer["errors"].is_null(), "{answer}");
    answer["data"].clone()
}

async fn claim(app: &TestApp, token: &str, reference: &str) {
    ok(app, token, CLAIM, json!({ "reference": reference })).await;
}

/// The request as staff holding `token` see it.
async fn read(app: &TestApp, token: &str, reference: &str) -> Value {
    ok(app, token, BY_REFERENCE, json!({ "reference": reference })).await["requestByReference"]
        .clone()
}

async fn resident_view(app: &TestApp, reference: &str, tracking: &str) -> Value {
    let answer = app
        .gql(
            RESIDENT_VIEW,
            json!({ "reference": reference, "trackingCode": tracking }),
        )
        .await;
    assert!(answer["errors"].is_null(), "{answer}");
    answer["data"]["request"].clone()
}

fn nodes(queue: &Value) -> impl Iterator<Item = &Value> {
    queue["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["node"])
}

fn history(request: &Value) -> impl Iterator<Item = &Value> {
    request["history"].as_array().unwrap().iter()
}

fn last_event(request: &Value) -> &Value {
    history(request).last().expect("a history")
}

fn time(value: &Value) -> DateTime<Utc> {
    value.as_str().unwrap().parse().unwrap()
}

/// Moves the request's first-response deadline into the past, unanswered.
async fn make_overdue(app: &TestApp, reference: &str) {
    use envagin::store::entities::requests;
    requests::Entity::update_many()
        .set(requests::ActiveModel {
            ack_due_at: Set(Utc::now() - chrono::Duration::days(1)),
            ..Default::default()
        })
        .filter(requests::Column::Reference.eq(reference))
        .exec(&app.db().await)
        .await
        .expect("deadline moved");
}

#[tokio::test]
async fn a_reply_to_a_merged_request_reaches_the_originals_handlers() {
    let app = spawn_app().await;
    let (original, _) = submit(
        &app,
        json!({ "description": "Gatlampan på Storgatan är trasig" }),
    )
    .await;
    let (copy, copy_code) = submit(
        &app,
        json!({ "description": "Lampan på Storgatan lyser inte" }),
    )
    .await;
    let tf = app.handler("tf-anna", &["TF"]);
    ok(
        &app,
        &tf,
        "mutation($r: String!, $o: String!) { markDuplicate(reference: $r, of: $o) { status } }",
        json!({ "r": copy, "o": original }),
    )
    .await;
    let reply = app
        .gql(
            "mutation($r: String!, $t: String!) { replyAsCitizen(reference: $r, trackingCode: $t, body: \"Den blinkar nu också\") { status } }",
            json!({ "r": copy, "t": copy_code }),
        )
        .await;
    assert!(reply["errors"].is_null(), "{reply}");
    let seen = ok(
        &app,
        &tf,
        "query($r: String!) { requestByReference(reference: $r) { history { kind note public } } }",
        json!({ "r": original }),
    )
    .await;
    let history = seen["requestByReference"]["history"].as_array().unwrap();
    let forwarded = history
        .iter()
        .find(|e| e["kind"] == "CITIZEN_REPLY")
        .expect("the reply is on the original");
    assert!(
        forwarded["note"]
            .as_str()
            .unwrap()
            .contains("Den blinkar nu också")
    );
    assert_eq!(
        forwarded["public"], false,
        "the original's resident does not see another resident's words"
    );
}
