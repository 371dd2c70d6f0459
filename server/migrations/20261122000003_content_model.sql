-- The portfolio's content model: the owner's profile, skills, experience, the rest of a
-- project's case-study fields, writing, and contact messages.
-- Forward-only: never edit this file once it has shipped; add a new migration instead.

-- The one profile of the site (a single row, id = 1).
create table profile (
    id            smallint primary key default 1 constraint profile_single_row check (id = 1),
    name          text not null constraint profile_name_length check (length(name) between 1 and 100),
    headline      text not null default '' constraint profile_headline_length check (length(headline) <= 160),
    bio_short     text not null default '' constraint profile_bio_short_length check (length(bio_short) <= 400),
    -- Markdown.
    bio_long      text not null default '',
    location      text not null default '' constraint profile_location_length check (length(location) <= 100),
    availability  text not null default '' constraint profile_availability_length check (length(availability) <= 160),
    avatar        text,
    avatar_alt    text not null default '',
    -- [{"label": "...", "url": "..."}], in display order.
    links         jsonb not null default '[]' constraint profile_links_array check (jsonb_typeof(links) = 'array'),
    updated_at    timestamptz not null default now(),
    version       integer not null default 1
);

create table skills (
    id          bigint generated always as identity primary key,
    category    text not null constraint skills_category_length check (length(category) between 1 and 60),
    name        text not null constraint skills_name_length check (length(name) between 1 and 60),
    sort_order  integer not null default 0,
    constraint skills_category_name_key unique (category, name)
);

create table experience (
    id            bigint generated always as identity primary key,
    role          text not null constraint experience_role_length check (length(role) between 1 and 120),
    organisation  text not null constraint experience_organisation_length check (length(organisation) between 1 and 120),
    -- First day of the starting month; null `ends_on` means "to the present".
    starts_on     date not null,
    ends_on       date constraint experience_dates_ordered check (ends_on is null or ends_on >= starts_on),
    summary       text not null default '' constraint experience_summary_length check (length(summary) <= 600),
    sort_order    integer not null default 0
);

-- The rest of a case study.
alter table projects
    add column role        text not null default '' constraint projects_role_length check (length(role) <= 120),
    add column stack       text[] not null default '{}',
    add column live_url    text constraint projects_live_url_scheme check (live_url ~ '^https?://'),
    add column source_url  text constraint projects_source_url_scheme check (source_url ~ '^https?://'),
    add column cover       text,
    -- Alt text is required whenever there is a cover.
    add column cover_alt   text not null default '',
    add constraint projects_cover_has_alt check (cover is null or length(cover_alt) between 1 and 300);

create index projects_tags on projects using gin (tags);

create table posts (
    id           bigint generated always as identity primary key,
    slug         text not null
                 constraint posts_slug_key unique
                 constraint posts_slug_format check (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' and length(slug) <= 80),
    title        text not null constraint posts_title_length check (length(title) between 1 and 200),
    summary      text not null default '' constraint posts_summary_length check (length(summary) <= 500),
    body         text not null default '',
    tags         text[] not null default '{}',
    -- Null while a draft; a future time schedules the publication.
    published_at timestamptz,
    created_at   timestamptz not null default now(),
    updated_at   timestamptz not null default now(),
    version      integer not null default 1
);

create index posts_published on posts (published_at desc) where published_at is not null;

-- Stored before the visitor is told the message was sent.
create table contact_messages (
    id          bigint generated always as identity primary key,
    name        text not null constraint contact_messages_name_length check (length(name) between 1 and 100),
    email       text not null constraint contact_messages_email_length check (length(email) between 3 and 254),
    message     text not null constraint contact_messages_message_length check (length(message) between 1 and 5000),
    received_at timestamptz not null default now(),
    read        boolean not null default false
);

create index contact_messages_received on contact_messages (received_at desc);

-- Facts about the site itself, e.g. that the demo content was loaded once.
create table site_state (
    key    text primary key,
    value  text not null,
    set_at timestamptz not null default now()
);

-- Visitors' pages show all of these: changes must reach every instance's page cache.
create trigger profile_content_changed
    after insert or update or delete or truncate on profile
    for each statement execute function folio_content_changed();
create trigger skills_content_changed
    after insert or update or delete or truncate on skills
    for each statement execute function folio_content_changed();
create trigger experience_content_changed
    after insert or update or delete or truncate on experience
    for each statement execute function folio_content_changed();
create trigger posts_content_changed
    after insert or update or delete or truncate on posts
    for each statement execute function folio_content_changed();
