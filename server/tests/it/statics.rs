//! The site's static files through the real router: the copy each browser accepts, kept in
//! memory after the first request, and everything the in-memory path does not answer (ranges,
//! unknown or encoded addresses) still answered by `ServeDir` as before.

use crate::common::{body_text, config};
use axum::body::Body;
use axum::http::{Method, Request, Response, StatusCode, header};
use folio_server::{AppState, router};
use sqlx::PgPool;
use std::path::PathBuf;
use std::sync::Arc;
use tower::ServiceExt;

const SVG: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\"><circle r=\"4\"/></svg>";
const SCRIPT: &str = "export function hydrate() {}\n";

/// A site folder holding a public file and a `/pkg` file, each with stand-in `.br` and `.gz`
/// copies whose bodies say which copy was sent.
struct Site {
    /// Holds the site folder, so that there is something outside the site to ask for.
    _folder: tempfile::TempDir,
    root: PathBuf,
    app: axum::Router,
}

/// The real router over a new [`Site`].
fn site(pool: PgPool) -> Site {
    let folder = tempfile::tempdir().expect("temporary folder");
    let root = folder.path().join("site");
    std::fs::create_dir_all(root.join("pkg")).expect("pkg folder");
    for (name, body) in [("favicon.svg", SVG), ("pkg/folio.js", SCRIPT)] {
        std::fs::write(root.join(name), body).expect("file");
        std::fs::write(root.join(format!("{name}.br")), "brotli copy").expect("br copy");
        std::fs::write(root.join(format!("{name}.gz")), "gzip copy").expect("gz copy");
    }
    let mut config = config();
    config.leptos.site_root = Arc::from(root.to_str().expect("utf-8 path"));
    let app = router(AppState::new(config, pool));
    Site {
        _folder: folder,
        root,
        app,
    }
}

async fn send(app: &axum::Router, request: Request<Body>) -> Response<Body> {
    app.clone().oneshot(request).await.expect("response")
}

fn get(uri: &str, headers: &[(header::HeaderName, &str)]) -> Request<Body> {
    let mut request = Request::get(uri);
    for (name, value) in headers {
        request = request.header(name, *value);
    }
    request.body(Body::empty()).expect("request")
}

