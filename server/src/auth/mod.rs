//! The owner's account: setup, sign-in, sessions, sign-out, password changes, and the owner's
//! form endpoints.
//!
//! Sessions are tower-sessions records in PostgreSQL under the `__Host-` cookie
//! ([`crate::SESSION_COOKIE`]); only the owner ever has one, so visitors get no cookie. A
//! session holds a [`SignedIn`] record, checked on every request by [`identify`]:
//!
//! - idle timeout: no request for `session_idle` ends it (also the store's own expiry);
//! - absolute timeout: `session_absolute` after signing in it ends, however active;
//! - epoch: a password change or "sign out everywhere" bumps `owner.session_epoch`, which ends
//!   every session signed in under the old one, on whichever instance it next arrives.
//!
//! The id changes at sign-in (no fixation), and sign-out deletes the record and sends
//! `Clear-Site-Data`. Every form here is a plain `POST` (the same-origin check in
//! [`crate::security`] has already run); a refused form gets its page back with messages.

pub mod limits;
pub mod log;
pub mod password;
pub mod setup;

use crate::client::ClientAddr;
use crate::{AppState, render_again};
use app::owner::{Owner, Submitted, safe_next};
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use log::Event;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use time::OffsetDateTime;
use tower_sessions::Session;

/// The session key of the signed-in record.
const SIGNED_IN: &str = "owner";

/// What a signed-in session holds (never the password or anything derived from it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedIn {
    /// `owner.session_epoch` when this session signed in.
    pub epoch: i32,
    /// Unix milliseconds.
    pub signed_in_at: i64,
    pub last_seen: i64,
}

/// Why a session was ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    Idle,
    Absolute,
    /// Signed out elsewhere, or the password changed.
    Superseded,
}

/// The session timeouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub idle: Duration,
    pub absolute: Duration,
}

impl SignedIn {
    /// Whether this session is still good at `now` (unix milliseconds) against the owner's epoch.
    pub fn check(&self, now: i64, epoch: i32, timeouts: Timeouts) -> Result<(), Ended> {
        let secs = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        if self.epoch != epoch {
            Err(Ended::Superseded)
        } else if now.saturating_sub(self.signed_in_at) >= secs(timeouts.absolute) {
            Err(Ended::Absolute)
        } else if now.saturating_sub(self.last_seen) >= secs(timeouts.idle) {
            Err(Ended::Idle)
        } else {
            Ok(())
        }
    }
}

fn unix(now: OffsetDateTime) -> i64 {
    i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// Whether `path` (without its query) is one of the owner's pages: everything under `/owner`,
/// and where the owner signs in or sets the site up.
pub fn is_owner_page(path: &str) -> bool {
    let path = path.strip_prefix('/').unwrap_or(path);
    let path = path.strip_suffix('/').unwrap_or(path);
    let mut segments = path.split('/');
    match segments.next() {
        Some("owner") => true,
        Some("sign-in" | "setup") => segments.next().is_none(),
        _ => false,
    }
}

/// Whether the request carries folio's session cookie at all (visitors never do, and are
/// spared every lookup).
pub fn has_session_cookie(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::COOKIE)
        .iter()
        .any(|v| v.to_str().is_ok_and(|c| c.contains(crate::SESSION_COOKIE)))
}

/// Middleware: finds the signed-in owner (putting [`Owner`] into the request's extensions),
/// ends a session that timed out or was superseded, and keeps every response to the owner out
/// of shared caches.
pub async fn identify(
    State(state): State<std::sync::Arc<AppState>>,
    mut request: Request,
    next: Next,
) -> Response {
    // Visitors never carry the cookie, and files (/pkg, images, feeds) need no owner: both are
    // passed straight on, without so much as an extractor running.
    let path = request.uri().path();
    let is_file =
        path.starts_with("/pkg/") || path.rsplit('/').next().is_some_and(|s| s.contains('.'));
    if is_file || !has_session_cookie(request.headers()) {
        return next.run(request).await;
    }
    let Some(session) = request.extensions().get::<Session>().cloned() else {
        tracing::error!("no session layer around `identify`");
        return next.run(request).await;
    };
    let peer = request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), |c| {
            c.0.ip()
        });
    let client = ClientAddr(state.config.trusted_proxies.client(peer, request.headers()));
    match current(&state, &session, &client, OffsetDateTime::now_utc()).await {
        Ok(Some(owner)) => {
            request.extensions_mut().insert(owner);
        }
        Ok(None) => {}
        Err(error) => tracing::error!(%error, "cannot check the owner's session"),
    }
    let mut response = next.run(request).await;
    response
        .headers_mut()
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("private, no-store"));
    response
}

