//! Machine-readable views of the site: `sitemap.xml`, the Atom feed of writing, `robots.txt`.
//!
//! Only published items appear (`published_at <= now()`), with absolute URLs built on the
//! configured public URL. These are ordinary routes, so the page cache does not hold them; they
//! are cheap queries over small tables.

use crate::AppState;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::fmt::Write;

/// Escapes text for XML content and attribute values.
fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

fn respond(content_type: &'static str, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=300"),
            ),
        ],
        body,
    )
        .into_response()
}

fn failed(error: &sqlx::Error) -> Response {
    tracing::error!(%error, "reading content for a feed failed");
    (StatusCode::SERVICE_UNAVAILABLE, "try again shortly\n").into_response()
}

/// Every public page, with the date it last changed where there is one.
pub async fn sitemap(State(state): State<AppState>) -> Response {
    let base = &state.config.public_url;
    let items = sqlx::query!(
        r#"
        select '/projects/' || slug as "path!", to_char(updated_at at time zone 'UTC', 'YYYY-MM-DD') as "lastmod!"
        from projects where published_at <= now()
        union all
        select '/writing/' || slug, to_char(updated_at at time zone 'UTC', 'YYYY-MM-DD')
        from posts where published_at <= now()
        order by 1
        "#
    )
    .fetch_all(&state.pool)
    .await;
    let items = match items {
        Ok(items) => items,
        Err(error) => return failed(&error),
    };
    let mut body = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    for path in ["/", "/projects", "/writing", "/about", "/contact"] {
        let _ = writeln!(
            body,
            "  <url><loc>{}</loc></url>",
            xml(&format!("{base}{path}"))
        );
    }
    for item in items {
        let _ = writeln!(
            body,
            "  <url><loc>{}</loc><lastmod>{}</lastmod></url>",
            xml(&format!("{base}{}", item.path)),
            xml(&item.lastmod)
        );
    }
    body.push_str("</urlset>\n");
    respond("application/xml; charset=utf-8", body)
}

/// The newest posts as an Atom feed (RFC 4287), full text included.
pub async fn atom(State(state): State<AppState>) -> Response {
    let base = &state.config.public_url;
    let posts = sqlx::query!(
        r#"
        select slug, title, summary, body,
               to_char(published_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as "published!",
               to_char(greatest(updated_at, published_at) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as "updated!"
        from posts
        where published_at <= now()
        order by published_at desc
        limit 20
        "#
    )
    .fetch_all(&state.pool)
    .await;
    let posts = match posts {
        Ok(posts) => posts,
        Err(error) => return failed(&error),
    };
    let author = sqlx::query_scalar!("select name from profile")
        .fetch_optional(&state.pool)
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| "folio".into());
    // The feed changes when its newest entry does; an empty feed still needs a date.
    let updated = posts
        .iter()
        .map(|p| p.updated.as_str())
        .max()
        .unwrap_or("1970-01-01T00:00:00Z")
        .to_owned();
    let mut body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <feed xmlns=\"http://www.w3.org/2005/Atom\">\n\
         \x20 <title>{title}</title>\n\
         \x20 <id>{base}/writing</id>\n\
         \x20 <link rel=\"alternate\" type=\"text/html\" href=\"{base}/writing\"/>\n\
         \x20 <link rel=\"self\" type=\"application/atom+xml\" href=\"{base}/feed.xml\"/>\n\
         \x20 <updated>{updated}</updated>\n\
         \x20 <author><name>{author}</name></author>\n",
        title = xml(&format!("Writing by {author}")),
        base = xml(base),
        author = xml(&author),
    );
    for post in posts {
        let url = xml(&format!("{base}/writing/{}", post.slug));
        let html = app::content::markdown::render(&post.body).html;
        let _ = write!(
            body,
            "  <entry>\n    <title>{}</title>\n    <id>{url}</id>\n    <link rel=\"alternate\" type=\"text/html\" href=\"{url}\"/>\n    <published>{}</published>\n    <updated>{}</updated>\n    <summary>{}</summary>\n    <content type=\"html\">{}</content>\n  </entry>\n",
            xml(&post.title),
            post.published,
            post.updated,
            xml(&post.summary),
            xml(&html),
        );
    }
    body.push_str("</feed>\n");
    respond("application/atom+xml; charset=utf-8", body)
}

/// Everything may be crawled; the sitemap says what there is.
pub async fn robots(State(state): State<AppState>) -> Response {
    respond(
        "text/plain; charset=utf-8",
        format!(
            "User-agent: *\nAllow: /\n\nSitemap: {}/sitemap.xml\n",
            state.config.public_url
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::xml;

    #[test]
    fn text_is_escaped_for_xml() {
        assert_eq!(
            xml("a < b & \"c\" 'd' >"),
            "a &lt; b &amp; &quot;c&quot; &apos;d&apos; &gt;"
        );
        assert_eq!(xml("bell\u{7}tab\t"), "belltab\t");
    }
}
