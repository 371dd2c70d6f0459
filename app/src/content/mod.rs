//! The portfolio's content: projects (and, later, posts and the profile).

pub mod projects;
