//! Core Web Vitals from real visitors. [`rules`] holds the metrics' rules as the reference
//! library applies them, for the browser collector and the server's ratings to share.

pub mod dashboard;
pub mod rules;
