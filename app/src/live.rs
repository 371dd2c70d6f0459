//! Filters, search and pages that update in place once the page is hydrated.
//!
//! The server renders a `[data-live]` region whose links and GET form work on their own (a
//! plain page load each). [`LiveRegion`] takes over after hydration: it fetches the address a
//! link or the form would have loaded, as the same server-rendered HTML, and swaps the parts
//! marked `data-swap="name"` into the page, so there is one renderer and one set of markup.
//! The address bar follows with `pushState`; Back and Forward swap in the page they name. A
//! fetch that fails, or a page without the region (an error), falls back to a normal load.
//!
//! Marks inside the region: `data-swap="name"` (contents replaced), `data-live-status` (the
//! live region announcing the result, which keeps its element so screen readers read the new
//! text), and `data-live-search` (the search input, which searches as one types).

use leptos::prelude::*;

/// Enhances the page's `[data-live]` region; renders nothing itself.
#[island]
pub fn LiveRegion() -> impl IntoView {
    Effect::new(client::install);
}

mod client {
    use std::cell::Cell;
    use std::rc::Rc;
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;
    use web_sys::{
        Document, DomParser, Element, Event, FormData, HtmlElement, HtmlFormElement,
        HtmlInputElement, MouseEvent, Response, SupportedType, UrlSearchParams,
    };

    /// How long typing pauses before the search runs.
    const TYPING_PAUSE_MS: i32 = 300;

    #[derive(Clone, Copy, PartialEq, Eq)]
    enum History {
        Push,
        Replace,
        /// Back or Forward: the address is already in the bar.
        Keep,
    }

    /// Shared between the listeners of one page.
    #[derive(Default)]
    struct State {
        /// Bumped by every navigation; a response for an older one is dropped.
        generation: Cell<u32>,
        /// The pending search-as-you-type timer.
        timer: Cell<Option<i32>>,
        /// Whether the current history entry came from typing (later keystrokes replace it).
        typing: Cell<bool>,
    }

    impl State {
        /// How a search reaches history: it replaces an entry typing made, else adds one.
        /// `typing` says whether this search comes from typing, for the next one to know.
        fn search_entry(&self, typing: bool) -> History {
            if self.typing.replace(typing) {
                History::Replace
            } else {
                History::Push
            }
        }
    }

