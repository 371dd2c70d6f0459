//! Editing in place: the owner edits the profile, projects and posts on the pages where
//! visitors see them, and nothing they write is ever lost.
//!
//! Signed in, every page that shows an editable item carries its [`OwnerTools`] (status,
//! edit, history, duplicate, delete); `?edit` swaps the item for its [`Editor`], a form laid
//! out where the item appears. Everything here is rendered on the server and ships no code:
//! the form posts to the server's editor handlers (`server/src/editor.rs`), which answer with a
//! redirect or with the same page again (field messages, a preview, or a conflict showing both
//! versions). The SQL is in [`store`]: every save writes a revision in its own transaction and
//! is refused when the version it started from is no longer the newest.

pub mod history;
pub mod overview;
#[cfg(feature = "ssr")]
pub mod store;

use crate::error::AppError;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What can be edited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Kind {
    Profile,
    Project,
    Post,
}

impl Kind {
    pub const ALL: [Self; 3] = [Self::Profile, Self::Project, Self::Post];

    /// The name used in addresses and in the `revisions` table.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Profile => "profile",
            Self::Project => "project",
            Self::Post => "post",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// The form's fields, in the order they appear on the page.
    pub fn fields(self) -> &'static [FieldSpec] {
        match self {
            Self::Profile => PROFILE_FIELDS,
            Self::Project => PROJECT_FIELDS,
            Self::Post => POST_FIELDS,
        }
    }

    /// Projects and posts can be published, duplicated and deleted; the profile is always there.
    pub fn is_document(self) -> bool {
        self != Self::Profile
    }

    /// Where visitors see an item with this slug.
    pub fn public_path(self, slug: &str) -> String {
        match self {
            Self::Profile => "/about".to_owned(),
            Self::Project => format!("/projects/{slug}"),
            Self::Post => format!("/writing/{slug}"),
        }
    }
}

/// How a field is typed in and checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// One line of text.
    Line,
    /// A few lines of plain text.
    Text,
    /// Markdown, rendered for visitors (and for the preview) by the server.
    Markdown,
    /// Lowercase words joined by single hyphens.
    Slug,
    /// An `http(s)://` address, or empty.
    Url,
    /// A year from 1900 to 2200, or empty.
    Year,
    /// Comma-separated words.
    List,
    /// A yes/no box.
    Check,
    /// The address of a picture: an upload (`/media/…`) or a file of the site (`/…`).
    Image,
    /// One `Label | https://…` per line.
    Links,
    /// One `Category: skill, skill, …` per line.
    Skills,
    /// The experience timeline: one entry per line, `YYYY-MM – YYYY-MM | Role | Organisation |
    /// Summary` (`now` for an entry that has not ended). The form shows each entry as its own
    /// group of fields ([`Entry`]).
    Timeline,
}

/// One field of an edit form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSpec {
    pub name: &'static str,
    pub label: &'static str,
    pub input: Input,
    /// Characters at most (for a list: per item).
    pub max: usize,
    pub required: bool,
    pub hint: &'static str,
}

const fn field(name: &'static str, label: &'static str, input: Input, max: usize) -> FieldSpec {
    FieldSpec {
        name,
        label,
        input,
        max,
        required: false,
        hint: "",
    }
}

const fn required(spec: FieldSpec) -> FieldSpec {
    FieldSpec {
        required: true,
        ..spec
    }
}

const fn hint(spec: FieldSpec, hint: &'static str) -> FieldSpec {
    FieldSpec { hint, ..spec }
}

/// The longest Markdown body accepted (characters).
pub const BODY_MAX: usize = 100_000;

const SLUG_HINT: &str = "The address: lowercase letters, digits and single hyphens.";
const LIST_HINT: &str = "Separated by commas.";
const IMAGE_HINT: &str = "Pick from the media library as you type, or paste an address like /media/…-1600.webp. Leave empty for none.";
const MARKDOWN_HINT: &str =
    "Markdown. The preview beside it shows it as visitors will see it (or press Preview).";

const PROFILE_FIELDS: &[FieldSpec] = &[
    required(field("name", "Name", Input::Line, 100)),
    field("headline", "Headline", Input::Line, 160),
    field("bio_short", "Short bio", Input::Text, 400),
    field("availability", "Availability", Input::Line, 160),
    field("location", "Location", Input::Line, 100),
    hint(field("avatar", "Portrait", Input::Image, 300), IMAGE_HINT),
    field(
        "avatar_alt",
        "Portrait description (alt text)",
        Input::Line,
        300,
    ),
    hint(
        field("links", "Links", Input::Links, 300),
        "One per line: Label | https://example.com",
    ),
    hint(
        field("bio_long", "Long bio", Input::Markdown, BODY_MAX),
        MARKDOWN_HINT,
    ),
    hint(
        field("experience", "Experience", Input::Timeline, TIMELINE_MAX),
        "Newest first: entries are ordered by their start. Leave the end empty for a role you still have.",
    ),
    hint(
        field("skills", "Skills", Input::Skills, 60),
        "One group per line: Languages: Rust, TypeScript, SQL",
    ),
];

/// The most timeline entries a profile has.
pub const TIMELINE_MAX: usize = 30;

const PROJECT_FIELDS: &[FieldSpec] = &[
    required(field("title", "Title", Input::Line, 200)),
    hint(required(field("slug", "Slug", Input::Slug, 80)), SLUG_HINT),
    field("summary", "Summary", Input::Text, 500),
    field("role", "Role", Input::Line, 120),
    field("year", "Year", Input::Year, 4),
    hint(field("stack", "Stack", Input::List, 60), LIST_HINT),
    hint(field("tags", "Tags", Input::List, 40), LIST_HINT),
    field("live_url", "Live address", Input::Url, 500),
    field("source_url", "Source address", Input::Url, 500),
    hint(field("cover", "Cover image", Input::Image, 300), IMAGE_HINT),
    field(
        "cover_alt",
        "Cover description (alt text)",
        Input::Line,
        300,
    ),
    field("featured", "Featured on the home page", Input::Check, 3),
    hint(
        field("body", "Case study", Input::Markdown, BODY_MAX),
        MARKDOWN_HINT,
    ),
];

