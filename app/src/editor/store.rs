//! The editor's SQL: loading an item for the form, and every change the owner makes to one.
//!
//! Every change runs in one transaction that locks the item's row, checks the version the
//! owner started from (a stale one is refused with the newer item, never overwritten), writes
//! the change and its revision, and commits; nothing is half-written. The first change to an
//! item that has no history yet records its state before the change as a `baseline` revision,
//! so even content loaded before revisions existed can be restored.

use super::{Item, Kind, Status, Values};
use sqlx::PgPool;
use sqlx::types::time::OffsetDateTime;

/// Which item.
#[derive(Debug, Clone, Copy)]
pub enum Key<'a> {
    Id(i64),
    Slug(&'a str),
}

/// What a save does to the item's publication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Publish {
    Keep,
    Now,
    Unpublish,
    At(OffsetDateTime),
}

/// Why a change was not made.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    /// Field problems, by field name.
    #[error("invalid input")]
    Invalid(Vec<(String, String)>),
    /// The item changed since the version the owner started from: here it is now.
    #[error("the item changed meanwhile")]
    Conflict(Box<Item>),
    #[error("no such item")]
    NotFound,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl ChangeError {
    /// A named constraint the owner can fix, as the field it is about; anything else as is.
    fn from_db(error: sqlx::Error, kind: Kind) -> Self {
        let constraint = error
            .as_database_error()
            .and_then(|e| e.constraint())
            .unwrap_or_default();
        let noun = match kind {
            Kind::Post => "post",
            _ => "project",
        };
        match constraint {
            "projects_slug_key" | "posts_slug_key" => Self::Invalid(vec![(
                "slug".to_owned(),
                format!("Another {noun} already has this address: choose another slug."),
            )]),
            _ => Self::Db(error),
        }
    }
}

/// What a revision records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Create,
    Save,
    Publish,
    Unpublish,
    Schedule,
    Restore,
    Delete,
    Undelete,
    Duplicate,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Save => "save",
            Self::Publish => "publish",
            Self::Unpublish => "unpublish",
            Self::Schedule => "schedule",
            Self::Restore => "restore",
            Self::Delete => "delete",
            Self::Undelete => "undelete",
            Self::Duplicate => "duplicate",
        }
    }
}

/// An item as stored, with the facts a change needs besides its form values.
struct Stored {
    item: Item,
    published_at: Option<OffsetDateTime>,
    cover_srcset: String,
}

const RFC3339_UTC: &str = r#"YYYY-MM-DD"T"HH24:MI:SS"Z""#;

fn status(published_at: Option<OffsetDateTime>, rfc3339: Option<String>) -> Status {
    match (published_at, rfc3339) {
        (Some(at), Some(text)) if at > OffsetDateTime::now_utc() => Status::Scheduled { at: text },
        (Some(_), Some(text)) => Status::Published { at: text },
        _ => Status::Draft,
    }
}

fn list(values: &[String]) -> String {
    values.join(", ")
}

