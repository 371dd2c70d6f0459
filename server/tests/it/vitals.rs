//! `POST /api/vitals` against a real database through the real router: what a good beacon
//! stores (and what it never stores), every refusal storing nothing, re-reports, the owner and
//! bots, the per-address limit, a failed commit, the rollup and the salts; and the real binary
//! killed with SIGKILL under load keeping every beacon it acknowledged.

use crate::common::{Reply, config, data_dir, send, signed_in, start_folio, workspace_root};
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode, header};
use folio_server::vitals::beacon::Name;
use folio_server::vitals::upkeep;
use folio_server::vitals::writer::{self, Batch, View, Writer};
use folio_server::{AppState, router};
use serde_json::{Value, json};
use sqlx::PgPool;
use std::net::SocketAddr;
use std::time::Duration;
use time::OffsetDateTime;

const CHROME: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";
const PHONE: &str = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36";
const VISITOR: &str = "203.0.113.7:5000";

/// A beacon from a page view, with `metrics` as (name, id, value).
fn beacon(page: &str, view: &str, metrics: &[(&str, &str, f64)]) -> Value {
    let metrics: Vec<Value> = metrics
        .iter()
        .map(|(name, id, value)| {
            json!({"name": name, "id": id, "value": value, "delta": value, "rating": "good"})
        })
        .collect();
    json!({"page": page, "view": view, "nav": "navigate", "ect": "4g", "ref": "", "metrics": metrics})
}

/// A beacon as a browser posts it, from `from` with `user_agent`.
fn post(
    body: impl Into<Body>,
    content_type: Option<&str>,
    user_agent: &str,
    from: &str,
) -> Request<Body> {
    let mut builder = Request::post("/api/vitals")
        .header("sec-fetch-site", "same-origin")
        .header(header::USER_AGENT, user_agent);
    if let Some(content_type) = content_type {
        builder = builder.header(header::CONTENT_TYPE, content_type);
    }
    let mut request = builder.body(body.into()).expect("request");
    request
        .extensions_mut()
        .insert(ConnectInfo(from.parse::<SocketAddr>().expect("address")));
    request
}

fn post_json(beacon: &Value) -> Request<Body> {
    post(
        beacon.to_string(),
        Some("application/json"),
        CHROME,
        VISITOR,
    )
}

fn app(pool: &PgPool) -> axum::Router {
    router(AppState::new(config(), pool.clone()))
}

/// Page views and metric rows stored.
async fn stored(pool: &PgPool) -> (i64, i64) {
    sqlx::query_as(
        "select (select count(*) from vitals_views), (select count(*) from vitals_metrics)",
    )
    .fetch_one(pool)
    .await
    .expect("counts")
}

