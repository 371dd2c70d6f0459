//! Projects: the shared types, the server functions that read them, and their SQL.

use crate::content::{Page, TocEntry};
use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Projects per page of the index.
pub const PAGE_SIZE: i64 = 9;

/// One project as a visitor sees it in a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectCard {
    pub slug: String,
    pub title: String,
    pub summary: String,
    pub year: Option<i32>,
    pub tags: Vec<String>,
    pub cover: Option<String>,
    pub cover_alt: String,
    /// `srcset` candidates for the cover (empty: only `cover`).
    pub cover_srcset: String,
}

/// What the projects index asked for and found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectList {
    pub items: Vec<ProjectCard>,
    pub page: Page,
    /// Every tag on a published project, for the filter.
    pub tags: Vec<String>,
    /// The filters applied, as cleaned (trimmed; empty means none).
    pub tag: Option<String>,
    pub q: Option<String>,
}

/// A whole case study.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectDetail {
    pub card: ProjectCard,
    pub role: String,
    pub stack: Vec<String>,
    pub live_url: Option<String>,
    pub source_url: Option<String>,
    /// `YYYY-MM-DD`.
    pub published: String,
    /// Sanitized HTML rendered from the Markdown body.
    pub body_html: String,
    pub toc: Vec<TocEntry>,
}

/// The filter of the projects index, as it arrives in the address (`?tag=&q=&page=`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectQuery {
    pub tag: Option<String>,
    pub q: Option<String>,
    /// Raw, so a bad value gets a clear message rather than a decoding error.
    pub page: Option<String>,
}

/// Featured published projects for the home page, in the owner's order.
#[server(endpoint = "projects/featured", input = server_fn::codec::GetUrl)]
pub async fn featured_projects() -> Result<Vec<ProjectCard>, AppError> {
    let pool = use_context::<sqlx::PgPool>().ok_or(AppError::Internal)?;
    Ok(ssr::featured(&pool).await?)
}

/// One page of published projects, filtered by tag and text.
#[server(endpoint = "projects/list", input = server_fn::codec::GetUrl)]
pub async fn list_projects(query: ProjectQuery) -> Result<ProjectList, AppError> {
    let pool = use_context::<sqlx::PgPool>().ok_or(AppError::Internal)?;
    let requested = crate::content::parse_page(query.page.as_deref())?;
    let tag = crate::content::clean_filter(query.tag.as_deref(), "tag", 40)?;
    let text = crate::content::clean_filter(query.q.as_deref(), "q", 100)?;
    let total = ssr::count(&pool, tag.as_deref(), text.as_deref()).await?;
    let page = Page::new(requested, total, PAGE_SIZE)?;
    let items = ssr::list(
        &pool,
        tag.as_deref(),
        text.as_deref(),
        page.offset(PAGE_SIZE),
    )
    .await?;
    let tags = ssr::tags(&pool).await?;
    Ok(ProjectList {
        items,
        page,
        tags,
        tag,
        q: text,
    })
}

/// A published project by its slug (for the signed-in owner, drafts and scheduled ones too).
#[server(endpoint = "projects/get", input = server_fn::codec::GetUrl)]
pub async fn get_project(slug: String) -> Result<ProjectDetail, AppError> {
    let pool = use_context::<sqlx::PgPool>().ok_or(AppError::Internal)?;
    let owner = crate::owner::current_owner().is_some();
    ssr::by_slug(&pool, &slug, owner)
        .await?
        .ok_or(AppError::NotFound)
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use super::{PAGE_SIZE, ProjectCard, ProjectDetail};
    use crate::content::{TocEntry, markdown};

    /// Published projects, owner's order first, then newest: the order of every list.
    pub async fn featured(db: impl sqlx::PgExecutor<'_>) -> Result<Vec<ProjectCard>, sqlx::Error> {
        sqlx::query_as!(
            ProjectCard,
            r#"
            select slug, title, summary, year, tags, cover, cover_alt, cover_srcset
            from projects
            where published_at <= now() and featured
            order by sort_order, published_at desc, id
            limit 6
            "#
        )
        .fetch_all(db)
        .await
    }

    // Text search: PostgreSQL's full-text match (stemmed, any input is safe with
    // websearch_to_tsquery), or a plain substring of the title.
    pub async fn count(
        db: impl sqlx::PgExecutor<'_>,
        tag: Option<&str>,
        text: Option<&str>,
    ) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar!(
            r#"
            select count(*) as "count!"
            from projects
            where published_at <= now()
              and ($1::text is null or $1 = any(tags))
              and ($2::text is null
                   or to_tsvector('english', title || ' ' || summary || ' ' || body || ' ' || array_to_string(tags, ' '))
                      @@ websearch_to_tsquery('english', $2)
                   or strpos(lower(title), lower($2)) > 0)
            "#,
            tag,
            text
        )
        .fetch_one(db)
        .await
    }

    pub async fn list(
        db: impl sqlx::PgExecutor<'_>,
        tag: Option<&str>,
        text: Option<&str>,
        offset: i64,
    ) -> Result<Vec<ProjectCard>, sqlx::Error> {
        sqlx::query_as!(
            ProjectCard,
            r#"
            select slug, title, summary, year, tags, cover, cover_alt, cover_srcset
            from projects
            where published_at <= now()
              and ($1::text is null or $1 = any(tags))
              and ($2::text is null
                   or to_tsvector('english', title || ' ' || summary || ' ' || body || ' ' || array_to_string(tags, ' '))
                      @@ websearch_to_tsquery('english', $2)
                   or strpos(lower(title), lower($2)) > 0)
            order by sort_order, published_at desc, id
            limit $3 offset $4
            "#,
            tag,
            text,
            PAGE_SIZE,
            offset
        )
        .fetch_all(db)
        .await
    }

    /// Every tag used by a published project, alphabetically.
    pub async fn tags(db: impl sqlx::PgExecutor<'_>) -> Result<Vec<String>, sqlx::Error> {
        sqlx::query_scalar!(
            r#"
            select distinct unnest(tags) as "tag!"
            from projects
            where published_at <= now()
            order by 1
            "#
        )
        .fetch_all(db)
        .await
    }

    /// The project at `slug` if visitors can see it, or whatever its state when `drafts`.
    pub async fn by_slug(
        db: &sqlx::PgPool,
        slug: &str,
        drafts: bool,
    ) -> Result<Option<ProjectDetail>, sqlx::Error> {
        let row = sqlx::query!(
            r#"
            select slug, title, summary, year, tags, cover, cover_alt, cover_srcset, role, stack, live_url,
                   source_url, body, coalesce(to_char(published_at, 'YYYY-MM-DD'), '') as "published!"
            from projects
            where slug = $1 and ($2 or published_at <= now())
            "#,
            slug,
            drafts
        )
        .fetch_optional(db)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let sizes = crate::content::image_sizes(db, &row.body).await?;
        let rendered = markdown::render_sized(&row.body, &sizes);
        Ok(Some({
            ProjectDetail {
                card: ProjectCard {
                    slug: row.slug,
                    title: row.title,
                    summary: row.summary,
                    year: row.year,
                    tags: row.tags,
                    cover: row.cover,
                    cover_alt: row.cover_alt,
                    cover_srcset: row.cover_srcset,
                },
                role: row.role,
                stack: row.stack,
                live_url: row.live_url,
                source_url: row.source_url,
                published: row.published,
                body_html: rendered.html,
                toc: rendered.headings.into_iter().map(TocEntry::from).collect(),
            }
        }))
    }
}