fn unlist(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn none_if_empty(value: &str) -> Option<&str> {
    (!value.is_empty()).then_some(value)
}

fn values<const N: usize>(pairs: [(&str, String); N]) -> Values {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// The profile's links, stored as `[{"label", "url"}]`, as the form's lines.
fn links_text(links: &serde_json::Value) -> String {
    let links: Vec<crate::content::profile::Link> =
        serde_json::from_value(links.clone()).unwrap_or_default();
    links
        .iter()
        .map(|l| format!("{} | {}", l.label, l.url))
        .collect::<Vec<_>>()
        .join("\n")
}

fn links_json(text: &str) -> serde_json::Value {
    let links: Vec<serde_json::Value> = text
        .lines()
        .filter_map(|line| line.split_once('|'))
        .map(|(label, url)| serde_json::json!({ "label": label.trim(), "url": url.trim() }))
        .collect();
    serde_json::Value::Array(links)
}

/// The profile's skills and timeline as the form's text (`Category: a, b` lines, and
/// [`super::Entry`] lines).
async fn profile_lists(conn: &mut sqlx::PgConnection) -> Result<(String, String), sqlx::Error> {
    let skills = sqlx::query!(
        r#"select category as "category!", string_agg(name, ', ' order by sort_order, id) as "names!"
           from skills group by category order by min(sort_order), min(id)"#
    )
    .fetch_all(&mut *conn)
    .await?;
    let skills = skills
        .into_iter()
        .map(|g| format!("{}: {}", g.category, g.names))
        .collect::<Vec<_>>()
        .join("\n");
    let experience = sqlx::query!(
        r#"select role, organisation, to_char(starts_on, 'YYYY-MM') as "start!",
                  coalesce(to_char(ends_on, 'YYYY-MM'), '') as "end!", summary
           from experience order by sort_order, starts_on desc, id"#
    )
    .fetch_all(&mut *conn)
    .await?;
    let experience = experience
        .into_iter()
        .map(|e| {
            super::Entry {
                start: e.start,
                end: e.end,
                role: e.role,
                organisation: e.organisation,
                summary: e.summary,
            }
            .line()
        })
        .collect::<Vec<_>>()
        .join("\n");
    Ok((skills, experience))
}

/// Replaces the profile's skills and timeline with the (validated) form text.
async fn save_profile_lists(
    conn: &mut sqlx::PgConnection,
    skills: &str,
    experience: &str,
) -> Result<(), sqlx::Error> {
    let (mut categories, mut names) = (Vec::new(), Vec::new());
    for line in skills.lines() {
        if let Some((category, list)) = line.split_once(':') {
            for name in unlist(list) {
                categories.push(category.trim().to_owned());
                names.push(name);
            }
        }
    }
    sqlx::query!("delete from skills")
        .execute(&mut *conn)
        .await?;
    sqlx::query!(
        "insert into skills (category, name, sort_order)
         select c, n, o::integer * 10 from unnest($1::text[], $2::text[]) with ordinality as t(c, n, o)",
        &categories,
        &names,
    )
    .execute(&mut *conn)
    .await?;
    let entries = super::entries(experience);
    let column = |part: fn(&super::Entry) -> &String| -> Vec<String> {
        entries.iter().map(|e| part(e).clone()).collect()
    };
    sqlx::query!("delete from experience")
        .execute(&mut *conn)
        .await?;
    sqlx::query!(
        "insert into experience (role, organisation, starts_on, ends_on, summary, sort_order)
         select r, g, to_date(s, 'YYYY-MM'), to_date(nullif(e, ''), 'YYYY-MM'), m, o::integer * 10
         from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
              with ordinality as t(r, g, s, e, m, o)",
        &column(|e| &e.role),
        &column(|e| &e.organisation),
        &column(|e| &e.start),
        &column(|e| &e.end),
        &column(|e| &e.summary),
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The item, if it exists.
pub async fn load(db: &PgPool, kind: Kind, key: Key<'_>) -> Result<Option<Item>, sqlx::Error> {
    let mut conn = db.acquire().await?;
    Ok(fetch(&mut conn, kind, key, false)
        .await?
        .map(|stored| stored.item))
}

/// Reads an item; `lock` holds its row until the transaction ends.
async fn fetch(
    conn: &mut sqlx::PgConnection,
    kind: Kind,
    key: Key<'_>,
    lock: bool,
) -> Result<Option<Stored>, sqlx::Error> {
    let (id, slug) = match key {
        Key::Id(id) => (Some(id), None),
        Key::Slug(slug) => (None, Some(slug)),
    };
    if lock {
        // Taken first, so two saves of one item queue here instead of racing past the check.
        let locked = match kind {
            Kind::Profile => {
                sqlx::query_scalar!("select 1 as one from profile for update")
                    .fetch_optional(&mut *conn)
                    .await?
            }
            Kind::Project => {
                sqlx::query_scalar!("select 1 as one from projects where id = $1 for update", id)
                    .fetch_optional(&mut *conn)
                    .await?
            }
            Kind::Post => {
                sqlx::query_scalar!("select 1 as one from posts where id = $1 for update", id)
                    .fetch_optional(&mut *conn)
                    .await?
            }
        };
        if locked.is_none() && kind != Kind::Profile {
            return Ok(None);
        }
    }
    Ok(read(conn, kind, id, slug).await?.into_iter().next())
}

/// The items of `kind` with this `id` and/or `slug` (every one when both are `None`), projects
/// in the owner's order and posts newest first, drafts first.
async fn read(
    conn: &mut sqlx::PgConnection,
    kind: Kind,
    id: Option<i64>,
    slug: Option<&str>,
) -> Result<Vec<Stored>, sqlx::Error> {
    match kind {
        Kind::Profile => {
            let row = sqlx::query!(
                "select version, name, headline, bio_short, bio_long, location, availability,
                        avatar, avatar_alt, links
                 from profile"
            )
            .fetch_optional(&mut *conn)
            .await?;
            let (skills, experience) = profile_lists(conn).await?;
            // A site without a profile row yet edits an empty one at version 0.
            let item = match row {
                Some(row) => Item {
                    kind,
                    id: 1,
                    version: row.version,
                    values: values([
                        ("name", row.name),
                        ("headline", row.headline),
                        ("bio_short", row.bio_short),
                        ("bio_long", row.bio_long),
                        ("location", row.location),
                        ("availability", row.availability),
                        ("avatar", row.avatar.unwrap_or_default()),
                        ("avatar_alt", row.avatar_alt),
                        ("links", links_text(&row.links)),
                        ("experience", experience),
                        ("skills", skills),
                    ]),
                    status: Status::Always,
                },
                None => Item {
                    kind,
                    id: 1,
                    version: 0,
                    values: Values::new(),
                    status: Status::Always,
                },
            };
            Ok(vec![Stored {
                item,
                published_at: None,
                cover_srcset: String::new(),
            }])
        }
        Kind::Project => {
            let rows = sqlx::query!(
                r#"select id, version, slug, title, summary, role, year, stack, tags, live_url,
                          source_url, cover, cover_alt, cover_srcset, featured, body, published_at,
                          to_char(published_at at time zone 'UTC', $3) as published_text
                   from projects
                   where ($1::bigint is null or id = $1) and ($2::text is null or slug = $2)
                   order by sort_order, published_at desc, id"#,
                id,
                slug,
                RFC3339_UTC,
            )
            .fetch_all(&mut *conn)
            .await?;
            Ok(rows
                .into_iter()
                .map(|row| Stored {
                    item: Item {
                        kind,
                        id: row.id,
                        version: row.version,
                        values: values([
                            ("slug", row.slug),
                            ("title", row.title),
                            ("summary", row.summary),
                            ("role", row.role),
                            ("year", row.year.map(|y| y.to_string()).unwrap_or_default()),
                            ("stack", list(&row.stack)),
                            ("tags", list(&row.tags)),
                            ("live_url", row.live_url.unwrap_or_default()),
                            ("source_url", row.source_url.unwrap_or_default()),
                            ("cover", row.cover.unwrap_or_default()),
                            ("cover_alt", row.cover_alt),
                            ("featured", if row.featured { "on" } else { "" }.to_owned()),
                            ("body", row.body),
                        ]),
                        status: status(row.published_at, row.published_text),
                    },
                    published_at: row.published_at,
                    cover_srcset: row.cover_srcset,
                })
                .collect())
        }
        Kind::Post => {
            let rows = sqlx::query!(
                r#"select id, version, slug, title, summary, tags, body, published_at,
                          to_char(published_at at time zone 'UTC', $3) as published_text
                   from posts
                   where ($1::bigint is null or id = $1) and ($2::text is null or slug = $2)
                   order by published_at desc nulls first, id desc"#,
                id,
                slug,
                RFC3339_UTC,
            )
            .fetch_all(&mut *conn)
            .await?;
            Ok(rows
                .into_iter()
                .map(|row| Stored {
                    item: Item {
                        kind,
                        id: row.id,
                        version: row.version,
                        values: values([
                            ("slug", row.slug),
                            ("title", row.title),
                            ("summary", row.summary),
                            ("tags", list(&row.tags)),
                            ("body", row.body),
                        ]),
                        status: status(row.published_at, row.published_text),
                    },
                    published_at: row.published_at,
                    cover_srcset: String::new(),
                })
                .collect())
        }
    }
}

/// Records a revision of `item` at `version`; a `baseline` that already exists is left alone.
async fn record(
    conn: &mut sqlx::PgConnection,
    kind: Kind,
    id: i64,
    version: i32,
    action: &str,
    values: &Values,
    published_at: Option<OffsetDateTime>,
) -> Result<(), sqlx::Error> {
    let data = serde_json::to_value(values).unwrap_or_else(|_| serde_json::json!({}));
    sqlx::query!(
        "insert into revisions (kind, item_id, version, action, data, published_at)
         values ($1, $2, $3, $4, $5, $6)
         on conflict (kind, item_id, version) do nothing",
        kind.as_str(),
        id,
        version,
        action,
        data,
        published_at,
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The `srcset` for a cover address: every stored width of an upload, or what the cover had
/// before if it did not change, or none.
async fn cover_srcset(
    conn: &mut sqlx::PgConnection,
    cover: &str,
    before: &Stored,
) -> Result<String, sqlx::Error> {
    if cover == before.item.value("cover") {
        return Ok(before.cover_srcset.clone());
    }
    let Some(key) = cover
        .strip_prefix("/media/")
        .and_then(|file| file.split_once('-'))
        .map(|(key, _)| key)
    else {
        return Ok(String::new());
    };
    let widths = sqlx::query_scalar!(
        "select v.width from media m join media_variants v on v.media_id = m.id
         where m.key = $1 order by v.width",
        key
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(widths
        .iter()
        .map(|w| format!("/media/{key}-{w}.webp {w}w"))
        .collect::<Vec<_>>()
        .join(", "))
}

/// Saves the owner's `raw` form values over version `base` of an item, publishing as asked,
/// and records the revision. Returns the item as saved.
pub async fn save(
    pool: &PgPool,
    kind: Kind,
    id: i64,
    base: i32,
    raw: &Values,
    publish: Publish,
    action: Action,
) -> Result<Item, ChangeError> {
    let clean = super::validate(kind, raw).map_err(ChangeError::Invalid)?;
    let mut tx = pool.begin().await?;
    let before = fetch(&mut tx, kind, Key::Id(id), true)
        .await?
        .ok_or(ChangeError::NotFound)?;
    if before.item.version != base {
        return Err(ChangeError::Conflict(Box::new(before.item)));
    }
    if before.item.version > 0 {
        record(
            &mut tx,
            kind,
            id,
            before.item.version,
            "baseline",
            &before.item.values,
            before.published_at,
        )
        .await?;
    }
    let published_at = match publish {
        Publish::Keep => before.published_at,
        Publish::Now => Some(OffsetDateTime::now_utc()),
        Publish::Unpublish => None,
        Publish::At(at) => Some(at),
    };
    let get = |name: &str| clean.get(name).map_or("", String::as_str);
    // Most profile saves change neither list: their rows are then left as they are.
    let lists_changed = ["skills", "experience"]
        .iter()
        .any(|name| get(name) != before.item.value(name));
    if kind == Kind::Profile && lists_changed {
        save_profile_lists(&mut tx, get("skills"), get("experience")).await?;
    }
    let version = match kind {
        Kind::Profile => sqlx::query_scalar!(
            "insert into profile (id, name, headline, bio_short, bio_long, location, availability,
                                  avatar, avatar_alt, links, version)
             values (1, $1, $2, $3, $4, $5, $6, $7, $8, $9, 1)
             on conflict (id) do update set
                 name = excluded.name, headline = excluded.headline,
                 bio_short = excluded.bio_short, bio_long = excluded.bio_long,
                 location = excluded.location, availability = excluded.availability,
                 avatar = excluded.avatar, avatar_alt = excluded.avatar_alt,
                 links = excluded.links, version = profile.version + 1, updated_at = now()
             returning version",
            get("name"),
            get("headline"),
            get("bio_short"),
            get("bio_long"),
            get("location"),
            get("availability"),
            none_if_empty(get("avatar")),
            get("avatar_alt"),
            links_json(get("links")),
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| ChangeError::from_db(e, kind))?,
        Kind::Project => {
            let srcset = cover_srcset(&mut tx, get("cover"), &before).await?;
            sqlx::query_scalar!(
                "update projects set
                     slug = $2, title = $3, summary = $4, role = $5, year = $6, stack = $7,
                     tags = $8, live_url = $9, source_url = $10, cover = $11, cover_alt = $12,
                     cover_srcset = $13, featured = $14, body = $15, published_at = $16,
                     version = version + 1, updated_at = now()
                 where id = $1
                 returning version",
                id,
                get("slug"),
                get("title"),
                get("summary"),
                get("role"),
                get("year").parse::<i32>().ok(),
                &unlist(get("stack")),
                &unlist(get("tags")),
                none_if_empty(get("live_url")),
                none_if_empty(get("source_url")),
                none_if_empty(get("cover")),
                get("cover_alt"),
                srcset,
                !get("featured").is_empty(),
                get("body"),
                published_at,
            )
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| ChangeError::from_db(e, kind))?
        }
        Kind::Post => sqlx::query_scalar!(
            "update posts set
                 slug = $2, title = $3, summary = $4, tags = $5, body = $6, published_at = $7,
                 version = version + 1, updated_at = now()
             where id = $1
             returning version",
            id,
            get("slug"),
            get("title"),
            get("summary"),
            &unlist(get("tags")),
            get("body"),
            published_at,
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| ChangeError::from_db(e, kind))?,
    };
    record(
        &mut tx,
        kind,
        id,
        version,
        action.as_str(),
        &clean,
        published_at,
    )
    .await?;
    let saved = fetch(&mut tx, kind, Key::Id(id), false)
        .await?
        .ok_or(ChangeError::NotFound)?;
    tx.commit().await?;
    Ok(saved.item)
}

/// A slug like `base` that no other item of `kind` has: `base`, `base-2`, `base-3`...
async fn free_slug(
    conn: &mut sqlx::PgConnection,
    kind: Kind,
    base: &str,
) -> Result<String, sqlx::Error> {
    let pattern = format!("{base}%");
    let taken: Vec<String> = match kind {
        Kind::Post => {
            sqlx::query_scalar!("select slug from posts where slug like $1", pattern)
                .fetch_all(&mut *conn)
                .await?
        }
        _ => {
            sqlx::query_scalar!("select slug from projects where slug like $1", pattern)
                .fetch_all(&mut *conn)
                .await?
        }
    };
    let base = base.get(..70).unwrap_or(base).trim_end_matches('-');
    Ok((1..)
        .map(|n| {
            if n == 1 {
                base.to_owned()
            } else {
                format!("{base}-{n}")
            }
        })
        .find(|slug| !taken.contains(slug))
        .unwrap_or_else(|| base.to_owned()))
}

/// Inserts a project or post as a draft from form values (with `id` kept when it comes back
/// from a deletion) and records its first revision.
async fn insert(
    conn: &mut sqlx::PgConnection,
    kind: Kind,
    keep_id: Option<i64>,
    version: i32,
    clean: &Values,
    published_at: Option<OffsetDateTime>,
    action: Action,
) -> Result<i64, ChangeError> {
    let get = |name: &str| clean.get(name).map_or("", String::as_str);
    let id =
        match kind {
            Kind::Project => {
                let srcset = match get("cover") {
                    "" => String::new(),
                    cover => {
                        let none = Stored {
                            item: Item {
                                kind,
                                id: 0,
                                version: 0,
                                values: Values::new(),
                                status: Status::Draft,
                            },
                            published_at: None,
                            cover_srcset: String::new(),
                        };
                        cover_srcset(conn, cover, &none).await?
                    }
                };
                sqlx::query_scalar!(
                    r#"insert into projects (id, slug, title, summary, role, year, stack, tags,
                       live_url, source_url, cover, cover_alt, cover_srcset, featured, body,
                       published_at, version, sort_order)
                   overriding system value
                   values (coalesce($1, nextval(pg_get_serial_sequence('projects', 'id'))),
                           $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
                           (select coalesce(max(sort_order), 0) + 10 from projects))
                   returning id"#,
                    keep_id,
                    get("slug"),
                    get("title"),
                    get("summary"),
                    get("role"),
                    get("year").parse::<i32>().ok(),
                    &unlist(get("stack")),
                    &unlist(get("tags")),
                    none_if_empty(get("live_url")),
                    none_if_empty(get("source_url")),
                    none_if_empty(get("cover")),
                    get("cover_alt"),
                    srcset,
                    !get("featured").is_empty(),
                    get("body"),
                    published_at,
                    version,
                )
                .fetch_one(&mut *conn)
                .await
            }
            Kind::Post => sqlx::query_scalar!(
                r#"insert into posts (id, slug, title, summary, tags, body, published_at, version)
                   overriding system value
                   values (coalesce($1, nextval(pg_get_serial_sequence('posts', 'id'))),
                           $2, $3, $4, $5, $6, $7, $8)
                   returning id"#,
                keep_id,
                get("slug"),
                get("title"),
                get("summary"),
                &unlist(get("tags")),
                get("body"),
                published_at,
                version,
            )
            .fetch_one(&mut *conn)
            .await,
            Kind::Profile => return Err(ChangeError::NotFound),
        }
        .map_err(|e| ChangeError::from_db(e, kind))?;
    record(
        conn,
        kind,
        id,
        version,
        action.as_str(),
        clean,
        published_at,
    )
    .await?;
    Ok(id)
}

/// A new draft project or post titled `title`, with a free slug made from it.
pub async fn create(pool: &PgPool, kind: Kind, title: &str) -> Result<Item, ChangeError> {
    if !kind.is_document() {
        return Err(ChangeError::NotFound);
    }
    let mut raw = Values::new();
    raw.insert("title".to_owned(), title.to_owned());
    raw.insert("slug".to_owned(), "untitled".to_owned());
    let mut clean = super::validate(kind, &raw).map_err(ChangeError::Invalid)?;
    let mut tx = pool.begin().await?;
    let slug = free_slug(&mut tx, kind, &super::slug_from(&clean["title"])).await?;
    clean.insert("slug".to_owned(), slug);
    let id = insert(&mut tx, kind, None, 1, &clean, None, Action::Create).await?;
    let item = fetch(&mut tx, kind, Key::Id(id), false)
        .await?
        .ok_or(ChangeError::NotFound)?;
    tx.commit().await?;
    Ok(item.item)
}

/// A draft copy of an item, titled "… (copy)", under a free slug.
pub async fn duplicate(pool: &PgPool, kind: Kind, id: i64) -> Result<Item, ChangeError> {
    if !kind.is_document() {
        return Err(ChangeError::NotFound);
    }
    let mut tx = pool.begin().await?;
    let original = fetch(&mut tx, kind, Key::Id(id), false)
        .await?
        .ok_or(ChangeError::NotFound)?;
    let mut values = original.item.values;
    let title: String = format!("{} (copy)", values["title"])
        .chars()
        .take(200)
        .collect();
    let slug = free_slug(&mut tx, kind, &format!("{}-copy", values["slug"])).await?;
    values.insert("title".to_owned(), title);
    values.insert("slug".to_owned(), slug);
    let id = insert(&mut tx, kind, None, 1, &values, None, Action::Duplicate).await?;
    let item = fetch(&mut tx, kind, Key::Id(id), false)
        .await?
        .ok_or(ChangeError::NotFound)?;
    tx.commit().await?;
    Ok(item.item)
}

/// Deletes version `base` of a project or post, keeping it as a `delete` revision so it can
/// be brought back ([`undelete`]).
pub async fn delete(pool: &PgPool, kind: Kind, id: i64, base: i32) -> Result<Item, ChangeError> {
    if !kind.is_document() {
        return Err(ChangeError::NotFound);
    }
    let mut tx = pool.begin().await?;
    let before = fetch(&mut tx, kind, Key::Id(id), true)
        .await?
        .ok_or(ChangeError::NotFound)?;
    if before.item.version != base {
        return Err(ChangeError::Conflict(Box::new(before.item)));
    }
    let values = &before.item.values;
    record(
        &mut tx,
        kind,
        id,
        base,
        "baseline",
        values,
        before.published_at,
    )
    .await?;
    record(
        &mut tx,
        kind,
        id,
        base + 1,
        Action::Delete.as_str(),
        values,
        before.published_at,
    )
    .await?;
    match kind {
        Kind::Post => {
            sqlx::query!("delete from posts where id = $1", id)
                .execute(&mut *tx)
                .await?
        }
        _ => {
            sqlx::query!("delete from projects where id = $1", id)
                .execute(&mut *tx)
                .await?
        }
    };
    tx.commit().await?;
    Ok(before.item)
}

/// Brings back a deleted project or post as it was when deleted (same id, published as it
/// was), recorded as an `undelete` revision.
pub async fn undelete(pool: &PgPool, kind: Kind, id: i64) -> Result<Item, ChangeError> {
    let mut tx = pool.begin().await?;
    let last = sqlx::query!(
        "select version, action, data, published_at from revisions
         where kind = $1 and item_id = $2 order by version desc limit 1 for update",
        kind.as_str(),
        id
    )
    .fetch_optional(&mut *tx)
    .await?
    .filter(|r| r.action == Action::Delete.as_str())
    .ok_or(ChangeError::NotFound)?;
    let values: Values = serde_json::from_value(last.data).unwrap_or_default();
    insert(
        &mut tx,
        kind,
        Some(id),
        last.version + 1,
        &values,
        last.published_at,
        Action::Undelete,
    )
    .await?;
    let item = fetch(&mut tx, kind, Key::Id(id), false)
        .await?
        .ok_or(ChangeError::NotFound)?;
    tx.commit().await?;
    Ok(item.item)
}

/// Restores revision `version` of an item over version `base`, as a new `restore` revision
/// (its publication stays as it is now).
pub async fn restore(
    pool: &PgPool,
    kind: Kind,
    id: i64,
    version: i32,
    base: i32,
) -> Result<Item, ChangeError> {
    let revision = revision(pool, kind, id, version)
        .await?
        .ok_or(ChangeError::NotFound)?;
    // A revision from before a field existed leaves that field as it is now.
    let mut values = load(pool, kind, Key::Id(id))
        .await?
        .ok_or(ChangeError::NotFound)?
        .values;
    values.extend(revision.values);
    save(
        pool,
        kind,
        id,
        base,
        &values,
        Publish::Keep,
        Action::Restore,
    )
    .await
}

/// Where a project goes in the owner's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    /// One place earlier.
    Up,
    /// One place later.
    Down,
    /// To this place (0 is first; past the end is last), the others closing up around it.
    To(usize),
}

/// Moves a project in the owner's order. (Not a content change: it makes no revision and
/// does not change the project's version.)
pub async fn move_project(pool: &PgPool, id: i64, to: Move) -> Result<(), ChangeError> {
    let mut tx = pool.begin().await?;
    // Renumber the whole order first, so equal sort orders (say, from an import) still move.
    let order: Vec<i64> = sqlx::query_scalar!(
        "select id from projects order by sort_order, published_at desc, id for update"
    )
    .fetch_all(&mut *tx)
    .await?;
    let at = order
        .iter()
        .position(|p| *p == id)
        .ok_or(ChangeError::NotFound)?;
    let last = order.len() - 1;
    let to = match to {
        Move::Up => at.saturating_sub(1),
        Move::Down => (at + 1).min(last),
        Move::To(place) => place.min(last),
    };
    let mut order = order;
    let moved = order.remove(at);
    order.insert(to, moved);
    sqlx::query!(
        "update projects p set sort_order = o.n::integer * 10
         from unnest($1::bigint[]) with ordinality as o(id, n)
         where p.id = o.id and p.sort_order is distinct from o.n::integer * 10",
        &order
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// One entry of an item's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    pub version: i32,
    pub action: String,
    /// RFC 3339, UTC.
    pub at: String,
    pub values: Values,
}

/// Every revision of an item, newest first, without their contents (a long history of long
/// bodies is listed without reading them; [`revision`] reads one).
pub async fn history(
    db: impl sqlx::PgExecutor<'_>,
    kind: Kind,
    id: i64,
) -> Result<Vec<super::history::RevisionInfo>, sqlx::Error> {
    sqlx::query_as!(
        super::history::RevisionInfo,
        r#"select version, action, to_char(created_at at time zone 'UTC', $3) as "at!"
           from revisions where kind = $1 and item_id = $2 order by version desc"#,
        kind.as_str(),
        id,
        RFC3339_UTC,
    )
    .fetch_all(db)
    .await
}

/// One revision of an item.
pub async fn revision(
    db: impl sqlx::PgExecutor<'_>,
    kind: Kind,
    id: i64,
    version: i32,
) -> Result<Option<Revision>, sqlx::Error> {
    let row = sqlx::query!(
        r#"select version, action, data, to_char(created_at at time zone 'UTC', $4) as "at!"
           from revisions where kind = $1 and item_id = $2 and version = $3"#,
        kind.as_str(),
        id,
        version,
        RFC3339_UTC,
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| Revision {
        version: r.version,
        action: r.action,
        at: r.at,
        values: serde_json::from_value(r.data).unwrap_or_default(),
    }))
}

/// Every project and post, drafts included, for the owner's overview.
pub async fn everything(db: &PgPool) -> Result<(Vec<Item>, Vec<Item>), sqlx::Error> {
    let mut conn = db.acquire().await?;
    let projects = read(&mut conn, Kind::Project, None, None).await?;
    let posts = read(&mut conn, Kind::Post, None, None).await?;
    let items = |rows: Vec<Stored>| rows.into_iter().map(|stored| stored.item).collect();
    Ok((items(projects), items(posts)))
}

/// Projects and posts deleted and not brought back, newest first (for undo).
pub async fn deleted(db: &PgPool) -> Result<Vec<(Kind, i64, String, String)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select distinct on (r.kind, r.item_id) r.kind, r.item_id, r.action,
                  r.data ->> 'title' as "title!", to_char(r.created_at at time zone 'UTC', $1) as "at!"
           from revisions r
           where r.kind in ('project', 'post')
           order by r.kind, r.item_id, r.version desc"#,
        RFC3339_UTC,
    )
    .fetch_all(db)
    .await?;
    let mut deleted: Vec<_> = rows
        .into_iter()
        .filter(|r| r.action == Action::Delete.as_str())
        .filter_map(|r| Kind::parse(&r.kind).map(|k| (k, r.item_id, r.title, r.at)))
        .collect();
    deleted.sort_by(|a, b| b.3.cmp(&a.3));
    deleted.truncate(20);
    Ok(deleted)
}
