//! The router, driven with `oneshot` against a fresh, migrated PostgreSQL database per test.

use crate::common::{
    assert_scripts_carry, body_text, config, csp_nonce, get, get_with_session_cookie, opening_tag,
};
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use folio_server::{AppState, router};
use sqlx::PgPool;
use std::net::SocketAddr;
use tower::ServiceExt;

fn app(pool: PgPool) -> axum::Router {
    router(AppState::new(config(), pool))
}

/// Two published projects (one featured), one draft, one scheduled.
async fn seed(pool: &PgPool) {
    sqlx::query(
        "insert into projects (slug, title, summary, body, year, tags, featured, sort_order, published_at) values
            ('tide-tables', 'Tide tables for sailors', 'Offline tide predictions.',
             '## Overview\n\nHarmonic constants, computed **offline**.\n\n<script>alert(1)</script>',
             2024, '{offline,data-viz}', true, 1, now()),
            ('quiet-ledger', 'Quiet ledger', 'Bookkeeping without the noise.', 'Reconciliation.', 2023,
             '{finance}', false, 2, now() - interval '1 day'),
            ('secret-draft', 'Unfinished draft', 'Not ready.', '', 2025, '{offline}', true, 0, null),
            ('next-week', 'Scheduled launch', 'Goes out next week.', '', 2025, '{offline}', true, 0,
             now() + interval '7 days')",
    )
    .execute(pool)
    .await
    .expect("seed projects");
}

/// The page's JSON-LD block, parsed.
fn json_ld(html: &str) -> serde_json::Value {
    let start = html
        .find("<script type=\"application/ld+json\"")
        .expect("a JSON-LD block");
    let body = &html[start..];
    let body = &body[body.find('>').expect("tag end") + 1..body.find("</script>").expect("close")];
    serde_json::from_str(body).expect("valid JSON-LD")
}

