//! `/owner/vitals`: the owner's Core Web Vitals dashboard, from what visitors' browsers reported
//! (`server/src/vitals` stores it).
//!
//! Server-rendered only and complete without JavaScript: the period and the filters are a GET
//! form, the time series are inline SVG with a table beside each. One page load is six
//! queries, whatever the number of routes: every p75 and share (overall, per route, device,
//! navigation type and time bucket) comes from one query over the period's values.
//!
//! Raw rows cover the days inside `vitals-retention-days`; older days exist only as the daily
//! histograms the rollup leaves (`vitals_daily*`). A period reaching past the retention merges
//! both: a raw value counts as itself, a rolled-up one as the upper edge of its bin (so a p75
//! that draws on old days is at most one bin, about 12 %, above the exact one, never below).
//! Shares stay exact either way, because the rollup keeps each value's rating. Attribution
//! (the slow elements) is not rolled up, so that section covers only the raw days.

use crate::error::AppError;
use crate::owner::{OwnerNav, OwnerOnly, OwnerStyles, no_store};
use crate::seo::Seo;
use crate::vitals::rules::{Name, Rating};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

/// How far back the dashboard looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Period {
    Day,
    Week,
    Month,
    Quarter,
}

impl Period {
    pub const ALL: [Self; 4] = [Self::Day, Self::Week, Self::Month, Self::Quarter];

    /// The period a `?period=` asks for: `24h`, `7d`, `28d` (the default, as CrUX) or `90d`.
    pub fn parse(text: Option<&str>) -> Self {
        Self::ALL
            .into_iter()
            .find(|p| Some(p.as_str()) == text)
            .unwrap_or(Self::Month)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Day => "24h",
            Self::Week => "7d",
            Self::Month => "28d",
            Self::Quarter => "90d",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Day => "Last 24 hours",
            Self::Week => "Last 7 days",
            Self::Month => "Last 28 days",
            Self::Quarter => "Last 90 days",
        }
    }

    /// Days covered, today included (the 24 hours are bucketed by hour instead).
    pub fn days(self) -> i64 {
        match self {
            Self::Day => 1,
            Self::Week => 7,
            Self::Month => 28,
            Self::Quarter => 90,
        }
    }

    pub fn hourly(self) -> bool {
        self == Self::Day
    }
}

/// Device classes the ingest tells apart.
pub const DEVICES: [&str; 3] = ["mobile", "tablet", "desktop"];
/// web-vitals' navigation types.
pub const NAVIGATIONS: [&str; 6] = [
    "navigate",
    "reload",
    "back-forward",
    "back-forward-cache",
    "prerender",
    "restore",
];

/// What the values are narrowed to; `None` is everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filters {
    pub route: Option<String>,
    pub device: Option<String>,
    pub nav: Option<String>,
}

impl Filters {
    /// The filters a query string asks for; an empty value means no filter.
    pub fn parse(
        route: Option<String>,
        device: Option<String>,
        nav: Option<String>,
    ) -> Result<Self, AppError> {
        let given = |v: Option<String>| v.filter(|v| !v.is_empty());
        let (route, device, nav) = (given(route), given(device), given(nav));
        if route
            .as_deref()
            .is_some_and(|r| r.len() > 2048 || !(r.starts_with('/') || r == "(other)"))
        {
            return Err(AppError::invalid("route", "Choose a route from the list."));
        }
        if device.as_deref().is_some_and(|d| !DEVICES.contains(&d)) {
            return Err(AppError::invalid(
                "device",
                "Choose mobile, tablet or desktop.",
            ));
        }
        if nav.as_deref().is_some_and(|n| !NAVIGATIONS.contains(&n)) {
            return Err(AppError::invalid(
                "nav",
                "Choose a navigation type from the list.",
            ));
        }
        Ok(Self { route, device, nav })
    }
}

/// One metric's numbers over one group of values: the whole period (`dim` "all"), one route,
/// device, navigation type, or one time bucket (`dim` "time", `key` the bucket).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stat {
    pub name: String,
    pub dim: String,
    pub key: String,
    /// Values counted.
    pub n: i64,
    pub good: i64,
    pub needs_improvement: i64,
    pub poor: i64,
    /// The nearest-rank 75th percentile (`percentile_disc(0.75)`): the smallest value with at
    /// least three quarters of the values at or below it. Always one of the values, never an
    /// interpolation.
    pub p75: f64,
}

impl Stat {
    fn share(&self, count: i64) -> f64 {
        if self.n == 0 {
            0.0
        } else {
            count as f64 / self.n as f64
        }
    }
}

/// A time series bucket: an hour (`2026-12-01T09:00Z`) or a day (`2026-12-01`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bucket {
    pub key: String,
    /// Seconds since the epoch when it begins.
    pub start: i64,
}

/// A moment the site's content changed, shown on every chart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Marker {
    /// Seconds since the epoch.
    pub at: i64,
    /// RFC 3339, UTC.
    pub when: String,
    /// What changed: `Edited project “Harbour”`.
    pub label: String,
}

/// An element (LCP) or interaction target (INP) behind values slower than good.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Element {
    pub name: String,
    pub element: String,
    pub n: i64,
    pub slow: i64,
    pub p75: f64,
}

