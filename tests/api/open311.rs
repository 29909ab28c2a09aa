//! Open311 GeoReport v2 at `/open311/v2`: services from the catalogue,
//! submission (form-encoded and JSON), reading requests at the level the
//! caller may see, tokens, and the specification's error array.

use serde_json::{Value, json};

use crate::support::{LOOKUP, TestApp, spawn_app};

/// The specification's example submission, with Swedish data.
const SPEC_EXAMPLE: &str = "api_key=xyz&jurisdiction_id=example.se&service_code=street_lighting&lat=59.3293&long=18.0686&address_string=Storgatan 1&email=anna@example.se&device_id=tt222111&account_id=123456&first_name=Anna&last_name=Svensson&phone=0701234567&description=Gatlampan utanför nummer 5 är trasig&media_url=http://example.com/a.jpg";

const PERSONAL: [&str; 5] = [
    "Anna",
    "Svensson",
    "anna@example.se",
    "0701234567",
    "46701234567",
];

fn pairs(body: &str) -> Vec<(String, String)> {
    body.split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

async fn answer(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.expect("request sent");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
    (status, body)
}

async fn get(app: &TestApp, path: &str) -> (u16, Value) {
    answer(app.client.get(app.url(path))).await
}

async fn get_as(app: &TestApp, token: &str, path: &str) -> (u16, Value) {
    answer(app.client.get(app.url(path)).bearer_auth(token)).await
}

/// POSTs `body` (`k=v&…`, unencoded as in the specification) form-encoded.
async fn post_form(app: &TestApp, body: &str) -> (u16, Value) {
    answer(
        app.client
            .post(app.url("/open311/v2/requests.json"))
            .form(&pairs(body)),
    )
    .await
}

/// Submits through Open311 and returns (reference, tracking code).
async fn submitted(app: &TestApp, body: &str) -> (String, String) {
    let (status, created) = post_form(app, body).await;
    assert_eq!(status, 201, "{created}");
    (
        created[0]["service_request_id"]
            .as_str()
            .unwrap()
            .to_owned(),
        created[0]["tracking_code"].as_str().unwrap().to_owned(),
    )
}

/// The specification's error array with one error of `code`, whose
/// description starts with `start`.
fn assert_error(status: u16, body: &Value, code: u16, start: &str) {
    assert_eq!(status, code, "{body}");
    let errors = body
        .as_array()
        .unwrap_or_else(|| panic!("no array: {body}"));
    assert!(!errors.is_empty(), "{body}");
    assert!(
        errors.iter().all(|e| e["code"] == code),
        "every entry carries the code: {body}"
    );
    let description = errors[0]["description"].as_str().unwrap();
    assert!(description.starts_with(start), "{body}");
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("no array: {list}"))
        .iter()
        .map(|r| r["service_request_id"].as_str().unwrap().to_owned())
        .collect()
}

fn assert_no_personal_data(body: &Value) {
    let text = body.to_string();
    for secret in PERSONAL {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
}

#[tokio::test]
async fn the_services_are_the_catalogue_without_its_confidential_categories() {
    let app = spawn_app().await;
    let (status, services) = get(&app, "/open311/v2/services.json").await;
    assert_eq!(status, 200, "{services}");
    let codes: Vec<&str> = services
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["service_code"].as_str().unwrap())
        .collect();
    for code in [
        "general_question",
        "street_lighting",
        "school",
        "ext_police",
    ] {
        assert!(codes.contains(&code), "{code} missing from {codes:?}");
    }
    for code in ["home_care", "financial_assistance", "child_welfare_concern"] {
        assert!(!codes.contains(&code), "confidential {code} listed");
    }
    assert_eq!(
        codes.len(),
        34 - 8,
        "all 34 categories but the 8 confidential ones"
    );
    let lighting = services
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["service_code"] == "street_lighting")
        .unwrap();
    assert_eq!(lighting["service_name"], "Gatubelysning");
    assert_eq!(lighting["group"], "Tekniska förvaltningen");
    assert_eq!(lighting["metadata"], false);
    assert_eq!(lighting["type"], "realtime");
    assert!(lighting["keywords"].as_str().unwrap().contains("gatlampa"));
    assert!(
        lighting["description"]
            .as_str()
            .unwrap()
            .contains("gatlampor")
    );
}

