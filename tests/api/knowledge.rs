//! The knowledge base: answers for what residents type, articles edited by
//! the system owner with every version kept, anonymous deflections, calls
//! answered and closed on the spot, and the statistics that show it.

use std::time::Duration;

use serde_json::{Value, json};

use crate::smtp_sink::SmtpSink;
use crate::support::{SUBMIT, TestApp, code, spawn_app, spawn_app_with};

const ANSWERS: &str = "query($t: String!, $l: String) { answers(text: $t, language: $l) {
  relevance article { id slug language title bodyHtml } } }";
const ARTICLE: &str = "query($s: String!, $l: String) { article(slug: $s, language: $l) {
  id slug title body bodyHtml published version author versions { version title published author } } }";
const CREATE: &str =
    "mutation($i: ArticleInput!) { createArticle(input: $i) { id version published } }";
const UPDATE: &str = "mutation($id: ID!, $i: ArticleInput!, $v: Int!) { updateArticle(id: $id, input: $i, expectedVersion: $v) { version title } }";
const PUBLISH: &str = "mutation($id: ID!, $p: Boolean!, $v: Int!) { setArticlePublished(id: $id, published: $p, expectedVersion: $v) { version published } }";
const STATS: &str = "query($from: DateTime!, $to: DateTime!) { stats(from: $from, to: $to) {
  firstContactResolution { channel category requests resolved share }
  deflections { key count }
  unansweredTopics { word category requests } } }";

async fn first_slug(app: &TestApp, text: &str, language: Option<&str>) -> Option<String> {
    let answer = app.gql(ANSWERS, json!({ "t": text, "l": language })).await;
    assert!(answer["errors"].is_null(), "{answer}");
    answer["data"]["answers"][0]["article"]["slug"]
        .as_str()
        .map(str::to_owned)
}

fn admin(app: &TestApp) -> String {
    app.token("admin-ada", &["admin"], &[])
}

#[tokio::test]
async fn the_sample_knowledge_base_answers_what_residents_type_with_typos_compounds_and_in_english()
{
    let app = spawn_app().await;
    for (text, language, slug) in [
        (
            "när har återvinningscentralen öppet",
            None,
            "atervinningscentralen-oppettider",
        ),
        (
            "nar har atervinningscentralen oppet?",
            None,
            "atervinningscentralen-oppettider",
        ),
        (
            "öppetider tippen",
            Some("sv"),
            "atervinningscentralen-oppettider",
        ),
        (
            "behöver jag bygglov för en friggebod",
            None,
            "bygglov-friggebod-attefall",
        ),
        (
            "hur ställer jag mitt barn i förskolekön",
            None,
            "forskola-ko",
        ),
        (
            "when is the recycling centre open",
            None,
            "atervinningscentralen-oppettider",
        ),
    ] {
        assert_eq!(
            first_slug(&app, text, language).await.as_deref(),
            Some(slug),
            "{text}"
        );
    }
    let english = app
        .gql(ANSWERS, json!({ "t": "when is the recycling centre open" }))
        .await;
    assert_eq!(english["data"]["answers"][0]["article"]["language"], "en");
    let relevance = english["data"]["answers"][0]["relevance"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&relevance));
    assert_eq!(
        first_slug(&app, "xyzzy qwerty", None).await,
        None,
        "nothing for nonsense"
    );
}

