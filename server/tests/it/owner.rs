//! The owner's account against a real database and the real router: the setup link, sign-in
//! and its limits, session rotation, timeouts and endings, the same-origin and owner checks on
//! every mutating route and server function, the inbox, and the command-line reset.

use crate::common::{Reply, config, form, request, send};
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode, header};
use folio_server::auth::limits::{self, Keys, Verdict};
use folio_server::auth::{Access, MUTATING_ROUTES, reset_password, setup};
use folio_server::config::Config;
use folio_server::{AppState, SESSION_COOKIE, router};
use sqlx::PgPool;
use std::net::SocketAddr;
use std::time::Duration;
use time::OffsetDateTime;

const EMAIL: &str = "owner@example.com";
const PASSWORD: &str = "correct horse battery staple";

/// The router with the session store's table in place.
async fn app_with(pool: &PgPool, config: Config) -> Router {
    folio_server::db::migrate(pool).await.expect("migrate");
    router(AppState::new(config, pool.clone()))
}

async fn app(pool: &PgPool) -> Router {
    app_with(pool, config()).await
}

async fn with_owner(pool: &PgPool) -> Router {
    let app = app(pool).await;
    reset_password(pool, Some(EMAIL), PASSWORD)
        .await
        .expect("owner");
    app
}

async fn sign_in_from(app: &Router, password: &str, cookie: Option<&str>, from: &str) -> Reply {
    let body = form(&[("email", EMAIL), ("password", password), ("next", "/owner")]);
    send(app, request(Method::POST, "/sign-in", &body, cookie, from)).await
}

async fn sign_in(app: &Router) -> String {
    let reply = sign_in_from(app, PASSWORD, None, "192.0.2.1:1000").await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    assert_eq!(reply.location(), "/owner");
    reply.cookie().expect("a session cookie")
}

/// Whether `cookie` opens the owner's account page.
async fn is_signed_in(app: &Router, cookie: &str) -> bool {
    let reply = send(
        app,
        request(Method::GET, "/owner", "", Some(cookie), "192.0.2.1:1000"),
    )
    .await;
    match reply.status {
        StatusCode::OK => {
            assert!(
                reply.body.contains(EMAIL),
                "the account page names the owner"
            );
            true
        }
        StatusCode::FOUND | StatusCode::SEE_OTHER | StatusCode::TEMPORARY_REDIRECT => {
            assert_eq!(reply.location(), "/sign-in?next=/owner");
            false
        }
        other => panic!("unexpected {other}: {}", reply.body),
    }
}