fn today() -> time::Date {
    OffsetDateTime::now_utc().date()
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn a_beacon_is_stored_by_route_pattern_with_the_servers_ratings(pool: PgPool) {
    let app = app(&pool);
    let mut body = beacon(
        "/projects/tide-tables?from=home#results",
        "view-tide-0001",
        &[
            ("LCP", "lcp-tide-0001", 4200.0),
            ("CLS", "cls-tide-0001", 0.05),
        ],
    );
    body["ref"] = json!("https://news.example/item?id=42");
    body["metrics"][0]["attribution"] =
        json!({"element": "main > img.cover", "resourceLoadDelay": 120.5});
    // The client's rating is not believed: 4,200 ms is a poor LCP.
    body["metrics"][0]["rating"] = json!("good");
    let reply = send(
        &app,
        post(
            body.to_string(),
            Some("application/json; charset=utf-8"),
            PHONE,
            VISITOR,
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);

    let view: (String, String, String, Option<String>, time::Date) =
        sqlx::query_as("select route, device, nav, referrer_host, day from vitals_views")
            .fetch_one(&pool)
            .await
            .expect("the page view");
    assert_eq!(
        view,
        (
            "/projects/{slug}".into(),
            "mobile".into(),
            "navigate".into(),
            Some("news.example".into()),
            today()
        )
    );
    let metrics: Vec<Value> =
        sqlx::query_scalar("select to_jsonb(m) from vitals_metrics m order by name desc")
            .fetch_all(&pool)
            .await
            .expect("metrics");
    assert_eq!(metrics.len(), 2);
    let lcp = &metrics[0];
    assert_eq!(lcp["metric_id"], "lcp-tide-0001");
    assert_eq!(lcp["value"].as_f64(), Some(4200.0));
    assert_eq!(lcp["rating"], "poor");
    assert_eq!(lcp["route"], "/projects/{slug}");
    assert_eq!(lcp["ect"], "4g");
    assert_eq!(lcp["attribution"]["element"], "main > img.cover");
    assert_eq!(
        (&metrics[1]["name"], &metrics[1]["rating"]),
        (&json!("CLS"), &json!("good"))
    );

    // Neither the URL, nor the address, nor the user agent is anywhere in what was stored.
    let everything: String = sqlx::query_scalar(
        "select concat((select json_agg(v)::text from vitals_views v), (select json_agg(m)::text from vitals_metrics m))",
    )
    .fetch_one(&pool)
    .await
    .expect("rows as text");
    for secret in [
        "tide-tables",
        "from=home",
        "203.0.113.7",
        "Pixel",
        "item?id",
    ] {
        assert!(
            !everything.contains(secret),
            "{secret} stored: {everything}"
        );
    }
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn every_bad_beacon_is_refused_with_its_reason_and_stores_nothing(pool: PgPool) {
    let app = app(&pool);
    // Each bad beacon also carries a good value, which must not be stored either.
    let with_bad = |bad: Value| {
        let mut body = beacon("/", "view-bad-0001", &[("TTFB", "ttfb-good-0001", 80.0)]);
        body["metrics"].as_array_mut().expect("metrics").push(bad);
        body.to_string()
    };
    let metric = |name: &str, value: Value| json!({"name": name, "id": "bad-metric-01", "value": value, "delta": 0, "rating": "good"});
    let too_many = {
        let many: Vec<(&str, String, f64)> = (0..51)
            .map(|i| ("FCP", format!("fcp-many-{i:04}"), 900.0))
            .collect();
        let many: Vec<(&str, &str, f64)> = many
            .iter()
            .map(|(n, id, v)| (*n, id.as_str(), *v))
            .collect();
        beacon("/", "view-many-0001", &many).to_string()
    };
    let unknown_field = {
        let mut body = beacon("/", "view-field-01", &[("LCP", "lcp-field-01", 900.0)]);
        body["userAgent"] = json!("sneaky");
        body.to_string()
    };
    let huge = "x".repeat(65 * 1024);
    let json_type = Some("application/json");
    let cases: Vec<(&str, String, Option<&str>, StatusCode, &str)> = vec![
        (
            "malformed JSON",
            r#"{"page":"/","view":"#.to_owned(),
            json_type,
            StatusCode::BAD_REQUEST,
            "not valid JSON",
        ),
        (
            "unknown metric",
            with_bad(metric("FID", json!(12))),
            json_type,
            StatusCode::BAD_REQUEST,
            "unknown variant `FID`",
        ),
        (
            "1e999",
            with_bad(metric("LCP", json!(12345))).replace("12345", "1e999"),
            json_type,
            StatusCode::BAD_REQUEST,
            "number out of range",
        ),
        (
            "NaN as a string",
            with_bad(metric("LCP", json!("NaN"))),
            json_type,
            StatusCode::BAD_REQUEST,
            "invalid type: string \"NaN\"",
        ),
        (
            "Infinity as a string",
            with_bad(metric("INP", json!("Infinity"))),
            json_type,
            StatusCode::BAD_REQUEST,
            "invalid type: string \"Infinity\"",
        ),
        (
            "negative",
            with_bad(metric("FCP", json!(-5))),
            json_type,
            StatusCode::BAD_REQUEST,
            "at least 0",
        ),
        (
            "huge time",
            with_bad(metric("LCP", json!(600_001))),
            json_type,
            StatusCode::BAD_REQUEST,
            "larger than the most accepted, 600000 ms",
        ),
        (
            "huge CLS",
            with_bad(metric("CLS", json!(51))),
            json_type,
            StatusCode::BAD_REQUEST,
            "larger than the most accepted, 50",
        ),
        (
            "too many entries",
            too_many,
            json_type,
            StatusCode::BAD_REQUEST,
            "metrics has 51 entries",
        ),
        (
            "unknown field",
            unknown_field,
            json_type,
            StatusCode::BAD_REQUEST,
            "unknown field `userAgent`",
        ),
        (
            "wrong content type",
            with_bad(metric("LCP", json!(10))),
            Some("text/plain;charset=UTF-8"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "application/json",
        ),
        (
            "no content type",
            with_bad(metric("LCP", json!(10))),
            None,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "application/json",
        ),
        (
            "65 KB body",
            huge,
            json_type,
            StatusCode::PAYLOAD_TOO_LARGE,
            "larger than 64000 bytes",
        ),
    ];
    for (what, body, content_type, status, reason) in cases {
        let reply = send(&app, post(body, content_type, CHROME, VISITOR)).await;
        assert_eq!(reply.status, status, "{what}: {}", reply.body);
        assert!(reply.body.contains(reason), "{what}: {}", reply.body);
        assert_eq!(reply.body.trim_end().lines().count(), 1, "{what}: one line");
    }
    // A 65 KB body that declares its length is refused before it is read.
    let mut declared = post("x".repeat(65 * 1024), json_type, CHROME, VISITOR);
    declared
        .headers_mut()
        .insert(header::CONTENT_LENGTH, (65 * 1024).into());
    let reply = send(&app, declared).await;
    assert_eq!(
        reply.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        reply.body
    );

    assert_eq!(
        stored(&pool).await,
        (0, 0),
        "nothing from a bad beacon is stored"
    );
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn a_re_reported_cls_updates_its_row_and_never_duplicates(pool: PgPool) {
    let app = app(&pool);
    let first = beacon(
        "/about",
        "view-grow-0001",
        &[
            ("CLS", "cls-grow-0001", 0.02),
            ("LCP", "lcp-grow-0001", 900.0),
        ],
    );
    assert_eq!(
        send(&app, post_json(&first)).await.status,
        StatusCode::NO_CONTENT
    );
    let grown = beacon("/about", "view-grow-0001", &[("CLS", "cls-grow-0001", 0.3)]);
    assert_eq!(
        send(&app, post_json(&grown)).await.status,
        StatusCode::NO_CONTENT
    );

    let cls: Vec<(f64, String)> = sqlx::query_as(
        "select value, rating from vitals_metrics where metric_id = 'cls-grow-0001'",
    )
    .fetch_all(&pool)
    .await
    .expect("cls");
    assert_eq!(cls, vec![(0.3, "poor".to_owned())]);
    assert_eq!(stored(&pool).await, (1, 2), "one view, two metrics");

    // The same id twice in one beacon (one commit): the later report is kept.
    let twice = beacon(
        "/about",
        "view-grow-0002",
        &[
            ("INP", "inp-twice-001", 80.0),
            ("INP", "inp-twice-001", 240.0),
        ],
    );
    assert_eq!(
        send(&app, post_json(&twice)).await.status,
        StatusCode::NO_CONTENT
    );
    let inp: Vec<(f64, String)> = sqlx::query_as(
        "select value, rating from vitals_metrics where metric_id = 'inp-twice-001'",
    )
    .fetch_all(&pool)
    .await
    .expect("inp");
    assert_eq!(inp, vec![(240.0, "needs-improvement".to_owned())]);

    // An id reused by another page view does not overwrite the first view's value.
    let hijack = beacon("/", "view-other-001", &[("CLS", "cls-grow-0001", 9.0)]);
    assert_eq!(
        send(&app, post_json(&hijack)).await.status,
        StatusCode::NO_CONTENT
    );
    let value: f64 =
        sqlx::query_scalar("select value from vitals_metrics where metric_id = 'cls-grow-0001'")
            .fetch_one(&pool)
            .await
            .expect("cls");
    assert_eq!(value, 0.3);
}

/// A beacon for the writer: page view `view`, with `metrics` as (name, id, value).
fn batch(view: &str, metrics: &[(Name, String, f64)]) -> Batch {
    Batch {
        view: View {
            id: view.to_owned(),
            day: today(),
            route: "/",
            device: "desktop",
            nav: "navigate",
            ect: None,
            referrer_host: None,
            visitor: [7; 32],
        },
        values: metrics
            .iter()
            .map(|(name, id, value)| writer::Value {
                id: id.clone(),
                name: *name,
                value: *value,
                rating: name.rating(*value),
                bin: app::vitals::bins::bin(*name, *value),
                attribution: json!({}),
            })
            .collect(),
    }
}

/// Returns once `n` statements of this test's database wait for a lock.
async fn until_lock_waits(pool: &PgPool, n: i64) {
    let waits = || async {
        sqlx::query_scalar::<_, i64>(
            // Tests run side by side, each in a database of its own.
            "select count(*) from pg_stat_activity
              where datname = current_database() and wait_event_type = 'Lock'",
        )
        .fetch_one(pool)
        .await
        .expect("activity")
    };
    while waits().await < n {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn commits_run_side_by_side_yet_a_re_report_waits_for_the_one_it_replaces(pool: PgPool) {
    // A transaction of the test's own holds a page view's and a metric's ids, so the commit
    // writing page views P, B and Q (B's ids being those) stops at B, holding P.
    let mut hold = pool.begin().await.expect("begin");
    sqlx::raw_sql(
        "insert into vitals_views (view_id, day, route, device, nav, visitor)
         values ('view-side-b', current_date, '/', 'desktop', 'navigate', decode(repeat('07', 32), 'hex'));
         insert into vitals_metrics (metric_id, view_id, day, name, value, rating, bin, route, device, nav)
         values ('lcp-side-b', 'view-side-b', current_date, 'LCP', 1, 'good', 0, '/', 'desktop', 'navigate')",
    )
    .execute(&mut *hold)
    .await
    .expect("hold B's ids");

    let writer = Writer::start(pool.clone());
    let report = |view: &str, name: Name, id: &str, value: f64| {
        writer
            .queue(batch(view, &[(name, id.to_owned(), value)]))
            .expect("queued")
    };
    let first = [
        report("view-side-p", Name::Cls, "cls-side-x", 0.01),
        report("view-side-b", Name::Lcp, "lcp-side-b", 900.0),
        report("view-side-q", Name::Inp, "inp-side-y", 100.0),
    ];
    until_lock_waits(&pool, 1).await;

    // Q and P report again, Q first: written beside the stopped commit, that commit would
    // hold P while waiting for Q, a deadlock once it goes on. So they wait for it, while
    // another page view's beacon, arriving once the writer has set them aside, is written
    // beside it at once.
    let again = [
        report("view-side-q", Name::Inp, "inp-side-y", 300.0),
        report("view-side-p", Name::Cls, "cls-side-x", 0.2),
    ];
    tokio::time::sleep(Duration::from_millis(100)).await;
    let other = report("view-side-r", Name::Fcp, "fcp-side-r", 700.0);
    let beside = tokio::time::timeout(Duration::from_secs(30), other).await;
    assert_eq!(
        beside.ok(),
        Some(Ok(())),
        "committed beside the stopped commit"
    );

    hold.rollback().await.expect("let B go");
    for (n, committed) in first.into_iter().chain(again).enumerate() {
        assert_eq!(committed.await, Ok(()), "beacon {n} committed");
    }
    let values: Vec<(String, f64)> =
        sqlx::query_as("select metric_id, value from vitals_metrics order by 1")
            .fetch_all(&pool)
            .await
            .expect("values");
    let want = [
        ("cls-side-x", 0.2),
        ("fcp-side-r", 700.0),
        ("inp-side-y", 300.0),
        ("lcp-side-b", 900.0),
    ];
    assert_eq!(values, want.map(|(id, value)| (id.to_owned(), value)));
    assert_eq!(stored(&pool).await, (4, 4));
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn beacons_arriving_while_commits_run_share_the_next_commit(pool: PgPool) {
    // The test holds two page views' ids, so the commits writing them stop, one after the
    // other: every commit the writer may run at once is busy.
    let mut hold = pool.begin().await.expect("begin");
    sqlx::raw_sql(
        "insert into vitals_views (view_id, day, route, device, nav, visitor)
         select id, current_date, '/', 'desktop', 'navigate', decode(repeat('07', 32), 'hex')
         from unnest(array['view-share-a', 'view-share-b']) as id",
    )
    .execute(&mut *hold)
    .await
    .expect("hold A's and B's ids");
    let writer = Writer::start(pool.clone());
    let held = |view: &str| {
        let id = format!("lcp-{view}");
        writer
            .queue(batch(view, &[(Name::Lcp, id, 900.0)]))
            .expect("queued")
    };
    let a = held("view-share-a");
    until_lock_waits(&pool, 1).await;
    let b = held("view-share-b");
    until_lock_waits(&pool, 2).await;

    let arriving: Vec<_> = (0..20)
        .map(|n| {
            let metrics = [
                (Name::Fcp, format!("fcp-share-{n}"), 700.0),
                (Name::Ttfb, format!("ttfb-share-{n}"), 90.0),
            ];
            writer
                .queue(batch(&format!("view-share-{n}"), &metrics))
                .expect("queued")
        })
        .collect();
    hold.rollback().await.expect("let A and B go");
    for (n, committed) in [a, b].into_iter().chain(arriving).enumerate() {
        assert_eq!(committed.await, Ok(()), "beacon {n} committed");
    }

    // Rows written by one transaction carry its id as `xmin`.
    let commits: Vec<(i64, i64)> = sqlx::query_as(
        "select count(distinct v.xmin::text), count(*) from vitals_views v
           join vitals_metrics m using (view_id)
          where v.view_id ~ '^view-share-[0-9]+$'",
    )
    .fetch_all(&pool)
    .await
    .expect("commits");
    assert_eq!(commits, [(1, 40)], "20 beacons, 40 values, one commit");
    assert_eq!(stored(&pool).await, (22, 42));
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn pages_are_stored_as_route_patterns_and_owner_pages_not_at_all(pool: PgPool) {
    let app = app(&pool);
    let pages = [
        ("/", Some("/")),
        ("/writing/on-tides?utm_source=feed", Some("/writing/{slug}")),
        ("/projects?tag=rust&page=2", Some("/projects")),
        ("/no/such/page", Some("(other)")),
        ("/owner/inbox", None),
        ("/sign-in?next=/owner", None),
        ("/setup?token=abc", None),
    ];
    for (i, (page, _)) in pages.iter().enumerate() {
        let body = beacon(
            page,
            &format!("view-page-{i:04}"),
            &[("TTFB", &format!("ttfb-page-{i:04}"), 90.0)],
        );
        let reply = send(&app, post_json(&body)).await;
        assert_eq!(
            reply.status,
            StatusCode::NO_CONTENT,
            "{page}: {}",
            reply.body
        );
    }
    let routes: Vec<(String, String)> = sqlx::query_as(
        "select v.view_id, m.route from vitals_views v join vitals_metrics m using (view_id) order by v.view_id",
    )
    .fetch_all(&pool)
    .await
    .expect("routes");
    let expected: Vec<(String, String)> = pages
        .iter()
        .enumerate()
        .filter_map(|(i, (_, route))| route.map(|r| (format!("view-page-{i:04}"), r.to_owned())))
        .collect();
    assert_eq!(routes, expected);
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn the_owner_and_bots_are_not_measured(pool: PgPool) {
    let (app, cookie) = signed_in(&pool).await;
    let body = beacon("/", "view-owner-001", &[("LCP", "lcp-owner-001", 700.0)]);
    let mut owners = post(
        body.to_string(),
        Some("application/json"),
        CHROME,
        crate::common::OWNER_ADDR,
    );
    owners
        .headers_mut()
        .insert(header::COOKIE, cookie.parse().expect("cookie"));
    assert_eq!(send(&app, owners).await.status, StatusCode::NO_CONTENT);

    for bot in [
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (Linux; Android 11; moto g power (2022)) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36 Chrome-Lighthouse",
        "",
    ] {
        let body = beacon("/", "view-bot-0001", &[("LCP", "lcp-bot-0001", 700.0)]);
        let reply = send(
            &app,
            post(body.to_string(), Some("application/json"), bot, VISITOR),
        )
        .await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT, "{bot}");
    }
    assert_eq!(stored(&pool).await, (0, 0));

    // The same beacon from a visitor in headless Chrome (as the end-to-end tests run) counts.
    let headless = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/141.0.0.0 Safari/537.36";
    let body = beacon("/", "view-visit-001", &[("LCP", "lcp-visit-001", 700.0)]);
    let reply = send(
        &app,
        post(
            body.to_string(),
            Some("application/json"),
            headless,
            VISITOR,
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(stored(&pool).await, (1, 1));
}

/// The `<meta>` that asks a browser to measure, if the page has one.
fn sample_meta(html: &str) -> Option<&str> {
    html.split("<meta ")
        .skip(1)
        .filter_map(|rest| rest.split('>').next())
        .find(|attributes| attributes.contains(r#"name="folio-vitals""#))
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn visitors_pages_ask_to_be_measured_at_the_sample_rate_and_the_owners_do_not(pool: PgPool) {
    let (app, cookie) = signed_in(&pool).await;
    let visitor = send(&app, crate::common::get("/about")).await;
    let meta = sample_meta(&visitor.body).expect("a visitor's page asks to be measured");
    assert!(meta.contains(r#"content="100""#), "{meta}");
    // Twice: the second comes from the page cache, which must keep it.
    let again = send(&app, crate::common::get("/about")).await;
    assert_eq!(sample_meta(&again.body), Some(meta));

    let owners = send(
        &app,
        crate::common::request(
            Method::GET,
            "/about",
            "",
            Some(&cookie),
            crate::common::OWNER_ADDR,
        ),
    )
    .await;
    assert_eq!(owners.status, StatusCode::OK);
    assert_eq!(sample_meta(&owners.body), None, "the owner is not measured");

    for (percent, expected) in [(25, Some(r#"content="25""#)), (0, None)] {
        let mut config = config();
        config.vitals_sample_percent = percent;
        let app = router(AppState::new(config, pool.clone()));
        let page = send(&app, crate::common::get("/about")).await;
        assert_eq!(
            sample_meta(&page.body).map(|m| m.contains(expected.unwrap_or_default())),
            expected.map(|_| true),
            "{percent} %"
        );
    }
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn a_flood_from_one_address_gets_429_and_pages_are_still_served(pool: PgPool) {
    let mut config = config();
    config.vitals_limit_per_minute = 3;
    let app = router(AppState::new(config, pool.clone()));
    let flood = |i: usize, from: &str| {
        let body = beacon(
            "/",
            &format!("view-flood-{i:03}"),
            &[("TTFB", &format!("ttfb-flood-{i:03}"), 50.0)],
        );
        post(body.to_string(), Some("application/json"), CHROME, from)
    };
    for i in 0..3 {
        assert_eq!(
            send(&app, flood(i, VISITOR)).await.status,
            StatusCode::NO_CONTENT
        );
    }
    let refused: Reply = send(&app, flood(3, VISITOR)).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = refused.headers[header::RETRY_AFTER]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert!(
        refused.body.contains("Too many beacons"),
        "{}",
        refused.body
    );
    assert_eq!(
        stored(&pool).await,
        (3, 3),
        "the refused beacon is not stored"
    );

    // Another address has its own allowance, and the flooding one still gets pages.
    assert_eq!(
        send(&app, flood(4, "198.51.100.9:1")).await.status,
        StatusCode::NO_CONTENT
    );
    let page = send(
        &app,
        crate::common::request(Method::GET, "/about", "", None, VISITOR),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn a_beacon_whose_commit_fails_is_answered_503_and_leaves_nothing(pool: PgPool) {
    let app = app(&pool);
    let first = beacon("/", "view-fail-0001", &[("LCP", "lcp-fail-0001", 800.0)]);
    assert_eq!(
        send(&app, post_json(&first)).await.status,
        StatusCode::NO_CONTENT
    );

    sqlx::query("alter table vitals_metrics rename to vitals_metrics_away")
        .execute(&pool)
        .await
        .expect("rename");
    let second = beacon("/", "view-fail-0002", &[("LCP", "lcp-fail-0002", 800.0)]);
    let reply = send(&app, post_json(&second)).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        !reply.body.contains("vitals_metrics"),
        "no database text: {}",
        reply.body
    );
    sqlx::query("alter table vitals_metrics_away rename to vitals_metrics")
        .execute(&pool)
        .await
        .expect("rename back");
    // The page view went in the same transaction as its value, so it is not there either.
    assert_eq!(stored(&pool).await, (1, 1));
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn the_rollup_moves_old_rows_into_daily_histograms_once(pool: PgPool) {
    let app = app(&pool);
    let beacons = [
        (
            "view-old-00001",
            "203.0.113.1:1",
            "https://news.example/a",
            vec![
                ("LCP", "lcp-old-00001", 1200.0),
                ("CLS", "cls-old-00001", 0.0),
            ],
        ),
        (
            "view-old-00002",
            "203.0.113.1:1",
            "https://news.example/b",
            vec![("LCP", "lcp-old-00002", 1250.0)],
        ),
        (
            "view-old-00003",
            "203.0.113.2:1",
            "",
            vec![("LCP", "lcp-old-00003", 5000.0)],
        ),
        (
            "view-new-00001",
            "203.0.113.3:1",
            "",
            vec![("LCP", "lcp-new-00001", 900.0)],
        ),
    ];
    for (view, from, referrer, metrics) in &beacons {
        let mut body = beacon("/projects", view, metrics);
        body["ref"] = json!(referrer);
        let reply = send(
            &app,
            post(body.to_string(), Some("application/json"), CHROME, from),
        )
        .await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT);
    }
    // The first three views happened 40 days ago.
    for table in ["vitals_views", "vitals_metrics"] {
        sqlx::query(&format!(
            "update {table} set day = day - 40 where view_id like 'view-old-%'"
        ))
        .execute(&pool)
        .await
        .expect("age");
    }
    let before = today() - time::Duration::days(30);

    // The rollup is one transaction: if any part fails, no raw row is gone.
    sqlx::query("alter table vitals_daily_referrers rename to away")
        .execute(&pool)
        .await
        .expect("rename");
    assert!(upkeep::roll_up(&pool, before).await.is_err());
    sqlx::query("alter table away rename to vitals_daily_referrers")
        .execute(&pool)
        .await
        .expect("rename back");
    assert_eq!(stored(&pool).await, (4, 5));

    let done = upkeep::roll_up(&pool, before).await.expect("rollup");
    assert_eq!(
        done,
        upkeep::RolledUp {
            values: 4,
            views: 3
        }
    );
    assert_eq!(stored(&pool).await, (1, 1), "only today's rows stay raw");

    let daily = || async {
        let bins: Vec<(time::Date, String, String, String, i16, i64)> = sqlx::query_as(
            "select day, route, name, rating, bin, count from vitals_daily order by name, bin",
        )
        .fetch_all(&pool)
        .await
        .expect("daily");
        let views: Vec<(String, i64, i64)> =
            sqlx::query_as("select route, views, visitors from vitals_daily_views")
                .fetch_all(&pool)
                .await
                .expect("views");
        let referrers: Vec<(String, i64)> =
            sqlx::query_as("select host, views from vitals_daily_referrers")
                .fetch_all(&pool)
                .await
                .expect("referrers");
        (bins, views, referrers)
    };
    let (bins, views, referrers) = daily().await;
    let old = today() - time::Duration::days(40);
    let lcp = app::vitals::rules::Name::Lcp;
    let bin = |value| app::vitals::bins::bin(lcp, value);
    // 1,200 and 1,250 ms share a bin; 5,000 ms is poor, in its own.
    assert_eq!(bin(1200.0), bin(1250.0));
    let row = |name: &str, rating: &str, bin: i16, count: i64| {
        (
            old,
            "/projects".to_owned(),
            name.to_owned(),
            rating.to_owned(),
            bin,
            count,
        )
    };
    assert_eq!(
        bins,
        vec![
            row("CLS", "good", 0, 1),
            row("LCP", "good", bin(1200.0), 2),
            row("LCP", "poor", bin(5000.0), 1)
        ]
    );
    // Three views from two visitors (one address and agent sent two).
    assert_eq!(views, vec![("/projects".to_owned(), 3, 2)]);
    assert_eq!(referrers, vec![("news.example".to_owned(), 2)]);

    // Again: nothing left to move, nothing counted twice.
    assert_eq!(
        upkeep::roll_up(&pool, before).await.expect("again"),
        upkeep::RolledUp {
            values: 0,
            views: 0
        }
    );
    assert_eq!(daily().await, (bins, views, referrers));
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn a_days_salt_is_shared_and_salts_older_than_48_hours_are_deleted(pool: PgPool) {
    let day = today();
    let salt = upkeep::salt(&pool, day).await.expect("salt");
    assert_eq!(
        upkeep::salt(&pool, day).await.expect("again"),
        salt,
        "one salt a day, for every instance"
    );
    assert_ne!(
        upkeep::salt(&pool, day.previous_day().expect("yesterday"))
            .await
            .expect("yesterday"),
        salt
    );

    sqlx::query("update vitals_salts set created_at = now() - interval '49 hours' where day < $1")
        .bind(day)
        .execute(&pool)
        .await
        .expect("age");
    sqlx::query("insert into vitals_salts (day, salt, created_at) values ($1, $2, now() - interval '47 hours')")
        .bind(day - time::Duration::days(2))
        .bind(vec![7u8; 32])
        .execute(&pool)
        .await
        .expect("a 47-hour-old salt");
    assert_eq!(upkeep::delete_old_salts(&pool).await.expect("delete"), 1);
    let left: Vec<time::Date> = sqlx::query_scalar("select day from vitals_salts order by day")
        .fetch_all(&pool)
        .await
        .expect("salts");
    assert_eq!(left, vec![day - time::Duration::days(2), day]);
}

/// The route patterns follow the app's routes: every page the app has is stored under its own
/// pattern, except the owner's, which are not stored.
#[test]
fn every_app_route_has_its_own_pattern() {
    use folio_server::vitals::classify::route;
    let listing = leptos_axum::generate_route_list(app::App);
    assert!(listing.len() >= 10, "{} routes", listing.len());
    for listed in &listing {
        let path = listed.path();
        let owners = path.starts_with("/owner") || path == "/sign-in" || path == "/setup";
        let expected = if owners { None } else { Some(path) };
        assert_eq!(route(path), expected, "{path}");
    }
}

/// A raw HTTP/1.1 beacon to the real binary; whether it was answered 204.
async fn post_beacon(port: u16, body: &str) -> std::io::Result<bool> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    let request = format!(
        "POST /api/vitals HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nSec-Fetch-Site: same-origin\r\nUser-Agent: {CHROME}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    Ok(response.starts_with(b"HTTP/1.1 204"))
}

/// Every beacon the real server answered 204 is in the database after it is killed with
/// SIGKILL in the middle of a load: the answer is sent only after the commit.
#[tokio::test]
async fn acknowledged_beacons_survive_sigkill_under_load() {
    const SENDERS: usize = 16;
    const VALUES: usize = 5;
    let data = data_dir();
    let env = [
        ("FOLIO_DEMO_CONTENT", "false"),
        ("FOLIO_VITALS_LIMIT_PER_MINUTE", "1000000"),
    ];
    let (mut child, port) = start_folio(data.path(), &env).await;

    let senders: Vec<_> = (0..SENDERS)
        .map(|sender| {
            tokio::spawn(async move {
                let mut acknowledged = Vec::new();
                for n in 0.. {
                    let view = format!("kill-{sender:02}-{n:06}");
                    let metrics: Vec<(String, f64)> = (0..VALUES)
                        .map(|k| (format!("{view}-{k}"), 100.0 + k as f64))
                        .collect();
                    let metrics: Vec<(&str, &str, f64)> = metrics
                        .iter()
                        .map(|(id, v)| ("TTFB", id.as_str(), *v))
                        .collect();
                    match post_beacon(port, &beacon("/", &view, &metrics).to_string()).await {
                        Ok(true) => acknowledged.push(view),
                        Ok(false) => {}
                        // The server is gone.
                        Err(_) => break,
                    }
                }
                acknowledged
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    child.kill().await.expect("SIGKILL");
    let mut acknowledged = Vec::new();
    for sender in senders {
        acknowledged.extend(sender.await.expect("sender"));
    }
    assert!(
        acknowledged.len() >= 20,
        "only {} beacons were acknowledged",
        acknowledged.len()
    );

    // The killed server left its embedded database running.
    let folio = |action: &'static str| {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_folio"))
            .args(["db", action])
            .current_dir(workspace_root())
            .env("FOLIO_DATA_DIR", data.path())
            .env("RUST_LOG", "warn")
            .env_remove("DATABASE_URL")
            .output()
    };
    let url = folio("url").await.expect("db url");
    let url = String::from_utf8(url.stdout).expect("utf-8");
    let pool = PgPool::connect(url.trim()).await.expect("connect");
    let stored: Vec<(String, i64)> =
        sqlx::query_as("select view_id, count(*) from vitals_metrics group by view_id")
            .fetch_all(&pool)
            .await
            .expect("stored");
    pool.close().await;
    let stored: std::collections::HashMap<String, i64> = stored.into_iter().collect();
    let lost: Vec<&String> = acknowledged
        .iter()
        .filter(|view| stored.get(*view) != Some(&(VALUES as i64)))
        .collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged beacons lost: {lost:?}",
        lost.len(),
        acknowledged.len()
    );
    let stopped = folio("stop").await.expect("db stop");
    assert!(stopped.status.success(), "{stopped:?}");
}