async fn page(pool: &PgPool, uri: &str) -> (StatusCode, String) {
    let response = app(pool.clone()).oneshot(get(uri)).await.expect("response");
    let status = response.status();
    (status, body_text(response).await)
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn the_projects_index_lists_published_projects_in_order(pool: PgPool) {
    seed(&pool).await;
    let (status, html) = page(&pool, "/projects").await;
    assert_eq!(status, StatusCode::OK);
    let first = html
        .find("Tide tables for sailors")
        .expect("first project shown");
    let second = html.find("Quiet ledger").expect("second project shown");
    assert!(first < second, "owner's order kept");
    assert!(
        !html.contains("Unfinished draft"),
        "drafts are not shown to visitors"
    );
    assert!(
        !html.contains("Scheduled launch"),
        "scheduled projects wait for their time"
    );
    assert_eq!(html.matches("data-testid=\"project-card\"").count(), 2);
    assert!(html.contains("2 projects"));
    // Cards sit right under the page's h1 here, so they are h2s: no level is skipped.
    assert!(
        html.contains("<h2><a href=\"/projects/tide-tables\">"),
        "{html}"
    );
    assert!(!html.contains("<h3>"), "{html}");
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn the_home_page_shows_featured_work_only(pool: PgPool) {
    seed(&pool).await;
    let (status, html) = page(&pool, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Tide tables for sailors"));
    assert!(!html.contains("Quiet ledger"), "not featured");
    assert!(!html.contains("Unfinished draft") && !html.contains("Scheduled launch"));
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn tags_and_search_filter_the_index(pool: PgPool) {
    seed(&pool).await;
    let (_, by_tag) = page(&pool, "/projects?tag=finance").await;
    assert!(by_tag.contains("Quiet ledger") && !by_tag.contains("Tide tables"));
    assert!(by_tag.contains("1 project matches"));
    // Full text, stemmed ("predictions" matches "prediction"), across summary and body.
    let (_, by_text) = page(&pool, "/projects?q=prediction").await;
    assert!(
        by_text.contains("Tide tables") && !by_text.contains("Quiet ledger"),
        "{by_text}"
    );
    let (_, by_body) = page(&pool, "/projects?q=reconciliation").await;
    assert!(by_body.contains("Quiet ledger") && !by_body.contains("Tide tables"));
    let (_, nothing) = page(&pool, "/projects?q=zeppelin&tag=offline").await;
    assert!(nothing.contains("No projects match."));
    // Hostile text is just text.
    let (status, hostile) = page(
        &pool,
        "/projects?q=%27%3B%20drop%20table%20projects%3B%20--%20%3Cscript%3E",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        !hostile.contains("<script>"),
        "the search box echoes escaped text"
    );
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn bad_page_numbers_are_a_clear_400_never_a_500(pool: PgPool) {
    seed(&pool).await;
    for uri in [
        "/projects?page=0",
        "/projects?page=-1",
        "/projects?page=abc",
        "/projects?page=99999999999999999999",
        "/projects?page=2",
        "/writing?page=0",
        "/writing?page=7",
    ] {
        let (status, html) = page(&pool, uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
        assert!(html.contains("page"), "{uri}: {html}");
    }
    let (status, _) = page(&pool, "/projects?page=1").await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = page(&pool, &format!("/projects?q={}", "x".repeat(101))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn a_case_study_renders_its_sanitized_markdown(pool: PgPool) {
    seed(&pool).await;
    let (status, html) = page(&pool, "/projects/tide-tables").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("<title>Tide tables for sailors</title>"),
        "{html}"
    );
    assert!(html.contains("id=\"overview\""), "headings get anchors");
    assert!(html.contains("<strong>offline</strong>"));
    let base = config().public_url;
    let canonical = format!("<link href=\"{base}/projects/tide-tables\" rel=\"canonical\">");
    assert!(html.contains(&canonical), "{html}");
    assert!(html.contains("<meta property=\"og:type\" content=\"article\""));
    assert!(html.contains("<meta property=\"og:title\" content=\"Tide tables for sailors\""));
    let data = json_ld(&html);
    assert_eq!(data["@type"], "CreativeWork");
    assert_eq!(data["name"], "Tide tables for sailors");
    assert_eq!(data["url"], format!("{base}/projects/tide-tables"));
    assert!(
        !html.contains("<script>alert"),
        "raw HTML in a body never runs"
    );
    for hidden in [
        "/projects/secret-draft",
        "/projects/next-week",
        "/projects/no-such-project",
    ] {
        let (status, html) = page(&pool, hidden).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{hidden}");
        assert!(html.contains("Page not found"));
    }
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn the_demo_site_has_every_page(pool: PgPool) {
    folio_server::seed::demo_content(&pool)
        .await
        .expect("demo content");
    let (_, home) = page(&pool, "/").await;
    assert!(home.contains("Iris Kaldemaar"));
    let person = json_ld(&home);
    assert_eq!(person["@type"], "Person");
    assert_eq!(person["name"], "Iris Kaldemaar");
    assert!(
        home.matches("data-testid=\"post-item\"").count() == 3,
        "three recent posts"
    );
    let (status, writing) = page(&pool, "/writing").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(writing.matches("data-testid=\"post-item\"").count(), 4);
    let slug: String =
        sqlx::query_scalar("select slug from posts order by published_at desc limit 1")
            .fetch_one(&pool)
            .await
            .expect("a post");
    let (status, post) = page(&pool, &format!("/writing/{slug}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(post.contains("data-testid=\"post\""));
    let base = config().public_url;
    let posting = json_ld(&post);
    assert_eq!(posting["@type"], "BlogPosting");
    assert_eq!(posting["url"], format!("{base}/writing/{slug}"));
    let (_, study) = page(&pool, "/projects/vellmar-tide-predictions").await;
    assert_eq!(
        json_ld(&study)["image"],
        format!("{base}/demo/vellmar-tide-predictions-1600.webp")
    );
    let image = format!(
        "<meta property=\"og:image\" content=\"{base}/demo/vellmar-tide-predictions-1600.webp\""
    );
    assert!(study.contains(&image), "{study}");
    // The cover is responsive: every width, and the size it is drawn at.
    assert!(
        study.contains(
            "srcset=\"/demo/vellmar-tide-predictions-480.webp 480w, \
             /demo/vellmar-tide-predictions-720.webp 720w, \
             /demo/vellmar-tide-predictions-1080.webp 1080w, \
             /demo/vellmar-tide-predictions-1600.webp 1600w\""
        ),
        "{study}"
    );
    assert!(study.contains("sizes=\"(min-width: 75rem) 72rem, calc(100vw - 2rem)\""));
    assert!(study.contains("width=\"1600\" height=\"1000\""));
    assert!(study.contains("<meta name=\"twitter:card\" content=\"summary_large_image\""));
    let (status, about) = page(&pool, "/about").await;
    assert_eq!(status, StatusCode::OK);
    assert!(about.contains("data-testid=\"timeline\"") && about.contains("Experience"));
    assert_eq!(json_ld(&about)["@type"], "Person");
    let (_, second_page) = page(&pool, "/projects?page=2").await;
    assert_eq!(
        second_page.matches("data-testid=\"project-card\"").count(),
        3,
        "12 projects, 9 a page"
    );
    assert!(second_page.contains("Page 2 of 2"));
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn the_owners_portrait_is_on_the_about_page_with_its_size(pool: PgPool) {
    folio_server::seed::demo_content(&pool).await.expect("demo");
    let (_, before) = page(&pool, "/about").await;
    assert!(
        !before.contains("class=\"avatar\""),
        "no portrait until one is set"
    );
    sqlx::query("update profile set avatar = '/media/me.webp', avatar_alt = 'Iris at her desk'")
        .execute(&pool)
        .await
        .expect("set the portrait");
    let (status, about) = page(&pool, "/about").await;
    assert_eq!(status, StatusCode::OK);
    let img = opening_tag(&about, "img", "class=\"avatar\"");
    for attribute in [
        "src=\"/media/me.webp\"",
        "alt=\"Iris at her desk\"",
        "width=\"240\"",
        "height=\"240\"",
    ] {
        assert!(img.contains(attribute), "{attribute} in {img}");
    }
    let base = config().public_url;
    assert_eq!(json_ld(&about)["image"], format!("{base}/media/me.webp"));
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn an_empty_site_says_so(pool: PgPool) {
    let (status, html) = page(&pool, "/projects").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("No projects published yet."));
    let (status, _) = page(&pool, "/").await;
    assert_eq!(status, StatusCode::OK, "no profile yet is not an error");
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn the_server_function_answers_with_json(pool: PgPool) {
    seed(&pool).await;
    let response = app(pool)
        .oneshot(get("/api/projects/featured"))
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::OK);
    let list: serde_json::Value = serde_json::from_str(&body_text(response).await).expect("json");
    let slugs: Vec<&str> = list
        .as_array()
        .expect("array")
        .iter()
        .map(|p| p["slug"].as_str().expect("slug"))
        .collect();
    assert_eq!(slugs, ["tide-tables"]);
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn unknown_paths_get_the_404_page(pool: PgPool) {
    let response = app(pool)
        .oneshot(get("/no/such/page"))
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let html = body_text(response).await;
    assert!(html.contains("Page not found"), "{html}");
    assert!(html.contains("data-testid=\"not-found\""));
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn a_ten_megabyte_body_is_refused_before_it_is_read(pool: PgPool) {
    let body = vec![b'x'; 10 * 1024 * 1024];
    let request = Request::post("/api/projects/featured")
        .header(header::ORIGIN, "http://127.0.0.1:3000")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::CONTENT_LENGTH, body.len())
        .body(Body::from(body))
        .expect("request");
    let response = app(pool).oneshot(request).await.expect("response");
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn cross_origin_posts_are_refused(pool: PgPool) {
    for (name, value) in [
        ("origin", "https://evil.example"),
        ("sec-fetch-site", "cross-site"),
    ] {
        let request = Request::post("/api/projects/featured")
            .header(name, value)
            .body(Body::empty())
            .expect("request");
        let response = app(pool.clone()).oneshot(request).await.expect("response");
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{name}: {value}");
    }
    // Without either header a browser is not vouching for the request: refused too.
    let bare = Request::post("/api/projects/featured")
        .body(Body::empty())
        .expect("request");
    let response = app(pool).oneshot(bare).await.expect("response");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn metrics_are_for_loopback_or_the_token_holder(pool: PgPool) {
    let from = |addr: &str| {
        let mut request = get("/metrics");
        let addr: SocketAddr = addr.parse().expect("address");
        request.extensions_mut().insert(ConnectInfo(addr));
        request
    };
    let outside = app(pool.clone())
        .oneshot(from("203.0.113.7:40000"))
        .await
        .expect("response");
    assert_eq!(outside.status(), StatusCode::FORBIDDEN);

    let app = app(pool);
    // One page view first, so the counters have something to say.
    app.clone().oneshot(get("/")).await.expect("response");
    let local = app
        .oneshot(from("127.0.0.1:40000"))
        .await
        .expect("response");
    assert_eq!(local.status(), StatusCode::OK);
    let text = body_text(local).await;
    assert!(
        text.contains("http_requests_total{method=\"GET\",route=\"/\",status=\"200\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("http_request_duration_seconds_bucket"),
        "{text}"
    );
    assert!(
        text.contains("db_pool_connections{state=\"idle\"}"),
        "{text}"
    );
    assert!(text.contains("folio_build_info"), "{text}");
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn pages_carry_a_strict_csp_whose_nonce_is_on_every_script(pool: PgPool) {
    let response = app(pool).oneshot(get("/")).await.expect("response");
    let headers = response.headers().clone();
    let csp = headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .expect("ascii");
    let nonce = csp_nonce(&headers);
    for directive in [
        "'strict-dynamic'",
        "'wasm-unsafe-eval'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "{directive} missing from {csp}");
    }
    assert!(!csp.contains("unsafe-inline"));
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert!(headers.contains_key("x-request-id"));
    assert!(
        !headers.contains_key(header::SET_COOKIE),
        "anonymous visitors get no cookie"
    );
    assert!(
        !headers.contains_key(header::STRICT_TRANSPORT_SECURITY),
        "no HSTS over plain HTTP"
    );

    let html = body_text(response).await;
    let scripts = assert_scripts_carry(&html, &nonce);
    assert!(scripts >= 2, "the theme script and the island loader");
    assert!(
        html.contains("<script type=\"application/ld+json\">"),
        "{html}"
    );
    // Only islands hydrate, so the page's own data is not sent a second time as a script.
    assert!(!html.contains("__RESOLVED_RESOURCES["), "{html}");
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn the_owners_pages_and_requests_get_their_own_browsing_context_group(pool: PgPool) {
    const COOP: &str = "cross-origin-opener-policy";
    let router = app(pool);
    for path in ["/", "/projects", "/no-such-page", "/healthz"] {
        let response = router.clone().oneshot(get(path)).await.expect("response");
        assert!(
            !response.headers().contains_key(COOP),
            "{path}: an anonymous visitor's page keeps the tab's process"
        );
    }
    for path in ["/sign-in", "/setup", "/owner", "/owner/inbox"] {
        let response = router.clone().oneshot(get(path)).await.expect("response");
        assert_eq!(response.headers()[COOP], "same-origin", "{path}");
    }
    let response = router
        .oneshot(get_with_session_cookie("/"))
        .await
        .expect("response");
    assert_eq!(response.headers()[COOP], "same-origin");
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn https_sites_send_hsts(pool: PgPool) {
    let path = crate::common::workspace_root().join("Leptos.toml");
    let text = std::fs::read_to_string(&path).expect("Leptos.toml");
    let config = folio_server::config::Config::from_parts(&path, &text, |name| {
        (name == "FOLIO_PUBLIC_URL").then(|| "https://folio.example".to_owned())
    })
    .expect("config");
    let response = router(AppState::new(config, pool))
        .oneshot(get("/healthz"))
        .await
        .expect("response");
    let hsts = response.headers()[header::STRICT_TRANSPORT_SECURITY]
        .to_str()
        .expect("ascii");
    assert!(hsts.starts_with("max-age=63072000"), "{hsts}");
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn each_response_gets_its_own_nonce_and_request_id(pool: PgPool) {
    let app = app(pool);
    let a = app.clone().oneshot(get("/")).await.expect("response");
    let b = app.oneshot(get("/")).await.expect("response");
    assert_ne!(
        a.headers()[header::CONTENT_SECURITY_POLICY],
        b.headers()[header::CONTENT_SECURITY_POLICY]
    );
    assert_ne!(a.headers()["x-request-id"], b.headers()["x-request-id"]);
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn a_proxy_request_id_is_echoed(pool: PgPool) {
    let request = Request::get("/healthz")
        .header("x-request-id", "from-the-proxy-42")
        .body(Body::empty())
        .expect("request");
    let response = app(pool).oneshot(request).await.expect("response");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["x-request-id"], "from-the-proxy-42");
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn html_is_compressed_for_clients_that_accept_it(pool: PgPool) {
    let request = Request::get("/")
        .header(header::ACCEPT_ENCODING, "br")
        .body(Body::empty())
        .expect("request");
    let response = app(pool).oneshot(request).await.expect("response");
    assert_eq!(response.headers()[header::CONTENT_ENCODING], "br");
}
