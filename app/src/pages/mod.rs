//! One module per page. Pages are server components: only islands reach the browser.

pub mod about;
pub mod home;
pub mod not_found;
pub mod projects;
pub mod writing;