    pub fn install() {
        let Some(document) = web_sys::window().and_then(|w| w.document()) else {
            return;
        };
        let Ok(Some(root)) = document.query_selector("[data-live]") else {
            return;
        };
        let state = Rc::new(State::default());

        let on_click = {
            let state = state.clone();
            Closure::<dyn Fn(MouseEvent)>::new(move |event: MouseEvent| {
                let plain = event.button() == 0
                    && !(event.ctrl_key()
                        || event.meta_key()
                        || event.shift_key()
                        || event.alt_key());
                let link = event
                    .target()
                    .and_then(|t| t.dyn_into::<Element>().ok())
                    .and_then(|t| t.closest("a[href]").ok().flatten());
                // Only links to this same listing (another filter or page); a case study is an
                // ordinary navigation.
                let here = web_sys::window().and_then(|w| w.location().pathname().ok());
                let same_listing = |href: &String| {
                    here.as_deref() == Some(href.split(['?', '#']).next().unwrap_or_default())
                };
                if let (true, Some(link)) = (plain, link)
                    && let Some(href) = link.get_attribute("href").filter(same_listing)
                {
                    event.prevent_default();
                    state.typing.set(false);
                    navigate(state.clone(), href, History::Push, Focus::Status);
                }
            })
        };
        let on_submit = {
            let state = state.clone();
            Closure::<dyn Fn(Event)>::new(move |event: Event| {
                let Some(form) = event
                    .target()
                    .and_then(|t| t.dyn_into::<HtmlFormElement>().ok())
                else {
                    return;
                };
                if let Some(href) = form_address(&form) {
                    event.prevent_default();
                    cancel_timer(&state);
                    let how = state.search_entry(false);
                    navigate(state.clone(), href, how, Focus::Keep);
                }
            })
        };
        let on_input = {
            let state = state.clone();
            Closure::<dyn Fn(Event)>::new(move |event: Event| {
                let Some(input) = event
                    .target()
                    .and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
                else {
                    return;
                };
                if !input.has_attribute("data-live-search") {
                    return;
                }
                let Some(form) = input.form() else { return };
                cancel_timer(&state);
                let fire = {
                    let state = state.clone();
                    Closure::once_into_js(move || {
                        state.timer.set(None);
                        if let Some(href) = form_address(&form) {
                            let how = state.search_entry(true);
                            navigate(state, href, how, Focus::Keep);
                        }
                    })
                };
                if let Some(window) = web_sys::window()
                    && let Ok(id) = window.set_timeout_with_callback_and_timeout_and_arguments_0(
                        fire.unchecked_ref(),
                        TYPING_PAUSE_MS,
                    )
                {
                    state.timer.set(Some(id));
                }
            })
        };
        let on_popstate = {
            let state = state.clone();
            Closure::<dyn Fn(Event)>::new(move |_: Event| {
                let Some(location) = web_sys::window().map(|w| w.location()) else {
                    return;
                };
                let (Ok(path), Ok(search)) = (location.pathname(), location.search()) else {
                    return;
                };
                cancel_timer(&state);
                state.typing.set(false);
                navigate(
                    state.clone(),
                    format!("{path}{search}"),
                    History::Keep,
                    Focus::Keep,
                );
            })
        };

        let _ = root.add_event_listener_with_callback("click", on_click.as_ref().unchecked_ref());
        let _ = root.add_event_listener_with_callback("submit", on_submit.as_ref().unchecked_ref());
        let _ = root.add_event_listener_with_callback("input", on_input.as_ref().unchecked_ref());
        if let Some(window) = web_sys::window() {
            let _ = window
                .add_event_listener_with_callback("popstate", on_popstate.as_ref().unchecked_ref());
        }
        // The listeners live as long as the page.
        on_click.forget();
        on_submit.forget();
        on_input.forget();
        on_popstate.forget();
        // Tells tests (and styles) that the region is live.
        let _ = root.set_attribute("data-live", "ready");
    }

    fn cancel_timer(state: &State) {
        if let (Some(id), Some(window)) = (state.timer.take(), web_sys::window()) {
            window.clear_timeout_with_handle(id);
        }
    }

    /// The address a GET form would load: its action plus its fields, empty ones left out.
    fn form_address(form: &HtmlFormElement) -> Option<String> {
        if !form.method().eq_ignore_ascii_case("get") {
            return None;
        }
        let data = FormData::new_with_form(form).ok()?;
        let params = UrlSearchParams::new_with_str_sequence_sequence(&JsValue::from(data)).ok()?;
        let mut kept: Vec<(String, String)> = Vec::new();
        let entries = js_sys::try_iter(&params).ok()??;
        for entry in entries.flatten() {
            let pair: js_sys::Array = entry.unchecked_into();
            let (key, value) = (pair.get(0).as_string()?, pair.get(1).as_string()?);
            if !value.trim().is_empty() {
                kept.push((key, value.trim().to_owned()));
            }
        }
        let action = web_sys::Url::new(&form.action()).ok()?.pathname();
        let query: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(kept)
            .finish();
        Some(if query.is_empty() {
            action
        } else {
            format!("{action}?{query}")
        })
    }

    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Focus {
        /// Leave focus where it is (typing, Back).
        Keep,
        /// Move it to the result count if the swap removed the focused element.
        Status,
    }

    fn navigate(state: Rc<State>, href: String, history: History, focus: Focus) {
        let generation = state.generation.get().wrapping_add(1);
        state.generation.set(generation);
        leptos::task::spawn_local(async move {
            let page = fetch_page(&href).await;
            if state.generation.get() != generation {
                return; // a newer navigation won
            }
            let swapped = page
                .ok()
                .flatten()
                .is_some_and(|new| swap(&new, focus, history == History::Keep));
            if !swapped {
                // Let the browser load it the ordinary way.
                if let Some(window) = web_sys::window() {
                    let _ = window.location().assign(&href);
                }
                return;
            }
            if let Some(history_api) = web_sys::window().and_then(|w| w.history().ok()) {
                let _ = match history {
                    History::Push => {
                        history_api.push_state_with_url(&JsValue::NULL, "", Some(&href))
                    }
                    History::Replace => {
                        history_api.replace_state_with_url(&JsValue::NULL, "", Some(&href))
                    }
                    History::Keep => Ok(()),
                };
            }
        });
    }

