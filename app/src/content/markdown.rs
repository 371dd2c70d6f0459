//! Markdown to safe HTML, on the server only: case studies and other long-form text.
//!
//! [`render`] parses CommonMark (plus tables, footnotes, strikethrough, task lists and smart
//! punctuation), gives every heading a stable anchor, highlights fenced code into class-based
//! spans, and passes the result through one allow-list sanitizer ([`sanitize_html`]). Raw HTML
//! in the source is never markup: it is shown as text, and HTML comments are dropped.
//!
//! What belongs here is turning text into HTML. Storing the text, caching whole pages and laying
//! them out belong to the feature that owns the text. The token colours live in
//! the highlighting section of `style/main.css`, written by hand for the `hl-` classes emitted here.
//!
//! Nothing here may reach the WASM build: the parser, the grammars and the sanitizer would add
//! megabytes to it, and the browser never renders Markdown.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, LazyLock, Mutex};

use ammonia::{Builder, Url, UrlRelative};
use pulldown_cmark::{
    Alignment, CodeBlockKind, CowStr, Event, HeadingLevel, LinkType, Options, Parser, Tag, TagEnd,
};
use syntect::easy::ScopeRangeIterator;
use syntect::parsing::{ParseState, Scope, ScopeStack, SyntaxSet};
use syntect::util::LinesWithEndings;

/// A rendered document: sanitized HTML and the headings it contains.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rendered {
    /// Sanitized HTML, safe to insert into a page as it is.
    pub html: String,
    /// Every heading of the body in document order, for a table of contents.
    pub headings: Vec<Heading>,
}

/// One heading of a rendered document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heading {
    /// 2 to 6: a Markdown `#` becomes level 2, because the page owns the only `<h1>`.
    pub level: u8,
    /// The heading's `id`, unique in the document; link to it with `#id`.
    pub id: String,
    /// The heading's plain text, whitespace collapsed.
    pub text: String,
}

/// URL schemes a link or an image may use; anything else (`javascript:`, `data:`, `vbscript:`...)
/// is dropped. Relative URLs are allowed as well.
const URL_SCHEMES: [&str; 3] = ["http", "https", "mailto"];

/// Ids the page around the body already uses: a heading never takes one, or the skip link
/// (`#main`) would land on the heading instead.
const RESERVED_IDS: [&str; 1] = ["main"];

/// What a heading's id falls back to when its text has no letter or digit.
const EMPTY_SLUG: &str = "section";

/// Classes that carry a table column's alignment, since inline `style` is blocked by the CSP.
const TABLE_CELL_CLASSES: [&str; 3] = ["align-left", "align-center", "align-right"];

/// Larger code blocks are shown unhighlighted: with pure-Rust regexes syntect parses some
/// 10 000 to 20 000 lines a second on one core, and one pasted log file should not hold a server
/// thread for long.
const MAX_HIGHLIGHTED_BYTES: usize = 16 * 1024;

/// How much highlighted HTML [`HIGHLIGHTED`] keeps before it starts again from empty.
const HIGHLIGHT_CACHE_BYTES: usize = 4 * 1024 * 1024;

/// The prefix of every highlighting class, so they cannot collide with the site's own classes.
const HIGHLIGHT_PREFIX: &str = "hl-";

/// Sublime Text grammars for the common languages, loaded once (it takes milliseconds).
static SYNTAXES: LazyLock<SyntaxSet> = LazyLock::new(SyntaxSet::load_defaults_newlines);

/// Code blocks already highlighted, by language and text. Highlighting is by far the slowest step
/// (a 20-line block costs more than sanitizing a page of prose), so a page rendered again, or an
/// editor preview rendered on every change, only pays for the blocks that changed.
static HIGHLIGHTED: LazyLock<Mutex<HighlightCache>> = LazyLock::new(Mutex::default);

/// The one sanitizer, built once: building it allocates every allow-list.
static SANITIZER: LazyLock<Builder<'static>> = LazyLock::new(sanitizer);

/// What the media store knows of an uploaded image: its size and every stored width, so the
/// renderer can give it `width`, `height` and a `srcset` (nothing shifts as it loads).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageFacts {
    pub width: u32,
    pub height: u32,
    /// `/media/<key>-480.webp 480w, …`
    pub srcset: String,
}

/// Images the renderer can size, by their `src`.
pub type ImageSizes = HashMap<String, ImageFacts>;

/// How wide a body image is drawn: the text column, or the screen less its margins on a phone.
const BODY_IMAGE_SIZES: &str = "(min-width: 46rem) 44rem, calc(100vw - 2rem)";