#[tokio::test]
async fn the_services_are_named_in_english_when_the_locale_asks_for_it() {
    let app = spawn_app().await;
    for query in ["locale=en", "lang=en", "locale=en_US"] {
        let (status, services) = get(&app, &format!("/open311/v2/services.json?{query}")).await;
        assert_eq!(status, 200, "{services}");
        let lighting = services
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["service_code"] == "street_lighting")
            .unwrap();
        assert_eq!(lighting["service_name"], "Street lighting", "{query}");
    }
}

#[tokio::test]
async fn a_service_definition_has_its_code_and_no_attributes() {
    let app = spawn_app().await;
    let (status, definition) = get(&app, "/open311/v2/services/street_lighting.json").await;
    assert_eq!(status, 200, "{definition}");
    assert_eq!(
        definition,
        json!({ "service_code": "street_lighting", "attributes": [] })
    );
    for code in ["home_care", "no_such_service"] {
        let (status, body) = get(&app, &format!("/open311/v2/services/{code}.json")).await;
        assert_error(status, &body, 404, "not found");
    }
}

#[tokio::test]
async fn the_specifications_form_submission_creates_a_request_that_graphql_finds() {
    let app = spawn_app().await;
    let (status, created) = post_form(&app, SPEC_EXAMPLE).await;
    assert_eq!(status, 201, "{created}");
    let created = &created[0];
    let reference = created["service_request_id"].as_str().unwrap();
    assert_eq!(created["token"], reference);
    assert_eq!(created["account_id"], Value::Null);
    assert_eq!(created["service_notice"], Value::Null);
    let tracking_code = created["tracking_code"].as_str().unwrap();

    let read = app
        .gql(
            LOOKUP,
            json!({ "reference": reference, "trackingCode": tracking_code }),
        )
        .await;
    assert!(read["errors"].is_null(), "{read}");
    let r = &read["data"]["request"];
    assert_eq!(r["status"], "QUEUED");
    assert_eq!(r["category"], "street_lighting");
    assert_eq!(r["administration"], "TF");

    let staff = app
        .gql_as(
            &app.handler("tf-anna", &["TF"]),
            "query($r: String!) { requestByReference(reference: $r) {
                channel description contact { name email phone } location { latitude longitude address } } }",
            json!({ "r": reference }),
        )
        .await;
    assert!(staff["errors"].is_null(), "{staff}");
    let r = &staff["data"]["requestByReference"];
    assert_eq!(r["channel"], "WEB");
    assert_eq!(r["description"], "Gatlampan utanför nummer 5 är trasig");
    assert_eq!(r["contact"]["name"], "Anna Svensson");
    assert_eq!(r["contact"]["email"], "anna@example.se");
    assert_eq!(r["contact"]["phone"], "+46701234567");
    assert_eq!(
        r["location"],
        json!({ "latitude": 59.3293, "longitude": 18.0686, "address": "Storgatan 1" })
    );
}

