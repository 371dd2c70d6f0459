//! About: the long bio, experience and skills.

use crate::components::ErrorNotice;
use crate::content::profile::get_profile;
use crate::editor::{EditHere, Editor, Kind, OwnerTools, editing};
use crate::seo::{Seo, person};
use leptos::prelude::*;

/// The portrait is square and drawn at most this many CSS pixels wide.
const AVATAR_SIZE: u32 = 240;

#[component]
pub fn AboutPage() -> impl IntoView {
    if editing(Kind::Profile) {
        return view! { <Editor kind=Kind::Profile slug="" back="/about"/> }.into_any();
    }
    let profile = Resource::new_blocking(|| (), |()| get_profile());
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match profile.await {
                    Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    Ok(p) => view! {
                        <Seo
                            title=format!("About {}", p.name)
                            description=p.bio_short.clone()
                            path="/about".to_owned()
                            json_ld=person(&p)
                        />
                        <OwnerTools kind=Kind::Profile slug=""/>
                        <h1>{format!("About {}", p.name)}</h1>
                        {p.avatar.clone().map(|(src, alt)| view! {
                            <img class="avatar" src=src alt=alt width=AVATAR_SIZE height=AVATAR_SIZE decoding="async"/>
                        })}
                        <EditHere field="bio_long" label="Edit bio"/>
                        <div class="prose" inner_html=p.bio_html.clone()></div>
                        <section aria-labelledby="experience-title">
                            <h2 id="experience-title">"Experience"</h2>
                            <EditHere field="experience" label="Edit experience"/>
                            <ol class="timeline" data-testid="timeline">
                                {p.experience.into_iter().map(|job| view! {
                                    <li>
                                        <h3>{job.role}<span class="at">{format!(" · {}", job.organisation)}</span></h3>
                                        <p class="meta">
                                            <time datetime=job.start.clone()>{job.start.clone()}</time>
                                            " – "
                                            {match job.end {
                                                Some(end) => view! { <time datetime=end.clone()>{end.clone()}</time> }.into_any(),
                                                None => "present".into_any(),
                                            }}
                                        </p>
                                        <p>{job.summary}</p>
                                    </li>
                                }).collect_view()}
                            </ol>
                        </section>
                        <section aria-labelledby="skills-title">
                            <h2 id="skills-title">"Skills"</h2>
                            <EditHere field="skills" label="Edit skills"/>
                            <dl class="skills">
                                {p.skills.into_iter().map(|group| view! {
                                    <dt>{group.category}</dt>
                                    <dd>{group.names.join(", ")}</dd>
                                }).collect_view()}
                            </dl>
                        </section>
                        {(!p.links.is_empty()).then(|| view! {
                            <section aria-labelledby="links-title">
                                <h2 id="links-title">"Elsewhere"</h2>
                                <EditHere field="links" label="Edit links"/>
                                <ul class="links" role="list">
                                    {p.links.iter().map(|l| view! { <li><a href=l.url.clone()>{l.label.clone()}</a></li> }).collect_view()}
                                </ul>
                            </section>
                        })}
                    }
                    .into_any(),
                }
            })}
        </Suspense>
    }
    .into_any()
}