/// The owner this session belongs to, refreshing its idle clock; ends it if it is no longer good.
async fn current(
    state: &AppState,
    session: &Session,
    client: &ClientAddr,
    now: OffsetDateTime,
) -> Result<Option<Owner>, Box<dyn std::error::Error + Send + Sync>> {
    let Some(mut record) = session.get::<SignedIn>(SIGNED_IN).await? else {
        return Ok(None);
    };
    let Some(owner) = sqlx::query!("select email, session_epoch from owner")
        .fetch_optional(&state.pool)
        .await?
    else {
        session.flush().await?;
        return Ok(None);
    };
    if let Err(ended) = record.check(unix(now), owner.session_epoch, state.timeouts()) {
        session.flush().await?;
        if ended != Ended::Superseded {
            let why = match ended {
                Ended::Idle => "idle timeout",
                _ => "absolute timeout",
            };
            log::record_now(
                &state.pool,
                Event::SessionExpired,
                &client.0.to_string(),
                why,
            )
            .await;
        }
        return Ok(None);
    }
    record.last_seen = unix(now);
    session.insert(SIGNED_IN, record).await?;
    Ok(Some(Owner { email: owner.email }))
}

/// Starts a signed-in session under a new id.
async fn sign_in_session(
    session: &Session,
    epoch: i32,
    now: OffsetDateTime,
) -> Result<(), tower_sessions::session::Error> {
    session.cycle_id().await?;
    session
        .insert(
            SIGNED_IN,
            SignedIn {
                epoch,
                signed_in_at: unix(now),
                last_seen: unix(now),
            },
        )
        .await
}

/// A posted form's fields; a field sent twice keeps its first value.
#[derive(Debug, Default)]
pub(crate) struct Form(Vec<(String, String)>);

impl Form {
    pub(crate) fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// Whether the field was sent at all (an unticked checkbox is not).
    pub(crate) fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(n, _)| n == name)
    }
}

/// Reads a urlencoded form body, refusing anything else.
pub(crate) async fn read_form(
    state: &AppState,
    request: Request,
) -> Result<(Form, axum::http::request::Parts), Response> {
    let (parts, body) = request.into_parts();
    if !crate::contact::is_form(&parts.headers) {
        return Err((
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Send the form as application/x-www-form-urlencoded.\n",
        )
            .into_response());
    }
    let body: Bytes = axum::body::to_bytes(body, state.config.body_limit)
        .await
        .map_err(|_| (StatusCode::PAYLOAD_TOO_LARGE, "The form is too large.\n").into_response())?;
    let mut fields: Vec<(String, String)> = Vec::new();
    for (key, value) in form_urlencoded::parse(&body) {
        if !fields.iter().any(|(k, _)| *k == key) {
            fields.push((key.into_owned(), value.into_owned()));
        }
    }
    Ok((Form(fields), parts))
}

/// An owner-only form, read: `401` without the owner's session, else as [`read_form`].
pub(crate) async fn read_owner_form(
    state: &AppState,
    request: Request,
) -> Result<(Form, axum::http::request::Parts), Response> {
    if request.extensions().get::<Owner>().is_none() {
        return Err(unauthorized());
    }
    read_form(state, request).await
}

pub(crate) fn unavailable() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "The database is unavailable just now; nothing was changed. Please try again in a moment.\n",
    )
        .into_response()
}

/// The answer to an owner-only route without the owner's session.
pub(crate) fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        "Sign in first: this needs the owner's session.\n",
    )
        .into_response()
}

/// "a minute", "5 minutes", "1 hour".
pub fn wait_text(wait: Duration) -> String {
    match wait.as_secs().div_ceil(60).max(1) {
        1 => "a minute".to_owned(),
        60 => "an hour".to_owned(),
        n => format!("{n} minutes"),
    }
}

