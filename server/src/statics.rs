//! The built site's files: `/pkg` (hashed JS, WASM and CSS) and the public files at the root.
//!
//! Each is answered with the `.br` or `.gz` copy the release build writes beside it when the
//! browser accepts one, so nothing static is compressed per request. The files found at start
//! are read into memory the first time each is asked for ([`in_memory`]); `ServeDir` answers
//! everything else and stays the one place that maps an address onto the file system.

use crate::accept::Accepted;
use app::SiteAssets;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};
use bytes::Bytes;
use leptos::config::LeptosOptions;
use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
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
    let files = ServeDir::new(&dir)
        .precompressed_br()
        .precompressed_gzip()
        .append_index_html_on_directories(false);
    with_cache(in_memory(&dir, boxed(files)), IMMUTABLE)
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
    let root = Path::new(options.site_root.as_ref());
    let files = ServeDir::new(root)
        .precompressed_br()
        .precompressed_gzip()
        .append_index_html_on_directories(false)
        .call_fallback_on_method_not_allowed(true)
        .fallback(fallback);
    with_cache(in_memory(root, boxed(files)), SHORT)
}

/// `ServeDir` as a service of the app's own body type.
fn boxed<F>(files: ServeDir<F>) -> BoxService
where
    ServeDir<F>: tower::Service<
            Request<Body>,
            Response = Response<tower_http::services::fs::ServeFileSystemResponseBody>,
            Error = Infallible,
        > + Clone
        + Send
        + Sync
        + 'static,
    <ServeDir<F> as tower::Service<Request<Body>>>::Future: Send + 'static,
{
    BoxCloneSyncService::new(files.map_response(|response| response.map(Body::new)))
}

/// Files larger than this are always left to `ServeDir`.
const MAX_IN_MEMORY: u64 = 4 << 20;

/// Answers GET and HEAD for the files under `root` at start from memory, each read on its first
/// request; anything else (another address, a `Range`, another method, a file that can no longer
/// be read) goes to `files`. `ServeDir` reads and stats the file on every request, which held a
/// static file to a fifth of the rate of a cached page.
///
/// Only the exact paths found at start match, so no request can name anything else: a
/// percent-encoded or `..` address simply misses and is `ServeDir`'s to refuse or resolve.
fn in_memory(root: &Path, files: BoxService) -> BoxService {
    let mut index = HashMap::new();
    collect(root, String::new(), &mut index);
    // One shared pointer per request; the fallback is cloned only when it is called.
    let site = Arc::new((index, files));
    BoxCloneSyncService::new(service_fn(move |request: Request<Body>| {
        let site = Arc::clone(&site);
        async move {
            let (index, files) = &*site;
            let servable = matches!(*request.method(), Method::GET | Method::HEAD)
                && !request.headers().contains_key(header::RANGE);
            let head = request.method() == Method::HEAD;
            if servable
                && let Some(file) = index.get(request.uri().path())
                && let Some(response) = file.respond(request.headers(), head).await
            {
                return Ok(response);
            }
            files.clone().oneshot(request).await
        }
    }))
}

/// Adds every regular file under `dir` to `index` by its address (`prefix/name`).
fn collect(dir: &Path, prefix: String, index: &mut HashMap<String, SiteFile>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Some(name) = entry
            .file_name()
            .to_str()
            .map(|name| format!("{prefix}/{name}"))
        else {
            continue;
        };
        // Follows links, as `ServeDir` does.
        let Ok(metadata) = std::fs::metadata(&path) else {
            continue;
        };
        if metadata.is_dir() {
            collect(&path, name, index);
        } else if metadata.is_file() && metadata.len() <= MAX_IN_MEMORY {
            index.insert(name, SiteFile::new(path, &metadata));
        }
    }
}

/// One file of the site, with its precompressed copies once read.
struct SiteFile {
    path: PathBuf,
    content_type: HeaderValue,
    /// Whole seconds, as HTTP dates have them.
    modified: Option<SystemTime>,
    last_modified: Option<HeaderValue>,
    bodies: OnceLock<Bodies>,
}

