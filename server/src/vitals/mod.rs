//! `POST /api/vitals`: Core Web Vitals from visitors' browsers, checked, classified and stored.
//!
//! The browser collector sends one JSON beacon per page view when the page is hidden (the
//! format is in [`beacon`]). A beacon is answered:
//!
//! - `204` once it is committed ([`writer`]: group commit, so an answered value is never
//!   lost), or when it is not measured at all: a bot's, the signed-in owner's, or one from
//!   the owner's pages ([`classify`]);
//! - `400` when it is malformed or out of bounds, `413` over [`BODY_LIMIT`] bytes, `415` when
//!   it is not `application/json`: a one-line reason, and nothing of it is stored;
//! - `429` with `Retry-After` past `vitals-limit-per-minute` beacons from one client address
//!   (IPv6: its /64), counted in this instance's memory;
//! - `503` when the database could not take it (nothing was acknowledged).
//!
//! What is stored is the route pattern, device class, navigation and connection type, the
//! values with the server's own ratings, the host of an external referrer, and a visitor
//! hash, sha256 of the day's salt, the client address and the user agent ([`upkeep`] rotates
//! the salts). Never the URL, the address or the user agent themselves.

pub mod beacon;
pub mod classify;
pub mod upkeep;
pub mod writer;

use crate::AppState;
use crate::client::ClientAddr;
use app::owner::Owner;
use app::vitals::bins;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use writer::{Batch, Value, View, WriteError, Writer};

/// The beacon endpoint.
pub const PATH: &str = "/api/vitals";
/// The largest beacon, in bytes (64 kB; a real one is a few hundred).
pub const BODY_LIMIT: usize = 64_000;

/// The ingest's state, one per instance: the writer, today's salt, per-address counters.
#[derive(Debug)]
pub struct Ingest {
    writer: Writer,
    salts: upkeep::Salts,
    limiter: Limiter,
    /// The host of `public-url`: a referrer from it is this site's own.
    public_host: String,
}

impl Ingest {
    /// Starts the writer on `pool` (inside the current Tokio runtime).
    pub fn start(pool: PgPool, limit_per_minute: u32, public_url: &str) -> Self {
        Self {
            writer: Writer::start(pool),
            salts: upkeep::Salts::default(),
            limiter: Limiter::new(limit_per_minute),
            public_host: public_url
                .split_once("://")
                .map_or("", |(_, authority)| classify::host_of(authority))
                .to_owned(),
        }
    }
}

/// Why a beacon was not stored: each is a status and a one-line reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("Too many beacons from this address; try again in {} s.", .0.as_secs().max(1))]
    Limited(Duration),
    #[error("Send the beacon as application/json.")]
    NotJson,
    #[error("The beacon is larger than {BODY_LIMIT} bytes.")]
    TooLarge,
    /// Malformed or out of bounds; the reason names the field.
    #[error("{0}")]
    Invalid(String),
    /// The database could not take it (already logged), or the writer's queue is full.
    #[error("The beacon could not be stored just now; nothing was kept.")]
    Unavailable { busy: bool },
}

impl Refused {
    pub fn status_code(&self) -> StatusCode {
        match self {
            Self::Limited(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::NotJson => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Invalid(_) => StatusCode::BAD_REQUEST,
            Self::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Limited(wait) => Some(*wait),
            Self::Unavailable { busy: true } => Some(Duration::from_secs(1)),
            _ => None,
        }
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let response = (self.status_code(), format!("{self}\n")).into_response();
        match self.retry_after() {
            Some(wait) => crate::rate_limit::with_retry_after(response, wait),
            None => response,
        }
    }
}

/// `POST /api/vitals` (see the module docs).
pub async fn submit(
    State(state): State<AppState>,
    client: ClientAddr,
    request: Request,
) -> Response {
    match accept(&state, client, request).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(refused) => refused.into_response(),
    }
}

/// Checks a beacon and, unless it is not to be measured, stores it.
async fn accept(state: &AppState, client: ClientAddr, request: Request) -> Result<(), Refused> {
    let ingest = &state.vitals;
    ingest.limiter.hit(&client).map_err(Refused::Limited)?;
    let (parts, body) = request.into_parts();
    if !is_json(&parts.headers) {
        return Err(Refused::NotJson);
    }
    let body = axum::body::to_bytes(body, BODY_LIMIT)
        .await
        .map_err(|_| Refused::TooLarge)?;
    let beacon = beacon::parse(&body).map_err(Refused::Invalid)?;

    let user_agent = header_text(&parts.headers, header::USER_AGENT);
    let is_owner = parts.extensions.get::<Owner>().is_some();
    let Some(route) = classify::route(&beacon.page) else {
        return Ok(());
    };
    if is_owner || classify::is_bot(user_agent) {
        return Ok(());
    }

    let today = OffsetDateTime::now_utc().date();
    let salt = ingest
        .salts
        .get(&state.pool, today)
        .await
        .map_err(|error| {
            tracing::error!(%error, "cannot read today's visitor salt");
            Refused::Unavailable { busy: false }
        })?;
    let requested_host = parts
        .uri
        .authority()
        .map_or_else(|| header_text(&parts.headers, header::HOST), |a| a.as_str());
    let own_hosts = [
        ingest.public_host.as_str(),
        classify::host_of(requested_host),
    ];
    let view = View {
        id: beacon.view,
        day: today,
        route,
        device: classify::device(user_agent).as_str(),
        nav: beacon.nav.as_str(),
        ect: beacon.ect.map(beacon::Connection::as_str),
        referrer_host: classify::referrer_host(&beacon.referrer, &own_hosts),
        visitor: visitor_hash(&salt, &client, user_agent),
    };
    let values = beacon
        .metrics
        .into_iter()
        .map(|metric| Value {
            rating: metric.name.rating(metric.value),
            bin: bins::bin(metric.name, metric.value),
            id: metric.id,
            name: metric.name,
            value: metric.value,
            attribution: serde_json::Value::Object(metric.attribution),
        })
        .collect();
    ingest
        .writer
        .write(Batch { view, values })
        .await
        .map_err(|error| Refused::Unavailable {
            busy: error == WriteError::Busy,
        })
}

