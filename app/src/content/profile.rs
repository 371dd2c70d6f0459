//! The owner's profile: who they are, their links, skills and experience.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub label: String,
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkillGroup {
    pub category: String,
    pub names: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    pub role: String,
    pub organisation: String,
    /// `YYYY-MM`.
    pub start: String,
    /// `YYYY-MM`, or `None` for the present.
    pub end: Option<String>,
    pub summary: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    pub name: String,
    pub headline: String,
    pub bio_short: String,
    /// Sanitized HTML rendered from the Markdown bio.
    pub bio_html: String,
    pub location: String,
    pub availability: String,
    /// The portrait's address and its alt text, if the owner set one.
    pub avatar: Option<(String, String)>,
    pub links: Vec<Link>,
    pub skills: Vec<SkillGroup>,
    pub experience: Vec<Job>,
}

impl Profile {
    /// What a site with no profile yet shows.
    pub fn placeholder() -> Self {
        Self {
            name: "folio".into(),
            headline: String::new(),
            bio_short: String::new(),
            bio_html: String::new(),
            location: String::new(),
            availability: String::new(),
            avatar: None,
            links: Vec::new(),
            skills: Vec::new(),
            experience: Vec::new(),
        }
    }
}

/// The profile, or a placeholder while the owner has not written one.
#[server(endpoint = "profile/get", input = server_fn::codec::GetUrl)]
pub async fn get_profile() -> Result<Profile, AppError> {
    let pool = use_context::<sqlx::PgPool>().ok_or(AppError::Internal)?;
    Ok(ssr::load(&pool).await?.unwrap_or_else(Profile::placeholder))
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use super::{Job, Link, Profile, SkillGroup};
    use crate::content::markdown;
    use sqlx::PgPool;

    pub async fn load(pool: &PgPool) -> Result<Option<Profile>, sqlx::Error> {
        let Some(row) = sqlx::query!(
            "select name, headline, bio_short, bio_long, location, availability, avatar, avatar_alt, links
             from profile"
        )
        .fetch_optional(pool)
        .await?
        else {
            return Ok(None);
        };
        let skills = sqlx::query!("select category, name from skills order by sort_order, id")
            .fetch_all(pool)
            .await?;
        let mut groups: Vec<SkillGroup> = Vec::new();
        for skill in skills {
            match groups.iter_mut().find(|g| g.category == skill.category) {
                Some(group) => group.names.push(skill.name),
                None => groups.push(SkillGroup {
                    category: skill.category,
                    names: vec![skill.name],
                }),
            }
        }
        let experience = sqlx::query_as!(
            Job,
            r#"
            select role, organisation, to_char(starts_on, 'YYYY-MM') as "start!",
                   to_char(ends_on, 'YYYY-MM') as end, summary
            from experience
            order by sort_order, starts_on desc
            "#
        )
        .fetch_all(pool)
        .await?;
        // Links were validated when saved; a malformed entry is skipped rather than fatal.
        let links: Vec<Link> = serde_json::from_value(row.links).unwrap_or_default();
        Ok(Some(Profile {
            name: row.name,
            headline: row.headline,
            bio_short: row.bio_short,
            bio_html: markdown::render_sized(
                &row.bio_long,
                &crate::content::image_sizes(pool, &row.bio_long).await?,
            )
            .html,
            location: row.location,
            availability: row.availability,
            avatar: row.avatar.map(|src| (src, row.avatar_alt)),
            links,
            skills: groups,
            experience,
        }))
    }
}
