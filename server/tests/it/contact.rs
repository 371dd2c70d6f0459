//! The contact form's endpoint against a real database: both answers (redirect or page for a
//! form post, JSON for a script), validation, the honeypot, the per-address limit, and that a
//! refused post stores nothing.

use crate::common::{body_text, config};
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use folio_server::client::TrustedProxies;
use folio_server::config::Config;
use folio_server::{AppState, router};
use sqlx::PgPool;
use std::net::SocketAddr;
use tower::ServiceExt;

const GOOD: &str = "name=Ada+Lovelace&email=ada%40example.com&message=I+would+like+a+tide+table+for+my+harbour.&website=";

fn post(body: &str, from: &str, json: bool) -> Request<Body> {
    let mut request = Request::post("/contact")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "same-origin");
    if json {
        request = request.header(header::ACCEPT, "application/json");
    }
    let mut request = request.body(Body::from(body.to_owned())).expect("request");
    let peer: SocketAddr = from.parse().expect("address");
    request.extensions_mut().insert(ConnectInfo(peer));
    request
}

async fn send_with(
    config: Config,
    pool: &PgPool,
    request: Request<Body>,
) -> (StatusCode, axum::http::HeaderMap, String) {
    let response = router(AppState::new(config, pool.clone()))
        .oneshot(request)
        .await
        .expect("response");
    let status = response.status();
    let headers = response.headers().clone();
    (status, headers, body_text(response).await)
}

async fn send(
    pool: &PgPool,
    request: Request<Body>,
) -> (StatusCode, axum::http::HeaderMap, String) {
    send_with(config(), pool, request).await
}

