-- Covers are served as responsive raster images: `cover` is the default address (the widest
-- file, also used for link previews) and `cover_srcset` the `srcset` candidates
-- ("/a-480.webp 480w, /a-960.webp 960w, ..."); empty when the cover has only one size.
-- Forward-only: never edit this file once it has shipped; add a new migration instead.

alter table projects add column cover_srcset text not null default '';
