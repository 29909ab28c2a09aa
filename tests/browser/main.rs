//! End-to-end tests of the web pages in headless Chromium, driven over
//! WebDriver (chromedriver, fantoccini) against the real server on a fresh
//! database (SQLite, or PostgreSQL with `ENVAGIN_TEST_DATABASE_URL`):
//! a resident submits and follows a request, a handler works it on the
//! staff pages while the resident's page updates live, the contact centre
//! finds it by phone number; the resident form by keyboard alone, errors
//! included; and reflow at 400 % zoom. The tests live in `web` (so that
//! `cargo test --test browser --test api web` runs them with the API's web
//! tests).

#[allow(dead_code)]
#[path = "../api/support.rs"]
mod support;

mod driver;
mod web;