/// The media keys a Markdown text refers to (`/media/<32 hex digits>-…`), for looking their
/// facts up before rendering.
pub fn media_keys(markdown: &str) -> Vec<String> {
    let mut keys: Vec<String> = markdown
        .match_indices("/media/")
        .filter_map(|(at, found)| {
            let key = markdown.get(at + found.len()..at + found.len() + 32)?;
            let dash = markdown.get(at + found.len() + 32..at + found.len() + 33)?;
            (dash == "-" && key.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
                .then(|| key.to_owned())
        })
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// Renders Markdown to sanitized HTML and lists its headings.
pub fn render(markdown: &str) -> Rendered {
    render_sized(markdown, &ImageSizes::new())
}

/// [`render`], giving the images in `sizes` their width, height and `srcset`.
pub fn render_sized(markdown: &str, sizes: &ImageSizes) -> Rendered {
    // Not `ENABLE_HEADING_ATTRIBUTES`: `{#id .class}` would let the text choose ids and classes.
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_SMART_PUNCTUATION;

    let mut body = Body {
        sizes: Some(sizes),
        ..Body::default()
    };
    for event in Parser::new_ext(markdown, options) {
        body.push(event);
    }
    let (events, headings) = body.finish();

    let mut html = String::with_capacity(markdown.len() + markdown.len() / 2);
    pulldown_cmark::html::push_html(&mut html, events.into_iter());
    Rendered {
        html: sanitize_html(&html),
        headings,
    }
}

/// Sanitizes HTML with the same allow-list [`render`] uses.
///
/// Only the elements and attributes the renderer emits survive, URLs must be relative or use
/// `http`, `https` or `mailto`, and ids and classes must have the shapes the renderer gives
/// them. Sanitizing twice gives the same result as sanitizing once.
pub fn sanitize_html(html: &str) -> String {
    SANITIZER.clean(html).to_string()
}

/// The allow-list: what the renderer emits, and nothing else.
fn sanitizer() -> Builder<'static> {
    let tags: HashSet<&str> = [
        "a",
        "blockquote",
        "br",
        "code",
        "del",
        "em",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "img",
        "li",
        "ol",
        "p",
        "pre",
        "section",
        "span",
        "strong",
        "sup",
        "table",
        "tbody",
        "td",
        "th",
        "thead",
        "tr",
        "ul",
    ]
    .into();
    // Removed with everything inside them: their content is code, styles or another document,
    // never text a reader should see.
    let clean_content_tags: HashSet<&str> = [
        "applet", "embed", "frame", "frameset", "iframe", "math", "noembed", "noframes",
        "noscript", "object", "script", "select", "style", "svg", "template", "textarea", "title",
        "xmp",
    ]
    .into();
    let heading_attributes: HashSet<&str> = ["id"].into();
    let tag_attributes: HashMap<&str, HashSet<&str>> = [
        (
            "a",
            ["href", "title", "rel", "class", "id", "aria-label"].into(),
        ),
        (
            "img",
            [
                "src", "alt", "title", "loading", "decoding", "width", "height", "srcset", "sizes",
            ]
            .into(),
        ),
        ("h2", heading_attributes.clone()),
        ("h3", heading_attributes.clone()),
        ("h4", heading_attributes.clone()),
        ("h5", heading_attributes.clone()),
        ("h6", heading_attributes),
        ("pre", ["tabindex"].into()),
        ("span", ["class"].into()),
        ("sup", ["class"].into()),
        ("section", ["class", "aria-label"].into()),
        ("ol", ["start"].into()),
        ("li", ["id"].into()),
        ("th", ["class", "scope"].into()),
        ("td", ["class"].into()),
    ]
    .into();

    let mut builder = Builder::empty();
    builder
        .tags(tags)
        .clean_content_tags(clean_content_tags)
        .generic_attributes(HashSet::new())
        .tag_attributes(tag_attributes)
        .url_schemes(URL_SCHEMES.into())
        .url_relative(UrlRelative::PassThrough)
        // Ammonia's `link_rel` would put `noreferrer` on links to this very site too; the
        // renderer adds `rel` to external links only, and the filter below checks its value.
        .link_rel(None)
        .strip_comments(true)
        .id_prefix(None)
        .attribute_filter(filter_attribute);
    builder
}

/// A `srcset` of media-store files only: `/media/<key>-<w>.webp <w>w, …`.
fn is_media_srcset(value: &str) -> bool {
    value.split(", ").all(|candidate| {
        let Some((url, descriptor)) = candidate.split_once(' ') else {
            return false;
        };
        let digits =
            |s: &str| !s.is_empty() && s.len() <= 5 && s.bytes().all(|b| b.is_ascii_digit());
        let file = url
            .strip_prefix("/media/")
            .and_then(|rest| rest.strip_suffix(".webp"))
            .and_then(|stem| stem.split_once('-'));
        matches!(file, Some((key, width)) if key.len() == 32
            && key.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
            && digits(width))
            && descriptor.strip_suffix('w').is_some_and(digits)
    })
}

/// Checks the value of an attribute the allow-list lets through: ids, classes and the few
/// enumerated attributes must be exactly what the renderer writes.
fn filter_attribute<'u>(element: &str, attribute: &str, value: &'u str) -> Option<Cow<'u, str>> {
    let keep = match (element, attribute) {
        (_, "class") => return filter_classes(element, value),
        ("a", "rel") => return filter_tokens(value, |token| REL_TOKENS.contains(&token)),
        ("h2" | "h3" | "h4" | "h5" | "h6", "id") => {
            is_slug(value) && !RESERVED_IDS.contains(&value)
        }
        ("li", "id") => is_footnote_id(value, FOOTNOTE_ID),
        ("a", "id") => is_footnote_id(value, FOOTNOTE_REF_ID),
        (_, "id") => false,
        ("pre", "tabindex") => value == "0",
        ("img", "loading") => value == "lazy",
        ("img", "decoding") => value == "async",
        ("img", "width" | "height") => {
            !value.is_empty() && value.len() <= 5 && value.bytes().all(|b| b.is_ascii_digit())
        }
        ("img", "srcset") => is_media_srcset(value),
        ("img", "sizes") => value == BODY_IMAGE_SIZES,
        ("th", "scope") => value == "col",
        ("ol", "start") => !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()),
        _ => true,
    };
    keep.then_some(Cow::Borrowed(value))
}

/// The `rel` tokens the renderer puts on external links.
const REL_TOKENS: [&str; 2] = ["noopener", "noreferrer"];

/// Keeps the classes the renderer emits on `element`.
fn filter_classes<'u>(element: &str, value: &'u str) -> Option<Cow<'u, str>> {
    match element {
        "span" => filter_tokens(value, |class| {
            class.len() > HIGHLIGHT_PREFIX.len()
                && class.starts_with(HIGHLIGHT_PREFIX)
                && class.bytes().all(|b| b.is_ascii_graphic())
        }),
        "a" => filter_tokens(value, |class| {
            matches!(class, "anchor" | "footnote-backref")
        }),
        "sup" => filter_tokens(value, |class| class == "footnote-ref"),
        "section" => filter_tokens(value, |class| class == "footnotes"),
        "th" | "td" => filter_tokens(value, |class| TABLE_CELL_CLASSES.contains(&class)),
        _ => None,
    }
}

/// Keeps the space-separated tokens of `value` that pass `keep`; drops the attribute if none do.
fn filter_tokens<'u>(value: &'u str, keep: impl Fn(&str) -> bool) -> Option<Cow<'u, str>> {
    let kept: Vec<&str> = value
        .split_ascii_whitespace()
        .filter(|token| keep(token))
        .collect();
    if kept.is_empty() {
        None
    } else if kept.join(" ") == value {
        Some(Cow::Borrowed(value))
    } else {
        Some(Cow::Owned(kept.join(" ")))
    }
}

