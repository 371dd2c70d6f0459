//! What a beacon is stored under, worked out on the server: the route pattern of its page, the
//! device class of its user agent, whether that agent is a bot, and the host of an external
//! referrer. Only these are kept; the URL, the user agent and the full referrer are not.

/// The route pattern stored for pages that match none of the app's routes.
pub const OTHER: &str = "(other)";

/// The route pattern of a page path (a query or fragment is dropped), or `None` for the
/// owner's pages (`/owner…`, `/sign-in`, `/setup`), which are never measured.
///
/// The patterns are the app's routes (`app::App`); a test keeps the two lists in step.
pub fn route(page: &str) -> Option<&'static str> {
    let path = page.split(['?', '#']).next().unwrap_or_default();
    if crate::auth::is_owner_page(path) {
        return None;
    }
    let path = path.strip_prefix('/').unwrap_or(path);
    let path = path.strip_suffix('/').unwrap_or(path);
    let segments: Vec<&str> = path.split('/').collect();
    Some(match segments.as_slice() {
        [""] => "/",
        ["projects"] => "/projects",
        ["projects", slug] if !slug.is_empty() => "/projects/{slug}",
        ["writing"] => "/writing",
        ["writing", slug] if !slug.is_empty() => "/writing/{slug}",
        ["about"] => "/about",
        ["contact"] => "/contact",
        ["contact", "thanks"] => "/contact/thanks",
        _ => OTHER,
    })
}

/// A device class, from the user agent alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    Mobile,
    Tablet,
    Desktop,
}

impl Device {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mobile => "mobile",
            Self::Tablet => "tablet",
            Self::Desktop => "desktop",
        }
    }
}

/// The device class of a user agent. Tablets are checked first: iPad Safari says `Mobile` too,
/// and Android tablets are Android without `Mobile`. (iPadOS 13 and later present themselves
/// as desktop Safari by default, and count as desktops.)
pub fn device(user_agent: &str) -> Device {
    let ua = user_agent.to_ascii_lowercase();
    let has = |tokens: &[&str]| tokens.iter().any(|t| ua.contains(t));
    if has(&["ipad", "tablet", "kindle", "silk/", "playbook"])
        || (ua.contains("android") && !ua.contains("mobile"))
    {
        Device::Tablet
    } else if has(&[
        "mobi",
        "iphone",
        "ipod",
        "android",
        "windows phone",
        "opera mini",
    ]) {
        Device::Mobile
    } else {
        Device::Desktop
    }
}

/// Crawlers, monitors, lab tools and scripts: their visits are not visitors' experience. An
/// agent that names none (no browser does) counts too. Headless Chrome is deliberately not
/// here: it is what the end-to-end tests drive, and it measures like Chrome.
const BOT_TOKENS: &[&str] = &[
    "bot",
    "crawl",
    "spider",
    "slurp",
    "facebookexternalhit",
    "lighthouse",
    "pagespeed",
    "gtmetrix",
    "pingdom",
    "ptst",
    "inspectiontool",
    "curl/",
    "wget/",
    "python-",
    "go-http-client",
    "okhttp",
];

/// Whether a user agent is a bot (see [`BOT_TOKENS`]).
pub fn is_bot(user_agent: &str) -> bool {
    let ua = user_agent.trim().to_ascii_lowercase();
    ua.is_empty() || BOT_TOKENS.iter().any(|token| ua.contains(token))
}

/// The host of an external `http(s)` referrer, lowercased and without port or credentials;
/// `None` for an empty, unreadable or same-site one. Same-site means one of `own_hosts`, with
/// or without a leading `www.`.
pub fn referrer_host(referrer: &str, own_hosts: &[&str]) -> Option<String> {
    let lower = referrer.trim().to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit('@').next()?;
    let host = match host_port.strip_prefix('[') {
        Some(v6) => &host_port[..v6.find(']')? + 2],
        None => host_port.split(':').next()?,
    };
    let host = host.trim_end_matches('.');
    let valid = !host.is_empty()
        && host.len() <= 253
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'[' | b']' | b':'));
    let bare = |h: &str| h.strip_prefix("www.").unwrap_or(h).to_owned();
    let same_site = own_hosts
        .iter()
        .any(|own| bare(&own.to_ascii_lowercase()) == bare(host));
    (valid && !same_site).then(|| host.to_owned())
}

