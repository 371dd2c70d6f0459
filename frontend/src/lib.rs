//! The browser entry point: wakes up the islands the server rendered (each island's hydration
//! function is exported from the `app` crate), then starts the Web Vitals collector.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
    // After the islands, so measuring never delays them.
    app::vitals::collect::start();
}
