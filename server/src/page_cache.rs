//! Rendered pages for anonymous visitors, kept until the content behind them changes.
//!
//! A page is rendered once with a per-process placeholder nonce; every response then gets the
//! stored bytes with its own fresh CSP nonce written over the placeholder (both are 24 base64
//! characters, so the swap is in place). Correctness across instances comes from PostgreSQL:
//! content tables `NOTIFY folio_content` when they change (see the migrations), every instance
//! `LISTEN`s and drops its pages, and while the listener is disconnected nothing is cached.
//! Pages whose content is scheduled to appear expire at that moment.
//!
//! Only matched page routes pass through here (never server functions, static files or 404s
//! for made-up addresses), and only GETs without the owner's session cookie.

use crate::auth::has_session_cookie;
use app::CspNonce;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The channel the content triggers notify.
pub const CHANNEL: &str = "folio_content";
/// Largest page kept (and buffered while rendering).
const MAX_PAGE: usize = 2 << 20;
/// Bytes of pages kept per instance.
const CAPACITY: u64 = 64 << 20;
/// Shown on responses so operators and the benchmark can tell a hit from a render.
pub static X_CACHE: header::HeaderName = header::HeaderName::from_static("x-cache");

/// One rendered page.
#[derive(Debug)]
struct Page {
    generation: u64,
    expires: Option<Instant>,
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    /// Where the placeholder nonce stands in `body`.
    nonce_at: Vec<usize>,
}

/// The cache shared by every request of one instance.
#[derive(Debug)]
pub struct PageCache {
    pages: moka::sync::Cache<String, Arc<Page>>,
    /// Bumped whenever content may have changed; pages from older generations are stale.
    generation: AtomicU64,
    /// True only while this instance is listening for changes.
    enabled: AtomicBool,
    placeholder: Arc<str>,
}

impl Default for PageCache {
    fn default() -> Self {
        Self {
            pages: moka::sync::Cache::builder()
                .max_capacity(CAPACITY)
                .weigher(|key: &String, page: &Arc<Page>| {
                    u32::try_from(key.len() + page.body.len()).unwrap_or(u32::MAX)
                })
                .build(),
            generation: AtomicU64::new(0),
            enabled: AtomicBool::new(false),
            placeholder: crate::security::new_nonce(),
        }
    }
}

impl PageCache {
    /// Forgets every page: content changed, or a change may have been missed.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.pages.invalidate_all();
    }

    /// Turns caching on or off; both directions drop what is kept.
    pub fn set_enabled(&self, enabled: bool) {
        self.invalidate();
        self.enabled.store(enabled, Ordering::Release);
    }

    fn fresh(&self, key: &str) -> Option<Arc<Page>> {
        let page = self.pages.get(key)?;
        let current = page.generation == self.generation.load(Ordering::Acquire)
            && page.expires.is_none_or(|at| Instant::now() < at);
        current.then_some(page)
    }
}

/// Whether this request may be answered from (and stored into) the cache.
fn cacheable(cache: &PageCache, request: &Request) -> bool {
    request.method() == Method::GET
        && cache.enabled.load(Ordering::Acquire)
        && !request.uri().path().starts_with("/api/")
        && !has_session_cookie(request.headers())
}

/// Middleware around the page routes.
pub async fn layer(
    State((cache, pool)): State<(Arc<PageCache>, PgPool)>,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(CspNonce(nonce)) = request.extensions().get::<CspNonce>().cloned() else {
        return next.run(request).await;
    };
    if !cacheable(&cache, &request) {
        return next.run(request).await;
    }
    let key = request.uri().path_and_query().map_or_else(
        || request.uri().path().to_owned(),
        |pq| pq.as_str().to_owned(),
    );
    if let Some(page) = cache.fresh(&key) {
        return respond(&page, &nonce, "hit");
    }

    // Read before rendering: a change committed meanwhile makes this page stale at once.
    let generation = cache.generation.load(Ordering::Acquire);
    let expires = next_scheduled_change(&pool).await;
    request
        .extensions_mut()
        .insert(CspNonce(cache.placeholder.clone()));
    let response = next.run(request).await;
    let (parts, body) = response.into_parts();
    let body = match axum::body::to_bytes(body, MAX_PAGE).await {
        Ok(body) => body,
        Err(error) => {
            tracing::error!(%error, path = %key, "page too large or failed while rendering");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let nonce_at = memchr::memmem::find_iter(&body, cache.placeholder.as_bytes()).collect();
    let page = Page {
        generation,
        expires,
        status: parts.status,
        headers: parts.headers,
        body,
        nonce_at,
    };
    let store = page.status == StatusCode::OK && !page.headers.contains_key(header::SET_COOKIE);
    let response = respond(&page, &nonce, if store { "miss" } else { "bypass" });
    if store {
        cache.pages.insert(key, Arc::new(page));
    }
    response
}

/// The page with `nonce` written where the placeholder stands.
fn respond(page: &Page, nonce: &str, status: &'static str) -> Response {
    let body = if page.nonce_at.is_empty() {
        page.body.clone()
    } else {
        let mut bytes = page.body.to_vec();
        let nonce = nonce.as_bytes();
        for &at in &page.nonce_at {
            if let Some(slot) = bytes.get_mut(at..at + nonce.len()) {
                slot.copy_from_slice(nonce);
            }
        }
        Bytes::from(bytes)
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = page.status;
    *response.headers_mut() = page.headers.clone();
    response
        .headers_mut()
        .insert(&X_CACHE, HeaderValue::from_static(status));
    response
}

/// When the next scheduled publication becomes visible, if one is pending.
async fn next_scheduled_change(pool: &PgPool) -> Option<Instant> {
    let seconds: Option<f64> = sqlx::query_scalar(
        "select extract(epoch from min(at) - now())::float8 from ( \
             select min(published_at) as at from projects where published_at > now() \
             union all select min(published_at) from posts where published_at > now()) next",
    )
    .fetch_one(pool)
    .await
    .unwrap_or_else(|error| {
        tracing::warn!(%error, "cannot read scheduled publications; caching briefly");
        Some(1.0)
    });
    seconds.map(|s| Instant::now() + Duration::from_secs_f64(s.clamp(0.0, 86_400.0 * 365.0)))
}

/// Keeps `cache` in step with the database for as long as the process runs: listens for
/// content changes, and turns caching off whenever it cannot listen.
pub async fn follow_changes(cache: Arc<PageCache>, pool: PgPool) {
    loop {
        match PgListener::connect_with(&pool).await {
            Ok(mut listener) => match listener.listen(CHANNEL).await {
                Ok(()) => {
                    cache.set_enabled(true);
                    tracing::debug!("page cache following content changes");
                    // Ends when the connection drops (`Ok(None)` or an error): changes may
                    // have been missed, so caching stops until listening again.
                    while let Ok(Some(notification)) = listener.try_recv().await {
                        tracing::debug!(table = notification.payload(), "content changed");
                        cache.invalidate();
                    }
                }
                Err(error) => tracing::warn!(%error, "cannot listen for content changes"),
            },
            Err(error) => tracing::warn!(%error, "cannot connect to listen for content changes"),
        }
        cache.set_enabled(false);
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