async fn events(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar("select event from security_log order by id")
        .fetch_all(pool)
        .await
        .expect("security log")
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn a_setup_link_creates_the_owner_once(pool: PgPool) {
    let app = app(&pool).await;
    let token = setup::create(&pool, OffsetDateTime::now_utc())
        .await
        .expect("token");
    let page = send(
        &app,
        request(
            Method::GET,
            &format!("/setup?token={token}"),
            "",
            None,
            "192.0.2.9:1",
        ),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("data-testid=\"setup-form\""),
        "{}",
        page.body
    );
    assert_eq!(page.headers[header::CACHE_CONTROL], "private, no-store");
    assert!(page.cookie().is_none(), "no cookie before signing in");

    // Refused input changes nothing and never echoes a password.
    let short = form(&[
        ("token", &token),
        ("email", EMAIL),
        ("password", "short"),
        ("confirm", "short"),
    ]);
    let refused = send(
        &app,
        request(Method::POST, "/setup", &short, None, "192.0.2.9:1"),
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.body.contains("at least 12 characters"),
        "{}",
        refused.body
    );
    let differ = form(&[
        ("token", &token),
        ("email", EMAIL),
        ("password", PASSWORD),
        ("confirm", "something else entirely"),
    ]);
    let refused = send(
        &app,
        request(Method::POST, "/setup", &differ, None, "192.0.2.9:1"),
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        !refused.body.contains(PASSWORD),
        "a password is never sent back"
    );
    let owners: i64 = sqlx::query_scalar("select count(*) from owner")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(owners, 0);

    let good = form(&[
        ("token", &token),
        ("email", EMAIL),
        ("password", PASSWORD),
        ("confirm", PASSWORD),
    ]);
    let created = send(
        &app,
        request(Method::POST, "/setup", &good, None, "192.0.2.9:1"),
    )
    .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    assert_eq!(created.location(), "/owner?done=setup");
    let set_cookie = created.headers[header::SET_COOKIE]
        .to_str()
        .expect("ascii")
        .to_owned();
    for attribute in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(
            set_cookie.contains(attribute),
            "{set_cookie} lacks {attribute}"
        );
    }
    assert!(set_cookie.starts_with("__Host-"), "{set_cookie}");
    assert!(!set_cookie.contains("Domain"), "{set_cookie}");
    let cookie = created.cookie().expect("signed in at once");
    assert!(is_signed_in(&app, &cookie).await);
    let hash: String = sqlx::query_scalar("select password_hash from owner")
        .fetch_one(&pool)
        .await
        .expect("hash");
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );

    // The link is spent.
    let again = send(
        &app,
        request(Method::POST, "/setup", &good, None, "192.0.2.9:1"),
    )
    .await;
    assert_eq!(again.status, StatusCode::GONE);
    let page = send(
        &app,
        request(
            Method::GET,
            &format!("/setup?token={token}"),
            "",
            None,
            "192.0.2.9:1",
        ),
    )
    .await;
    assert!(page.body.contains("already has an owner"), "{}", page.body);
    assert_eq!(events(&pool).await, ["owner_created"]);
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn expired_and_unknown_setup_links_are_refused(pool: PgPool) {
    let app = app(&pool).await;
    let old = setup::create(
        &pool,
        OffsetDateTime::now_utc() - Duration::from_secs(2 * 3600),
    )
    .await
    .expect("token");
    for token in [old.as_str(), "made-up"] {
        let page = send(
            &app,
            request(
                Method::GET,
                &format!("/setup?token={token}"),
                "",
                None,
                "192.0.2.9:1",
            ),
        )
        .await;
        assert!(
            page.body.contains("data-testid=\"setup-invalid\""),
            "{}",
            page.body
        );
        let post = form(&[
            ("token", token),
            ("email", EMAIL),
            ("password", PASSWORD),
            ("confirm", PASSWORD),
        ]);
        let refused = send(
            &app,
            request(Method::POST, "/setup", &post, None, "192.0.2.9:1"),
        )
        .await;
        assert_eq!(refused.status, StatusCode::GONE);
    }
    let owners: i64 = sqlx::query_scalar("select count(*) from owner")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(owners, 0);
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn visitors_get_no_cookie_and_owner_pages_send_them_to_sign_in(pool: PgPool) {
    let app = with_owner(&pool).await;
    for path in ["/", "/projects", "/contact", "/sign-in"] {
        let reply = send(&app, request(Method::GET, path, "", None, "192.0.2.9:1")).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}");
        assert!(
            reply.headers.get(header::SET_COOKIE).is_none(),
            "{path} set a cookie"
        );
    }
    for path in ["/owner", "/owner/inbox", "/owner/security"] {
        let reply = send(&app, request(Method::GET, path, "", None, "192.0.2.9:1")).await;
        assert!(reply.status.is_redirection(), "{path}: {}", reply.status);
        assert_eq!(reply.location(), format!("/sign-in?next={path}"));
        assert!(reply.headers.get(header::SET_COOKIE).is_none());
    }
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn signing_in_changes_the_session_id(pool: PgPool) {
    let app = with_owner(&pool).await;
    let first = sign_in(&app).await;
    assert!(is_signed_in(&app, &first).await);
    // Signing in again from that session gets a new id, and the old one is gone.
    let reply = sign_in_from(&app, PASSWORD, Some(&first), "192.0.2.1:1000").await;
    let second = reply.cookie().expect("a new cookie");
    assert_ne!(first, second);
    assert!(
        !is_signed_in(&app, &first).await,
        "the old id no longer works"
    );
    assert!(is_signed_in(&app, &second).await);
    // A planted id (session fixation) is never adopted.
    let planted = format!("{SESSION_COOKIE}=AAAAAAAAAAAAAAAAAAAAAA");
    let reply = sign_in_from(&app, PASSWORD, Some(&planted), "192.0.2.1:1000").await;
    assert_ne!(reply.cookie().expect("cookie"), planted);
    assert_eq!(
        events(&pool).await,
        ["owner_created", "signed_in", "signed_in", "signed_in"]
    );
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn an_unknown_email_and_a_wrong_password_get_the_same_answer(pool: PgPool) {
    let app = with_owner(&pool).await;
    let wrong = sign_in_from(&app, "not the password at all", None, "192.0.2.2:1").await;
    let body = form(&[
        ("email", "nobody@example.com"),
        ("password", PASSWORD),
        ("next", "/owner"),
    ]);
    let unknown = send(
        &app,
        request(Method::POST, "/sign-in", &body, None, "192.0.2.3:1"),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    let summary = |reply: &Reply| {
        reply
            .body
            .split("class=\"form-summary\">")
            .nth(1)
            .and_then(|rest| rest.split('<').next())
            .expect("a summary")
            .to_owned()
    };
    assert_eq!(summary(&wrong), summary(&unknown));
    assert!(wrong.cookie().is_none() && unknown.cookie().is_none());
    assert_eq!(
        events(&pool).await,
        ["owner_created", "sign_in_failed", "sign_in_failed"]
    );
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn the_fifth_failure_pauses_sign_in_with_retry_after(pool: PgPool) {
    let app = with_owner(&pool).await;
    for attempt in 1..=4 {
        let reply = sign_in_from(&app, "wrong password number x", None, "192.0.2.4:1").await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "attempt {attempt}");
    }
    let fifth = sign_in_from(&app, "wrong password number x", None, "192.0.2.4:1").await;
    assert_eq!(fifth.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(fifth.headers[header::RETRY_AFTER], "60");
    assert!(
        fifth.body.contains("try again in a minute"),
        "{}",
        fifth.body
    );
    // Now even the right password waits, from any address: the account is paused.
    for from in ["192.0.2.4:1", "203.0.113.7:1"] {
        let reply = sign_in_from(&app, PASSWORD, None, from).await;
        assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS, "{from}");
        assert!(reply.cookie().is_none());
        let wait: u64 = reply.headers[header::RETRY_AFTER]
            .to_str()
            .expect("ascii")
            .parse()
            .expect("seconds");
        assert!((1..=60).contains(&wait), "{wait}");
    }
    let log = events(&pool).await;
    assert_eq!(log.iter().filter(|e| *e == "sign_in_failed").count(), 5);
    assert_eq!(log.iter().filter(|e| *e == "locked_out").count(), 1);
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn a_spoofed_forwarded_for_does_not_escape_the_address_limit(pool: PgPool) {
    let app = with_owner(&pool).await;
    // Five different accounts from one address, each claiming another client: no trusted
    // proxy is configured, so the header is ignored and the address is paused.
    for n in 1..=5 {
        let email = format!("guess{n}@example.com");
        let body = form(&[("email", &email), ("password", "wrong password here")]);
        let mut request = request(Method::POST, "/sign-in", &body, None, "192.0.2.5:1");
        request.headers_mut().insert(
            "x-forwarded-for",
            format!("198.51.100.{n}").parse().expect("header"),
        );
        let reply = send(&app, request).await;
        let expected = if n < 5 {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::TOO_MANY_REQUESTS
        };
        assert_eq!(reply.status, expected, "attempt {n}");
    }
    let reply = sign_in_from(&app, PASSWORD, None, "192.0.2.5:1").await;
    assert_eq!(
        reply.status,
        StatusCode::TOO_MANY_REQUESTS,
        "the address is paused"
    );
    // The owner, elsewhere, is not.
    let reply = sign_in_from(&app, PASSWORD, None, "203.0.113.9:1").await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn locks_grow_and_end_on_a_controlled_clock(pool: PgPool) {
    let keys = Keys::new(EMAIL, "192.0.2.6");
    let start = OffsetDateTime::now_utc();
    let at = |secs: u64| start + Duration::from_secs(secs);

    async fn step(
        pool: &PgPool,
        keys: &Keys,
        now: OffsetDateTime,
        fail: bool,
    ) -> (Verdict, Option<Duration>) {
        let mut tx = pool.begin().await.expect("tx");
        let verdict = limits::check(&mut tx, keys, now).await.expect("check");
        let locked = if fail && verdict == Verdict::Allowed {
            limits::fail(&mut tx, keys, now).await.expect("fail")
        } else {
            None
        };
        tx.commit().await.expect("commit");
        (verdict, locked)
    }

    for n in 0..4 {
        assert_eq!(
            step(&pool, &keys, at(n), true).await,
            (Verdict::Allowed, None)
        );
    }
    assert_eq!(
        step(&pool, &keys, at(4), true).await,
        (Verdict::Allowed, Some(Duration::from_secs(60)))
    );
    assert_eq!(
        step(&pool, &keys, at(5), false).await.0,
        Verdict::Locked(Duration::from_secs(59))
    );
    assert_eq!(
        step(&pool, &keys, at(63), false).await.0,
        Verdict::Locked(Duration::from_secs(1))
    );
    // Once the minute is over, one more failure pauses twice as long.
    assert_eq!(
        step(&pool, &keys, at(64), true).await,
        (Verdict::Allowed, Some(Duration::from_secs(120)))
    );
    assert_eq!(
        step(&pool, &keys, at(65), false).await.0,
        Verdict::Locked(Duration::from_secs(119))
    );
    // A day without failures forgets them: the next failure counts as the first.
    let later = at(64 + 24 * 3600 + 1);
    assert_eq!(
        step(&pool, &keys, later, true).await,
        (Verdict::Allowed, None)
    );
    assert_eq!(
        limits::forget_old(&pool, later + Duration::from_secs(25 * 3600))
            .await
            .expect("forget"),
        2
    );

    // A success clears both keys.
    let mut tx = pool.begin().await.expect("tx");
    limits::fail(&mut tx, &keys, later).await.expect("fail");
    limits::clear(&mut tx, &keys).await.expect("clear");
    tx.commit().await.expect("commit");
    let left: i64 = sqlx::query_scalar("select count(*) from sign_in_failures")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(left, 0);
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn a_second_attempt_racing_the_first_is_refused_not_verified(pool: PgPool) {
    let keys = Keys::new(EMAIL, "192.0.2.7");
    let now = OffsetDateTime::now_utc();
    let mut first = pool.begin().await.expect("tx");
    assert_eq!(
        limits::check(&mut first, &keys, now).await.expect("check"),
        Verdict::Allowed
    );
    let mut second = pool.begin().await.expect("tx");
    assert_eq!(
        limits::check(&mut second, &keys, now).await.expect("check"),
        Verdict::Busy
    );
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn sessions_end_after_the_idle_and_the_absolute_timeout(pool: PgPool) {
    let mut idle = config();
    idle.session_idle = Duration::from_secs(1);
    let app = app_with(&pool, idle).await;
    reset_password(&pool, Some(EMAIL), PASSWORD)
        .await
        .expect("owner");
    let cookie = sign_in(&app).await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert!(!is_signed_in(&app, &cookie).await, "idle too long");

    // The session begins during the sign-in, which a loaded machine may make slow: the limit
    // leaves room for that, and the wait past it counts from the sign-in's end.
    let mut absolute = config();
    absolute.session_absolute = Duration::from_secs(5);
    let app = app_with(&pool, absolute).await;
    let cookie = sign_in(&app).await;
    let signed_in = tokio::time::Instant::now();
    assert!(
        is_signed_in(&app, &cookie).await,
        "active, within the absolute limit"
    );
    tokio::time::sleep_until(signed_in + Duration::from_millis(5100)).await;
    assert!(
        !is_signed_in(&app, &cookie).await,
        "past the absolute limit"
    );
    let expired: Vec<String> = sqlx::query_scalar(
        "select detail from security_log where event = 'session_expired' order by id",
    )
    .fetch_all(&pool)
    .await
    .expect("log");
    assert_eq!(expired, ["idle timeout", "absolute timeout"]);
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn signing_out_ends_the_session_on_the_server(pool: PgPool) {
    let app = with_owner(&pool).await;
    let cookie = sign_in(&app).await;
    let reply = send(
        &app,
        request(Method::POST, "/sign-out", "", Some(&cookie), "192.0.2.1:1"),
    )
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(reply.headers["clear-site-data"], "\"cookies\", \"storage\"");
    let sessions: i64 = sqlx::query_scalar("select count(*) from tower_sessions.session")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(sessions, 0, "the session record is deleted");
    assert!(!is_signed_in(&app, &cookie).await);
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn a_password_change_ends_every_other_session(pool: PgPool) {
    let app = with_owner(&pool).await;
    let laptop = sign_in(&app).await;
    let phone = sign_in(&app).await;
    const NEW: &str = "a brand new passphrase for the site";

    let wrong = form(&[
        ("current", "not my password at all"),
        ("password", NEW),
        ("confirm", NEW),
    ]);
    let reply = send(
        &app,
        request(
            Method::POST,
            "/owner/password",
            &wrong,
            Some(&phone),
            "192.0.2.1:1",
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        reply.body.contains("not your current password"),
        "{}",
        reply.body
    );
    assert!(
        is_signed_in(&app, &laptop).await,
        "a refused change ends nothing"
    );

    let good = form(&[("current", PASSWORD), ("password", NEW), ("confirm", NEW)]);
    let reply = send(
        &app,
        request(
            Method::POST,
            "/owner/password",
            &good,
            Some(&phone),
            "192.0.2.1:1",
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    assert_eq!(reply.location(), "/owner?done=password");
    let phone_now = reply
        .cookie()
        .expect("this session carries on under a new id");
    assert!(
        !is_signed_in(&app, &laptop).await,
        "the other session is over"
    );
    assert!(!is_signed_in(&app, &phone).await, "the old id is over");
    assert!(is_signed_in(&app, &phone_now).await);
    assert_eq!(
        sign_in_from(&app, PASSWORD, None, "192.0.2.1:1")
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let body = form(&[("email", EMAIL), ("password", NEW)]);
    assert_eq!(
        send(
            &app,
            request(Method::POST, "/sign-in", &body, None, "192.0.2.1:1")
        )
        .await
        .status,
        StatusCode::SEE_OTHER
    );
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn signing_out_everywhere_keeps_only_this_session(pool: PgPool) {
    let app = with_owner(&pool).await;
    let laptop = sign_in(&app).await;
    let phone = sign_in(&app).await;
    let reply = send(
        &app,
        request(
            Method::POST,
            "/owner/sign-out-everywhere",
            "",
            Some(&phone),
            "192.0.2.1:1",
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    let phone_now = reply.cookie().expect("renewed");
    assert!(!is_signed_in(&app, &laptop).await);
    assert!(is_signed_in(&app, &phone_now).await);
    let sessions: i64 = sqlx::query_scalar("select count(*) from tower_sessions.session")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(sessions, 1);
    assert!(
        events(&pool)
            .await
            .contains(&"signed_out_everywhere".to_owned())
    );
}

/// Every server function, from Leptos' own registry.
fn server_functions() -> Vec<(String, Method)> {
    leptos::server_fn::axum::server_fn_paths()
        .map(|(path, method)| (path.to_owned(), method))
        .collect()
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn every_mutating_route_refuses_other_origins(pool: PgPool) {
    let app = with_owner(&pool).await;
    let cookie = sign_in(&app).await;
    let mut targets: Vec<(Method, String)> = MUTATING_ROUTES
        .iter()
        .map(|(method, path, _)| {
            (
                Method::from_bytes(method.as_bytes()).expect("method"),
                path.replace("{id}", "1").replace("{kind}", "project"),
            )
        })
        .collect();
    // Server functions that are not plain reads are mutations too.
    targets.extend(
        server_functions()
            .into_iter()
            .filter(|(_, m)| *m != Method::GET)
            .map(|(p, m)| (m, p)),
    );
    let before: i64 = sqlx::query_scalar("select count(*) from security_log")
        .fetch_one(&pool)
        .await
        .expect("count");
    for (method, path) in &targets {
        for (name, value) in [
            ("origin", "https://evil.example"),
            ("sec-fetch-site", "cross-site"),
            ("sec-fetch-site", "same-site"),
        ] {
            let body = form(&[
                ("email", EMAIL),
                ("password", PASSWORD),
                ("action", "delete"),
            ]);
            let mut request = Request::builder()
                .method(method.clone())
                .uri(path.as_str())
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::COOKIE, &cookie)
                .header(name, value)
                .body(Body::from(body))
                .expect("request");
            request.extensions_mut().insert(ConnectInfo(
                "192.0.2.1:1".parse::<SocketAddr>().expect("addr"),
            ));
            let reply = send(&app, request).await;
            assert_eq!(
                reply.status,
                StatusCode::FORBIDDEN,
                "{method} {path} with {name}: {value}"
            );
        }
        // No Origin and no Sec-Fetch-Site at all: refused too.
        let mut bare = Request::builder()
            .method(method.clone())
            .uri(path.as_str())
            .body(Body::empty())
            .expect("request");
        bare.extensions_mut().insert(ConnectInfo(
            "192.0.2.1:1".parse::<SocketAddr>().expect("addr"),
        ));
        assert_eq!(
            send(&app, bare).await.status,
            StatusCode::FORBIDDEN,
            "{method} {path} bare"
        );
    }
    let after: i64 = sqlx::query_scalar("select count(*) from security_log")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(before, after, "nothing happened");
    assert!(
        is_signed_in(&app, &cookie).await,
        "a forged sign-out did nothing"
    );
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn owner_routes_and_server_functions_answer_401_without_a_session(pool: PgPool) {
    let app = with_owner(&pool).await;
    sqlx::query("insert into contact_messages (name, email, message) values ('Ada', 'ada@example.com', 'Hello there, a message.')")
        .execute(&pool)
        .await
        .expect("message");
    let owner_routes: Vec<_> = MUTATING_ROUTES
        .iter()
        .filter(|(_, _, access)| *access == Access::Owner)
        .collect();
    assert!(owner_routes.len() >= 3);
    for (method, path, _) in owner_routes {
        let path = path.replace("{id}", "1").replace("{kind}", "project");
        let method = Method::from_bytes(method.as_bytes()).expect("method");
        let body = form(&[
            ("action", "delete"),
            ("current", PASSWORD),
            ("password", "x".repeat(20).as_str()),
            ("confirm", "x".repeat(20).as_str()),
        ]);
        let reply = send(
            &app,
            request(method.clone(), &path, &body, None, "192.0.2.8:1"),
        )
        .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{method} {path}");
    }
    let functions = server_functions();
    let owner_functions: Vec<_> = functions
        .iter()
        .filter(|(path, _)| path.starts_with("/api/owner/"))
        .collect();
    assert!(owner_functions.len() >= 3, "{functions:?}");
    for (path, method) in owner_functions {
        let reply = send(&app, request(method.clone(), path, "", None, "192.0.2.8:1")).await;
        assert_eq!(
            reply.status,
            StatusCode::UNAUTHORIZED,
            "{method} {path}: {}",
            reply.body
        );
    }
    // Every other server function only reads (a GET), so none of them can change data.
    for (path, method) in functions
        .iter()
        .filter(|(path, _)| !path.starts_with("/api/owner/"))
    {
        assert_eq!(*method, Method::GET, "{path} is public and must only read");
    }
    let messages: i64 = sqlx::query_scalar("select count(*) from contact_messages")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(messages, 1, "nothing was deleted");
    let unchanged: String = sqlx::query_scalar("select password_hash from owner")
        .fetch_one(&pool)
        .await
        .expect("hash");
    assert!(folio_server::auth::password::verify_blocking(
        PASSWORD, &unchanged
    ));
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn the_owner_reads_marks_and_deletes_messages(pool: PgPool) {
    let app = with_owner(&pool).await;
    let cookie = sign_in(&app).await;
    let id: i64 = sqlx::query_scalar("insert into contact_messages (name, email, message) values ('Ada', 'ada@example.com', 'A <b>bold</b> hello.') returning id")
        .fetch_one(&pool)
        .await
        .expect("message");
    let inbox = send(
        &app,
        request(
            Method::GET,
            "/owner/inbox",
            "",
            Some(&cookie),
            "192.0.2.1:1",
        ),
    )
    .await;
    assert_eq!(inbox.status, StatusCode::OK);
    assert_eq!(inbox.headers[header::CACHE_CONTROL], "private, no-store");
    assert!(
        inbox.body.contains("A &lt;b&gt;bold&lt;/b&gt; hello."),
        "message text is escaped"
    );
    assert!(inbox.body.contains("1 unread."));

    let read = send(
        &app,
        request(
            Method::POST,
            &format!("/owner/inbox/{id}"),
            "action=read&back=%2Fowner%2Finbox",
            Some(&cookie),
            "192.0.2.1:1",
        ),
    )
    .await;
    assert_eq!(read.status, StatusCode::SEE_OTHER);
    assert_eq!(read.location(), "/owner/inbox");
    let is_read: bool = sqlx::query_scalar("select read from contact_messages")
        .fetch_one(&pool)
        .await
        .expect("read");
    assert!(is_read);
    let bad = send(
        &app,
        request(
            Method::POST,
            &format!("/owner/inbox/{id}"),
            "action=explode",
            Some(&cookie),
            "192.0.2.1:1",
        ),
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let away = send(
        &app,
        request(
            Method::POST,
            &format!("/owner/inbox/{id}"),
            "action=unread&back=https%3A%2F%2Fevil.example",
            Some(&cookie),
            "192.0.2.1:1",
        ),
    )
    .await;
    assert_eq!(
        away.location(),
        "/owner/inbox",
        "never redirected off the inbox"
    );
    let gone = send(
        &app,
        request(
            Method::POST,
            &format!("/owner/inbox/{id}"),
            "action=delete",
            Some(&cookie),
            "192.0.2.1:1",
        ),
    )
    .await;
    assert_eq!(gone.status, StatusCode::SEE_OTHER);
    let again = send(
        &app,
        request(
            Method::POST,
            &format!("/owner/inbox/{id}"),
            "action=delete",
            Some(&cookie),
            "192.0.2.1:1",
        ),
    )
    .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn the_command_line_reset_ends_sessions_and_lifts_the_lock(pool: PgPool) {
    let app = with_owner(&pool).await;
    let cookie = sign_in(&app).await;
    for _ in 0..5 {
        sign_in_from(&app, "wrong password again", None, "192.0.2.10:1").await;
    }
    const NEW: &str = "reset from the terminal at last";
    assert!(reset_password(&pool, None, "too short").await.is_err());
    reset_password(&pool, None, NEW).await.expect("reset");
    assert!(!is_signed_in(&app, &cookie).await);
    let body = form(&[("email", EMAIL), ("password", NEW)]);
    let reply = send(
        &app,
        request(Method::POST, "/sign-in", &body, None, "203.0.113.20:1"),
    )
    .await;
    assert_eq!(
        reply.status,
        StatusCode::SEE_OTHER,
        "the account lock is lifted"
    );
    assert!(events(&pool).await.contains(&"password_reset".to_owned()));
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn the_security_log_never_holds_secrets(pool: PgPool) {
    let app = app(&pool).await;
    let token = setup::create(&pool, OffsetDateTime::now_utc())
        .await
        .expect("token");
    let good = form(&[
        ("token", &token),
        ("email", EMAIL),
        ("password", PASSWORD),
        ("confirm", PASSWORD),
    ]);
    let created = send(
        &app,
        request(Method::POST, "/setup", &good, None, "192.0.2.9:1"),
    )
    .await;
    let cookie = created.cookie().expect("cookie");
    sign_in_from(&app, "a wrong guess of a password", None, "192.0.2.9:1").await;
    send(
        &app,
        request(Method::POST, "/sign-out", "", Some(&cookie), "192.0.2.9:1"),
    )
    .await;
    let everything: String = sqlx::query_scalar(
        "select string_agg(event || ' ' || client || ' ' || detail, '\n') from security_log",
    )
    .fetch_one(&pool)
    .await
    .expect("log");
    let session_id = cookie.split('=').nth(1).expect("id");
    for secret in [
        PASSWORD,
        "a wrong guess of a password",
        token.as_str(),
        session_id,
    ] {
        assert!(
            !everything.contains(secret),
            "the log holds a secret: {everything}"
        );
    }
    assert_eq!(
        events(&pool).await,
        ["owner_created", "sign_in_failed", "signed_out"]
    );
}
