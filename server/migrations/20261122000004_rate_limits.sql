-- Fixed-window counters for rate limits shared by every instance: contact messages per client
-- address now, sign-in attempts later. A row counts the hits for one key in one window.
-- Forward-only: never edit this file once it has shipped; add a new migration instead.

create table rate_limits (
    bucket       text        not null,
    key          text        not null,
    window_start timestamptz not null,
    hits         integer     not null default 1,
    primary key (bucket, key, window_start)
);

-- The janitor deletes windows that have ended.
create index rate_limits_window on rate_limits (window_start);
