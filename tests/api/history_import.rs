//! `envagin import-history`: a municipality's own labelled history is
//! checked whole, stored once, and learned by servers when they start.

use std::path::Path;
use std::process::Output;

use serde_json::json;

use crate::support::{
    TestApp, spawn_app, spawn_app_sharing_database, spawn_app_sharing_database_with,
};

/// A word no shipped text or catalogue entry holds, so that only an
/// imported history can teach where it belongs.
const NEW_WORD: &str = "krumpelbox";
const TARGET: &str = "library";

fn history_csv() -> String {
    let mut csv = history_teaching(NEW_WORD, TARGET);
    csv.push_str("99,home_care,\"Hemtjänsten kom inte i dag\"\n");
    csv
}

/// Forty texts that put `word` in `category`.
fn history_teaching(word: &str, category: &str) -> String {
    let mut csv = String::from("id,category,text\n");
    let sayings = [
        "{w}en vid entrén är full",
        "Kan ni tömma {w}en",
        "{w}arna saknas på övervåningen",
        "Jag hittar ingen {w} när jag ska lämna tillbaka",
        "The {w} at the entrance is broken",
        "{w}en tar inte emot något",
        "Var står {w}en nu",
        "{w} trasig, lucka sitter fast",
    ];
    for (i, saying) in sayings.iter().cycle().take(40).enumerate() {
        let text = saying.replace("{w}", word);
        csv.push_str(&format!("{i},{category},\"{text} ({i})\"\n"));
    }
    csv
}

/// Runs `envagin import-history` on the app's database, off the test's
/// runtime: the server in this process must go on answering (and finish
/// its own transactions) while the command waits for the database.
async fn import(app: &TestApp, dir: &Path, name: &str, content: &str, extra: &[&str]) -> Output {
    let path = dir.join(name);
    std::fs::write(&path, content).expect("writes the export");
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_envagin"));
    command
        .arg("import-history")
        .arg(&path)
        .args(extra)
        .env("ENVAGIN_DATABASE_URL", &app.database_url)
        .env("ENVAGIN_DATA_DIR", dir);
    tokio::task::spawn_blocking(move || command.output().expect("the command runs"))
        .await
        .expect("the command was waited for")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

async fn best_category(app: &TestApp, text: &str) -> String {
    let answer = app
        .gql(
            "query($t: String!) { classify(text: $t, first: 1) { category } }",
            json!({ "t": text }),
        )
        .await;
    answer["data"]["classify"][0]["category"]
        .as_str()
        .unwrap_or_else(|| panic!("a category: {answer}"))
        .to_owned()
}

const PROBE: &str = "Krumpelboxen fungerar inte";

#[tokio::test]
async fn an_imported_history_teaches_servers_started_afterwards_and_is_stored_once() {
    let app = spawn_app().await;
    let dir = tempfile::TempDir::new().expect("temp dir");
    assert_ne!(
        best_category(&app, PROBE).await,
        TARGET,
        "nothing taught it yet"
    );

    let first = import(&app, dir.path(), "history.csv", &history_csv(), &[]).await;
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(
        stdout(&first).contains("40 texts to learn from; 1 in confidential categories left out"),
        "{}",
        stdout(&first)
    );
    assert!(
        stdout(&first).contains("stored 40 new, 0 already"),
        "{}",
        stdout(&first)
    );

    let restarted = spawn_app_sharing_database(&app).await;
    assert_eq!(best_category(&restarted, PROBE).await, TARGET);

    let again = import(&app, dir.path(), "history.csv", &history_csv(), &[]).await;
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stdout(&again).contains("stored 0 new, 40 already"),
        "{}",
        stdout(&again)
    );
}

#[tokio::test]
async fn a_file_with_any_bad_row_imports_nothing_and_names_every_problem() {
    let app = spawn_app().await;
    let dir = tempfile::TempDir::new().expect("temp dir");
    let mut content = history_csv();
    content.push_str("100,libary,\"Boken är borta\"\n101,library,\"\"\n");
    let output = import(&app, dir.path(), "history.csv", &content, &[]).await;
    assert_eq!(
        output.status.code(),
        Some(65),
        "a data error: {}",
        stderr(&output)
    );
    let problems = stderr(&output);
    assert!(
        problems.contains("line 43: category: \"libary\" is not a category"),
        "{problems}"
    );
    assert!(problems.contains("line 44: text: is empty"), "{problems}");
    assert!(
        problems.contains("2 problems; nothing was imported"),
        "{problems}"
    );

    let restarted = spawn_app_sharing_database(&app).await;
    assert_ne!(
        best_category(&restarted, PROBE).await,
        TARGET,
        "the good rows of a bad file were not stored either"
    );
}

#[tokio::test]
async fn a_dry_run_checks_the_file_and_stores_nothing() {
    let app = spawn_app().await;
    let dir = tempfile::TempDir::new().expect("temp dir");
    let jsonl: String = history_csv()
        .lines()
        .skip(1)
        .filter_map(|line| {
            let (_, rest) = line.split_once(',')?;
            let (category, text) = rest.split_once(',')?;
            Some(format!(
                "{}\n",
                json!({ "category": category, "description": text.trim_matches('"') })
            ))
        })
        .collect();
    let output = import(&app, dir.path(), "history.jsonl", &jsonl, &["--dry-run"]).await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("40 texts to learn from"),
        "{}",
        stdout(&output)
    );
    assert!(
        stdout(&output).contains("dry run: nothing stored"),
        "{}",
        stdout(&output)
    );

    let stored = import(&app, dir.path(), "history.jsonl", &jsonl, &[]).await;
    assert!(
        stdout(&stored).contains("stored 40 new, 0 already"),
        "the dry run stored nothing: {}",
        stdout(&stored)
    );
}

#[tokio::test]
async fn servers_train_on_the_newest_texts_up_to_the_configured_number_and_the_import_says_so() {
    let app = spawn_app().await;
    let dir = tempfile::TempDir::new().expect("temp dir");
    let older = import(&app, dir.path(), "older.csv", &history_csv(), &[]).await;
    assert!(older.status.success(), "{}", stderr(&older));
    let newer_word = "snurrepinne";
    let newer = history_teaching(newer_word, "parks_and_playgrounds");
    let newer = import(
        &app,
        dir.path(),
        "newer.csv",
        &newer,
        &["--training-max-texts", "40"],
    )
    .await;
    assert!(newer.status.success(), "{}", stderr(&newer));
    assert!(
        stdout(&newer)
            .contains("80 imported texts are stored in all; servers train on the newest 40"),
        "{}",
        stdout(&newer)
    );

    let capped = spawn_app_sharing_database_with(&app, |c| c.training_max_texts = 40).await;
    assert_eq!(
        best_category(&capped, &format!("{newer_word}n fungerar inte")).await,
        "parks_and_playgrounds"
    );
    assert_ne!(
        best_category(&capped, PROBE).await,
        TARGET,
        "the older import was left out"
    );
}
