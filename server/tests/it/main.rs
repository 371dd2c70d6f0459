//! The server's integration tests, compiled as one test binary. Each test binary links the whole
//! server, app and dependencies (about 140 MB without debug info), so one binary instead of
//! fourteen keeps the build about 2 GB smaller and links once instead of fourteen times.
//!
//! Each module drives the real router (or the real `folio` binary) against a real PostgreSQL:
//! every `#[sqlx::test]` gets a fresh, migrated database of its own.

mod common;

mod archive;
mod config_drift;
mod contact;
mod editor;
mod embedded;
mod feeds;
mod http;
mod media;
mod owner;
mod page_cache;
mod seed;
mod statics;
mod vitals;
mod vitals_dashboard;
