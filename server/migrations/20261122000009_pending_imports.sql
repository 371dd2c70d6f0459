-- Imports waiting for the owner's confirmation: an uploaded archive is checked and summarised
-- first, then applied only when the owner confirms. Kept in PostgreSQL so the confirmation may
-- reach any instance; forgotten after an hour.
-- Forward-only: never edit this file once it has shipped; add a new migration instead.

create table pending_imports (
    -- 128 random bits, hex: the confirmation form's only reference to the archive.
    token       text primary key constraint pending_imports_token_format check (token ~ '^[0-9a-f]{32}$'),
    archive     bytea not null,
    created_at  timestamptz not null default now()
);
