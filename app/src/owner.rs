//! The owner's side of the site: setup, sign-in, the account page, the inbox and the security
//! log.
//!
//! Every page here is rendered on the server only and ships no code: forms post to the server's
//! handlers (`server/src/auth`), which answer with a redirect or with the same page again,
//! showing what needs fixing. Visitors never see any of it. The server puts the signed-in
//! [`Owner`] into the request's extensions; the owner-only server functions answer `401`
//! without one.

use crate::components::{ErrorNotice, Field, Pagination};
use crate::content::Page;
use crate::error::AppError;
use crate::seo::Seo;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

/// The signed-in owner, as the server's session middleware found them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    pub email: String,
}

/// The owner behind this request, if they are signed in.
#[cfg(feature = "ssr")]
pub fn current_owner() -> Option<Owner> {
    use_context::<http::request::Parts>().and_then(|parts| parts.extensions.get::<Owner>().cloned())
}

/// The owner, or `401` for an owner-only server function.
#[cfg(feature = "ssr")]
pub fn require_owner() -> Result<Owner, AppError> {
    current_owner().ok_or_else(|| {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(http::StatusCode::UNAUTHORIZED);
        }
        AppError::Unauthorized
    })
}

/// A form the server refused, handed back to its page so it shows what was typed (never a
/// password) and a message per field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Submitted {
    /// Which form: `"sign-in"`, `"setup"` or `"password"`.
    pub form: &'static str,
    pub values: Vec<(&'static str, String)>,
    pub errors: Vec<(&'static str, String)>,
    /// A message for the form as a whole (wrong password, too many attempts).
    pub summary: Option<String>,
}

impl Submitted {
    /// What this page's form should show: the refused submission when it is this form's.
    pub(crate) fn for_form(form: &'static str) -> Self {
        use_context::<Self>()
            .filter(|s| s.form == form)
            .unwrap_or_default()
    }

    pub fn value(&self, name: &str) -> String {
        self.values
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    pub fn error(&self, name: &str) -> Option<String> {
        self.errors
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, e)| e.clone())
    }

    /// The line above the form.
    pub(crate) fn summary_line(&self) -> Option<String> {
        self.summary.clone().or_else(|| match self.errors.len() {
            0 => None,
            1 => Some("Please fix the field marked below.".to_owned()),
            n => Some(format!("Please fix the {n} fields marked below.")),
        })
    }
}

/// Where to go after signing in: a path on this site, never another origin.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.contains('\\')
                && !path.chars().any(char::is_control) =>
        {
            path.to_owned()
        }
        _ => "/owner".to_owned(),
    }
}

/// The owner's stylesheet: linked only on owner pages, so visitors never download it.
#[component]
pub(crate) fn OwnerStyles() -> impl IntoView {
    view! { <leptos_meta::Link rel="stylesheet" href="/owner.css"/> }
}

/// Keeps a page out of every cache: it depends on the session or on one-time state.
pub(crate) fn no_store() {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.insert_header(
            http::header::CACHE_CONTROL,
            http::HeaderValue::from_static("private, no-store"),
        );
    }
}

/// The summary line above a form, announced when it appears.
#[component]
pub(crate) fn FormSummary(text: Option<String>) -> impl IntoView {
    view! { <div class="form-summary" role="alert" data-testid="form-summary">{text}</div> }
}