const POST_FIELDS: &[FieldSpec] = &[
    required(field("title", "Title", Input::Line, 200)),
    hint(required(field("slug", "Slug", Input::Slug, 80)), SLUG_HINT),
    field("summary", "Summary", Input::Text, 500),
    hint(field("tags", "Tags", Input::List, 40), LIST_HINT),
    hint(
        field("body", "Text", Input::Markdown, BODY_MAX),
        MARKDOWN_HINT,
    ),
];

/// An item's editable fields as the form shows them, by field name.
pub type Values = BTreeMap<String, String>;

/// Who may see an item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    /// Nobody but the owner.
    Draft,
    /// Visitors will see it from `at` (RFC 3339, UTC).
    Scheduled { at: String },
    /// Visitors see it, since `at`.
    Published { at: String },
    /// The profile: always shown.
    Always,
}

impl Status {
    /// "Draft", "Scheduled for 2026-12-24 09:00 UTC", "Published 2026-11-02".
    pub fn describe(&self) -> String {
        match self {
            Self::Draft => "Draft: only you can see it".to_owned(),
            Self::Scheduled { at } => format!("Scheduled for {}", human_time(at)),
            Self::Published { at } => format!("Published {}", at.get(..10).unwrap_or(at)),
            Self::Always => "Shown to every visitor".to_owned(),
        }
    }

    pub fn is_published(&self) -> bool {
        matches!(self, Self::Published { .. } | Self::Always)
    }
}

/// An item's status as a badge: filled once visitors can see it, outlined before.
#[component]
pub(crate) fn StatusBadge(
    status: Status,
    #[prop(optional)] testid: Option<&'static str>,
) -> impl IntoView {
    let class = if status.is_published() {
        "badge"
    } else {
        "badge draft"
    };
    view! { <span class=class data-testid=testid>{status.describe()}</span> }
}

/// `2026-12-24T09:00:00Z` as `2026-12-24 09:00 UTC`.
pub fn human_time(rfc3339: &str) -> String {
    match (rfc3339.get(..10), rfc3339.get(11..16)) {
        (Some(day), Some(time)) => format!("{day} {time} UTC"),
        _ => rfc3339.to_owned(),
    }
}

/// One stored item, ready to edit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    pub kind: Kind,
    pub id: i64,
    /// Increases with every change; a save names the version it started from.
    pub version: i32,
    pub values: Values,
    pub status: Status,
}

impl Item {
    pub fn value(&self, name: &str) -> &str {
        self.values.get(name).map_or("", String::as_str)
    }

    /// Where visitors see it.
    pub fn public_path(&self) -> String {
        self.kind.public_path(self.value("slug"))
    }

    /// The address of its editor.
    pub fn edit_path(&self) -> String {
        match self.kind {
            // The profile is edited where its headline is, on the home page.
            Kind::Profile => "/?edit".to_owned(),
            _ => format!("{}?edit", self.public_path()),
        }
    }

    /// Its revision history.
    pub fn history_path(&self) -> String {
        format!("/owner/history/{}/{}", self.kind.as_str(), self.id)
    }

    /// Where the form posts.
    pub fn action_path(&self) -> String {
        format!("/owner/edit/{}/{}", self.kind.as_str(), self.id)
    }

    /// What the owner calls it.
    pub fn title(&self) -> String {
        match self.kind {
            Kind::Profile => "your profile".to_owned(),
            _ => format!("\u{201c}{}\u{201d}", self.value("title")),
        }
    }
}

/// An edit the server could not save as it was, handed back to its page: what was typed, a
/// message per field, and, for a stale save, the version saved meanwhile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    pub kind: Kind,
    pub id: i64,
    pub values: Values,
    pub errors: Vec<(String, String)>,
    /// The schedule time as typed (`YYYY-MM-DDTHH:MM`, UTC).
    pub publish_at: String,
    /// Someone saved first: their version.
    pub conflict: Option<Item>,
    /// The Markdown field rendered as visitors would see it.
    pub preview: Option<(String, String)>,
    pub summary: Option<String>,
}

impl Submission {
    pub fn error(&self, name: &str) -> Option<String> {
        self.errors
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, e)| e.clone())
    }

    /// The refused submission for this item, if the page is being rendered again for one.
    pub(crate) fn for_item(kind: Kind, id: i64) -> Option<Self> {
        use_context::<Self>().filter(|s| s.kind == kind && s.id == id)
    }
}

/// Checks and tidies a form's values for `kind`: each field trimmed (lists normalised), only
/// the kind's fields kept. Returns every field's problem at once.
pub fn validate(kind: Kind, raw: &Values) -> Result<Values, Vec<(String, String)>> {
    let mut clean = Values::new();
    let mut errors = Vec::new();
    for spec in kind.fields() {
        let value = raw.get(spec.name).map_or("", |v| v.as_str());
        match check(spec, value) {
            Ok(v) => {
                clean.insert(spec.name.to_owned(), v);
            }
            Err(message) => errors.push((spec.name.to_owned(), message)),
        }
    }
    // A picture needs words for those who cannot see it.
    for (image, alt) in [("cover", "cover_alt"), ("avatar", "avatar_alt")] {
        if clean.get(image).is_some_and(|v| !v.is_empty())
            && clean.get(alt).is_some_and(String::is_empty)
            && !errors.iter().any(|(n, _)| n == alt)
        {
            errors.push((
                alt.to_owned(),
                "Describe the picture for people who cannot see it.".to_owned(),
            ));
        }
    }
    if errors.is_empty() {
        Ok(clean)
    } else {
        Err(errors)
    }
}

fn too_long(max: usize) -> String {
    format!("Keep it to {max} characters or fewer.")
}

