//! The browser entry point: wakes up the islands the server rendered.

// Each island's hydration function is exported from the `app` crate; nothing else here refers
// to it, and an unreferenced crate is not linked, which would leave every island inert.
use app as _;

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
}
