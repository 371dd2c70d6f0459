//! Writing: posts, their lists and their SQL.

use crate::content::{Page, TocEntry};
use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Posts per page of the writing index.
pub const PAGE_SIZE: i64 = 10;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostCard {
    pub slug: String,
    pub title: String,
    pub summary: String,
    pub tags: Vec<String>,
    /// `YYYY-MM-DD`.
    pub published: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostList {
    pub items: Vec<PostCard>,
    pub page: Page,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostDetail {
    pub card: PostCard,
    pub body_html: String,
    pub toc: Vec<TocEntry>,
}

/// The newest published posts, for the home page.
#[server(endpoint = "posts/recent", input = server_fn::codec::GetUrl)]
pub async fn recent_posts() -> Result<Vec<PostCard>, AppError> {
    let pool = use_context::<sqlx::PgPool>().ok_or(AppError::Internal)?;
    Ok(ssr::list(&pool, 3, 0).await?)
}

/// One page of published posts, newest first.
#[server(endpoint = "posts/list", input = server_fn::codec::GetUrl)]
pub async fn list_posts(page: Option<String>) -> Result<PostList, AppError> {
    let pool = use_context::<sqlx::PgPool>().ok_or(AppError::Internal)?;
    let requested = crate::content::parse_page(page.as_deref())?;
    let page = Page::new(requested, ssr::count(&pool).await?, PAGE_SIZE)?;
    let items = ssr::list(&pool, PAGE_SIZE, page.offset(PAGE_SIZE)).await?;
    Ok(PostList { items, page })
}

/// A published post by its slug (for the signed-in owner, drafts and scheduled ones too).
#[server(endpoint = "posts/get", input = server_fn::codec::GetUrl)]
pub async fn get_post(slug: String) -> Result<PostDetail, AppError> {
    let pool = use_context::<sqlx::PgPool>().ok_or(AppError::Internal)?;
    let owner = crate::owner::current_owner().is_some();
    ssr::by_slug(&pool, &slug, owner)
        .await?
        .ok_or(AppError::NotFound)
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use super::{PostCard, PostDetail};
    use crate::content::{TocEntry, markdown};

    pub async fn count(db: impl sqlx::PgExecutor<'_>) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar!(r#"select count(*) as "count!" from posts where published_at <= now()"#)
            .fetch_one(db)
            .await
    }

    pub async fn list(
        db: impl sqlx::PgExecutor<'_>,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<PostCard>, sqlx::Error> {
        sqlx::query_as!(
            PostCard,
            r#"
            select slug, title, summary, tags, to_char(published_at, 'YYYY-MM-DD') as "published!"
            from posts
            where published_at <= now()
            order by published_at desc, id desc
            limit $1 offset $2
            "#,
            limit,
            offset
        )
        .fetch_all(db)
        .await
    }

    /// The post at `slug` if visitors can see it, or whatever its state when `drafts`.
    pub async fn by_slug(
        db: &sqlx::PgPool,
        slug: &str,
        drafts: bool,
    ) -> Result<Option<PostDetail>, sqlx::Error> {
        let row = sqlx::query!(
            r#"
            select slug, title, summary, tags, body, coalesce(to_char(published_at, 'YYYY-MM-DD'), '') as "published!"
            from posts
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
            PostDetail {
                card: PostCard {
                    slug: row.slug,
                    title: row.title,
                    summary: row.summary,
                    tags: row.tags,
                    published: row.published,
                },
                body_html: rendered.html,
                toc: rendered.headings.into_iter().map(TocEntry::from).collect(),
            }
        }))
    }
}
