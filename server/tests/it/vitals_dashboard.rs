//! `/owner/vitals` against a real database through the real router: values posted as visitors'
//! beacons (and days rolled up by the real rollup) come back as the p75, shares, assessment,
//! breakdowns and time series that the stored rows give when computed here, independently;
//! content changes are marked; and visitors get no dashboard.

use crate::common::{Reply, opening_tag, request, send, signed_in};
use app::vitals::bins;
use app::vitals::dashboard::assess;
use app::vitals::rules::Name;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode, header};
use folio_server::vitals::upkeep;
use serde_json::json;
use sqlx::PgPool;
use std::net::SocketAddr;

const CHROME: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";
const PHONE: &str = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36";

/// Posts one page view's beacon as a visitor; `n` varies the values, the visitor and the
/// device, so the values spread over every rating.
async fn visit(app: &axum::Router, page: &str, n: u32) {
    // A spread that is the same every run: n × a prime, folded into 0..1.
    let f = |salt: u32| f64::from((n * 7919 + salt * 104_729) % 1000) / 1000.0;
    let metrics = json!([
        {"name": "LCP", "id": format!("lcp-{n:08}"), "value": 600.0 + f(1) * 5200.0, "delta": 1, "rating": "good",
         "attribution": {"element": if n.is_multiple_of(3) { "main > img.cover" } else { "h1.title" }}},
        {"name": "INP", "id": format!("inp-{n:08}"), "value": (20.0 + f(2) * 700.0).round(), "delta": 1, "rating": "good",
         "attribution": {"target": "button.theme-toggle"}},
        {"name": "CLS", "id": format!("cls-{n:08}"), "value": (f(3) * 0.4 * 1000.0).round() / 1000.0, "delta": 0, "rating": "good"},
        {"name": "FCP", "id": format!("fcp-{n:08}"), "value": 300.0 + f(4) * 3500.0, "delta": 1, "rating": "good"},
        {"name": "TTFB", "id": format!("ttfb-{n:08}"), "value": 40.0 + f(5) * 2000.0, "delta": 1, "rating": "good"},
    ]);
    let referrer = if n.is_multiple_of(4) {
        "https://news.example/item"
    } else {
        ""
    };
    let body = json!({"page": page, "view": format!("view-{n:08}"), "nav": if n.is_multiple_of(5) { "reload" } else { "navigate" },
                      "ect": "4g", "ref": referrer, "metrics": metrics});
    let user_agent = if n.is_multiple_of(2) { PHONE } else { CHROME };
    let mut post = Request::post("/api/vitals")
        .header("sec-fetch-site", "same-origin")
        .header(header::USER_AGENT, user_agent)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .expect("request");
    let from: SocketAddr = format!("203.0.113.{}:4000", n % 200 + 1)
        .parse()
        .expect("address");
    post.extensions_mut().insert(ConnectInfo(from));
    let reply = send(app, post).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
}

/// Twenty-four page views of two routes from phones and laptops.
async fn visits(app: &axum::Router) {
    for n in 0..24 {
        let page = if n % 3 == 1 { "/" } else { "/projects/harbour" };
        visit(app, page, n).await;
    }
}

async fn dashboard(app: &axum::Router, cookie: &str, query: &str) -> Reply {
    let reply = send(
        app,
        request(
            Method::GET,
            &format!("/owner/vitals{query}"),
            "",
            Some(cookie),
            crate::common::OWNER_ADDR,
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply
}

/// One attribute's value in a tag's attributes.
fn attribute<'a>(attributes: &'a str, name: &str) -> Option<&'a str> {
    attributes
        .split(&format!(" {name}=\""))
        .nth(1)
        .and_then(|rest| rest.split('"').next())
}

fn number(attributes: &str, name: &str) -> f64 {
    attribute(attributes, name)
        .unwrap_or_else(|| panic!("no {name} in {attributes}"))
        .parse()
        .expect("a number")
}

/// What the page should say of a set of (value, rating, weight): the nearest-rank p75 (the
/// smallest value with at least 3/4 of the weight at or below it) and each rating's share.
#[derive(Debug, PartialEq)]
struct Expected {
    n: i64,
    p75: f64,
    good: f64,
    needs_improvement: f64,
    poor: f64,
}

fn expected(mut values: Vec<(f64, String, i64)>) -> Expected {
    values.sort_by(|a, b| a.0.total_cmp(&b.0));
    let n: i64 = values.iter().map(|v| v.2).sum();
    let mut below = 0;
    let p75 = values
        .iter()
        .find(|(_, _, weight)| {
            below += weight;
            4 * below >= 3 * n
        })
        .expect("values")
        .0;
    let share = |rating: &str| {
        values
            .iter()
            .filter(|v| v.1 == rating)
            .map(|v| v.2)
            .sum::<i64>() as f64
            / n as f64
    };
    Expected {
        n,
        p75,
        good: share("good"),
        needs_improvement: share("needs-improvement"),
        poor: share("poor"),
    }
}

