//! `/owner/media`: the owner's media library. Upload a picture with its alt text, see every
//! picture with its sizes and the address to use, and delete one that nothing uses.
//!
//! Server-rendered only: the upload is a plain multipart form post to the server's media
//! handler (`server/src/media.rs`), which answers with a redirect or with this page again.

use crate::components::{Field, Pagination};
use crate::content::Page;
use crate::error::AppError;
use crate::owner::{FormSummary, OwnerNav, OwnerOnly, OwnerStyles, Submitted, no_store, page_href};
use crate::seo::Seo;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

/// One picture in the library.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaItem {
    pub key: String,
    pub alt: String,
    pub width: i32,
    pub height: i32,
    /// The stored widths, narrowest first.
    pub widths: Vec<i32>,
    /// RFC 3339, UTC.
    pub added: String,
}

impl MediaItem {
    /// `/media/<key>-<width>.webp`
    pub fn url(&self, width: i32) -> String {
        format!("/media/{}-{width}.webp", self.key)
    }

    /// Every stored width, for `srcset`.
    pub fn srcset(&self) -> String {
        self.widths
            .iter()
            .map(|w| format!("{} {w}w", self.url(*w)))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The widest stored copy.
    pub fn largest(&self) -> String {
        self.url(self.widths.last().copied().unwrap_or(self.width))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaList {
    pub items: Vec<MediaItem>,
    pub page: Page,
}

/// Pictures per library page.
pub const MEDIA_PAGE: i64 = 24;

#[server(endpoint = "owner/media", input = server_fn::codec::GetUrl)]
pub async fn media_library(page: Option<String>) -> Result<MediaList, AppError> {
    crate::owner::require_owner()?;
    let number = crate::content::parse_page(page.as_deref())?;
    let pool = use_context::<sqlx::PgPool>().ok_or(AppError::Internal)?;
    let total = sqlx::query_scalar!(r#"select count(*) as "n!" from media"#)
        .fetch_one(&pool)
        .await?;
    let page = Page::new(number, total, MEDIA_PAGE)?;
    let items = sqlx::query_as!(
        MediaItem,
        r#"select m.key, m.alt, m.width, m.height,
                  array(select v.width from media_variants v where v.media_id = m.id order by v.width) as "widths!",
                  to_char(m.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as "added!"
           from media m order by m.created_at desc, m.id desc limit $1 offset $2"#,
        MEDIA_PAGE,
        page.offset(MEDIA_PAGE),
    )
    .fetch_all(&pool)
    .await?;
    Ok(MediaList { items, page })
}

/// A notice after a redirect (`?added=…`, `?deleted=1`).
fn notice(added: Option<String>, deleted: bool) -> Option<&'static str> {
    if added.is_some() {
        Some("Uploaded. Its address is below, ready to use.")
    } else if deleted {
        Some("Deleted.")
    } else {
        None
    }
}

/// `/owner/media`
#[component]
pub fn MediaPage() -> impl IntoView {
    no_store();
    let query = use_query_map();
    let list = Resource::new_blocking(move || query.with(|q| q.get("page")), media_library);
    let notice = query.with_untracked(|q| notice(q.get("added"), q.get("deleted").is_some()));
    let submitted = Submitted::for_form("media");
    view! {
        <OwnerStyles/>
        <Seo title="Media".to_owned() description="The owner's pictures.".to_owned() path="/owner/media".to_owned() noindex=true/>
        <section class="owner-page" aria-labelledby="media-heading">
            <h1 id="media-heading">"Media"</h1>
            <OwnerNav current="/owner/media"/>
            <Suspense fallback=|| ()>
                {move || {
                    let submitted = submitted.clone();
                    Suspend::new(async move {
                        match list.await {
                            Err(error) => view! { <OwnerOnly error path="/owner/media"/> }.into_any(),
                            Ok(list) => view! {
                                {notice.map(|text| view! { <p class="notice-ok" role="status" data-testid="media-notice">{text}</p> })}
                                <h2>"Upload a picture"</h2>
                                <form class="owner-form" method="post" action="/owner/media" enctype="multipart/form-data" novalidate data-testid="upload-form" data-upload>
                                    <FormSummary text=submitted.summary_line()/>
                                    <div class="field drop-zone" data-drop-zone>
                                        <label for="media-file">"Picture"</label>
                                        <p class="hint" id="media-file-hint">"JPEG, PNG, GIF or WebP, up to 10 MB. It is stored as WebP in several widths, without its metadata."</p>
                                        <input id="media-file" name="file" type="file" accept="image/jpeg,image/png,image/gif,image/webp" required
                                            aria-invalid=submitted.error("file").map(|_| "true")
                                            aria-describedby=crate::components::described_by("media-file", true, submitted.error("file").is_some())/>
                                        <p class="field-error" id="media-file-error" data-testid="file-error">{submitted.error("file")}</p>
                                    </div>
                                    <Field id="media-alt" name="alt" label="Alt text" value=submitted.value("alt") max=300
                                        error=submitted.error("alt") hint="What the picture shows, for people who can't see it.".to_owned()/>
                                    <button type="submit" class="button">"Upload"</button>
                                </form>
                                <h2>"Library"</h2>
                                {if list.items.is_empty() {
                                    view! { <p class="empty" data-testid="media-empty">"No pictures yet."</p> }.into_any()
                                } else {
                                    view! {
                                        <ul class="media-grid" data-testid="media-library">
                                            {list.items.into_iter().map(|item| view! { <MediaCard item/> }).collect_view()}
                                        </ul>
                                        <Pagination page=list.page href=|n| page_href("/owner/media", n)/>
                                    }.into_any()
                                }}
                            }.into_any(),
                        }
                    })
                }}
            </Suspense>
        </section>
        <crate::editor::OwnerScript/>
    }
    .into_any()
}

/// One picture: a preview, its facts, the address to use, and delete.
#[component]
fn MediaCard(item: MediaItem) -> impl IntoView {
    let smallest = item.url(item.widths.first().copied().unwrap_or(item.width));
    let largest = item.largest();
    let markdown = format!("![{}]({largest})", item.alt.replace(']', "\\]"));
    let sizes = item
        .widths
        .iter()
        .map(|w| format!("{w}"))
        .collect::<Vec<_>>()
        .join(", ");
    view! {
        <li class="media-card" data-testid="media-item" data-key=item.key.clone()>
            <img src=smallest srcset=item.srcset() sizes="(min-width: 40rem) 16rem, 100vw" alt=item.alt.clone()
                width=item.width height=item.height loading="lazy" decoding="async"/>
            <p class="meta">{format!("{} × {} px · stored at {sizes} px wide", item.width, item.height)}</p>
            <p class="media-alt">{item.alt.clone()}</p>
            <p><code class="media-url" data-testid="media-url">{largest}</code></p>
            <p><code class="media-markdown">{markdown}</code></p>
            <form method="post" action=format!("/owner/media/{}/delete", item.key) class="inline-actions">
                <button type="submit" class="button danger">"Delete"</button>
            </form>
        </li>
    }
}
