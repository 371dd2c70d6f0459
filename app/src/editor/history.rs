//! `/owner/history/{kind}/{id}`: an item's revisions, what each one changed, and restoring
//! any of them (which is itself a new revision). A deleted item's history offers to bring it
//! back.

use super::{Item, Kind};
use crate::error::AppError;
use crate::owner::{OwnerNav, OwnerOnly, OwnerStyles, no_store};
use crate::seo::Seo;
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};
use serde::{Deserialize, Serialize};

/// One line of a field's difference: `'-'` removed, `'+'` added, `' '` unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffLine {
    pub tag: char,
    pub text: String,
}

/// How one field differs between two revisions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldDiff {
    pub label: String,
    pub lines: Vec<DiffLine>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevisionInfo {
    pub version: i32,
    pub action: String,
    pub at: String,
}

/// A revision being looked at, against an older one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shown {
    pub version: i32,
    pub action: String,
    pub at: String,
    /// The revision it is compared with (`None`: the first, compared with nothing).
    pub against: Option<i32>,
    pub diff: Vec<FieldDiff>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    pub kind: Kind,
    pub id: i64,
    pub title: String,
    /// The item as it is now; `None` once deleted.
    pub current: Option<Item>,
    pub revisions: Vec<RevisionInfo>,
    pub shown: Option<Shown>,
}

/// What changed in each field from `old` to `new`, line by line; unchanged fields are left out.
pub fn diff(kind: Kind, old: &super::Values, new: &super::Values) -> Vec<FieldDiff> {
    kind.fields()
        .iter()
        .filter_map(|spec| {
            let (a, b) = (
                old.get(spec.name).map_or("", String::as_str),
                new.get(spec.name).map_or("", String::as_str),
            );
            (a != b).then(|| FieldDiff {
                label: spec.label.to_owned(),
                lines: line_diff(a, b),
            })
        })
        .collect()
}

/// A longest-common-subsequence line diff: small texts, so the quadratic table is fine, and
/// long ones fall back to "all removed, all added" rather than stall the request.
fn line_diff(old: &str, new: &str) -> Vec<DiffLine> {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let line = |tag: char, text: &str| DiffLine {
        tag,
        text: text.to_owned(),
    };
    if a.len().saturating_mul(b.len()) > 4_000_000 {
        return a
            .iter()
            .map(|t| line('-', t))
            .chain(b.iter().map(|t| line('+', t)))
            .collect();
    }
    // lcs[i][j]: the longest common subsequence of a[i..] and b[j..].
    let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            out.push(line(' ', a[i]));
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            // Removals before additions, as diffs are read.
            out.push(line('-', a[i]));
            i += 1;
        } else {
            out.push(line('+', b[j]));
            j += 1;
        }
    }
    out
}

#[server(endpoint = "owner/history", input = server_fn::codec::GetUrl)]
pub async fn item_history(
    kind: Option<String>,
    id: Option<i64>,
    version: Option<String>,
) -> Result<History, AppError> {
    crate::owner::require_owner()?;
    let pool = use_context::<sqlx::PgPool>().ok_or(AppError::Internal)?;
    let kind = kind
        .as_deref()
        .and_then(Kind::parse)
        .ok_or(AppError::NotFound)?;
    let id = id.ok_or(AppError::NotFound)?;
    let revisions = super::store::history(&pool, kind, id).await?;
    let current = super::store::load(&pool, kind, super::store::Key::Id(id)).await?;
    if revisions.is_empty() && current.as_ref().is_none_or(|c| c.version == 0) {
        return Err(AppError::NotFound);
    }
    let wanted = match version.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(v) => Some(v.parse::<i32>().map_err(|_| {
            AppError::invalid(
                "version",
                format!("\u{201c}{v}\u{201d} is not a version number."),
            )
        })?),
    };
    // The contents of just the revisions shown: the one asked for and the one before it.
    let contents = async |version: i32| {
        super::store::revision(&pool, kind, id, version)
            .await?
            .map(|r| r.values)
            .ok_or(AppError::NotFound)
    };
    let shown = match wanted {
        None => None,
        Some(v) => {
            let at = revisions
                .iter()
                .position(|r| r.version == v)
                .ok_or(AppError::NotFound)?;
            let (this, older) = (&revisions[at], revisions.get(at + 1));
            let old = match older {
                Some(older) => contents(older.version).await?,
                None => super::Values::new(),
            };
            Some(Shown {
                version: this.version,
                action: this.action.clone(),
                at: this.at.clone(),
                against: older.map(|o| o.version),
                diff: diff(kind, &old, &contents(this.version).await?),
            })
        }
    };
    let title = match (&current, revisions.first()) {
        (Some(current), _) => current.title(),
        // Deleted: named as it was last.
        (None, Some(last)) => format!(
            "\u{201c}{}\u{201d}",
            contents(last.version)
                .await?
                .get("title")
                .map_or("", String::as_str)
        ),
        (None, None) => String::new(),
    };
    Ok(History {
        kind,
        id,
        title,
        current,
        revisions,
        shown,
    })
}

/// How an action reads in the list.
fn action_text(action: &str) -> &'static str {
    match action {
        "baseline" => "As it was before your first edit",
        "create" => "Created",
        "save" => "Saved",
        "publish" => "Published",
        "unpublish" => "Unpublished",
        "schedule" => "Scheduled",
        "restore" => "Restored an earlier version",
        "delete" => "Deleted",
        "undelete" => "Brought back",
        "duplicate" => "Created as a copy",
        _ => "Changed",
    }
}

