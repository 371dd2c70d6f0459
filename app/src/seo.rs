//! What search engines and link previews read: title, description, canonical URL, OpenGraph
//! and Twitter cards, and JSON-LD. Every URL is absolute, on the configured public URL.

use crate::SiteAssets;
use leptos::prelude::*;
use leptos::serde_json::{self, Value};
use leptos_meta::{Link, Meta, Title};

/// A page's description for search results and link previews.
#[component]
pub fn Seo(
    title: String,
    description: String,
    /// The page's path, e.g. `/projects/tide-tables`; made absolute for the canonical URL.
    path: String,
    /// A preview image (path, alt text).
    #[prop(default = None)]
    image: Option<(String, String)>,
    /// `article` for case studies and posts, `website` otherwise.
    #[prop(optional)]
    article: bool,
    /// Structured data for this page (schema.org), if any; its `url` and `image` default to
    /// the canonical URL and the preview image.
    #[prop(optional)]
    json_ld: Option<Value>,
    /// Keep this page out of search results (e.g. a confirmation page).
    #[prop(optional)]
    noindex: bool,
) -> impl IntoView {
    let origin = origin();
    let url = format!("{origin}{path}");
    let image = image.map(|(src, alt)| (absolute(&origin, &src), alt));
    // The structured data names the page and its picture as the tags do, unless it says.
    let json_ld = json_ld.map(|mut data| {
        if let Value::Object(fields) = &mut data {
            fields
                .entry("url")
                .or_insert_with(|| Value::from(url.clone()));
            if let Some((src, _)) = &image {
                fields
                    .entry("image")
                    .or_insert_with(|| Value::from(src.clone()));
            }
        }
        data
    });
    let card = if image.is_some() {
        "summary_large_image"
    } else {
        "summary"
    };
    view! {
        <Title text=title.clone()/>
        <Meta name="description" content=description.clone()/>
        <Link rel="canonical" href=url.clone()/>
        <Meta property="og:type" content=if article { "article" } else { "website" }/>
        <Meta property="og:title" content=title.clone()/>
        <Meta property="og:description" content=description.clone()/>
        <Meta property="og:url" content=url/>
        <Meta name="twitter:card" content=card/>
        <Meta name="twitter:title" content=title/>
        <Meta name="twitter:description" content=description/>
        {image.map(|(src, alt)| view! {
            <Meta property="og:image" content=src.clone()/>
            <Meta property="og:image:alt" content=alt.clone()/>
            <Meta name="twitter:image" content=src/>
            <Meta name="twitter:image:alt" content=alt/>
        })}
        {json_ld.map(|data| view! { <JsonLd data/> })}
        {noindex.then(|| view! { <Meta name="robots" content="noindex"/> })}
    }
}

/// The public origin, for absolute URLs in structured data.
pub fn origin() -> String {
    use_context::<SiteAssets>()
        .map(|s| s.origin)
        .unwrap_or_default()
}

/// schema.org `Person` for the site's owner.
pub fn person(profile: &crate::content::profile::Profile) -> Value {
    let origin = origin();
    let same_as: Vec<&str> = profile
        .links
        .iter()
        .map(|l| l.url.as_str())
        .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
        .collect();
    serde_json::json!({
        "@context": "https://schema.org",
        "@type": "Person",
        "name": profile.name,
        "description": profile.headline,
        "url": format!("{origin}/"),
        "image": profile.avatar.as_ref().map(|(src, _)| absolute(&origin, src)),
        "sameAs": same_as,
    })
}

/// `path` on `origin`, unless it is already absolute.
pub fn absolute(origin: &str, path: &str) -> String {
    if path.starts_with("http://") || path.starts_with("https://") {
        path.to_owned()
    } else {
        format!("{origin}{path}")
    }
}

/// A `<script type="application/ld+json">` block. The JSON is written with `<`, `>` and `&`
/// as escapes, so no content can close the element or be read as markup. It carries no nonce:
/// a data block is never run, so the CSP does not gate it, and each nonce on a page is one more
/// break in the page cache's gzip copy.
#[component]
fn JsonLd(data: Value) -> impl IntoView {
    let json = serde_json::to_string(&data)
        .unwrap_or_default()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026");
    view! { <script type="application/ld+json">{json}</script> }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_become_absolute_and_urls_stay() {
        assert_eq!(
            absolute("https://a.example", "/demo/x.svg"),
            "https://a.example/demo/x.svg"
        );
        assert_eq!(
            absolute("https://a.example", "https://cdn.example/x"),
            "https://cdn.example/x"
        );
    }
}