/// Page views and unique visitors of one route on one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Visit {
    pub day: String,
    pub route: String,
    pub views: i64,
    /// Distinct visitor hashes: a visitor counts once per day and route (the hash's salt
    /// changes every day, so days cannot be joined up).
    pub visitors: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Referrer {
    pub host: String,
    pub views: i64,
}

/// Everything the dashboard shows for one period and set of filters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dashboard {
    pub period: Period,
    pub filters: Filters,
    /// The buckets of the time series, oldest first, and each one's length in seconds.
    pub buckets: Vec<Bucket>,
    pub step: i64,
    pub stats: Vec<Stat>,
    pub markers: Vec<Marker>,
    pub elements: Vec<Element>,
    pub visits: Vec<Visit>,
    pub referrers: Vec<Referrer>,
    /// The routes that have values in the period, for the route filter.
    pub routes: Vec<String>,
}

impl Dashboard {
    fn stat(&self, name: Name, dim: &str, key: &str) -> Option<&Stat> {
        self.stats
            .iter()
            .find(|s| s.name == name.as_str() && s.dim == dim && s.key == key)
    }

    /// The keys of a breakdown, the most measured first.
    fn keys(&self, dim: &str) -> Vec<String> {
        let mut totals: Vec<(String, i64)> = Vec::new();
        for s in self.stats.iter().filter(|s| s.dim == dim) {
            match totals.iter_mut().find(|(k, _)| *k == s.key) {
                Some((_, n)) => *n += s.n,
                None => totals.push((s.key.clone(), s.n)),
            }
        }
        totals.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        totals.into_iter().map(|(k, _)| k).collect()
    }

    /// The Core Web Vitals assessment.
    pub fn assessment(&self) -> Assessment {
        let rating = |name| self.stat(name, "all", "").map(|s| name.rating(s.p75));
        assess(rating(Name::Lcp), rating(Name::Inp), rating(Name::Cls))
    }
}

/// The Core Web Vitals assessment as CrUX makes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assessment {
    Passed,
    Failed,
    NotEnoughData,
}

impl Assessment {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Passed => "passed",
            Self::Failed => "failed",
            Self::NotEnoughData => "not-enough-data",
        }
    }
}

/// CrUX's rule (<https://developer.chrome.com/docs/crux/methodology/metrics#core-web-vitals>):
/// the page passes when LCP, INP and CLS are all good at the 75th percentile. Without INP
/// (a page nobody interacted with) LCP and CLS decide; without LCP or CLS there is no
/// assessment.
pub fn assess(lcp: Option<Rating>, inp: Option<Rating>, cls: Option<Rating>) -> Assessment {
    match (lcp, cls) {
        (Some(lcp), Some(cls)) => {
            let all_good = [Some(lcp), inp, Some(cls)]
                .into_iter()
                .flatten()
                .all(|r| r == Rating::Good);
            if all_good {
                Assessment::Passed
            } else {
                Assessment::Failed
            }
        }
        _ => Assessment::NotEnoughData,
    }
}

#[server(endpoint = "owner/vitals", input = server_fn::codec::GetUrl)]
pub async fn vitals_dashboard(
    period: Option<String>,
    route: Option<String>,
    device: Option<String>,
    nav: Option<String>,
) -> Result<Dashboard, AppError> {
    crate::owner::require_owner()?;
    let period = Period::parse(period.as_deref());
    let filters = Filters::parse(route, device, nav)?;
    let pool = use_context::<sqlx::PgPool>().ok_or(AppError::Internal)?;
    ssr::dashboard(&pool, period, filters).await
}

