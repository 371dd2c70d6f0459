//! Pieces several pages share: cards, pagination, error states.

use crate::content::Page;
use crate::content::projects::ProjectCard;
use crate::error::AppError;
use leptos::prelude::*;

/// Cover images are 16:10; the size is given so nothing shifts while they load.
const COVER_WIDTH: u32 = 1600;
const COVER_HEIGHT: u32 = 1000;
/// How wide a card's cover is drawn: one column on phones, two from 42rem, three columns of a
/// 72rem page at most. On a phone the column is the viewport less the page's side margins (at
/// least 1rem each): saying `100vw` there made a 412 px phone at 1.75x ask for 721 px and fetch
/// the 1080 px file (20 KB) where the 720 px one (13 KB) is sharp.
const CARD_SIZES: &str = "(min-width: 75rem) 23rem, (min-width: 42rem) 50vw, calc(100vw - 2rem)";
/// A case study's cover spans the page, at most 72rem, inside the same margins.
pub const PAGE_SIZES: &str = "(min-width: 75rem) 72rem, calc(100vw - 2rem)";

/// A project's cover image: its size given, so nothing shifts while it loads, and, when it
/// comes in several widths (`srcset`, possibly empty), the `sizes` it is drawn at.
#[component]
pub fn Cover(
    src: String,
    alt: String,
    srcset: String,
    sizes: &'static str,
    #[prop(optional)] class: Option<&'static str>,
    /// Wait for layout before loading (covers that are not the page's first).
    #[prop(optional)]
    lazy: bool,
    /// Load ahead of everything else (the page's largest paint).
    #[prop(optional)]
    first: bool,
) -> impl IntoView {
    let several = !srcset.is_empty();
    view! {
        <img
            class=class
            src=src
            srcset=several.then_some(srcset)
            sizes=several.then_some(sizes)
            alt=alt
            width=COVER_WIDTH
            height=COVER_HEIGHT
            loading=if lazy { "lazy" } else { "eager" }
            fetchpriority=first.then_some("high")
            decoding="async"
        />
    }
}

/// A grid of project cards, each a link to its case study.
///
/// `top_level` cards sit directly under the page's `<h1>` and so title themselves with `<h2>`;
/// otherwise they sit in a titled section and use `<h3>`, keeping the heading order unbroken.
#[component]
pub fn ProjectGrid(
    projects: Vec<ProjectCard>,
    #[prop(optional)] eager: bool,
    #[prop(optional)] top_level: bool,
) -> impl IntoView {
    view! {
        <ul class="project-grid" data-testid="project-list">
            {projects
                .into_iter()
                .enumerate()
                .map(|(index, project)| {
                    let href = format!("/projects/{}", project.slug);
                    // An `eager` grid leads its page: its first cover is usually the largest
                    // paint, so it loads at once and ahead of everything else. Every other
                    // cover waits for layout, so it never competes with what paints first.
                    let first = eager && index == 0;
                    let title = view! { <a href=href>{project.title}</a> };
                    let title = if top_level {
                        view! { <h2>{title}</h2> }.into_any()
                    } else {
                        view! { <h3>{title}</h3> }.into_any()
                    };
                    view! {
                        <li class="project-card" data-testid="project-card">
                            {project.cover.map(|src| view! {
                                <Cover
                                    src
                                    alt=project.cover_alt
                                    srcset=project.cover_srcset
                                    sizes=CARD_SIZES
                                    lazy=!first
                                    first
                                />
                            })}
                            {title}
                            <p>{project.summary}</p>
                            <p class="meta">
                                {project.year.map(|y| view! { <span>{y}</span> })}
                                {project.tags.into_iter().map(|t| view! { <span class="tag">{t}</span> }).collect_view()}
                            </p>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
}

/// Previous / next links and "page N of M"; `href(n)` builds page n's address.
#[component]
pub fn Pagination(page: Page, href: impl Fn(u32) -> String + 'static) -> impl IntoView {
    (page.count > 1).then(|| {
        let previous = (page.number > 1).then(|| href(page.number - 1));
        let next = (page.number < page.count).then(|| href(page.number + 1));
        view! {
            <nav class="pagination" aria-label="Pages">
                {previous.map(|h| view! { <a href=h rel="prev">"Newer"</a> })}
                <span aria-current="page">{format!("Page {} of {}", page.number, page.count)}</span>
                {next.map(|h| view! { <a href=h rel="next">"Older"</a> })}
            </nav>
        }
    })
}

/// An error as a page section, answered with the error's status code.
///
/// `nested` notices sit under a page's own `<h1>` (an index that refused its filter) and title
/// themselves with `<h2>`; otherwise the notice is the page and has the `<h1>`.
#[component]
pub fn ErrorNotice(error: AppError, #[prop(optional)] nested: bool) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>()
        && let Ok(status) = http::StatusCode::from_u16(error.status_code())
    {
        response.set_status(status);
    }
    if error == AppError::NotFound {
        return view! { <crate::pages::not_found::NotFound/> }.into_any();
    }
    let message = match &error {
        AppError::Invalid { message, .. } => message.clone(),
        other => other.to_string(),
    };
    let heading = "That didn't work";
    view! {
        <leptos_meta::Title text=heading/>
        <section class="notice" data-testid="error">
            {if nested {
                view! { <h2>{heading}</h2> }.into_any()
            } else {
                view! { <h1>{heading}</h1> }.into_any()
            }}
            <p role="alert">{message}</p>
        </section>
    }
    .into_any()
}

/// A textarea's text, escaped: Leptos writes it unescaped (it treats it like `<script>`), so a
/// draft holding `</textarea>` would otherwise end the element early.
pub(crate) fn escape_textarea(value: &str) -> String {
    value
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `aria-describedby` for a field: its hint and, when there is one, its error.
pub fn described_by(id: &str, has_hint: bool, has_error: bool) -> Option<String> {
    let ids: Vec<String> = [
        has_hint.then(|| format!("{id}-hint")),
        has_error.then(|| format!("{id}-error")),
    ]
    .into_iter()
    .flatten()
    .collect();
    (!ids.is_empty()).then(|| ids.join(" "))
}

/// One labelled input or textarea with its hint and error, tied together for screen readers.
#[component]
pub fn Field(
    id: &'static str,
    name: &'static str,
    label: &'static str,
    value: String,
    max: usize,
    error: Option<String>,
    #[prop(optional)] kind: Option<&'static str>,
    #[prop(optional)] multiline: bool,
    #[prop(optional)] autocomplete: Option<&'static str>,
    #[prop(optional)] hint: Option<String>,
) -> impl IntoView {
    let described_by = described_by(id, hint.is_some(), error.is_some());
    let invalid = error.is_some().then_some("true");
    let control = if multiline {
        let value = escape_textarea(&value);
        view! {
            <textarea
                id=id
                name=name
                rows="7"
                maxlength=max
                required
                aria-invalid=invalid
                aria-describedby=described_by
            >{value}</textarea>
        }
        .into_any()
    } else {
        view! {
            <input
                id=id
                name=name
                type=kind.unwrap_or("text")
                value=value
                maxlength=max
                autocomplete=autocomplete
                required
                aria-invalid=invalid
                aria-describedby=described_by
            />
        }
        .into_any()
    };
    view! {
        <div class="field">
            <label for=id>{label}</label>
            {hint.map(|text| view! { <p class="hint" id=format!("{id}-hint")>{text}</p> })}
            {control}
            <p class="field-error" id=format!("{id}-error") data-testid=format!("{name}-error")>{error}</p>
        </div>
    }
    .into_any()
}
