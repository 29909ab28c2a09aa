//! Statistics without singling anyone out: whole Swedish days, and
//! confidential categories counted only in cells of at least five.

use chrono::{DateTime, Duration, TimeZone, Utc};
use chrono_tz::Europe::Stockholm;
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::{Value, json};

use crate::support::{TestApp, field, spawn_app};

const STATS: &str = "query($f: DateTime!, $t: DateTime!) { stats(from: $f, to: $t) {
    from to total byChannel { key count } byStatus { key count }
    byCategory { key count suppressed } byAdministration { key count suppressed }
    firstResponseDays { count } triagedShare } }";

async fn stats(app: &TestApp, token: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Value {
    let answer = app
        .gql_as(token, STATS, json!({ "f": from, "t": to }))
        .await;
    assert!(answer["errors"].is_null(), "{answer}");
    answer["data"]["stats"].clone()
}

fn admin(app: &TestApp) -> String {
    app.token("admin-cecilia", &["admin"], &[])
}

/// The entry for `key` in a list of counts, or null.
fn entry<'a>(list: &'a Value, key: &str) -> &'a Value {
    list.as_array()
        .and_then(|l| l.iter().find(|c| c["key"] == key))
        .unwrap_or(&Value::Null)
}

async fn submit_in(app: &TestApp, category: &str, text: &str) {
    let p = app
        .submit(json!({ "description": text, "categoryHint": category }))
        .await;
    assert_eq!(p["request"]["category"], category, "{p}");
}

#[tokio::test]
async fn two_periods_a_few_milliseconds_apart_give_identical_figures() {
    let app = spawn_app().await;
    let p = app
        .submit(json!({ "description": "Gatlampan på Storgatan är trasig" }))
        .await;
    let reference = p["request"]["reference"].as_str().unwrap();
    let read = app
        .gql_as(
            &app.handler("tf-anna", &["TF"]),
            "query($r: String!) { requestByReference(reference: $r) { createdAt } }",
            json!({ "r": reference }),
        )
        .await;
    let created: DateTime<Utc> =
        serde_json::from_value(read["data"]["requestByReference"]["createdAt"].clone())
            .unwrap_or_else(|e| panic!("{e}: {read}"));
    let admin = admin(&app);

    // The first period starts with the request, the second just after it:
    // their difference was the request itself.
    let with = stats(&app, &admin, created, created + Duration::days(1)).await;
    let shifted = Duration::milliseconds(2);
    let without = stats(
        &app,
        &admin,
        created + shifted,
        created + Duration::days(1) + shifted,
    )
    .await;

    assert_eq!(with, without);
    assert_eq!(with["total"], 1, "{with}");
    let from: DateTime<Utc> = serde_json::from_value(with["from"].clone()).unwrap();
    let to: DateTime<Utc> = serde_json::from_value(with["to"].clone()).unwrap();
    assert!(from <= created && created < to, "{with}");
    let local = from.with_timezone(&chrono_tz::Europe::Stockholm);
    assert_eq!(
        local.format("%H:%M:%S%.f").to_string(),
        "00:00:00",
        "periods start at Swedish midnight: {with}"
    );
}

#[tokio::test]
async fn a_period_shorter_than_a_day_counts_its_whole_swedish_day_and_an_inverted_one_is_refused() {
    let app = spawn_app().await;
    let admin = admin(&app);
    let from: DateTime<Utc> = "2026-11-26T10:00:00Z".parse().unwrap();
    let narrow = stats(&app, &admin, from, from + Duration::minutes(5)).await;
    let instant = |v: &Value| serde_json::from_value::<DateTime<Utc>>(v.clone()).unwrap();
    assert_eq!(
        instant(&narrow["from"]),
        "2026-11-25T23:00:00Z".parse::<DateTime<Utc>>().unwrap(),
        "{narrow}"
    );
    assert_eq!(
        instant(&narrow["to"]),
        "2026-11-26T23:00:00Z".parse::<DateTime<Utc>>().unwrap(),
        "{narrow}"
    );
    let backwards = app
        .gql_as(&admin, STATS, json!({ "f": from, "t": from }))
        .await;
    assert_eq!(field(&backwards), "to", "{backwards}");
}

