-- The media store: images the owner uploaded, re-encoded into responsive WebP widths.
-- Kept in PostgreSQL so every instance serves the same files and an export carries them.
-- Forward-only: never edit this file once it has shipped; add a new migration instead.

create table media (
    id              bigint generated always as identity primary key,
    -- The server's name for the file: 32 hex digits, never the upload's name.
    key             text not null constraint media_key_key unique
                    constraint media_key_format check (key ~ '^[0-9a-f]{32}$'),
    alt             text not null constraint media_alt_length check (length(alt) between 1 and 300),
    -- The upright original's size.
    width           integer not null constraint media_width_positive check (width > 0),
    height          integer not null constraint media_height_positive check (height > 0),
    original_bytes  bigint not null,
    created_at      timestamptz not null default now()
);

create index media_created on media (created_at desc);

-- One WebP per stored width.
create table media_variants (
    media_id  bigint not null references media (id) on delete cascade,
    width     integer not null constraint media_variants_width_positive check (width > 0),
    height    integer not null constraint media_variants_height_positive check (height > 0),
    data      bytea not null,
    primary key (media_id, width)
);