/// `POST /sign-in`: email, password, next.
pub async fn sign_in(
    State(state): State<AppState>,
    session: Session,
    client: ClientAddr,
    request: Request,
) -> Response {
    let (form, parts) = match read_form(&state, request).await {
        Ok(read) => read,
        Err(refused) => return refused,
    };
    let email = form.get("email").trim().to_owned();
    let next = safe_next(Some(form.get("next")));
    let refuse = |summary: String, errors: Vec<(&'static str, String)>| Submitted {
        form: "sign-in",
        values: vec![("email", email.clone()), ("next", next.clone())],
        errors,
        summary: Some(summary),
    };
    if email.is_empty() || form.get("password").is_empty() {
        let mut errors = Vec::new();
        if email.is_empty() {
            errors.push(("email", "Enter your email.".to_owned()));
        }
        if form.get("password").is_empty() {
            errors.push(("password", "Enter your password.".to_owned()));
        }
        let submitted = Submitted {
            summary: None,
            ..refuse(String::new(), errors)
        };
        return render_again(
            &state,
            parts,
            "/sign-in",
            submitted,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }

    let now = OffsetDateTime::now_utc();
    let client_text = client.0.to_string();
    match attempt(&state, &email, form.get("password"), &client, now).await {
        Ok(Attempt::SignedIn { epoch }) => {
            if let Err(error) = sign_in_session(&session, epoch, now).await {
                tracing::error!(%error, "cannot start the owner's session");
                return unavailable();
            }
            log::record_now(&state.pool, Event::SignedIn, &client_text, "").await;
            Redirect::to(&next).into_response()
        }
        Ok(Attempt::Wrong) => {
            let summary =
                "That email and password don't match. Check both and try again.".to_owned();
            render_again(
                &state,
                parts,
                "/sign-in",
                refuse(summary, Vec::new()),
                StatusCode::UNAUTHORIZED,
            )
            .await
        }
        Ok(Attempt::Locked(wait)) => {
            let summary = format!(
                "Too many failed sign-ins. For your security, sign-in is paused: try again in {}.",
                wait_text(wait)
            );
            let page = render_again(
                &state,
                parts,
                "/sign-in",
                refuse(summary, Vec::new()),
                StatusCode::TOO_MANY_REQUESTS,
            )
            .await;
            crate::rate_limit::with_retry_after(page, wait)
        }
        Ok(Attempt::Busy) => {
            let summary = "Another sign-in is being checked. Try again in a second.".to_owned();
            let page = render_again(
                &state,
                parts,
                "/sign-in",
                refuse(summary, Vec::new()),
                StatusCode::TOO_MANY_REQUESTS,
            )
            .await;
            crate::rate_limit::with_retry_after(page, Duration::from_secs(1))
        }
        Err(error) => {
            tracing::error!(%error, "sign-in failed on the server");
            unavailable()
        }
    }
}

/// What became of a sign-in attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    SignedIn { epoch: i32 },
    Wrong,
    Locked(Duration),
    Busy,
}

/// Checks the limits and the password, counting a failure or clearing the counters, all in one
/// transaction. An unknown email takes the same path and the same time as a wrong password.
pub async fn attempt(
    state: &AppState,
    email: &str,
    password: &str,
    client: &ClientAddr,
    now: OffsetDateTime,
) -> Result<Attempt, sqlx::Error> {
    let keys = limits::Keys::new(email, &client.limit_key());
    let client_text = client.0.to_string();
    let mut tx = state.pool.begin().await?;
    match limits::check(&mut tx, &keys, now).await? {
        limits::Verdict::Allowed => {}
        limits::Verdict::Locked(wait) => return Ok(Attempt::Locked(wait)),
        limits::Verdict::Busy => return Ok(Attempt::Busy),
    }
    let owner = sqlx::query!("select email, password_hash, session_epoch from owner")
        .fetch_optional(&mut *tx)
        .await?
        .filter(|o| o.email.eq_ignore_ascii_case(email.trim()));
    let (phc, epoch) = match &owner {
        Some(o) => (Some(o.password_hash.clone()), o.session_epoch),
        None => (None, 0),
    };
    if password::verify(password.to_owned(), phc).await {
        limits::clear(&mut tx, &keys).await?;
        tx.commit().await?;
        return Ok(Attempt::SignedIn { epoch });
    }
    let locked = limits::fail(&mut tx, &keys, now).await?;
    let why = if owner.is_some() {
        "wrong password"
    } else {
        "unknown email"
    };
    log::record(&mut tx, Event::SignInFailed, &client_text, why).await?;
    if let Some(wait) = locked {
        let detail = format!("sign-in paused for {}", wait_text(wait));
        log::record(&mut tx, Event::LockedOut, &client_text, &detail).await?;
    }
    tx.commit().await?;
    Ok(match locked {
        Some(wait) => Attempt::Locked(wait),
        None => Attempt::Wrong,
    })
}

