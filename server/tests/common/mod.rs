//! Helpers shared by the integration tests.
#![allow(dead_code, reason = "each test binary uses a different subset")]

use axum::body::Body;
use axum::http::{HeaderMap, Request, Response, header};
use folio_server::config::Config;
use std::path::{Path, PathBuf};

/// The workspace root, where `Leptos.toml` lives.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The real `Leptos.toml`, with asset hashing off (tests run without a site build).
pub fn config() -> Config {
    let path = workspace_root().join("Leptos.toml");
    let text = std::fs::read_to_string(&path)
        .expect("Leptos.toml")
        .replace("hash-files = true", "hash-files = false");
    Config::from_parts(&path, &text, |_| None).expect("valid configuration")
}

/// The whole response body as text.
pub async fn body_text(response: Response<Body>) -> String {
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .expect("body")
        .to_bytes();
    String::from_utf8(bytes.to_vec()).expect("utf-8 body")
}

/// The nonce in a response's Content-Security-Policy.
pub fn csp_nonce(headers: &HeaderMap) -> String {
    headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .expect("ascii")
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("a nonce in the CSP")
        .to_owned()
}

/// The attributes of the first `<tag …>` in `html` whose attributes contain `marker`
/// (attribute order is the renderer's business, so tests look at them one by one).
pub fn opening_tag<'a>(html: &'a str, tag: &str, marker: &str) -> &'a str {
    html.split(&format!("<{tag} "))
        .skip(1)
        .filter_map(|rest| rest.split('>').next())
        .find(|attributes| attributes.contains(marker))
        .unwrap_or_else(|| panic!("no <{tag}> with {marker} in {html}"))
}

pub fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).expect("request")
}

/// Processes whose command line mentions `needle` (to prove a cluster left nothing behind).
pub fn processes_mentioning(needle: &str) -> Vec<String> {
    std::fs::read_dir("/proc")
        .expect("/proc")
        .flatten()
        .filter(|entry| entry.file_name().to_string_lossy().parse::<u32>().is_ok())
        .filter_map(|entry| std::fs::read(entry.path().join("cmdline")).ok())
        .map(|raw| String::from_utf8_lossy(&raw).replace('\0', " "))
        .filter(|cmdline| cmdline.contains(needle))
        .collect()
}
