//! End-to-end tests of the web console: the real server on port 0, driven over HTTP as a browser
//! without JavaScript would (full-page posts, cookies, redirects), on SQLite and on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, dead_code)]

#[path = "../api/helpers.rs"]
mod helpers;

mod admin;
mod browser;
mod changes;
mod desk;
mod hub;
mod input;
mod manage;
mod manage_activity;
mod manage_rotas;
mod manage_setup;
mod manage_sharing;
mod offline;