#[tokio::test]
async fn the_system_owner_writes_publishes_and_edits_articles_and_every_version_is_kept() {
    let app = spawn_app().await;
    let input = json!({
        "slug": "hundar-i-parken", "language": "sv", "category": "parks_and_playgrounds",
        "title": "Får hundar vara lösa i parken?",
        "body": "Hundar ska vara **kopplade** i parker. <script>alert('x')</script> [Karta](javascript:alert(1))",
        "keywords": ["hund", "koppel", "hundrastgård"],
    });
    // Only the system owner edits.
    let handler = app.handler("tf-bertil", &["TF"]);
    let refused = app.gql_as(&handler, CREATE, json!({ "i": input })).await;
    assert_eq!(code(&refused), "FORBIDDEN", "{refused}");
    assert_eq!(
        code(&app.gql(CREATE, json!({ "i": input })).await),
        "UNAUTHENTICATED"
    );

    let admin = admin(&app);
    let created = app.gql_as(&admin, CREATE, json!({ "i": input })).await;
    let id = created["data"]["createArticle"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(created["data"]["createArticle"]["published"], false);
    // A draft is nobody's answer and nobody's page but the owner's.
    let lookup = json!({ "s": "hundar-i-parken" });
    assert!(app.gql(ARTICLE, lookup.clone()).await["data"]["article"].is_null());
    assert_eq!(
        first_slug(&app, "får hunden vara lös i parken", None).await,
        None
    );

    let published = app
        .gql_as(&admin, PUBLISH, json!({ "id": id, "p": true, "v": 1 }))
        .await;
    assert_eq!(
        published["data"]["setArticlePublished"]["version"], 2,
        "{published}"
    );
    assert_eq!(
        first_slug(&app, "får hunden vara lös i parken", None)
            .await
            .as_deref(),
        Some("hundar-i-parken")
    );
    let public = app.gql(ARTICLE, lookup.clone()).await;
    let article = &public["data"]["article"];
    let html = article["bodyHtml"].as_str().unwrap();
    assert!(html.contains("<strong>kopplade</strong>"), "{html}");
    assert!(
        !html.contains("<script>") && html.contains("&lt;script&gt;"),
        "{html}"
    );
    assert!(!html.contains("javascript:"), "{html}");
    assert!(
        article["author"].is_null(),
        "editors are not shown to the public"
    );

    let mut edited = input.clone();
    edited["title"] = json!("Hundar i parker och på lekplatser");
    let stale = app
        .gql_as(&admin, UPDATE, json!({ "id": id, "i": edited, "v": 1 }))
        .await;
    assert_eq!(code(&stale), "CONFLICT", "{stale}");
    let saved = app
        .gql_as(&admin, UPDATE, json!({ "id": id, "i": edited, "v": 2 }))
        .await;
    assert_eq!(saved["data"]["updateArticle"]["version"], 3, "{saved}");

    let history = app.gql_as(&admin, ARTICLE, lookup).await;
    let versions = history["data"]["article"]["versions"].as_array().unwrap();
    let titles: Vec<&str> = versions
        .iter()
        .map(|v| v["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        [
            "Får hundar vara lösa i parken?",
            "Får hundar vara lösa i parken?",
            "Hundar i parker och på lekplatser"
        ]
    );
    assert_eq!(versions[0]["published"], false);
    assert_eq!(versions[1]["published"], true);
    assert_eq!(versions[2]["author"], "Test admin-ada");

    let unpublished = app
        .gql_as(&admin, PUBLISH, json!({ "id": id, "p": false, "v": 3 }))
        .await;
    assert!(unpublished["errors"].is_null(), "{unpublished}");
    assert_eq!(
        first_slug(&app, "får hunden vara lös i parken", None).await,
        None
    );
}

#[tokio::test]
async fn an_article_with_broken_fields_is_refused_with_every_field_named() {
    let app = spawn_app().await;
    let admin = admin(&app);
    let answer = app
        .gql_as(
            &admin,
            CREATE,
            json!({ "i": { "slug": "Inte OK", "language": "de", "category": "nope", "title": "", "body": "" } }),
        )
        .await;
    assert_eq!(code(&answer), "BAD_USER_INPUT", "{answer}");
    let text = answer.to_string();
    for field in ["slug", "language", "category", "title", "body"] {
        assert!(text.contains(&format!("\"{field}\"")), "{field} in {text}");
    }
    assert_eq!(app.count("articles").await, 69, "only the sample");
}

#[tokio::test]
async fn a_deflection_is_counted_without_anything_about_the_resident() {
    let app = spawn_app().await;
    let answer = app
        .gql(
            ANSWERS,
            json!({ "t": "när har återvinningscentralen öppet" }),
        )
        .await;
    let id = answer["data"]["answers"][0]["article"]["id"].clone();
    let counted = app
        .gql(
            "mutation($a: ID!) { recordDeflection(articleId: $a) }",
            json!({ "a": id }),
        )
        .await;
    assert_eq!(counted["data"]["recordDeflection"], true, "{counted}");
    assert_eq!(app.count("deflections").await, 1);
    assert_eq!(app.count("requests").await, 0, "no request is created");
    // The row holds the article, its category, the language and the time:
    // no address, no text, no identity.
    let db = app.db().await;
    use sea_orm::ConnectionTrait;
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT * FROM deflections",
        ))
        .await
        .unwrap()
        .unwrap();
    let mut columns = row.column_names();
    columns.sort();
    assert_eq!(
        columns,
        ["article_id", "at", "category_code", "id", "language"]
    );
    let unknown = app
        .gql(
            "mutation { recordDeflection(articleId: \"999999\") }",
            json!({}),
        )
        .await;
    assert_eq!(code(&unknown), "NOT_FOUND");
}

