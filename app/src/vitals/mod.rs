//! Core Web Vitals from real visitors. [`rules`] holds the metrics' rules as the reference
//! library applies them, for the browser collector (`collect`) and the server's ratings to
//! share; [`dashboard`] is the owner's view of what was measured.

pub mod bins;
#[cfg(feature = "hydrate")]
pub mod collect;
pub mod dashboard;
pub mod rules;

/// The `<meta name>` that asks visitors' browsers to measure, with the share of page views to
/// measure (in percent) as its content. Rendered for visitors only, so the owner's own visits
/// are never measured.
pub const SAMPLE_META: &str = "folio-vitals";