/// One field's value, cleaned, or why it is refused.
fn check(spec: &FieldSpec, value: &str) -> Result<String, String> {
    let value = if spec.input == Input::Markdown {
        // Markdown keeps its leading indentation (a code block may start the text).
        value.trim_end().replace("\r\n", "\n")
    } else {
        value.trim().replace("\r\n", "\n")
    };
    if value.is_empty() {
        return if spec.required {
            Err(format!("{} is required.", spec.label))
        } else {
            Ok(value)
        };
    }
    let chars = value.chars().count();
    match spec.input {
        Input::List => {
            let items: Vec<&str> = value
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect();
            if let Some(long) = items.iter().find(|i| i.chars().count() > spec.max) {
                return Err(format!(
                    "\u{201c}{long}\u{201d} is too long: keep each to {} characters.",
                    spec.max
                ));
            }
            if items.len() > 20 {
                return Err("Twenty at most.".to_owned());
            }
            let mut unique: Vec<&str> = Vec::new();
            for item in items {
                if !unique.contains(&item) {
                    unique.push(item);
                }
            }
            return Ok(unique.join(", "));
        }
        Input::Links => {
            let mut lines = Vec::new();
            for line in value.lines().map(str::trim).filter(|l| !l.is_empty()) {
                let (label, url) = line.split_once('|').ok_or_else(|| {
                    format!("\u{201c}{line}\u{201d} needs a label, a |, then the address.")
                })?;
                let (label, url) = (label.trim(), url.trim());
                if label.is_empty() || label.chars().count() > 60 {
                    return Err(format!(
                        "\u{201c}{line}\u{201d}: the label needs 1 to 60 characters."
                    ));
                }
                if !is_link(url) {
                    return Err(format!(
                        "\u{201c}{url}\u{201d} is not an address: start it with https://, http:// or mailto:."
                    ));
                }
                lines.push(format!("{label} | {url}"));
            }
            if lines.len() > 20 {
                return Err("Twenty links at most.".to_owned());
            }
            return Ok(lines.join("\n"));
        }
        Input::Skills => return check_skills(&value),
        Input::Timeline => return check_timeline(&value),
        _ => {}
    }
    if chars > spec.max {
        return Err(too_long(spec.max));
    }
    if has_control(&value) {
        return Err("Remove the control characters.".to_owned());
    }
    match spec.input {
        Input::Line | Input::Slug | Input::Url | Input::Year | Input::Image | Input::Check
            if value.contains('\n') =>
        {
            Err("Keep it on one line.".to_owned())
        }
        Input::Slug if !is_slug(&value) => Err(
            "Use lowercase letters, digits and single hyphens, like my-first-project.".to_owned(),
        ),
        Input::Url if !(value.starts_with("https://") || value.starts_with("http://")) => {
            Err("Start the address with https:// or http://.".to_owned())
        }
        Input::Url if value.chars().any(char::is_whitespace) => {
            Err("An address has no spaces.".to_owned())
        }
        Input::Year => match value.parse::<i32>() {
            Ok(year) if (1900..=2200).contains(&year) => Ok(year.to_string()),
            _ => Err("Give a year from 1900 to 2200.".to_owned()),
        },
        Input::Image if !is_image_path(&value) => Err(
            "Use a picture's address on this site, like /media/…-1600.webp from the media library."
                .to_owned(),
        ),
        Input::Check => Ok(if value == "on" || value == "true" {
            "on"
        } else {
            ""
        }
        .to_owned()),
        _ => Ok(value),
    }
}

fn has_control(value: &str) -> bool {
    value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
}

/// Skills as `Category: a, b` lines: categories and skills 1 to 60 characters, a category
/// once, a skill once per category.
fn check_skills(value: &str) -> Result<String, String> {
    if has_control(value) {
        return Err("Remove the control characters.".to_owned());
    }
    let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
    for line in value.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (category, names) = line.split_once(':').ok_or_else(|| {
            format!("\u{201c}{line}\u{201d} needs a group, a colon, then the skills, like Languages: Rust, SQL.")
        })?;
        let category = category.trim();
        if category.is_empty() || category.chars().count() > 60 {
            return Err(format!(
                "\u{201c}{line}\u{201d}: the group name needs 1 to 60 characters."
            ));
        }
        if groups.iter().any(|(c, _)| *c == category) {
            return Err(format!(
                "\u{201c}{category}\u{201d} is there twice: put its skills on one line."
            ));
        }
        let mut list: Vec<&str> = Vec::new();
        for name in names.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            if name.chars().count() > 60 {
                return Err(format!(
                    "\u{201c}{name}\u{201d} is too long: keep each skill to 60 characters."
                ));
            }
            if !list.contains(&name) {
                list.push(name);
            }
        }
        if list.is_empty() {
            return Err(format!(
                "\u{201c}{category}\u{201d} has no skills: list them after the colon, separated by commas."
            ));
        }
        if list.len() > 50 {
            return Err(format!(
                "\u{201c}{category}\u{201d} has more than 50 skills."
            ));
        }
        groups.push((category, list));
    }
    if groups.len() > 20 {
        return Err("Twenty groups at most.".to_owned());
    }
    Ok(groups
        .iter()
        .map(|(category, names)| format!("{category}: {}", names.join(", ")))
        .collect::<Vec<_>>()
        .join("\n"))
}

/// One entry of the experience timeline, as its fields show it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entry {
    /// `YYYY-MM`.
    pub start: String,
    /// `YYYY-MM`, or empty while it lasts.
    pub end: String,
    pub role: String,
    pub organisation: String,
    pub summary: String,
}

impl Entry {
    /// Reads a line of the timeline's text; never fails, so that even a refused edit shows
    /// again as it was typed.
    pub fn parse(line: &str) -> Self {
        let mut parts = line.splitn(4, '|').map(str::trim);
        let dates = parts.next().unwrap_or_default();
        let (start, end) = dates
            .split_once('\u{2013}')
            .map_or((dates, ""), |(s, e)| (s.trim(), e.trim()));
        let mut next = || parts.next().unwrap_or_default().to_owned();
        Self {
            start: start.to_owned(),
            end: if end == "now" { "" } else { end }.to_owned(),
            role: next(),
            organisation: next(),
            summary: next(),
        }
    }

