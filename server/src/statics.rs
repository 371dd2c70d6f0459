//! The built site's files: `/pkg` (hashed JS, WASM and CSS) and the public files at the root.
//!
//! Both are served by `ServeDir`, preferring the `.br` and `.gz` copies the release build
//! writes beside each file, so nothing static is compressed per request.

use app::SiteAssets;
use axum::body::Body;
use axum::http::{HeaderValue, Request, Response, header};
use leptos::config::LeptosOptions;
use std::convert::Infallible;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use tower::ServiceExt;
use tower::service_fn;
use tower::util::BoxCloneSyncService;
use tower_http::services::ServeDir;

type BoxService = BoxCloneSyncService<Request<Body>, Response<Body>, Infallible>;

/// Hashed files never change under the same name: cache them for a year.
const IMMUTABLE: HeaderValue = HeaderValue::from_static("public, max-age=31536000, immutable");
/// Public files keep their names across releases: cache briefly.
const SHORT: HeaderValue = HeaderValue::from_static("public, max-age=3600");

/// The built assets' addresses (with the content hashes cargo-leptos recorded in its hash file),
/// the stylesheet's text to inline, and the public origin.
pub fn site_assets(options: &LeptosOptions, origin: &str) -> SiteAssets {
    let pkg = options.site_pkg_dir.as_ref();
    let hashes = if options.hash_files {
        read_hashes(options)
    } else {
        String::new()
    };
    let name = |kind: &str, suffix: &str| match hash_of(&hashes, kind) {
        Some(hash) => format!("{}.{hash}.{kind}", options.output_name),
        None => format!("{}{suffix}.{kind}", options.output_name),
    };
    let css = name("css", "");
    // The stylesheet goes inline into every page: it is small (about 3 KB compressed), and a
    // separate file would cost a render-blocking round trip before anything paints.
    let css_path = PathBuf::from(options.site_root.as_ref())
        .join(pkg)
        .join(&css);
    let inline_css = match std::fs::read_to_string(&css_path) {
        Ok(text) if text.len() <= INLINE_CSS_LIMIT && !text.contains("</") => Some(text.into()),
        Ok(_) => {
            tracing::warn!(path = %css_path.display(), "stylesheet too large to inline; linking it");
            None
        }
        Err(error) => {
            tracing::warn!(path = %css_path.display(), %error, "cannot read the stylesheet; linking it");
            None
        }
    };
    SiteAssets {
        stylesheet: format!("/{pkg}/{css}"),
        inline_css,
        script: format!("/{pkg}/{}", name("js", "")),
        wasm: format!("/{pkg}/{}", name("wasm", "_bg")),
        origin: origin.to_owned(),
        vitals_sample_percent: 100,
    }
}

/// Stylesheets up to this size are inlined; a larger one is linked.
const INLINE_CSS_LIMIT: usize = 32 * 1024;

/// The hash file cargo-leptos writes beside the binary (`css: …`, `js: …`, `wasm: …` lines),
/// or nothing when it is missing.
fn read_hashes(options: &LeptosOptions) -> String {
    let Some(path) = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.join(options.hash_file.as_ref())))
    else {
        return String::new();
    };
    std::fs::read_to_string(&path).unwrap_or_else(|error| {
        tracing::warn!(path = %path.display(), %error, "no asset hash file");
        String::new()
    })
}

/// One entry (`css`, `js`, `wasm`) of the hash file's text.
fn hash_of<'a>(hashes: &'a str, kind: &str) -> Option<&'a str> {
    hashes.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        (key.trim() == kind).then(|| value.trim())
    })
}

/// `/pkg/*`: content-hashed build output, cached forever.
pub fn pkg_service(options: &LeptosOptions) -> BoxService {
    let dir = PathBuf::from(options.site_root.as_ref()).join(options.site_pkg_dir.as_ref());
    with_cache(
        ServeDir::new(dir)
            .precompressed_br()
            .precompressed_gzip()
            .append_index_html_on_directories(false),
        IMMUTABLE,
    )
}

/// Public files at the site root; anything else falls through to `not_found` (the app's 404 page).
pub fn public_service<F>(options: &LeptosOptions, not_found: F) -> BoxService
where
    F: Fn(Request<Body>) -> Pin<Box<dyn Future<Output = Response<Body>> + Send>>
        + Clone
        + Send
        + Sync
        + 'static,
{
    let fallback = service_fn(move |request: Request<Body>| {
        let render = not_found.clone();
        async move { Ok::<_, Infallible>(render(request).await) }
    });
    let files = ServeDir::new(options.site_root.as_ref())
        .precompressed_br()
        .precompressed_gzip()
        .append_index_html_on_directories(false)
        .call_fallback_on_method_not_allowed(true)
        .fallback(fallback);
    with_cache(files, SHORT)
}

/// Adds `cache` to successful responses that have no Cache-Control of their own.
fn with_cache<S>(service: S, cache: HeaderValue) -> BoxService
where
    S: tower::Service<Request<Body>, Error = Infallible> + Clone + Send + Sync + 'static,
    S::Response: axum::response::IntoResponse,
    S::Future: Send + 'static,
{
    BoxCloneSyncService::new(service.map_response(move |response| {
        let mut response = axum::response::IntoResponse::into_response(response);
        let success = response.status().is_success();
        let headers = response.headers_mut();
        // Each file may be answered as .br, .gz or plain: caches must key on the encoding.
        if !headers.contains_key(header::VARY) {
            headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        }
        if success && !headers.contains_key(header::CACHE_CONTROL) {
            headers.insert(header::CACHE_CONTROL, cache.clone());
        }
        response
    }))
}

#[cfg(test)]
mod tests {
    use super::hash_of;

    #[test]
    fn each_asset_kind_finds_its_own_hash() {
        let hashes = "js: abc\nwasm: def\ncss:   ghi  \n";
        assert_eq!(hash_of(hashes, "js"), Some("abc"));
        assert_eq!(hash_of(hashes, "wasm"), Some("def"));
        assert_eq!(hash_of(hashes, "css"), Some("ghi"));
        assert_eq!(hash_of(hashes, "split"), None);
        assert_eq!(hash_of("", "css"), None);
    }
}