/// Checks a new password and its confirmation; the errors name the fields.
fn check_new_password(password: &str, confirm: &str) -> Vec<(&'static str, String)> {
    let mut errors = Vec::new();
    if let Err(message) = password::check_policy(password) {
        errors.push(("password", message));
    } else if password != confirm {
        errors.push((
            "confirm",
            "The two passwords differ; type the same one twice.".to_owned(),
        ));
    }
    errors
}

/// `POST /setup`: token, email, password, confirm.
pub async fn setup(
    State(state): State<AppState>,
    session: Session,
    client: ClientAddr,
    request: Request,
) -> Response {
    let (form, parts) = match read_form(&state, request).await {
        Ok(read) => read,
        Err(refused) => return refused,
    };
    let email = form.get("email").trim().to_owned();
    let mut errors = Vec::new();
    if !app::contact::plausible_email(&email) || email.len() > 254 {
        errors.push((
            "email",
            "Enter an email address like name@example.com.".to_owned(),
        ));
    }
    errors.extend(check_new_password(
        form.get("password"),
        form.get("confirm"),
    ));
    if !errors.is_empty() {
        let submitted = Submitted {
            form: "setup",
            values: vec![("email", email), ("token", form.get("token").to_owned())],
            errors,
            summary: None,
        };
        return render_again(
            &state,
            parts,
            "/setup",
            submitted,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let hash = match password::hash(form.get("password").to_owned()).await {
        Ok(hash) => hash,
        Err(error) => {
            tracing::error!(%error, "hashing the new password failed");
            return unavailable();
        }
    };
    let now = OffsetDateTime::now_utc();
    let created = async {
        let mut tx = state.pool.begin().await?;
        // Locks the token's row: of two simultaneous posts, one creates the owner.
        let token = setup::state(&mut tx, form.get("token"), now, true).await?;
        if token != setup::TokenState::Valid {
            return Ok(Err(token));
        }
        sqlx::query!(
            "insert into owner (email, password_hash) values ($1, $2)",
            email,
            hash
        )
        .execute(&mut *tx)
        .await?;
        log::record(
            &mut tx,
            Event::OwnerCreated,
            &client.0.to_string(),
            &format!("email {email}"),
        )
        .await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(Ok(()))
    }
    .await;
    match created {
        Ok(Ok(())) => {
            if let Err(error) = sign_in_session(&session, 1, now).await {
                tracing::error!(%error, "cannot start the owner's session");
                return Redirect::to("/sign-in").into_response();
            }
            tracing::info!("the owner's account was created");
            Redirect::to("/owner?done=setup").into_response()
        }
        Ok(Err(state_now)) => {
            let summary = match state_now {
                setup::TokenState::AlreadySetUp => {
                    "This site already has an owner; sign in instead."
                }
                _ => {
                    "This setup link has expired or has already been used. Restart folio, or run `folio owner setup-link`, for a new one."
                }
            };
            let submitted = Submitted {
                form: "setup",
                values: vec![("email", email), ("token", form.get("token").to_owned())],
                errors: Vec::new(),
                summary: Some(summary.to_owned()),
            };
            render_again(&state, parts, "/setup", submitted, StatusCode::GONE).await
        }
        Err(error) => {
            tracing::error!(%error, "creating the owner failed");
            unavailable()
        }
    }
}

/// `POST /sign-out`: ends the session on the server and asks the browser to forget the site's
/// cookies and storage.
pub async fn sign_out(
    State(state): State<AppState>,
    session: Session,
    client: ClientAddr,
    owner: Option<axum::Extension<Owner>>,
) -> Response {
    if let Err(error) = session.flush().await {
        tracing::error!(%error, "cannot end the session");
        return unavailable();
    }
    if owner.is_some() {
        log::record_now(&state.pool, Event::SignedOut, &client.0.to_string(), "").await;
    }
    let mut response = Redirect::to("/").into_response();
    response.headers_mut().insert(
        header::HeaderName::from_static("clear-site-data"),
        HeaderValue::from_static("\"cookies\", \"storage\""),
    );
    response
}

/// Ends every session but `session`, which carries on under the new epoch and a new id.
async fn end_other_sessions(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    session: &Session,
) -> Result<i32, sqlx::Error> {
    let epoch = sqlx::query_scalar!(
        "update owner set session_epoch = session_epoch + 1, updated_at = now() returning session_epoch"
    )
    .fetch_one(&mut **tx)
    .await?;
    let keep = session.id().map(|id| id.to_string()).unwrap_or_default();
    sqlx::query("delete from tower_sessions.session where id <> $1")
        .bind(keep)
        .execute(&mut **tx)
        .await?;
    Ok(epoch)
}

/// Carries this session on under `epoch` and a new id, then goes to `done`; if it cannot be
/// renewed, the owner signs in again.
async fn renew(session: &Session, epoch: i32, now: OffsetDateTime, done: &str) -> Response {
    match sign_in_session(session, epoch, now).await {
        Ok(()) => Redirect::to(done).into_response(),
        Err(error) => {
            tracing::error!(%error, "cannot renew this session");
            Redirect::to("/sign-in").into_response()
        }
    }
}

/// `POST /owner/sign-out-everywhere`.
pub async fn sign_out_everywhere(
    State(state): State<AppState>,
    session: Session,
    client: ClientAddr,
    owner: Option<axum::Extension<Owner>>,
) -> Response {
    if owner.is_none() {
        return unauthorized();
    }
    let now = OffsetDateTime::now_utc();
    let ended = async {
        let mut tx = state.pool.begin().await?;
        let epoch = end_other_sessions(&mut tx, &session).await?;
        log::record(
            &mut tx,
            Event::SignedOutEverywhere,
            &client.0.to_string(),
            "",
        )
        .await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(epoch)
    }
    .await;
    match ended {
        Ok(epoch) => renew(&session, epoch, now, "/owner?done=everywhere").await,
        Err(error) => {
            tracing::error!(%error, "signing out everywhere failed");
            unavailable()
        }
    }
}

/// `POST /owner/password`: current, password, confirm.
pub async fn change_password(
    State(state): State<AppState>,
    session: Session,
    client: ClientAddr,
    request: Request,
) -> Response {
    let Some(owner) = request.extensions().get::<Owner>().cloned() else {
        return unauthorized();
    };
    let (form, parts) = match read_form(&state, request).await {
        Ok(read) => read,
        Err(refused) => return refused,
    };
    let refuse = |errors: Vec<(&'static str, String)>, summary: Option<String>| Submitted {
        form: "password",
        values: Vec::new(),
        errors,
        summary,
    };
    let errors = check_new_password(form.get("password"), form.get("confirm"));
    if !errors.is_empty() {
        return render_again(
            &state,
            parts,
            "/owner",
            refuse(errors, None),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    // The current password is checked like a sign-in, limits and all.
    let now = OffsetDateTime::now_utc();
    match attempt(&state, &owner.email, form.get("current"), &client, now).await {
        Ok(Attempt::SignedIn { .. }) => {}
        Ok(Attempt::Wrong) => {
            let errors = vec![("current", "That is not your current password.".to_owned())];
            return render_again(
                &state,
                parts,
                "/owner",
                refuse(errors, None),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
        Ok(Attempt::Locked(wait)) => {
            let summary = format!(
                "Too many wrong passwords. Try again in {}.",
                wait_text(wait)
            );
            let page = render_again(
                &state,
                parts,
                "/owner",
                refuse(Vec::new(), Some(summary)),
                StatusCode::TOO_MANY_REQUESTS,
            )
            .await;
            return crate::rate_limit::with_retry_after(page, wait);
        }
        Ok(Attempt::Busy) => {
            let summary = "Another password check is running. Try again in a second.".to_owned();
            let page = render_again(
                &state,
                parts,
                "/owner",
                refuse(Vec::new(), Some(summary)),
                StatusCode::TOO_MANY_REQUESTS,
            )
            .await;
            return crate::rate_limit::with_retry_after(page, Duration::from_secs(1));
        }
        Err(error) => {
            tracing::error!(%error, "checking the current password failed");
            return unavailable();
        }
    }
    let hash = match password::hash(form.get("password").to_owned()).await {
        Ok(hash) => hash,
        Err(error) => {
            tracing::error!(%error, "hashing the new password failed");
            return unavailable();
        }
    };
    let changed = async {
        let mut tx = state.pool.begin().await?;
        sqlx::query!(
            "update owner set password_hash = $1, updated_at = now()",
            hash
        )
        .execute(&mut *tx)
        .await?;
        let epoch = end_other_sessions(&mut tx, &session).await?;
        log::record(&mut tx, Event::PasswordChanged, &client.0.to_string(), "").await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(epoch)
    }
    .await;
    match changed {
        Ok(epoch) => renew(&session, epoch, now, "/owner?done=password").await,
        Err(error) => {
            tracing::error!(%error, "changing the password failed");
            unavailable()
        }
    }
}

/// `POST /owner/inbox/{id}`: action = read | unread | delete, back = the inbox page to return to.
pub async fn inbox_action(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    request: Request,
) -> Response {
    let (form, _) = match read_owner_form(&state, request).await {
        Ok(read) => read,
        Err(refused) => return refused,
    };
    let done = match form.get("action") {
        "read" | "unread" => {
            sqlx::query!(
                "update contact_messages set read = $2 where id = $1",
                id,
                form.get("action") == "read"
            )
            .execute(&state.pool)
            .await
        }
        "delete" => {
            sqlx::query!("delete from contact_messages where id = $1", id)
                .execute(&state.pool)
                .await
        }
        other => {
            let message = format!("Unknown action {other:?}: use read, unread or delete.\n");
            return (StatusCode::BAD_REQUEST, message).into_response();
        }
    };
    match done {
        Ok(done) if done.rows_affected() == 0 => (
            StatusCode::NOT_FOUND,
            "That message does not exist (any more).\n",
        )
            .into_response(),
        Ok(_) => {
            let back = form.get("back");
            let back = if back.starts_with("/owner/inbox") && !back.contains("//") {
                back
            } else {
                "/owner/inbox"
            };
            Redirect::to(back).into_response()
        }
        Err(error) => {
            tracing::error!(%error, "changing a message failed");
            unavailable()
        }
    }
}

/// Every route that changes data, with its method: the same-origin and owner checks are
/// tested against this list, so a new mutating route must be added here.
pub const MUTATING_ROUTES: &[(&str, &str, Access)] = &[
    ("POST", "/contact", Access::Public),
    ("POST", "/api/vitals", Access::Public),
    ("POST", "/sign-in", Access::Public),
    ("POST", "/setup", Access::Public),
    ("POST", "/sign-out", Access::Public),
    ("POST", "/owner/sign-out-everywhere", Access::Owner),
    ("POST", "/owner/password", Access::Owner),
    ("POST", "/owner/inbox/{id}", Access::Owner),
    ("POST", "/owner/media", Access::Owner),
    ("POST", "/owner/media/{key}/delete", Access::Owner),
    ("POST", "/owner/import", Access::Owner),
    ("POST", "/owner/import/confirm", Access::Owner),
    ("POST", "/owner/new/{kind}", Access::Owner),
    ("POST", "/owner/preview/{kind}", Access::Owner),
    ("POST", "/owner/edit/{kind}/{id}", Access::Owner),
    ("POST", "/owner/edit/{kind}/{id}/duplicate", Access::Owner),
    ("POST", "/owner/edit/{kind}/{id}/delete", Access::Owner),
    ("POST", "/owner/edit/{kind}/{id}/move", Access::Owner),
    ("POST", "/owner/history/{kind}/{id}/restore", Access::Owner),
    ("POST", "/owner/history/{kind}/{id}/undelete", Access::Owner),
];

/// Who may use a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Public,
    Owner,
}

/// What `folio owner reset-password` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reset {
    /// The password (and the email, if one was given) changed; every session ended.
    Changed { email: String },
    /// There was no owner: one was created.
    Created { email: String },
}

/// Why the command line could not reset the password.
#[derive(Debug, thiserror::Error)]
pub enum ResetError {
    #[error("{0}")]
    Invalid(String),
    #[error("the database refused: {0}")]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Hash(#[from] password::HashError),
}

/// Sets the owner's password from the command line (creating the owner when there is none and
/// an email is given), ends every session and clears the account's sign-in lock.
pub async fn reset_password(
    pool: &sqlx::PgPool,
    email: Option<&str>,
    new_password: &str,
) -> Result<Reset, ResetError> {
    if let Some(email) = email
        && !app::contact::plausible_email(email)
    {
        return Err(ResetError::Invalid(format!(
            "{email:?} is not an email address like name@example.com"
        )));
    }
    password::check_policy(new_password).map_err(ResetError::Invalid)?;
    let hash = password::hash(new_password.to_owned()).await?;
    let mut tx = pool.begin().await?;
    let existing = sqlx::query_scalar!("select email from owner for update")
        .fetch_optional(&mut *tx)
        .await?;
    let outcome = match (existing, email) {
        (None, None) => {
            return Err(ResetError::Invalid(
                "there is no owner yet: give an email to create one (folio owner reset-password EMAIL)".into(),
            ));
        }
        (None, Some(email)) => {
            sqlx::query!(
                "insert into owner (email, password_hash) values ($1, $2)",
                email,
                hash
            )
            .execute(&mut *tx)
            .await?;
            log::record(
                &mut tx,
                Event::OwnerCreated,
                "command line",
                &format!("email {email}"),
            )
            .await?;
            Reset::Created {
                email: email.to_owned(),
            }
        }
        (Some(old), email) => {
            let email = email.unwrap_or(&old).to_owned();
            sqlx::query!(
                "update owner set email = $1, password_hash = $2, session_epoch = session_epoch + 1, updated_at = now()",
                email,
                hash
            )
            .execute(&mut *tx)
            .await?;
            sqlx::query("delete from tower_sessions.session")
                .execute(&mut *tx)
                .await?;
            limits::clear_account(&mut tx, &old).await?;
            log::record(&mut tx, Event::PasswordReset, "command line", "").await?;
            Reset::Changed { email }
        }
    };
    tx.commit().await?;
    Ok(outcome)
}

/// Forgets old sign-in counters and setup links, hourly.
pub async fn janitor(pool: sqlx::PgPool) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tick.tick().await;
        let now = OffsetDateTime::now_utc();
        if let Err(error) = limits::forget_old(&pool, now).await {
            tracing::warn!(%error, "cannot forget old sign-in counters");
        }
        if let Err(error) = setup::forget_old(&pool, now).await {
            tracing::warn!(%error, "cannot forget old setup links");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Timeouts = Timeouts {
        idle: Duration::from_secs(7200),
        absolute: Duration::from_secs(86_400),
    };

    fn record(signed_in_at: i64, last_seen: i64) -> SignedIn {
        SignedIn {
            epoch: 3,
            signed_in_at,
            last_seen,
        }
    }

    #[test]
    fn an_active_session_lasts_until_the_absolute_timeout() {
        let r = record(0, 86_000_000);
        assert_eq!(r.check(86_399_999, 3, T), Ok(()));
        assert_eq!(r.check(86_400_000, 3, T), Err(Ended::Absolute));
    }

    #[test]
    fn an_idle_session_ends_after_the_idle_timeout() {
        let r = record(0, 1_000_000);
        assert_eq!(r.check(8_199_999, 3, T), Ok(()));
        assert_eq!(r.check(8_200_000, 3, T), Err(Ended::Idle));
    }

    #[test]
    fn a_new_epoch_ends_older_sessions() {
        assert_eq!(record(0, 0).check(1, 4, T), Err(Ended::Superseded));
    }

    #[test]
    fn waits_are_said_in_minutes() {
        assert_eq!(wait_text(Duration::from_secs(1)), "a minute");
        assert_eq!(wait_text(Duration::from_secs(120)), "2 minutes");
        assert_eq!(wait_text(Duration::from_secs(3600)), "an hour");
    }
}