/// Whether `value` has the shape [`slugify`] gives: `a-z0-9` words joined by single dashes.
fn is_slug(value: &str) -> bool {
    !value.is_empty()
        && value.split('-').all(|word| {
            !word.is_empty()
                && word
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// Footnote ids have a colon, which no heading slug has, so the two can never collide.
const FOOTNOTE_ID: &str = "fn:";
const FOOTNOTE_REF_ID: &str = "fnref:";

/// Whether `value` is `prefix` followed by a footnote number.
fn is_footnote_id(value: &str, prefix: &str) -> bool {
    value.strip_prefix(prefix).is_some_and(|number| {
        !number.is_empty() && !number.starts_with('0') && number.bytes().all(|b| b.is_ascii_digit())
    })
}

/// Turns heading text into an anchor: lowercase ASCII letters and digits, every other run of
/// characters one dash, letters of other scripts transliterated ("Café" gives `cafe`).
fn slugify(text: &str) -> String {
    let mut slug = String::with_capacity(text.len());
    let mut dash = false;
    let mut push = |c: char, slug: &mut String| {
        if c.is_ascii_alphanumeric() {
            if dash && !slug.is_empty() {
                slug.push('-');
            }
            dash = false;
            slug.push(c.to_ascii_lowercase());
        } else {
            dash = true;
        }
    };
    for c in text.chars() {
        // Only letters and digits are transliterated: symbols and emoji become a dash rather
        // than their English names ("🚀" would give `rocket`).
        if c.is_ascii() || !c.is_alphanumeric() {
            push(c, &mut slug);
        } else {
            match deunicode::deunicode_char(c) {
                Some(ascii) => ascii.chars().for_each(|a| push(a, &mut slug)),
                None => push(' ', &mut slug),
            }
        }
    }
    if slug.is_empty() {
        slug.push_str(EMPTY_SLUG);
    }
    slug
}

/// Whether a URL may appear in an `href` or `src`: the same test the sanitizer applies.
fn is_allowed_url(url: &str) -> bool {
    match Url::parse(url) {
        Ok(url) => URL_SCHEMES.contains(&url.scheme()),
        Err(ammonia::url::ParseError::RelativeUrlWithoutBase) => true,
        Err(_) => false,
    }
}

/// Whether a link leaves the site: an absolute `http(s)` URL, or a scheme-relative one
/// (`//host/...`, which browsers also accept with backslashes).
fn is_external(url: &str) -> bool {
    match Url::parse(url) {
        Ok(url) => matches!(url.scheme(), "http" | "https"),
        Err(_) => {
            let trimmed = url.trim_start_matches(|c: char| c.is_ascii_whitespace());
            let mut start = trimmed.chars().take(2);
            matches!(
                (start.next(), start.next()),
                (Some('/' | '\\'), Some('/' | '\\'))
            )
        }
    }
}

/// Appends `text` to `out`, escaped for HTML text and double-quoted attribute values.
fn push_escaped(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// Whether raw HTML is a comment, which an author writes as a note to self: it is dropped
/// rather than shown.
fn is_html_comment(html: &str) -> bool {
    let html = html.trim();
    html.starts_with("<!--") && html.ends_with("-->")
}

/// Collapses runs of whitespace to one space and trims the ends.
fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A heading whose content is still arriving.
struct OpenHeading {
    /// Where its start tag sits in the output, to give it its id once the text is known.
    index: usize,
    level: HeadingLevel,
    text: String,
}

/// An image whose alt text is still arriving.
struct OpenImage<'a> {
    src: CowStr<'a>,
    title: CowStr<'a>,
    alt: String,
    /// Elements (emphasis, links...) open inside the alt text.
    depth: usize,
}

/// A code block whose text is still arriving.
struct OpenCode {
    language: Option<String>,
    text: String,
}

/// A footnote definition being collected; its events are moved to the end of the document.
struct OpenFootnote<'a> {
    key: String,
    /// The document's events, set aside while the definition's go to `Body::out`.
    document: Vec<Event<'a>>,
}

/// Rewrites the parser's events into the markup folio wants, for `push_html` to write out.
#[derive(Default)]
struct Body<'a> {
    out: Vec<Event<'a>>,
    headings: Vec<Heading>,
    used_ids: HashSet<String>,
    heading: Option<OpenHeading>,
    image: Option<OpenImage<'a>>,
    code: Option<OpenCode>,
    /// The source of a raw HTML block.
    html_block: Option<String>,
    /// For each open link, whether its `<a>` was written (an unsafe URL writes only the text).
    links: Vec<bool>,
    table_alignments: Vec<Alignment>,
    in_table_head: bool,
    table_cell: usize,
    footnote: Option<OpenFootnote<'a>>,
    /// Footnote numbers in order of first reference, by normalized label.
    footnote_numbers: HashMap<String, usize>,
    footnote_bodies: HashMap<String, Vec<Event<'a>>>,
    /// Uploaded images the renderer can size.
    sizes: Option<&'a ImageSizes>,
}

impl<'a> Body<'a> {
    fn push(&mut self, event: Event<'a>) {
        if self.image.is_some() {
            self.push_in_image(event);
            return;
        }
        if let Some(code) = &mut self.code {
            match event {
                Event::Text(text) => code.text.push_str(&text),
                Event::End(TagEnd::CodeBlock) => self.close_code_block(),
                _ => {}
            }
            return;
        }
        if let Some(block) = &mut self.html_block {
            match event {
                Event::Html(html) | Event::InlineHtml(html) | Event::Text(html) => {
                    block.push_str(&html);
                }
                Event::End(TagEnd::HtmlBlock) => self.close_html_block(),
                _ => {}
            }
            return;
        }

        match event {
            Event::Start(Tag::Heading { level, .. }) => {
                self.heading = Some(OpenHeading {
                    index: self.out.len(),
                    level: page_level(level),
                    text: String::new(),
                });
                self.out
                    .push(Event::Start(heading_tag(page_level(level), None)));
            }
            Event::End(TagEnd::Heading(_)) => self.close_heading(),
            Event::Text(text) => self.push_text(text),
            Event::Code(code) => {
                if let Some(heading) = &mut self.heading {
                    heading.text.push_str(&code);
                }
                self.out.push(Event::Code(code));
            }
            // Raw HTML from the source is shown as the text it is, never parsed as markup.
            Event::Html(html) | Event::InlineHtml(html) => {
                if !is_html_comment(&html) {
                    self.push_text(html);
                }
            }
            Event::InlineMath(math) | Event::DisplayMath(math) => self.push_text(math),
            Event::Start(Tag::HtmlBlock) => self.html_block = Some(String::new()),
            Event::Start(Tag::CodeBlock(kind)) => {
                let language = match kind {
                    CodeBlockKind::Fenced(info) => info
                        .split(|c: char| c.is_whitespace() || c == ',' || c == '{')
                        .next()
                        .filter(|language| !language.is_empty())
                        .map(str::to_ascii_lowercase),
                    CodeBlockKind::Indented => None,
                };
                self.code = Some(OpenCode {
                    language,
                    text: String::new(),
                });
            }
            Event::Start(Tag::Image {
                dest_url, title, ..
            }) => {
                self.image = Some(OpenImage {
                    src: dest_url,
                    title,
                    alt: String::new(),
                    depth: 0,
                });
            }
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                ..
            }) => self.open_link(link_type, &dest_url, &title),
            Event::End(TagEnd::Link) => {
                if self.links.pop() == Some(true) {
                    self.out.push(Event::Html("</a>".into()));
                }
            }
            Event::Start(Tag::Table(alignments)) => {
                self.table_alignments.clone_from(&alignments);
                self.out.push(Event::Start(Tag::Table(alignments)));
            }
            Event::Start(Tag::TableHead) => {
                self.in_table_head = true;
                self.table_cell = 0;
                self.out.push(Event::Start(Tag::TableHead));
            }
            Event::End(TagEnd::TableHead) => {
                self.in_table_head = false;
                self.out.push(Event::End(TagEnd::TableHead));
            }
            Event::Start(Tag::TableRow) => {
                self.table_cell = 0;
                self.out.push(Event::Start(Tag::TableRow));
            }
            // Written here rather than by `push_html`, which aligns cells with inline styles
            // that the site's CSP (`style-src 'self'`) blocks.
            Event::Start(Tag::TableCell) => {
                let (element, scope) = if self.in_table_head {
                    ("th", " scope=\"col\"")
                } else {
                    ("td", "")
                };
                let class = match self.table_alignments.get(self.table_cell) {
                    Some(Alignment::Left) => " class=\"align-left\"",
                    Some(Alignment::Center) => " class=\"align-center\"",
                    Some(Alignment::Right) => " class=\"align-right\"",
                    Some(Alignment::None) | None => "",
                };
                self.out
                    .push(Event::Html(format!("<{element}{scope}{class}>").into()));
            }
            Event::End(TagEnd::TableCell) => {
                let element = if self.in_table_head { "th" } else { "td" };
                self.out.push(Event::Html(format!("</{element}>").into()));
                self.table_cell += 1;
            }
            // A checkbox would be an `<input>`, which the sanitizer removes with every other
            // form control; the symbols read the same and need no styling.
            Event::TaskListMarker(done) => {
                self.out
                    .push(Event::Text(if done { "☑ " } else { "☐ " }.into()));
            }
            Event::FootnoteReference(label) => self.push_footnote_reference(&label),
            Event::Start(Tag::FootnoteDefinition(label)) => {
                self.footnote = Some(OpenFootnote {
                    key: footnote_key(&label),
                    document: std::mem::take(&mut self.out),
                });
            }
            Event::End(TagEnd::FootnoteDefinition) => {
                if let Some(footnote) = self.footnote.take() {
                    let body = std::mem::replace(&mut self.out, footnote.document);
                    self.footnote_bodies.insert(footnote.key, body);
                }
            }
            event => self.out.push(event),
        }
    }

    fn push_text(&mut self, text: CowStr<'a>) {
        if let Some(heading) = &mut self.heading {
            heading.text.push_str(&text);
        }
        self.out.push(Event::Text(text));
    }

    fn push_in_image(&mut self, event: Event<'a>) {
        let Some(image) = &mut self.image else {
            return;
        };
        match event {
            Event::Start(_) => image.depth += 1,
            Event::End(_) if image.depth > 0 => image.depth -= 1,
            Event::End(_) => self.close_image(),
            Event::Text(text)
            | Event::Code(text)
            | Event::InlineMath(text)
            | Event::DisplayMath(text) => image.alt.push_str(&text),
            Event::Html(html) | Event::InlineHtml(html) if !is_html_comment(&html) => {
                image.alt.push_str(&html);
            }
            Event::SoftBreak | Event::HardBreak => image.alt.push(' '),
            _ => {}
        }
    }

    fn close_image(&mut self) {
        let Some(image) = self.image.take() else {
            return;
        };
        let alt = collapse_whitespace(&image.alt);
        if !is_allowed_url(&image.src) {
            // An image that may not load is replaced by what it shows.
            if !alt.is_empty() {
                self.push_text(alt.into());
            }
            return;
        }
        let mut html = String::from("<img src=\"");
        push_escaped(&mut html, &image.src);
        html.push_str("\" alt=\"");
        push_escaped(&mut html, &alt);
        if !image.title.is_empty() {
            html.push_str("\" title=\"");
            push_escaped(&mut html, &image.title);
        }
        if let Some(facts) = self.sizes.and_then(|sizes| sizes.get(image.src.as_ref())) {
            html.push_str(&format!(
                "\" width=\"{}\" height=\"{}\" srcset=\"",
                facts.width, facts.height
            ));
            push_escaped(&mut html, &facts.srcset);
            html.push_str("\" sizes=\"");
            html.push_str(BODY_IMAGE_SIZES);
        }
        // Body images are mostly below the fold; decoding off the main thread keeps scrolling
        // smooth. https://web.dev/articles/browser-level-image-lazy-loading
        html.push_str("\" loading=\"lazy\" decoding=\"async\">");
        self.out.push(Event::Html(html.into()));
    }

    fn open_link(&mut self, link_type: LinkType, dest: &str, title: &str) {
        let href: Cow<'_, str> = if link_type == LinkType::Email {
            format!("mailto:{dest}").into()
        } else {
            dest.into()
        };
        if !is_allowed_url(&href) {
            // The link text stays, as text.
            self.links.push(false);
            return;
        }
        let mut html = String::from("<a href=\"");
        push_escaped(&mut html, &href);
        html.push('"');
        if !title.is_empty() {
            html.push_str(" title=\"");
            push_escaped(&mut html, title);
            html.push('"');
        }
        if is_external(&href) {
            // No referrer and no `window.opener` for sites folio does not control; internal
            // links keep their referrer for the site's own analytics.
            html.push_str(" rel=\"noopener noreferrer\"");
        }
        html.push('>');
        self.out.push(Event::Html(html.into()));
        self.links.push(true);
    }

    fn close_heading(&mut self) {
        let Some(heading) = self.heading.take() else {
            return;
        };
        let text = collapse_whitespace(&heading.text);
        let id = self.unique_id(slugify(&text));
        if let Some(start) = self.out.get_mut(heading.index) {
            *start = Event::Start(heading_tag(heading.level, Some(id.clone())));
        }
        // The link sits inside the heading so it shows beside it; its label says where it goes,
        // since "#" alone means nothing to a screen reader.
        self.out.push(Event::Html(
            format!(
                " <a class=\"anchor\" href=\"#{id}\" aria-label=\"Link to this section\">#</a>"
            )
            .into(),
        ));
        self.out.push(Event::End(TagEnd::Heading(heading.level)));
        self.headings.push(Heading {
            level: heading.level as u8,
            id,
            text,
        });
    }

    /// `slug`, or `slug-2`, `slug-3`... whichever is free.
    fn unique_id(&mut self, slug: String) -> String {
        let taken = |id: &str| self.used_ids.contains(id) || RESERVED_IDS.contains(&id);
        let mut id = slug.clone();
        let mut n = 1_u32;
        while taken(&id) {
            n += 1;
            id = format!("{slug}-{n}");
        }
        self.used_ids.insert(id.clone());
        id
    }

    fn close_code_block(&mut self) {
        let Some(code) = self.code.take() else {
            return;
        };
        // `tabindex` makes a block that scrolls sideways reachable from the keyboard.
        // https://dequeuniversity.com/rules/axe/4.10/scrollable-region-focusable
        let mut html = String::from("<pre tabindex=\"0\"><code>");
        match code
            .language
            .as_deref()
            .and_then(|language| highlight_cached(language, &code.text))
        {
            Some(highlighted) => html.push_str(&highlighted),
            None => push_escaped(&mut html, &code.text),
        }
        html.push_str("</code></pre>\n");
        self.out.push(Event::Html(html.into()));
    }

    fn close_html_block(&mut self) {
        let Some(block) = self.html_block.take() else {
            return;
        };
        if is_html_comment(&block) {
            return;
        }
        let text = block.trim_end().to_owned();
        self.out.push(Event::Start(Tag::Paragraph));
        self.out.push(Event::Text(text.into()));
        self.out.push(Event::End(TagEnd::Paragraph));
    }

    fn push_footnote_reference(&mut self, label: &str) {
        let next = self.footnote_numbers.len() + 1;
        let key = footnote_key(label);
        let first = !self.footnote_numbers.contains_key(&key);
        let number = *self.footnote_numbers.entry(key).or_insert(next);
        // Only the first reference gets an id: ids are unique, and the note links back to it.
        let id = if first {
            format!(" id=\"{FOOTNOTE_REF_ID}{number}\"")
        } else {
            String::new()
        };
        self.out.push(Event::Html(
            format!(
                "<sup class=\"footnote-ref\"><a href=\"#{FOOTNOTE_ID}{number}\"{id} \
                 aria-label=\"Footnote {number}\">{number}</a></sup>"
            )
            .into(),
        ));
    }

    /// The document's events, with the referenced footnotes in a list at the end, and its
    /// headings.
    fn finish(mut self) -> (Vec<Event<'a>>, Vec<Heading>) {
        let mut notes: Vec<(usize, String)> = self
            .footnote_numbers
            .iter()
            .map(|(key, number)| (*number, key.clone()))
            .collect();
        notes.sort_unstable();
        // Unreferenced definitions are left out, as GitHub does: nothing would lead to them.
        let notes: Vec<(usize, Vec<Event<'a>>)> = notes
            .into_iter()
            .filter_map(|(number, key)| Some((number, self.footnote_bodies.remove(&key)?)))
            .collect();
        if !notes.is_empty() {
            self.out.push(Event::Html(
                "<section class=\"footnotes\" aria-label=\"Footnotes\">\n<ol>\n".into(),
            ));
            for (number, mut body) in notes {
                self.out.push(Event::Html(
                    format!("<li id=\"{FOOTNOTE_ID}{number}\">").into(),
                ));
                let backref = Event::Html(
                    format!(
                        " <a class=\"footnote-backref\" href=\"#{FOOTNOTE_REF_ID}{number}\" \
                         aria-label=\"Back to reference {number}\">\u{21a9}\u{fe0e}</a>"
                    )
                    .into(),
                );
                // Inside the last paragraph, so the arrow ends the note's text.
                if matches!(body.last(), Some(Event::End(TagEnd::Paragraph))) {
                    body.insert(body.len() - 1, backref);
                } else {
                    body.push(backref);
                }
                self.out.append(&mut body);
                self.out.push(Event::Html("</li>\n".into()));
            }
            self.out.push(Event::Html("</ol>\n</section>\n".into()));
        }
        (self.out, self.headings)
    }
}

