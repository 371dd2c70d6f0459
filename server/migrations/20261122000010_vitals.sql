-- Core Web Vitals from real visitors (`POST /api/vitals`, see server/src/vitals).
--
-- Raw rows (one per page view, one per metric id) are kept for `vitals-retention-days`, then
-- rolled up into the daily tables and deleted, in one transaction. No IP address and no user
-- agent is ever stored: a page view carries only a visitor hash made with the day's salt, and
-- the salts themselves are deleted after 48 hours, so old hashes can no longer be linked to
-- anyone. These tables are analytics, not content: exports leave them out.
-- Forward-only: never edit this file once it has shipped; add a new migration instead.

-- One random salt per UTC day for the visitor hash, sha256(salt, client address, user agent).
create table vitals_salts (
    day        date        primary key,
    salt       bytea       not null constraint vitals_salts_length check (length(salt) = 32),
    created_at timestamptz not null default now()
);

-- One row per page view (the collector's view id), written by its first beacon.
create table vitals_views (
    -- The server checks ids' characters; a regular expression here cost more than the rest
    -- of the insert.
    view_id       text        primary key constraint vitals_views_id_length check (length(view_id) between 8 and 64),
    day           date        not null,
    -- The app's route pattern (`/projects/{slug}`), or `(other)`; never the visited URL.
    route         text        not null,
    device        text        not null constraint vitals_views_device check (device in ('mobile', 'tablet', 'desktop')),
    nav           text        not null,
    -- Only the host of an external referrer.
    referrer_host text,
    visitor       bytea       not null constraint vitals_views_visitor_length check (length(visitor) = 32),
    created_at    timestamptz not null default now()
);
create index vitals_views_day on vitals_views (day, route);

-- One row per metric id: CLS and INP are reported again as they grow, and a re-report
-- replaces the value.
create table vitals_metrics (
    metric_id   text             primary key constraint vitals_metrics_id_length check (length(metric_id) between 8 and 64),
    view_id     text             not null,
    day         date             not null,
    name        text             not null constraint vitals_metrics_name check (name in ('LCP', 'INP', 'CLS', 'FCP', 'TTFB')),
    -- Milliseconds, except CLS (unitless).
    value       double precision not null constraint vitals_metrics_value check (value >= 0),
    -- Worked out by the server from the value with web-vitals' thresholds.
    rating      text             not null constraint vitals_metrics_rating check (rating in ('good', 'needs-improvement', 'poor')),
    -- The value's histogram bin (server/src/vitals/bins.rs), kept by the daily rollup.
    bin         smallint         not null,
    route       text             not null,
    device      text             not null constraint vitals_metrics_device check (device in ('mobile', 'tablet', 'desktop')),
    nav         text             not null,
    ect         text,
    -- A few named strings and numbers: what made the value what it is (LCP's element, ...).
    attribution jsonb            not null default '{}' constraint vitals_metrics_attribution check (jsonb_typeof(attribution) = 'object'),
    created_at  timestamptz      not null default now(),
    updated_at  timestamptz      not null default now()
);
create index vitals_metrics_day on vitals_metrics (day);

-- The rolled-up values: how many fell into each histogram bin, per day, route, metric,
-- device, navigation type and rating (a bin can straddle a threshold, so the rating is kept
-- to give exact good / needs-improvement / poor shares).
create table vitals_daily (
    day    date     not null,
    route  text     not null,
    name   text     not null,
    device text     not null,
    nav    text     not null,
    rating text     not null,
    bin    smallint not null,
    count  bigint   not null constraint vitals_daily_count check (count > 0),
    primary key (day, route, name, device, nav, rating, bin)
);

-- Rolled-up page views and unique visitors (distinct visitor hashes that day) per route.
create table vitals_daily_views (
    day      date   not null,
    route    text   not null,
    views    bigint not null,
    visitors bigint not null,
    primary key (day, route)
);

-- Rolled-up page views per external referrer host.
create table vitals_daily_referrers (
    day   date   not null,
    host  text   not null,
    views bigint not null,
    primary key (day, host)
);