/// `/owner/vitals`.
#[component]
pub fn VitalsPage() -> impl IntoView {
    no_store();
    let query = use_query_map();
    let data = Resource::new_blocking(
        move || {
            query.with(|q| {
                (
                    q.get("period"),
                    q.get("route"),
                    q.get("device"),
                    q.get("nav"),
                )
            })
        },
        |(period, route, device, nav)| vitals_dashboard(period, route, device, nav),
    );
    view! {
        <OwnerStyles/>
        <Seo title="Core Web Vitals".to_owned() description="How fast the site is for its visitors.".to_owned() path="/owner/vitals".to_owned() noindex=true/>
        <section class="owner-page vitals" aria-labelledby="vitals-heading">
            <h1 id="vitals-heading">"Core Web Vitals"</h1>
            <OwnerNav current="/owner/vitals"/>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match data.await {
                        Err(error) => view! { <OwnerOnly error path="/owner/vitals"/> }.into_any(),
                        Ok(dashboard) => view! { <DashboardView dashboard/> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

/// A value as the owner reads it: milliseconds below a second, seconds above, CLS bare.
pub fn format_value(name: Name, value: f64) -> String {
    match name {
        Name::Cls => format!("{value:.2}"),
        _ if value < 1000.0 => format!("{value:.0} ms"),
        _ => format!("{:.2} s", value / 1000.0),
    }
}

fn rating_label(rating: Rating) -> &'static str {
    match rating {
        Rating::Good => "Good",
        Rating::NeedsImprovement => "Needs improvement",
        Rating::Poor => "Poor",
    }
}

fn percent(share: f64) -> String {
    format!("{:.0}%", share * 100.0)
}

fn long_name(name: Name) -> &'static str {
    match name {
        Name::Lcp => "Largest Contentful Paint",
        Name::Inp => "Interaction to Next Paint",
        Name::Cls => "Cumulative Layout Shift",
        Name::Fcp => "First Contentful Paint",
        Name::Ttfb => "Time to First Byte",
    }
}

/// A rating, said in words, with its colour beside it.
#[component]
fn RatingBadge(rating: Rating) -> impl IntoView {
    view! { <span class=format!("rating {}", rating.as_str())>{rating_label(rating)}</span> }
}

#[component]
fn DashboardView(dashboard: Dashboard) -> impl IntoView {
    let assessment = dashboard.assessment();
    let assessment_text = match assessment {
        Assessment::Passed => "Passed: LCP, INP and CLS are all good at the 75th percentile.",
        Assessment::Failed => {
            "Failed: at least one of LCP, INP and CLS is not good at the 75th percentile."
        }
        Assessment::NotEnoughData => "Not enough data: LCP and CLS both need values.",
    };
    let cards = Name::ALL
        .into_iter()
        .map(|name| view! { <MetricCard name stat=dashboard.stat(name, "all", "").cloned()/> })
        .collect_view();
    let charts = Name::ALL
        .into_iter()
        .map(|name| view! { <Chart name dashboard=dashboard.clone()/> })
        .collect_view();
    view! {
        <Chooser dashboard=dashboard.clone()/>
        <p class=format!("assessment {}", assessment.as_str()) data-testid="assessment" data-assessment=assessment.as_str()>
            <strong>"Core Web Vitals assessment: "</strong>{assessment_text}
        </p>
        <p class="hint">"p75 is the 75th percentile, nearest rank: three quarters of the values are at or below it. Days past the retention count from their daily histograms, each value at its bin's upper edge."</p>
        <h2>"Each metric at the 75th percentile"</h2>
        <div class="vitals-grid">{cards}</div>
        <h2>"Over time"</h2>
        <Changes markers=dashboard.markers.clone()/>
        {charts}
        <h2>"Breakdowns"</h2>
        <Breakdown dashboard=dashboard.clone() dim="route" caption="By route" heading="Route"/>
        <Breakdown dashboard=dashboard.clone() dim="device" caption="By device" heading="Device"/>
        <Breakdown dashboard=dashboard.clone() dim="nav" caption="By navigation type" heading="Navigation"/>
        <h2>"What was slow"</h2>
        <Elements elements=dashboard.elements.clone() name=Name::Lcp/>
        <Elements elements=dashboard.elements.clone() name=Name::Inp/>
        <h2>"Visits"</h2>
        <Visits visits=dashboard.visits.clone()/>
        <Referrers referrers=dashboard.referrers.clone()/>
    }
}

/// The period and the filters: a GET form, so it works without JavaScript.
#[component]
fn Chooser(dashboard: Dashboard) -> impl IntoView {
    let filters = dashboard.filters.clone();
    let periods = Period::ALL
        .into_iter()
        .map(|p| view! { <option value=p.as_str() selected=p == dashboard.period>{p.label()}</option> })
        .collect_view();
    let mut routes = dashboard.routes.clone();
    if let Some(route) = &filters.route
        && !routes.contains(route)
    {
        routes.push(route.clone());
    }
    let options = |values: Vec<String>, chosen: Option<String>| {
        values
            .into_iter()
            .map(|v| {
                let selected = Some(&v) == chosen.as_ref();
                view! { <option value=v.clone() selected=selected>{v.clone()}</option> }
            })
            .collect_view()
    };
    let owned = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    view! {
        <form class="vitals-chooser" method="get" action="/owner/vitals" data-testid="vitals-chooser">
            <div class="field">
                <label for="vitals-period">"Period"</label>
                <select id="vitals-period" name="period">{periods}</select>
            </div>
            <div class="field">
                <label for="vitals-route">"Route"</label>
                <select id="vitals-route" name="route">
                    <option value="">"All routes"</option>
                    {options(routes, filters.route.clone())}
                </select>
            </div>
            <div class="field">
                <label for="vitals-device">"Device"</label>
                <select id="vitals-device" name="device">
                    <option value="">"All devices"</option>
                    {options(owned(&DEVICES), filters.device.clone())}
                </select>
            </div>
            <div class="field">
                <label for="vitals-nav">"Navigation"</label>
                <select id="vitals-nav" name="nav">
                    <option value="">"All types"</option>
                    {options(owned(&NAVIGATIONS), filters.nav.clone())}
                </select>
            </div>
            <button type="submit" class="button">"Show"</button>
        </form>
    }
}

/// One metric: its p75 and rating, shares and count.
#[component]
fn MetricCard(name: Name, stat: Option<Stat>) -> impl IntoView {
    let heading = format!("metric-{}", name.as_str());
    let Some(stat) = stat else {
        return view! {
            <article class="vital" data-metric=name.as_str() data-n="0" aria-labelledby=heading.clone()>
                <h3 id=heading.clone()><abbr title=long_name(name)>{name.as_str()}</abbr></h3>
                <p class="empty">"No values in this period."</p>
            </article>
        }
        .into_any();
    };
    let rating = name.rating(stat.p75);
    let (good, ni, poor) = (
        stat.share(stat.good),
        stat.share(stat.needs_improvement),
        stat.share(stat.poor),
    );
    view! {
        <article class=format!("vital {}", rating.as_str()) aria-labelledby=heading.clone()
            data-metric=name.as_str() data-p75=stat.p75.to_string() data-rating=rating.as_str()
            data-good=good.to_string() data-needs-improvement=ni.to_string() data-poor=poor.to_string()
            data-n=stat.n.to_string()>
            <h3 id=heading.clone()><abbr title=long_name(name)>{name.as_str()}</abbr></h3>
            <p class="p75"><span class="value">{format_value(name, stat.p75)}</span> " " <RatingBadge rating/></p>
            <p class="hint">{format!("p75 of {} values", stat.n)}</p>
            <svg class="shares-bar" viewBox="0 0 100 6" preserveAspectRatio="none" aria-hidden="true" focusable="false">
                <rect class="good" x="0" y="0" width=(good * 100.0).to_string() height="6"/>
                <rect class="needs-improvement" x=(good * 100.0).to_string() y="0" width=(ni * 100.0).to_string() height="6"/>
                <rect class="poor" x=((good + ni) * 100.0).to_string() y="0" width=(poor * 100.0).to_string() height="6"/>
            </svg>
            <ul class="shares">
                <li><RatingBadge rating=Rating::Good/> " " {percent(good)}</li>
                <li><RatingBadge rating=Rating::NeedsImprovement/> " " {percent(ni)}</li>
                <li><RatingBadge rating=Rating::Poor/> " " {percent(poor)}</li>
            </ul>
        </article>
    }
    .into_any()
}

/// The content changes of the period, numbered as the charts mark them.
#[component]
fn Changes(markers: Vec<Marker>) -> impl IntoView {
    if markers.is_empty() {
        return view! { <p class="hint" data-testid="changes">"No content was published or changed in this period."</p> }.into_any();
    }
    view! {
        <p>"Content changes in this period, numbered as the charts mark them:"</p>
        <ol class="changes" data-testid="changes">
            {markers.into_iter().map(|m| view! {
                <li data-marker=m.label.clone()>{m.label.clone()} " · " <time datetime=m.when.clone()>{crate::editor::human_time(&m.when)}</time></li>
            }).collect_view()}
        </ol>
    }
    .into_any()
}

/// Chart geometry, in the SVG's own units.
const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 180.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 18.0;
const BOTTOM: f64 = 22.0;

/// One metric's p75 per bucket as a line, its thresholds, and the content changes; with a
/// table of the same numbers for anyone who does not see the chart.
#[component]
fn Chart(name: Name, dashboard: Dashboard) -> impl IntoView {
    let unit = if dashboard.period.hourly() {
        "hour"
    } else {
        "day"
    };
    let points: Vec<(usize, &Bucket, Option<&Stat>)> = dashboard
        .buckets
        .iter()
        .enumerate()
        .map(|(i, b)| (i, b, dashboard.stat(name, "time", &b.key)))
        .collect();
    let (good_line, poor_line) = name.thresholds();
    let highest = points
        .iter()
        .filter_map(|(_, _, s)| s.map(|s| s.p75))
        .fold(good_line, f64::max);
    let top = highest * 1.15;
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let slot = plot_w / dashboard.buckets.len().max(1) as f64;
    let x = |i: usize| LEFT + (i as f64 + 0.5) * slot;
    let y = |v: f64| TOP + plot_h * (1.0 - v / top);
    let start = dashboard.buckets.first().map_or(0, |b| b.start);
    let span = dashboard.step as f64 * dashboard.buckets.len() as f64;
    let marker_x = |at: i64| LEFT + plot_w * ((at - start) as f64 / span).clamp(0.0, 1.0);

    // The line, broken where a bucket has no values.
    let mut path = String::new();
    let mut previous = false;
    for (i, _, stat) in &points {
        match stat {
            Some(s) => {
                let command = if previous { 'L' } else { 'M' };
                path.push_str(&format!("{command}{:.1} {:.1} ", x(*i), y(s.p75)));
                previous = true;
            }
            None => previous = false,
        }
    }
    let dots = points
        .iter()
        .filter_map(|(i, _, s)| s.map(|s| (*i, s.p75)))
        .map(|(i, v)| view! { <circle class="dot" cx=format!("{:.1}", x(i)) cy=format!("{:.1}", y(v)) r="2.5"/> })
        .collect_view();
    let thresholds = [(good_line, "good"), (poor_line, "poor")]
        .into_iter()
        .filter(|(v, _)| *v <= top)
        .map(|(v, class)| {
            let at = format!("{:.1}", y(v));
            view! {
                <line class=format!("threshold {class}") x1=LEFT.to_string() x2=(WIDTH - RIGHT).to_string() y1=at.clone() y2=at.clone() stroke-dasharray="4 3"/>
                <text class="axis" x=(LEFT - 4.0).to_string() y=at text-anchor="end" dominant-baseline="middle">{format_value(name, v)}</text>
            }
        })
        .collect_view();
    let markers = dashboard
        .markers
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let at = format!("{:.1}", marker_x(m.at));
            view! {
                <g class="marker" data-marker=m.label.clone()>
                    <title>{format!("{}: {}", i + 1, m.label)}</title>
                    <line x1=at.clone() x2=at.clone() y1=TOP.to_string() y2=(HEIGHT - BOTTOM).to_string()/>
                    <text x=at y=(TOP - 5.0).to_string() text-anchor="middle">{(i + 1).to_string()}</text>
                </g>
            }
        })
        .collect_view();
    let first = dashboard
        .buckets
        .first()
        .map(|b| b.key.clone())
        .unwrap_or_default();
    let last = dashboard
        .buckets
        .last()
        .map(|b| b.key.clone())
        .unwrap_or_default();
    let measured: Vec<f64> = points
        .iter()
        .filter_map(|(_, _, s)| s.map(|s| s.p75))
        .collect();
    let summary = match (
        measured.iter().copied().reduce(f64::min),
        measured.iter().copied().reduce(f64::max),
    ) {
        (Some(low), Some(high)) => format!(
            "{} p75 by {unit}, {first} to {last}: {} {unit}s with values, from {} to {}; {} content changes marked.",
            name.as_str(),
            measured.len(),
            format_value(name, low),
            format_value(name, high),
            dashboard.markers.len()
        ),
        _ => format!(
            "{} p75 by {unit}, {first} to {last}: no values; {} content changes marked.",
            name.as_str(),
            dashboard.markers.len()
        ),
    };
    let rows = points
        .iter()
        .map(|(_, bucket, stat)| {
            let end = bucket.start + dashboard.step;
            let changes: Vec<String> = dashboard
                .markers
                .iter()
                .enumerate()
                .filter(|(_, m)| m.at >= bucket.start && m.at < end)
                .map(|(i, m)| format!("{}. {}", i + 1, m.label))
                .collect();
            let cells = match stat {
                Some(s) => {
                    let rating = name.rating(s.p75);
                    view! {
                        <td data-p75=s.p75.to_string()>{format_value(name, s.p75)}</td>
                        <td><RatingBadge rating/></td>
                        <td>{s.n}</td>
                    }
                    .into_any()
                }
                None => view! { <td>"–"</td><td>"–"</td><td>"0"</td> }.into_any(),
            };
            view! {
                <tr data-bucket=bucket.key.clone()>
                    <th scope="row">{bucket.key.clone()}</th>
                    {cells}
                    <td>{changes.join("; ")}</td>
                </tr>
            }
        })
        .collect_view();
    let heading = format!("chart-{}", name.as_str());
    view! {
        <figure class="chart" data-testid=heading.clone() aria-labelledby=heading.clone()>
            <figcaption id=heading.clone()>{format!("{} ({}) p75 by {unit}", name.as_str(), long_name(name))}</figcaption>
            <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-label=summary.clone() focusable="false">
                <title>{summary.clone()}</title>
                <line class="axis-line" x1=LEFT.to_string() x2=(WIDTH - RIGHT).to_string() y1=(HEIGHT - BOTTOM).to_string() y2=(HEIGHT - BOTTOM).to_string()/>
                {thresholds}
                <path class="line" d=path fill="none"/>
                {dots}
                {markers}
                <text class="axis" x=LEFT.to_string() y=(HEIGHT - 6.0).to_string() text-anchor="start">{first}</text>
                <text class="axis" x=(WIDTH - RIGHT).to_string() y=(HEIGHT - 6.0).to_string() text-anchor="end">{last}</text>
            </svg>
            <details>
                <summary>{format!("{} as a table", name.as_str())}</summary>
                <div class="table-scroll" tabindex="0" role="region" aria-label=format!("{} as a table", name.as_str())>
                    <table class="security-log" data-testid=format!("table-{}", name.as_str())>
                        <caption>{format!("{} p75 by {unit}, times in UTC", name.as_str())}</caption>
                        <thead><tr>
                            <th scope="col">{if unit == "hour" { "Hour" } else { "Day" }}</th>
                            <th scope="col">"p75"</th><th scope="col">"Rating"</th><th scope="col">"Values"</th><th scope="col">"Content changes"</th>
                        </tr></thead>
                        <tbody>{rows}</tbody>
                    </table>
                </div>
            </details>
        </figure>
    }
}

