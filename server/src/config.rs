//! The one typed configuration, read once at start.
//!
//! Sources, later ones winning: built-in defaults, the `[folio]` and
//! `[package.metadata.leptos]` tables of `Leptos.toml` (or the file named by `FOLIO_CONFIG`),
//! then environment variables. A malformed value stops the process with a message naming the
//! setting and what it expects. The README lists every setting with its default.

use leptos::config::LeptosOptions;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Why the configuration could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("{name} = {value:?} is not valid: expected {expected}")]
    Invalid {
        name: &'static str,
        value: String,
        expected: &'static str,
    },
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// Where the data lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// A private cluster folio starts in `<data-dir>/postgres`.
    Embedded { postgres_bin: Option<PathBuf> },
    /// A server someone else runs.
    Url(String),
}

/// Everything the process needs to know, validated.
#[derive(Debug, Clone)]
pub struct Config {
    pub leptos: LeptosOptions,
    pub data_dir: PathBuf,
    pub database: Database,
    /// Origin visitors use, without a trailing slash, e.g. `https://example.com`.
    pub public_url: String,
    pub log_format: LogFormat,
    pub log_filter: String,
    /// Load the demo content into an empty database at first start.
    pub demo_content: bool,
    pub metrics_token: Option<String>,
    pub body_limit: usize,
    pub db_max_connections: u32,
    pub ready_timeout: Duration,
    pub shutdown_timeout: Duration,
    /// Proxies whose `X-Forwarded-For` names the client (none by default).
    pub trusted_proxies: crate::client::TrustedProxies,
    /// Contact messages accepted per client address per hour.
    pub contact_limit_per_hour: u32,
    /// Web Vitals beacons accepted per client address per minute, counted by each instance.
    pub vitals_limit_per_minute: u32,
    /// How long raw Web Vitals rows are kept before they are rolled up into daily histograms.
    pub vitals_retention_days: u32,
    /// The share of visitors' page views the browser collector measures, in percent (0 turns
    /// it off: the page then tells no browser to measure).
    pub vitals_sample_percent: u8,
    /// The owner's session ends after this long without a request...
    pub session_idle: Duration,
    /// ...and this long after signing in, however active.
    pub session_absolute: Duration,
}

