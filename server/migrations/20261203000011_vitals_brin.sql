-- The raw Web Vitals rows are appended in day order and read and deleted by ranges of days
-- (the dashboard's period, the rollup's cut-off). A BRIN index answers those ranges from a
-- few bytes per 128 pages, where the btree indexes it replaces took an insert into a tree for
-- every stored value: the most frequent write folio makes, on the beacon's hot path.
-- Forward-only: never edit this file once it has shipped; add a new migration instead.

drop index vitals_metrics_day;
create index vitals_metrics_day on vitals_metrics using brin (day) with (autosummarize = on);

drop index vitals_views_day;
create index vitals_views_day on vitals_views using brin (day) with (autosummarize = on);
