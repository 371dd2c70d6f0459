//! The beacon's wire format and its checks: what the browser collector sends to
//! `POST /api/vitals`, and everything a batch must satisfy before any of it is stored.
//!
//! ```json
//! {"page": "/projects/tide-tables?from=home",
//!  "view": "v5-1732451234567-8901234567890",
//!  "nav": "navigate", "ect": "4g", "ref": "https://news.example/item?id=1",
//!  "metrics": [{"name": "LCP", "id": "v5-1732451234567-1234567890123", "value": 1234.5,
//!               "delta": 1234.5, "rating": "good",
//!               "attribution": {"element": "main > img.cover", "resourceLoadDelay": 12.5}}]}
//! ```
//!
//! Unknown fields anywhere are refused, so a collector that drifts from this format is told at
//! once rather than silently half-stored. The client's `rating` must be one of the three names
//! but is not trusted: the server works it out again from the value (`Name::rating`, the
//! app's rules).

pub use app::vitals::rules::{Name, Rating};
use serde::Deserialize;
use serde_json::{Map, Value};

/// Metrics in one beacon, at most.
pub const MAX_METRICS: usize = 50;
/// Characters of `page` and of `ref`, at most.
const MAX_URL: usize = 2048;
/// Attribution fields per metric, at most, and characters of a text field.
const MAX_ATTRIBUTION_FIELDS: usize = 10;
const MAX_ATTRIBUTION_TEXT: usize = 500;
/// The largest time accepted, in milliseconds (ten minutes), and the largest CLS.
pub const MAX_MILLIS: f64 = 600_000.0;
pub const MAX_CLS: f64 = 50.0;

/// One beacon, as sent.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Beacon {
    /// The page's path (a query or fragment is dropped by the server).
    pub page: String,
    /// The page view's id: every beacon from one page view carries the same.
    pub view: String,
    pub nav: Navigation,
    /// `navigator.connection.effectiveType` where the browser has it.
    #[serde(default)]
    pub ect: Option<Connection>,
    /// `document.referrer`, possibly empty.
    #[serde(rename = "ref", default)]
    pub referrer: String,
    pub metrics: Vec<Metric>,
}

/// One metric value, as sent.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metric {
    pub name: Name,
    /// Unique per metric instance; a re-report of a grown CLS or INP carries the same id.
    pub id: String,
    pub value: f64,
    /// Change since this id was last reported (checked, not stored).
    pub delta: f64,
    /// The client's rating; checked for form, then replaced by the server's own.
    pub rating: Rating,
    #[serde(default)]
    pub attribution: Map<String, Value>,
}

/// web-vitals' `navigationType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Navigation {
    Navigate,
    Reload,
    BackForward,
    BackForwardCache,
    Prerender,
    Restore,
}

/// `navigator.connection.effectiveType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Connection {
    #[serde(rename = "4g")]
    FourG,
    #[serde(rename = "3g")]
    ThreeG,
    #[serde(rename = "2g")]
    TwoG,
    #[serde(rename = "slow-2g")]
    Slow2g,
}

/// What an attribution field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    /// A selector, URL or event type: text of at most [`MAX_ATTRIBUTION_TEXT`] characters.
    Text,
    /// A duration in milliseconds, as bounded as the metric's own value.
    Millis,
}

/// The largest value accepted for `name`.
pub fn max(name: Name) -> f64 {
    match name {
        Name::Cls => MAX_CLS,
        _ => MAX_MILLIS,
    }
}

/// The attribution fields `name` may carry. The names are web-vitals' own
/// (`attribution.element`, `attribution.inputDelay`, ...), cut down to what the dashboard
/// shows: what was slow, and which part of the time it spent where.
fn attribution(name: Name) -> &'static [(&'static str, Field)] {
    match name {
        Name::Lcp => &[
            ("element", Field::Text),
            ("url", Field::Text),
            ("timeToFirstByte", Field::Millis),
            ("resourceLoadDelay", Field::Millis),
            ("resourceLoadDuration", Field::Millis),
            ("elementRenderDelay", Field::Millis),
        ],
        Name::Inp => &[
            ("target", Field::Text),
            ("type", Field::Text),
            ("loadState", Field::Text),
            ("inputDelay", Field::Millis),
            ("processingDuration", Field::Millis),
            ("presentationDelay", Field::Millis),
        ],
        Name::Cls => &[("target", Field::Text), ("loadState", Field::Text)],
        Name::Fcp => &[
            ("loadState", Field::Text),
            ("timeToFirstByte", Field::Millis),
            ("firstByteToFCP", Field::Millis),
        ],
        Name::Ttfb => &[
            ("waitingDuration", Field::Millis),
            ("cacheDuration", Field::Millis),
            ("dnsDuration", Field::Millis),
            ("connectionDuration", Field::Millis),
            ("requestDuration", Field::Millis),
        ],
    }
}