impl Config {
    /// Whether visitors reach folio over HTTPS (decides HSTS).
    pub fn is_https(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    /// Reads the file named by `FOLIO_CONFIG` (default `Leptos.toml`) and the environment.
    pub fn load() -> Result<Self, ConfigError> {
        let path = std::env::var_os("FOLIO_CONFIG")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("Leptos.toml"));
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
            path: path.clone(),
            source,
        })?;
        Self::from_parts(&path, &text, |name| std::env::var(name).ok())
    }

    /// Builds the configuration from a file's text and an environment lookup (tests pass a map).
    pub fn from_parts(
        path: &Path,
        text: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let file_error = |message: String| ConfigError::File {
            path: path.to_path_buf(),
            message,
        };
        let file: FileConfig = toml::from_str(text).map_err(|e| file_error(e.to_string()))?;
        // Leptos applies its own `LEPTOS_*` overrides while reading its table.
        let leptos = leptos::config::get_config_from_str(text)
            .map_err(|e| file_error(format!("[package.metadata.leptos]: {e}")))?;
        let folio = file.folio;

        let env_or = |name: &str, file_value: Option<String>| {
            env(name)
                .filter(|v| !v.is_empty())
                .or(file_value.filter(|v| !v.is_empty()))
        };

        let database = match env_or("DATABASE_URL", folio.database_url) {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Database::Url(url)
            }
            Some(url) => {
                return Err(ConfigError::Invalid {
                    name: "DATABASE_URL",
                    value: url,
                    expected: "a postgres:// or postgresql:// URL, or nothing for the embedded database",
                });
            }
            None => Database::Embedded {
                postgres_bin: env_or("FOLIO_POSTGRES_BIN", folio.postgres_bin).map(PathBuf::from),
            },
        };

        let public_url = env_or("FOLIO_PUBLIC_URL", folio.public_url)
            .unwrap_or_else(|| format!("http://{}", leptos.site_addr));
        let public_url = parse_origin(&public_url).ok_or(ConfigError::Invalid {
            name: "FOLIO_PUBLIC_URL",
            value: public_url.clone(),
            expected: "an origin such as https://example.com (scheme and host, no path)",
        })?;

        let log_format = match env("FOLIO_LOG_FORMAT").filter(|v| !v.is_empty()) {
            None => folio.log_format.unwrap_or(LogFormat::Text),
            Some(v) if v == "text" => LogFormat::Text,
            Some(v) if v == "json" => LogFormat::Json,
            Some(value) => {
                return Err(ConfigError::Invalid {
                    name: "FOLIO_LOG_FORMAT",
                    value,
                    expected: "text or json",
                });
            }
        };

        let demo_content = match env("FOLIO_DEMO_CONTENT").filter(|v| !v.is_empty()) {
            None => folio.demo_content.unwrap_or(true),
            Some(v) if v == "true" => true,
            Some(v) if v == "false" => false,
            Some(value) => {
                return Err(ConfigError::Invalid {
                    name: "FOLIO_DEMO_CONTENT",
                    value,
                    expected: "true or false",
                });
            }
        };

        let proxies = env_or("FOLIO_TRUSTED_PROXIES", folio.trusted_proxies).unwrap_or_default();
        let trusted_proxies =
            crate::client::TrustedProxies::parse(&proxies).map_err(|bad| ConfigError::Invalid {
                name: "FOLIO_TRUSTED_PROXIES",
                value: bad,
                expected: "comma-separated IP addresses or networks, e.g. 127.0.0.1, 10.0.0.0/8",
            })?;

        let minutes = "a whole number of minutes, at least 1";
        let session_idle = number(
            &env,
            "FOLIO_SESSION_IDLE_MINUTES",
            folio.session_idle_minutes,
            120,
            minutes,
        )
        .and_then(|n| at_least("FOLIO_SESSION_IDLE_MINUTES", n, 1, minutes))?;
        let hours = "a whole number of hours, at least 1";
        let session_absolute = number(
            &env,
            "FOLIO_SESSION_ABSOLUTE_HOURS",
            folio.session_absolute_hours,
            24,
            hours,
        )
        .and_then(|n| at_least("FOLIO_SESSION_ABSOLUTE_HOURS", n, 1, hours))?;

        Ok(Self {
            session_idle: Duration::from_secs(session_idle * 60),
            session_absolute: Duration::from_secs(session_absolute * 3600),
            trusted_proxies,
            contact_limit_per_hour: number(
                &env,
                "FOLIO_CONTACT_LIMIT_PER_HOUR",
                folio.contact_limit_per_hour,
                5,
                "a whole number of messages, at least 1",
            )
            .and_then(|n| {
                at_least(
                    "FOLIO_CONTACT_LIMIT_PER_HOUR",
                    n,
                    1,
                    "a whole number of messages, at least 1",
                )
            })?,
            vitals_limit_per_minute: number(
                &env,
                "FOLIO_VITALS_LIMIT_PER_MINUTE",
                folio.vitals_limit_per_minute,
                120,
                "a whole number of beacons, at least 1",
            )
            .and_then(|n| {
                at_least(
                    "FOLIO_VITALS_LIMIT_PER_MINUTE",
                    n,
                    1,
                    "a whole number of beacons, at least 1",
                )
            })?,
            vitals_retention_days: number(
                &env,
                "FOLIO_VITALS_RETENTION_DAYS",
                folio.vitals_retention_days,
                30,
                "a whole number of days, at least 1",
            )
            .and_then(|n| {
                at_least(
                    "FOLIO_VITALS_RETENTION_DAYS",
                    n,
                    1,
                    "a whole number of days, at least 1",
                )
            })?,
            vitals_sample_percent: number(
                &env,
                "FOLIO_VITALS_SAMPLE_PERCENT",
                folio.vitals_sample_percent,
                100,
                "a whole percentage from 0 to 100",
            )
            .and_then(|n| {
                if n <= 100 {
                    Ok(n)
                } else {
                    Err(ConfigError::Invalid {
                        name: "FOLIO_VITALS_SAMPLE_PERCENT",
                        value: n.to_string(),
                        expected: "a whole percentage from 0 to 100",
                    })
                }
            })?,
            demo_content,
            data_dir: PathBuf::from(
                env_or("FOLIO_DATA_DIR", folio.data_dir).unwrap_or_else(|| "data".into()),
            ),
            database,
            public_url,
            log_format,
            log_filter: env_or("RUST_LOG", folio.log_filter).unwrap_or_else(|| "info".into()),
            metrics_token: env_or("FOLIO_METRICS_TOKEN", folio.metrics_token),
            body_limit: number(
                &env,
                "FOLIO_BODY_LIMIT",
                folio.body_limit,
                1 << 20,
                "bytes, at least 1024",
            )
            .and_then(|n| at_least("FOLIO_BODY_LIMIT", n, 1024, "bytes, at least 1024"))?,
            db_max_connections: number(
                &env,
                "FOLIO_DB_MAX_CONNECTIONS",
                folio.db_max_connections,
                16,
                "a whole number from 1 to 1000",
            )
            .and_then(|n| {
                at_least(
                    "FOLIO_DB_MAX_CONNECTIONS",
                    n,
                    1,
                    "a whole number from 1 to 1000",
                )
            })?,
            ready_timeout: Duration::from_millis(
                number(
                    &env,
                    "FOLIO_READY_TIMEOUT_MS",
                    folio.ready_timeout_ms,
                    1000,
                    "milliseconds, at least 1",
                )
                .and_then(|n| {
                    at_least("FOLIO_READY_TIMEOUT_MS", n, 1, "milliseconds, at least 1")
                })?,
            ),
            shutdown_timeout: Duration::from_secs(number(
                &env,
                "FOLIO_SHUTDOWN_TIMEOUT_SECS",
                folio.shutdown_timeout_secs,
                10,
                "whole seconds",
            )?),
            leptos,
        })
    }
}

