//! One module per page. Pages are server components: only islands reach the browser.

pub mod home;
pub mod not_found;