#[tokio::test]
async fn a_call_answered_on_the_spot_is_registered_closed_with_its_answer_and_the_resident_gets_it()
{
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = spawn_app_with(move |c| {
        c.smtp_url = Some(url);
        c.outbox_poll_ms = 50;
    })
    .await;
    let agent = app.contact_centre("kc-anna");
    let input = json!({
        "description": "Ringer och undrar när återvinningscentralen har öppet på lördag",
        "channel": "PHONE",
        "categoryHint": "waste_collection",
        "contact": { "email": "anna@example.se" },
        "answeredOnContact": {
            "answer": "Återvinningscentralen har öppet lördagar 9–15.",
            "articles": ["atervinningscentralen-oppettider"],
        },
    });
    let registered = app.gql_as(&agent, SUBMIT, json!({ "input": input })).await;
    assert!(registered["errors"].is_null(), "{registered}");
    let request = &registered["data"]["submitRequest"]["request"];
    assert_eq!(request["status"], "CLOSED");
    assert_eq!(request["category"], "waste_collection");
    let history = request["history"].as_array().unwrap();
    assert_eq!(history.len(), 2, "{history:?}");
    assert_eq!(history[1]["status"], "CLOSED");
    assert_eq!(
        history[1]["message"],
        "Återvinningscentralen har öppet lördagar 9–15."
    );

    let mails = sink.wait_for(1, Duration::from_secs(20)).await;
    let letter = mail_parser::MessageParser::default()
        .parse(mails[0].data.as_bytes())
        .unwrap();
    let text = letter.body_text(0).unwrap();
    assert!(text.contains("lördagar 9–15"), "{text}");

    // The articles used are on record for the agents.
    let full = app
        .gql_as(
            &agent,
            "query($r: String!) { requestByReference(reference: $r) { history { kind status note actor { id } } } }",
            json!({ "r": request["reference"] }),
        )
        .await;
    let closing = &full["data"]["requestByReference"]["history"][1];
    assert_eq!(closing["actor"]["id"], "kc-anna");

    // Only for staff registering a call, visit, e-mail or letter.
    let mut from_web = input.clone();
    from_web["channel"] = json!("WEB");
    let refused = app.gql(SUBMIT, json!({ "input": from_web })).await;
    assert_eq!(code(&refused), "BAD_USER_INPUT", "{refused}");
}

#[tokio::test]
async fn statistics_show_first_contact_resolution_deflections_and_what_no_article_answers() {
    let app = spawn_app().await;
    let agent = app.contact_centre("kc-anna");
    let phone = |answered: bool, text: &str| {
        let mut input =
            json!({ "description": text, "channel": "PHONE", "categoryHint": "waste_collection" });
        if answered {
            input["answeredOnContact"] = json!({ "answer": "Vi har öppet lördagar 9–15." });
        }
        json!({ "input": input })
    };
    for answered in [true, true, false] {
        let answer = app
            .gql_as(
                &agent,
                SUBMIT,
                phone(answered, "Soptunnan har inte tömts på Storgatan"),
            )
            .await;
        assert!(answer["errors"].is_null(), "{answer}");
    }
    for text in [
        "Grannens hund skäller hela nätterna",
        "En hund skäller oavbrutet i radhuset bredvid",
        "Hundskall varje natt från grannens trädgård, hunden skäller",
    ] {
        app.submit(json!({ "description": text })).await;
    }
    let article = app
        .gql(
            ANSWERS,
            json!({ "t": "när har återvinningscentralen öppet" }),
        )
        .await["data"]["answers"][0]["article"]["id"]
        .clone();
    app.gql(
        "mutation($a: ID!) { recordDeflection(articleId: $a) }",
        json!({ "a": article }),
    )
    .await;

    let now = chrono::Utc::now();
    let period =
        json!({ "from": now - chrono::Duration::days(1), "to": now + chrono::Duration::days(1) });
    let stats = app.gql_as(&admin(&app), STATS, period).await;
    assert!(stats["errors"].is_null(), "{stats}");
    let s = &stats["data"]["stats"];
    let phone_waste = s["firstContactResolution"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["channel"] == "PHONE" && r["category"] == "waste_collection")
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(phone_waste["requests"], 3, "{s}");
    assert_eq!(phone_waste["resolved"], 2);
    assert!((phone_waste["share"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-9);
    assert_eq!(
        s["deflections"],
        json!([{ "key": "waste_collection", "count": 1 }])
    );
    let topics = s["unansweredTopics"].as_array().unwrap();
    assert!(
        topics.iter().any(
            |t| t["word"].as_str().is_some_and(|w| w.starts_with("hund"))
                && t["requests"].as_u64() >= Some(2)
        ),
        "the dogs nobody has written about: {topics:?}"
    );
    assert!(
        !topics
            .iter()
            .any(|t| t["word"].as_str().is_some_and(|w| w.starts_with("sopt"))),
        "what an article answers is not a gap: {topics:?}"
    );
}
