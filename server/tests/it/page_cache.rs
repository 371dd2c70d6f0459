//! The page cache: hits carry their own nonce, content changes (from any instance) drop pages,
//! scheduled publications appear on time, and the owner always gets a fresh render.

use crate::common::{
    assert_scripts_carry, body_text, config, csp_nonce, get, get_with_session_cookie,
};
use axum::body::{Body, HttpBody};
use axum::http::{HeaderValue, Response, header};
use flate2::read::GzDecoder;
use folio_server::{AppState, page_cache, router};
use sqlx::PgPool;
use std::io::Read;
use std::time::{Duration, Instant};
use tower::ServiceExt;

/// An app whose cache follows the database, once it has started listening.
async fn cached_app(pool: &PgPool) -> axum::Router {
    let state = AppState::new(config(), pool.clone());
    tokio::spawn(page_cache::follow_changes(
        state.pages.clone(),
        pool.clone(),
    ));
    let app = router(state);
    wait_for(|| {
        let app = app.clone();
        async move { cache_status(&app.oneshot(get("/")).await.expect("response")).is_some() }
    })
    .await;
    app
}

async fn wait_for<F, Fut>(mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    while !condition().await {
        assert!(Instant::now() < deadline, "condition not met within 10 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn cache_status(response: &Response<Body>) -> Option<String> {
    response
        .headers()
        .get("x-cache")
        .map(|v| v.to_str().expect("ascii").to_owned())
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn a_hit_is_the_same_page_with_its_own_nonce(pool: PgPool) {
    let app = cached_app(&pool).await;
    let first = app.clone().oneshot(get("/")).await.expect("response");
    let second = app.clone().oneshot(get("/")).await.expect("response");
    assert_eq!(cache_status(&second).as_deref(), Some("hit"));

    let (first_nonce, second_nonce) = (csp_nonce(first.headers()), csp_nonce(second.headers()));
    assert_ne!(first_nonce, second_nonce, "a nonce is never reused");
    let (first_html, second_html) = (body_text(first).await, body_text(second).await);
    assert!(assert_scripts_carry(&second_html, &second_nonce) >= 2);
    assert_eq!(
        first_html.replace(&first_nonce, "N"),
        second_html.replace(&second_nonce, "N")
    );
}

/// A GET for `uri` with the Accept-Encoding header `accept`.
fn get_accepting(uri: &str, accept: &'static str) -> axum::http::Request<Body> {
    let mut request = get(uri);
    request
        .headers_mut()
        .insert(header::ACCEPT_ENCODING, HeaderValue::from_static(accept));
    request
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn browsers_get_the_stored_gzip_copy_with_their_own_nonce(pool: PgPool) {
    let app = cached_app(&pool).await;
    let plain = app
        .clone()
        .oneshot(get("/projects"))
        .await
        .expect("response");
    assert_eq!(cache_status(&plain).as_deref(), Some("miss"));
    let plain_nonce = csp_nonce(plain.headers());
    let plain = body_text(plain).await;

    // As Chromium asks over plain HTTP and over HTTPS: both take gzip as gladly as anything.
    for accept in ["gzip, deflate", "gzip, deflate, br, zstd", "gzip, deflate"] {
        let response = app
            .clone()
            .oneshot(get_accepting("/projects", accept))
            .await
            .expect("response");
        assert_eq!(cache_status(&response).as_deref(), Some("hit"));
        let headers = response.headers().clone();
        assert_eq!(headers[header::CONTENT_ENCODING], "gzip", "{accept}");
        assert_eq!(headers[header::VARY], "accept-encoding");
        let nonce = csp_nonce(&headers);
        assert_ne!(nonce, plain_nonce);
        // Whole and of known length: the stored copy, not one compressed while streaming.
        let length = HttpBody::size_hint(response.body()).exact();
        let bytes = http_body_util::BodyExt::collect(response.into_body())
            .await
            .expect("body")
            .to_bytes();
        assert_eq!(length, u64::try_from(bytes.len()).ok());
        let mut html = String::new();
        GzDecoder::new(&bytes[..])
            .read_to_string(&mut html)
            .expect("valid gzip, CRC and length included");
        assert!(html.contains(&format!("nonce=\"{nonce}\"")));
        assert_eq!(html.replace(&nonce, "N"), plain.replace(&plain_nonce, "N"));
    }

    // A browser that prefers brotli gets it, compressed for this response.
    let response = app
        .clone()
        .oneshot(get_accepting("/projects", "br;q=1, gzip;q=0.5"))
        .await
        .expect("response");
    assert_eq!(cache_status(&response).as_deref(), Some("hit"));
    assert_eq!(response.headers()[header::CONTENT_ENCODING], "br");

    // One that takes neither gets the page as it is, of known length too.
    let response = app
        .clone()
        .oneshot(get_accepting("/projects", "identity"))
        .await
        .expect("response");
    assert!(!response.headers().contains_key(header::CONTENT_ENCODING));
    let length = HttpBody::size_hint(response.body()).exact();
    let nonce = csp_nonce(response.headers());
    let html = body_text(response).await;
    assert_eq!(length, u64::try_from(html.len()).ok());
    assert_eq!(html.replace(&nonce, "N"), plain.replace(&plain_nonce, "N"));
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn a_content_change_from_anywhere_drops_the_page(pool: PgPool) {
    let app = cached_app(&pool).await;
    let before = body_text(
        app.clone()
            .oneshot(get("/projects"))
            .await
            .expect("response"),
    )
    .await;
    assert!(before.contains("No projects published yet."));

    // Written straight to the database, as another instance would.
    sqlx::query(
        "insert into projects (slug, title, published_at) values ('fresh', 'Fresh work', now())",
    )
    .execute(&pool)
    .await
    .expect("insert");
    wait_for(|| {
        let app = app.clone();
        async move {
            body_text(app.oneshot(get("/projects")).await.expect("response"))
                .await
                .contains("Fresh work")
        }
    })
    .await;
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn a_scheduled_project_appears_on_time(pool: PgPool) {
    sqlx::query(
        "insert into projects (slug, title, published_at) values ('soon', 'Launching soon', now() + interval '1500 milliseconds')",
    )
    .execute(&pool)
    .await
    .expect("insert");
    let app = cached_app(&pool).await;
    app.clone()
        .oneshot(get("/projects"))
        .await
        .expect("response");
    let early = app
        .clone()
        .oneshot(get("/projects"))
        .await
        .expect("response");
    assert_eq!(cache_status(&early).as_deref(), Some("hit"));
    assert!(!body_text(early).await.contains("Launching soon"));

    tokio::time::sleep(Duration::from_millis(1600)).await;
    let later = body_text(app.oneshot(get("/projects")).await.expect("response")).await;
    assert!(
        later.contains("Launching soon"),
        "no notification comes for the passing of time"
    );
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn the_owner_is_never_served_from_the_cache(pool: PgPool) {
    let app = cached_app(&pool).await;
    let response = app
        .oneshot(get_with_session_cookie("/"))
        .await
        .expect("response");
    assert_eq!(cache_status(&response), None);
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn made_up_addresses_are_not_stored(pool: PgPool) {
    let app = cached_app(&pool).await;
    for _ in 0..2 {
        let response = app
            .clone()
            .oneshot(get("/made-up-address"))
            .await
            .expect("response");
        assert_eq!(response.status(), 404);
        assert_eq!(cache_status(&response), None);
    }
}
