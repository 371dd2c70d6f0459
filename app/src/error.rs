//! The one error type that crosses the server-function boundary.
//!
//! Server functions return [`AppError`]; it travels to the browser as JSON through Leptos 0.8's
//! [`FromServerFnError`], so the UI matches on variants instead of parsing strings. Database and
//! internal failures are logged once, on the server, where they happen, and reach the client only
//! as [`AppError::Internal`]: driver text never leaves the process.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// What went wrong, in terms a visitor or the owner can act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// The thing asked for does not exist (or is not visible to this visitor).
    #[error("not found")]
    NotFound,
    /// An input was refused; `field` names the form field so the UI can show it in place.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// Only the signed-in owner may do this.
    #[error("sign in first: this is for the site's owner")]
    Unauthorized,
    /// Something failed on the server; the details are in the server's log, not here.
    #[error("something went wrong on our side; please try again")]
    Internal,
    /// The server-function machinery itself failed (network, encoding, unknown function).
    #[error("{0}")]
    ServerFn(ServerFnErrorErr),
}

impl AppError {
    /// The HTTP status this error is answered with.
    pub fn status_code(&self) -> u16 {
        match self {
            Self::NotFound => 404,
            Self::Unauthorized => 401,
            Self::Invalid { .. } => 400,
            Self::Internal => 500,
            Self::ServerFn(ServerFnErrorErr::Args(_) | ServerFnErrorErr::Deserialization(_)) => 400,
            Self::ServerFn(_) => 500,
        }
    }

    /// A field-level validation error.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        Self::ServerFn(value)
    }
}

#[cfg(feature = "ssr")]
impl From<sqlx::Error> for AppError {
    /// Logs the driver error once, here at the boundary, and hides it from the client.
    fn from(error: sqlx::Error) -> Self {
        match error {
            sqlx::Error::RowNotFound => Self::NotFound,
            error => {
                tracing::error!(%error, "database error");
                Self::Internal
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_carry_no_detail() {
        let shown = AppError::Internal.to_string();
        assert!(!shown.contains("sql"), "{shown}");
        assert_eq!(AppError::Internal.status_code(), 500);
    }

    #[test]
    fn round_trips_through_the_wire_encoding() {
        let error = AppError::invalid("slug", "must be lowercase");
        let bytes = error.ser();
        assert_eq!(AppError::de(bytes), error);
        assert_eq!(error.status_code(), 400);
    }
}