    /// The entry as a line of the timeline's text.
    pub fn line(&self) -> String {
        let end = if self.end.is_empty() {
            "now"
        } else {
            &self.end
        };
        let line = format!(
            "{} \u{2013} {end} | {} | {}",
            self.start, self.role, self.organisation
        );
        if self.summary.is_empty() {
            line
        } else {
            format!("{line} | {}", self.summary)
        }
    }

    fn is_blank(&self) -> bool {
        [
            &self.start,
            &self.end,
            &self.role,
            &self.organisation,
            &self.summary,
        ]
        .iter()
        .all(|v| v.is_empty())
    }
}

/// The entries of a timeline's text.
pub fn entries(text: &str) -> Vec<Entry> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(Entry::parse)
        .collect()
}

/// The timeline's text from its form fields (`experience-0-role`, …): blank entries and
/// those marked for removal are left out. A `|` typed into a one-line part would shift the
/// parts after it, so it is refused (and shown as `/`).
pub fn timeline_from_form<'a>(get: impl Fn(&str) -> &'a str) -> (String, Option<String>) {
    let mut lines = Vec::new();
    let mut problem = None;
    // Room for every stored entry plus the blank ones the form adds.
    for index in 0..TIMELINE_MAX + 10 {
        if !get(&format!("experience-{index}-remove")).is_empty() {
            continue;
        }
        let mut part = |name: &str| {
            let value = get(&format!("experience-{index}-{name}")).trim();
            if name != "summary" && value.contains('|') && problem.is_none() {
                problem = Some(format!(
                    "Entry {}: a {name} cannot contain |.",
                    lines.len() + 1
                ));
            }
            let value = value.replace("\r\n", " ").replace(['\r', '\n'], " ");
            if name == "summary" {
                value
            } else {
                value.replace('|', "/")
            }
        };
        let entry = Entry {
            start: part("start"),
            end: part("end"),
            role: part("role"),
            organisation: part("organisation"),
            summary: part("summary"),
        };
        if !entry.is_blank() {
            lines.push(entry.line());
        }
    }
    (lines.join("\n"), problem)
}

/// `YYYY-MM` with a month from 1900 to 2200.
fn is_month(value: &str) -> bool {
    value.len() == 7
        && value.as_bytes()[4] == b'-'
        && value[..4]
            .parse::<u16>()
            .is_ok_and(|y| (1900..=2200).contains(&y))
        && value[5..]
            .parse::<u8>()
            .is_ok_and(|m| (1..=12).contains(&m))
}

/// The timeline, checked entry by entry and ordered newest first.
fn check_timeline(value: &str) -> Result<String, String> {
    if has_control(value) {
        return Err("Remove the control characters.".to_owned());
    }
    let mut list = entries(value);
    for (n, entry) in list.iter().enumerate() {
        let which = format!("Entry {}", n + 1);
        let problem = if entry.role.is_empty() {
            Some("give the role")
        } else if entry.role.chars().count() > 120 {
            Some("keep the role to 120 characters")
        } else if entry.organisation.is_empty() {
            Some("give the organisation")
        } else if entry.organisation.chars().count() > 120 {
            Some("keep the organisation to 120 characters")
        } else if !is_month(&entry.start) {
            Some("give the start as a month, like 2021-03")
        } else if !entry.end.is_empty() && !is_month(&entry.end) {
            Some("give the end as a month, like 2023-09, or leave it empty")
        } else if !entry.end.is_empty() && entry.end < entry.start {
            Some("it ends before it starts")
        } else if entry.summary.chars().count() > 600 {
            Some("keep the summary to 600 characters")
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(if entry.role.is_empty() {
                format!("{which}: {problem}.")
            } else {
                format!("{which} ({}): {problem}.", entry.role)
            });
        }
    }
    if list.len() > TIMELINE_MAX {
        return Err(format!("{TIMELINE_MAX} entries at most."));
    }
    // Newest first; entries that started in the same month keep the owner's order.
    list.sort_by(|a, b| b.start.cmp(&a.start));
    Ok(list.iter().map(Entry::line).collect::<Vec<_>>().join("\n"))
}

