//! What a request's `Accept-Encoding` allows, for the responses folio compresses ahead of time.

use axum::http::{HeaderMap, header};

/// The `q` of each encoding folio keeps ready-made copies in (0 when refused or not named).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Accepted {
    pub br: f32,
    pub gzip: f32,
}

impl Accepted {
    /// Reads every `Accept-Encoding` header. `*` stands for any encoding not named; `x-gzip` is
    /// gzip (RFC 9110 section 12.5.3).
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let (mut br, mut gzip, mut any) = (None, None, None);
        for item in headers
            .get_all(header::ACCEPT_ENCODING)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
        {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or_default().trim();
            let q = parts
                .find_map(|param| {
                    let (key, value) = param.split_once('=')?;
                    key.trim()
                        .eq_ignore_ascii_case("q")
                        .then(|| value.trim().parse::<f32>().ok())?
                })
                .unwrap_or(1.0)
                .clamp(0.0, 1.0);
            if name.eq_ignore_ascii_case("br") {
                br = Some(q);
            } else if name.eq_ignore_ascii_case("gzip") || name.eq_ignore_ascii_case("x-gzip") {
                gzip = Some(q);
            } else if name == "*" {
                any = Some(q);
            }
        }
        let any = any.unwrap_or(0.0);
        Self {
            br: br.unwrap_or(any),
            gzip: gzip.unwrap_or(any),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn accepted(values: &[&'static str]) -> Accepted {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(header::ACCEPT_ENCODING, HeaderValue::from_static(value));
        }
        Accepted::from_headers(&headers)
    }

    #[test]
    fn reads_names_weights_and_the_wildcard() {
        let cases: &[(&[&'static str], f32, f32)] = &[
            (&[], 0.0, 0.0),
            (&["gzip, deflate, br, zstd"], 1.0, 1.0),
            (&["GZIP;q=0.5", "Br ; Q=0.8"], 0.8, 0.5),
            (&["x-gzip"], 0.0, 1.0),
            (&["br;q=0, *"], 0.0, 1.0),
            (&["*;q=0.3"], 0.3, 0.3),
            (&["gzip;q=2, br;q=nonsense"], 1.0, 1.0),
            (&["identity"], 0.0, 0.0),
        ];
        for &(headers, br, gzip) in cases {
            assert_eq!(accepted(headers), Accepted { br, gzip }, "{headers:?}");
        }
    }
}
