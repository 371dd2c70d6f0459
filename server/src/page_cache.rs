//! Rendered pages for anonymous visitors, kept until the content behind them changes.
//!
//! A page is rendered once with a per-process placeholder nonce; every response then gets the
//! stored bytes with its own fresh CSP nonce written over the placeholder (both are 24 base64
//! characters, so the swap is in place). Correctness across instances comes from PostgreSQL:
//! content tables `NOTIFY folio_content` when they change (see the migrations), every instance
//! `LISTEN`s and drops its pages, and while the listener is disconnected nothing is cached.
//! Pages whose content is scheduled to appear expire at that moment.
//!
//! A stored page is also gzip-compressed once, so a browser gets compressed bytes without a
//! compression per request. The placeholder nonces are left uncompressed there (each in a
//! stored deflate block of its own), so the same swap works on the compressed copy; the gzip
//! trailer's CRC-32 comes from the nonce's own CRC and two numbers kept with the page
//! ([`PageCrc`]). Browsers that prefer brotli by their `q` values still get a per-response
//! brotli copy from the compression layer.
//!
//! A hit copies no page: its body is sent as the stored bytes between the nonces (shared, not
//! copied) and the response's nonce between them ([`Pieces`]).
//!
//! Only matched page routes pass through here (never server functions, static files or 404s
//! for made-up addresses), and only GETs without the owner's session cookie.

use crate::accept::Accepted;
use crate::auth::has_session_cookie;
use app::CspNonce;
use axum::body::{Body, HttpBody};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use flate2::{Compress, Compression, FlushCompress, Status};
use http_body::{Frame, SizeHint};
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use zlib_rs::crc32::{crc32, crc32_combine_gen, crc32_combine_op};

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
    body: Slotted,
    /// `body` gzip-compressed, when it could be.
    gzip: Option<Gzipped>,
}

/// Stored bytes with slots where each response's nonce goes (all of the placeholder's length).
#[derive(Debug)]
struct Slotted {
    bytes: Bytes,
    /// Where the placeholder nonce stands in `bytes`, in order and apart.
    slots: Vec<usize>,
}

/// A page as gzip, but for the 8-byte trailer, which depends on the nonce.
#[derive(Debug)]
struct Gzipped {
    /// The gzip header and a raw deflate stream in which each placeholder nonce is the whole
    /// content of a stored (uncompressed) block.
    copy: Slotted,
    /// The trailer's makings.
    crc: PageCrc,
}