impl Navigation {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Navigate => "navigate",
            Self::Reload => "reload",
            Self::BackForward => "back-forward",
            Self::BackForwardCache => "back-forward-cache",
            Self::Prerender => "prerender",
            Self::Restore => "restore",
        }
    }
}

impl Connection {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FourG => "4g",
            Self::ThreeG => "3g",
            Self::TwoG => "2g",
            Self::Slow2g => "slow-2g",
        }
    }
}

/// Reads a beacon from its body, refusing anything malformed or out of bounds with a one-line
/// reason that names the field.
pub fn parse(body: &[u8]) -> Result<Beacon, String> {
    let beacon: Beacon = serde_json::from_slice(body).map_err(|error| {
        let what = match error.classify() {
            serde_json::error::Category::Data => "does not match the beacon format",
            _ => "is not valid JSON",
        };
        format!("The beacon {what}: {error}.")
    })?;
    check(&beacon)?;
    Ok(beacon)
}

fn check(beacon: &Beacon) -> Result<(), String> {
    if !beacon.page.starts_with('/') || beacon.page.len() > MAX_URL {
        return Err(format!(
            "page must be a path starting with / of at most {MAX_URL} bytes."
        ));
    }
    if beacon.referrer.len() > MAX_URL {
        return Err(format!("ref must be at most {MAX_URL} bytes."));
    }
    check_id("view", &beacon.view)?;
    if beacon.metrics.len() > MAX_METRICS {
        return Err(format!(
            "metrics has {} entries; at most {MAX_METRICS} are accepted in one beacon.",
            beacon.metrics.len()
        ));
    }
    for (i, metric) in beacon.metrics.iter().enumerate() {
        check_metric(metric)
            .map_err(|reason| format!("metrics[{i}] ({}): {reason}", metric.name.as_str()))?;
    }
    Ok(())
}

/// Ids are 8 to 64 letters, digits and hyphens, as web-vitals makes them (`v5-<time>-<random>`).
fn check_id(field: &str, id: &str) -> Result<(), String> {
    if (8..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        Ok(())
    } else {
        Err(format!(
            "{field} must be 8 to 64 letters, digits or hyphens."
        ))
    }
}

