use serde_json::json;

use crate::support::{code, field, fresh_database, spawn_app, spawn_app_with, test_config};

const CATALOGUE: &str = r#"{ catalogue {
    administrations { code nameSv nameEn confidential queues { code } categories { code } }
    categories { code name(language: "en") nameSv administration queue defaultPriority ackDueDays resolveDueDays confidential referralAuthority }
} }"#;

#[tokio::test]
async fn the_public_catalogue_lists_every_administration_and_category_of_the_sample() {
    let app = spawn_app().await;
    let answer = app.gql(CATALOGUE, json!({})).await;
    assert!(answer["errors"].is_null(), "{answer}");
    let adms = answer["data"]["catalogue"]["administrations"]
        .as_array()
        .unwrap();
    let codes: Vec<&str> = adms.iter().map(|a| a["code"].as_str().unwrap()).collect();
    assert_eq!(
        codes,
        ["KC", "TF", "SBF", "SOC", "VOF", "BUF", "KFF", "KLK", "EXT"]
    );
    let cats = answer["data"]["catalogue"]["categories"]
        .as_array()
        .unwrap();
    assert_eq!(cats.len(), 34);
    let soc = adms.iter().find(|a| a["code"] == "SOC").unwrap();
    assert_eq!(soc["confidential"], true);
    let kc = adms.iter().find(|a| a["code"] == "KC").unwrap();
    let kc_queues: Vec<&str> = kc["queues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["code"].as_str().unwrap())
        .collect();
    assert!(kc_queues.contains(&"TRIAGE") && kc_queues.contains(&"KC"));
    let lighting = cats
        .iter()
        .find(|c| c["code"] == "street_lighting")
        .unwrap();
    assert_eq!(lighting["administration"], "TF");
    assert_eq!(lighting["nameSv"], "Gatubelysning");
    assert_eq!(lighting["name"], "Street lighting");
    let police = cats.iter().find(|c| c["code"] == "ext_police").unwrap();
    assert_eq!(police["referralAuthority"], "Polisen");
}

#[tokio::test]
async fn the_classify_preview_suggests_the_best_categories() {
    let app = spawn_app().await;
    let answer = app
        .gql(
            r#"{ classify(text: "Vattenläckan på gatan har blivit värre") { category administration confidence } }"#,
            json!({}),
        )
        .await;
    let best = &answer["data"]["classify"][0];
    assert_eq!(best["category"], "water_and_sewage", "{answer}");
    assert_eq!(best["administration"], "TF");
    let confidence = best["confidence"].as_f64().unwrap();
    assert!(confidence > 0.0 && confidence <= 1.0);
    let empty = app
        .gql(r#"{ classify(text: "  ") { category } }"#, json!({}))
        .await;
    assert_eq!(code(&empty), "BAD_USER_INPUT");
    assert_eq!(field(&empty), "text");
}

#[tokio::test]
async fn an_operators_catalogue_file_replaces_the_sample() {
    let dir = tempfile::TempDir::new().unwrap();
    let path = dir.path().join("catalogue.toml");
    let renamed = envagin::domain::catalogue::SAMPLE.replacen(
        "sv = \"Gatubelysning\"",
        "sv = \"Belysning på gator\"",
        1,
    );
    assert_ne!(
        renamed,
        envagin::domain::catalogue::SAMPLE,
        "the sample names street lighting"
    );
    std::fs::write(&path, renamed).unwrap();
    let app = spawn_app_with(|c| c.catalogue = Some(path.clone())).await;
    let answer = app
        .gql(r#"{ catalogue { categories { code nameSv } } }"#, json!({}))
        .await;
    let lighting = answer["data"]["catalogue"]["categories"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "street_lighting")
        .cloned()
        .unwrap();
    assert_eq!(lighting["nameSv"], "Belysning på gator");
}

#[tokio::test]
async fn an_inconsistent_catalogue_file_stops_the_start_with_a_clear_message() {
    let dir = tempfile::TempDir::new().unwrap();
    let path = dir.path().join("catalogue.toml");
    std::fs::write(
        &path,
        envagin::domain::catalogue::SAMPLE.replacen("queue = \"TF\"", "queue = \"NOPE\"", 1),
    )
    .unwrap();
    let url = fresh_database(&dir).await;
    let mut config = test_config(&url, &dir);
    config.catalogue = Some(path);
    let err = envagin::app::App::build(&config)
        .await
        .err()
        .expect("start refused");
    assert!(err.to_string().contains("unknown queue NOPE"), "{err}");
}
