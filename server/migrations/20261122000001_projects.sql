-- Projects: the case studies on the portfolio.
-- Forward-only: never edit this file once it has shipped; add a new migration instead.

create table projects (
    id          bigint generated always as identity primary key,
    -- The address of the project page: lowercase words joined by single hyphens.
    slug        text not null
                constraint projects_slug_key unique
                constraint projects_slug_format check (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' and length(slug) <= 80),
    title       text not null constraint projects_title_length check (length(title) between 1 and 200),
    summary     text not null default '' constraint projects_summary_length check (length(summary) <= 500),
    body        text not null default '',
    year        integer constraint projects_year_range check (year between 1900 and 2200),
    tags        text[] not null default '{}',
    featured    boolean not null default false,
    -- The owner's order: lower first.
    sort_order  integer not null default 0,
    -- Null while a draft; a future time schedules the publication.
    published_at timestamptz,
    created_at  timestamptz not null default now(),
    updated_at  timestamptz not null default now(),
    -- Optimistic concurrency: every save increments it.
    version     integer not null default 1
);

-- The public list: published projects in the owner's order.
create index projects_published_order on projects (sort_order, published_at desc)
    where published_at is not null;
