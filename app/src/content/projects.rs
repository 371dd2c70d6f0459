//! Projects: the shared type, the server function that lists them, and its SQL.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// One project as a visitor sees it in a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectCard {
    pub slug: String,
    pub title: String,
    pub summary: String,
    pub year: Option<i32>,
    pub tags: Vec<String>,
}

/// Published projects in the owner's order, at most [`ssr::LIST_LIMIT`].
#[server(endpoint = "projects/list", input = server_fn::codec::GetUrl)]
pub async fn list_projects() -> Result<Vec<ProjectCard>, AppError> {
    let pool = use_context::<sqlx::PgPool>().ok_or(AppError::Internal)?;
    Ok(ssr::published(&pool).await?)
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use super::ProjectCard;

    /// How many projects a list shows at most (pagination arrives with the projects index).
    pub const LIST_LIMIT: i64 = 50;

    /// Published projects, owner's order first, then newest.
    pub async fn published(db: impl sqlx::PgExecutor<'_>) -> Result<Vec<ProjectCard>, sqlx::Error> {
        sqlx::query_as!(
            ProjectCard,
            r#"
            select slug, title, summary, year, tags
            from projects
            where published_at is not null and published_at <= now()
            order by sort_order, published_at desc, id
            limit $1
            "#,
            LIST_LIMIT
        )
        .fetch_all(db)
        .await
    }
}
