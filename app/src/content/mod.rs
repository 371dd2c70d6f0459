//! The portfolio's content: projects (and, later, posts and the profile).

#[cfg(feature = "ssr")]
pub mod markdown;
pub mod projects;
