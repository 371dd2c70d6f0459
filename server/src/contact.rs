//! `POST /contact`: the contact form's one endpoint, for browsers with and without JavaScript.
//!
//! A form post (no JavaScript) gets a `303` to `/contact/thanks` once the message is committed,
//! or the contact page again, with the visitor's input and a message per field, as `422` (`429`
//! when over the per-address limit). A script asking for `application/json` gets
//! [`ContactReply`] with the same statuses. The honeypot field, if filled, gets the same answer
//! as success and stores nothing.

use crate::AppState;
use crate::client::ClientAddr;
use crate::rate_limit::{self, Limit};
use app::contact::{
    ContactDraft, ContactMessage, ContactReply, ContactSubmission, FieldErrors, HONEYPOT, validate,
};
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use std::time::Duration;

/// Where a form posted without JavaScript lands.
pub const THANKS: &str = "/contact/thanks";

/// What became of a post.
#[derive(Debug)]
enum Outcome {
    /// Committed (or caught by the honeypot, which must look the same).
    Sent,
    Invalid(FieldErrors),
    Limited(Duration),
    Failed,
}

pub async fn submit(
    State(state): State<AppState>,
    client: ClientAddr,
    request: Request,
) -> Response {
    let wants_json = accepts_json(request.headers());
    let (parts, body) = request.into_parts();
    if !is_form(&parts.headers) {
        return refuse(
            wants_json,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Send the form as application/x-www-form-urlencoded.",
        );
    }
    let body = match axum::body::to_bytes(body, state.config.body_limit).await {
        Ok(body) => body,
        Err(_) => {
            return refuse(
                wants_json,
                StatusCode::PAYLOAD_TOO_LARGE,
                "The form is too large.",
            );
        }
    };
    let (draft, honeypot) = read_form(&body);

    let outcome = match validate(&draft) {
        Err(errors) => Outcome::Invalid(errors),
        Ok(_) if !honeypot.trim().is_empty() => {
            tracing::info!(client = %client.0, "contact form honeypot filled; message dropped");
            Outcome::Sent
        }
        Ok(message) => match store(&state, client, &message).await {
            Ok(Ok(())) => Outcome::Sent,
            Ok(Err(retry_after)) => Outcome::Limited(retry_after),
            Err(error) => {
                tracing::error!(%error, "storing a contact message failed");
                Outcome::Failed
            }
        },
    };

    let (status, errors, retry_after) = match outcome {
        Outcome::Sent if wants_json => {
            return axum::Json(ContactReply {
                ok: true,
                ..ContactReply::default()
            })
            .into_response();
        }
        Outcome::Sent => return Redirect::to(THANKS).into_response(),
        Outcome::Invalid(errors) => (StatusCode::UNPROCESSABLE_ENTITY, errors, None),
        Outcome::Limited(after) => (
            StatusCode::TOO_MANY_REQUESTS,
            FieldErrors::form(format!(
                "You've sent several messages in a short time. Please try again in {}.",
                minutes(after)
            )),
            Some(after),
        ),
        Outcome::Failed => (
            StatusCode::SERVICE_UNAVAILABLE,
            FieldErrors::form(
                "Your message could not be saved just now. It is still here; please try again in a moment.",
            ),
            None,
        ),
    };

    let mut response = if wants_json {
        axum::Json(ContactReply { ok: false, errors }).into_response()
    } else {
        crate::render_with(&state, parts, ContactSubmission { draft, errors }).await
    };
    *response.status_mut() = status;
    match retry_after {
        Some(after) => rate_limit::with_retry_after(response, after),
        None => response,
    }
}

/// Counts the post against the sender's limit and stores the message, in one transaction.
async fn store(
    state: &AppState,
    client: ClientAddr,
    message: &ContactMessage,
) -> Result<Result<(), Duration>, sqlx::Error> {
    let limit = Limit {
        bucket: "contact",
        max: state.config.contact_limit_per_hour,
        window: Duration::from_secs(3600),
    };
    let mut tx = state.pool.begin().await?;
    if let Err(retry_after) = rate_limit::hit(&mut tx, limit, &client.limit_key()).await? {
        tx.rollback().await?;
        // The refused hit is not counted either way: the rollback keeps the counter at the limit.
        return Ok(Err(retry_after));
    }
    sqlx::query!(
        "insert into contact_messages (name, email, message) values ($1, $2, $3)",
        message.name,
        message.email,
        message.message,
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// The draft and the honeypot from a urlencoded body; unknown fields are ignored, and a field
/// sent twice keeps its first value.
fn read_form(body: &Bytes) -> (ContactDraft, String) {
    let mut draft = ContactDraft::default();
    let mut honeypot = String::new();
    let mut seen = [false; 4];
    for (key, value) in form_urlencoded::parse(body) {
        let (slot, index) = match key.as_ref() {
            "name" => (&mut draft.name, 0),
            "email" => (&mut draft.email, 1),
            "message" => (&mut draft.message, 2),
            HONEYPOT => (&mut honeypot, 3),
            _ => continue,
        };
        if !seen[index] {
            seen[index] = true;
            *slot = value.into_owned();
        }
    }
    (draft, honeypot)
}

/// Whether the body is declared `application/x-www-form-urlencoded`.
pub(crate) fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// Whether a script sent the request and wants no page back (it asks for JSON).
pub(crate) fn accepts_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"))
}

fn refuse(wants_json: bool, status: StatusCode, message: &str) -> Response {
    if wants_json {
        let reply = ContactReply {
            ok: false,
            errors: FieldErrors::form(message),
        };
        (status, axum::Json(reply)).into_response()
    } else {
        (status, format!("{message}\n")).into_response()
    }
}

/// "1 minute", "25 minutes": how long to wait, rounded up.
fn minutes(after: Duration) -> String {
    match after.as_secs().div_ceil(60).max(1) {
        1 => "a minute".to_owned(),
        n => format!("{n} minutes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_value_of_a_field_wins_and_unknown_fields_are_ignored() {
        let (draft, honeypot) = read_form(&Bytes::from_static(
            b"name=Ada&name=Eve&email=a%40b.co&message=hi+there&website=&extra=1",
        ));
        assert_eq!(draft.name, "Ada");
        assert_eq!(draft.email, "a@b.co");
        assert_eq!(draft.message, "hi there");
        assert_eq!(honeypot, "");
    }

    #[test]
    fn waits_are_said_in_minutes() {
        assert_eq!(minutes(Duration::from_secs(5)), "a minute");
        assert_eq!(minutes(Duration::from_secs(61)), "2 minutes");
    }
}