/// p75 and counts of every metric per route, device or navigation type.
#[component]
fn Breakdown(
    dashboard: Dashboard,
    dim: &'static str,
    caption: &'static str,
    heading: &'static str,
) -> impl IntoView {
    let keys = dashboard.keys(dim);
    if keys.is_empty() {
        return view! { <p class="hint">{format!("{caption}: no values in this period.")}</p> }
            .into_any();
    }
    let rows = keys
        .into_iter()
        .map(|key| {
            let cells = Name::ALL
                .into_iter()
                .map(|name| match dashboard.stat(name, dim, &key) {
                    Some(s) => {
                        let rating = name.rating(s.p75);
                        view! {
                            <td data-metric=name.as_str() data-p75=s.p75.to_string() data-n=s.n.to_string()>
                                {format_value(name, s.p75)} " " <RatingBadge rating/>
                                <span class="count">{format!(" ({})", s.n)}</span>
                            </td>
                        }
                        .into_any()
                    }
                    None => view! { <td data-metric=name.as_str() data-n="0">"–"</td> }.into_any(),
                })
                .collect_view();
            view! { <tr data-key=key.clone()><th scope="row">{key.clone()}</th>{cells}</tr> }
        })
        .collect_view();
    view! {
        <div class="table-scroll" tabindex="0" role="region" aria-label=caption.to_owned()>
            <table class="security-log breakdown" data-testid=format!("breakdown-{dim}")>
                <caption>{format!("{caption}: p75, rating and (number of values)")}</caption>
                <thead><tr>
                    <th scope="col">{heading}</th>
                    {Name::ALL.into_iter().map(|n| view! { <th scope="col">{n.as_str()}</th> }).collect_view()}
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
    .into_any()
}

/// The elements (LCP) or targets (INP) behind values that were not good.
#[component]
fn Elements(elements: Vec<Element>, name: Name) -> impl IntoView {
    let (title, what) = match name {
        Name::Lcp => ("Largest Contentful Paint elements", "Element"),
        _ => ("Interaction targets", "Target"),
    };
    let rows: Vec<Element> = elements
        .into_iter()
        .filter(|e| e.name == name.as_str())
        .collect();
    if rows.is_empty() {
        return view! { <p class="hint" data-testid=format!("elements-{}", name.as_str())>{format!("{title}: no {} value slower than good in the raw days of this period.", name.as_str())}</p> }.into_any();
    }
    view! {
        <div class="table-scroll" tabindex="0" role="region" aria-label=title.to_owned()>
            <table class="security-log" data-testid=format!("elements-{}", name.as_str())>
                <caption>{format!("{title} behind slow {} (needs improvement or poor)", name.as_str())}</caption>
                <thead><tr><th scope="col">{what}</th><th scope="col">"Slow"</th><th scope="col">"Values"</th><th scope="col">"p75"</th></tr></thead>
                <tbody>
                    {rows.into_iter().map(|e| {
                        let rating = name.rating(e.p75);
                        view! {
                            <tr data-element=e.element.clone() data-slow=e.slow.to_string() data-p75=e.p75.to_string()>
                                <th scope="row"><code>{e.element.clone()}</code></th>
                                <td>{e.slow}</td>
                                <td>{e.n}</td>
                                <td>{format_value(name, e.p75)} " " <RatingBadge rating/></td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

#[component]
fn Visits(visits: Vec<Visit>) -> impl IntoView {
    if visits.is_empty() {
        return view! { <p class="hint">"No page views in this period."</p> }.into_any();
    }
    view! {
        <div class="table-scroll" tabindex="0" role="region" aria-label="Visits">
            <table class="security-log" data-testid="visits">
                <caption>"Page views and unique visitors per day and route (a visitor counts once per day; not split by device or navigation type)"</caption>
                <thead><tr><th scope="col">"Day"</th><th scope="col">"Route"</th><th scope="col">"Views"</th><th scope="col">"Visitors"</th></tr></thead>
                <tbody>
                    {visits.into_iter().map(|v| view! {
                        <tr data-day=v.day.clone() data-route=v.route.clone()>
                            <td>{v.day.clone()}</td><td>{v.route.clone()}</td><td>{v.views}</td><td>{v.visitors}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

#[component]
fn Referrers(referrers: Vec<Referrer>) -> impl IntoView {
    if referrers.is_empty() {
        return view! { <p class="hint">"No visits came from other sites in this period."</p> }
            .into_any();
    }
    view! {
        <div class="table-scroll" tabindex="0" role="region" aria-label="Referrers">
            <table class="security-log" data-testid="referrers">
                <caption>"Top referrers, for the whole site"</caption>
                <thead><tr><th scope="col">"Site"</th><th scope="col">"Views"</th></tr></thead>
                <tbody>
                    {referrers.into_iter().map(|r| view! {
                        <tr data-host=r.host.clone()><td>{r.host.clone()}</td><td>{r.views}</td></tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

#[cfg(feature = "ssr")]
pub mod ssr {
    //! The dashboard's queries. Every one filters on `day` first (the tables' indexes), and
    //! the 24-hour period then on the raw rows' time.
    use super::{Bucket, Dashboard, Element, Filters, Marker, Period, Referrer, Stat, Visit};
    use crate::error::AppError;
    use crate::vitals::bins;
    use crate::vitals::rules::Name;
    use sqlx::PgPool;
    use sqlx::types::time::{Date, OffsetDateTime};

    /// Where a period begins and how it is bucketed.
    struct Window {
        first_day: Date,
        /// For the hourly period: the start of the hour 23 hours before this one.
        since: Option<OffsetDateTime>,
        buckets: Vec<Bucket>,
        step: i64,
    }

    fn window(period: Period, now: OffsetDateTime) -> Window {
        let two = |n: u8| format!("{n:02}");
        let day_key =
            |d: Date| format!("{:04}-{}-{}", d.year(), two(d.month() as u8), two(d.day()));
        let at = |seconds: i64| {
            OffsetDateTime::from_unix_timestamp(seconds).unwrap_or(OffsetDateTime::UNIX_EPOCH)
        };
        if period.hourly() {
            let since = now.unix_timestamp() / 3600 * 3600 - 23 * 3600;
            let buckets = (0..24)
                .map(|i| {
                    let start = since + i * 3600;
                    let hour = at(start);
                    Bucket {
                        key: format!("{}T{}:00Z", day_key(hour.date()), two(hour.hour())),
                        start,
                    }
                })
                .collect();
            Window {
                first_day: at(since).date(),
                since: Some(at(since)),
                buckets,
                step: 3600,
            }
        } else {
            let first = now.date().to_julian_day() - (period.days() as i32 - 1);
            let buckets = (0..period.days() as i32)
                .filter_map(|i| Date::from_julian_day(first + i).ok())
                .map(|day| Bucket {
                    key: day_key(day),
                    start: day.midnight().assume_utc().unix_timestamp(),
                })
                .collect();
            Window {
                first_day: Date::from_julian_day(first).unwrap_or(now.date()),
                since: None,
                buckets,
                step: 86_400,
            }
        }
    }

    pub async fn dashboard(
        pool: &PgPool,
        period: Period,
        filters: Filters,
    ) -> Result<Dashboard, AppError> {
        let window = window(period, OffsetDateTime::now_utc());
        let Filters { route, device, nav } = &filters;
        // A rolled-up value stands at its bin's upper edge.
        let edges =
            |name: Name| -> Vec<f64> { (0..=bins::LAST).map(|k| bins::range(name, k).1).collect() };
        let (first_day, since) = (window.first_day, window.since);

        // Every value of the period, raw ones as themselves and rolled-up ones at their bin's
        // upper edge with their count as weight, keyed once per grouping the page shows. The
        // p75 is nearest-rank over the weights: the smallest value whose running weight
        // reaches three quarters of the total (4 × below ≥ 3 × total, in integers), which for
        // raw values alone is exactly `percentile_disc(0.75)`.
        let stats = sqlx::query_as!(
            Stat,
            r#"
            with vals as (
                select name, route, device, nav, rating, value, 1::bigint as weight,
                       case when $2::timestamptz is null then to_char(day, 'YYYY-MM-DD')
                            else to_char(date_trunc('hour', created_at at time zone 'UTC'), 'YYYY-MM-DD"T"HH24":00Z"')
                       end as bucket
                from vitals_metrics
                where day >= $1 and ($2::timestamptz is null or created_at >= $2)
                  and ($3::text is null or route = $3) and ($4::text is null or device = $4)
                  and ($5::text is null or nav = $5)
                union all
                select name, route, device, nav, rating,
                       case when name = 'CLS' then ($7::float8[])[bin + 1] else ($6::float8[])[bin + 1] end,
                       count, to_char(day, 'YYYY-MM-DD')
                from vitals_daily
                where day >= $1 and $2::timestamptz is null
                  and ($3::text is null or route = $3) and ($4::text is null or device = $4)
                  and ($5::text is null or nav = $5)
            ),
            keyed as (
                select v.name, k.dim, k.key, v.value, v.rating, v.weight
                from vals v
                cross join lateral (values ('all', ''), ('route', v.route), ('device', v.device),
                                           ('nav', v.nav), ('time', v.bucket)) as k (dim, key)
            ),
            dist as (
                select name, dim, key, value,
                       sum(sum(weight)) over (partition by name, dim, key order by value) as below,
                       sum(sum(weight)) over (partition by name, dim, key) as total
                from keyed
                group by name, dim, key, value
            ),
            p75 as (
                select name, dim, key, min(value) as p75
                from dist where 4 * below >= 3 * total
                group by name, dim, key
            ),
            counts as (
                select name, dim, key, sum(weight)::bigint as n,
                       coalesce(sum(weight) filter (where rating = 'good'), 0)::bigint as good,
                       coalesce(sum(weight) filter (where rating = 'needs-improvement'), 0)::bigint as needs_improvement,
                       coalesce(sum(weight) filter (where rating = 'poor'), 0)::bigint as poor
                from keyed
                group by name, dim, key
            )
            select c.name as "name!", c.dim as "dim!", c.key as "key!", c.n as "n!",
                   c.good as "good!", c.needs_improvement as "needs_improvement!", c.poor as "poor!",
                   p.p75 as "p75!"
            from counts c join p75 p using (name, dim, key)
            "#,
            first_day,
            since,
            route.as_deref(),
            device.as_deref(),
            nav.as_deref(),
            &edges(Name::Lcp),
            &edges(Name::Cls),
        )
        .fetch_all(pool)
        .await?;

        let period_start = window.buckets.first().map_or(0, |b| b.start);
        let markers = markers(pool, period_start).await?;

        // Attribution is kept only on raw rows.
        let elements = sqlx::query_as!(
            Element,
            r#"
            select name as "name!",
                   coalesce(attribution ->> (case when name = 'LCP' then 'element' else 'target' end), '(not reported)') as "element!",
                   count(*) as "n!", count(*) filter (where rating <> 'good') as "slow!",
                   percentile_disc(0.75) within group (order by value) as "p75!"
            from vitals_metrics
            where name in ('LCP', 'INP') and day >= $1 and ($2::timestamptz is null or created_at >= $2)
              and ($3::text is null or route = $3) and ($4::text is null or device = $4)
              and ($5::text is null or nav = $5)
            group by 1, 2
            having count(*) filter (where rating <> 'good') > 0
            order by 4 desc, 3 desc, 2
            "#,
            first_day,
            since,
            route.as_deref(),
            device.as_deref(),
            nav.as_deref(),
        )
        .fetch_all(pool)
        .await?;
        let mut shown = [0; 2];
        let elements = elements
            .into_iter()
            .filter(|e| {
                let i = usize::from(e.name != "LCP");
                shown[i] += 1;
                shown[i] <= 10
            })
            .collect();

        // Views carry no device or navigation type once rolled up, so only the route filters
        // them, on raw and rolled-up days alike.
        let visits = sqlx::query_as!(
            Visit,
            r#"
            select to_char(day, 'YYYY-MM-DD') as "day!", route as "route!",
                   sum(views)::bigint as "views!", sum(visitors)::bigint as "visitors!"
            from (
                select day, route, count(*) as views, count(distinct visitor) as visitors
                from vitals_views
                where day >= $1 and ($2::timestamptz is null or created_at >= $2)
                  and ($3::text is null or route = $3)
                group by day, route
                union all
                select day, route, views, visitors
                from vitals_daily_views
                where day >= $1 and $2::timestamptz is null and ($3::text is null or route = $3)
            ) v
            group by day, route
            order by day desc, 3 desc, route
            "#,
            first_day,
            since,
            route.as_deref(),
        )
        .fetch_all(pool)
        .await?;

        let referrers = sqlx::query_as!(
            Referrer,
            r#"
            select host as "host!", sum(views)::bigint as "views!"
            from (
                select referrer_host as host, count(*) as views
                from vitals_views
                where referrer_host is not null and day >= $1
                  and ($2::timestamptz is null or created_at >= $2)
                group by referrer_host
                union all
                select host, views from vitals_daily_referrers
                where day >= $1 and $2::timestamptz is null
            ) r
            group by host
            order by 2 desc, host
            limit 10
            "#,
            first_day,
            since,
        )
        .fetch_all(pool)
        .await?;

        let routes = sqlx::query_scalar!(
            r#"
            select route as "route!" from vitals_metrics where day >= $1
            union
            select route from vitals_daily where day >= $1
            order by 1
            "#,
            first_day,
        )
        .fetch_all(pool)
        .await?;

        Ok(Dashboard {
            period,
            filters,
            buckets: window.buckets,
            step: window.step,
            stats,
            markers,
            elements,
            visits,
            referrers,
            routes,
        })
    }

    /// Saves, publications and deletions since `start` (seconds since the epoch): every
    /// revision but the baseline a first edit records, and the publish times of projects and
    /// posts (content published without the editor has no revision). The same publication
    /// seen both ways is shown once.
    async fn markers(pool: &PgPool, start: i64) -> Result<Vec<Marker>, sqlx::Error> {
        let rows = sqlx::query!(
            r#"
            select extract(epoch from at)::bigint as "at!",
                   to_char(at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as "when!",
                   kind as "kind!", action as "action!", title
            from (
                select created_at as at, kind, action, data ->> 'title' as title
                from revisions
                where created_at >= to_timestamp($1) and action <> 'baseline'
                union all
                select published_at, 'project', 'publish', title from projects
                where published_at >= to_timestamp($1) and published_at <= now()
                union all
                select published_at, 'post', 'publish', title from posts
                where published_at >= to_timestamp($1) and published_at <= now()
            ) changes
            order by 1, 3, 5
            limit 200
            "#,
            start as f64,
        )
        .fetch_all(pool)
        .await?;
        let mut markers: Vec<Marker> = Vec::new();
        for row in rows {
            let label = marker_label(&row.kind, &row.action, row.title.as_deref());
            let seen = markers
                .iter()
                .any(|m| m.label == label && (m.at - row.at).abs() < 60);
            if !seen {
                markers.push(Marker {
                    at: row.at,
                    when: row.when,
                    label,
                });
            }
        }
        Ok(markers)
    }

    /// `Edited project “Harbour”`, `Published post “On tides”`, `Edited the profile`.
    pub fn marker_label(kind: &str, action: &str, title: Option<&str>) -> String {
        let verb = match action {
            "create" => "Created",
            "save" => "Edited",
            "publish" => "Published",
            "unpublish" => "Unpublished",
            "schedule" => "Scheduled",
            "restore" => "Restored an earlier version of",
            "delete" => "Deleted",
            "undelete" => "Brought back",
            "duplicate" => "Created as a copy",
            _ => "Changed",
        };
        match (kind, title.filter(|t| !t.is_empty())) {
            ("profile", _) => format!("{verb} the profile"),
            (kind, Some(title)) => format!("{verb} {kind} “{title}”"),
            (kind, None) => format!("{verb} a {kind}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_assessment_follows_cruxs_rule() {
        use Rating::{Good, NeedsImprovement, Poor};
        assert_eq!(
            assess(Some(Good), Some(Good), Some(Good)),
            Assessment::Passed
        );
        assert_eq!(assess(Some(Good), None, Some(Good)), Assessment::Passed);
        assert_eq!(
            assess(Some(Good), Some(Poor), Some(Good)),
            Assessment::Failed
        );
        assert_eq!(
            assess(Some(NeedsImprovement), None, Some(Good)),
            Assessment::Failed
        );
        assert_eq!(
            assess(None, Some(Good), Some(Good)),
            Assessment::NotEnoughData
        );
        assert_eq!(
            assess(Some(Good), Some(Good), None),
            Assessment::NotEnoughData
        );
    }

    #[test]
    fn periods_and_filters_come_from_the_query() {
        assert_eq!(Period::parse(None), Period::Month);
        assert_eq!(Period::parse(Some("90d")), Period::Quarter);
        assert_eq!(Period::parse(Some("1y")), Period::Month);
        let none = Filters::parse(Some(String::new()), None, Some(String::new())).expect("ok");
        assert_eq!(none, Filters::default());
        assert!(Filters::parse(None, Some("fridge".into()), None).is_err());
        assert!(Filters::parse(Some("projects".into()), None, None).is_err());
        assert!(Filters::parse(None, None, Some("teleport".into())).is_err());
    }

    #[test]
    fn values_read_in_their_unit() {
        assert_eq!(format_value(Name::Lcp, 812.4), "812 ms");
        assert_eq!(format_value(Name::Lcp, 2345.0), "2.35 s");
        assert_eq!(format_value(Name::Cls, 0.051), "0.05");
    }
}