struct Bodies {
    plain: Bytes,
    br: Option<Bytes>,
    gzip: Option<Bytes>,
}

impl SiteFile {
    fn new(path: PathBuf, metadata: &std::fs::Metadata) -> Self {
        let content_type = mime_guess::from_path(&path).first_raw().map_or(
            HeaderValue::from_static("application/octet-stream"),
            HeaderValue::from_static,
        );
        let modified = metadata
            .modified()
            .ok()
            .and_then(|at| at.duration_since(UNIX_EPOCH).ok())
            .map(|since| UNIX_EPOCH + Duration::from_secs(since.as_secs()));
        let last_modified =
            modified.and_then(|at| HeaderValue::from_str(&httpdate::fmt_http_date(at)).ok());
        Self {
            path,
            content_type,
            modified,
            last_modified,
            bodies: OnceLock::new(),
        }
    }

    /// The file and its `.br` and `.gz` copies, read on the first request (two requests that
    /// race both read it; one result is kept).
    async fn bodies(&self) -> Option<&Bodies> {
        if let Some(bodies) = self.bodies.get() {
            return Some(bodies);
        }
        let beside = |extension: &str| {
            let mut name = self.path.clone().into_os_string();
            name.push(extension);
            PathBuf::from(name)
        };
        let plain = tokio::fs::read(&self.path).await.ok()?;
        let br = tokio::fs::read(beside(".br")).await.ok();
        let gzip = tokio::fs::read(beside(".gz")).await.ok();
        Some(self.bodies.get_or_init(|| Bodies {
            plain: plain.into(),
            br: br.map(Bytes::from),
            gzip: gzip.map(Bytes::from),
        }))
    }

    /// The response to a GET (or a HEAD), or `None` when the file cannot be read.
    async fn respond(&self, headers: &HeaderMap, head: bool) -> Option<Response<Body>> {
        let bodies = self.bodies().await?;
        let mut builder = Response::builder();
        if let Some(date) = &self.last_modified {
            builder = builder.header(header::LAST_MODIFIED, date.clone());
        }
        if self.unmodified_since(headers) {
            return builder
                .status(StatusCode::NOT_MODIFIED)
                .body(Body::empty())
                .ok();
        }
        let (encoding, body) = negotiate(headers, bodies);
        builder = builder
            .header(header::CONTENT_TYPE, self.content_type.clone())
            .header(header::CONTENT_LENGTH, body.len())
            .header(header::ACCEPT_RANGES, "bytes");
        if let Some(encoding) = encoding {
            builder = builder.header(header::CONTENT_ENCODING, encoding);
        }
        let body = if head {
            Body::empty()
        } else {
            Body::from(body.clone())
        };
        builder.body(body).ok()
    }

    /// Whether `If-Modified-Since` says the browser's copy is current (ignored beside
    /// `If-None-Match`, as RFC 9110 section 13.1.3 asks).
    fn unmodified_since(&self, headers: &HeaderMap) -> bool {
        if headers.contains_key(header::IF_NONE_MATCH) {
            return false;
        }
        let since = headers
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| httpdate::parse_http_date(value).ok());
        matches!((self.modified, since), (Some(modified), Some(since)) if modified <= since)
    }
}

/// The copy to send: the accepted encoding with the highest `q` that has a copy (brotli on a
/// tie), else the file itself.
fn negotiate<'a>(headers: &HeaderMap, bodies: &'a Bodies) -> (Option<&'static str>, &'a Bytes) {
    let Accepted { br, gzip } = Accepted::from_headers(headers);
    match (&bodies.br, &bodies.gzip) {
        (Some(body), _) if br > 0.0 && (br >= gzip || bodies.gzip.is_none()) => (Some("br"), body),
        (_, Some(body)) if gzip > 0.0 => (Some("gzip"), body),
        _ => (None, &bodies.plain),
    }
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