/// The level a Markdown heading gets on the page: the page's title is its only `<h1>`.
fn page_level(level: HeadingLevel) -> HeadingLevel {
    match level {
        HeadingLevel::H1 => HeadingLevel::H2,
        level => level,
    }
}

fn heading_tag<'a>(level: HeadingLevel, id: Option<String>) -> Tag<'a> {
    Tag::Heading {
        level,
        id: id.map(CowStr::from),
        classes: Vec::new(),
        attrs: Vec::new(),
    }
}

/// Footnote labels match case-insensitively, with runs of whitespace equal (CommonMark).
fn footnote_key(label: &str) -> String {
    collapse_whitespace(&label.to_lowercase())
}

/// Highlighted HTML by language and code, bounded by [`HIGHLIGHT_CACHE_BYTES`].
#[derive(Default)]
struct HighlightCache {
    entries: HashMap<(String, String), Arc<str>>,
    bytes: usize,
}

/// [`highlight`], remembered in [`HIGHLIGHTED`].
fn highlight_cached(language: &str, code: &str) -> Option<Arc<str>> {
    let key = (language.to_owned(), code.to_owned());
    // A poisoned lock only means another render panicked mid-insert: render without the cache.
    if let Some(hit) = HIGHLIGHTED
        .lock()
        .ok()
        .and_then(|cache| cache.entries.get(&key).cloned())
    {
        return Some(hit);
    }
    let html: Arc<str> = highlight(language, code)?.into();
    if let Ok(mut cache) = HIGHLIGHTED.lock() {
        let size = key.0.len() + key.1.len() + html.len();
        if cache.bytes + size > HIGHLIGHT_CACHE_BYTES {
            // Starting again is cruder than evicting the oldest, but needs no bookkeeping, and
            // the cache refills with whatever pages are being read.
            cache.entries.clear();
            cache.bytes = 0;
        }
        if cache.entries.insert(key, Arc::clone(&html)).is_none() {
            cache.bytes += size;
        }
    }
    Some(html)
}