    /// The page at `href` parsed, or `None` when the server did not answer with a page of ours.
    async fn fetch_page(href: &str) -> Result<Option<Document>, JsValue> {
        let window = web_sys::window().ok_or(JsValue::NULL)?;
        let response: Response = JsFuture::from(window.fetch_with_str(href))
            .await?
            .dyn_into()?;
        if !response.ok() {
            return Ok(None);
        }
        let text = JsFuture::from(response.text()?)
            .await?
            .as_string()
            .unwrap_or_default();
        Ok(Some(DomParser::new()?.parse_from_string(
            &without_style(&text),
            SupportedType::TextHtml,
        )?))
    }

    /// The page without its inline `<style>`: its nonce belongs to that response, so parsing it
    /// here would be reported as a CSP violation, and this page has the same styles already.
    fn without_style(html: &str) -> String {
        match (html.find("<style"), html.find("</style>")) {
            (Some(start), Some(end)) if start < end => {
                format!("{}{}", &html[..start], &html[end + "</style>".len()..])
            }
            _ => html.to_owned(),
        }
    }

    /// Moves the new page's marked parts into this one; `false` if it has no live region.
    /// `from_history`: Back or Forward, where the search field must show the page's search even
    /// while it has focus.
    fn swap(new: &Document, focus: Focus, from_history: bool) -> bool {
        let Some(document) = web_sys::window().and_then(|w| w.document()) else {
            return false;
        };
        let (Ok(Some(_)), Ok(Some(root))) = (
            new.query_selector("[data-live]"),
            document.query_selector("[data-live]"),
        ) else {
            return false;
        };
        let focused_inside_swap = document
            .active_element()
            .and_then(|a| a.closest("[data-swap]").ok().flatten())
            .is_some();

        let Ok(parts) = root.query_selector_all("[data-swap]") else {
            return false;
        };
        for i in 0..parts.length() {
            let Some(part) = parts.item(i).and_then(|n| n.dyn_into::<Element>().ok()) else {
                continue;
            };
            let name = part.get_attribute("data-swap").unwrap_or_default();
            let selector = format!("[data-live] [data-swap=\"{name}\"]");
            if let Ok(Some(fresh)) = new.query_selector(&selector) {
                part.set_inner_html(&fresh.inner_html());
            } else {
                part.set_inner_html("");
            }
        }
        if let (Ok(Some(status)), Ok(Some(fresh))) = (
            root.query_selector("[data-live-status]"),
            new.query_selector("[data-live] [data-live-status]"),
        ) {
            status.set_text_content(fresh.text_content().as_deref());
            if focus == Focus::Status
                && focused_inside_swap
                && let Ok(status) = status.dyn_into::<HtmlElement>()
            {
                let _ = status.focus();
            }
        }
        // Back and Forward (or a tag link) change the search; the field shows it, unless the
        // visitor is typing in it.
        if let (Ok(Some(input)), Ok(Some(fresh))) = (
            root.query_selector("[data-live-search]"),
            new.query_selector("[data-live] [data-live-search]"),
        ) && let Ok(input) = input.dyn_into::<HtmlInputElement>()
            && (from_history || document.active_element().as_ref() != Some(input.as_ref()))
        {
            input.set_value(&fresh.get_attribute("value").unwrap_or_default());
        }
        document.set_title(&new.title());
        if let (Ok(Some(canonical)), Ok(Some(fresh))) = (
            document.query_selector("link[rel=canonical]"),
            new.query_selector("link[rel=canonical]"),
        ) && let Some(href) = fresh.get_attribute("href")
        {
            let _ = canonical.set_attribute("href", &href);
        }
        true
    }
}
