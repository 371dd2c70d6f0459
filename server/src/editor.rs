//! The owner's editing forms: save (with preview, publish, unpublish, schedule), create,
//! duplicate, delete, move, restore and undelete. The SQL and the rules are in
//! `app::editor::store`; this is the HTTP around them.
//!
//! Every handler answers `401` without the owner's session (the same-origin check has already
//! run) and takes a plain urlencoded form. A change is answered with a redirect (303) once
//! committed; a refused one gets its page again: `422` with a message per field, or `409` with
//! the version saved meanwhile beside the owner's own text. Nothing is changed by a refused
//! request.

use crate::AppState;
use crate::auth::{Form, read_owner_form, unavailable};
use app::editor::store::{self, Action, ChangeError, Key, Publish};
use app::editor::{Input, Item, Kind, Submission, Values};
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use time::OffsetDateTime;

/// The owner's form about an item of `kind`, or the answer that refuses it.
async fn item_form(
    state: &AppState,
    kind: &str,
    request: Request,
) -> Result<(Kind, Form, axum::http::request::Parts), Response> {
    let (form, parts) = read_owner_form(state, request).await?;
    let kind = Kind::parse(kind).ok_or_else(no_such_kind)?;
    Ok((kind, form, parts))
}

fn no_such_kind() -> Response {
    (
        StatusCode::NOT_FOUND,
        "There is no such kind of content: use profile, project or post.\n",
    )
        .into_response()
}

fn bad_request(message: &str) -> Response {
    (StatusCode::BAD_REQUEST, format!("{message}\n")).into_response()
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        "That item does not exist (any more); nothing was changed.\n",
    )
        .into_response()
}

fn db_failed(error: &sqlx::Error, what: &'static str) -> Response {
    tracing::error!(%error, what, "an edit failed");
    unavailable()
}

/// The version a form says it started from.
fn version_field(form: &Form, name: &str) -> Option<i32> {
    form.get(name)
        .trim()
        .parse::<i32>()
        .ok()
        .filter(|v| *v >= 0)
}

fn no_version() -> Response {
    bad_request("The form is missing the version it was loaded at.")
}

/// A `datetime-local` value (`2026-12-24T09:00`, optionally with seconds), read as UTC.
pub fn parse_publish_at(value: &str) -> Option<OffsetDateTime> {
    let value = value.trim();
    let with_seconds = if value.len() == 16 {
        format!("{value}:00Z")
    } else {
        format!("{value}Z")
    };
    OffsetDateTime::parse(
        &with_seconds,
        &time::format_description::well_known::Rfc3339,
    )
    .ok()
}

/// Where the profile's editor returns to: the page it was opened on.
fn profile_back(form: &Form) -> &'static str {
    if form.get("back") == "/about" {
        "/about"
    } else {
        "/"
    }
}

/// Where visitors see `item`, with `?saved` so the owner sees it was.
fn saved_at(item: &Item, back: &'static str) -> Response {
    let path = match item.kind {
        Kind::Profile => back.to_owned(),
        _ => item.public_path(),
    };
    Redirect::to(&format!("{path}?saved")).into_response()
}

/// The editor of the item `(kind, id)` again, on its page as stored now, showing
/// `submission`. (Only a refused or previewed save needs the stored item, so only they load it.)
async fn editor_again(
    state: &AppState,
    parts: axum::http::request::Parts,
    (kind, id): (Kind, i64),
    back: &'static str,
    submission: Submission,
    status: StatusCode,
) -> Response {
    match store::load(&state.pool, kind, Key::Id(id)).await {
        Ok(Some(stored)) => {
            crate::render_again(state, parts, &page_of(&stored, back), submission, status).await
        }
        Ok(None) => not_found(),
        Err(error) => db_failed(&error, "load"),
    }
}

/// The page an item's editor is on.
fn page_of(item: &Item, back: &'static str) -> String {
    match item.kind {
        Kind::Profile => back.to_owned(),
        _ => item.public_path(),
    }
}

/// The markdown field of `kind` rendered as visitors will see it, for the preview.
async fn preview(state: &AppState, kind: Kind, values: &Values) -> Option<(String, String)> {
    let spec = kind.fields().iter().find(|s| s.input == Input::Markdown)?;
    let text = values.get(spec.name).map_or("", String::as_str);
    let sizes = app::content::image_sizes(&state.pool, text)
        .await
        .unwrap_or_default();
    let html = app::content::markdown::render_sized(text, &sizes).html;
    Some((spec.label.to_owned(), html))
}

