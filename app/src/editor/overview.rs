//! `/owner/content`: every project and post, drafts and scheduled ones included, with their
//! status; new ones are started here, projects are put in order here, and what was deleted can
//! be brought back.

use super::{Item, Kind, StatusBadge};
use crate::error::AppError;
use crate::owner::{FormSummary, OwnerNav, OwnerOnly, OwnerStyles, no_store};
use crate::seo::Seo;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deleted {
    pub kind: Kind,
    pub id: i64,
    pub title: String,
    pub at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overview {
    pub projects: Vec<Item>,
    pub posts: Vec<Item>,
    pub deleted: Vec<Deleted>,
}

#[server(endpoint = "owner/content", input = server_fn::codec::GetUrl)]
pub async fn content_overview() -> Result<Overview, AppError> {
    crate::owner::require_owner()?;
    let pool = use_context::<sqlx::PgPool>().ok_or(AppError::Internal)?;
    let (projects, posts) = super::store::everything(&pool).await?;
    let deleted = super::store::deleted(&pool)
        .await?
        .into_iter()
        .map(|(kind, id, title, at)| Deleted {
            kind,
            id,
            title,
            at,
        })
        .collect();
    Ok(Overview {
        projects,
        posts,
        deleted,
    })
}

/// A refused "new project" or "new post" form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRefused {
    pub kind: Kind,
    pub title: String,
    pub error: String,
}

#[component]
pub fn ContentPage() -> impl IntoView {
    no_store();
    let overview = Resource::new_blocking(|| (), |()| content_overview());
    let deleted_now = use_query_map().with_untracked(|q| q.get("deleted"));
    view! {
        <OwnerStyles/>
        <Seo title="Content".to_owned() description="Every project and post.".to_owned() path="/owner/content".to_owned() noindex=true/>
        <section class="owner-page" aria-labelledby="content-heading">
            <h1 id="content-heading">"Content"</h1>
            <OwnerNav current="/owner/content"/>
            <Suspense fallback=|| ()>
                {move || {
                    let deleted_now = deleted_now.clone();
                    Suspend::new(async move {
                        match overview.await {
                            Err(error) => view! { <OwnerOnly error path="/owner/content"/> }.into_any(),
                            Ok(o) => view! { <OverviewView o deleted_now/> }.into_any(),
                        }
                    })
                }}
            </Suspense>
        </section>
    }
}