/// The host part of `host[:port]` (a `Host` header or an origin without its scheme).
pub fn host_of(authority: &str) -> &str {
    match authority.strip_prefix('[') {
        Some(v6) => v6.find(']').map_or(authority, |end| &authority[..end + 2]),
        None => authority.split(':').next().unwrap_or(authority),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_stored_by_route_pattern() {
        for (page, expected) in [
            ("/", Some("/")),
            ("/?utm_source=mail", Some("/")),
            ("/projects", Some("/projects")),
            ("/projects/", Some("/projects")),
            ("/projects?tag=rust&page=2", Some("/projects")),
            ("/projects/tide-tables", Some("/projects/{slug}")),
            ("/projects/tide-tables#results", Some("/projects/{slug}")),
            ("/projects/a/b", Some(OTHER)),
            ("/writing", Some("/writing")),
            ("/writing/on-tides", Some("/writing/{slug}")),
            ("/about", Some("/about")),
            ("/contact", Some("/contact")),
            ("/contact/thanks", Some("/contact/thanks")),
            ("/no-such-page", Some(OTHER)),
            ("/feed.xml", Some(OTHER)),
            ("//evil.example/x", Some(OTHER)),
            ("/owner", None),
            ("/owner/inbox?page=2", None),
            ("/sign-in?next=/owner", None),
            ("/setup?token=abc", None),
        ] {
            assert_eq!(route(page), expected, "{page}");
        }
    }

    #[test]
    fn devices_are_told_apart_by_their_user_agents() {
        for (ua, expected) in [
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
                Device::Mobile,
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36",
                Device::Mobile,
            ),
            (
                "Mozilla/5.0 (iPad; CPU OS 12_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/12.1 Mobile/15E148 Safari/604.1",
                Device::Tablet,
            ),
            (
                "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
                Device::Tablet,
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
                Device::Desktop,
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/141.0.0.0 Safari/537.36",
                Device::Desktop,
            ),
        ] {
            assert_eq!(device(ua), expected, "{ua}");
        }
    }

    #[test]
    fn crawlers_and_lab_tools_are_bots_but_headless_chrome_is_not() {
        for bot in [
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
            "Mozilla/5.0 (compatible; Yahoo! Slurp; http://help.yahoo.com/help/us/ysearch/slurp)",
            "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
            "Mozilla/5.0 (Linux; Android 11; moto g power (2022)) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36 Chrome-Lighthouse",
            "Mozilla/5.0 (compatible; AhrefsSpider/1.0)",
            "curl/8.5.0",
            "",
        ] {
            assert!(is_bot(bot), "{bot}");
        }
        assert!(!is_bot(
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/141.0.0.0 Safari/537.36"
        ));
        assert!(!is_bot(
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15"
        ));
    }

    #[test]
    fn only_the_host_of_an_external_referrer_is_kept() {
        let own = ["folio.example", "127.0.0.1"];
        for (referrer, expected) in [
            ("https://news.example/item?id=1", Some("news.example")),
            ("https://User:pw@News.Example:8443/x", Some("news.example")),
            ("http://[2001:db8::1]:8080/", Some("[2001:db8::1]")),
            ("https://folio.example/projects", None),
            ("https://www.folio.example/", None),
            ("http://127.0.0.1:3000/about", None),
            ("", None),
            ("android-app://com.slack/", None),
            ("https:///nothing", None),
            ("https://bad host/", None),
        ] {
            assert_eq!(
                referrer_host(referrer, &own).as_deref(),
                expected,
                "{referrer}"
            );
        }
    }

    #[test]
    fn hosts_lose_their_ports() {
        assert_eq!(host_of("127.0.0.1:3000"), "127.0.0.1");
        assert_eq!(host_of("[::1]:3000"), "[::1]");
        assert_eq!(host_of("folio.example"), "folio.example");
    }
}