#[tokio::test]
async fn a_confidential_category_with_one_to_four_requests_is_shown_suppressed_and_left_out_of_every_total()
 {
    let app = spawn_app().await;
    for _ in 0..3 {
        submit_in(&app, "financial_assistance", "Jag behöver försörjningsstöd").await;
    }
    for street in ["Storgatan", "Kungsgatan"] {
        submit_in(
            &app,
            "street_lighting",
            &format!("Gatlampan på {street} är trasig"),
        )
        .await;
    }
    let yesterday = yesterday_noon();
    move_rows(&app, "requests", "created_at", yesterday).await;
    let (from, to) = day_of(yesterday);

    let s = stats(&app, &admin(&app), from, to).await;
    let suppressed = |key: &str| json!({ "key": key, "count": null, "suppressed": true });
    assert_eq!(
        entry(&s["byCategory"], "financial_assistance"),
        &suppressed("financial_assistance"),
        "{s}"
    );
    assert_eq!(entry(&s["byAdministration"], "SOC"), &suppressed("SOC"));
    assert_eq!(
        entry(&s["byCategory"], "street_lighting"),
        &json!({ "key": "street_lighting", "count": 2, "suppressed": false })
    );
    // Nothing to subtract: every figure leaves the three out.
    assert_eq!(s["total"], 2, "{s}");
    assert_eq!(s["byChannel"], json!([{ "key": "WEB", "count": 2 }]));
    assert_eq!(s["byStatus"], json!([{ "key": "QUEUED", "count": 2 }]));

    let soc = app.handler("soc-sara", &["SOC"]);
    let own = stats(&app, &soc, from, to).await;
    assert_eq!(
        entry(&own["byCategory"], "financial_assistance"),
        &json!({ "key": "financial_assistance", "count": 3, "suppressed": false }),
        "the administration's own handlers read these requests anyway: {own}"
    );
}

#[tokio::test]
async fn a_confidential_category_with_five_requests_on_an_ended_day_shows_its_count() {
    let app = spawn_app().await;
    for _ in 0..5 {
        submit_in(&app, "financial_assistance", "Jag behöver försörjningsstöd").await;
    }
    submit_in(
        &app,
        "substance_abuse_support",
        "Jag vill ha stöd för mitt alkoholmissbruk",
    )
    .await;
    let yesterday = yesterday_noon();
    move_rows(&app, "requests", "created_at", yesterday).await;
    let (from, to) = day_of(yesterday);

    let s = stats(&app, &admin(&app), from, to).await;
    assert_eq!(
        entry(&s["byCategory"], "financial_assistance"),
        &json!({ "key": "financial_assistance", "count": 5, "suppressed": true }),
        "shown, and marked like every confidential category: {s}"
    );
    assert_eq!(
        entry(&s["byCategory"], "substance_abuse_support"),
        &json!({ "key": "substance_abuse_support", "count": null, "suppressed": true })
    );
    assert_eq!(
        entry(&s["byAdministration"], "SOC"),
        &json!({ "key": "SOC", "count": 5, "suppressed": true }),
        "the single request is withheld from its administration too"
    );
    assert_eq!(s["total"], 5);
    assert_eq!(
        s["byChannel"],
        json!([]),
        "channel, status and durations describe the open requests"
    );
}

/// Noon of the Swedish day before today: a day that has ended.
fn yesterday_noon() -> DateTime<Utc> {
    let today = Utc::now().with_timezone(&Stockholm).date_naive();
    let noon = (today - Duration::days(1))
        .and_hms_opt(12, 0, 0)
        .expect("noon exists");
    Stockholm
        .from_local_datetime(&noon)
        .single()
        .expect("noon is unambiguous")
        .with_timezone(&Utc)
}

/// Moves every row of `table` so far to `at`: arranging data on a day that
/// has ended, which the API cannot do.
async fn move_rows(app: &TestApp, table: &str, column: &str, at: DateTime<Utc>) {
    let db = app.db().await;
    let sql = match db.get_database_backend() {
        DbBackend::Postgres => format!("UPDATE {table} SET {column} = $1"),
        _ => format!("UPDATE {table} SET {column} = ?"),
    };
    db.execute_raw(Statement::from_sql_and_values(
        db.get_database_backend(),
        sql,
        [at.into()],
    ))
    .await
    .expect("rows moved");
}

/// The whole Swedish day holding `at`.
fn day_of(at: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    (at, at + Duration::minutes(1))
}

#[tokio::test]
async fn an_admin_polling_todays_statistics_sees_nothing_change_as_confidential_requests_arrive() {
    let app = spawn_app().await;
    let admin = admin(&app);
    submit_in(&app, "street_lighting", "Gatlampan på Storgatan är trasig").await;
    let (from, to) = day_of(Utc::now());

    let before = stats(&app, &admin, from, to).await;
    submit_in(&app, "financial_assistance", "Jag behöver försörjningsstöd").await;
    let after_first = stats(&app, &admin, from, to).await;
    for _ in 0..5 {
        submit_in(&app, "financial_assistance", "Jag behöver försörjningsstöd").await;
    }
    let after_sixth = stats(&app, &admin, from, to).await;

    assert_eq!(
        before, after_first,
        "the first confidential request of the day shows nowhere"
    );
    assert_eq!(
        before, after_sixth,
        "nor does the sixth: a count going from five to six would isolate it"
    );
}