#[component]
fn OverviewView(o: Overview, deleted_now: Option<String>) -> impl IntoView {
    let refused = use_context::<NewRefused>();
    let notice = deleted_now.and_then(|key| {
        let (kind, id) = key.split_once(':')?;
        let id: i64 = id.parse().ok()?;
        let gone = o
            .deleted
            .iter()
            .find(|d| d.kind.as_str() == kind && d.id == id)?
            .clone();
        Some(view! {
            <div class="notice-ok" role="status" data-testid="deleted-notice">
                <p>{format!("Deleted \u{201c}{}\u{201d}.", gone.title)}</p>
                <form method="post" action=format!("/owner/history/{}/{}/undelete", gone.kind.as_str(), gone.id)>
                    <button type="submit" class="button secondary" data-testid="undo-delete">"Undo"</button>
                </form>
            </div>
        })
    });
    let count = o.projects.len();
    let projects = o
        .projects
        .into_iter()
        .enumerate()
        .map(|(index, p)| {
            let title = p.value("title").to_owned();
            let action = format!("{}/move", p.action_path());
            let (title_for_forms, action_for_forms) = (title.clone(), action.clone());
            let move_form = move |up: bool| {
                let (title, action) = (&title_for_forms, &action_for_forms);
                let (label, value, disabled) = if up {
                    (format!("Move \u{201c}{title}\u{201d} up"), "up", index == 0)
                } else {
                    (format!("Move \u{201c}{title}\u{201d} down"), "down", index + 1 == count)
                };
                view! {
                    <form method="post" action=action.clone()>
                        <button type="submit" name="direction" value=value class="icon-button"
                            aria-label=label disabled=disabled>{if up { "↑" } else { "↓" }}</button>
                    </form>
                }
            };
            view! {
                <li class="content-row" data-testid="content-project" data-move=action.clone()
                    data-title=title.clone()>
                    <span class="order">{move_form(true)}{move_form(false)}</span>
                    <a href=p.public_path()>{p.value("title").to_owned()}</a>
                    <StatusBadge status=p.status.clone()/>
                    {(!p.value("featured").is_empty()).then(|| view! { <span class="badge">"Featured"</span> })}
                    <a href=p.edit_path()>"Edit"</a>
                    <a href=p.history_path()>"History"</a>
                </li>
            }
        })
        .collect_view();
    let posts = o
        .posts
        .into_iter()
        .map(|p| {
            view! {
                <li class="content-row" data-testid="content-post">
                    <a href=p.public_path()>{p.value("title").to_owned()}</a>
                    <StatusBadge status=p.status.clone()/>
                    <a href=p.edit_path()>"Edit"</a>
                    <a href=p.history_path()>"History"</a>
                </li>
            }
        })
        .collect_view();
    let new_form = move |kind: Kind| {
        let refused = refused.clone().filter(|r| r.kind == kind);
        let id = format!("new-{}-title", kind.as_str());
        let error_id = format!("{id}-error");
        let (label, button) = match kind {
            Kind::Post => ("Title of the new post", "New post"),
            _ => ("Title of the new project", "New project"),
        };
        view! {
            <form class="owner-form inline-form" method="post" action=format!("/owner/new/{}", kind.as_str()) novalidate>
                <FormSummary text=refused.as_ref().map(|_| "Nothing was created: see below.".to_owned())/>
                <div class="field">
                    <label for=id.clone()>{label}</label>
                    <input id=id name="title" type="text" maxlength="200" required
                        value=refused.as_ref().map(|r| r.title.clone()).unwrap_or_default()
                        aria-invalid=refused.is_some().then_some("true") aria-describedby=error_id.clone()/>
                    <p class="field-error" id=error_id>{refused.as_ref().map(|r| r.error.clone())}</p>
                </div>
                <button type="submit" class="button">{button}</button>
            </form>
        }
    };
    let deleted = (!o.deleted.is_empty()).then(|| {
        let rows = o
            .deleted
            .into_iter()
            .map(|d| {
                view! {
                    <li class="content-row">
                        {d.title.clone()} " · deleted " {super::human_time(&d.at)}
                        <a href=format!("/owner/history/{}/{}", d.kind.as_str(), d.id)>"History"</a>
                        <form method="post" action=format!("/owner/history/{}/{}/undelete", d.kind.as_str(), d.id)>
                            <button type="submit" class="link-button">"Bring back"</button>
                        </form>
                    </li>
                }
            })
            .collect_view();
        view! {
            <h2>"Recently deleted"</h2>
            <ul class="content-list" role="list">{rows}</ul>
        }
    });
    view! {
        {notice}
        <p>
            <a href="/?edit">"Edit your profile"</a>
            " (name, headline, bios, links) where it shows, on the home page."
        </p>
        <h2>"Projects"</h2>
        <p class="hint" id="projects-order-hint">"In the order visitors see them: drag a project to its place, or use its arrows. Drafts and scheduled projects are visible only to you."</p>
        {new_form(Kind::Project)}
        <ol class="content-list" data-testid="content-projects" data-reorder aria-describedby="projects-order-hint">{projects}</ol>
        <p class="visually-hidden" role="status" data-testid="order-status"></p>
        <h2>"Writing"</h2>
        {new_form(Kind::Post)}
        <ul class="content-list" role="list" data-testid="content-posts">{posts}</ul>
        {deleted}
        <super::OwnerScript/>
    }
}