/// `scheme://host[:port]` with nothing after it, or `None`.
fn parse_origin(url: &str) -> Option<String> {
    let url = url.trim_end_matches('/');
    let (scheme, rest) = url.split_once("://")?;
    let valid_host = !rest.is_empty()
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    (matches!(scheme, "http" | "https") && valid_host).then(|| url.to_ascii_lowercase())
}

/// A number from the environment, else the file, else `default`.
fn number<T: std::str::FromStr + Copy>(
    env: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    file_value: Option<T>,
    default: T,
    expected: &'static str,
) -> Result<T, ConfigError> {
    match env(name).filter(|v| !v.is_empty()) {
        Some(value) => value.trim().parse().map_err(|_| ConfigError::Invalid {
            name,
            value,
            expected,
        }),
        None => Ok(file_value.unwrap_or(default)),
    }
}

fn at_least<T: PartialOrd + ToString>(
    name: &'static str,
    value: T,
    min: T,
    expected: &'static str,
) -> Result<T, ConfigError> {
    if value >= min {
        Ok(value)
    } else {
        Err(ConfigError::Invalid {
            name,
            value: value.to_string(),
            expected,
        })
    }
}

#[derive(Debug, Default, Deserialize)]
struct FileConfig {
    #[serde(default)]
    folio: FolioTable,
}