/// `/sign-in`.
#[component]
pub fn SignInPage() -> impl IntoView {
    no_store();
    let query = use_query_map();
    let submitted = Submitted::for_form("sign-in");
    // A refused post comes back to `/sign-in` without the query: `next` rides in the form.
    let next = query
        .with_untracked(|q| q.get("next"))
        .or_else(|| Some(submitted.value("next")));
    let next = safe_next(next.as_deref());
    #[cfg(feature = "ssr")]
    let signed_in = current_owner();
    #[cfg(not(feature = "ssr"))]
    let signed_in: Option<Owner> = None;

    let body = match signed_in {
        Some(owner) => view! {
            <p>"You are signed in as " <strong>{owner.email}</strong> "."</p>
            <p><a href="/owner">"Go to your account"</a> " or " <a href="/">"browse the site"</a> "."</p>
        }
        .into_any(),
        None => view! {
            <form class="owner-form" method="post" action="/sign-in" novalidate data-testid="sign-in-form">
                <FormSummary text=submitted.summary_line()/>
                <input type="hidden" name="next" value=next/>
                <Field id="sign-in-email" name="email" label="Email" kind="email" value=submitted.value("email")
                    max=254 autocomplete="username" error=submitted.error("email")/>
                <Field id="sign-in-password" name="password" label="Password" kind="password" value=String::new()
                    max=1024 autocomplete="current-password" error=submitted.error("password")/>
                <button type="submit" class="button">"Sign in"</button>
            </form>
        }
        .into_any(),
    };
    view! {
        <OwnerStyles/>
        <Seo title="Sign in".to_owned() description="Sign in to edit this site.".to_owned() path="/sign-in".to_owned() noindex=true/>
        <section class="owner-page narrow" aria-labelledby="sign-in-heading">
            <h1 id="sign-in-heading">"Sign in"</h1>
            {body}
        </section>
    }
    .into_any()
}

/// What a setup link turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SetupLinkState {
    Valid,
    Invalid,
    AlreadySetUp,
}

/// Whether a setup token can still be used. (The token is 256 random bits; asking proves
/// nothing about other tokens.)
#[server(endpoint = "setup-link", input = server_fn::codec::GetUrl)]
pub async fn setup_link(token: String) -> Result<SetupLinkState, AppError> {
    let pool = use_context::<sqlx::PgPool>().ok_or(AppError::Internal)?;
    Ok(ssr::setup_link(&pool, &token).await?)
}

/// `/setup?token=…`: the first owner sets an email and a password.
#[component]
pub fn SetupPage() -> impl IntoView {
    no_store();
    let query = use_query_map();
    let submitted = Submitted::for_form("setup");
    // A refused post comes back to `/setup` without the query: its token rides in the form.
    let token = query
        .with_untracked(|q| q.get("token"))
        .unwrap_or_else(|| submitted.value("token"));
    let state = Resource::new_blocking(
        {
            let token = token.clone();
            move || token.clone()
        },
        setup_link,
    );
    view! {
        <OwnerStyles/>
        <Seo title="Set up folio".to_owned() description="Create the owner's account.".to_owned() path="/setup".to_owned() noindex=true/>
        <section class="owner-page narrow" aria-labelledby="setup-heading">
            <h1 id="setup-heading">"Set up folio"</h1>
            <Suspense fallback=|| ()>
                {move || {
                    let (token, submitted) = (token.clone(), submitted.clone());
                    Suspend::new(async move {
                        match state.await {
                            Err(error) => view! { <ErrorNotice error nested=true/> }.into_any(),
                            Ok(SetupLinkState::AlreadySetUp) => view! {
                                <p data-testid="setup-done">"This site already has an owner. " <a href="/sign-in">"Sign in"</a> " instead."</p>
                            }.into_any(),
                            Ok(SetupLinkState::Invalid) => view! {
                                <p data-testid="setup-invalid">
                                    "This setup link has expired or has already been used. Restart folio, or run "
                                    <code>"folio owner setup-link"</code>
                                    ", for a new one."
                                </p>
                            }.into_any(),
                            Ok(SetupLinkState::Valid) => view! {
                                <p>"Choose the email and password you will sign in with. The password needs at least 12 characters; a phrase of a few words works well."</p>
                                <form class="owner-form" method="post" action="/setup" novalidate data-testid="setup-form">
                                    <FormSummary text=submitted.summary_line()/>
                                    <input type="hidden" name="token" value=token/>
                                    <Field id="setup-email" name="email" label="Email" kind="email" value=submitted.value("email")
                                        max=254 autocomplete="username" error=submitted.error("email")/>
                                    <Field id="setup-password" name="password" label="Password" kind="password" value=String::new()
                                        max=1024 autocomplete="new-password" error=submitted.error("password")
                                        hint="12 to 1024 characters.".to_owned()/>
                                    <Field id="setup-confirm" name="confirm" label="Password again" kind="password" value=String::new()
                                        max=1024 autocomplete="new-password" error=submitted.error("confirm")/>
                                    <button type="submit" class="button">"Create account"</button>
                                </form>
                            }.into_any(),
                        }
                    })
                }}
            </Suspense>
        </section>
    }
    .into_any()
}