#[component]
pub fn HistoryPage() -> impl IntoView {
    no_store();
    let params = use_params_map();
    let query = use_query_map();
    let request = move || {
        (
            params.with(|p| p.get("kind")),
            params.with(|p| p.get("id").and_then(|id| id.parse::<i64>().ok())),
            query.with(|q| q.get("v")),
        )
    };
    let history = Resource::new_blocking(request, |(kind, id, v)| item_history(kind, id, v));
    view! {
        <OwnerStyles/>
        <Seo title="History".to_owned() description="An item's revisions.".to_owned() path="/owner/history".to_owned() noindex=true/>
        <section class="owner-page" aria-labelledby="history-heading">
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match history.await {
                        Err(error) => view! {
                            <h1 id="history-heading">"History"</h1>
                            <OwnerOnly error path="/owner/content"/>
                        }.into_any(),
                        Ok(h) => view! { <HistoryView h/> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn HistoryView(h: History) -> impl IntoView {
    let base = format!("/owner/history/{}/{}", h.kind.as_str(), h.id);
    let current_version = h.current.as_ref().map(|c| c.version);
    let shown_version = h.shown.as_ref().map(|s| s.version);
    let list = h
        .revisions
        .iter()
        .map(|r| {
            let href = format!("{base}?v={}", r.version);
            let current = shown_version == Some(r.version);
            let latest = current_version == Some(r.version);
            view! {
                <li>
                    <a href=href aria-current=current.then_some("page")>{format!("Version {}", r.version)}</a>
                    " · " {action_text(&r.action)} " · " <time datetime=r.at.clone()>{super::human_time(&r.at)}</time>
                    {latest.then(|| view! { " " <span class="badge">"current"</span> })}
                </li>
            }
        })
        .collect_view();
    let shown = h.shown.clone().map(|s| {
        let restorable = h.current.is_some()
            && current_version != Some(s.version)
            && s.action != "delete";
        let against = s.against.map_or_else(
            || "Compared with nothing: the first version on record.".to_owned(),
            |v| format!("What changed since version {v}."),
        );
        let fields = if s.diff.is_empty() {
            view! { <p>"No field changed in this version."</p> }.into_any()
        } else {
            s.diff
                .into_iter()
                .map(|f| {
                    view! {
                        <h3>{f.label}</h3>
                        <pre class="diff" data-testid="diff">
                            {f.lines.into_iter().map(|l| {
                                let (class, sign) = match l.tag {
                                    '+' => ("added", "+ "),
                                    '-' => ("removed", "- "),
                                    _ => ("same", "  "),
                                };
                                let text = format!("{sign}{}\n", l.text);
                                match l.tag {
                                    '+' => view! { <ins class=class>{text}</ins> }.into_any(),
                                    '-' => view! { <del class=class>{text}</del> }.into_any(),
                                    _ => view! { <span class=class>{text}</span> }.into_any(),
                                }
                            }).collect_view()}
                        </pre>
                    }
                })
                .collect_view()
                .into_any()
        };
        view! {
            <section class="revision" aria-labelledby="revision-heading" data-testid="revision">
                <h2 id="revision-heading">{format!("Version {}: {}", s.version, action_text(&s.action))}</h2>
                <p>{against}</p>
                {fields}
                {restorable.then(|| view! {
                    <form method="post" action=format!("{base}/restore")>
                        <input type="hidden" name="version" value=s.version/>
                        <input type="hidden" name="base" value=current_version.unwrap_or_default()/>
                        <button type="submit" class="button" data-testid="restore">{format!("Restore version {}", s.version)}</button>
                    </form>
                })}
            </section>
        }
    });
    let back = h.current.as_ref().map(|c| (c.public_path(), c.edit_path()));
    view! {
        <h1 id="history-heading">{format!("History of {}", h.title)}</h1>
        <OwnerNav current="/owner/content"/>
        {match back {
            Some((public, edit)) => view! {
                <p><a href=public>"View it"</a> " · " <a href=edit>"Edit it"</a></p>
            }.into_any(),
            None => view! {
                <div class="notice-warn" role="status">
                    <p>"This was deleted. Its whole history is kept."</p>
                    <form method="post" action=format!("{base}/undelete")>
                        <button type="submit" class="button" data-testid="undelete">"Bring it back"</button>
                    </form>
                </div>
            }.into_any(),
        }}
        {shown}
        <h2>"Versions"</h2>
        <ol class="revisions" reversed data-testid="revisions">{list}</ol>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(lines: &[DiffLine]) -> String {
        lines
            .iter()
            .map(|l| format!("{}{}\n", l.tag, l.text))
            .collect()
    }

    #[test]
    fn line_diffs_keep_what_is_common() {
        let diff = line_diff("one\ntwo\nthree", "one\n2\nthree\nfour");
        assert_eq!(render(&diff), " one\n-two\n+2\n three\n+four\n");
        assert_eq!(render(&line_diff("", "new")), "+new\n");
        assert_eq!(render(&line_diff("same", "same")), " same\n");
    }

    #[test]
    fn only_changed_fields_are_listed() {
        let old: super::super::Values = [
            ("title".to_owned(), "A".to_owned()),
            ("body".to_owned(), "x".to_owned()),
        ]
        .into();
        let new: super::super::Values = [
            ("title".to_owned(), "B".to_owned()),
            ("body".to_owned(), "x".to_owned()),
        ]
        .into();
        let diff = diff(Kind::Post, &old, &new);
        assert_eq!(diff.len(), 1);
        assert_eq!(diff[0].label, "Title");
    }
}
