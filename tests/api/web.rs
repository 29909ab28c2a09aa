//! The web pages over plain HTTP, without a browser: what works without
//! JavaScript (the form post, the receipt, the status page and reply), the
//! staff pages' session and CSRF checks, secrecy on the request page, and
//! the security headers. The browser tests (`tests/browser`) cover the
//! same flows with JavaScript and the keyboard.

use reqwest::header::{COOKIE, HeaderMap, LOCATION, SET_COOKIE};
use reqwest::{Client, StatusCode, redirect};
use serde_json::json;

use crate::support::{LOOKUP, TestApp, spawn_app, spawn_app_with};

const ACCESS_LOG: &str = "query($r: String!) { accessLog(reference: $r) { actorSub fields } }";

fn no_redirects() -> Client {
    Client::builder()
        .redirect(redirect::Policy::none())
        .build()
        .unwrap()
}

/// The value of the first `name="…" value="…"` hidden field.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no field {name} in {html}"))
        + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

/// The text of the element with this id (no nested tags).
fn by_id(html: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\">");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no element {id} in {html}"))
        + marker.len();
    html[start..].split('<').next().unwrap().trim().to_owned()
}

async fn form_page(app: &TestApp) -> String {
    let page = app.client.get(app.url("/")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    page.text().await.unwrap()
}

/// Posts the resident's form without JavaScript; returns the response.
async fn post_form(app: &TestApp, fields: &[(&str, &str)]) -> reqwest::Response {
    no_redirects()
        .post(app.url("/"))
        .form(fields)
        .send()
        .await
        .unwrap()
}

/// Submits through the form; returns (reference, tracking code).
async fn submit_via_form(
    app: &TestApp,
    description: &str,
    extra: &[(&str, &str)],
) -> (String, String) {
    let key = hidden(&form_page(app).await, "idempotency_key");
    let mut fields = vec![
        ("description", description),
        ("idempotency_key", key.as_str()),
        ("lang", "sv"),
    ];
    fields.extend_from_slice(extra);
    let answer = post_form(app, &fields).await;
    assert_eq!(answer.status(), StatusCode::OK);
    let html = answer.text().await.unwrap();
    (by_id(&html, "reference"), by_id(&html, "tracking-code"))
}

fn staff_cookie(token: &str) -> String {
    format!("envagin_staff={token}")
}

/// A staff page as the holder of `token`.
async fn staff_get(app: &TestApp, token: &str, path: &str) -> reqwest::Response {
    no_redirects()
        .get(app.url(path))
        .header(COOKIE, staff_cookie(token))
        .send()
        .await
        .unwrap()
}

async fn staff_post(
    app: &TestApp,
    token: &str,
    path: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    no_redirects()
        .post(app.url(path))
        .header(COOKIE, staff_cookie(token))
        .form(fields)
        .send()
        .await
        .unwrap()
}

/// The CSRF token the staff pages give this session.
async fn csrf(app: &TestApp, token: &str) -> String {
    let home = staff_get(app, token, "/staff").await.text().await.unwrap();
    hidden(&home, "csrf")
}

#[tokio::test]
async fn the_form_has_a_label_for_every_field_and_the_page_its_language() {
    let app = spawn_app().await;
    let html = form_page(&app).await;
    assert!(html.contains("<html lang=\"sv\">"), "{html}");
    assert!(html.contains("<h1>Kontakta kommunen</h1>"));
    assert_eq!(html.matches("<h1").count(), 1, "one h1 per page");
    for id in [
        "description",
        "category",
        "address",
        "name",
        "email",
        "phone",
        "protected",
    ] {
        assert!(
            html.contains(&format!("<label for=\"{id}\">")),
            "no label for {id}"
        );
        assert!(html.contains(&format!("id=\"{id}\"")), "no field {id}");
    }
    assert!(html.contains("aria-describedby=\"description-hint\""));
    assert!(html.contains("<legend>Skyddade personuppgifter</legend>"));
    assert!(html.contains("personuppgiftsansvarig"), "GDPR art. 13 text");
    assert!(html.contains("<optgroup label=\"Tekniska förvaltningen\">"));
    assert!(html.contains("class=\"skip-link\" href=\"#main\""));
    assert!(
        html.contains("href=\"/?lang=en\" lang=\"en\""),
        "language link"
    );
    assert!(html.contains("href=\"/tillganglighet\""));

    let en = app
        .client
        .get(app.url("/?lang=en"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(en.contains("<html lang=\"en\">"));
    assert!(en.contains("<h1>Contact the municipality</h1>"));
    assert!(en.contains("<optgroup label=\"Technical services administration\">"));
    assert!(en.contains(">Street lighting</option>"));
    assert!(
        en.contains("href=\"/\" lang=\"sv\""),
        "link back to Swedish"
    );

    let statement = app
        .client
        .get(app.url("/tillganglighet"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(statement.contains("<h1>Tillgänglighetsredogörelse</h1>"));
    assert!(statement.contains("Digg"));
    assert!(statement.contains("/?category=complaints_and_feedback"));
    let statement_en = app
        .client
        .get(app.url("/tillganglighet?lang=en"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(statement_en.contains("<h1>Accessibility statement</h1>"));
}

#[tokio::test]
async fn a_form_post_without_javascript_creates_a_request_and_the_receipt_shows_reference_and_code()
{
    let app = spawn_app().await;
    let key = hidden(&form_page(&app).await, "idempotency_key");
    let answer = post_form(
        &app,
        &[
            ("description", "Gatlampan utanför Storgatan 12 är trasig"),
            ("category", ""),
            ("address", "Storgatan 12"),
            ("latitude", ""),
            ("longitude", ""),
            ("email", "anna@example.se"),
            ("idempotency_key", &key),
            ("lang", "sv"),
        ],
    )
    .await;
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(answer.headers()["cache-control"], "no-store");
    let html = answer.text().await.unwrap();
    let reference = by_id(&html, "reference");
    let code = by_id(&html, "tracking-code");
    assert!(reference.starts_with("EVI-"), "{reference}");
    assert_eq!(code.len(), 19, "{code}");
    assert!(html.contains("Tekniska förvaltningen"), "what happens next");
    assert!(html.contains("senast"), "when");
    assert!(html.contains(&format!(
        "href=\"/status?reference={reference}&#38;code={code}\""
    )));

    // The pair opens the request, in GraphQL and on the status page.
    let found = app
        .gql(
            LOOKUP,
            json!({ "reference": reference, "trackingCode": code }),
        )
        .await;
    assert_eq!(found["data"]["request"]["status"], "QUEUED", "{found}");
    let status = app
        .client
        .get(app.url(&format!("/status?reference={reference}&code={code}")))
        .send()
        .await
        .unwrap();
    assert_eq!(status.status(), StatusCode::OK);
    let page = status.text().await.unwrap();
    assert!(page.contains("I kö hos förvaltningen"), "{page}");
    assert!(page.contains("Gatubelysning"));
}

#[tokio::test]
async fn emergencies_and_referrals_are_prominent_on_the_receipt() {
    let app = spawn_app().await;
    let html = post_form(
        &app,
        &[(
            "description",
            "Det brinner i förrådet bakom skolan, det ryker ur taket",
        )],
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(
        html.contains("class=\"alert alert-emergency\" role=\"alert\""),
        "{html}"
    );
    assert!(html.contains("112"));

    let html = post_form(
        &app,
        &[
            (
                "description",
                "Jag har tappat min plånbok och vill anmäla det",
            ),
            ("category", "ext_police"),
        ],
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(
        html.contains("Ditt ärende hör till en annan myndighet"),
        "{html}"
    );
    assert!(html.contains("olisen"), "names the authority: {html}");
}

#[tokio::test]
async fn a_resubmitted_post_with_the_same_key_creates_one_request() {
    let app = spawn_app().await;
    let key = hidden(&form_page(&app).await, "idempotency_key");
    let fields = [
        ("description", "Soptunnan har inte tömts på två veckor"),
        ("phone", "070-123 45 67"),
        ("idempotency_key", key.as_str()),
    ];
    let first = post_form(&app, &fields).await.text().await.unwrap();
    let second = post_form(&app, &fields).await.text().await.unwrap();
    assert_eq!(by_id(&first, "reference"), by_id(&second, "reference"));
    assert_eq!(
        by_id(&first, "tracking-code"),
        by_id(&second, "tracking-code")
    );
    assert_eq!(app.count("requests").await, 1);

    // The same form posted with other content is not silently a new one.
    let changed = post_form(
        &app,
        &[
            ("description", "Något helt annat"),
            ("idempotency_key", key.as_str()),
        ],
    )
    .await;
    assert_eq!(changed.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = changed.text().await.unwrap();
    assert!(html.contains("redan skickat"), "{html}");
    assert_ne!(
        hidden(&html, "idempotency_key"),
        key,
        "a new key to confirm with"
    );
    assert_eq!(app.count("requests").await, 1);
}

#[tokio::test]
async fn errors_are_listed_linked_and_tied_to_their_fields_and_values_kept() {
    let app = spawn_app().await;
    let answer = post_form(
        &app,
        &[
            ("description", "   "),
            ("email", "inte-en-adress"),
            ("name", "Anna <b>Svensson</b>"),
            ("idempotency_key", "k-1"),
        ],
    )
    .await;
    assert_eq!(answer.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = answer.text().await.unwrap();
    assert!(html.contains("<title>Fel: "), "the title says so");
    assert!(html.contains("id=\"error-summary\" role=\"alert\" tabindex=\"-1\""));
    assert!(html.contains("<a href=\"#description\">Skriv vad ärendet gäller.</a>"));
    assert!(html.contains("<a href=\"#email\">"));
    assert!(html.contains("aria-describedby=\"description-hint description-error\""));
    assert!(html.contains("aria-invalid=\"true\""));
    assert!(html.contains("id=\"description-error\""));
    assert!(
        html.contains("value=\"Anna &#60;b&#62;Svensson&#60;/b&#62;\""),
        "kept, escaped: {html}"
    );
    assert!(html.contains("value=\"inte-en-adress\""));
    assert_eq!(app.count("requests").await, 0);
}

#[tokio::test]
async fn html_and_script_typed_by_a_resident_are_escaped_on_every_page() {
    let app = spawn_app().await;
    let (reference, code) = submit_via_form(
        &app,
        "Gatlampan är trasig <script>alert('beskrivning')</script>",
        &[("address", "<img src=x onerror=alert(1)>")],
    )
    .await;
    let reply = no_redirects()
        .post(app.url("/status/reply"))
        .form(&[
            ("reference", reference.as_str()),
            ("code", code.as_str()),
            ("body", "<script>alert('svar')</script> och <b>fetstil</b>"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::SEE_OTHER);
    let location = reply.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(location.contains("sent=1"), "{location}");

    let status = app
        .client
        .get(app.url(&location))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(status.contains("Ditt svar är skickat."));
    assert!(
        status.contains("&#60;script&#62;alert(&#39;svar&#39;)&#60;/script&#62;"),
        "{status}"
    );
    assert!(!status.contains("<script>alert"), "{status}");
    assert!(!status.contains("<b>fetstil"));
    // The description is not on the resident's page at all (as in GraphQL's
    // resident view); the staff page shows it, escaped.
    let tf = app.handler("tf-anna", &["TF"]);
    let staff = staff_get(&app, &tf, &format!("/staff/requests/{reference}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        staff.contains("&#60;script&#62;alert(&#39;beskrivning&#39;)"),
        "{staff}"
    );
    assert!(staff.contains("&#60;img src=x onerror=alert(1)&#62;"));
    assert!(!staff.contains("<script>alert"));
    assert!(!staff.contains("<img src=x"));
}

#[tokio::test]
async fn the_status_page_explains_a_wrong_pair_and_a_rate_limit() {
    let app = spawn_app_with(|c| c.lookup_failures = 2).await;
    let form = app.client.get(app.url("/status")).send().await.unwrap();
    assert_eq!(form.status(), StatusCode::OK);
    assert!(
        form.text()
            .await
            .unwrap()
            .contains("<label for=\"reference\">")
    );

    let (reference, _) = submit_via_form(&app, "Gatlampan är trasig", &[]).await;
    let wrong = format!("/status?reference={reference}&code=AAAA-AAAA-AAAA-AAAA");
    let first = app.client.get(app.url(&wrong)).send().await.unwrap();
    assert_eq!(first.status(), StatusCode::NOT_FOUND);
    let html = first.text().await.unwrap();
    assert!(html.contains("Vi hittade inget ärende"), "{html}");
    assert!(html.contains(&format!("value=\"{reference}\"")), "kept");

    let bad_digit = app
        .client
        .get(app.url("/status?reference=EVI-2026-000001-4&code=AAAA"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_digit.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad_digit
            .text()
            .await
            .unwrap()
            .contains("Ärendenumret stämmer inte")
    );

    app.client.get(app.url(&wrong)).send().await.unwrap();
    let limited = app.client.get(app.url(&wrong)).send().await.unwrap();
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.text().await.unwrap().contains("För många försök"));
}

#[tokio::test]
async fn staff_pages_need_a_valid_token_and_refuse_a_forged_one() {
    let app = spawn_app().await;
    let anonymous = no_redirects()
        .get(app.url("/staff/queues/TF"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        anonymous.headers()[LOCATION],
        "/staff?next=%2Fstaff%2Fqueues%2FTF"
    );

    // Signed with another key: refused, and the cookie cleared.
    let forged = envagin::auth::mint_token(
        b"not-the-server-secret-not-the-server-secret-0123",
        &app.auth,
        &envagin::auth::MintClaims {
            sub: "mallory".into(),
            name: None,
            roles: vec!["handler".into()],
            adm: vec!["TF".into()],
            ttl: std::time::Duration::from_secs(600),
        },
    )
    .unwrap();
    let refused = staff_get(&app, &forged, "/staff/queues/TF").await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert!(
        cookies(refused.headers())
            .iter()
            .any(|c| c.starts_with("envagin_staff=;"))
    );
    let html = refused.text().await.unwrap();
    assert!(html.contains("godtogs inte"), "{html}");
    assert!(!html.contains("Ta nästa"));

    // Logging in: the form's nonce cookie, then the session cookie.
    let login = app.client.get(app.url("/staff")).send().await.unwrap();
    let nonce_cookie = cookies(login.headers())
        .into_iter()
        .find(|c| c.starts_with("envagin_login="))
        .expect("login nonce cookie");
    let nonce = hidden(&login.text().await.unwrap(), "csrf");
    let nonce_pair = nonce_cookie.split(';').next().unwrap().to_owned();
    let post_login = |token: String, with_nonce: bool| {
        let mut request = no_redirects().post(app.url("/staff/login")).form(&[
            ("token", token),
            ("csrf", nonce.clone()),
            ("next", "/staff/queues/TF".into()),
        ]);
        if with_nonce {
            request = request.header(COOKIE, nonce_pair.clone());
        }
        request.send()
    };
    let forged_login = post_login(forged.clone(), true).await.unwrap();
    assert_eq!(forged_login.status(), StatusCode::UNAUTHORIZED);
    assert!(
        !cookies(forged_login.headers())
            .iter()
            .any(|c| c.starts_with("envagin_staff=e"))
    );

    let tf = app.handler("tf-anna", &["TF"]);
    let without_nonce = post_login(tf.clone(), false).await.unwrap();
    assert_eq!(without_nonce.status(), StatusCode::FORBIDDEN, "login CSRF");

    let ok = post_login(format!("Bearer {tf}"), true).await.unwrap();
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    assert_eq!(ok.headers()[LOCATION], "/staff/queues/TF");
    let session = cookies(ok.headers())
        .into_iter()
        .find(|c| c.starts_with("envagin_staff="))
        .expect("session cookie");
    assert!(
        session.starts_with(&format!("envagin_staff={tf};")),
        "{session}"
    );
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/staff", "Max-Age="] {
        assert!(session.contains(attribute), "{session}");
    }
    assert!(!session.contains("Secure"), "plain http in tests");
    let queue = staff_get(&app, &tf, "/staff/queues/TF").await;
    assert_eq!(queue.status(), StatusCode::OK);
    assert!(queue.text().await.unwrap().contains("Ta nästa"));
}

#[tokio::test]
async fn an_expired_session_goes_back_to_the_login_form_saying_so() {
    let app = spawn_app_with(|c| c.jwt_leeway_secs = 0).await;
    let expired = envagin::auth::mint_token(
        crate::support::TEST_JWT_SECRET.as_bytes(),
        &app.auth,
        &envagin::auth::MintClaims {
            sub: "tf-old".into(),
            name: None,
            roles: vec!["handler".into()],
            adm: vec!["TF".into()],
            ttl: std::time::Duration::from_secs(1),
        },
    )
    .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
    let stale = staff_get(&app, &expired, "/staff/queues/TF").await;
    assert_eq!(stale.status(), StatusCode::UNAUTHORIZED);
    assert!(
        cookies(stale.headers())
            .iter()
            .any(|c| c.starts_with("envagin_staff=;"))
    );
    let html = stale.text().await.unwrap();
    assert!(html.contains("Din inloggning har gått ut"), "{html}");
    assert!(html.contains("name=\"next\" value=\"/staff/queues/TF\""));
}

fn cookies(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn staff_posts_need_the_csrf_token_of_the_session() {
    let app = spawn_app().await;
    let (reference, _) =
        submit_via_form(&app, "Gatlampan utanför Storgatan 12 är trasig", &[]).await;
    let tf = app.handler("tf-anna", &["TF"]);
    let other = app.handler("tf-bo", &["TF"]);

    let missing = staff_post(&app, &tf, "/staff/queues/TF/next", &[]).await;
    assert_eq!(missing.status(), StatusCode::FORBIDDEN);
    let someone_elses = csrf(&app, &other).await;
    let wrong = staff_post(
        &app,
        &tf,
        "/staff/queues/TF/next",
        &[("csrf", someone_elses.as_str())],
    )
    .await;
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    let html = wrong.text().await.unwrap();
    assert!(html.contains("Ladda om sidan"), "{html}");
    let found = app
        .gql_as(
            &tf,
            "query($r: String!) { requestByReference(reference: $r) { status } }",
            json!({ "r": reference }),
        )
        .await;
    assert_eq!(
        found["data"]["requestByReference"]["status"], "QUEUED",
        "nothing claimed"
    );

    for path in [
        format!("/staff/requests/{reference}/comment"),
        "/staff/search".to_owned(),
        "/staff/register".to_owned(),
        "/staff/logout".to_owned(),
    ] {
        let refused = staff_post(&app, &tf, &path, &[("body", "x"), ("phone", "0701234567")]).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{path}");
    }

    let token = csrf(&app, &tf).await;
    let taken = staff_post(
        &app,
        &tf,
        "/staff/queues/TF/next",
        &[("csrf", token.as_str())],
    )
    .await;
    assert_eq!(taken.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        taken.headers()[LOCATION],
        format!("/staff/requests/{reference}?done=claimed")
    );
}

#[tokio::test]
async fn a_handler_works_a_request_on_its_page_and_reads_are_in_the_access_log() {
    let app = spawn_app().await;
    let (reference, code) = submit_via_form(
        &app,
        "Gatlampan utanför Storgatan 12 är trasig",
        &[("email", "anna@example.se"), ("address", "Storgatan 12")],
    )
    .await;
    let tf = app.handler("tf-anna", &["TF"]);
    let token = csrf(&app, &tf).await;
    let page = format!("/staff/requests/{reference}");

    let claimed = staff_post(&app, &tf, &format!("{page}/claim"), &[("csrf", &token)]).await;
    assert_eq!(claimed.status(), StatusCode::SEE_OTHER);
    // A question without the message it needs: the form comes back.
    let incomplete = staff_post(
        &app,
        &tf,
        &format!("{page}/status"),
        &[
            ("csrf", &token),
            ("status", "WAITING_FOR_CITIZEN"),
            ("message", ""),
        ],
    )
    .await;
    assert_eq!(incomplete.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = incomplete.text().await.unwrap();
    assert!(html.contains("<a href=\"#status-message\">"), "{html}");
    let asked = staff_post(
        &app,
        &tf,
        &format!("{page}/status"),
        &[
            ("csrf", &token),
            ("status", "WAITING_FOR_CITIZEN"),
            ("message", "Vilken stolpe är det?"),
        ],
    )
    .await;
    assert_eq!(asked.status(), StatusCode::SEE_OTHER);
    let noted = staff_post(
        &app,
        &tf,
        &format!("{page}/comment"),
        &[
            ("csrf", &token),
            ("body", "Ring elbolaget"),
            ("visibility", "internal"),
        ],
    )
    .await;
    assert_eq!(noted.status(), StatusCode::SEE_OTHER);

    let view = staff_get(&app, &tf, &page).await.text().await.unwrap();
    assert!(view.contains("Väntar på invånaren"));
    assert!(view.contains("anna@example.se"));
    assert!(view.contains("Storgatan 12"));
    assert!(view.contains("Ring elbolaget"));

    let resident = app
        .client
        .get(app.url(&format!("/status?reference={reference}&code={code}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(resident.contains("Vilken stolpe är det?"));
    assert!(resident.contains("Väntar på svar från dig"));
    assert!(
        !resident.contains("Ring elbolaget"),
        "internal notes stay inside"
    );

    let admin = app.token("admin-cecilia", &["admin"], &[]);
    let log = app
        .gql_as(&admin, ACCESS_LOG, json!({ "r": reference }))
        .await;
    let entries = log["data"]["accessLog"].as_array().unwrap().clone();
    assert!(!entries.is_empty(), "{log}");
    assert!(entries.iter().all(|e| e["actorSub"] == "tf-anna"));
    assert_eq!(
        entries.last().unwrap()["fields"],
        json!(["description", "contact", "location"])
    );
}

#[tokio::test]
async fn the_contact_centre_sees_a_confidential_request_at_status_level_only() {
    let app = spawn_app().await;
    let (reference, _) = submit_via_form(
        &app,
        "Jag behöver ekonomiskt bistånd till hyran den här månaden",
        &[
            ("category", "financial_assistance"),
            ("email", "hemlig@example.se"),
            ("phone", "070-765 43 21"),
        ],
    )
    .await;
    let kc = app.contact_centre("kc-bertil");
    let page = staff_get(&app, &kc, &format!("/staff/requests/{reference}")).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains(&reference));
    assert!(html.contains("Bara status"), "{html}");
    assert!(html.contains("Socialförvaltningen"));
    for secret in [
        "hyran",
        "hemlig@example.se",
        "765 43 21",
        "Ekonomiskt bistånd",
        "Svar senast",
        "Ta ärendet",
        "Flytta ärendet",
        "Spara",
    ] {
        assert!(
            !html.contains(secret),
            "{secret} shown to the contact centre"
        );
    }
    // The search finds it by phone, still at status level.
    let token = csrf(&app, &kc).await;
    let found = staff_post(
        &app,
        &kc,
        "/staff/search",
        &[("csrf", token.as_str()), ("phone", "070-765 43 21")],
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(found.contains(&reference), "{found}");
    assert!(!found.contains("Ekonomiskt bistånd"));

    let soc = app.handler("soc-sara", &["SOC"]);
    let full = staff_get(&app, &soc, &format!("/staff/requests/{reference}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(full.contains("hyran"));
    assert!(full.contains("hemlig@example.se"));
    let log = app
        .gql_as(&soc, ACCESS_LOG, json!({ "r": reference }))
        .await;
    let readers: Vec<&str> = log["data"]["accessLog"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["actorSub"].as_str().unwrap())
        .collect();
    assert_eq!(
        readers,
        ["soc-sara"],
        "no personal data read by the contact centre"
    );

    let other = app.handler("tf-anna", &["TF"]);
    let hidden_page = staff_get(&app, &other, &format!("/staff/requests/{reference}")).await;
    assert_eq!(hidden_page.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_contact_centre_registers_a_call_on_a_residents_behalf() {
    let app = spawn_app().await;
    let kc = app.contact_centre("kc-bertil");
    let form = staff_get(&app, &kc, "/staff/register")
        .await
        .text()
        .await
        .unwrap();
    let token = hidden(&form, "csrf");
    let key = hidden(&form, "idempotency_key");
    let answer = staff_post(
        &app,
        &kc,
        "/staff/register",
        &[
            ("csrf", token.as_str()),
            ("idempotency_key", key.as_str()),
            ("channel", "PHONE"),
            ("received_at", ""),
            ("resident_language", "sv"),
            ("description", "Ringer om att soptunnan inte har tömts"),
            ("phone", "070-111 22 33"),
        ],
    )
    .await;
    assert_eq!(answer.status(), StatusCode::OK);
    let html = answer.text().await.unwrap();
    let reference = by_id(&html, "reference");
    let code = by_id(&html, "tracking-code");
    let found = app
        .gql(
            LOOKUP,
            json!({ "reference": reference, "trackingCode": code }),
        )
        .await;
    assert!(found["errors"].is_null(), "{found}");
    let channel = app
        .gql_as(
            &kc,
            "query($r: String!) { requestByReference(reference: $r) { channel registeredBy } }",
            json!({ "r": reference }),
        )
        .await;
    assert_eq!(channel["data"]["requestByReference"]["channel"], "PHONE");
    assert_eq!(
        channel["data"]["requestByReference"]["registeredBy"],
        "kc-bertil"
    );

    // A handler may not register on behalf: the use case says no.
    let tf = app.handler("tf-anna", &["TF"]);
    let token = csrf(&app, &tf).await;
    let refused = staff_post(
        &app,
        &tf,
        "/staff/register",
        &[
            ("csrf", token.as_str()),
            ("channel", "PHONE"),
            ("description", "Något"),
        ],
    )
    .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_contact_centre_registers_a_call_it_answered_on_the_spot_as_closed() {
    let app = spawn_app().await;
    let kc = app.contact_centre("kc-bertil");
    let form = staff_get(&app, &kc, "/staff/register")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        form.contains("id=\"kb-answers\""),
        "the article panel is on the page"
    );
    assert!(form.contains("name=\"answer\""));
    let token = hidden(&form, "csrf");
    let key = hidden(&form, "idempotency_key");
    let answer = staff_post(
        &app,
        &kc,
        "/staff/register",
        &[
            ("csrf", token.as_str()),
            ("idempotency_key", key.as_str()),
            ("channel", "PHONE"),
            ("received_at", ""),
            ("resident_language", "sv"),
            (
                "description",
                "Ringer och undrar när återvinningscentralen har öppet",
            ),
            ("category", "waste_collection"),
            (
                "answer",
                "Återvinningscentralen har öppet måndag–torsdag 10–19.",
            ),
            ("articles", "atervinningscentralen-oppettider"),
        ],
    )
    .await;
    assert_eq!(answer.status(), StatusCode::OK);
    let html = answer.text().await.unwrap();
    let reference = by_id(&html, "reference");
    let request = app
        .gql_as(
            &kc,
            "query($r: String!) { requestByReference(reference: $r) { status history { status message } } }",
            json!({ "r": reference }),
        )
        .await;
    let request = &request["data"]["requestByReference"];
    assert_eq!(request["status"], "CLOSED", "{request}");
    assert_eq!(
        request["history"][1]["message"],
        "Återvinningscentralen har öppet måndag–torsdag 10–19."
    );
}

#[tokio::test]
async fn the_request_page_shows_staff_the_articles_that_may_answer_it() {
    let app = spawn_app().await;
    let (reference, _) = submit_via_form(
        &app,
        "När har återvinningscentralen öppet? Jag vill lämna grovsopor",
        &[],
    )
    .await;
    let tf = app.handler("tf-anna", &["TF"]);
    let html = staff_get(&app, &tf, &format!("/staff/requests/{reference}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("id=\"kb-articles\""), "{html}");
    assert!(html.contains("atervinningscentralen-oppettider"), "{html}");
}

#[tokio::test]
async fn every_answer_carries_hsts_when_the_public_url_is_https_and_none_does_over_http() {
    let https =
        spawn_app_with(|c| c.public_url = Some("https://kontakt.exempelby.se".into())).await;
    let http = spawn_app().await;
    for (app, expected) in [
        (&https, Some("max-age=31536000; includeSubDomains")),
        (&http, None),
    ] {
        let catalogue = json!({ "query": "{ catalogue { administrations { code } } }" });
        let answers = [
            ("page", app.client.get(app.url("/"))),
            ("health", app.client.get(app.url("/health"))),
            (
                "graphql",
                app.client.post(app.url("/graphql")).json(&catalogue),
            ),
            ("unknown path", app.client.get(app.url("/no-such-page"))),
            (
                "refused gateway call",
                app.client.post(app.url("/gateway/email")),
            ),
        ];
        for (what, request) in answers {
            let answer = request.send().await.unwrap();
            let hsts = answer
                .headers()
                .get("strict-transport-security")
                .map(|v| v.to_str().unwrap().to_owned());
            assert_eq!(hsts.as_deref(), expected, "{what} ({})", answer.status());
        }
    }
}

#[tokio::test]
async fn pages_carry_strict_security_headers_and_no_inline_script() {
    let app = spawn_app().await;
    let (reference, code) = submit_via_form(&app, "Gatlampan är trasig", &[]).await;
    let tf = app.handler("tf-anna", &["TF"]);
    for (path, token) in [
        ("/".to_owned(), None),
        (format!("/status?reference={reference}&code={code}"), None),
        ("/status".to_owned(), None),
        ("/tillganglighet".to_owned(), None),
        ("/staff".to_owned(), None),
        ("/staff".to_owned(), Some(&tf)),
        (format!("/staff/requests/{reference}"), Some(&tf)),
    ] {
        let mut request = no_redirects().get(app.url(&path));
        if let Some(token) = token {
            request = request.header(COOKIE, staff_cookie(token));
        }
        let answer = request.send().await.unwrap();
        assert_eq!(answer.status(), StatusCode::OK, "{path}");
        let h = answer.headers().clone();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"));
        assert!(csp.contains("default-src 'none'"));
        assert!(!csp.contains("unsafe-inline"));
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(h["cache-control"], "no-store", "{path}");
        assert!(h["content-type"].to_str().unwrap().starts_with("text/html"));
        let html = answer.text().await.unwrap();
        assert!(!html.contains("<script>"), "no inline script on {path}");
        assert!(!html.contains(" style=\""), "no inline style on {path}");
        assert!(!html.contains(" onclick="), "no inline handler on {path}");
    }

    let page = form_page(&app).await;
    let css = page
        .split("<link rel=\"stylesheet\" href=\"")
        .nth(1)
        .unwrap();
    let css = css.split('"').next().unwrap();
    let js = page.split("<script src=\"").nth(1).unwrap();
    let js = js.split('"').next().unwrap();
    for (asset, kind) in [(css, "text/css"), (js, "text/javascript")] {
        assert!(asset.starts_with("/static/"), "{asset}");
        let answer = app.client.get(app.url(asset)).send().await.unwrap();
        assert_eq!(answer.status(), StatusCode::OK);
        let h = answer.headers();
        assert!(h["content-type"].to_str().unwrap().starts_with(kind));
        assert_eq!(h["cache-control"], "public, max-age=31536000, immutable");
        assert_eq!(h["x-content-type-options"], "nosniff");
    }
    let old = app
        .client
        .get(app.url("/static/000000000000/app.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(old.headers()["cache-control"], "no-cache");
}

#[tokio::test]
async fn the_staff_page_says_which_language_a_request_the_model_cannot_read_is_written_in() {
    let app = spawn_app().await;
    let (reference, _) = submit_via_form(
        &app,
        "Latarnia uliczna przed naszym blokiem nie świeci od dwóch tygodni, proszę o naprawę",
        &[],
    )
    .await;
    let kc = app.contact_centre("kc-bertil");
    let html = staff_get(&app, &kc, &format!("/staff/requests/{reference}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Skrivet på ett annat språk"), "{html}");
    assert!(html.contains("Polish (Polski)"), "{html}");
}