#[tokio::test]
async fn a_submission_may_come_as_an_encoded_form_or_as_json() {
    let app = spawn_app().await;
    let (status, created) = answer(
        app.client
            .post(app.url("/open311/v2/requests.json"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("service_code=library&description=Jag+vill+f%C3%B6rl%C3%A4nga+mitt+l%C3%A5nekort+p%C3%A5+biblioteket&attribute%5Bsize%5D=1"),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let (status, created) = answer(app.client.post(app.url("/open311/v2/requests.json")).json(
        &json!({
            "service_code": "street_lighting",
            "description": "Gatlampan vid busshållplatsen lyser inte",
            "lat": 59.33,
            "long": 18.07,
            "attribute": { "pole": "12" },
        }),
    ))
    .await;
    assert_eq!(status, 201, "{created}");
    let reference = created[0]["service_request_id"].as_str().unwrap();
    let (_, read) = get_as(
        &app,
        &app.handler("tf-anna", &["TF"]),
        &format!("/open311/v2/requests/{reference}.json"),
    )
    .await;
    assert_eq!(read[0]["lat"], 59.33);
    assert_eq!(app.count("requests").await, 2);
}

#[tokio::test]
async fn a_submission_without_service_code_or_description_or_with_an_unknown_service_is_refused_and_not_stored()
 {
    let app = spawn_app().await;
    let cases = [
        (
            "description=Gatlampan är trasig",
            "service_code: is required",
        ),
        ("service_code=street_lighting", "description: is required"),
        (
            "service_code=street_lighting&description=   ",
            "description: is required",
        ),
        (
            "service_code=no_such_service&description=Gatlampan är trasig",
            "service_code: no_such_service is not a service",
        ),
        (
            "service_code=home_care&description=Jag behöver hemtjänst",
            "service_code: home_care is not a service",
        ),
        (
            "service_code=street_lighting&description=Gatlampan är trasig&lat=north&long=18.0",
            "lat: must be a decimal number",
        ),
        (
            "service_code=street_lighting&description=Gatlampan är trasig&email=not-an-address",
            "email: ",
        ),
    ];
    for (body, start) in cases {
        let (status, errors) = post_form(&app, body).await;
        assert_error(status, &errors, 400, start);
    }
    let (status, errors) = post_form(&app, "email=nope").await;
    assert_eq!(status, 400);
    let descriptions: Vec<&str> = errors
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["description"].as_str().unwrap())
        .collect();
    assert!(
        descriptions[0].starts_with("service_code")
            && descriptions[1].starts_with("description")
            && descriptions[2].starts_with("email"),
        "every broken field at once: {descriptions:?}"
    );
    let (status, errors) = answer(
        app.client
            .post(app.url("/open311/v2/requests.json"))
            .header("content-type", "text/plain")
            .body("Gatlampan är trasig"),
    )
    .await;
    assert_error(status, &errors, 415, "the body must be");
    let (status, errors) = answer(
        app.client
            .post(app.url("/open311/v2/requests.json"))
            .header("content-type", "application/json")
            .body("{not json"),
    )
    .await;
    assert_error(status, &errors, 400, "the body must be a JSON object");
    assert_eq!(app.count("requests").await, 0);
}

#[tokio::test]
async fn a_referral_or_emergency_is_the_service_notice_of_the_submission() {
    let app = spawn_app().await;
    let (status, created) = post_form(
        &app,
        "service_code=ext_police&description=Min cykel har blivit stulen och jag vill polisanmäla stölden",
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let notice = created[0]["service_notice"].as_str().unwrap();
    assert!(notice.contains("Polis"), "{notice}");
    let (status, created) = post_form(
        &app,
        "service_code=parks_and_playgrounds&description=Det brinner i soptunnorna vid lekplatsen!",
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let notice = created[0]["service_notice"].as_str().unwrap();
    assert!(notice.contains("112"), "{notice}");
}

#[tokio::test]
async fn an_anonymous_reader_sees_the_status_but_no_description_location_or_personal_data() {
    let app = spawn_app().await;
    let (reference, _) = submitted(&app, SPEC_EXAMPLE).await;
    let (status, read) = get(&app, &format!("/open311/v2/requests/{reference}.json")).await;
    assert_eq!(status, 200, "{read}");
    let list = read.as_array().unwrap();
    assert_eq!(list.len(), 1);
    let r = list[0].as_object().unwrap();
    assert_eq!(r["service_request_id"], reference.as_str());
    assert_eq!(r["status"], "open");
    assert_eq!(
        r["status_notes"],
        "Ärendet ligger hos ansvarig förvaltning och väntar på handläggning."
    );
    assert_eq!(r["service_code"], "street_lighting");
    assert_eq!(r["service_name"], "Gatubelysning");
    assert_eq!(r["agency_responsible"], "Tekniska förvaltningen");
    for key in [
        "requested_datetime",
        "updated_datetime",
        "expected_datetime",
    ] {
        let at = r[key].as_str().unwrap();
        let parsed =
            chrono::DateTime::parse_from_rfc3339(at).unwrap_or_else(|e| panic!("{key} {at}: {e}"));
        assert!(
            parsed.offset().local_minus_utc() > 0,
            "Swedish offset: {at}"
        );
    }
    let at = |key: &str| chrono::DateTime::parse_from_rfc3339(r[key].as_str().unwrap()).unwrap();
    assert!(at("expected_datetime") > at("requested_datetime"));
    for key in ["description", "address", "lat", "long"] {
        assert!(!r.contains_key(key), "{key} shown to anyone: {read}");
    }
    assert!(!read.to_string().contains("Storgatan"), "{read}");
    assert_no_personal_data(&read);
}

#[tokio::test]
async fn a_handler_of_the_owning_administration_reads_description_and_location_and_it_is_logged() {
    let app = spawn_app().await;
    let (reference, _) = submitted(&app, SPEC_EXAMPLE).await;
    let path = format!("/open311/v2/requests/{reference}.json");
    let tf = app.handler("tf-anna", &["TF"]);
    let (status, read) = get_as(&app, &tf, &path).await;
    assert_eq!(status, 200, "{read}");
    let r = &read[0];
    assert_eq!(r["description"], "Gatlampan utanför nummer 5 är trasig");
    assert_eq!(r["address"], "Storgatan 1");
    assert_eq!(r["lat"], 59.3293);
    assert_eq!(r["long"], 18.0686);
    assert_no_personal_data(&read);

    let log = app
        .gql_as(
            &tf,
            "query($r: String!) { accessLog(reference: $r) { actorSub fields } }",
            json!({ "r": reference }),
        )
        .await;
    assert_eq!(
        log["data"]["accessLog"],
        json!([{ "actorSub": "tf-anna", "fields": ["description", "location"] }]),
        "{log}"
    );

    let (_, listed) = get_as(
        &app,
        &tf,
        &format!("/open311/v2/requests.json?service_request_id={reference}"),
    )
    .await;
    assert_eq!(listed[0]["description"], r["description"]);

    let other = app.handler("buf-bo", &["BUF"]);
    let (status, read) = get_as(&app, &other, &path).await;
    assert_eq!(status, 200, "{read}");
    assert!(read[0].get("description").is_none(), "{read}");
    assert!(read[0].get("address").is_none(), "{read}");
}

#[tokio::test]
async fn a_token_that_does_not_verify_is_refused_rather_than_read_as_anonymous() {
    let app = spawn_app().await;
    let (status, body) = get_as(&app, "not-a-token", "/open311/v2/requests.json").await;
    assert_error(status, &body, 401, "");
}

#[tokio::test]
async fn a_confidential_request_is_never_returned_by_id_list_or_token() {
    let app = spawn_app().await;
    let payload = app
        .submit(json!({
            "description": "Min mamma behöver mer hemtjänst, personalen hinner inte med",
            "categoryHint": "home_care",
        }))
        .await;
    assert_eq!(payload["request"]["category"], "home_care");
    let secret = payload["request"]["reference"].as_str().unwrap().to_owned();
    let (public, _) = submitted(
        &app,
        "service_code=street_lighting&description=Gatlampan vid skolan är trasig",
    )
    .await;

    let vof = app.handler("vof-vera", &["VOF"]);
    let app = &app;
    for token in [None, Some(vof.as_str())] {
        let fetch = |path: String| async move {
            match token {
                Some(t) => get_as(app, t, &path).await,
                None => get(app, &path).await,
            }
        };
        let (status, body) = fetch(format!("/open311/v2/requests/{secret}.json")).await;
        assert_error(status, &body, 404, "not found");
        let (status, body) = fetch(format!(
            "/open311/v2/requests.json?service_request_id={secret},{public}"
        ))
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(ids(&body), [public.as_str()]);
        let (status, body) = fetch("/open311/v2/requests.json".to_owned()).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(ids(&body), [public.as_str()]);
        let (status, body) = fetch(format!("/open311/v2/tokens/{secret}.json")).await;
        assert_error(status, &body, 404, "not found");
    }
    let (status, body) = get(app, "/open311/v2/requests.json?service_code=home_care").await;
    assert_error(
        status,
        &body,
        400,
        "service_code: home_care is not a service",
    );
}

#[tokio::test]
async fn a_request_of_a_protected_identity_is_never_returned_by_id_list_or_token() {
    let app = spawn_app().await;
    let payload = app
        .submit(json!({
            "description": "Gatlampan utanför min port är trasig",
            "categoryHint": "street_lighting",
            "protectedIdentity": true,
        }))
        .await;
    assert_eq!(
        payload["request"]["category"], "street_lighting",
        "{payload}"
    );
    let protected = payload["request"]["reference"].as_str().unwrap().to_owned();
    let (public, _) = submitted(
        &app,
        "service_code=street_lighting&description=Gatlampan vid skolan är trasig",
    )
    .await;

    let (status, body) = get(&app, "/open311/v2/requests.json").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(ids(&body), [public.as_str()]);
    let (status, body) = get(
        &app,
        "/open311/v2/requests.json?service_code=street_lighting&status=open",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(ids(&body), [public.as_str()]);
    let (status, body) = get(
        &app,
        &format!("/open311/v2/requests.json?service_request_id={protected},{public}"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(ids(&body), [public.as_str()]);
    let (status, body) = get(&app, &format!("/open311/v2/requests/{protected}.json")).await;
    assert_error(status, &body, 404, "not found");
    let (status, body) = get(&app, &format!("/open311/v2/tokens/{protected}.json")).await;
    assert_error(status, &body, 404, "not found");
}

#[tokio::test]
async fn the_list_filters_by_open_or_closed_and_by_service_code() {
    let app = spawn_app().await;
    let (lighting, _) = submitted(
        &app,
        "service_code=street_lighting&description=Gatlampan på Ekvägen är släckt",
    )
    .await;
    let (library, _) = submitted(
        &app,
        "service_code=library&description=Jag vill förlänga mitt lånekort på biblioteket",
    )
    .await;
    let (police, _) = submitted(
        &app,
        "service_code=ext_police&description=Min cykel har blivit stulen och jag vill polisanmäla stölden",
    )
    .await;
    let list = |query: &'static str| {
        let app = &app;
        async move {
            let (status, body) = get(app, &format!("/open311/v2/requests.json{query}")).await;
            assert_eq!(status, 200, "{query}: {body}");
            ids(&body)
        }
    };
    assert_eq!(
        list("").await,
        [police.as_str(), library.as_str(), lighting.as_str()],
        "newest first"
    );
    assert_eq!(
        list("?status=open").await,
        [library.as_str(), lighting.as_str()]
    );
    assert_eq!(list("?status=closed").await, [police.as_str()]);
    assert_eq!(list("?status=open,closed").await.len(), 3);
    assert_eq!(
        list("?service_code=street_lighting").await,
        [lighting.as_str()]
    );
    assert_eq!(
        list("?service_code=street_lighting,ext_police&jurisdiction_id=example.se").await,
        [police.as_str(), lighting.as_str()]
    );
    assert_eq!(
        list("?service_code=library&status=closed").await,
        Vec::<String>::new()
    );

    let (_, closed) = get(&app, &format!("/open311/v2/requests/{police}.json")).await;
    assert_eq!(closed[0]["status"], "closed");
    assert!(
        closed[0]["service_notice"]
            .as_str()
            .unwrap()
            .contains("Polis")
    );
}

#[tokio::test]
async fn ids_given_to_the_list_override_its_other_filters() {
    let app = spawn_app().await;
    let (first, _) = submitted(
        &app,
        "service_code=street_lighting&description=Gatlampan på Ekvägen är släckt",
    )
    .await;
    let (second, _) = submitted(
        &app,
        "service_code=library&description=Jag vill förlänga mitt lånekort på biblioteket",
    )
    .await;
    let (status, body) = get(
        &app,
        &format!(
            "/open311/v2/requests.json?service_request_id={first},{second}&service_code=school&status=closed"
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(ids(&body), [second.as_str(), first.as_str()]);
    let (body_part, check) = first.split_at(first.len() - 1);
    let misheard = format!("{body_part}{}", (check.parse::<u8>().unwrap() + 1) % 10);
    let (status, body) = get(
        &app,
        &format!("/open311/v2/requests.json?service_request_id={misheard}"),
    )
    .await;
    assert_error(status, &body, 400, "service_request_id: ");
}

#[tokio::test]
async fn pages_split_the_list_newest_first() {
    let app = spawn_app().await;
    let mut references = Vec::new();
    for street in ["Ekvägen", "Björkvägen", "Lönnvägen"] {
        let (reference, _) = submitted(
            &app,
            &format!("service_code=street_lighting&description=Gatlampan på {street} är släckt"),
        )
        .await;
        references.push(reference);
    }
    references.reverse();
    let (_, first) = get(&app, "/open311/v2/requests.json?page_size=2").await;
    assert_eq!(ids(&first), references[..2]);
    let (_, second) = get(&app, "/open311/v2/requests.json?page_size=2&page=2").await;
    assert_eq!(ids(&second), references[2..]);
    for (query, parameter) in [
        ("page_size=201", "page_size: "),
        ("page=0", "page: "),
        ("page=11&page_size=100", "page: "),
    ] {
        let (status, body) = get(&app, &format!("/open311/v2/requests.json?{query}")).await;
        assert_error(status, &body, 400, parameter);
    }
}

#[tokio::test]
async fn dates_and_statuses_are_checked_and_name_the_parameter() {
    let app = spawn_app().await;
    let (reference, _) = submitted(
        &app,
        "service_code=street_lighting&description=Gatlampan på Ekvägen är släckt",
    )
    .await;
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Stockholm)
        .date_naive();
    let hour_ago = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    let cases = [
        (
            format!("start_date={}", urlencode(&hour_ago)),
            vec![reference.clone()],
        ),
        (format!("end_date={today}"), vec![reference.clone()]),
        (
            format!("start_date={}", today + chrono::Duration::days(1)),
            vec![],
        ),
        (
            format!("end_date={}", today - chrono::Duration::days(1)),
            vec![],
        ),
    ];
    for (query, expected) in cases {
        let (status, body) = get(&app, &format!("/open311/v2/requests.json?{query}")).await;
        assert_eq!(status, 200, "{query}: {body}");
        assert_eq!(ids(&body), expected, "{query}");
    }
    for (query, parameter) in [
        ("start_date=yesterday", "start_date: "),
        ("end_date=2026-02-30", "end_date: "),
        ("start_date=2026-01-01&end_date=2026-06-01", "end_date: "),
        ("start_date=2026-03-01&end_date=2026-02-01", "start_date: "),
        ("status=pending", "status: "),
        ("status=open&status=closed", "status: "),
    ] {
        let (status, body) = get(&app, &format!("/open311/v2/requests.json?{query}")).await;
        assert_error(status, &body, 400, parameter);
    }
}

fn urlencode(raw: &str) -> String {
    raw.replace('+', "%2B").replace(':', "%3A")
}

#[tokio::test]
async fn only_json_is_served() {
    let app = spawn_app().await;
    let (reference, _) = submitted(
        &app,
        "service_code=street_lighting&description=Gatlampan på Ekvägen är släckt",
    )
    .await;
    for path in [
        "/open311/v2/services.xml".to_owned(),
        "/open311/v2/requests.xml".to_owned(),
        "/open311/v2/services/street_lighting.xml".to_owned(),
        format!("/open311/v2/requests/{reference}.xml"),
        format!("/open311/v2/tokens/{reference}.xml"),
    ] {
        let (status, body) = get(&app, &path).await;
        assert_eq!(
            body,
            json!([{ "code": 404, "description": "only JSON is served; use .json" }]),
            "{path}"
        );
        assert_eq!(status, 404);
    }
    let (status, body) = answer(app.client.delete(app.url("/open311/v2/requests.json"))).await;
    assert_error(status, &body, 405, "method not allowed");
}

#[tokio::test]
async fn a_token_names_the_request_it_stands_for() {
    let app = spawn_app().await;
    let (status, created) = post_form(&app, SPEC_EXAMPLE).await;
    assert_eq!(status, 201, "{created}");
    let token = created[0]["token"].as_str().unwrap();
    let (status, body) = get(&app, &format!("/open311/v2/tokens/{token}.json")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!([{ "service_request_id": token, "token": token }])
    );
    for unknown in ["EVI-2026-999999-9", "nonsense"] {
        let (status, body) = get(&app, &format!("/open311/v2/tokens/{unknown}.json")).await;
        assert_error(status, &body, 404, "not found");
    }
}

#[tokio::test]
async fn a_request_submitted_with_an_english_locale_is_described_in_english() {
    let app = spawn_app().await;
    let (reference, _) = submitted(
        &app,
        "service_code=street_lighting&description=The street light outside number 5 is broken&locale=en",
    )
    .await;
    let (status, read) = get(&app, &format!("/open311/v2/requests/{reference}.json")).await;
    assert_eq!(status, 200, "{read}");
    assert_eq!(read[0]["service_name"], "Street lighting");
    assert_eq!(
        read[0]["status_notes"],
        "The request is with the responsible administration, waiting to be handled."
    );
}
