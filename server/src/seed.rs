//! The demo content (`server/seed/demo.toml`): loaded once, into an empty database only.
//!
//! "Once" is recorded in `site_state`, in the same transaction as the content, so the demo never
//! returns after the owner deletes it, and two instances starting together load it once. A
//! database that already holds the owner's content is marked as seeded and left untouched.

use serde::Deserialize;
use sqlx::PgPool;
use time::{Date, Month, OffsetDateTime, Time};

/// The demo content, compiled into the binary.
const DEMO: &str = include_str!("../seed/demo.toml");
/// The `site_state` key that records the decision.
const SEEDED: &str = "demo-content";

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("the demo content is malformed: {0}")]
    Malformed(String),
    #[error("loading the demo content failed: {0}")]
    Database(#[from] sqlx::Error),
}

/// What happened at start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seeded {
    /// The database was empty: the demo content is in.
    Loaded,
    /// Decided before (by this or another instance), or the owner's content is there.
    Skipped,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Demo {
    profile: Profile,
    skills: Vec<SkillGroup>,
    experience: Vec<Experience>,
    projects: Vec<Project>,
    posts: Vec<Post>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Profile {
    name: String,
    headline: String,
    bio_short: String,
    bio_long: String,
    location: String,
    availability: String,
    links: Vec<Link>,
}

#[derive(Debug, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
struct Link {
    label: String,
    url: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SkillGroup {
    category: String,
    names: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Experience {
    role: String,
    organisation: String,
    start: String,
    end: Option<String>,
    summary: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Project {
    slug: String,
    title: String,
    summary: String,
    year: i32,
    role: String,
    stack: Vec<String>,
    tags: Vec<String>,
    live_url: Option<String>,
    source_url: Option<String>,
    featured: bool,
    cover: String,
    cover_alt: String,
    published: String,
    body: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Post {
    slug: String,
    title: String,
    summary: String,
    tags: Vec<String>,
    published: String,
    body: String,
}

/// Demo covers are drawn as SVG (`public/demo/<name>.svg`, the editable originals) and served
/// as the WebP files `scripts/render-demo-covers` renders from them at these widths (keep the
/// two lists equal).
const DEMO_COVER_WIDTHS: [u32; 4] = [480, 720, 1080, 1600];

/// A demo cover's served addresses.
struct DemoCover {
    src: String,
    srcset: String,
}

impl DemoCover {
    fn from_svg(svg: &str) -> Self {
        let stem = svg.strip_suffix(".svg").unwrap_or(svg);
        let file = |width: u32| format!("{stem}-{width}.webp");
        Self {
            src: file(DEMO_COVER_WIDTHS[DEMO_COVER_WIDTHS.len() - 1]),
            srcset: DEMO_COVER_WIDTHS
                .iter()
                .map(|&w| format!("{} {w}w", file(w)))
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

fn malformed(message: impl Into<String>) -> SeedError {
    SeedError::Malformed(message.into())
}

/// `YYYY-MM` as the first day of that month.
fn month(value: &str) -> Result<Date, SeedError> {
    let (year, month) = value
        .split_once('-')
        .ok_or_else(|| malformed(format!("{value:?} is not YYYY-MM")))?;
    let year = year
        .parse()
        .map_err(|_| malformed(format!("bad year in {value:?}")))?;
    let month: u8 = month
        .parse()
        .map_err(|_| malformed(format!("bad month in {value:?}")))?;
    let month = Month::try_from(month).map_err(|e| malformed(e.to_string()))?;
    Date::from_calendar_date(year, month, 1).map_err(|e| malformed(e.to_string()))
}

/// `YYYY-MM-DD` as 09:00 UTC that day.
fn day(value: &str) -> Result<OffsetDateTime, SeedError> {
    let mut parts = value.splitn(3, '-');
    let first = month(&format!(
        "{}-{}",
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default()
    ))?;
    let day: u8 = parts
        .next()
        .and_then(|d| d.parse().ok())
        .ok_or_else(|| malformed(format!("{value:?} is not YYYY-MM-DD")))?;
    let date = first
        .replace_day(day)
        .map_err(|e| malformed(format!("{value:?}: {e}")))?;
    Ok(date
        .with_time(Time::from_hms(9, 0, 0).unwrap_or(Time::MIDNIGHT))
        .assume_utc())
}

/// Loads the demo content if this database has never decided about it and holds no content.
pub async fn demo_content(pool: &PgPool) -> Result<Seeded, SeedError> {
    let demo: Demo = toml::from_str(DEMO).map_err(|e| malformed(e.to_string()))?;
    let mut tx = pool.begin().await?;
    // Claims the decision: a second instance waits here, then finds the row and skips.
    let claimed = sqlx::query!(
        "insert into site_state (key, value) values ($1, 'deciding') on conflict (key) do nothing",
        SEEDED
    )
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if !claimed {
        return Ok(Seeded::Skipped);
    }
    let has_content = sqlx::query_scalar!(
        r#"select (exists (select 1 from profile) or exists (select 1 from projects)
                   or exists (select 1 from posts)) as "has!""#
    )
    .fetch_one(&mut *tx)
    .await?;
    if has_content {
        sqlx::query!(
            "update site_state set value = 'skipped: content present' where key = $1",
            SEEDED
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        return Ok(Seeded::Skipped);
    }

    let p = &demo.profile;
    let links = serde_json::to_value(&p.links).map_err(|e| malformed(e.to_string()))?;
    sqlx::query!(
        "insert into profile (name, headline, bio_short, bio_long, location, availability, links)
         values ($1, $2, $3, $4, $5, $6, $7)",
        p.name,
        p.headline,
        p.bio_short,
        p.bio_long.trim(),
        p.location,
        p.availability,
        links
    )
    .execute(&mut *tx)
    .await?;

    let mut order = 0;
    for group in &demo.skills {
        for name in &group.names {
            sqlx::query!(
                "insert into skills (category, name, sort_order) values ($1, $2, $3)",
                group.category,
                name,
                order
            )
            .execute(&mut *tx)
            .await?;
            order += 1;
        }
    }

    for (order, job) in (0..).zip(&demo.experience) {
        let ends_on = job.end.as_deref().map(month).transpose()?;
        sqlx::query!(
            "insert into experience (role, organisation, starts_on, ends_on, summary, sort_order)
             values ($1, $2, $3, $4, $5, $6)",
            job.role,
            job.organisation,
            month(&job.start)?,
            ends_on,
            job.summary,
            order
        )
        .execute(&mut *tx)
        .await?;
    }

    for (order, project) in (0..).zip(&demo.projects) {
        let cover = DemoCover::from_svg(&project.cover);
        sqlx::query!(
            "insert into projects (slug, title, summary, body, year, role, stack, tags, live_url,
                                   source_url, featured, cover, cover_alt, cover_srcset, sort_order,
                                   published_at)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
            project.slug,
            project.title,
            project.summary,
            project.body.trim(),
            project.year,
            project.role,
            &project.stack,
            &project.tags,
            project.live_url,
            project.source_url,
            project.featured,
            cover.src,
            project.cover_alt,
            cover.srcset,
            order,
            day(&project.published)?
        )
        .execute(&mut *tx)
        .await?;
    }

    for post in &demo.posts {
        sqlx::query!(
            "insert into posts (slug, title, summary, body, tags, published_at)
             values ($1, $2, $3, $4, $5, $6)",
            post.slug,
            post.title,
            post.summary,
            post.body.trim(),
            &post.tags,
            day(&post.published)?
        )
        .execute(&mut *tx)
        .await?;
    }

    sqlx::query!(
        "update site_state set value = 'loaded' where key = $1",
        SEEDED
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    tracing::info!(
        projects = demo.projects.len(),
        posts = demo.posts.len(),
        "demo content loaded into the empty database"
    );
    Ok(Seeded::Loaded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_file_parses_and_its_dates_are_valid() {
        let demo: Demo = toml::from_str(DEMO).expect("demo.toml parses");
        assert_eq!(demo.projects.len(), 12);
        assert!(demo.projects.iter().filter(|p| p.featured).count() >= 3);
        for project in &demo.projects {
            day(&project.published).expect(&project.slug);
            assert!(
                !project.cover_alt.is_empty(),
                "{} needs alt text",
                project.slug
            );
        }
        for job in &demo.experience {
            month(&job.start).expect(&job.role);
        }
    }

    #[test]
    fn every_demo_cover_is_shipped_at_every_width() {
        let demo: Demo = toml::from_str(DEMO).expect("demo.toml parses");
        let public = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../public");
        for project in &demo.projects {
            let cover = DemoCover::from_svg(&project.cover);
            assert!(cover.src.ends_with("-1600.webp"), "{}", cover.src);
            let files: Vec<&str> = cover
                .srcset
                .split(", ")
                .map(|candidate| candidate.split(' ').next().unwrap_or_default())
                .collect();
            assert_eq!(files.len(), DEMO_COVER_WIDTHS.len());
            for file in files
                .iter()
                .chain([&project.cover.as_str(), &cover.src.as_str()])
            {
                let path = public.join(file.trim_start_matches('/'));
                assert!(
                    path.is_file(),
                    "{} is missing (run scripts/render-demo-covers)",
                    path.display()
                );
            }
        }
    }

    #[test]
    fn dates_are_checked() {
        assert!(month("2021-13").is_err());
        assert!(day("2021-02-30").is_err());
        assert_eq!(day("2024-02-29").expect("leap day").date().day(), 29);
    }
}
