-- The owner: one account, one-time setup links, sign-in failure counters, and the security log.
-- Forward-only: never edit this file once it has shipped; add a new migration instead.

-- The site's one owner (a single row, id = 1).
create table owner (
    id             smallint primary key default 1 constraint owner_single_row check (id = 1),
    email          text not null constraint owner_email_length check (length(email) between 3 and 254),
    -- PHC string: $argon2id$v=19$m=19456,t=2,p=1$salt$hash
    password_hash  text not null constraint owner_password_hash_phc check (password_hash like '$argon2id$%'),
    -- Bumped by a password change and by "sign out everywhere": a session signed in under an
    -- older epoch is ended on its next request, whichever instance serves it.
    session_epoch  integer not null default 1,
    created_at     timestamptz not null default now(),
    updated_at     timestamptz not null default now()
);

-- One-time links that let the first owner set an email and password. Only a SHA-256 of the
-- token is kept, so the table cannot be replayed into a link.
create table setup_tokens (
    token_sha256  bytea primary key constraint setup_tokens_hash_length check (length(token_sha256) = 32),
    created_at    timestamptz not null default now(),
    expires_at    timestamptz not null,
    used_at       timestamptz
);

-- Failed sign-ins, per account (`account:<email>`) and per client address (`address:<ip>`),
-- shared by every instance.
create table sign_in_failures (
    key              text primary key,
    failures         integer not null default 0 constraint sign_in_failures_count check (failures >= 0),
    last_failure_at  timestamptz,
    locked_until     timestamptz
);

-- What happened to the owner's account. Never passwords, tokens or session ids.
create table security_log (
    id      bigint generated always as identity primary key,
    at      timestamptz not null default now(),
    event   text not null constraint security_log_event_format check (event ~ '^[a-z_]{1,40}$'),
    -- The client address, or 'command line'.
    client  text not null default '',
    detail  text not null default '' constraint security_log_detail_length check (length(detail) <= 500)
);

create index security_log_at on security_log (at desc);
