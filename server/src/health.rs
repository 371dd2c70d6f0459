//! `/healthz`, `/readyz` and `/metrics`: for load balancers, orchestrators and Prometheus.

use crate::AppState;
use axum::Extension;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use subtle::ConstantTimeEq;

/// The process is up and answering.
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// The database answers within the configured timeout; 503 otherwise.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let check = sqlx::query_scalar::<_, i32>("select 1").fetch_one(&state.pool);
    match tokio::time::timeout(state.config.ready_timeout, check).await {
        Ok(Ok(_)) => (StatusCode::OK, "ready\n").into_response(),
        Ok(Err(error)) => {
            tracing::warn!(%error, "readiness check: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable\n").into_response()
        }
        Err(_) => {
            tracing::warn!("readiness check: database timed out");
            (StatusCode::SERVICE_UNAVAILABLE, "database timed out\n").into_response()
        }
    }
}

/// Metrics in the Prometheus text format, for loopback clients that did not come through a
/// proxy, or anyone presenting the configured bearer token.
pub async fn metrics(
    State(state): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
) -> Response {
    if !may_read_metrics(
        peer.map(|Extension(ConnectInfo(addr))| addr),
        &headers,
        state.config.metrics_token.as_deref(),
    ) {
        return (StatusCode::FORBIDDEN, "metrics are not public\n").into_response();
    }
    (
        [
            (
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        state.metrics.render(&state.pool),
    )
        .into_response()
}

fn may_read_metrics(peer: Option<SocketAddr>, headers: &HeaderMap, token: Option<&str>) -> bool {
    if let (Some(token), Some(given)) = (
        token,
        headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ")),
    ) {
        return bool::from(given.as_bytes().ct_eq(token.as_bytes()));
    }
    // A reverse proxy on the same machine connects from loopback on behalf of anyone, so a
    // forwarded request is never treated as local.
    let proxied =
        headers.contains_key("x-forwarded-for") || headers.contains_key(header::FORWARDED);
    !proxied && peer.is_some_and(|addr| addr.ip().is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn addr(s: &str) -> Option<SocketAddr> {
        Some(s.parse().expect("address"))
    }

    #[test]
    fn loopback_reads_without_a_token_unless_proxied() {
        let mut headers = HeaderMap::new();
        assert!(may_read_metrics(addr("127.0.0.1:5000"), &headers, None));
        assert!(may_read_metrics(addr("[::1]:5000"), &headers, None));
        headers.insert("x-forwarded-for", HeaderValue::from_static("203.0.113.9"));
        assert!(!may_read_metrics(addr("127.0.0.1:5000"), &headers, None));
    }

    #[test]
    fn others_need_the_right_token() {
        let mut headers = HeaderMap::new();
        assert!(!may_read_metrics(
            addr("203.0.113.9:5000"),
            &headers,
            Some("s3cret")
        ));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer wrong"),
        );
        assert!(!may_read_metrics(
            addr("203.0.113.9:5000"),
            &headers,
            Some("s3cret")
        ));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer s3cret"),
        );
        assert!(may_read_metrics(
            addr("203.0.113.9:5000"),
            &headers,
            Some("s3cret")
        ));
        assert!(!may_read_metrics(addr("203.0.113.9:5000"), &headers, None));
    }
}
