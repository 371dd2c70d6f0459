//! The projects index (tag filter, search, pages) and the case-study page.

use crate::components::{Cover, ErrorNotice, PAGE_SIZES, Pagination, ProjectGrid};
use crate::content::projects::{ProjectQuery, get_project, list_projects};
use crate::editor::{Editor, Kind, OwnerTools, editing};
use crate::seo::Seo;
use leptos::prelude::*;
use leptos::serde_json::json;
use leptos_router::hooks::{use_params_map, use_query_map};

/// A query value as a form would send it (`application/x-www-form-urlencoded`).
fn encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// `/projects` with the filter kept in `query`.
fn index_href(tag: Option<&str>, q: Option<&str>, page: Option<u32>) -> String {
    let mut params: Vec<String> = Vec::new();
    if let Some(tag) = tag {
        params.push(format!("tag={}", encode(tag)));
    }
    if let Some(q) = q {
        params.push(format!("q={}", encode(q)));
    }
    if let Some(page) = page.filter(|p| *p > 1) {
        params.push(format!("page={page}"));
    }
    if params.is_empty() {
        "/projects".into()
    } else {
        format!("/projects?{}", params.join("&"))
    }
}

#[component]
pub fn ProjectsPage() -> impl IntoView {
    let query = use_query_map();
    let request = move || {
        query.with(|q| ProjectQuery {
            tag: q.get("tag"),
            q: q.get("q"),
            page: q.get("page"),
        })
    };
    let list = Resource::new_blocking(request, list_projects);

    view! {
        <h1>"Projects"</h1>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match list.await {
                    Err(error) => view! { <ErrorNotice error nested=true/> }.into_any(),
                    Ok(found) => {
                        let (tag, q) = (found.tag, found.q);
                        let summary = match (found.page.total, &tag, &q) {
                            (0, None, None) => "No projects published yet.".to_owned(),
                            (0, _, _) => "No projects match.".to_owned(),
                            (1, None, None) => "1 project".to_owned(),
                            (n, None, None) => format!("{n} projects"),
                            (1, _, _) => "1 project matches".to_owned(),
                            (n, _, _) => format!("{n} projects match"),
                        };
                        let (tag_for_pages, q_for_pages) = (tag.clone(), q.clone());
                        let canonical = index_href(tag.as_deref(), q.as_deref(), Some(found.page.number));
                        view! {
                            <Seo
                                title="Projects".to_owned()
                                description="Case studies: what was built, why, and how it turned out.".to_owned()
                                path=canonical
                            />
                            <div class="live" data-live>
                                <form class="filters" method="get" action="/projects" role="search">
                                    <label for="q">"Search projects"</label>
                                    <input id="q" name="q" type="search" maxlength="100" value=q.clone().unwrap_or_default() data-live-search/>
                                    <span data-swap="form-tag">
                                        {tag.clone().map(|t| view! { <input type="hidden" name="tag" value=t/> })}
                                    </span>
                                    <button type="submit">"Search"</button>
                                </form>
                                <nav class="tags" aria-label="Filter by tag" data-swap="tags">
                                    <a href=index_href(None, q.as_deref(), None) aria-current=tag.is_none().then_some("page")>"All"</a>
                                    {found.tags.into_iter().map(|t| {
                                        let current = tag.as_deref() == Some(t.as_str());
                                        view! {
                                            <a href=index_href(Some(&t), q.as_deref(), None) aria-current=current.then_some("page")>{t.clone()}</a>
                                        }
                                    }).collect_view()}
                                </nav>
                                <p class="result-count" role="status" tabindex="-1" data-live-status data-testid="result-count">{summary}</p>
                                <div data-swap="results">
                                    <ProjectGrid projects=found.items eager=true top_level=true/>
                                    <Pagination
                                        page=found.page
                                        href=move |n| index_href(tag_for_pages.as_deref(), q_for_pages.as_deref(), Some(n))
                                    />
                                </div>
                                <crate::live::LiveRegion/>
                            </div>
                        }
                        .into_any()
                    }
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn ProjectPage() -> impl IntoView {
    let params = use_params_map();
    let slug = move || params.with(|p| p.get("slug").unwrap_or_default());
    if editing(Kind::Project) {
        return view! { <Editor kind=Kind::Project slug=slug()/> }.into_any();
    }
    let project = Resource::new_blocking(slug, get_project);

    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match project.await {
                    Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    Ok(p) => view! {
                        <Seo
                            title=p.card.title.clone()
                            description=p.card.summary.clone()
                            path=format!("/projects/{}", p.card.slug)
                            image=p.card.cover.clone().map(|src| (src, p.card.cover_alt.clone()))
                            article=true
                            json_ld=json!({
                                "@context": "https://schema.org",
                                "@type": "CreativeWork",
                                "name": p.card.title,
                                "description": p.card.summary,
                                "datePublished": p.published,
                                "keywords": p.card.tags.join(", "),
                            })
                        />
                        <OwnerTools kind=Kind::Project slug=p.card.slug.clone()/>
                        <article class="case-study" data-testid="case-study">
                            <header>
                                <p class="eyebrow"><a href="/projects">"Projects"</a></p>
                                <h1>{p.card.title.clone()}</h1>
                                <p class="lede">{p.card.summary.clone()}</p>
                                <dl class="facts">
                                    {(!p.role.is_empty()).then(|| view! { <dt>"Role"</dt><dd>{p.role.clone()}</dd> })}
                                    {p.card.year.map(|y| view! { <dt>"Year"</dt><dd>{y}</dd> })}
                                    {(!p.stack.is_empty()).then(|| view! { <dt>"Stack"</dt><dd>{p.stack.join(", ")}</dd> })}
                                </dl>
                                <p class="links">
                                    {p.live_url.clone().map(|u| view! { <a href=u rel="noopener">"Visit the project"</a> })}
                                    {p.source_url.clone().map(|u| view! { <a href=u rel="noopener">"Source"</a> })}
                                </p>
                            </header>
                            {p.card.cover.clone().map(|src| view! {
                                <Cover
                                    class="cover"
                                    src
                                    alt=p.card.cover_alt.clone()
                                    srcset=p.card.cover_srcset.clone()
                                    sizes=PAGE_SIZES
                                    first=true
                                />
                            })}
                            <div class="prose" inner_html=p.body_html.clone()></div>
                        </article>
                    }
                    .into_any(),
                }
            })}
        </Suspense>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_addresses_keep_the_other_filter_and_drop_page_one() {
        assert_eq!(index_href(None, None, None), "/projects");
        assert_eq!(
            index_href(Some("data viz"), Some("tide & sea"), Some(1)),
            "/projects?tag=data+viz&q=tide+%26+sea"
        );
        assert_eq!(index_href(None, None, Some(2)), "/projects?page=2");
    }
}