/// Lowercase `a-z0-9` words joined by single hyphens, as the database's check wants.
pub fn is_slug(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 80
        && value.split('-').all(|w| {
            !w.is_empty()
                && w.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

fn is_link(url: &str) -> bool {
    (url.starts_with("https://") || url.starts_with("http://") || url.starts_with("mailto:"))
        && !url.chars().any(char::is_whitespace)
        && url.len() <= 300
}

/// A path on this site ending in a picture's extension: no scheme, no `..`, nothing odd.
fn is_image_path(value: &str) -> bool {
    value.starts_with('/')
        && !value.starts_with("//")
        && !value.contains("..")
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/-_.".contains(&b))
        && [".webp", ".png", ".jpg", ".jpeg", ".gif", ".avif", ".svg"]
            .iter()
            .any(|ext| value.ends_with(ext))
}

/// A slug made from a title: `"Tide & Sea!"` → `"tide-sea"`.
pub fn slug_from(title: &str) -> String {
    let mut slug = String::new();
    for c in title.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
        if slug.len() >= 60 {
            break;
        }
    }
    let slug = slug.trim_matches('-').to_owned();
    if slug.is_empty() {
        "untitled".to_owned()
    } else {
        slug
    }
}

/// Whether the signed-in owner is looking (always false in the browser: these parts are
/// rendered on the server only).
pub(crate) fn is_owner() -> bool {
    #[cfg(feature = "ssr")]
    {
        crate::owner::current_owner().is_some()
    }
    #[cfg(not(feature = "ssr"))]
    {
        false
    }
}

/// Whether this page should show the editor for `kind` instead of the item: the owner asked
/// for it (`?edit`), or a refused save of it is being shown again.
pub(crate) fn editing(kind: Kind) -> bool {
    if !is_owner() {
        return false;
    }
    let asked = use_query_map().with_untracked(|q| q.get("edit").is_some());
    asked || use_context::<Submission>().is_some_and(|s| s.kind == kind)
}

/// The item behind a page, for the owner: `slug` names a project or post (ignored for the
/// profile). (Optional arguments, so that a request without the session is answered 401
/// before anything else is looked at.)
#[server(endpoint = "owner/editable", input = server_fn::codec::GetUrl)]
pub async fn editable(kind: Option<Kind>, slug: Option<String>) -> Result<Item, AppError> {
    crate::owner::require_owner()?;
    let pool = use_context::<sqlx::PgPool>().ok_or(AppError::Internal)?;
    let kind = kind.ok_or(AppError::NotFound)?;
    let slug = slug.unwrap_or_default();
    store::load(&pool, kind, store::Key::Slug(&slug))
        .await?
        .ok_or(AppError::NotFound)
}

/// The owner's bar above an item: its status and what can be done with it. Renders nothing
/// for visitors.
#[component]
pub fn OwnerTools(kind: Kind, #[prop(into)] slug: String) -> impl IntoView {
    if !is_owner() {
        return ().into_any();
    }
    let item = Resource::new_blocking(
        move || slug.clone(),
        move |slug| editable(Some(kind), Some(slug)),
    );
    let saved = use_query_map().with_untracked(|q| q.get("saved").is_some());
    view! {
        <crate::owner::OwnerStyles/>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let Ok(item) = item.await else { return ().into_any() };
                view! {
                    <div class="owner-tools" data-testid="owner-tools">
                        {saved.then(|| view! {
                            <p class="notice-ok" role="status" data-testid="saved-notice"
                                data-draft-saved=format!("{}:{}", kind.as_str(), item.id)>"Saved."</p>
                            <OwnerScript/>
                        })}
                        <StatusBadge status=item.status.clone() testid="item-status"/>
                        <a class="button" href=item.edit_path() data-testid="edit-link">"Edit " {match kind { Kind::Profile => "profile", Kind::Project => "project", Kind::Post => "post" }}</a>
                        <a href=item.history_path()>"History"</a>
                        {kind.is_document().then(|| view! {
                            <form method="post" action=format!("{}/duplicate", item.action_path())>
                                <button type="submit" class="link-button">"Duplicate"</button>
                            </form>
                            <form method="post" action=format!("{}/delete", item.action_path())>
                                <input type="hidden" name="version" value=item.version/>
                                <button type="submit" class="link-button danger">"Delete"</button>
                            </form>
                        })}
                    </div>
                }
                .into_any()
            })}
        </Suspense>
    }
    .into_any()
}

/// For the owner, a link into the profile's editor at the field that edits what is shown
/// here (`field`: `experience`, `skills`…). Renders nothing for visitors.
#[component]
pub fn EditHere(field: &'static str, label: &'static str) -> impl IntoView {
    is_owner().then(|| {
        view! {
            <p class="edit-here">
                <a href=format!("/about?edit#edit-{field}") data-testid=format!("edit-{field}")>{label}</a>
            </p>
        }
    })
}