/// The CRC-32 of a page with any nonce, in two numbers.
///
/// CRC-32 is affine over GF(2), and a CRC followed by `n` more bytes is multiplied by
/// x^(8n) modulo the CRC polynomial (zlib's `crc32_combine`). So with the same nonce in every
/// slot, the page's CRC is `base ^ shift * crc32(nonce)`, where `shift` is the sum (XOR) over
/// the slots of x^(8 * the bytes after that slot) and `base` what the CRC would be if the
/// nonce's CRC were 0. A response computes the CRC of its 24-byte nonce and one product
/// instead of reading the whole page.
#[derive(Debug)]
struct PageCrc {
    base: u32,
    shift: u32,
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
                    let gzip = page.gzip.as_ref().map_or(0, |gzip| gzip.copy.bytes.len());
                    u32::try_from(key.len() + page.body.bytes.len() + gzip).unwrap_or(u32::MAX)
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
    // The swap is in place: a nonce of another length (none is made) would corrupt the page.
    if !cacheable(&cache, &request) || nonce.len() != cache.placeholder.len() {
        return next.run(request).await;
    }
    let key = request.uri().path_and_query().map_or_else(
        || request.uri().path().to_owned(),
        |pq| pq.as_str().to_owned(),
    );
    let gzip = accepts_gzip(request.headers());
    if let Some(page) = cache.fresh(&key) {
        return respond(&page, &nonce, gzip, "hit");
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
    let body = Slotted::find(body, &cache.placeholder);
    let store = parts.status == StatusCode::OK && !parts.headers.contains_key(header::SET_COOKIE);
    let gzipped = if store {
        Gzipped::new(&body, cache.placeholder.len())
    } else {
        None
    };
    let page = Page {
        generation,
        expires,
        status: parts.status,
        headers: parts.headers,
        body,
        gzip: gzipped,
    };
    let response = respond(&page, &nonce, gzip, if store { "miss" } else { "bypass" });
    if store {
        cache.pages.insert(key, Arc::new(page));
    }
    response
}

/// Whether the request takes gzip at least as gladly as brotli: then it gets the stored gzip
/// copy, and otherwise the plain page, which the compression layer compresses as it prefers.
fn accepts_gzip(headers: &HeaderMap) -> bool {
    let accepted = Accepted::from_headers(headers);
    accepted.gzip > 0.0 && accepted.gzip >= accepted.br
}

/// The page with `nonce` where the placeholder stands, gzip-compressed if `gzip` and the page
/// has a compressed copy.
fn respond(page: &Page, nonce: &str, gzip: bool, status: &'static str) -> Response {
    let gzipped = page.gzip.as_ref().filter(|_| gzip);
    let nonce = Bytes::copy_from_slice(nonce.as_bytes());
    let body = match gzipped {
        Some(gzipped) => {
            let mut pieces = gzipped.copy.pieces(&nonce, 1);
            let trailer = gzipped.crc.trailer(&nonce, page.body.bytes.len());
            pieces.push(Bytes::copy_from_slice(&trailer));
            pieces
        }
        None => page.body.pieces(&nonce, 0),
    };
    let mut response = Response::new(Body::new(Pieces::new(body)));
    *response.status_mut() = page.status;
    let headers = response.headers_mut();
    *headers = page.headers.clone();
    headers.insert(&X_CACHE, HeaderValue::from_static(status));
    // Stored pages are answered in more than one encoding: caches must keep them apart.
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if gzipped.is_some() {
        headers.remove(header::CONTENT_LENGTH);
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    response
}

impl Slotted {
    /// `bytes` with a slot wherever `placeholder` stands.
    fn find(bytes: Bytes, placeholder: &str) -> Self {
        let slots = memchr::memmem::find_iter(&bytes, placeholder.as_bytes()).collect();
        Self { bytes, slots }
    }

    /// The stored bytes as pieces with `nonce` in every slot, shared rather than copied, and
    /// room for `spare` more.
    fn pieces(&self, nonce: &Bytes, spare: usize) -> Vec<Bytes> {
        let mut pieces = Vec::with_capacity(2 * self.slots.len() + 1 + spare);
        let mut from = 0;
        for &at in &self.slots {
            if from < at {
                pieces.push(self.bytes.slice(from..at));
            }
            pieces.push(nonce.clone());
            from = at + nonce.len();
        }
        if from < self.bytes.len() {
            pieces.push(self.bytes.slice(from..));
        }
        pieces
    }
}

impl PageCrc {
    fn new(body: &Slotted, nonce_len: usize) -> Self {
        let len = body.bytes.len();
        let shift = body.slots.iter().fold(0, |shift, &at| {
            shift ^ crc32_combine_gen(len.saturating_sub(at + nonce_len) as u64)
        });
        // The stored page holds the placeholder: take its share out.
        let placeholder = body
            .slots
            .first()
            .and_then(|&at| body.bytes.get(at..at + nonce_len))
            .unwrap_or_default();
        Self {
            base: crc32(0, &body.bytes) ^ times(shift, crc32(0, placeholder)),
            shift,
        }
    }

    /// The gzip trailer of the page, `len` bytes with `nonce` in every slot: its CRC-32 and
    /// length.
    fn trailer(&self, nonce: &[u8], len: usize) -> [u8; 8] {
        let crc = self.base ^ times(self.shift, crc32(0, nonce));
        let mut trailer = [0; 8];
        trailer[..4].copy_from_slice(&crc.to_le_bytes());
        // gzip's ISIZE is the length modulo 2^32 (RFC 1952): the truncation is the format.
        trailer[4..].copy_from_slice(&(len as u32).to_le_bytes());
        trailer
    }
}

/// `a * b` modulo the CRC-32 polynomial (zlib's `multmodp`, reached through
/// `crc32_combine_op`, which needs a non-zero operator).
fn times(a: u32, b: u32) -> u32 {
    if a == 0 { 0 } else { crc32_combine_op(b, 0, a) }
}

/// A response body sent as the pieces it is made of, with its exact length known up front
/// (so it goes out with a `Content-Length`, not chunked).
struct Pieces {
    pieces: std::vec::IntoIter<Bytes>,
    remaining: u64,
}

impl Pieces {
    fn new(pieces: Vec<Bytes>) -> Self {
        let remaining = pieces.iter().map(|piece| piece.len() as u64).sum();
        Self {
            pieces: pieces.into_iter(),
            remaining,
        }
    }
}

impl HttpBody for Pieces {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        Poll::Ready(this.pieces.next().map(|piece| {
            this.remaining -= piece.len() as u64;
            Ok(Frame::data(piece))
        }))
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

impl Gzipped {
    /// `body` compressed, or `None` if deflate fails.
    fn new(body: &Slotted, nonce_len: usize) -> Option<Self> {
        Some(Self {
            copy: gzip_with_stored(body, nonce_len)?,
            crc: PageCrc::new(body, nonce_len),
        })
    }
}

/// `page` as gzip without its trailer, the `nonce_len` bytes in each of its slots kept as
/// stored blocks (RFC 1951 section 3.2.4), with slots where they now stand. `None` only if
/// deflate fails.
///
/// The deflate stream is flushed to a byte boundary before each stored block and starts afresh
/// after it, primed with the page so far as its dictionary so that it still finds repeats from
/// before the nonce. No back-reference may reach into a nonce, whose bytes change with every
/// response: in the dictionary each nonce is NUL bytes, which match nothing in a page that has
/// none. A page with a NUL byte of its own is compressed without dictionaries.
fn gzip_with_stored(page: &Slotted, nonce_len: usize) -> Option<Slotted> {
    let (body, nonce_at) = (&page.bytes[..], &page.slots[..]);
    let stored_len = u16::try_from(nonce_len).ok()?;
    let history = memchr::memchr(0, body).is_none().then(|| {
        let mut masked = body.to_vec();
        for &at in nonce_at {
            if let Some(nonce) = masked.get_mut(at..at + nonce_len) {
                nonce.fill(0);
            }
        }
        masked
    });
    // ID1 ID2, CM = deflate, no flags, no mtime, XFL = best compression, OS = unknown.
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 0xff];
    out.reserve(body.len() / 3);
    let mut deflate = Compress::new(Compression::best(), false);
    let mut moved = Vec::with_capacity(nonce_at.len());
    let mut from = 0;
    for &at in nonce_at {
        deflate_into(
            &mut deflate,
            body.get(from..at)?,
            FlushCompress::Sync,
            &mut out,
        )?;
        deflate.reset();
        // BFINAL = 0 and BTYPE = 00 in the first three bits, the rest of the byte padding,
        // then LEN and its ones' complement, little-endian.
        out.push(0);
        out.extend_from_slice(&stored_len.to_le_bytes());
        out.extend_from_slice(&(!stored_len).to_le_bytes());
        moved.push(out.len());
        out.extend_from_slice(body.get(at..at + nonce_len)?);
        from = at + nonce_len;
        if let Some(history) = &history {
            // Deflate looks back at most 32 KiB.
            let window = history.get(from.saturating_sub(32 << 10)..from)?;
            deflate.set_dictionary(window).ok()?;
        }
    }
    deflate_into(
        &mut deflate,
        body.get(from..)?,
        FlushCompress::Finish,
        &mut out,
    )?;
    Some(Slotted {
        bytes: out.into(),
        slots: moved,
    })
}

/// Compresses all of `input` onto `out`. With `Sync` the output ends on a byte boundary; with
/// `Finish` it ends the deflate stream.
fn deflate_into(
    deflate: &mut Compress,
    mut input: &[u8],
    flush: FlushCompress,
    out: &mut Vec<u8>,
) -> Option<()> {
    loop {
        out.reserve(input.len() / 2 + 64);
        let read = deflate.total_in();
        let status = deflate.compress_vec(input, out, flush).ok()?;
        let consumed = usize::try_from(deflate.total_in() - read).ok()?;
        input = input.get(consumed..)?;
        let done = match flush {
            FlushCompress::Finish => status == Status::StreamEnd,
            // Room left over means the flush was written in full.
            _ => input.is_empty() && out.len() < out.capacity(),
        };
        if done {
            return Some(());
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::read::GzDecoder;
    use std::io::Read;

    /// A stored page whose placeholder is `placeholder`, found in `html`.
    fn page(html: &[u8], placeholder: &str) -> Page {
        let body = Slotted::find(Bytes::copy_from_slice(html), placeholder);
        Page {
            generation: 0,
            expires: None,
            status: StatusCode::OK,
            headers: HeaderMap::new(),
            gzip: Gzipped::new(&body, placeholder.len()),
            body,
        }
    }

    async fn body_of(response: Response) -> Vec<u8> {
        axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body")
            .to_vec()
    }

    /// Strictly one gzip member that decodes to exactly `expected` (CRC and length checked).
    fn gunzip(bytes: &[u8]) -> Vec<u8> {
        let mut decoder = GzDecoder::new(bytes);
        let mut out = Vec::new();
        decoder.read_to_end(&mut out).expect("valid gzip");
        let mut rest = Vec::new();
        decoder.into_inner().read_to_end(&mut rest).expect("read");
        assert!(
            rest.is_empty(),
            "{} bytes after the gzip member",
            rest.len()
        );
        out
    }

    #[tokio::test]
    async fn the_gzip_copy_decodes_to_the_page_with_each_responses_nonce() {
        let placeholder = crate::security::new_nonce();
        let p = &*placeholder;
        // Nonces at the very start and end, side by side, far apart, and none at all; a body
        // large enough for the compressor to emit several blocks of its own.
        let long: String = (0..40_000).map(|i| format!("<p>line {i}</p>\n")).collect();
        let pages = [
            format!("{p}<html><script nonce=\"{p}\"></script>{p}{p}<main>{long}</main>{p}"),
            format!("<html><head><script nonce=\"{p}\">1</script></head><body>hi</body></html>"),
            "<html>no nonce here</html>".to_owned(),
            // Pieces of the placeholder after it: a reference back to them would copy the
            // response's nonce instead.
            format!(
                "<script nonce=\"{p}\"></script><p>{} {}</p>",
                &p[..12],
                &p[12..]
            ),
            // NUL bytes, which stand for the nonces in the dictionaries (so none is used here).
            format!("<p>\0\0\0</p><script nonce=\"{p}\"></script><p>\0\0\0\0</p>"),
            p.to_owned(),
            String::new(),
        ];
        for html in &pages {
            let page = page(html.as_bytes(), p);
            assert!(page.gzip.is_some());
            for _ in 0..3 {
                let nonce = crate::security::new_nonce();
                let expected = html.replace(p, &nonce);
                let zipped = respond(&page, &nonce, true, "hit");
                assert_eq!(zipped.headers()[header::CONTENT_ENCODING], "gzip");
                assert_eq!(zipped.headers()[header::VARY], "accept-encoding");
                let announced = zipped.body().size_hint().exact();
                let zipped = body_of(zipped).await;
                assert_eq!(announced, Some(zipped.len() as u64), "sent with its length");
                assert_eq!(gunzip(&zipped), expected.as_bytes());

                let plain = respond(&page, &nonce, false, "hit");
                assert!(!plain.headers().contains_key(header::CONTENT_ENCODING));
                assert_eq!(
                    plain.body().size_hint().exact(),
                    Some(expected.len() as u64)
                );
                assert_eq!(body_of(plain).await, expected.as_bytes());
            }
        }
    }

    #[test]
    fn a_hit_shares_the_stored_bytes_instead_of_copying_them() {
        let placeholder = crate::security::new_nonce();
        let p = &*placeholder;
        let html = format!("<head><script nonce=\"{p}\"></script></head><body>{p}</body>");
        let page = page(html.as_bytes(), p);
        let nonce = Bytes::from_static(b"0123456789abcdefghijklmn");
        for copy in [&page.body, &page.gzip.as_ref().expect("compressed").copy] {
            let stored = copy.bytes.as_ptr_range();
            let pieces = copy.pieces(&nonce, 0);
            assert_eq!(pieces.len(), 2 * copy.slots.len() + 1, "{pieces:?}");
            for (i, piece) in pieces.iter().enumerate() {
                if i % 2 == 1 {
                    assert_eq!(piece.as_ptr(), nonce.as_ptr(), "the nonce, shared");
                } else {
                    let range = piece.as_ptr_range();
                    assert!(stored.start <= range.start && range.end <= stored.end);
                }
            }
        }
    }

    #[test]
    fn the_gzip_copy_is_about_as_small_as_one_made_in_a_single_pass() {
        let placeholder = crate::security::new_nonce();
        let p = &*placeholder;
        // Words that compress poorly on their own, repeated after the nonce: only a compressor
        // that still sees what came before the nonce can send the repeat as one reference.
        let mut seed = 7_u32;
        let words: String = (0..600)
            .map(|_| {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                format!("w{} ", seed >> 20)
            })
            .collect();
        let html = format!("<p>{words}</p><script nonce=\"{p}\"></script><p>{words}</p>");
        let page = page(html.as_bytes(), p);
        let ours = page.gzip.expect("compressed").copy.bytes.len() + 8;
        let mut single = flate2::write::GzEncoder::new(Vec::new(), Compression::best());
        std::io::Write::write_all(&mut single, html.as_bytes()).expect("write");
        let single = single.finish().expect("finish").len();
        // The stored block and the fresh start cost some dozens of bytes, not a second copy.
        assert!(ours <= single + 64, "{ours} bytes against {single}");
    }

    #[test]
    fn which_requests_get_the_gzip_copy() {
        let cases = [
            ("gzip, deflate, br, zstd", true),
            ("gzip, deflate", true),
            ("br", false),
            ("br;q=1, gzip;q=0.8", false),
            ("gzip;q=0", false),
            ("*", true),
            ("identity", false),
        ];
        for (value, expected) in cases {
            let mut headers = HeaderMap::new();
            headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_static(value));
            assert_eq!(accepts_gzip(&headers), expected, "{value}");
        }
        assert!(!accepts_gzip(&HeaderMap::new()));
    }
}
