//! The browser tests themselves; see the crate's documentation.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use fantoccini::{Client, Locator};
use futures_util::FutureExt;

use crate::driver;
use crate::support::{TestApp, spawn_app};

const WAIT: Duration = Duration::from_secs(20);

/// Runs `body` with `count` fresh browsers on a fresh server, closing every
/// browser afterwards even when the body fails.
async fn with_browsers<F, Fut>(test: &str, count: usize, body: F)
where
    F: FnOnce(TestApp, Vec<Client>) -> Fut,
    Fut: Future<Output = ()>,
{
    let _turn = driver::TURN.lock().await;
    let Some(driver) = driver::start(test) else {
        return;
    };
    let app = spawn_app().await;
    let mut browsers = Vec::new();
    for _ in 0..count {
        browsers.push(driver.browser().await);
    }
    let outcome = AssertUnwindSafe(body(app, browsers.clone()))
        .catch_unwind()
        .await;
    for browser in browsers {
        let _ = browser.close().await;
    }
    drop(driver);
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

fn url(app: &TestApp, path: &str) -> String {
    app.url(path)
}

async fn css(c: &Client, selector: &str) -> fantoccini::elements::Element {
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css(selector))
        .await
        .unwrap_or_else(|e| panic!("no element {selector}: {e}"))
}

async fn text(c: &Client, selector: &str) -> String {
    css(c, selector).await.text().await.unwrap()
}

