//! The reception console in a real browser: Debian's headless chromium driven through
//! chromedriver (WebDriver, with fantoccini), one server per test, as a receptionist or hub staff
//! member would use it with the keyboard, with JavaScript on (htmx swaps) and off (full-page
//! posts). Every screen and state is checked with axe-core at WCAG 2.2 AA and saved as a
//! screenshot under `target/console-screenshots/`.
//!
//! These tests run on SQLite only: what the pages do on each backend is already tested on both
//! SQLite and PostgreSQL, server side, by `tests/console`. They fail, never skip, when
//! chromedriver is missing.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, dead_code)]

#[path = "../api/helpers.rs"]
mod helpers;

mod docs;
mod driver;
mod manage;
mod manage_rotas;
mod manage_setup;
mod scenarios;