/// The raw rows of `name`, narrowed by `filter` (SQL over vitals_metrics).
async fn raw(pool: &PgPool, name: &str, filter: &str) -> Vec<(f64, String, i64)> {
    sqlx::query_as(&format!(
        "select value, rating, 1::bigint from vitals_metrics where name = $1 {filter}"
    ))
    .bind(name)
    .fetch_all(pool)
    .await
    .expect("raw rows")
}

/// What a metric's card says.
fn card(html: &str, name: &str) -> Expected {
    let tag = opening_tag(html, "article", &format!("data-metric=\"{name}\""));
    Expected {
        n: number(tag, "data-n") as i64,
        p75: number(tag, "data-p75"),
        good: number(tag, "data-good"),
        needs_improvement: number(tag, "data-needs-improvement"),
        poor: number(tag, "data-poor"),
    }
}

fn rating_of(name: &str, stats: &Expected) -> app::vitals::rules::Rating {
    Name::parse(name).expect("metric").rating(stats.p75)
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn the_dashboard_shows_what_the_stored_values_give(pool: PgPool) {
    let (app, cookie) = signed_in(&pool).await;
    visits(&app).await;

    let reply = dashboard(&app, &cookie, "").await;
    assert_eq!(reply.headers[header::CACHE_CONTROL], "private, no-store");
    let html = &reply.body;
    let mut p75s = Vec::new();
    for name in ["LCP", "INP", "CLS", "FCP", "TTFB"] {
        let want = expected(raw(&pool, name, "").await);
        assert_eq!(want.n, 24);
        assert_eq!(card(html, name), want, "{name}");
        let rating = rating_of(name, &want);
        // The rating is said in words, not only in colour.
        let tag = opening_tag(html, "article", &format!("data-metric=\"{name}\""));
        assert_eq!(attribute(tag, "data-rating"), Some(rating.as_str()));
        p75s.push(rating);
    }
    // The values spread over every rating.
    let lcp = card(html, "LCP");
    assert!(lcp.good > 0.0 && lcp.needs_improvement > 0.0 && lcp.poor > 0.0);

    // The assessment, from LCP, INP and CLS at p75.
    let assessment = assess(Some(p75s[0]), Some(p75s[1]), Some(p75s[2]));
    let tag = opening_tag(html, "p", "data-testid=\"assessment\"");
    assert_eq!(attribute(tag, "data-assessment"), Some(assessment.as_str()));

    // A breakdown row: the project pages' LCP.
    let route = "/projects/{slug}";
    let want = expected(raw(&pool, "LCP", &format!("and route = '{route}'")).await);
    let breakdown = html
        .split("data-testid=\"breakdown-route\"")
        .nth(1)
        .expect("route breakdown");
    let row = breakdown
        .split(&format!("data-key=\"{route}\""))
        .nth(1)
        .and_then(|rest| rest.split("</tr>").next())
        .expect("the project pages' row");
    let cell = opening_tag(row, "td", "data-metric=\"LCP\"");
    assert_eq!(number(cell, "data-p75"), want.p75);
    assert_eq!(number(cell, "data-n") as i64, want.n);

    // The table beside the chart: today's bucket has every value.
    let table = html
        .split("data-testid=\"table-LCP\"")
        .nth(1)
        .and_then(|rest| rest.split("</table>").next())
        .expect("LCP table");
    let measured: Vec<&str> = table
        .split("<td data-p75=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect();
    assert_eq!(measured, [lcp.p75.to_string()]);
    assert_eq!(
        table.matches("<tr data-bucket=").count(),
        28,
        "one row a day"
    );
    assert!(html.contains("role=\"img\""));
    assert!(!html.contains(" style="), "no inline styles under the CSP");

    // The slow elements, views and referrers.
    assert!(
        html.contains("data-element=\"main &gt; img.cover\"")
            || html.contains("data-element=\"main > img.cover\"")
    );
    assert!(html.contains("data-host=\"news.example\""));

    // Filtered to phones on the project pages: only their values count.
    let filtered = dashboard(
        &app,
        &cookie,
        "?period=7d&device=mobile&route=%2Fprojects%2F%7Bslug%7D",
    )
    .await;
    for name in ["LCP", "INP", "CLS", "FCP", "TTFB"] {
        let want = expected(
            raw(
                &pool,
                name,
                &format!("and device = 'mobile' and route = '{route}'"),
            )
            .await,
        );
        assert!(want.n > 0 && want.n < 24);
        assert_eq!(card(&filtered.body, name), want, "{name}, filtered");
    }
    assert!(
        opening_tag(&filtered.body, "option", "value=\"mobile\"").contains("selected"),
        "the filter stays chosen"
    );

    // The last 24 hours, bucketed by hour.
    let day = dashboard(&app, &cookie, "?period=24h").await;
    assert_eq!(
        card(&day.body, "CLS"),
        expected(raw(&pool, "CLS", "").await)
    );
    let table = day
        .body
        .split("data-testid=\"table-CLS\"")
        .nth(1)
        .expect("CLS table");
    assert_eq!(
        table
            .split("</table>")
            .next()
            .expect("table")
            .matches("<tr data-bucket=")
            .count(),
        24
    );
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn content_changes_inside_the_period_are_marked(pool: PgPool) {
    let (app, cookie) = signed_in(&pool).await;
    visits(&app).await;
    sqlx::query(
        r#"insert into revisions (kind, item_id, version, action, data, created_at) values
           ('project', 1, 2, 'save', '{"title": "Harbour"}', now() - interval '2 days'),
           ('project', 1, 1, 'baseline', '{"title": "Harbour"}', now() - interval '2 days'),
           ('post', 4, 3, 'publish', '{"title": "On tides"}', now() - interval '40 days')"#,
    )
    .execute(&pool)
    .await
    .expect("revisions");

    let html = dashboard(&app, &cookie, "").await.body;
    assert!(
        html.contains("data-marker=\"Edited project “Harbour”\""),
        "{html}"
    );
    assert!(html.contains("<title>1: Edited project “Harbour”</title>"));
    assert!(!html.contains("On tides"), "40 days ago is outside 28 days");
    assert!(
        !html.contains("before your first edit") && html.matches("<li data-marker=").count() == 1
    );
    // The table beside each chart names the change in its day's row.
    let table = html
        .split("data-testid=\"table-LCP\"")
        .nth(1)
        .expect("table");
    assert!(table.contains("1. Edited project “Harbour”"));

    let quarter = dashboard(&app, &cookie, "?period=90d").await.body;
    assert!(quarter.contains("data-marker=\"Published post “On tides”\""));
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn ninety_days_merge_raw_values_with_rolled_up_days(pool: PgPool) {
    let (app, cookie) = signed_in(&pool).await;
    visits(&app).await;
    // A third of the views happened 40 days ago, and the rollup moved them into histograms.
    for table in ["vitals_views", "vitals_metrics"] {
        sqlx::query(&format!(
            "update {table} set day = day - 40 where view_id in (select view_id from vitals_views where route = '/')"
        ))
        .execute(&pool)
        .await
        .expect("age");
    }
    let today = time::OffsetDateTime::now_utc().date();
    let done = upkeep::roll_up(&pool, today - time::Duration::days(30))
        .await
        .expect("rollup");
    assert_eq!(done.views, 8);

    // Not in 28 days.
    let month = dashboard(&app, &cookie, "").await.body;
    assert_eq!(card(&month, "LCP").n, 16);

    let quarter = dashboard(&app, &cookie, "?period=90d").await.body;
    for name in ["LCP", "INP", "CLS", "FCP", "TTFB"] {
        let metric = Name::parse(name).expect("a metric name");
        let mut values = raw(&pool, name, "").await;
        let rolled: Vec<(i16, String, i64)> =
            sqlx::query_as("select bin, rating, count from vitals_daily where name = $1")
                .bind(name)
                .fetch_all(&pool)
                .await
                .expect("daily");
        assert!(!rolled.is_empty());
        // A rolled-up value stands at its bin's upper edge.
        values.extend(
            rolled
                .into_iter()
                .map(|(bin, rating, count)| (bins::range(metric, bin).1, rating, count)),
        );
        let want = expected(values);
        assert_eq!(want.n, 24);
        assert_eq!(card(&quarter, name), want, "{name} over 90 days");
    }
    let old_day = (today - time::Duration::days(40)).to_string();
    assert!(
        quarter.contains(&format!("data-day=\"{old_day}\" data-route=\"/\"")),
        "the rolled-up day's views"
    );
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn a_visitor_gets_no_dashboard(pool: PgPool) {
    let (app, _cookie) = signed_in(&pool).await;
    visits(&app).await;
    let reply = send(
        &app,
        request(Method::GET, "/owner/vitals", "", None, "203.0.113.9:1"),
    )
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(reply.location(), "/sign-in?next=/owner/vitals");
    assert!(!reply.body.contains("data-metric"));
    let api = send(
        &app,
        request(Method::GET, "/api/owner/vitals", "", None, "203.0.113.9:1"),
    )
    .await;
    assert_eq!(api.status, StatusCode::UNAUTHORIZED);
    assert!(!api.body.contains("LCP"));
}