/// What the account page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub email: String,
    pub unread: i64,
}

#[server(endpoint = "owner/account", input = server_fn::codec::GetUrl)]
pub async fn owner_account() -> Result<Account, AppError> {
    let owner = require_owner()?;
    let pool = use_context::<sqlx::PgPool>().ok_or(AppError::Internal)?;
    Ok(Account {
        email: owner.email,
        unread: ssr::unread(&pool).await?,
    })
}

/// A notice the account page shows after a redirect (`?done=…`).
fn done_notice(done: Option<&str>) -> Option<&'static str> {
    match done? {
        "password" => Some("Your password is changed, and every other session is signed out."),
        "everywhere" => Some("Every other session is signed out."),
        "setup" => Some("Welcome! Your account is ready and you are signed in."),
        _ => None,
    }
}

/// Answers an owner page's `401` by sending the browser to sign in first.
#[component]
pub(crate) fn OwnerOnly(error: AppError, path: &'static str) -> impl IntoView {
    if error == AppError::Unauthorized {
        #[cfg(feature = "ssr")]
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>()
            && let Ok(location) = http::HeaderValue::from_str(&format!("/sign-in?next={path}"))
        {
            response.set_status(http::StatusCode::SEE_OTHER);
            response.insert_header(http::header::LOCATION, location);
        }
        #[cfg(not(feature = "ssr"))]
        let _ = path;
        return view! { <p><a href="/sign-in">"Sign in"</a> " to see this page."</p> }.into_any();
    }
    view! { <ErrorNotice error nested=true/> }.into_any()
}

/// The owner's navigation between their pages.
#[component]
pub(crate) fn OwnerNav(current: &'static str) -> impl IntoView {
    let links = [
        ("/owner", "Account"),
        ("/owner/content", "Content"),
        ("/owner/inbox", "Inbox"),
        ("/owner/media", "Media"),
        ("/owner/vitals", "Web Vitals"),
        ("/owner/backup", "Export"),
        ("/owner/security", "Security log"),
    ];
    view! {
        <nav class="owner-nav" aria-label="Owner">
            {links.into_iter().map(|(href, label)| view! {
                <a href=href aria-current=(href == current).then_some("page")>{label}</a>
            }).collect_view()}
        </nav>
    }
}