#[tokio::test]
async fn a_confidential_category_with_no_requests_and_one_with_three_look_the_same_to_the_admin() {
    let app = spawn_app().await;
    for _ in 0..3 {
        submit_in(&app, "financial_assistance", "Jag behöver försörjningsstöd").await;
    }
    let yesterday = yesterday_noon();
    move_rows(&app, "requests", "created_at", yesterday).await;
    let (from, to) = day_of(yesterday);

    let s = stats(&app, &admin(&app), from, to).await;
    let withheld = |key: &str| json!({ "key": key, "count": null, "suppressed": true });
    for (list, holding_three, empty) in [
        ("byCategory", "financial_assistance", "domestic_violence"),
        ("byCategory", "financial_assistance", "home_care"),
        ("byAdministration", "SOC", "VOF"),
    ] {
        assert_eq!(
            entry(&s[list], holding_three),
            &withheld(holding_three),
            "{s}"
        );
        assert_eq!(entry(&s[list], empty), &withheld(empty), "{s}");
    }
    assert_eq!(s["total"], 0, "{s}");
}

#[tokio::test]
async fn deflections_of_a_confidential_category_are_withheld_under_five_and_on_the_current_day() {
    let app = spawn_app().await;
    let article = |slug: &'static str| {
        let app = &app;
        async move {
            let answer = app
                .gql(
                    "query($s: String!) { article(slug: $s) { id } }",
                    json!({ "s": slug }),
                )
                .await;
            answer["data"]["article"]["id"].clone()
        }
    };
    let deflect = |id: Value| {
        let app = &app;
        async move {
            let answer = app
                .gql(
                    "mutation($a: ID!) { recordDeflection(articleId: $a) }",
                    json!({ "a": id }),
                )
                .await;
            assert_eq!(answer["data"]["recordDeflection"], true, "{answer}");
        }
    };
    let home_care = article("hemtjanst-trygghetslarm").await;
    let paratransit = article("fardtjanst-ansokan").await;
    let recycling = article("atervinningscentralen-oppettider").await;
    for _ in 0..3 {
        deflect(home_care.clone()).await;
    }
    for _ in 0..5 {
        deflect(paratransit.clone()).await;
    }
    deflect(recycling.clone()).await;
    let yesterday = yesterday_noon();
    move_rows(&app, "deflections", "at", yesterday).await;
    // Today's are not published until the day has ended, however many.
    for _ in 0..5 {
        deflect(home_care.clone()).await;
    }
    let query = "query($f: DateTime!, $t: DateTime!) { stats(from: $f, to: $t) {
        deflections { key count } } }";
    let period = json!({ "f": yesterday - Duration::days(1), "t": Utc::now() });

    let s = app.gql_as(&admin(&app), query, period.clone()).await;
    assert_eq!(
        s["data"]["stats"]["deflections"],
        json!([
            { "key": "paratransit", "count": 5 },
            { "key": "waste_collection", "count": 1 },
        ]),
        "{s}"
    );
    let vof = app
        .gql_as(&app.handler("vof-vera", &["VOF"]), query, period)
        .await;
    assert_eq!(
        vof["data"]["stats"]["deflections"],
        json!([
            { "key": "home_care", "count": 8 },
            { "key": "paratransit", "count": 5 },
        ]),
        "the administration's own handlers see theirs in full: {vof}"
    );
}

#[tokio::test]
async fn requests_in_languages_the_model_does_not_read_are_counted_per_language() {
    let app = spawn_app().await;
    app.submit(json!({ "description": "Latarnia uliczna przed naszym blokiem nie świeci od dwóch tygodni, proszę o naprawę" }))
        .await;
    app.submit(json!({ "description": "Gatlampan på Storgatan är trasig sedan en vecka" }))
        .await;
    let now = Utc::now();
    let answer = app
        .gql_as(
            &admin(&app),
            "query($f: DateTime!, $t: DateTime!) { stats(from: $f, to: $t) { byTextLanguage { key count } } }",
            json!({ "f": now - Duration::hours(1), "t": now + Duration::hours(1) }),
        )
        .await;
    assert_eq!(
        answer["data"]["stats"]["byTextLanguage"],
        json!([{ "key": "pol", "count": 1 }]),
        "{answer}"
    );
}
