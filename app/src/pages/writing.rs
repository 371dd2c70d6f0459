//! The writing index and a post.

use crate::components::{ErrorNotice, Pagination};
use crate::content::posts::{PostCard, get_post, list_posts};
use crate::editor::{Editor, Kind, OwnerTools, editing};
use crate::seo::Seo;
use leptos::prelude::*;
use leptos::serde_json::json;
use leptos_router::hooks::{use_params_map, use_query_map};

/// A list of posts: title, date, summary.
#[component]
pub fn PostItems(posts: Vec<PostCard>) -> impl IntoView {
    if posts.is_empty() {
        return view! { <p class="empty">"Nothing published yet."</p> }.into_any();
    }
    view! {
        <ul class="post-list" data-testid="post-list">
            {posts.into_iter().map(|post| view! {
                <li class="post-item" data-testid="post-item">
                    <h3><a href=format!("/writing/{}", post.slug)>{post.title}</a></h3>
                    <p class="meta"><time datetime=post.published.clone()>{post.published.clone()}</time></p>
                    <p>{post.summary}</p>
                </li>
            }).collect_view()}
        </ul>
    }
    .into_any()
}

#[component]
pub fn WritingPage() -> impl IntoView {
    let query = use_query_map();
    let list = Resource::new_blocking(move || query.with(|q| q.get("page")), list_posts);
    view! {
        <h1>"Writing"</h1>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match list.await {
                    Err(error) => view! { <ErrorNotice error nested=true/> }.into_any(),
                    Ok(found) => view! {
                        <Seo
                            title="Writing".to_owned()
                            description="Essays on building software that is fast, accessible and kind to its users.".to_owned()
                            path={if found.page.number > 1 { format!("/writing?page={}", found.page.number) } else { "/writing".to_owned() }}
                        />
                        <PostItems posts=found.items/>
                        <Pagination page=found.page href=|n| format!("/writing?page={n}")/>
                    }
                    .into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn PostPage() -> impl IntoView {
    let params = use_params_map();
    let slug = move || params.with(|p| p.get("slug").unwrap_or_default());
    if editing(Kind::Post) {
        return view! { <Editor kind=Kind::Post slug=slug()/> }.into_any();
    }
    let post = Resource::new_blocking(slug, get_post);
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match post.await {
                    Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    Ok(p) => view! {
                        <Seo
                            title=p.card.title.clone()
                            description=p.card.summary.clone()
                            path=format!("/writing/{}", p.card.slug)
                            article=true
                            json_ld=json!({
                                "@context": "https://schema.org",
                                "@type": "BlogPosting",
                                "headline": p.card.title,
                                "description": p.card.summary,
                                "datePublished": p.card.published,
                                "keywords": p.card.tags.join(", "),
                            })
                        />
                        <OwnerTools kind=Kind::Post slug=p.card.slug.clone()/>
                        <article class="post" data-testid="post">
                            <header>
                                <p class="eyebrow"><a href="/writing">"Writing"</a></p>
                                <h1>{p.card.title.clone()}</h1>
                                <p class="meta"><time datetime=p.card.published.clone()>{p.card.published.clone()}</time></p>
                            </header>
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