/// Scopes that get a colour, most specific first within a family. A token is painted with the
/// innermost scope of its stack that one of these is a prefix of; everything else (`meta.*`,
/// `source.*`, most punctuation) is left as plain text, so `"` inside a string takes the string's
/// colour and `{` takes none.
const PAINTED_SCOPES: [&str; 13] = [
    "comment",
    "string",
    "constant",
    "keyword",
    "storage",
    "entity.name",
    "entity.other.attribute-name",
    "support",
    "variable.language",
    "invalid",
    "markup.inserted",
    "markup.deleted",
    "markup.heading",
];

/// [`PAINTED_SCOPES`], parsed once.
static PAINTED: LazyLock<Vec<Scope>> = LazyLock::new(|| {
    PAINTED_SCOPES
        .iter()
        .filter_map(|scope| Scope::new(scope).ok())
        .collect()
});

/// How many atoms of a scope become classes: `keyword.operator.arithmetic.rust` gives
/// `hl-keyword hl-operator hl-arithmetic`. Deeper atoms (often the language name) would only add
/// bytes, since `style/highlight.css` selects on the first two.
const CLASS_ATOMS: usize = 3;

/// `code` as flat, classed spans, or `None` when the language is unknown or the grammar fails.
///
/// syntect's `ClassedHTMLGenerator` nests a span for every scope on the stack (`source`, `meta`...),
/// which triples the HTML and the time the sanitizer spends on it; one span per painted token is
/// all the stylesheet needs.
fn highlight(language: &str, code: &str) -> Option<String> {
    if code.len() > MAX_HIGHLIGHTED_BYTES {
        return None;
    }
    let syntax = SYNTAXES.find_syntax_by_token(language)?;
    let mut state = ParseState::new(syntax);
    let mut stack = ScopeStack::new();
    // Turning a scope into text takes a global lock in syntect: do it once per scope.
    let mut classes: HashMap<Scope, String> = HashMap::new();
    let mut html = String::with_capacity(code.len() * 2);
    let mut open: Option<Scope> = None;
    for line in LinesWithEndings::from(code) {
        let ops = state.parse_line(line, &SYNTAXES).ok()?;
        for (range, op) in ScopeRangeIterator::new(&ops, line) {
            stack.apply(op).ok()?;
            let Some(text) = line.get(range).filter(|text| !text.is_empty()) else {
                continue;
            };
            let painted = stack
                .as_slice()
                .iter()
                .rev()
                .copied()
                .find(|scope| PAINTED.iter().any(|paint| paint.is_prefix_of(*scope)));
            if painted != open {
                if open.is_some() {
                    html.push_str("</span>");
                }
                if let Some(scope) = painted {
                    let class = classes.entry(scope).or_insert_with(|| class_for(scope));
                    html.push_str("<span class=\"");
                    html.push_str(class);
                    html.push_str("\">");
                }
                open = painted;
            }
            push_escaped(&mut html, text);
        }
    }
    if open.is_some() {
        html.push_str("</span>");
    }
    Some(html)
}

