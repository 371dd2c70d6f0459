//! `/owner/backup`: download the whole site as one file, and restore one, all or nothing.
//!
//! Server-rendered only. The export is a download from the server (`server/src/archive.rs`);
//! an import is a file upload that the server checks and summarises first, then applies only
//! when the owner confirms.

use crate::error::AppError;
use crate::owner::{FormSummary, OwnerNav, OwnerOnly, OwnerStyles, no_store};
use crate::seo::Seo;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

/// An uploaded archive, checked: what importing it would change (each table's rows now and
/// after) and the token that confirms it, or why it was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportCheck {
    pub token: Option<String>,
    pub exported_at: String,
    pub lines: Vec<(String, i64, usize)>,
    pub error: Option<String>,
}

/// What the site holds now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holdings {
    pub projects: i64,
    pub posts: i64,
    pub media: i64,
    pub revisions: i64,
    pub messages: i64,
}

#[server(endpoint = "owner/site-counts", input = server_fn::codec::GetUrl)]
pub async fn site_counts() -> Result<Holdings, AppError> {
    crate::owner::require_owner()?;
    let pool = use_context::<sqlx::PgPool>().ok_or(AppError::Internal)?;
    Ok(sqlx::query_as!(
        Holdings,
        r#"select (select count(*) from projects) as "projects!", (select count(*) from posts) as "posts!",
                  (select count(*) from media) as "media!", (select count(*) from revisions) as "revisions!",
                  (select count(*) from contact_messages) as "messages!""#
    )
    .fetch_one(&pool)
    .await?)
}

/// How a table is called on the page.
fn table_label(table: &str) -> &str {
    match table {
        "site_state" => "Site facts",
        "profile" => "Profile",
        "skills" => "Skills",
        "experience" => "Experience",
        "media" => "Pictures",
        "media_variants" => "Picture sizes",
        "projects" => "Projects",
        "posts" => "Posts",
        "revisions" => "Revisions",
        "contact_messages" => "Contact messages",
        other => other,
    }
}

#[component]
pub fn BackupPage() -> impl IntoView {
    no_store();
    let counts = Resource::new_blocking(|| (), |()| site_counts());
    let done = use_query_map().with_untracked(|q| q.get("done")).as_deref() == Some("import");
    let check = use_context::<ImportCheck>();
    view! {
        <OwnerStyles/>
        <Seo title="Export and import".to_owned() description="The whole site as one file.".to_owned() path="/owner/backup".to_owned() noindex=true/>
        <section class="owner-page" aria-labelledby="backup-heading">
            <h1 id="backup-heading">"Export and import"</h1>
            <OwnerNav current="/owner/backup"/>
            <Suspense fallback=|| ()>
                {move || {
                    let check = check.clone();
                    Suspend::new(async move {
                        match counts.await {
                            Err(error) => view! { <OwnerOnly error path="/owner/backup"/> }.into_any(),
                            Ok(counts) => view! { <BackupView counts check done/> }.into_any(),
                        }
                    })
                }}
            </Suspense>
        </section>
    }
}

#[component]
fn BackupView(counts: Holdings, check: Option<ImportCheck>, done: bool) -> impl IntoView {
    let error = check.as_ref().and_then(|c| c.error.clone());
    let pending = check.filter(|c| c.token.is_some());
    let confirm = pending.map(|c| {
        let rows = c
            .lines
            .iter()
            .map(|(table, now, after)| {
                view! {
                    <tr><th scope="row">{table_label(table).to_owned()}</th><td>{*now}</td><td>{*after}</td></tr>
                }
            })
            .collect_view();
        view! {
            <section class="import-check" aria-labelledby="check-heading" data-testid="import-check">
                <h2 id="check-heading">"Check before importing"</h2>
                <p>{format!("This file is an export made {}. Importing it replaces all of this site's content with the file's:", crate::editor::human_time(&c.exported_at))}</p>
                <div class="table-scroll">
                    <table class="security-log">
                        <caption>"Rows now and after the import"</caption>
                        <thead><tr><th scope="col">"What"</th><th scope="col">"Now"</th><th scope="col">"After"</th></tr></thead>
                        <tbody>{rows}</tbody>
                    </table>
                </div>
                <p>"Your account, sessions and security log stay as they are. It happens all at once: if anything in the file is refused, nothing changes."</p>
                <form method="post" action="/owner/import/confirm">
                    <input type="hidden" name="token" value=c.token.unwrap_or_default()/>
                    <button type="submit" class="button" data-testid="confirm-import">"Replace this site's content"</button>
                </form>
            </section>
        }
    });
    view! {
        {done.then(|| view! { <p class="notice-ok" role="status" data-testid="import-done">"Imported. The site now shows the file's content."</p> })}
        <h2>"Export"</h2>
        <p>{format!(
            "One file with everything: the profile, {} projects, {} posts, {} pictures in every size, {} revisions and {} contact messages.",
            counts.projects, counts.posts, counts.media, counts.revisions, counts.messages
        )}</p>
        <p><a class="button" href="/owner/export" download data-testid="export">"Download an export"</a></p>
        <p class="hint">"From a terminal: " <code>"folio export FILE"</code> "."</p>
        <h2>"Import"</h2>
        {confirm}
        <form class="owner-form" method="post" action="/owner/import" enctype="multipart/form-data" data-testid="import-form">
            <FormSummary text=error.clone()/>
            <div class="field">
                <label for="import-file">"Export file"</label>
                <p class="hint" id="import-file-hint">"A .json.gz file from Download an export (up to 256 MB). You will see what it changes before anything does."</p>
                <input id="import-file" name="archive" type="file" accept=".gz,.json,application/gzip,application/json" required aria-describedby="import-file-hint"/>
            </div>
            <button type="submit" class="button secondary">"Check the file"</button>
        </form>
        <p class="hint">"From a terminal: " <code>"folio import FILE"</code> "."</p>
    }
    .into_any()
}
