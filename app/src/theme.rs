//! Light and dark themes: the no-flash head script and the toggle island.
//!
//! Without a stored choice the stylesheet follows `prefers-color-scheme`. A stored choice
//! (`localStorage["folio-theme"]`) is applied by [`ThemeScript`] in `<head>`, before first paint,
//! so the wrong theme never flashes. The script carries the response's CSP nonce.

use leptos::prelude::*;

/// The `localStorage` key that remembers the visitor's choice (a preference, not an identifier).
pub const STORAGE_KEY: &str = "folio-theme";

/// Runs before first paint: applies a stored theme.
#[component]
pub fn ThemeScript() -> impl IntoView {
    let nonce = use_nonce();
    let script = format!(
        "try{{var t=localStorage.getItem('{STORAGE_KEY}');\
         if(t==='light'||t==='dark')document.documentElement.dataset.theme=t}}catch(e){{}}"
    );
    view! { <script nonce=nonce>{script}</script> }
}

/// A button that switches between light and dark and remembers the choice.
///
/// The server cannot know the visitor's theme (it sets no cookie), so the button renders
/// unpressed and learns the real state when it hydrates, marking itself `data-ready`. CSS keeps
/// it invisible (its space reserved) until then, so no one sees a button that does nothing yet,
/// and visitors without JavaScript never see it.
#[island]
pub fn ThemeToggle() -> impl IntoView {
    // `None` until hydrated: matches what the server rendered.
    let dark = RwSignal::new(None::<bool>);
    Effect::new(move || dark.set(Some(client::is_dark())));

    let toggle = move |_| {
        let next = !dark.get_untracked().unwrap_or_else(client::is_dark);
        client::apply(next);
        dark.set(Some(next));
    };
    let pressed = move || match dark.get() {
        Some(true) => "true",
        _ => "false",
    };

    view! {
        <button
            type="button"
            class="theme-toggle"
            data-testid="theme-toggle"
            data-ready=move || dark.get().map(|_| "")
            aria-pressed=pressed
            on:click=toggle
        >
            <span class="visually-hidden">"Dark theme"</span>
            <svg aria-hidden="true" viewBox="0 0 24 24" width="20" height="20">
                <path d="M12 3a9 9 0 1 0 9 9 7 7 0 0 1-9-9z" fill="currentColor"></path>
            </svg>
        </button>
    }
}

/// Browser-side helpers; the server never runs them.
mod client {
    use super::STORAGE_KEY;

    /// The theme in effect: a stored choice on `<html data-theme>`, else the system's.
    pub fn is_dark() -> bool {
        let Some(window) = web_sys::window() else {
            return false;
        };
        let stored = window
            .document()
            .and_then(|d| d.document_element())
            .and_then(|html| html.get_attribute("data-theme"));
        match stored.as_deref() {
            Some("dark") => true,
            Some("light") => false,
            _ => window
                .match_media("(prefers-color-scheme: dark)")
                .ok()
                .flatten()
                .is_some_and(|query| query.matches()),
        }
    }

    /// Shows `dark` (or light) now and remembers it for the next page.
    pub fn apply(dark: bool) {
        let Some(window) = web_sys::window() else {
            return;
        };
        let theme = if dark { "dark" } else { "light" };
        if let Some(html) = window.document().and_then(|d| d.document_element()) {
            let _ = html.set_attribute("data-theme", theme);
        }
        // Storage can be disabled (private mode, quota); the toggle still works for this page.
        if let Ok(Some(storage)) = window.local_storage() {
            let _ = storage.set_item(STORAGE_KEY, theme);
        }
    }
}