/// sha256 of the salt, the client's address and its user agent, with a separator between
/// each so that no two different pairs can run together into the same input.
fn visitor_hash(salt: &[u8; 32], client: &ClientAddr, user_agent: &str) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(salt);
    hash.update(client.0.to_string().as_bytes());
    hash.update([0]);
    hash.update(user_agent.as_bytes());
    hash.finalize().into()
}

/// Whether the body is declared JSON: `application/json`, with at most a UTF-8 charset (JSON
/// is UTF-8 by definition, RFC 8259 §8.1).
fn is_json(headers: &HeaderMap) -> bool {
    let mut parts = header_text(headers, header::CONTENT_TYPE).split(';');
    let media_type = parts.next().unwrap_or_default().trim();
    media_type.eq_ignore_ascii_case("application/json")
        && parts.all(|parameter| {
            let parameter = parameter.trim().to_ascii_lowercase();
            matches!(parameter.as_str(), "charset=utf-8" | "charset=\"utf-8\"")
        })
}

fn header_text(headers: &HeaderMap, name: header::HeaderName) -> &str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// How long a client's count runs before it starts again.
const WINDOW: Duration = Duration::from_secs(60);
/// Client addresses counted at once. Past that the cache forgets some, which can only let
/// beacons through, never refuse a visitor who sent few.
const COUNTED_ADDRESSES: u64 = 100_000;

/// Beacons per client address per minute, in this instance's memory: the route is hot, and a
/// database round trip in front of every beacon would cost more than storing it. With several
/// instances a client may send the limit to each.
#[derive(Debug)]
struct Limiter {
    max: u32,
    windows: moka::sync::Cache<String, Arc<Window>>,
}

#[derive(Debug)]
struct Window {
    start: Instant,
    hits: AtomicU32,
}

impl Limiter {
    fn new(max: u32) -> Self {
        Self {
            max,
            windows: moka::sync::Cache::builder()
                .max_capacity(COUNTED_ADDRESSES)
                .time_to_live(WINDOW)
                .build(),
        }
    }

    /// Counts a beacon from `client`; `Err(wait)` when it is over the limit.
    fn hit(&self, client: &ClientAddr) -> Result<(), Duration> {
        let window = self.windows.get_with(client.limit_key(), || {
            Arc::new(Window {
                start: Instant::now(),
                hits: AtomicU32::new(0),
            })
        });
        if window.hits.fetch_add(1, Ordering::Relaxed) < self.max {
            Ok(())
        } else {
            Err(WINDOW.saturating_sub(window.start.elapsed()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn only_json_is_accepted() {
        let with = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(value));
            headers
        };
        assert!(is_json(&with("application/json")));
        assert!(is_json(&with("Application/JSON; charset=UTF-8")));
        assert!(!is_json(&with("text/plain;charset=UTF-8")));
        assert!(!is_json(&with("application/json; charset=latin1")));
        assert!(!is_json(&with("application/jsonp")));
        assert!(!is_json(&HeaderMap::new()));
    }

    #[test]
    fn the_limit_counts_per_address_and_says_how_long_to_wait() {
        let limiter = Limiter::new(2);
        let a = ClientAddr("203.0.113.1".parse().expect("ip"));
        let b = ClientAddr("203.0.113.2".parse().expect("ip"));
        assert!(limiter.hit(&a).is_ok());
        assert!(limiter.hit(&a).is_ok());
        let wait = limiter.hit(&a).expect_err("third refused");
        assert!(wait <= WINDOW && wait > WINDOW - Duration::from_secs(5));
        assert!(limiter.hit(&b).is_ok(), "another address has its own count");
    }

    #[test]
    fn a_visitor_hash_changes_with_the_salt_the_address_or_the_agent() {
        let client = ClientAddr("203.0.113.1".parse().expect("ip"));
        let other = ClientAddr("203.0.113.2".parse().expect("ip"));
        let base = visitor_hash(&[1; 32], &client, "Firefox");
        assert_eq!(base, visitor_hash(&[1; 32], &client, "Firefox"));
        assert_ne!(base, visitor_hash(&[2; 32], &client, "Firefox"));
        assert_ne!(base, visitor_hash(&[1; 32], &other, "Firefox"));
        assert_ne!(base, visitor_hash(&[1; 32], &client, "Chrome"));
    }
}