fn header_of(response: &Response<Body>, name: header::HeaderName) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|value| value.to_str().expect("ascii").to_owned())
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn each_browser_gets_the_copy_it_accepts(pool: PgPool) {
    let Site { app, .. } = &site(pool);
    for (accept, encoding, body) in [
        (None, None, SVG),
        (Some("identity"), None, SVG),
        (Some("br"), Some("br"), "brotli copy"),
        (Some("gzip, deflate, br, zstd"), Some("br"), "brotli copy"),
        (Some("gzip"), Some("gzip"), "gzip copy"),
        (Some("br;q=0, gzip"), Some("gzip"), "gzip copy"),
        (Some("br;q=0.2, gzip;q=0.8"), Some("gzip"), "gzip copy"),
        (Some("BR ; Q=1"), Some("br"), "brotli copy"),
        (Some("gzip;q=0, br;q=0"), None, SVG),
    ] {
        let headers: Vec<_> = accept
            .map(|value| (header::ACCEPT_ENCODING, value))
            .into_iter()
            .collect();
        // Twice: the first answer reads the file, the second comes from memory.
        for round in ["first", "second"] {
            let response = send(app, get("/favicon.svg", &headers)).await;
            let what = format!("Accept-Encoding {accept:?}, {round} request");
            assert_eq!(response.status(), StatusCode::OK, "{what}");
            let length = body.len().to_string();
            for (name, expected) in [
                (header::CONTENT_TYPE, Some("image/svg+xml")),
                (header::CONTENT_ENCODING, encoding),
                (header::VARY, Some("accept-encoding")),
                (header::CACHE_CONTROL, Some("public, max-age=3600")),
                (header::CONTENT_LENGTH, Some(length.as_str())),
            ] {
                assert_eq!(
                    header_of(&response, name.clone()).as_deref(),
                    expected,
                    "{name}, {what}"
                );
            }
            assert_eq!(body_text(response).await, body, "{what}");
        }
    }

    // /pkg files the same way, cached for a year.
    let response = send(
        app,
        get("/pkg/folio.js", &[(header::ACCEPT_ENCODING, "br")]),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header_of(&response, header::CACHE_CONTROL).as_deref(),
        Some("public, max-age=31536000, immutable")
    );
    assert!(
        header_of(&response, header::CONTENT_TYPE)
            .is_some_and(|value| value.starts_with("text/javascript"))
    );
    assert_eq!(body_text(response).await, "brotli copy");
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn a_file_once_read_is_answered_from_memory(pool: PgPool) {
    let Site { root, app, .. } = &site(pool);
    let first = send(app, get("/pkg/folio.js", &[])).await;
    assert_eq!(body_text(first).await, SCRIPT);

    // Gone from the disk, it is still served: nothing is read per request.
    std::fs::remove_file(root.join("pkg/folio.js")).expect("remove");
    let again = send(app, get("/pkg/folio.js", &[])).await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(body_text(again).await, SCRIPT);
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn head_and_conditional_requests(pool: PgPool) {
    let Site { app, .. } = &site(pool);

    let head = Request::builder()
        .method(Method::HEAD)
        .uri("/favicon.svg")
        .body(Body::empty())
        .expect("request");
    let response = send(app, head).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header_of(&response, header::CONTENT_LENGTH),
        Some(SVG.len().to_string())
    );
    let last_modified = header_of(&response, header::LAST_MODIFIED).expect("Last-Modified");
    assert_eq!(body_text(response).await, "");

    // The browser's copy is current: 304, no body.
    let response = send(
        app,
        get(
            "/favicon.svg",
            &[(header::IF_MODIFIED_SINCE, last_modified.as_str())],
        ),
    )
    .await;
    assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(body_text(response).await, "");

    // An older copy, or a date that is not one, gets the file.
    for since in ["Thu, 01 Jan 2015 00:00:00 GMT", "yesterday"] {
        let response = send(
            app,
            get("/favicon.svg", &[(header::IF_MODIFIED_SINCE, since)]),
        )
        .await;
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "If-Modified-Since {since}"
        );
        assert_eq!(body_text(response).await, SVG);
    }
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn what_memory_does_not_answer_is_served_as_before(pool: PgPool) {
    let Site { root, app, .. } = &site(pool);

    // A range comes from the file.
    let response = send(app, get("/favicon.svg", &[(header::RANGE, "bytes=0-3")])).await;
    assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(body_text(response).await, &SVG[..4]);

    // So does an encoded name, and a file added after start.
    let response = send(app, get("/fav%69con.svg", &[])).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body_text(response).await, SVG);
    std::fs::write(root.join("later.txt"), "added later").expect("file");
    let response = send(app, get("/later.txt", &[])).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body_text(response).await, "added later");

    // Nothing outside the site folder, and an unknown address is the 404 page.
    std::fs::write(root.join("../secret.txt"), "secret").expect("file");
    for uri in ["/../secret.txt", "/%2e%2e/secret.txt", "/nothing-here.svg"] {
        let response = send(app, get(uri, &[])).await;
        assert_ne!(response.status(), StatusCode::OK, "{uri}");
        assert!(
            !body_text(response).await.contains("secret"),
            "{uri} served a file outside the site"
        );
    }

    // Only reads: a POST to a file is not answered with it.
    let post = Request::post("/favicon.svg")
        .header(header::ORIGIN, "http://127.0.0.1:3000")
        .body(Body::empty())
        .expect("request");
    let response = send(app, post).await;
    assert_ne!(response.status(), StatusCode::OK);
}
