//! The home page: who, featured work, recent writing, how to get in touch.

use crate::components::{ErrorNotice, ProjectGrid};
use crate::content::posts::recent_posts;
use crate::content::profile::get_profile;
use crate::content::projects::featured_projects;
use crate::editor::{Editor, Kind, OwnerTools, editing};
use crate::seo::{Seo, person};
use leptos::prelude::*;

#[component]
pub fn HomePage() -> impl IntoView {
    let edit_profile = editing(Kind::Profile);
    let data = Resource::new_blocking(
        || (),
        |()| async {
            (
                get_profile().await,
                featured_projects().await,
                recent_posts().await,
            )
        },
    );

    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let (profile, featured, posts) = data.await;
                let (profile, featured, posts) = match (profile, featured, posts) {
                    (Ok(a), Ok(b), Ok(c)) => (a, b, c),
                    (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
                        return view! { <ErrorNotice error=e/> }.into_any();
                    }
                };
                view! {
                    <Seo
                        title=profile.name.clone()
                        description=profile.bio_short.clone()
                        path="/".to_owned()
                        json_ld=person(&profile)
                    />
                    {if edit_profile {
                        view! { <Editor kind=Kind::Profile slug="" back="/"/> }.into_any()
                    } else {
                        view! {
                            <OwnerTools kind=Kind::Profile slug=""/>
                            <section class="hero" aria-labelledby="hero-title">
                                <p class="eyebrow">{profile.name.clone()}</p>
                                <h1 id="hero-title" data-testid="headline">{profile.headline.clone()}</h1>
                                <p class="lede">{profile.bio_short.clone()}</p>
                                {(!profile.availability.is_empty()).then(|| view! {
                                    <p class="availability">{profile.availability.clone()}</p>
                                })}
                            </section>
                        }.into_any()
                    }}
                    <section aria-labelledby="work-title">
                        <div class="section-head">
                            <h2 id="work-title">"Selected work"</h2>
                            <a href="/projects">"All projects"</a>
                        </div>
                        // Below the hero, whose headline is the largest paint: covers load lazily.
                        <ProjectGrid projects=featured/>
                    </section>
                    <section aria-labelledby="writing-title">
                        <div class="section-head">
                            <h2 id="writing-title">"Recent writing"</h2>
                            <a href="/writing">"All writing"</a>
                        </div>
                        <crate::pages::writing::PostItems posts=posts/>
                    </section>
                    <section class="contact-call" aria-labelledby="contact-title">
                        <h2 id="contact-title">"Have a project in mind?"</h2>
                        <p><a class="button" href="/contact">"Write to me"</a></p>
                    </section>
                }
                .into_any()
            })}
        </Suspense>
    }
}
