//! sitemap.xml, the Atom feed and robots.txt: well-formed, absolute, published items only.

use crate::common::{body_text, config, get};
use folio_server::{AppState, router};
use sqlx::PgPool;
use tower::ServiceExt;

async fn fetch(pool: &PgPool, uri: &str) -> (String, String) {
    let response = router(AppState::new(config(), pool.clone()))
        .oneshot(get(uri))
        .await
        .expect("response");
    assert_eq!(response.status(), 200, "{uri}");
    let content_type = response.headers()["content-type"]
        .to_str()
        .expect("ascii")
        .to_owned();
    (content_type, body_text(response).await)
}

/// Every element's text (entities resolved), in order, from a document that must parse as XML.
fn xml_texts(document: &str) -> Vec<String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(document);
    let (mut texts, mut current) = (Vec::new(), String::new());
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Text(text) => current.push_str(&text.xml_content().expect("valid text")),
            Event::GeneralRef(entity) => {
                let c = match entity.resolve_char_ref().expect("valid reference") {
                    Some(c) => c,
                    None => match &*entity.decode().expect("utf-8") {
                        "lt" => '<',
                        "gt" => '>',
                        "amp" => '&',
                        "quot" => '"',
                        "apos" => '\'',
                        other => panic!("undeclared entity &{other};"),
                    },
                };
                current.push(c);
            }
            Event::Eof => break,
            _ => {
                if !current.trim().is_empty() {
                    texts.push(current.clone());
                }
                current.clear();
            }
        }
    }
    texts
}

async fn seed(pool: &PgPool) {
    // Several statements: sent unprepared, as one simple query.
    sqlx::raw_sql(
        "insert into projects (slug, title, published_at) values
            ('public-one', 'Public & <proud>', now()),
            ('draft-one', 'Draft', null),
            ('later-one', 'Later', now() + interval '1 day');
         insert into posts (slug, title, summary, body, published_at) values
            ('hello', 'Hello <world> & \"friends\"', 'A summary', '## Hi\n\n<script>x</script> text', now()),
            ('unpublished', 'Not yet', '', '', null),
            ('tomorrow', 'Tomorrow', '', '', now() + interval '1 day');",
    )
    .execute(pool)
    .await
    .expect("seed");
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn the_sitemap_lists_published_pages_with_absolute_urls(pool: PgPool) {
    seed(&pool).await;
    let (content_type, body) = fetch(&pool, "/sitemap.xml").await;
    assert!(content_type.starts_with("application/xml"));
    let texts = xml_texts(&body);
    let base = config().public_url;
    for path in [
        "/",
        "/projects",
        "/writing",
        "/about",
        "/contact",
        "/projects/public-one",
        "/writing/hello",
    ] {
        assert!(
            texts.contains(&format!("{base}{path}")),
            "{path} missing: {texts:?}"
        );
    }
    for hidden in ["draft-one", "later-one", "unpublished", "tomorrow"] {
        assert!(!body.contains(hidden), "{hidden} must not be listed");
    }
    assert!(body.contains("<lastmod>"));
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn the_feed_is_atom_with_published_posts_only(pool: PgPool) {
    seed(&pool).await;
    let (content_type, body) = fetch(&pool, "/feed.xml").await;
    assert!(content_type.starts_with("application/atom+xml"));
    let texts = xml_texts(&body);
    assert!(
        texts.contains(&"Hello <world> & \"friends\"".to_owned()),
        "{texts:?}"
    );
    assert_eq!(body.matches("<entry>").count(), 1);
    assert!(!body.contains("Not yet") && !body.contains("Tomorrow"));
    // The content is the sanitized rendering, escaped into the feed.
    let content = texts
        .iter()
        .find(|t| t.contains("<h2"))
        .expect("html content");
    assert!(!content.contains("<script"), "{content}");
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn an_empty_site_still_has_valid_documents(pool: PgPool) {
    xml_texts(&fetch(&pool, "/sitemap.xml").await.1);
    xml_texts(&fetch(&pool, "/feed.xml").await.1);
    let (_, robots) = fetch(&pool, "/robots.txt").await;
    assert!(robots.contains(&format!("Sitemap: {}/sitemap.xml", config().public_url)));
}