/// `/owner`: who is signed in, the password, and the sessions.
#[component]
pub fn AccountPage() -> impl IntoView {
    no_store();
    let account = Resource::new_blocking(|| (), |()| owner_account());
    let query = use_query_map();
    let notice = done_notice(query.with_untracked(|q| q.get("done")).as_deref());
    let submitted = Submitted::for_form("password");
    view! {
        <OwnerStyles/>
        <Seo title="Your account".to_owned() description="The owner's account.".to_owned() path="/owner".to_owned() noindex=true/>
        <section class="owner-page" aria-labelledby="account-heading">
            <h1 id="account-heading">"Your account"</h1>
            <OwnerNav current="/owner"/>
            <Suspense fallback=|| ()>
                {move || {
                    let submitted = submitted.clone();
                    Suspend::new(async move {
                        match account.await {
                            Err(error) => view! { <OwnerOnly error path="/owner"/> }.into_any(),
                            Ok(account) => view! {
                                {notice.map(|text| view! { <p class="notice-ok" role="status" data-testid="account-notice">{text}</p> })}
                                <p data-testid="account-email">"Signed in as " <strong>{account.email}</strong> "."</p>
                                <p>
                                    <a href="/owner/inbox">{match account.unread {
                                        0 => "No unread messages".to_owned(),
                                        1 => "1 unread message".to_owned(),
                                        n => format!("{n} unread messages"),
                                    }}</a>
                                </p>
                                <h2>"Change password"</h2>
                                <form class="owner-form" method="post" action="/owner/password" novalidate data-testid="password-form">
                                    <FormSummary text=submitted.summary_line()/>
                                    <Field id="password-current" name="current" label="Current password" kind="password" value=String::new()
                                        max=1024 autocomplete="current-password" error=submitted.error("current")/>
                                    <Field id="password-new" name="password" label="New password" kind="password" value=String::new()
                                        max=1024 autocomplete="new-password" error=submitted.error("password")
                                        hint="12 to 1024 characters. Every other session will be signed out.".to_owned()/>
                                    <Field id="password-confirm" name="confirm" label="New password again" kind="password" value=String::new()
                                        max=1024 autocomplete="new-password" error=submitted.error("confirm")/>
                                    <button type="submit" class="button">"Change password"</button>
                                </form>
                                <h2>"Sessions"</h2>
                                <p>"Signed in somewhere you no longer use? End every session but this one."</p>
                                <form method="post" action="/owner/sign-out-everywhere">
                                    <button type="submit" class="button secondary">"Sign out everywhere else"</button>
                                </form>
                            }.into_any(),
                        }
                    })
                }}
            </Suspense>
        </section>
    }
    .into_any()
}

/// One contact message in the inbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxMessage {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub message: String,
    /// RFC 3339, UTC.
    pub received: String,
    pub read: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxList {
    pub messages: Vec<InboxMessage>,
    pub unread: i64,
    pub page: Page,
}

/// Page `n` of an owner list.
pub(crate) fn page_href(path: &str, n: u32) -> String {
    if n > 1 {
        format!("{path}?page={n}")
    } else {
        path.to_owned()
    }
}

/// Messages per inbox page.
pub const INBOX_PAGE: i64 = 20;

#[server(endpoint = "owner/inbox", input = server_fn::codec::GetUrl)]
pub async fn inbox(page: Option<String>) -> Result<InboxList, AppError> {
    require_owner()?;
    let number = crate::content::parse_page(page.as_deref())?;
    let pool = use_context::<sqlx::PgPool>().ok_or(AppError::Internal)?;
    ssr::inbox(&pool, number).await
}

/// `/owner/inbox`: contact messages, newest first.
#[component]
pub fn InboxPage() -> impl IntoView {
    no_store();
    let query = use_query_map();
    let list = Resource::new_blocking(move || query.with(|q| q.get("page")), inbox);
    view! {
        <OwnerStyles/>
        <Seo title="Inbox".to_owned() description="Messages from the contact form.".to_owned() path="/owner/inbox".to_owned() noindex=true/>
        <section class="owner-page" aria-labelledby="inbox-heading">
            <h1 id="inbox-heading">"Inbox"</h1>
            <OwnerNav current="/owner/inbox"/>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match list.await {
                        Err(error) => view! { <OwnerOnly error path="/owner/inbox"/> }.into_any(),
                        Ok(list) if list.messages.is_empty() => view! {
                            <p class="empty" data-testid="inbox-empty">"No messages yet. They arrive here from the contact form."</p>
                        }.into_any(),
                        Ok(list) => {
                            let number = list.page.number;
                            let back = page_href("/owner/inbox", number);
                            view! {
                                <p role="status">{match list.unread { 0 => "All read.".to_owned(), 1 => "1 unread.".to_owned(), n => format!("{n} unread.") }}</p>
                                <ul class="inbox" data-testid="inbox">
                                    {list.messages.into_iter().map(|m| {
                                        let back = back.clone();
                                        let action = format!("/owner/inbox/{}", m.id);
                                        let heading = format!("inbox-message-{}", m.id);
                                        view! {
                                            <li class="inbox-message" class:unread=!m.read data-testid="inbox-message">
                                                <h2 id=heading>
                                                    {(!m.read).then(|| view! { <span class="badge">"New"</span> " " })}
                                                    {m.name.clone()}
                                                </h2>
                                                <p class="meta">
                                                    <a href=format!("mailto:{}", m.email)>{m.email.clone()}</a>
                                                    " · "
                                                    <time datetime=m.received.clone()>{m.received.replace('T', " ").chars().take(16).collect::<String>()}" UTC"</time>
                                                </p>
                                                <p class="message-text">{m.message}</p>
                                                <form method="post" action=action class="inline-actions">
                                                    <input type="hidden" name="back" value=back/>
                                                    {if m.read {
                                                        view! { <button type="submit" name="action" value="unread" class="button secondary">"Mark unread"</button> }.into_any()
                                                    } else {
                                                        view! { <button type="submit" name="action" value="read" class="button secondary">"Mark read"</button> }.into_any()
                                                    }}
                                                    <button type="submit" name="action" value="delete" class="button danger">"Delete"</button>
                                                </form>
                                            </li>
                                        }
                                    }).collect_view()}
                                </ul>
                                <Pagination page=list.page href=|n| page_href("/owner/inbox", n)/>
                            }.into_any()
                        }
                    }
                })}
            </Suspense>
        </section>
    }
    .into_any()
}