async fn stored(pool: &PgPool) -> Vec<(String, String, String)> {
    sqlx::query_as("select name, email, message from contact_messages order by id")
        .fetch_all(pool)
        .await
        .expect("messages")
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn a_form_post_is_stored_then_redirected_to_the_thanks_page(pool: PgPool) {
    let (status, headers, _) = send(&pool, post(GOOD, "198.51.100.1:4000", false)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/contact/thanks");
    assert_eq!(
        stored(&pool).await,
        vec![(
            "Ada Lovelace".to_owned(),
            "ada@example.com".to_owned(),
            "I would like a tide table for my harbour.".to_owned()
        )]
    );
    let read: bool = sqlx::query_scalar("select read from contact_messages")
        .fetch_one(&pool)
        .await
        .expect("read flag");
    assert!(!read, "a new message is unread");

    let response = router(AppState::new(config(), pool.clone()))
        .oneshot(crate::common::get("/contact/thanks"))
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::OK);
    let html = body_text(response).await;
    assert!(
        html.contains("Thank you, your message is on its way"),
        "{html}"
    );
    assert!(html.contains(r#"<meta name="robots" content="noindex""#));
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn a_script_gets_json(pool: PgPool) {
    let (status, headers, body) = send(&pool, post(GOOD, "198.51.100.1:4000", true)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .expect("type")
            .starts_with("application/json")
    );
    assert_eq!(body, r#"{"ok":true}"#);
    assert_eq!(stored(&pool).await.len(), 1);

    let (status, _, body) = send(
        &pool,
        post("name=&email=nope&message=hi", "198.51.100.1:4000", true),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let reply: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(reply["ok"], false);
    for field in ["name", "email", "message"] {
        assert!(reply["errors"][field].is_string(), "{field}: {body}");
    }
    assert_eq!(
        stored(&pool).await.len(),
        1,
        "nothing stored from a refused post"
    );
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn a_refused_form_post_shows_the_page_again_with_the_input_and_the_errors(pool: PgPool) {
    let body = "name=Ada+%3Cb%3E&email=ada%40example&message=Hello+%3C%2Ftextarea%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E+there";
    let (status, headers, html) = send(&pool, post(body, "198.51.100.1:4000", false)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .expect("type")
            .starts_with("text/html")
    );
    // What the visitor typed is back in the fields, escaped.
    assert!(html.contains(r#"value="Ada &lt;b&gt;""#), "{html}");
    assert!(
        html.contains("Hello &lt;/textarea&gt;&lt;script&gt;alert(1)&lt;/script&gt; there"),
        "{html}"
    );
    // The island's props repeat the draft inside a quoted attribute, where `<` is inert text;
    // everywhere else it must be escaped.
    let outside_props: String = html
        .split("data-props=\"")
        .enumerate()
        .map(|(i, part)| {
            if i == 0 {
                part
            } else {
                part.split_once('"').map_or("", |(_, rest)| rest)
            }
        })
        .collect();
    assert!(
        !outside_props.contains("<script>alert(1)"),
        "{outside_props}"
    );
    // The field with the problem says so, and is marked for assistive technology.
    assert!(
        html.contains("Please enter an email address like name@example.com."),
        "{html}"
    );
    assert!(html.contains(r#"aria-invalid="true""#));
    assert!(html.contains("Please fix the field marked below."));
    // The page is still a whole page with its CSP nonce on every script.
    assert!(html.contains("<h1"));
    let nonce = crate::common::csp_nonce(&headers);
    assert!(html.contains(&format!("nonce=\"{nonce}\"")));
    assert!(stored(&pool).await.is_empty());
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn the_honeypot_looks_like_success_and_stores_nothing(pool: PgPool) {
    let body = GOOD.replace("website=", "website=https%3A%2F%2Fspam.example");
    let (status, headers, _) = send(&pool, post(&body, "198.51.100.1:4000", false)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/contact/thanks");
    let (status, _, reply) = send(&pool, post(&body, "198.51.100.1:4000", true)).await;
    assert_eq!((status, reply.as_str()), (StatusCode::OK, r#"{"ok":true}"#));
    assert!(stored(&pool).await.is_empty());
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn each_address_may_send_a_few_messages_an_hour(pool: PgPool) {
    let mut config = config();
    config.contact_limit_per_hour = 3;
    for _ in 0..3 {
        let (status, _, _) =
            send_with(config.clone(), &pool, post(GOOD, "198.51.100.1:4000", true)).await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, headers, body) =
        send_with(config.clone(), &pool, post(GOOD, "198.51.100.1:5000", true)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = headers[header::RETRY_AFTER]
        .to_str()
        .expect("retry")
        .parse()
        .expect("seconds");
    assert!((1..=3600).contains(&retry), "{retry}");
    assert!(body.contains("try again in"), "{body}");

    // Without JavaScript: the page again, with the reason, and the draft kept.
    let (status, _, html) = send_with(
        config.clone(),
        &pool,
        post(GOOD, "198.51.100.1:4000", false),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        html.contains("try again in") && html.contains("Ada Lovelace"),
        "{html}"
    );
    assert_eq!(stored(&pool).await.len(), 3);

    // A forged X-Forwarded-For from a client that is not a trusted proxy changes nothing.
    let mut spoofed = post(GOOD, "198.51.100.1:4000", true);
    spoofed
        .headers_mut()
        .insert("x-forwarded-for", "203.0.113.77".parse().expect("header"));
    let (status, _, _) = send_with(config.clone(), &pool, spoofed).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);

    // Someone else is not affected.
    let (status, _, _) =
        send_with(config.clone(), &pool, post(GOOD, "192.0.2.50:4000", true)).await;
    assert_eq!(status, StatusCode::OK);

    // Behind a trusted proxy, clients are told apart by the address it forwards.
    config.trusted_proxies = TrustedProxies::parse("127.0.0.1").expect("proxies");
    let forwarded = |client: &str| {
        let mut request = post(GOOD, "127.0.0.1:9000", true);
        request
            .headers_mut()
            .insert("x-forwarded-for", client.parse().expect("header"));
        request
    };
    let (status, _, _) = send_with(config.clone(), &pool, forwarded("198.51.100.1")).await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "the limited client, through the proxy"
    );
    let (status, _, _) = send_with(config.clone(), &pool, forwarded("203.0.113.5")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(stored(&pool).await.len(), 5);
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn malformed_posts_get_a_clear_error_and_store_nothing(pool: PgPool) {
    // Not a form at all.
    let mut request = post(GOOD, "198.51.100.1:4000", true);
    request.headers_mut().insert(
        header::CONTENT_TYPE,
        "application/json".parse().expect("type"),
    );
    let (status, _, body) = send(&pool, request).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(body.contains("x-www-form-urlencoded"));

    // Broken percent-encoding, invalid UTF-8, missing fields, control characters, a huge field.
    let huge = format!("name=A&email=a%40b.co&message={}", "x".repeat(6000));
    for body in [
        "name=%ZZ&email=%&message=%E2%82",
        "\u{0}\u{1}garbage=&&&==",
        "",
        "name=A%00B&email=a%40b.co&message=hello+world+%00",
        huge.as_str(),
    ] {
        let (status, _, reply) = send(&pool, post(body, "198.51.100.1:4000", true)).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body:?}: {reply}"
        );
        assert!(reply.contains(r#""ok":false"#));
    }

    // From another site: refused before the handler runs.
    let mut request = post(GOOD, "198.51.100.1:4000", false);
    request
        .headers_mut()
        .insert("sec-fetch-site", "cross-site".parse().expect("header"));
    request.headers_mut().insert(
        header::ORIGIN,
        "https://evil.example".parse().expect("header"),
    );
    let (status, _, _) = send(&pool, request).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    assert!(stored(&pool).await.is_empty());
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn the_contact_page_has_the_form(pool: PgPool) {
    let response = router(AppState::new(config(), pool.clone()))
        .oneshot(crate::common::get("/contact"))
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::OK);
    let html = body_text(response).await;
    let form = crate::common::opening_tag(&html, "form", "action=");
    assert!(
        form.contains(r#"method="post""#) && form.contains(r#"action="/contact""#),
        "{form}"
    );
    for id in [
        "contact-name",
        "contact-email",
        "contact-message",
        "contact-website",
    ] {
        assert!(html.contains(&format!(r#"<label for="{id}""#)), "{id}");
    }
    assert!(!html.contains("aria-invalid"), "a fresh form has no errors");
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn old_counters_are_cleared_and_current_ones_kept(pool: PgPool) {
    for _ in 0..2 {
        let (status, _, _) = send(&pool, post(GOOD, "198.51.100.1:4000", true)).await;
        assert_eq!(status, StatusCode::OK);
    }
    sqlx::query(
        "insert into rate_limits (bucket, key, window_start, hits)
         values ('contact', '192.0.2.9', now() - interval '2 days', 5)",
    )
    .execute(&pool)
    .await
    .expect("an old window");
    let deleted = folio_server::rate_limit::delete_old(&pool)
        .await
        .expect("cleanup");
    assert_eq!(deleted, 1);
    // Summed: the two posts may straddle the start of an hour.
    let left: Vec<(String, i32)> =
        sqlx::query_as("select key, sum(hits)::int from rate_limits group by key")
            .fetch_all(&pool)
            .await
            .expect("counters");
    assert_eq!(left, vec![("198.51.100.1".to_owned(), 2)]);
}
