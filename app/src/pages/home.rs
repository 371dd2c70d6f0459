//! The home page.

use crate::content::projects::{ProjectCard, list_projects};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn HomePage() -> impl IntoView {
    let projects = Resource::new_blocking(|| (), |()| list_projects());

    view! {
        <Title text="folio"/>
        <section class="hero" aria-labelledby="hero-title">
            <h1 id="hero-title">"Selected work"</h1>
        </section>
        <section aria-labelledby="projects-title">
            <h2 id="projects-title">"Projects"</h2>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match projects.await {
                        Ok(list) => view! { <ProjectList projects=list/> }.into_any(),
                        Err(error) => view! {
                            <p role="alert" class="error">{error.to_string()}</p>
                        }
                        .into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn ProjectList(projects: Vec<ProjectCard>) -> impl IntoView {
    if projects.is_empty() {
        return view! { <p class="empty">"No projects published yet."</p> }.into_any();
    }
    view! {
        <ul class="project-list" data-testid="project-list">
            {projects
                .into_iter()
                .map(|project| {
                    view! {
                        <li class="project-card" data-testid="project-card">
                            <h3>{project.title}</h3>
                            <p>{project.summary}</p>
                            {project.year.map(|year| view! { <p class="meta">{year}</p> })}
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
    .into_any()
}