/// The `[folio]` table; unknown keys are errors so a typo is never silently ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FolioTable {
    data_dir: Option<String>,
    database_url: Option<String>,
    public_url: Option<String>,
    postgres_bin: Option<String>,
    log_format: Option<LogFormat>,
    log_filter: Option<String>,
    demo_content: Option<bool>,
    metrics_token: Option<String>,
    body_limit: Option<usize>,
    db_max_connections: Option<u32>,
    ready_timeout_ms: Option<u64>,
    shutdown_timeout_secs: Option<u64>,
    trusted_proxies: Option<String>,
    contact_limit_per_hour: Option<u32>,
    vitals_limit_per_minute: Option<u32>,
    vitals_retention_days: Option<u32>,
    vitals_sample_percent: Option<u8>,
    session_idle_minutes: Option<u64>,
    session_absolute_hours: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const FILE: &str = "[folio]\ndata-dir = \"d\"\n\n[package.metadata.leptos]\noutput-name = \"folio\"\nsite-addr = \"127.0.0.1:3000\"\n";

    fn load(text: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_parts(Path::new("Leptos.toml"), text, |k| env.get(k).cloned())
    }

    #[test]
    fn defaults_give_an_embedded_database_and_a_local_origin() {
        let config = load(FILE, &[]).expect("valid");
        assert_eq!(config.data_dir, PathBuf::from("d"));
        assert_eq!(config.database, Database::Embedded { postgres_bin: None });
        assert_eq!(config.public_url, "http://127.0.0.1:3000");
        assert_eq!(config.body_limit, 1 << 20);
        assert_eq!(config.vitals_limit_per_minute, 120);
        assert_eq!(config.vitals_retention_days, 30);
        assert_eq!(config.vitals_sample_percent, 100);
        assert!(!config.is_https());
    }

    #[test]
    fn environment_overrides_the_file() {
        let config = load(
            FILE,
            &[
                ("DATABASE_URL", "postgres://u@h/db"),
                ("FOLIO_DATA_DIR", "elsewhere"),
                ("FOLIO_PUBLIC_URL", "https://Example.com/"),
                ("FOLIO_LOG_FORMAT", "json"),
                ("FOLIO_BODY_LIMIT", "2048"),
            ],
        )
        .expect("valid");
        assert_eq!(config.database, Database::Url("postgres://u@h/db".into()));
        assert_eq!(config.data_dir, PathBuf::from("elsewhere"));
        assert_eq!(config.public_url, "https://example.com");
        assert!(config.is_https());
        assert_eq!(config.log_format, LogFormat::Json);
        assert_eq!(config.body_limit, 2048);
    }

    #[test]
    fn a_bad_value_names_its_variable() {
        for (name, value) in [
            ("FOLIO_BODY_LIMIT", "lots"),
            ("FOLIO_BODY_LIMIT", "10"),
            ("FOLIO_LOG_FORMAT", "xml"),
            ("DATABASE_URL", "mysql://x"),
            ("FOLIO_PUBLIC_URL", "example.com/path"),
            ("FOLIO_DB_MAX_CONNECTIONS", "0"),
            ("FOLIO_DEMO_CONTENT", "yes"),
            ("FOLIO_TRUSTED_PROXIES", "10.0.0.0/8, proxy.local"),
            ("FOLIO_CONTACT_LIMIT_PER_HOUR", "0"),
            ("FOLIO_VITALS_LIMIT_PER_MINUTE", "0"),
            ("FOLIO_VITALS_RETENTION_DAYS", "a month"),
            ("FOLIO_VITALS_SAMPLE_PERCENT", "101"),
            ("FOLIO_VITALS_SAMPLE_PERCENT", "-1"),
            ("FOLIO_SESSION_IDLE_MINUTES", "0"),
            ("FOLIO_SESSION_ABSOLUTE_HOURS", "a day"),
        ] {
            let error = load(FILE, &[(name, value)]).expect_err(name).to_string();
            assert!(error.contains(name), "{error}");
        }
    }

    #[test]
    fn a_typo_in_the_file_is_refused() {
        let error = load(&FILE.replace("data-dir", "data-dri"), &[])
            .expect_err("typo")
            .to_string();
        assert!(error.contains("data-dri"), "{error}");
    }

    #[test]
    fn a_missing_leptos_table_is_refused() {
        let error = load("[folio]\n", &[])
            .expect_err("no leptos table")
            .to_string();
        assert!(error.contains("package.metadata.leptos"), "{error}");
    }
}