/// One security log entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityEvent {
    /// RFC 3339, UTC.
    pub at: String,
    pub event: String,
    pub client: String,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntries {
    pub events: Vec<SecurityEvent>,
    pub page: Page,
}

/// Entries per security log page.
pub const LOG_PAGE: i64 = 50;

#[server(endpoint = "owner/security-log", input = server_fn::codec::GetUrl)]
pub async fn security_log(page: Option<String>) -> Result<LogEntries, AppError> {
    require_owner()?;
    let number = crate::content::parse_page(page.as_deref())?;
    let pool = use_context::<sqlx::PgPool>().ok_or(AppError::Internal)?;
    ssr::security_log(&pool, number).await
}

/// How an event reads in the log.
fn describe(event: &str) -> &str {
    match event {
        "owner_created" => "Account created",
        "signed_in" => "Signed in",
        "sign_in_failed" => "Failed sign-in",
        "locked_out" => "Sign-in locked",
        "signed_out" => "Signed out",
        "signed_out_everywhere" => "Signed out everywhere else",
        "password_changed" => "Password changed",
        "password_reset" => "Password reset from the command line",
        "session_expired" => "Session ended by timeout",
        "exported" => "Site exported",
        "imported" => "Site imported",
        other => other,
    }
}

/// `/owner/security`: sign-ins, failures, lockouts, password changes and session ends.
#[component]
pub fn SecurityLogPage() -> impl IntoView {
    no_store();
    let query = use_query_map();
    let log = Resource::new_blocking(move || query.with(|q| q.get("page")), security_log);
    view! {
        <OwnerStyles/>
        <Seo title="Security log".to_owned() description="What happened to the owner's account.".to_owned() path="/owner/security".to_owned() noindex=true/>
        <section class="owner-page" aria-labelledby="security-heading">
            <h1 id="security-heading">"Security log"</h1>
            <OwnerNav current="/owner/security"/>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match log.await {
                        Err(error) => view! { <OwnerOnly error path="/owner/security"/> }.into_any(),
                        Ok(log) => view! {
                            <div class="table-scroll">
                                <table class="security-log" data-testid="security-log">
                                    <caption>"Newest first, times in UTC"</caption>
                                    <thead><tr><th scope="col">"When"</th><th scope="col">"What"</th><th scope="col">"From"</th><th scope="col">"Detail"</th></tr></thead>
                                    <tbody>
                                        {log.events.into_iter().map(|e| view! {
                                            <tr data-event=e.event.clone()>
                                                <td><time datetime=e.at.clone()>{e.at.replace('T', " ").chars().take(19).collect::<String>()}</time></td>
                                                <td>{describe(&e.event).to_owned()}</td>
                                                <td>{e.client}</td>
                                                <td>{e.detail}</td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                            <Pagination page=log.page href=|n| page_href("/owner/security", n)/>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
    .into_any()
}

/// The header's controls for a signed-in owner: nothing at all for visitors.
#[component]
pub fn OwnerBar() -> impl IntoView {
    #[cfg(feature = "ssr")]
    let owner = current_owner();
    #[cfg(not(feature = "ssr"))]
    let owner: Option<Owner> = None;
    owner.map(|_| {
        view! {
            <OwnerStyles/>
            <div class="owner-bar" data-testid="owner-bar">
                <a href="/owner">"Account"</a>
                <a href="/owner/content">"Content"</a>
                <form method="post" action="/sign-out">
                    <button type="submit" class="link-button">"Sign out"</button>
                </form>
            </div>
        }
    })
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use super::{
        INBOX_PAGE, InboxList, InboxMessage, LOG_PAGE, LogEntries, SecurityEvent, SetupLinkState,
    };
    use crate::content::Page;
    use crate::error::AppError;
    use sqlx::PgPool;

    pub async fn setup_link(pool: &PgPool, token: &str) -> Result<SetupLinkState, sqlx::Error> {
        let row = sqlx::query!(
            r#"select exists(select 1 from owner) as "owned!",
                      exists(select 1 from setup_tokens
                             where token_sha256 = sha256(convert_to($1, 'UTF8'))
                               and used_at is null and expires_at > now()) as "valid!""#,
            token,
        )
        .fetch_one(pool)
        .await?;
        Ok(match (row.owned, row.valid) {
            (true, _) => SetupLinkState::AlreadySetUp,
            (false, true) => SetupLinkState::Valid,
            (false, false) => SetupLinkState::Invalid,
        })
    }

    pub async fn unread(pool: &PgPool) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar!(r#"select count(*) as "n!" from contact_messages where not read"#)
            .fetch_one(pool)
            .await
    }

    pub async fn inbox(pool: &PgPool, number: u32) -> Result<InboxList, AppError> {
        let counts = sqlx::query!(
            r#"select count(*) as "total!", count(*) filter (where not read) as "unread!" from contact_messages"#
        )
        .fetch_one(pool)
        .await?;
        let page = Page::new(number, counts.total, INBOX_PAGE)?;
        let messages = sqlx::query_as!(
            InboxMessage,
            r#"select id, name, email, message, read,
                      to_char(received_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as "received!"
               from contact_messages order by received_at desc, id desc limit $1 offset $2"#,
            INBOX_PAGE,
            page.offset(INBOX_PAGE),
        )
        .fetch_all(pool)
        .await?;
        Ok(InboxList {
            messages,
            unread: counts.unread,
            page,
        })
    }

    pub async fn security_log(pool: &PgPool, number: u32) -> Result<LogEntries, AppError> {
        let total = sqlx::query_scalar!(r#"select count(*) as "n!" from security_log"#)
            .fetch_one(pool)
            .await?;
        let page = Page::new(number, total, LOG_PAGE)?;
        let events = sqlx::query_as!(
            SecurityEvent,
            r#"select event, client, detail,
                      to_char(at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as "at!"
               from security_log order by at desc, id desc limit $1 offset $2"#,
            LOG_PAGE,
            page.offset(LOG_PAGE),
        )
        .fetch_all(pool)
        .await?;
        Ok(LogEntries { events, page })
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/projects?tag=rust")), "/projects?tag=rust");
        assert_eq!(safe_next(None), "/owner");
        assert_eq!(safe_next(Some("https://evil.example/")), "/owner");
        assert_eq!(safe_next(Some("//evil.example/")), "/owner");
        assert_eq!(safe_next(Some("/\\evil.example/")), "/owner");
        assert_eq!(safe_next(Some("/a\nb")), "/owner");
    }
}
