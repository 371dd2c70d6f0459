//! Security headers on every response, and the same-origin rule for every request that could
//! change data.
//!
//! The Content-Security-Policy is strict (CSP level 3, <https://www.w3.org/TR/CSP3/>): scripts
//! run only with this response's nonce, and what they load is trusted through `'strict-dynamic'`;
//! WASM may compile (`'wasm-unsafe-eval'`), nothing may frame the site, no plugin runs, and
//! `<base>` cannot be injected. The nonce is handed to Leptos through [`app::CspNonce`].

use app::CspNonce;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use std::sync::Arc;

/// What the security middleware needs to know about the deployment.
#[derive(Debug, Clone)]
pub struct SecurityPolicy {
    /// The public origin (`https://example.com`); same-origin requests must come from it or
    /// from the `Host` they were sent to.
    pub public_origin: String,
    pub hsts: bool,
}

/// A fresh, unguessable nonce: 128 random bits, base64.
pub(crate) fn new_nonce() -> Arc<str> {
    let bytes: [u8; 16] = rand::random();
    base64::engine::general_purpose::STANDARD
        .encode(bytes)
        .into()
}

fn csp(nonce: &str) -> String {
    format!(
        "default-src 'self'; \
         script-src 'nonce-{nonce}' 'strict-dynamic' 'wasm-unsafe-eval'; \
         style-src 'self' 'nonce-{nonce}'; img-src 'self' data:; font-src 'self'; connect-src 'self'; \
         object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    )
}

/// Sets the nonce for the renderer and the security headers on the way out.
///
/// `Cross-Origin-Opener-Policy: same-origin` goes on the owner's pages and on every response to
/// a request with the session cookie: no other window can hold a reference to them, and they
/// get a process of their own. Anonymous visitors' pages hold nothing private, and there the
/// header costs the first page of a visit: the browser may not keep the page in the tab's
/// process and moves it to a fresh one, whose cold start lands on the main thread before the
/// first paint (Lighthouse, same bytes otherwise: TBT above 0 in 6 runs of 6 with the header,
/// 0 in 6 of 6 without).
pub async fn headers(
    State(policy): State<Arc<SecurityPolicy>>,
    mut request: Request,
    next: Next,
) -> Response {
    let nonce = new_nonce();
    request.extensions_mut().insert(CspNonce(nonce.clone()));
    let isolate = crate::auth::is_owner_page(request.uri().path())
        || crate::auth::has_session_cookie(request.headers());
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&csp(&nonce)) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    if isolate {
        headers.insert(
            header::HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        );
    }
    let fixed = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "strict-origin-when-cross-origin"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (
            header::HeaderName::from_static("cross-origin-resource-policy"),
            "same-origin",
        ),
        (
            header::HeaderName::from_static("permissions-policy"),
            "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
        ),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if policy.hsts {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=63072000; includeSubDomains"),
        );
    }
    response
}

/// Refuses a body over the limit (the media upload's for `POST /owner/media`, the archive's
/// for `POST /owner/import`, the beacon's for `POST /api/vitals`, else `limit`) from its
/// `Content-Length` before reading a byte, and caps a chunked body at the same size.
pub async fn body_limit(State(limit): State<usize>, request: Request, next: Next) -> Response {
    let limit = match (request.method() == Method::POST, request.uri().path()) {
        (true, "/owner/media") => crate::media::UPLOAD_BODY_LIMIT,
        (true, "/owner/import") => crate::archive::IMPORT_BODY_LIMIT,
        (true, crate::vitals::PATH) => crate::vitals::BODY_LIMIT,
        _ => limit,
    };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(n) if n > limit as u64 => (
            StatusCode::PAYLOAD_TOO_LARGE,
            "The request body is too large.\n",
        )
            .into_response(),
        // The connection delivers exactly the declared length, so it needs no cap of its own.
        Some(_) => next.run(request).await,
        None => {
            let request = request
                .map(|body| axum::body::Body::new(http_body_util::Limited::new(body, limit)));
            next.run(request).await
        }
    }
}

/// Refuses, with 403, any request that could change data unless the browser says it comes
/// from this site (OWASP CSRF cheat sheet: "verifying origin with standard headers").
pub async fn same_origin(
    State(policy): State<Arc<SecurityPolicy>>,
    request: Request,
    next: Next,
) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if safe || is_same_origin(request.headers(), &policy.public_origin) {
        next.run(request).await
    } else {
        tracing::warn!(method = %request.method(), path = %request.uri().path(), "cross-origin request refused");
        (StatusCode::FORBIDDEN, "Cross-origin request refused.\n").into_response()
    }
}

/// `Sec-Fetch-Site: same-origin`, or failing that an `Origin` equal to the public origin or to
/// the origin the request was addressed to. A request carrying neither is refused.
pub fn is_same_origin(headers: &HeaderMap, public_origin: &str) -> bool {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = get("sec-fetch-site") {
        return site == "same-origin";
    }
    let Some(origin) = get("origin") else {
        return false;
    };
    let origin = origin.to_ascii_lowercase();
    if origin == public_origin {
        return true;
    }
    let host = get("host").map(str::to_ascii_lowercase);
    matches!(
        (origin.split_once("://"), host),
        (Some(("http" | "https", origin_host)), Some(host)) if origin_host == host
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    header::HeaderName::from_static(k),
                    HeaderValue::from_static(v),
                )
            })
            .collect()
    }

    const SITE: &str = "https://folio.example";

    #[test]
    fn fetch_metadata_decides_when_present() {
        assert!(is_same_origin(
            &headers(&[("sec-fetch-site", "same-origin")]),
            SITE
        ));
        for site in ["same-site", "cross-site", "none"] {
            let h = headers(&[
                ("sec-fetch-site", site),
                ("origin", "https://folio.example"),
            ]);
            assert!(!is_same_origin(&h, SITE), "{site}");
        }
    }

    #[test]
    fn origin_must_match_the_site_or_the_host() {
        assert!(is_same_origin(
            &headers(&[("origin", "https://folio.example")]),
            SITE
        ));
        assert!(is_same_origin(
            &headers(&[
                ("origin", "http://127.0.0.1:3000"),
                ("host", "127.0.0.1:3000")
            ]),
            SITE
        ));
        assert!(!is_same_origin(
            &headers(&[
                ("origin", "https://evil.example"),
                ("host", "folio.example")
            ]),
            SITE
        ));
        assert!(!is_same_origin(&headers(&[("origin", "null")]), SITE));
        assert!(!is_same_origin(&headers(&[]), SITE));
    }

    #[test]
    fn every_response_gets_a_new_nonce() {
        assert_ne!(new_nonce(), new_nonce());
        let policy = csp("abc");
        assert!(policy.contains("'nonce-abc'"));
        assert!(!policy.contains("unsafe-inline"));
    }
}
