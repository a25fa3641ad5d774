//! End-to-end tests: the real server on port 0, driven over HTTP, on SQLite and on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod helpers;

mod auth;
mod booking;
mod demo;
mod errors;
mod events;
mod ops;
mod paging;
mod reference;
mod reports;
mod rotas;
mod scope;
mod seed;
mod sharing;
mod triage;