/// Waits until the element's text contains `expected`.
async fn wait_text(c: &Client, selector: &str, expected: &str) -> String {
    let started = Instant::now();
    loop {
        let found = match c.find(Locator::Css(selector)).await {
            Ok(element) => element.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if found.contains(expected) {
            return found;
        }
        assert!(
            started.elapsed() < WAIT,
            "{selector} never contained {expected:?}; last: {found:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn fill(c: &Client, selector: &str, value: &str) {
    css(c, selector).await.send_keys(value).await.unwrap();
}

async fn click(c: &Client, selector: &str) {
    css(c, selector).await.click().await.unwrap();
}

/// The id of the focused element ("" when it has none).
async fn focused(c: &Client) -> String {
    let element = c.active_element().await.unwrap();
    element.attr("id").await.unwrap().unwrap_or_default()
}

/// Presses keys one after the other on whatever has focus.
async fn press(c: &Client, keys: &[Key]) {
    let mut actions = KeyActions::new("keyboard".into());
    for key in keys {
        actions = actions
            .then(KeyAction::Down {
                value: (*key).into(),
            })
            .then(KeyAction::Up {
                value: (*key).into(),
            });
    }
    c.perform_actions(actions).await.unwrap();
}

async fn shift_tab(c: &Client) {
    let actions = KeyActions::new("keyboard".into())
        .then(KeyAction::Down {
            value: Key::Shift.into(),
        })
        .then(KeyAction::Down {
            value: Key::Tab.into(),
        })
        .then(KeyAction::Up {
            value: Key::Tab.into(),
        })
        .then(KeyAction::Up {
            value: Key::Shift.into(),
        });
    c.perform_actions(actions).await.unwrap();
}

/// Tab, then the focused element must be `id`.
async fn tab_to(c: &Client, id: &str) {
    press(c, &[Key::Tab]).await;
    assert_eq!(focused(c).await, id, "focus order");
}

/// Types into the focused element.
async fn type_text(c: &Client, value: &str) {
    c.active_element()
        .await
        .unwrap()
        .send_keys(value)
        .await
        .unwrap();
}

/// Logs in on the staff pages with a pasted token.
async fn log_in(app: &TestApp, c: &Client, token: &str) {
    c.goto(&url(app, "/staff")).await.unwrap();
    fill(c, "#token", token).await;
    click(c, "#login").await;
    wait_text(c, "h1", "Start").await;
}

#[tokio::test]
async fn a_request_goes_from_the_form_to_a_handler_and_back_live_and_the_contact_centre_finds_it() {
    with_browsers(
        "resident_handler_contact_centre",
        2,
        |app, browsers| async move {
            let resident = &browsers[0];
            let staff = &browsers[1];

            // The resident fills in the form; the suggestion offers a category.
            resident.goto(&url(&app, "/")).await.unwrap();
            assert_eq!(
                css(resident, "html")
                    .await
                    .attr("lang")
                    .await
                    .unwrap()
                    .as_deref(),
                Some("sv")
            );
            fill(
                resident,
                "#description",
                "Gatlampan utanför Storgatan 12 är trasig",
            )
            .await;
            wait_text(resident, "#suggestion", "Det här låter som: Gatubelysning").await;
            click(resident, "#accept-suggestion").await;
            let chosen = css(resident, "#category")
                .await
                .prop("value")
                .await
                .unwrap();
            assert_eq!(chosen.as_deref(), Some("street_lighting"));
            fill(resident, "#address", "Storgatan 12").await;
            fill(resident, "#phone", "070-123 45 67").await;
            click(resident, "#submit").await;

            // The receipt, then the status page from its link.
            wait_text(resident, "h1", "Tack! Vi har tagit emot ditt ärende").await;
            let reference = text(resident, "#reference").await;
            let code = text(resident, "#tracking-code").await;
            assert!(reference.starts_with("EVI-"), "{reference}");
            assert_eq!(code.len(), 19);
            wait_text(resident, "#next-step", "Tekniska förvaltningen").await;
            click(resident, "#follow").await;
            wait_text(resident, "#status-name", "I kö hos förvaltningen").await;
            css(resident, "#live-status[data-live='connected']").await;
            // The server registers the subscription just after the handshake.
            tokio::time::sleep(Duration::from_millis(1_500)).await;

            // A handler takes the next request of the queue and asks a question.
            let tf = app.handler("tf-anna", &["TF"]);
            log_in(&app, staff, &tf).await;
            staff.goto(&url(&app, "/staff/queues/TF")).await.unwrap();
            wait_text(staff, ".counts", "1 i kö").await;
            click(staff, "#take-next").await;
            wait_text(staff, "h1", &reference).await;
            wait_text(staff, "#notice", "Du har tagit ärendet").await;
            wait_text(staff, "#description", "Gatlampan").await;
            css(staff, "#status-new")
                .await
                .select_by_value("WAITING_FOR_CITIZEN")
                .await
                .unwrap();
            fill(
                staff,
                "#status-message",
                "Vilken stolpe är det, närmast vilket hus?",
            )
            .await;
            click(staff, "#set-status").await;
            wait_text(staff, "#notice", "Statusen är ändrad").await;
            wait_text(staff, "#status-name", "Väntar på invånaren").await;

            // The resident's open page follows, and says so to a screen reader.
            wait_text(resident, "#status-name", "Väntar på svar från dig").await;
            wait_text(
                resident,
                "#request-details",
                "Vilken stolpe är det, närmast vilket hus?",
            )
            .await;
            wait_text(resident, "#announcer", "Ärendet har uppdaterats").await;

            // The reply reopens it.
            fill(
                resident,
                "#body",
                "Stolpen vid busshållplatsen, utanför nummer 12.",
            )
            .await;
            click(resident, "form[action='/status/reply'] button").await;
            wait_text(resident, "#notice", "Ditt svar är skickat").await;
            wait_text(resident, "#status-name", "Handläggs").await;
            wait_text(resident, "#request-details", "Stolpen vid busshållplatsen").await;

            // The contact centre finds it by the phone number.
            click(staff, ".logout button").await;
            wait_text(staff, "#notice", "Du är utloggad").await;
            let kc = app.contact_centre("kc-bertil");
            log_in(&app, staff, &kc).await;
            staff.goto(&url(&app, "/staff/search")).await.unwrap();
            fill(staff, "#phone", "0701234567").await;
            click(staff, "#search").await;
            wait_text(staff, "#results", &reference).await;
            click(staff, "#results a").await;
            wait_text(staff, "h1", &reference).await;
            wait_text(staff, "#status-name", "Handläggs").await;
            wait_text(staff, "#history", "Stolpen vid busshållplatsen").await;
        },
    )
    .await;
}

#[tokio::test]
async fn the_resident_form_works_with_the_keyboard_alone() {
    with_browsers("keyboard_only", 1, |app, browsers| async move {
        let c = &browsers[0];
        c.goto(&url(&app, "/")).await.unwrap();
        css(c, "#description").await;

        // The skip link comes first and leads into the main content.
        press(c, &[Key::Tab]).await;
        let skip = c.active_element().await.unwrap();
        assert_eq!(
            skip.attr("class").await.unwrap().as_deref(),
            Some("skip-link")
        );
        press(c, &[Key::Enter]).await;
        assert_eq!(focused(c).await, "main");
        tab_to(c, "description").await;
        type_text(c, "Gatlampan utanför Storgatan 12 är trasig sedan en vecka").await;

        // The suggestion is the next stop; Space takes it.
        css(c, "#accept-suggestion").await;
        tab_to(c, "accept-suggestion").await;
        press(c, &[Key::Space]).await;
        assert_eq!(focused(c).await, "category");
        let chosen = css(c, "#category").await.prop("value").await.unwrap();
        assert_eq!(chosen.as_deref(), Some("street_lighting"));
        wait_text(c, "#suggestion", "Kategorin är vald: Gatubelysning").await;

        // Articles that may answer the text come next, each a closed
        // <details> whose summary takes focus; then the address.
        css(c, "#answer-0").await;
        loop {
            press(c, &[Key::Tab]).await;
            let at = focused(c).await;
            if at == "address" {
                break;
            }
            assert!(at.starts_with("answer-"), "focus order: {at}");
        }
        type_text(c, "Storgatan 12").await;
        tab_to(c, "use-position").await;
        tab_to(c, "name").await;
        tab_to(c, "email").await;
        type_text(c, "anna@example.se").await;
        tab_to(c, "phone").await;
        tab_to(c, "protected").await;
        shift_tab(c).await;
        assert_eq!(focused(c).await, "phone", "Shift+Tab goes back");
        tab_to(c, "protected").await;
        let checked = || async { css(c, "#protected").await.prop("checked").await.unwrap() };
        press(c, &[Key::Space]).await;
        assert_eq!(checked().await.as_deref(), Some("true"));
        press(c, &[Key::Space]).await;
        assert_eq!(checked().await.as_deref(), Some("false"));
        tab_to(c, "submit").await;

        // Focus is visible: an outline on the focused button.
        let outline = css(c, "#submit")
            .await
            .css_value("outline-style")
            .await
            .unwrap();
        assert_eq!(outline, "solid", "visible focus");

        press(c, &[Key::Enter]).await;
        wait_text(c, "h1", "Tack! Vi har tagit emot ditt ärende").await;
        assert!(text(c, "#reference").await.starts_with("EVI-"));
    })
    .await;
}

#[tokio::test]
async fn an_empty_description_brings_a_focused_error_summary_linking_to_the_field() {
    with_browsers("error_summary", 1, |app, browsers| async move {
        let c = &browsers[0];
        c.goto(&url(&app, "/")).await.unwrap();
        fill(c, "#email", "anna@example.se").await;
        click(c, "#submit").await;

        let summary = css(c, "#error-summary").await;
        assert_eq!(
            summary.attr("role").await.unwrap().as_deref(),
            Some("alert")
        );
        assert_eq!(
            focused(c).await,
            "error-summary",
            "focus moves to the summary"
        );
        assert!(c.title().await.unwrap().starts_with("Fel: "));
        let link = css(c, "#error-summary a").await;
        assert_eq!(
            link.attr("href").await.unwrap().as_deref(),
            Some("#description")
        );
        assert_eq!(link.text().await.unwrap(), "Skriv vad ärendet gäller.");
        let described = css(c, "#description")
            .await
            .attr("aria-describedby")
            .await
            .unwrap()
            .unwrap_or_default();
        assert!(described.contains("description-error"), "{described}");
        let kept = css(c, "#email").await.prop("value").await.unwrap();
        assert_eq!(kept.as_deref(), Some("anna@example.se"), "values kept");

        // The link leads to the field, by keyboard.
        press(c, &[Key::Tab]).await;
        let active = c.active_element().await.unwrap();
        assert_eq!(
            active.attr("href").await.unwrap().as_deref(),
            Some("#description")
        );
        press(c, &[Key::Enter]).await;
        assert_eq!(focused(c).await, "description");
        type_text(c, "Soptunnan har inte tömts på två veckor").await;
        click(c, "#submit").await;
        wait_text(c, "h1", "Tack! Vi har tagit emot ditt ärende").await;
    })
    .await;
}

#[tokio::test]
async fn pages_reflow_into_one_column_at_400_percent_zoom() {
    with_browsers("reflow", 1, |app, browsers| async move {
        let c = &browsers[0];
        let submitted = app
            .submit(serde_json::json!({
                "description": "Gatlampan utanför Storgatan 12 är trasig",
                "contact": { "email": "anna.med.en.mycket.lang.adress@exempel.example.se" },
                "location": { "address": "Storgatan 12" }
            }))
            .await;
        let reference = submitted["request"]["reference"]
            .as_str()
            .unwrap()
            .to_owned();
        let code = submitted["trackingCode"].as_str().unwrap().to_owned();
        log_in(&app, c, &app.handler("tf-anna", &["TF"])).await;

        // 1280 CSS pixels at 400 % zoom leave 320 (WCAG 2.1, 1.4.10).
        c.set_window_size(320, 800).await.unwrap();
        let width = c
            .execute("return window.innerWidth;", vec![])
            .await
            .unwrap();
        assert!(width.as_u64().unwrap() <= 400, "viewport {width}");
        for path in [
            "/".to_owned(),
            format!("/status?reference={reference}&code={code}"),
            "/tillganglighet".to_owned(),
            "/staff/queues/TF".to_owned(),
            format!("/staff/requests/{reference}"),
        ] {
            c.goto(&url(&app, &path)).await.unwrap();
            css(c, "h1").await;
            let widths = c
                .execute(
                    "return [document.documentElement.scrollWidth, window.innerWidth];",
                    vec![],
                )
                .await
                .unwrap();
            let (scroll, inner) = (widths[0].as_u64().unwrap(), widths[1].as_u64().unwrap());
            assert!(
                scroll <= inner,
                "{path} scrolls sideways at 320 px: {scroll} > {inner}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn a_resident_typing_a_common_question_sees_the_answer_and_can_say_it_helped() {
    with_browsers("knowledge_answers", 1, |app, browsers| async move {
        let c = &browsers[0];
        c.goto(&url(&app, "/")).await.unwrap();
        fill(c, "#description", "när har återvinningscentralen öppet").await;
        wait_text(c, "#kb-answers h2", "Kanske hittar du svaret här").await;
        wait_text(c, "#answer-0", "återvinningscentralen").await;
        click(c, "#answer-0").await;
        wait_text(c, ".kb-article[open]", "Industrivägen").await;
        click(c, "#answer-0-action").await;
        wait_text(c, ".kb-thanks", "Tack!").await;
        assert_eq!(app.count("deflections").await, 1);
        assert_eq!(app.count("requests").await, 0, "no request was created");
    })
    .await;
}

#[tokio::test]
async fn a_resident_describing_a_fire_is_told_to_call_112_while_typing() {
    with_browsers("emergency_while_typing", 1, |app, browsers| async move {
        let c = &browsers[0];
        c.goto(&url(&app, "/")).await.unwrap();
        assert_eq!(
            text(c, "#emergency-live").await,
            "",
            "nothing before typing"
        );
        fill(
            c,
            "#description",
            "Det kommer tjock svart rök ur källarfönstret hos grannen",
        )
        .await;
        wait_text(c, "#emergency-live", "ring 112").await;
        assert_eq!(app.count("requests").await, 0, "nothing was sent");
        // The advice goes away when the text no longer describes danger.
        css(c, "#description").await.clear().await.unwrap();
        fill(c, "#description", "Gatlampan utanför huset är trasig").await;
        let deadline = Instant::now() + WAIT;
        while !text(c, "#emergency-live").await.is_empty() {
            assert!(Instant::now() < deadline, "the advice stayed");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
}