fn check_metric(metric: &Metric) -> Result<(), String> {
    check_id("id", &metric.id)?;
    let max = max(metric.name);
    let unit = if metric.name == Name::Cls { "" } else { " ms" };
    if !metric.value.is_finite() || metric.value < 0.0 {
        return Err(format!(
            "value {} must be a finite number, at least 0.",
            metric.value
        ));
    }
    if metric.value > max {
        return Err(format!(
            "value {} is larger than the most accepted, {max}{unit}.",
            metric.value
        ));
    }
    if !metric.delta.is_finite() || metric.delta.abs() > max {
        return Err(format!(
            "delta {} must be a finite number from -{max} to {max}.",
            metric.delta
        ));
    }
    let allowed = attribution(metric.name);
    if metric.attribution.len() > MAX_ATTRIBUTION_FIELDS {
        return Err(format!(
            "attribution has more than {MAX_ATTRIBUTION_FIELDS} fields."
        ));
    }
    for (key, value) in &metric.attribution {
        let Some((_, field)) = allowed.iter().find(|(name, _)| name == key) else {
            let names: Vec<&str> = allowed.iter().map(|(name, _)| *name).collect();
            return Err(format!(
                "attribution.{key} is not known; {} attribution may have {}.",
                metric.name.as_str(),
                names.join(", ")
            ));
        };
        let fits = match (field, value) {
            (Field::Text, Value::String(text)) => text.chars().count() <= MAX_ATTRIBUTION_TEXT,
            (Field::Millis, Value::Number(n)) => n
                .as_f64()
                .is_some_and(|ms| (0.0..=MAX_MILLIS).contains(&ms)),
            _ => false,
        };
        if !fits {
            let expected = match field {
                Field::Text => format!("text of at most {MAX_ATTRIBUTION_TEXT} characters"),
                Field::Millis => format!("milliseconds from 0 to {MAX_MILLIS}"),
            };
            return Err(format!("attribution.{key} must be {expected}."));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn beacon(metrics: &str) -> String {
        format!(
            r#"{{"page":"/","view":"view-0001","nav":"navigate","ect":null,"ref":"","metrics":[{metrics}]}}"#
        )
    }

    fn metric(name: &str, value: &str, attribution: &str) -> String {
        format!(
            r#"{{"name":"{name}","id":"metric-0001","value":{value},"delta":{value},"rating":"good","attribution":{attribution}}}"#
        )
    }

    fn refusal(body: &str) -> String {
        parse(body.as_bytes()).expect_err("refused")
    }

    #[test]
    fn the_documented_example_is_accepted() {
        let body = r#"{"page": "/projects/tide-tables?from=home",
             "view": "v5-1732451234567-8901234567890",
             "nav": "navigate", "ect": "4g", "ref": "https://news.example/item?id=1",
             "metrics": [{"name": "LCP", "id": "v5-1732451234567-1234567890123", "value": 1234.5,
                          "delta": 1234.5, "rating": "good",
                          "attribution": {"element": "main > img.cover", "resourceLoadDelay": 12.5}}]}"#;
        let beacon = parse(body.as_bytes()).expect("valid");
        assert_eq!(beacon.ect, Some(Connection::FourG));
        assert_eq!(beacon.metrics[0].name, Name::Lcp);
        assert_eq!(beacon.metrics[0].attribution.len(), 2);
    }

    #[test]
    fn the_largest_accepted_time_falls_in_the_last_bin() {
        assert_eq!(
            app::vitals::bins::bin(Name::Lcp, MAX_MILLIS),
            app::vitals::bins::LAST
        );
        assert!(app::vitals::bins::bin(Name::Cls, MAX_CLS) <= app::vitals::bins::LAST);
    }

    #[test]
    fn each_refusal_names_what_was_wrong() {
        for (body, expected) in [
            (beacon(&metric("LCP", "-1", "{}")), "at least 0"),
            (
                beacon(&metric("LCP", "600001", "{}")),
                "larger than the most accepted",
            ),
            (
                beacon(&metric("CLS", "51", "{}")),
                "larger than the most accepted, 50",
            ),
            (beacon(&metric("FID", "10", "{}")), "unknown variant `FID`"),
            (beacon(&metric("LCP", "1e999", "{}")), "number out of range"),
            (
                beacon(&metric("LCP", r#""NaN""#, "{}")),
                "invalid type: string",
            ),
            (
                beacon(&metric("LCP", "10", r#"{"colour":"red"}"#)),
                "attribution.colour is not known",
            ),
            (
                beacon(&metric("LCP", "10", r#"{"element":7}"#)),
                "attribution.element must be text",
            ),
            (
                beacon(&metric("INP", "10", r#"{"inputDelay":-3}"#)),
                "attribution.inputDelay must be milliseconds",
            ),
            (
                beacon(&metric(
                    "CLS",
                    "0.1",
                    r#"{"target":"x","loadState":"y","url":"z"}"#,
                )),
                "attribution.url",
            ),
            (
                beacon("").replace(r#""ref":"""#, r#""ref":"","extra":1"#),
                "unknown field `extra`",
            ),
            (beacon("").replace("/", "projects"), "page must be a path"),
            (
                beacon("").replace("view-0001", "v1"),
                "view must be 8 to 64",
            ),
            (
                beacon("").replace("navigate", "teleport"),
                "unknown variant `teleport`",
            ),
            ("{\"page\":".to_owned(), "is not valid JSON"),
        ] {
            let reason = refusal(&body);
            assert!(reason.contains(expected), "{body}: {reason}");
            assert!(!reason.contains('\n'), "one line: {reason}");
        }
    }

    #[test]
    fn a_delta_is_bounded_like_its_value_and_may_be_negative() {
        let shrunk = metric("INP", "120", "{}").replace(r#""delta":120"#, r#""delta":-80"#);
        assert!(parse(beacon(&shrunk).as_bytes()).is_ok());
        let huge = metric("INP", "120", "{}").replace(r#""delta":120"#, r#""delta":-700000"#);
        assert!(refusal(&beacon(&huge)).contains("delta"));
    }

    #[test]
    fn at_most_fifty_metrics_are_accepted() {
        let one = metric("TTFB", "80", "{}");
        let fifty = vec![one.as_str(); MAX_METRICS].join(",");
        assert!(parse(beacon(&fifty).as_bytes()).is_ok());
        let more = format!("{fifty},{one}");
        assert!(refusal(&beacon(&more)).contains("at most 50"));
    }
}
