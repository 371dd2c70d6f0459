-- Revisions: every save of the profile, a project or a post, so nothing the owner wrote is ever
-- lost. Each row is the whole editable state of one item at one version, written in the same
-- transaction as the change it records; restoring one writes a new revision.
-- Forward-only: never edit this file once it has shipped; add a new migration instead.

create table revisions (
    id          bigint generated always as identity primary key,
    kind        text not null constraint revisions_kind check (kind in ('profile', 'project', 'post')),
    -- The item's id (1 for the profile). Kept after the item is deleted, so a deletion can be
    -- undone from its last revision.
    item_id     bigint not null,
    -- The item's `version` once this change was made.
    version     integer not null constraint revisions_version_positive check (version > 0),
    action      text not null constraint revisions_action check (action in
                ('baseline', 'create', 'save', 'publish', 'unpublish', 'schedule', 'restore',
                 'delete', 'undelete', 'duplicate')),
    -- The editable fields as the form shows them: {"title": "...", "body": "...", ...}.
    data        jsonb not null constraint revisions_data_object check (jsonb_typeof(data) = 'object'),
    -- When the item was (to be) published at this version; null for a draft and the profile.
    published_at timestamptz,
    created_at  timestamptz not null default now(),
    constraint revisions_item_version_key unique (kind, item_id, version)
);

-- An item's history, newest first; and "what changed when", for the vitals dashboard.
create index revisions_item on revisions (kind, item_id, version desc);
create index revisions_created on revisions (created_at desc);