/// The editor for the item behind a page, in place of the item. `back` is the page it is on
/// (the profile is edited on the home page and on about).
#[component]
pub fn Editor(
    kind: Kind,
    #[prop(into)] slug: String,
    #[prop(optional)] back: &'static str,
) -> impl IntoView {
    crate::owner::no_store();
    let item = Resource::new_blocking(
        move || slug.clone(),
        move |slug| async move {
            (
                editable(Some(kind), Some(slug)).await,
                media_choices().await,
            )
        },
    );
    view! {
        <crate::owner::OwnerStyles/>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match item.await {
                    (Ok(item), Ok(pictures)) => view! { <EditForm item back pictures/> }.into_any(),
                    (Err(error), _) | (_, Err(error)) => {
                        view! { <crate::components::ErrorNotice error/> }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}

/// A picture of the media library, as the editor offers it for a cover or portrait.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Picture {
    /// The widest stored copy: `/media/<key>-<width>.webp`.
    pub url: String,
    pub alt: String,
}

/// The media library's pictures, newest first, for the editor's picture fields.
#[server(endpoint = "owner/media-choices", input = server_fn::codec::GetUrl)]
pub async fn media_choices() -> Result<Vec<Picture>, AppError> {
    crate::owner::require_owner()?;
    let pool = use_context::<sqlx::PgPool>().ok_or(AppError::Internal)?;
    Ok(sqlx::query_as!(
        Picture,
        r#"select '/media/' || m.key || '-' || max(v.width) || '.webp' as "url!", m.alt
           from media m join media_variants v on v.media_id = m.id
           group by m.id order by m.created_at desc, m.id desc limit 500"#
    )
    .fetch_all(&pool)
    .await?)
}

/// The form itself: every field where it shows on the page, the publishing controls, and, when
/// the save was refused, what needs fixing or the version saved meanwhile.
#[component]
fn EditForm(item: Item, back: &'static str, pictures: Vec<Picture>) -> impl IntoView {
    let submission = Submission::for_item(item.kind, item.id);
    let values = submission
        .as_ref()
        .map_or_else(|| item.values.clone(), |s| s.values.clone());
    let error = {
        let submission = submission.clone();
        move |name: &str| submission.as_ref().and_then(|s| s.error(name))
    };
    let summary = submission.as_ref().and_then(|s| {
        s.summary.clone().or_else(|| match s.errors.len() {
            0 => None,
            1 => Some("Nothing was saved: please fix the field marked below.".to_owned()),
            n => Some(format!(
                "Nothing was saved: please fix the {n} fields marked below."
            )),
        })
    });
    let conflict = submission.as_ref().and_then(|s| s.conflict.clone());
    let preview = submission.as_ref().and_then(|s| s.preview.clone());
    let publish_at = submission
        .as_ref()
        .map(|s| s.publish_at.clone())
        .unwrap_or_else(|| match &item.status {
            Status::Scheduled { at } => at.get(..16).unwrap_or_default().to_owned(),
            _ => String::new(),
        });
    // After a conflict the form carries the newer version: saving again is a deliberate
    // choice to replace it.
    let version = conflict.as_ref().map_or(item.version, |c| c.version);
    let back = match item.kind {
        Kind::Profile if back == "/about" => "/about",
        Kind::Profile => "/",
        _ => "",
    };
    let draft_key = format!("{}:{}", item.kind.as_str(), item.id);
    let page_path = match item.kind {
        Kind::Profile => back.to_owned(),
        _ => item.public_path(),
    };
    let heading = match item.kind {
        Kind::Profile => "Editing your profile".to_owned(),
        _ => format!("Editing {}", item.title()),
    };
    let fields = item
        .kind
        .fields()
        .iter()
        .map(|spec| {
            let value = values.get(spec.name).cloned().unwrap_or_default();
            view! { <EditField spec=*spec value error=error(spec.name)/> }.into_any()
        })
        .collect_view();

    // The home page keeps its own title around the profile's editor; everywhere else the
    // editor is the page.
    let seo = (back != "/").then(|| {
        view! {
            <crate::seo::Seo title=heading.clone() description="Editing in place.".to_owned()
                path=page_path.clone() noindex=true/>
        }
    });
    view! {
        {seo}
        <section class="editor" aria-labelledby="editor-heading" data-testid="editor">
            <h1 id="editor-heading">{heading}</h1>
            <p class="editor-status">
                <StatusBadge status=item.status.clone()/>
                " · version " {item.version} " · "
                <a href=item.history_path()>"History"</a>
            </p>
            <div class="form-summary" role="alert" data-testid="editor-summary">{summary}</div>
            {conflict.map(|theirs| view! { <ConflictPanel theirs mine=values.clone()/> }.into_any())}
            <p class="hint">"Ctrl+S (⌘S) saves, Escape leaves. Unsaved changes are kept in this browser until you save or discard them."</p>
            <form class="owner-form edit-form" method="post" action=item.action_path() novalidate data-testid="edit-form"
                data-draft-key=draft_key data-preview=format!("/owner/preview/{}", item.kind.as_str())>
                <input type="hidden" name="version" value=version/>
                {(!back.is_empty()).then(|| view! { <input type="hidden" name="back" value=back/> })}
                {fields}
                // Suggestions for the picture fields: typing filters the library by address
                // and description.
                <datalist id="edit-pictures">
                    {pictures.into_iter().map(|p| view! { <option value=p.url>{p.alt}</option> }).collect_view()}
                </datalist>
                {preview.map(|(label, html)| view! {
                    <section class="preview" aria-labelledby="preview-heading" data-testid="preview">
                        <h2 id="preview-heading">{format!("Preview: {label}")}</h2>
                        <div class="prose" inner_html=html></div>
                    </section>
                }.into_any())}
                {item.kind.is_document().then(|| view! {
                    <fieldset class="publishing">
                        <legend>"Publishing"</legend>
                        <div class="field">
                            <label for="edit-publish-at">"Publish at (UTC)"</label>
                            <p class="hint" id="edit-publish-at-hint">"For Schedule: a date and time to come."</p>
                            <input id="edit-publish-at" name="publish_at" type="datetime-local" value=publish_at.clone()
                                aria-describedby="edit-publish-at-hint edit-publish-at-error"
                                aria-invalid=error("publish_at").is_some().then_some("true")/>
                            <p class="field-error" id="edit-publish-at-error" data-testid="publish_at-error">{error("publish_at")}</p>
                        </div>
                    </fieldset>
                }.into_any())}
                <div class="editor-actions">
                    <button type="submit" name="intent" value="save" class="button" data-testid="save">
                        {if item.status.is_published() { "Save" } else { "Save draft" }}
                    </button>
                    <button type="submit" name="intent" value="preview" class="button secondary">"Preview"</button>
                    {item.kind.is_document().then(|| view! {
                        {(!item.status.is_published()).then(|| view! {
                            <button type="submit" name="intent" value="publish" class="button secondary">"Publish now"</button>
                        })}
                        <button type="submit" name="intent" value="schedule" class="button secondary">"Schedule"</button>
                        {(item.status != Status::Draft).then(|| view! {
                            <button type="submit" name="intent" value="unpublish" class="button secondary">"Unpublish"</button>
                        })}
                    }.into_any())}
                    <a href=page_path data-cancel>"Cancel"</a>
                    <span class="save-state" role="status" data-testid="save-state"></span>
                </div>
            </form>
        </section>
        <OwnerScript/>
    }
    .into_any()
}

/// The owner's editor script (`public/owner.js`): keeps unsaved edits in the browser and adds
/// the keyboard shortcuts. Rendered only into the owner's pages, so visitors never load it.
#[component]
pub(crate) fn OwnerScript() -> impl IntoView {
    view! { <script type="module" src="/owner.js" nonce=use_nonce()></script> }
}

/// One field of the editor, with its label, hint and message tied together for screen readers.
#[component]
fn EditField(spec: FieldSpec, value: String, error: Option<String>) -> impl IntoView {
    if spec.input == Input::Timeline {
        return view! { <TimelineField spec value error/> }.into_any();
    }
    let id = format!("edit-{}", spec.name);
    let hint_id = format!("{id}-hint");
    let error_id = format!("{id}-error");
    let described_by = crate::components::described_by(&id, !spec.hint.is_empty(), error.is_some());
    let invalid = error.is_some().then_some("true");
    let class = format!("field field-{}", spec.name);
    // For lists, `max` is per item: the browser cannot count that, so only the server does.
    let maxlength =
        (!matches!(spec.input, Input::List | Input::Links | Input::Skills)).then_some(spec.max);
    let control = match spec.input {
        Input::Check => view! {
            <input id=id.clone() name=spec.name type="checkbox" checked=!value.is_empty()
                aria-describedby=described_by/>
        }
        .into_any(),
        Input::Text | Input::Markdown | Input::Links | Input::Skills => {
            let rows = match spec.input {
                Input::Markdown => "18",
                Input::Skills => "6",
                _ => "3",
            };
            view! {
                <textarea id=id.clone() name=spec.name rows=rows maxlength=maxlength
                    required=spec.required aria-invalid=invalid aria-describedby=described_by
                    data-markdown=(spec.input == Input::Markdown).then_some("")>
                    {crate::components::escape_textarea(&value)}
                </textarea>
            }
            .into_any()
        }
        _ => view! {
            <input id=id.clone() name=spec.name type=if spec.input == Input::Url { "url" } else { "text" }
                value=value maxlength=maxlength required=spec.required
                inputmode=(spec.input == Input::Year).then_some("numeric")
                list=(spec.input == Input::Image).then_some("edit-pictures")
                aria-invalid=invalid aria-describedby=described_by/>
        }
        .into_any(),
    };
    view! {
        <div class=class>
            <label for=id>{spec.label}</label>
            {(!spec.hint.is_empty()).then(|| view! { <p class="hint" id=hint_id>{spec.hint}</p> })}
            {control}
            <p class="field-error" id=error_id data-testid=format!("{}-error", spec.name)>{error}</p>
        </div>
    }    .into_any()
}

/// The experience timeline as a group of fields per entry, and a blank one to add an entry
/// (the owner's script offers more). Saving puts the entries in order, newest first.
#[component]
fn TimelineField(spec: FieldSpec, value: String, error: Option<String>) -> impl IntoView {
    let described_by = crate::components::described_by("edit-experience", true, error.is_some());
    let mut list = entries(&value);
    let stored = list.len();
    list.push(Entry::default());
    let rows = list
        .into_iter()
        .enumerate()
        .map(|(index, entry)| {
            let id = |part: &str| format!("edit-experience-{index}-{part}");
            let name = |part: &str| format!("experience-{index}-{part}");
            let legend = if index < stored {
                format!("{} · {}", entry.role, entry.organisation)
            } else {
                "Add an entry".to_owned()
            };
            let line = |part: &'static str, label: &'static str, value: String, max: usize| {
                let kind = if matches!(part, "start" | "end") { "month" } else { "text" };
                view! {
                    <div class=format!("field entry-{part}")>
                        <label for=id(part)>{label}</label>
                        <input id=id(part) name=name(part) type=kind value=value maxlength=max
                            placeholder=(kind == "month").then_some("YYYY-MM")/>
                    </div>
                }
            };
            view! {
                <li>
                    <fieldset class="entry" data-entry=index data-testid="timeline-entry">
                        <legend>{legend}</legend>
                        {line("role", "Role", entry.role, 120)}
                        {line("organisation", "Organisation", entry.organisation, 120)}
                        {line("start", "From (month)", entry.start, 7)}
                        {line("end", "To (month; empty while it lasts)", entry.end, 7)}
                        <div class="field entry-summary">
                            <label for=id("summary")>"Summary"</label>
                            <textarea id=id("summary") name=name("summary") rows="2" maxlength="600">
                                {crate::components::escape_textarea(&entry.summary)}
                            </textarea>
                        </div>
                        {(index < stored).then(|| view! {
                            <label class="check">
                                <input type="checkbox" name=name("remove")/>
                                " Remove this entry"
                            </label>
                        })}
                    </fieldset>
                </li>
            }
        })
        .collect_view();
    view! {
        <fieldset class="field field-experience timeline-edit" id="edit-experience"
            aria-describedby=described_by>
            <legend>{spec.label}</legend>
            <p class="hint" id="edit-experience-hint">{spec.hint}</p>
            <p class="field-error" id="edit-experience-error" data-testid="experience-error">{error}</p>
            <ol class="entries" role="list" data-entries>{rows}</ol>
        </fieldset>
    }
    .into_any()
}

/// A save refused because the item changed meanwhile: both versions, field by field, where they
/// differ. The form below still holds the owner's own text, now based on the newer version, so
/// saving it replaces theirs knowingly; or they take the newer version as it is.
#[component]
fn ConflictPanel(theirs: Item, mine: Values) -> impl IntoView {
    let differing: Vec<&FieldSpec> = theirs
        .kind
        .fields()
        .iter()
        .filter(|spec| theirs.value(spec.name) != mine.get(spec.name).map_or("", String::as_str))
        .collect();
    let rows = differing
        .into_iter()
        .map(|spec| {
            let (saved, typed) = (
                theirs.value(spec.name).to_owned(),
                mine.get(spec.name).cloned().unwrap_or_default(),
            );
            view! {
                <tr>
                    <th scope="row">{spec.label}</th>
                    <td><pre class="version-text">{saved}</pre></td>
                    <td><pre class="version-text">{typed}</pre></td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="conflict" aria-labelledby="conflict-heading" data-testid="conflict">
            <h2 id="conflict-heading">"This changed while you were editing"</h2>
            <p>
                "Version " {theirs.version} " was saved after you started, so your save was not applied. "
                "Compare them below. Keep editing and save to replace version " {theirs.version}
                " with yours, or take the saved version as it is."
            </p>
            <div class="table-scroll">
                <table>
                    <caption>"Fields that differ"</caption>
                    <thead><tr><th scope="col">"Field"</th><th scope="col">{format!("Saved (version {})", theirs.version)}</th><th scope="col">"Yours"</th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
            <p><a class="button secondary" href=theirs.edit_path() data-testid="take-theirs">{format!("Take version {} and discard mine", theirs.version)}</a></p>
        </section>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&str, &str)]) -> Values {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_good_project_is_tidied() {
        let clean = validate(
            Kind::Project,
            &values(&[
                ("title", "  Tide tables "),
                ("slug", "tide-tables"),
                ("tags", " maps, data ,, maps "),
                ("year", " 2024"),
                ("featured", "on"),
                ("body", "    code first\n\ntext  \r\n"),
                ("unknown", "dropped"),
            ]),
        )
        .expect("valid");
        assert_eq!(clean["title"], "Tide tables");
        assert_eq!(clean["tags"], "maps, data");
        assert_eq!(clean["year"], "2024");
        assert_eq!(clean["featured"], "on");
        assert_eq!(clean["body"], "    code first\n\ntext");
        assert!(!clean.contains_key("unknown"));
        assert_eq!(clean["cover"], "");
    }

    #[test]
    fn every_bad_field_is_named_at_once() {
        let errors = validate(
            Kind::Project,
            &values(&[
                ("title", ""),
                ("slug", "Not A Slug"),
                ("year", "1492"),
                ("live_url", "javascript:alert(1)"),
                ("cover", "https://evil.example/x.png"),
                ("summary", &"x".repeat(501)),
            ]),
        )
        .expect_err("invalid");
        let names: Vec<&str> = errors.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["title", "slug", "summary", "year", "live_url", "cover"]
        );
    }

    #[test]
    fn a_picture_needs_alt_text() {
        let errors = validate(
            Kind::Project,
            &values(&[
                ("title", "T"),
                ("slug", "t"),
                ("cover", "/media/0123456789abcdef0123456789abcdef-1600.webp"),
            ]),
        )
        .expect_err("no alt");
        assert_eq!(errors[0].0, "cover_alt");
    }

    #[test]
    fn links_are_label_and_address_per_line() {
        let clean = validate(
            Kind::Profile,
            &values(&[
                ("name", "Ada"),
                (
                    "links",
                    "GitHub|https://github.com/ada\n\n Mail | mailto:ada@example.com ",
                ),
            ]),
        )
        .expect("valid");
        assert_eq!(
            clean["links"],
            "GitHub | https://github.com/ada\nMail | mailto:ada@example.com"
        );
        for bad in [
            "no bar here",
            "X | javascript:alert(1)",
            " | https://a.example",
        ] {
            assert!(
                validate(Kind::Profile, &values(&[("name", "Ada"), ("links", bad)])).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn slugs_follow_the_database_rule() {
        for good in ["a", "tide-tables", "2024-review"] {
            assert!(is_slug(good), "{good}");
        }
        for bad in ["", "-a", "a-", "a--b", "A", "a_b", "a b", &"a".repeat(81)] {
            assert!(!is_slug(bad), "{bad}");
        }
        assert_eq!(slug_from("Tide & Sea: a Study!"), "tide-sea-a-study");
        assert_eq!(slug_from("!!!"), "untitled");
        assert!(is_slug(&slug_from(&"Long words ".repeat(20))));
    }

    #[test]
    fn timeline_entries_round_trip_and_are_ordered_newest_first() {
        let form = values(&[
            ("experience-0-role", "Cartographer"),
            ("experience-0-organisation", "Harbour Office"),
            ("experience-0-start", "2015-04"),
            ("experience-0-end", "2019-08"),
            ("experience-0-summary", "Charted | the\r\nestuary."),
            ("experience-1-role", "Gone"),
            ("experience-1-remove", "on"),
            ("experience-3-role", "Lead"),
            ("experience-3-organisation", "Tidewater"),
            ("experience-3-start", "2019-09"),
        ]);
        let get = |name: &str| form.get(name).map_or("", String::as_str);
        let (text, problem) = timeline_from_form(get);
        assert_eq!(problem, None);
        let clean = check_timeline(&text).expect("valid");
        assert_eq!(
            clean,
            "2019-09 \u{2013} now | Lead | Tidewater\n\
             2015-04 \u{2013} 2019-08 | Cartographer | Harbour Office | Charted | the estuary."
        );
        let parsed = entries(&clean);
        assert_eq!(parsed[1].summary, "Charted | the estuary.");
        assert_eq!(parsed[0].end, "");
        assert_eq!(check_timeline(&clean).as_deref(), Ok(clean.as_str()));
    }

    #[test]
    fn a_timeline_entry_is_checked_part_by_part() {
        let form = values(&[("experience-0-role", "A | B")]);
        let (_, problem) = timeline_from_form(|n| form.get(n).map_or("", String::as_str));
        assert!(problem.expect("refused").contains("cannot contain |"));
        for (line, message) in [
            (
                "2019-13 \u{2013} now | R | O | ",
                "give the start as a month",
            ),
            (
                "1800-01 \u{2013} now | R | O | ",
                "give the start as a month",
            ),
            (
                "2019-01 \u{2013} 2018-12 | R | O | ",
                "ends before it starts",
            ),
            ("2019-01 \u{2013} now |  | O | ", "give the role"),
            ("2019-01 \u{2013} now | R |  | ", "give the organisation"),
        ] {
            let error = check_timeline(line).expect_err(line);
            assert!(error.contains(message), "{line}: {error}");
        }
        let many = vec!["2019-01 \u{2013} now | R | O | "; TIMELINE_MAX + 1].join("\n");
        assert!(check_timeline(&many).is_err());
    }

    #[test]
    fn skills_are_groups_of_unique_names() {
        assert_eq!(
            check_skills(" Languages : Rust, SQL,, Rust \n\nDesign: Maps"),
            Ok("Languages: Rust, SQL\nDesign: Maps".to_owned())
        );
        for bad in ["Rust, SQL", ": Rust", "A: x\nA: y", "Empty:", "A: \u{7}"] {
            assert!(check_skills(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn only_pictures_on_this_site_are_images() {
        for good in ["/media/abc-1600.webp", "/demo/x-720.webp"] {
            assert!(is_image_path(good), "{good}");
        }
        for bad in [
            "//evil.example/x.png",
            "/../etc/passwd.png",
            "/x.html",
            "javascript:x.png",
            "/a b.png",
        ] {
            assert!(!is_image_path(bad), "{bad}");
        }
    }
}
