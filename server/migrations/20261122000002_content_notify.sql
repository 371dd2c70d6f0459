-- Tell every folio instance when published content changes, so their page caches drop
-- what they rendered. NOTIFY is delivered at commit, never for a rolled-back change.
-- Every content table gets the same statement-level trigger (add one with each new table).

create function folio_content_changed() returns trigger
language plpgsql as $$
begin
    perform pg_notify('folio_content', tg_table_name);
    return null;
end
$$;

create trigger projects_content_changed
    after insert or update or delete or truncate on projects
    for each statement execute function folio_content_changed();