/// `POST /owner/preview/{kind}`: `text`, the kind's Markdown field, rendered exactly as
/// visitors will see it (an HTML fragment, sanitized), for the editor's live preview. Changes
/// nothing.
pub async fn live_preview(
    State(state): State<AppState>,
    Path(kind): Path<String>,
    request: Request,
) -> Response {
    let (kind, form, _) = match item_form(&state, &kind, request).await {
        Ok(read) => read,
        Err(refused) => return refused,
    };
    let Some(spec) = kind.fields().iter().find(|s| s.input == Input::Markdown) else {
        return bad_request("This kind of content has no Markdown to preview.");
    };
    let text = form.get("text");
    if text.chars().count() > spec.max {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("Keep it to {} characters or fewer.\n", spec.max),
        )
            .into_response();
    }
    let values = Values::from([(spec.name.to_owned(), text.to_owned())]);
    let html = preview(&state, kind, &values)
        .await
        .map(|(_, html)| html)
        .unwrap_or_default();
    (
        [
            (axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (axum::http::header::CACHE_CONTROL, "private, no-store"),
        ],
        html,
    )
        .into_response()
}

/// `POST /owner/edit/{kind}/{id}`: the editor's form. `intent` is save, preview, publish,
/// unpublish or schedule (with `publish_at`); `version` is the version the form was loaded at.
pub async fn save(
    State(state): State<AppState>,
    Path((kind, id)): Path<(String, i64)>,
    request: Request,
) -> Response {
    let (kind, form, parts) = match item_form(&state, &kind, request).await {
        Ok(read) => read,
        Err(refused) => return refused,
    };
    let Some(base) = version_field(&form, "version") else {
        return no_version();
    };
    let back = profile_back(&form);
    // Problems the form itself has, before the values are checked.
    let mut form_errors = Vec::new();
    let values: Values = kind
        .fields()
        .iter()
        .map(|spec| {
            let value = match spec.input {
                Input::Check if form.has(spec.name) => "on".to_owned(),
                Input::Check => String::new(),
                Input::Timeline => {
                    let (text, problem) = app::editor::timeline_from_form(|name| form.get(name));
                    form_errors.extend(problem.map(|p| (spec.name.to_owned(), p)));
                    text
                }
                _ => form.get(spec.name).to_owned(),
            };
            (spec.name.to_owned(), value)
        })
        .collect();
    let publish_at = form.get("publish_at").trim().to_owned();
    let submission = |errors: Vec<(String, String)>| Submission {
        kind,
        id,
        values: values.clone(),
        errors,
        publish_at: publish_at.clone(),
        conflict: None,
        preview: None,
        summary: None,
    };

    let (publish, action) = match form.get("intent") {
        "save" | "" => (Publish::Keep, Action::Save),
        "preview" => {
            let mut errors = app::editor::validate(kind, &values)
                .err()
                .unwrap_or_default();
            errors.retain(|(name, _)| !form_errors.iter().any(|(n, _)| n == name));
            errors.extend(form_errors);
            let shown = Submission {
                preview: preview(&state, kind, &values).await,
                summary: Some("Preview below; nothing is saved until you save.".to_owned()),
                ..submission(errors)
            };
            return editor_again(&state, parts, (kind, id), back, shown, StatusCode::OK).await;
        }
        "publish" if kind.is_document() => (Publish::Now, Action::Publish),
        "unpublish" if kind.is_document() => (Publish::Unpublish, Action::Unpublish),
        "schedule" if kind.is_document() => match parse_publish_at(&publish_at) {
            Some(at) if at > OffsetDateTime::now_utc() => (Publish::At(at), Action::Schedule),
            found => {
                let message = if found.is_some() {
                    "Choose a time to come: this one has passed. (To publish now, use Publish now.)"
                } else {
                    "Give the date and time to publish at, in UTC."
                };
                let refused = submission(vec![("publish_at".to_owned(), message.to_owned())]);
                return editor_again(
                    &state,
                    parts,
                    (kind, id),
                    back,
                    refused,
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await;
            }
        },
        other => {
            return bad_request(&format!(
                "Unknown intent {other:?}: use save, preview, publish, unpublish or schedule."
            ));
        }
    };

    let saved = if form_errors.is_empty() {
        store::save(&state.pool, kind, id, base, &values, publish, action).await
    } else {
        Err(ChangeError::Invalid(form_errors))
    };
    match saved {
        Ok(item) => {
            tracing::info!(
                item.kind = kind.as_str(),
                item.id = id,
                item.version = item.version,
                action = ?action,
                "content saved"
            );
            saved_at(&item, back)
        }
        Err(ChangeError::Invalid(errors)) => {
            editor_again(
                &state,
                parts,
                (kind, id),
                back,
                submission(errors),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(ChangeError::Conflict(theirs)) => {
            tracing::info!(
                item.kind = kind.as_str(),
                item.id = id,
                base,
                newer = theirs.version,
                "stale save refused"
            );
            let page = page_of(&theirs, back);
            let refused = Submission {
                conflict: Some(*theirs),
                ..submission(Vec::new())
            };
            crate::render_again(&state, parts, &page, refused, StatusCode::CONFLICT).await
        }
        Err(ChangeError::NotFound) => not_found(),
        Err(ChangeError::Db(error)) => db_failed(&error, "save"),
    }
}

/// `POST /owner/new/{kind}`: a new draft project or post from its `title`.
pub async fn create(
    State(state): State<AppState>,
    Path(kind): Path<String>,
    request: Request,
) -> Response {
    let (form, parts) = match read_owner_form(&state, request).await {
        Ok(read) => read,
        Err(refused) => return refused,
    };
    let kind = match Kind::parse(&kind) {
        Some(kind) if kind.is_document() => kind,
        Some(_) => return bad_request("The profile always exists: edit it instead."),
        None => return no_such_kind(),
    };
    match store::create(&state.pool, kind, form.get("title")).await {
        Ok(item) => {
            tracing::info!(
                item.kind = kind.as_str(),
                item.id = item.id,
                "content created"
            );
            Redirect::to(&item.edit_path()).into_response()
        }
        Err(ChangeError::Invalid(errors)) => {
            let refused = app::editor::overview::NewRefused {
                kind,
                title: form.get("title").to_owned(),
                error: errors
                    .into_iter()
                    .map(|(_, message)| message)
                    .next()
                    .unwrap_or_default(),
            };
            crate::render_again(
                &state,
                parts,
                "/owner/content",
                refused,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(ChangeError::Db(error)) => db_failed(&error, "create"),
        Err(_) => not_found(),
    }
}

/// `POST /owner/edit/{kind}/{id}/duplicate`: a draft copy, opened in its editor.
pub async fn duplicate(
    State(state): State<AppState>,
    Path((kind, id)): Path<(String, i64)>,
    request: Request,
) -> Response {
    let kind = match item_form(&state, &kind, request).await {
        Ok((kind, _, _)) => kind,
        Err(refused) => return refused,
    };
    match store::duplicate(&state.pool, kind, id).await {
        Ok(copy) => Redirect::to(&copy.edit_path()).into_response(),
        Err(ChangeError::Db(error)) => db_failed(&error, "duplicate"),
        Err(_) => not_found(),
    }
}

/// `POST /owner/edit/{kind}/{id}/delete`: deletes the `version` the owner saw; the content
/// page then offers to undo it.
pub async fn delete(
    State(state): State<AppState>,
    Path((kind, id)): Path<(String, i64)>,
    request: Request,
) -> Response {
    let (kind, form, _) = match item_form(&state, &kind, request).await {
        Ok(read) => read,
        Err(refused) => return refused,
    };
    let Some(base) = version_field(&form, "version") else {
        return no_version();
    };
    match store::delete(&state.pool, kind, id, base).await {
        Ok(_) => {
            tracing::info!(item.kind = kind.as_str(), item.id = id, "content deleted");
            Redirect::to(&format!("/owner/content?deleted={}:{id}", kind.as_str()))
                .into_response()
        }
        Err(ChangeError::Conflict(theirs)) => (
            StatusCode::CONFLICT,
            format!(
                "Not deleted: it was changed meanwhile (it is now at version {}). Reload it, check, and delete again.\n",
                theirs.version
            ),
        )
            .into_response(),
        Err(ChangeError::Db(error)) => db_failed(&error, "delete"),
        Err(_) => not_found(),
    }
}

/// `POST /owner/edit/project/{id}/move`: `direction` up or down in the owner's order.
pub async fn move_project(
    State(state): State<AppState>,
    Path((kind, id)): Path<(String, i64)>,
    request: Request,
) -> Response {
    let (form, parts) = match read_owner_form(&state, request).await {
        Ok(read) => read,
        Err(refused) => return refused,
    };
    // The list's script moves by `fetch` and needs no page back; a form post goes back to it.
    let scripted = crate::contact::accepts_json(&parts.headers);
    if kind != "project" {
        return bad_request("Only projects are put in order.");
    }
    let to = match (form.get("direction"), form.get("position")) {
        ("up", _) => store::Move::Up,
        ("down", _) => store::Move::Down,
        ("", position) => match position.trim().parse::<usize>() {
            Ok(at) => store::Move::To(at),
            Err(_) => {
                return bad_request(
                    "Say where to: direction=up or down, or position=N (0 is first).",
                );
            }
        },
        (other, _) => {
            return bad_request(&format!("Unknown direction {other:?}: use up or down."));
        }
    };
    match store::move_project(&state.pool, id, to).await {
        Ok(()) if scripted => StatusCode::NO_CONTENT.into_response(),
        Ok(()) => Redirect::to("/owner/content").into_response(),
        Err(ChangeError::Db(error)) => db_failed(&error, "move"),
        Err(_) => not_found(),
    }
}

/// `POST /owner/history/{kind}/{id}/restore`: `version` restored over `base`, as a new
/// revision. A stale `base` shows the restored text against the newer version, as a save does.
pub async fn restore(
    State(state): State<AppState>,
    Path((kind, id)): Path<(String, i64)>,
    request: Request,
) -> Response {
    let (kind, form, parts) = match item_form(&state, &kind, request).await {
        Ok(read) => read,
        Err(refused) => return refused,
    };
    let (Some(version), Some(base)) = (
        version_field(&form, "version"),
        version_field(&form, "base"),
    ) else {
        return no_version();
    };
    match store::restore(&state.pool, kind, id, version, base).await {
        Ok(item) => {
            tracing::info!(
                item.kind = kind.as_str(),
                item.id = id,
                restored = version,
                "revision restored"
            );
            saved_at(&item, "/")
        }
        Err(ChangeError::Conflict(theirs)) => {
            let values = match store::revision(&state.pool, kind, id, version).await {
                Ok(Some(revision)) => revision.values,
                Ok(None) => return not_found(),
                Err(error) => return db_failed(&error, "restore"),
            };
            let page = page_of(&theirs, "/");
            let refused = Submission {
                kind,
                id,
                values,
                errors: Vec::new(),
                publish_at: String::new(),
                conflict: Some(*theirs),
                preview: None,
                summary: None,
            };
            crate::render_again(&state, parts, &page, refused, StatusCode::CONFLICT).await
        }
        Err(ChangeError::Invalid(errors)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            format!(
                "That version cannot be restored as it is: {}\n",
                errors
                    .into_iter()
                    .map(|(field, message)| format!("{field}: {message}"))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        )
            .into_response(),
        Err(ChangeError::NotFound) => not_found(),
        Err(ChangeError::Db(error)) => db_failed(&error, "restore"),
    }
}

/// `POST /owner/history/{kind}/{id}/undelete`: brings a deleted project or post back.
pub async fn undelete(
    State(state): State<AppState>,
    Path((kind, id)): Path<(String, i64)>,
    request: Request,
) -> Response {
    let kind = match item_form(&state, &kind, request).await {
        Ok((kind, _, _)) => kind,
        Err(refused) => return refused,
    };
    match store::undelete(&state.pool, kind, id).await {
        Ok(item) => {
            tracing::info!(
                item.kind = kind.as_str(),
                item.id = id,
                "content brought back"
            );
            saved_at(&item, "/")
        }
        Err(ChangeError::Invalid(errors)) => (
            StatusCode::CONFLICT,
            format!(
                "It cannot come back as it was: {}\n",
                errors
                    .into_iter()
                    .map(|(_, message)| message)
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
        )
            .into_response(),
        Err(ChangeError::Db(error)) => db_failed(&error, "undelete"),
        Err(_) => not_found(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_times_are_read_as_utc() {
        let at = parse_publish_at("2030-01-02T03:04").expect("minutes");
        assert_eq!(at.unix_timestamp(), 1_893_553_440);
        assert_eq!(
            parse_publish_at("2030-01-02T03:04:05").map(|t| t.unix_timestamp()),
            Some(1_893_553_445)
        );
        for bad in ["", "tomorrow", "2030-13-01T00:00", "2030-01-02"] {
            assert!(parse_publish_at(bad).is_none(), "{bad}");
        }
    }
}
