//! folio's one Leptos codebase: pages, components, server functions and shared types.
//!
//! It renders every page on the server (`ssr`) and, compiled to WASM (`hydrate`), wakes up only
//! the interactive islands in the browser: everything that is not an `#[island]` ships no code.
//! Feature folders own their components, server functions and (behind `ssr`) their SQL.

pub mod backup;
pub mod components;
pub mod contact;
pub mod content;
pub mod editor;
pub mod error;
pub mod live;
pub mod media;
pub mod owner;
pub mod pages;
pub mod seo;
pub mod theme;
pub mod vitals;

use leptos::prelude::*;
use leptos_meta::{MetaTags, provide_meta_context};
use leptos_router::{
    SsrMode,
    components::{Route, Router, Routes},
    path,
};

/// Site-wide facts the server works out once at start and hands to every render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteAssets {
    /// Address of the stylesheet, with its content hash when the build hashed it.
    pub stylesheet: String,
    /// The stylesheet's text, put inline in every page (linked instead when `None`).
    pub inline_css: Option<std::sync::Arc<str>>,
    /// Address of the islands' JavaScript module and of its WASM.
    pub script: String,
    pub wasm: String,
    /// The public origin (`https://example.com`) that absolute links are built on.
    pub origin: String,
    /// The share of visitors' page views whose Web Vitals the browser measures, in percent.
    pub vitals_sample_percent: u8,
}

/// The per-response CSP nonce, put into the request's extensions by the server's security
/// middleware and echoed on every `<script>` this app renders.
#[cfg(feature = "ssr")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CspNonce(pub std::sync::Arc<str>);

/// The HTML document around the app; rendered only on the server, with the assets it found
/// at start.
pub fn shell(assets: SiteAssets) -> impl IntoView {
    #[cfg(feature = "ssr")]
    provide_request_nonce();
    // Islands mode renders everything outside an `#[island]` as plain HTML that the browser
    // never hydrates, so nothing outside one needs its data serialized into the page (each
    // island turns this back on for itself). Leptos' `HydrationScripts` switches it off;
    // `islands_loader` replaces that component, so the shell does it here. Left on, every
    // page carried its resources again as a JSON script: 9 KB of the home page's 30 KB.
    if let Some(context) = Owner::current_shared_context() {
        context.set_is_hydrating(false);
    }
    let nonce = use_nonce();
    let loader = islands_loader(&assets);
    let vitals = vitals_sample(&assets);
    let style = match assets.inline_css {
        Some(css) => view! { <style nonce=nonce.clone()>{css}</style> }.into_any(),
        None => view! { <link rel="stylesheet" href=assets.stylesheet/> }.into_any(),
    };

    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <theme::ThemeScript/>
                {style}
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <link rel="alternate" type="application/atom+xml" href="/feed.xml" title="Writing"/>
                {vitals.map(|percent| view! { <meta name=vitals::SAMPLE_META content=percent/> })}
                <script type="module" nonce=nonce>{loader}</script>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The script that wakes the islands: once the page has loaded and the browser is idle, it
/// imports the module, instantiates the WASM and hydrates each `<leptos-island>` with its
/// exported function, yielding to the browser between steps so no step is a long task.
/// Nothing is preloaded, so the script and WASM never compete with what the visitor sees
/// first, and visitors without JavaScript download neither. (Islands here are never nested, so
/// a flat walk in document order is enough.)
fn islands_loader(assets: &SiteAssets) -> String {
    let (script, wasm) = (&assets.script, &assets.wasm);
    format!(
        "const pause=()=>new Promise(r=>setTimeout(r,0));\
         const wake=()=>import('{script}').then(async m=>{{\
         await m.default({{module_or_path:'{wasm}'}});await pause();m.hydrate();\
         for(const el of document.querySelectorAll('leptos-island')){{\
         await pause();const f=m[el.dataset.component];\
         if(f)f(el);else console.error('folio: no island '+el.dataset.component)}}}});\
         const idle=()=>('requestIdleCallback' in window?requestIdleCallback(wake,{{timeout:2000}}):setTimeout(wake,0));\
         if(document.readyState==='complete')idle();else addEventListener('load',idle,{{once:true}});"
    )
}

/// The share of page views the collector measures (`vitals::collect`), told only to visitors'
/// browsers: the owner's own visits are not measured, and 0 % tells no one.
fn vitals_sample(assets: &SiteAssets) -> Option<String> {
    #[cfg(feature = "ssr")]
    let owner = owner::current_owner().is_some();
    #[cfg(not(feature = "ssr"))]
    let owner = false;
    (assets.vitals_sample_percent > 0 && !owner).then(|| assets.vitals_sample_percent.to_string())
}

/// Hands the request's CSP nonce to Leptos, which puts it on the scripts it renders.
#[cfg(feature = "ssr")]
fn provide_request_nonce() {
    let nonce = use_context::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<CspNonce>().cloned());
    if let Some(CspNonce(value)) = nonce {
        provide_context(leptos::nonce::Nonce::from_value(value));
    }
}

/// The site: layout and routes.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();

    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <header class="site-header">
            <a class="wordmark" href="/">"folio"</a>
            <nav class="site-nav" aria-label="Main">
                <a href="/projects">"Projects"</a>
                <a href="/writing">"Writing"</a>
                <a href="/about">"About"</a>
                <a href="/contact">"Contact"</a>
            </nav>
            <owner::OwnerBar/>
            <theme::ThemeToggle/>
        </header>
        <Router>
            <main id="main" tabindex="-1">
                // Every page waits for its data and arrives whole: visitors without JavaScript
                // get the same page, and no streaming script needs to run.
                <Routes fallback=pages::not_found::NotFound>
                    <Route path=path!("") view=pages::home::HomePage ssr=SsrMode::Async/>
                    <Route path=path!("/projects") view=pages::projects::ProjectsPage ssr=SsrMode::Async/>
                    <Route path=path!("/projects/:slug") view=pages::projects::ProjectPage ssr=SsrMode::Async/>
                    <Route path=path!("/writing") view=pages::writing::WritingPage ssr=SsrMode::Async/>
                    <Route path=path!("/writing/:slug") view=pages::writing::PostPage ssr=SsrMode::Async/>
                    <Route path=path!("/about") view=pages::about::AboutPage ssr=SsrMode::Async/>
                    <Route path=path!("/contact") view=contact::ContactPage/>
                    <Route path=path!("/contact/thanks") view=contact::ContactThanksPage/>
                    <Route path=path!("/sign-in") view=owner::SignInPage/>
                    <Route path=path!("/setup") view=owner::SetupPage ssr=SsrMode::Async/>
                    <Route path=path!("/owner") view=owner::AccountPage ssr=SsrMode::Async/>
                    <Route path=path!("/owner/inbox") view=owner::InboxPage ssr=SsrMode::Async/>
                    <Route path=path!("/owner/security") view=owner::SecurityLogPage ssr=SsrMode::Async/>
                    <Route path=path!("/owner/media") view=media::MediaPage ssr=SsrMode::Async/>
                    <Route path=path!("/owner/content") view=editor::overview::ContentPage ssr=SsrMode::Async/>
                    <Route path=path!("/owner/backup") view=backup::BackupPage ssr=SsrMode::Async/>
                    <Route path=path!("/owner/vitals") view=vitals::dashboard::VitalsPage ssr=SsrMode::Async/>
                    <Route path=path!("/owner/history/:kind/:id") view=editor::history::HistoryPage ssr=SsrMode::Async/>
                </Routes>
            </main>
        </Router>
        <footer class="site-footer">
            <p>"Built with folio."</p>
        </footer>
    }
}
