//! The portfolio's content: the profile, projects and posts, with what their lists share
//! (pagination, filters) and the server-side Markdown renderer.

#[cfg(feature = "ssr")]
pub mod markdown;
pub mod posts;
pub mod profile;
pub mod projects;

use crate::error::AppError;
use serde::{Deserialize, Serialize};

/// The largest page number accepted in an address, whatever the list's length.
const MAX_PAGE: u32 = 10_000;

/// Where a paginated list stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    /// 1-based.
    pub number: u32,
    /// At least 1: an empty list still has one (empty) page.
    pub count: u32,
    pub total: i64,
}

impl Page {
    /// Page `number` of a list of `total` items, or a clear error if it does not exist.
    pub fn new(number: u32, total: i64, size: i64) -> Result<Self, AppError> {
        let count = u32::try_from(((total.max(0) + size - 1) / size).max(1)).unwrap_or(MAX_PAGE);
        if number > count {
            let pages = if count == 1 {
                "1 page".to_owned()
            } else {
                format!("{count} pages")
            };
            return Err(AppError::invalid(
                "page",
                format!("There is no page {number}: this list has {pages}."),
            ));
        }
        Ok(Self {
            number,
            count,
            total,
        })
    }

    /// Rows to skip for this page.
    pub fn offset(&self, size: i64) -> i64 {
        i64::from(self.number - 1) * size
    }
}

/// The `page` parameter: absent means 1; anything but a whole number from 1 is refused clearly.
pub fn parse_page(raw: Option<&str>) -> Result<u32, AppError> {
    let Some(raw) = raw.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(1);
    };
    match raw.parse::<u32>() {
        Ok(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
        _ => Err(AppError::invalid(
            "page",
            format!(
                "\"{}\" is not a page number: use a whole number from 1.",
                raw.chars().take(20).collect::<String>()
            ),
        )),
    }
}

/// A filter value from the address: trimmed, empty meaning none, at most `max` characters.
pub fn clean_filter(
    raw: Option<&str>,
    field: &str,
    max: usize,
) -> Result<Option<String>, AppError> {
    let value = raw.map(str::trim).filter(|v| !v.is_empty());
    match value {
        Some(v) if v.chars().count() > max => Err(AppError::invalid(
            field,
            format!("Keep it under {max} characters."),
        )),
        Some(v) => Ok(Some(v.to_owned())),
        None => Ok(None),
    }
}

/// One heading of a long text, for its table of contents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TocEntry {
    pub level: u8,
    pub id: String,
    pub text: String,
}

#[cfg(feature = "ssr")]
impl From<markdown::Heading> for TocEntry {
    fn from(heading: markdown::Heading) -> Self {
        Self {
            level: heading.level,
            id: heading.id,
            text: heading.text,
        }
    }
}

/// The media-store facts of the uploaded images `markdown` refers to, for
/// [`markdown::render_sized`].
#[cfg(feature = "ssr")]
pub async fn image_sizes(
    pool: &sqlx::PgPool,
    markdown: &str,
) -> Result<markdown::ImageSizes, sqlx::Error> {
    let keys = markdown::media_keys(markdown);
    if keys.is_empty() {
        return Ok(markdown::ImageSizes::new());
    }
    let rows = sqlx::query!(
        "select m.key, v.width, v.height from media m join media_variants v on v.media_id = m.id
         where m.key = any($1) order by m.key, v.width",
        &keys,
    )
    .fetch_all(pool)
    .await?;
    let mut sizes = markdown::ImageSizes::new();
    for group in rows.chunk_by(|a, b| a.key == b.key) {
        let url = |width: i32| format!("/media/{}-{width}.webp", group[0].key);
        let srcset = group
            .iter()
            .map(|v| format!("{} {}w", url(v.width), v.width))
            .collect::<Vec<_>>()
            .join(", ");
        for variant in group {
            sizes.insert(
                url(variant.width),
                markdown::ImageFacts {
                    width: u32::try_from(variant.width).unwrap_or(0),
                    height: u32::try_from(variant.height).unwrap_or(0),
                    srcset: srcset.clone(),
                },
            );
        }
    }
    Ok(sizes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_numbers_are_whole_numbers_from_one() {
        assert_eq!(parse_page(None), Ok(1));
        assert_eq!(parse_page(Some("")), Ok(1));
        assert_eq!(parse_page(Some(" 3 ")), Ok(3));
        for bad in [
            "0",
            "-1",
            "abc",
            "1.5",
            "99999999999999999999",
            "10001",
            "1e3",
        ] {
            let error = parse_page(Some(bad)).expect_err(bad);
            assert_eq!(error.status_code(), 400, "{bad}");
            assert!(error.to_string().contains("page"), "{error}");
        }
    }

    #[test]
    fn a_page_past_the_end_is_refused_with_the_count() {
        assert_eq!(
            Page::new(1, 0, 9).map(|p| p.count),
            Ok(1),
            "an empty list has one page"
        );
        assert_eq!(Page::new(2, 10, 9).map(|p| p.offset(9)), Ok(9));
        let error = Page::new(3, 10, 9).expect_err("only 2 pages");
        assert!(error.to_string().contains("2 pages"), "{error}");
        assert_eq!(error.status_code(), 400);
    }

    #[test]
    fn filters_are_trimmed_and_bounded() {
        assert_eq!(
            clean_filter(Some("  rust "), "tag", 40),
            Ok(Some("rust".into()))
        );
        assert_eq!(clean_filter(Some("   "), "tag", 40), Ok(None));
        assert!(clean_filter(Some(&"x".repeat(41)), "tag", 40).is_err());
    }
}