/// `keyword.operator.rust` as `hl-keyword hl-operator hl-rust`.
fn class_for(scope: Scope) -> String {
    scope
        .build_string()
        .split('.')
        .take(CLASS_ATOMS)
        .map(|atom| format!("{HIGHLIGHT_PREFIX}{atom}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn uploaded_images_get_their_size_and_srcset() {
        let src = format!("/media/{KEY}-720.webp");
        let srcset = format!("/media/{KEY}-480.webp 480w, /media/{KEY}-720.webp 720w");
        let sizes: ImageSizes = [(
            src.clone(),
            ImageFacts {
                width: 720,
                height: 405,
                srcset: srcset.clone(),
            },
        )]
        .into();
        let html = render_sized(
            &format!("![A harbour]({src})\n\n![Elsewhere](/other.png)"),
            &sizes,
        )
        .html;
        let images: Vec<Element> = elements(&html)
            .into_iter()
            .filter(|e| e.name == "img")
            .collect();
        let attribute = |e: &Element, name: &str| {
            e.attributes
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(attribute(&images[0], "width").as_deref(), Some("720"));
        assert_eq!(attribute(&images[0], "height").as_deref(), Some("405"));
        assert_eq!(attribute(&images[0], "srcset"), Some(srcset));
        assert_eq!(
            attribute(&images[0], "sizes").as_deref(),
            Some(BODY_IMAGE_SIZES)
        );
        assert_eq!(
            attribute(&images[1], "srcset"),
            None,
            "only known uploads are sized"
        );
    }

    #[test]
    fn only_media_store_srcsets_survive_sanitizing() {
        let good = format!("/media/{KEY}-480.webp 480w, /media/{KEY}-720.webp 720w");
        assert!(is_media_srcset(&good));
        for bad in [
            "https://evil.example/x.webp 480w",
            "javascript:alert(1) 1w",
            "/media/../../etc/passwd 480w",
            &format!("/media/{KEY}-480.webp"),
            &format!("/media/{KEY}-480.webp 480x"),
        ] {
            assert!(!is_media_srcset(bad), "{bad}");
        }
        let cleaned = sanitize_html(
            r#"<img src="/a.png" alt="" srcset="https://evil.example/x 1w" width="9999999">"#,
        );
        assert!(
            !cleaned.contains("srcset") && !cleaned.contains("width"),
            "{cleaned}"
        );
    }

    #[test]
    fn media_keys_are_found_once_each() {
        let text =
            format!("![a](/media/{KEY}-480.webp) ![b](/media/{KEY}-720.webp) /media/short-1.webp");
        assert_eq!(media_keys(&text), vec![KEY.to_owned()]);
    }

    /// One element start tag (or comment, named `!`) as a browser's tokenizer would read it.
    #[derive(Debug)]
    struct Element {
        name: String,
        attributes: Vec<(String, String)>,
    }

    /// A small HTML tokenizer, enough to read start tags and their decoded attribute values
    /// (quoted or not), so the assertions look at markup rather than at substrings.
    fn elements(html: &str) -> Vec<Element> {
        let bytes = html.as_bytes();
        let mut found = Vec::new();
        let mut i = 0;
        while let Some(offset) = html[i..].find('<') {
            i += offset + 1;
            match bytes.get(i) {
                Some(b'!') => {
                    found.push(Element {
                        name: "!".into(),
                        attributes: Vec::new(),
                    });
                    i += html[i..].find('>').map_or(html.len() - i, |end| end + 1);
                }
                Some(b'/') => i += html[i..].find('>').map_or(html.len() - i, |end| end + 1),
                Some(b) if b.is_ascii_alphabetic() => {
                    let (element, end) = start_tag(html, i);
                    found.push(element);
                    i = end;
                }
                _ => {}
            }
        }
        found
    }

    fn start_tag(html: &str, mut i: usize) -> (Element, usize) {
        let bytes = html.as_bytes();
        let stop = |b: u8| b.is_ascii_whitespace() || b == b'/' || b == b'>';
        let start = i;
        while i < bytes.len() && !stop(bytes[i]) {
            i += 1;
        }
        let name = html[start..i].to_ascii_lowercase();
        let mut attributes = Vec::new();
        loop {
            while i < bytes.len() && (bytes[i].is_ascii_whitespace() || bytes[i] == b'/') {
                i += 1;
            }
            if i >= bytes.len() || bytes[i] == b'>' {
                break;
            }
            let start = i;
            while i < bytes.len() && !stop(bytes[i]) && bytes[i] != b'=' {
                i += 1;
            }
            let attribute = html[start..i].to_ascii_lowercase();
            let mut value = String::new();
            if bytes.get(i) == Some(&b'=') {
                i += 1;
                let (from, to) = match bytes.get(i) {
                    Some(&quote @ (b'"' | b'\'')) => {
                        let end = html[i + 1..]
                            .find(quote as char)
                            .map_or(html.len(), |end| i + 1 + end);
                        (i + 1, end)
                    }
                    _ => {
                        let end = html[i..]
                            .find(|c: char| c.is_ascii_whitespace() || c == '>')
                            .map_or(html.len(), |end| i + end);
                        (i, end)
                    }
                };
                value = decode_entities(&html[from..to]);
                i = if to < html.len() && matches!(bytes[to], b'"' | b'\'') {
                    to + 1
                } else {
                    to
                };
            }
            attributes.push((attribute, value));
        }
        (Element { name, attributes }, (i + 1).min(html.len()))
    }

    fn decode_entities(value: &str) -> String {
        let mut out = String::new();
        let mut rest = value;
        while let Some(amp) = rest.find('&') {
            out.push_str(&rest[..amp]);
            rest = &rest[amp..];
            let Some(semi) = rest.find(';') else { break };
            let entity = &rest[1..semi];
            let decoded = match entity {
                "amp" => Some('&'),
                "quot" => Some('"'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "apos" => Some('\''),
                "nbsp" => Some('\u{a0}'),
                _ => entity
                    .strip_prefix("#x")
                    .or_else(|| entity.strip_prefix("#X"))
                    .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                    .or_else(|| entity.strip_prefix('#').and_then(|dec| dec.parse().ok()))
                    .and_then(char::from_u32),
            };
            match decoded {
                Some(c) => {
                    out.push(c);
                    rest = &rest[semi + 1..];
                }
                None => {
                    out.push('&');
                    rest = &rest[1..];
                }
            }
        }
        out.push_str(rest);
        out
    }

    /// The scheme a browser would see in a URL attribute, if it has one (the WHATWG URL
    /// parser's scheme state: a letter, then letters, digits, `+`, `-` or `.`, then `:`).
    fn scheme(url: &str) -> Option<String> {
        // Browsers strip leading and trailing C0 controls and spaces, and every tab and newline.
        let url: String = url
            .trim_matches(|c: char| c <= ' ')
            .chars()
            .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
            .collect();
        let (scheme, _) = url.split_once(':')?;
        let mut chars = scheme.chars();
        let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        valid.then(|| scheme.to_ascii_lowercase())
    }

    const ALLOWED_ELEMENTS: [&str; 28] = [
        "a",
        "blockquote",
        "br",
        "code",
        "del",
        "em",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "img",
        "li",
        "ol",
        "p",
        "pre",
        "section",
        "span",
        "strong",
        "sup",
        "table",
        "tbody",
        "td",
        "th",
        "thead",
        "tr",
        "ul",
    ];

    /// Fails unless `html` is markup a browser can run nothing from.
    fn assert_harmless(html: &str, input: &str) {
        let lower = html.to_ascii_lowercase();
        assert!(
            !lower.contains("<script"),
            "{input:?} gave a script: {html}"
        );
        for element in elements(html) {
            assert!(
                ALLOWED_ELEMENTS.contains(&element.name.as_str()),
                "{input:?} gave <{}>: {html}",
                element.name
            );
            for (attribute, value) in &element.attributes {
                assert!(
                    !attribute.starts_with("on"),
                    "{input:?} gave an event handler {attribute}: {html}"
                );
                assert!(
                    !matches!(
                        attribute.as_str(),
                        "style" | "xlink:href" | "formaction" | "srcdoc"
                    ),
                    "{input:?} gave {attribute}=: {html}"
                );
                if matches!(attribute.as_str(), "href" | "src")
                    && let Some(scheme) = scheme(value)
                {
                    assert!(
                        URL_SCHEMES.contains(&scheme.as_str()),
                        "{input:?} gave {attribute}={value:?}: {html}"
                    );
                }
                match (element.name.as_str(), attribute.as_str()) {
                    ("h2" | "h3" | "h4" | "h5" | "h6", "id") => assert!(is_slug(value)),
                    ("li", "id") => assert!(is_footnote_id(value, FOOTNOTE_ID)),
                    ("a", "id") => assert!(is_footnote_id(value, FOOTNOTE_REF_ID)),
                    (name, "id") => panic!("{input:?} gave an id on <{name}>: {html}"),
                    ("span", "class") => {
                        assert!(value.split(' ').all(|class| class.starts_with("hl-")));
                    }
                    (name, "class") => assert!(
                        value.split(' ').all(|class| {
                            ["anchor", "footnote-backref", "footnote-ref", "footnotes"]
                                .contains(&class)
                                || TABLE_CELL_CLASSES.contains(&class)
                        }),
                        "{input:?} gave class={value:?} on <{name}>: {html}"
                    ),
                    _ => {}
                }
            }
        }
    }

    const HOSTILE: [&str; 30] = [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "[x](  javascript:alert(1))",
        "[x](<javascript:alert(1)>)",
        "[x](data:text/html;base64,PHNjcmlwdD4=)",
        "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
        "<svg><script>alert(1)</script></svg>",
        "<svg onload=alert(1)><a xlink:href=\"javascript:alert(1)\">x</a></svg>",
        "<math><mi xlink:href=\"javascript:alert(1)\">x</mi></math>",
        "<a href=\"vbscript:msgbox(1)\">x</a>",
        "<iframe src=\"https://evil.example\"></iframe>",
        "<style>body{display:none}</style>",
        "<div style=\"background:url(javascript:alert(1))\">x</div>",
        "<scr<script>ipt>alert(1)</script>",
        "<a href=\"jav&#x09;ascript:alert(1)\">x</a>",
        "[x](jav&#x09;ascript:alert(1))",
        "[x](&#106;avascript:alert(1))",
        "[x](javascript&colon;alert(1))",
        "[x](java%0ascript:alert(1))",
        "[x](\tjavascript:alert(1))",
        "<a href=\"  &#14;javascript:alert(1)\">x</a>",
        "<javascript:alert(1)>",
        "<!-- <script> -->",
        "<form action=\"https://evil.example\"><input name=x><button formaction=javascript:alert(1)>x</button></form>",
        "<object data=\"javascript:alert(1)\"></object><embed src=\"javascript:alert(1)\">",
        "[x][ref]\n\n[ref]: javascript:alert(1)",
        "<p title=\"</p><script>alert(1)</script>\">x</p>",
        "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\"></noscript>",
    ];

    #[test]
    fn the_checker_catches_what_it_looks_for() {
        // The hostile tests pass only if `assert_harmless` can fail: show that it does.
        for bad in [
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "<p style=\"color:red\">x</p>",
            "<a href=\"jav&#x09;ascript:alert(1)\">x</a>",
            "<a href=' JavaScript:alert(1)'>x</a>",
            "<img src=\"data:image/svg+xml,x\">",
            "<svg></svg>",
            "<!-- x -->",
            "<p id=\"x\">x</p>",
            "<h2 id=\"Not A Slug\">x</h2>",
            "<span class=\"evil\">x</span>",
        ] {
            let caught = std::panic::catch_unwind(|| assert_harmless(bad, bad)).is_err();
            assert!(caught, "the checker let {bad:?} through");
        }
        assert_eq!(scheme("java%0ascript:alert(1)"), None, "a relative path");
        assert_eq!(scheme("\u{1}jav\tascript:x").as_deref(), Some("javascript"));
    }

    #[test]
    fn hostile_markdown_renders_nothing_dangerous() {
        for input in HOSTILE {
            let html = render(input).html;
            assert_harmless(&html, input);
            // Raw HTML is shown, escaped, or dropped: never markup.
            assert!(
                !html.contains("<div") && !html.contains("<img src=\"x\""),
                "{input:?}: {html}"
            );
        }
    }

    #[test]
    fn the_sanitizer_alone_removes_hostile_html() {
        // The renderer escapes raw HTML before the sanitizer sees it; this checks the second
        // line of defence on its own.
        for input in HOSTILE {
            assert_harmless(&sanitize_html(input), input);
        }
        assert_eq!(
            sanitize_html("<h2 id=\"main\" onclick=\"x()\" style=\"color:red\">A</h2>"),
            "<h2>A</h2>"
        );
        assert_eq!(
            sanitize_html("<span class=\"hl-keyword evil\">a</span><p class=\"hl-x\">b</p>"),
            "<span class=\"hl-keyword\">a</span><p>b</p>"
        );
        assert_eq!(
            sanitize_html("<a href=\"/x\" rel=\"opener noopener\" target=\"_blank\">x</a>"),
            "<a href=\"/x\" rel=\"noopener\">x</a>"
        );
    }

    #[test]
    fn raw_html_is_shown_as_text() {
        let html = render("Before <b>bold</b> after\n\n<div>\nblock\n</div>").html;
        assert_eq!(
            html,
            "<p>Before &lt;b&gt;bold&lt;/b&gt; after</p>\n<p>&lt;div&gt;\nblock\n&lt;/div&gt;</p>\n"
        );
    }

    #[test]
    fn html_comments_are_dropped() {
        let html = render("Shown\n\n<!-- private note -->\n\nText <!-- inline --> more").html;
        assert!(
            !html.contains("private") && !html.contains("inline"),
            "{html}"
        );
        assert!(html.contains("Shown") && html.contains("more"), "{html}");
    }

    #[test]
    fn unsafe_links_keep_their_text() {
        assert_eq!(
            render("[click me](javascript:alert(1))").html,
            "<p>click me</p>\n"
        );
        assert_eq!(
            render("![a chart](data:image/png;base64,AAAA)").html,
            "<p>a chart</p>\n"
        );
    }

    const CASE_STUDY: &str = r#"# Overview

Folio is a *portfolio* with a **fast** server. See [the repo](https://example.com/folio "Source")
and [the projects](/projects), or write to <me@example.com>.[^perf]

## Goals

- [x] Render on the server
- [ ] Ship less JavaScript

| Metric | Before | After |
|:-------|-------:|:-----:|
| LCP    | 2.4 s  | 0.9 s |

```rust
fn main() {
    let names: Vec<String> = vec![];
    if names.len() < 2 { println!("few & far"); }
}
```

> Quote with `code` and ~~strike~~.

![A chart of response times](/media/chart.png "Response times")

## Overview

1. one
2. two

[^perf]: Measured on a 2-core machine.
"#;

    #[test]
    fn sanitizing_is_idempotent() {
        for input in HOSTILE.iter().chain([&CASE_STUDY]) {
            let once = sanitize_html(input);
            assert_eq!(sanitize_html(&once), once, "{input:?}");
            let rendered = render(input).html;
            assert_eq!(sanitize_html(&rendered), rendered, "{input:?}");
        }
    }

    #[test]
    fn the_case_study_renders_safely_with_a_table_of_contents() {
        let rendered = render(CASE_STUDY);
        assert_harmless(&rendered.html, CASE_STUDY);
        assert_eq!(
            rendered.headings,
            vec![
                Heading {
                    level: 2,
                    id: "overview".into(),
                    text: "Overview".into()
                },
                Heading {
                    level: 2,
                    id: "goals".into(),
                    text: "Goals".into()
                },
                Heading {
                    level: 2,
                    id: "overview-2".into(),
                    text: "Overview".into()
                },
            ]
        );
        assert_eq!(render(CASE_STUDY), rendered, "rendering is deterministic");
    }

    #[test]
    fn headings_get_unique_stable_anchors() {
        let html = render("## Overview\n\n## Overview\n\n### Overview-2").html;
        assert_eq!(
            html,
            "<h2 id=\"overview\">Overview <a class=\"anchor\" href=\"#overview\" aria-label=\"Link to this section\">#</a></h2>\n\
             <h2 id=\"overview-2\">Overview <a class=\"anchor\" href=\"#overview-2\" aria-label=\"Link to this section\">#</a></h2>\n\
             <h3 id=\"overview-2-2\">Overview-2 <a class=\"anchor\" href=\"#overview-2-2\" aria-label=\"Link to this section\">#</a></h3>\n"
        );
    }

    #[test]
    fn slugs_are_ascii_and_never_empty() {
        let ids = |markdown: &str| -> Vec<String> {
            render(markdown)
                .headings
                .into_iter()
                .map(|heading| heading.id)
                .collect()
        };
        assert_eq!(ids("## Café & Crème brûlée"), ["cafe-creme-brulee"]);
        assert_eq!(ids("## Straße"), ["strasse"]);
        assert_eq!(ids("## 🚀 Launch!  (v2.0)"), ["launch-v2-0"]);
        assert_eq!(ids("## `render()` in **Rust**"), ["render-in-rust"]);
        assert_eq!(ids("## !!!\n\n## 🚀"), ["section", "section-2"]);
        // The page shell owns `#main`, the skip link's target.
        assert_eq!(ids("## Main"), ["main-2"]);
    }

    #[test]
    fn hash_headings_become_h2_and_deeper_ones_stay() {
        let rendered = render("# Title\n\n#### Deep\n\n###### Deepest");
        assert!(!rendered.html.contains("<h1"), "{}", rendered.html);
        assert!(rendered.html.starts_with("<h2 id=\"title\">Title "));
        let levels: Vec<u8> = rendered.headings.iter().map(|h| h.level).collect();
        assert_eq!(levels, [2, 4, 6]);
    }

    #[test]
    fn external_links_get_rel_and_relative_links_do_not() {
        let html = render(
            "[a](https://example.com) [b](/projects/folio) [c](#overview) [d](../up) \
             [e](//cdn.example.com/x) [f](mailto:me@example.com)",
        )
        .html;
        assert_eq!(
            html,
            "<p><a href=\"https://example.com\" rel=\"noopener noreferrer\">a</a> \
             <a href=\"/projects/folio\">b</a> \
             <a href=\"#overview\">c</a> \
             <a href=\"../up\">d</a> \
             <a href=\"//cdn.example.com/x\" rel=\"noopener noreferrer\">e</a> \
             <a href=\"mailto:me@example.com\">f</a></p>\n"
        );
    }

    #[test]
    fn rust_code_is_highlighted_with_classes() {
        let html = render("```rust\nfn main() { let x = 1; }\n```").html;
        assert!(
            html.starts_with("<pre tabindex=\"0\"><code><span class=\"hl-"),
            "{html}"
        );
        assert!(
            html.contains("<span class=\"hl-storage hl-type hl-function\">fn</span>"),
            "{html}"
        );
        assert!(!html.contains("style="), "{html}");
        assert_harmless(&html, "rust");
    }

    #[test]
    fn unknown_or_missing_language_stays_plain_escaped_code() {
        for fence in ["```nosuchlanguage", "```", "    "] {
            let markdown = if fence.trim().is_empty() {
                "    <b>&amp;</b>\n".to_owned()
            } else {
                format!("{fence}\n<b>&amp;</b>\n```")
            };
            assert_eq!(
                render(&markdown).html,
                "<pre tabindex=\"0\"><code>&lt;b&gt;&amp;amp;&lt;/b&gt;\n</code></pre>\n",
                "{markdown:?}"
            );
        }
    }

    #[test]
    fn less_than_in_highlighted_code_is_escaped() {
        let html = render("```rust\nlet v: Vec<String> = a < b && c > d;\n```").html;
        let text_only: String = html
            .split('<')
            .map(|part| part.split_once('>').map_or(part, |(_, text)| text))
            .collect();
        assert_eq!(
            text_only,
            "let v: Vec&lt;String&gt; = a &lt; b &amp;&amp; c &gt; d;\n\n"
        );
        assert!(!html.contains("<String"), "{html}");
    }

    #[test]
    fn tables_render_with_aligned_cells_and_no_inline_style() {
        let html = render("| A | B | C |\n|:--|:-:|--:|\n| 1 | 2 | 3 |").html;
        assert_eq!(
            html,
            "<table><thead><tr><th scope=\"col\" class=\"align-left\">A</th>\
             <th scope=\"col\" class=\"align-center\">B</th>\
             <th scope=\"col\" class=\"align-right\">C</th></tr></thead><tbody>\n\
             <tr><td class=\"align-left\">1</td><td class=\"align-center\">2</td>\
             <td class=\"align-right\">3</td></tr>\n</tbody></table>\n"
        );
    }

    #[test]
    fn images_keep_alt_and_load_lazily() {
        assert_eq!(
            render("![A *chart* of\ntimes](/media/c.png \"Times\")").html,
            "<p><img src=\"/media/c.png\" alt=\"A chart of times\" title=\"Times\" \
             loading=\"lazy\" decoding=\"async\"></p>\n"
        );
        assert_eq!(
            render("![](/media/decorative.png)").html,
            "<p><img src=\"/media/decorative.png\" alt=\"\" loading=\"lazy\" decoding=\"async\"></p>\n"
        );
    }

    #[test]
    fn footnotes_link_both_ways() {
        let html = render("A[^b] and B[^a] and A again[^b].\n\n[^a]: Note a.\n[^b]: Note b.\n[^unused]: Never shown.").html;
        assert_harmless(&html, "footnotes");
        assert!(
            html.contains("<a href=\"#fn:1\" id=\"fnref:1\" aria-label=\"Footnote 1\">1</a>"),
            "{html}"
        );
        assert!(
            html.contains("<a href=\"#fn:2\" id=\"fnref:2\" aria-label=\"Footnote 2\">2</a>"),
            "{html}"
        );
        assert!(
            html.contains("<a href=\"#fn:1\" aria-label=\"Footnote 1\">1</a>"),
            "{html}"
        );
        // Notes are listed in the order they are first referenced, each linking back.
        let first = html
            .find("<li id=\"fn:1\">\n<p>Note b. <a class=\"footnote-backref\" href=\"#fnref:1\"");
        let second = html
            .find("<li id=\"fn:2\">\n<p>Note a. <a class=\"footnote-backref\" href=\"#fnref:2\"");
        assert!(first.is_some() && first < second, "{html}");
        assert!(!html.contains("Never shown"), "{html}");
    }

    #[test]
    fn task_lists_show_their_state_without_form_controls() {
        let html = render("- [x] done\n- [ ] to do").html;
        assert_eq!(html, "<ul>\n<li>☑ done</li>\n<li>☐ to do</li>\n</ul>\n");
    }
}
