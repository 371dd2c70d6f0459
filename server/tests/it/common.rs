//! Helpers shared by the integration tests.

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, Response, StatusCode, header};
use folio_server::config::Config;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tower::ServiceExt;

/// The workspace root, where `Leptos.toml` lives.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The real `Leptos.toml`, with asset hashing off (tests run without a site build).
pub fn config() -> Config {
    let path = workspace_root().join("Leptos.toml");
    let text = std::fs::read_to_string(&path)
        .expect("Leptos.toml")
        .replace("hash-files = true", "hash-files = false");
    Config::from_parts(&path, &text, |_| None).expect("valid configuration")
}

/// The whole response body as text.
pub async fn body_text(response: Response<Body>) -> String {
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .expect("body")
        .to_bytes();
    String::from_utf8(bytes.to_vec()).expect("utf-8 body")
}

/// The nonce in a response's Content-Security-Policy.
pub fn csp_nonce(headers: &HeaderMap) -> String {
    headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .expect("ascii")
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("a nonce in the CSP")
        .to_owned()
}

/// Checks that every script `html` runs carries `nonce` and that its JSON-LD data block, which
/// the browser never runs, carries none; returns how many scripts run.
pub fn assert_scripts_carry(html: &str, nonce: &str) -> usize {
    let mut scripts = 0;
    for attributes in html
        .split("<script")
        .skip(1)
        .filter_map(|rest| rest.split('>').next())
    {
        if attributes.contains("type=\"application/ld+json\"") {
            assert!(
                !attributes.contains("nonce="),
                "a data block with a nonce: {attributes}"
            );
        } else {
            assert!(
                attributes.contains(&format!("nonce=\"{nonce}\"")),
                "a script without the response's nonce: <script{attributes}>"
            );
            scripts += 1;
        }
    }
    scripts
}

/// The attributes of the first `<tag …>` in `html` whose attributes contain `marker`
/// (attribute order is the renderer's business, so tests look at them one by one).
pub fn opening_tag<'a>(html: &'a str, tag: &str, marker: &str) -> &'a str {
    html.split(&format!("<{tag} "))
        .skip(1)
        .filter_map(|rest| rest.split('>').next())
        .find(|attributes| attributes.contains(marker))
        .unwrap_or_else(|| panic!("no <{tag}> with {marker} in {html}"))
}

pub fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).expect("request")
}

/// A GET carrying a session cookie (one no session has): the owner's kind of request, signed in
/// or not.
pub fn get_with_session_cookie(uri: &str) -> Request<Body> {
    Request::get(uri)
        .header(
            header::COOKIE,
            format!("{}=abc", folio_server::SESSION_COOKIE),
        )
        .body(Body::empty())
        .expect("request")
}

/// Processes whose command line mentions `needle` (to prove a cluster left nothing behind).
pub fn processes_mentioning(needle: &str) -> Vec<String> {
    std::fs::read_dir("/proc")
        .expect("/proc")
        .flatten()
        .filter(|entry| entry.file_name().to_string_lossy().parse::<u32>().is_ok())
        .filter_map(|entry| std::fs::read(entry.path().join("cmdline")).ok())
        .map(|raw| String::from_utf8_lossy(&raw).replace('\0', " "))
        .filter(|cmdline| cmdline.contains(needle))
        .collect()
}

/// A response, read whole.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    /// The session cookie this response set, if any.
    pub fn cookie(&self) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(folio_server::SESSION_COOKIE))
            .map(|v| v.split(';').next().unwrap_or_default().to_owned())
            .filter(|pair| !pair.ends_with('='))
    }

    pub fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }
}

/// A same-origin request from `from`, carrying `cookie` when given.
pub fn request(
    method: Method,
    uri: &str,
    body: &str,
    cookie: Option<&str>,
    from: &str,
) -> Request<Body> {
    // As a browser sends it.
    let mut builder = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::ACCEPT, "text/html,application/xhtml+xml")
        .header("sec-fetch-site", "same-origin");
    if !body.is_empty() {
        builder = builder.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    }
    if let Some(cookie) = cookie {
        builder = builder.header(header::COOKIE, cookie);
    }
    let mut request = builder.body(Body::from(body.to_owned())).expect("request");
    let peer: SocketAddr = from.parse().expect("address");
    request.extensions_mut().insert(ConnectInfo(peer));
    request
}

pub async fn send(app: &Router, request: Request<Body>) -> Reply {
    let response = app.clone().oneshot(request).await.expect("response");
    let status = response.status();
    let headers = response.headers().clone();
    Reply {
        status,
        headers,
        body: body_text(response).await,
    }
}

pub fn form(fields: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish()
}

pub const EMAIL: &str = "owner@example.com";
pub const PASSWORD: &str = "correct horse battery staple";
/// Where the owner's requests come from.
pub const OWNER_ADDR: &str = "192.0.2.1:1000";

/// The router and the owner's session cookie.
pub async fn signed_in(pool: &sqlx::PgPool) -> (Router, String) {
    folio_server::db::migrate(pool).await.expect("migrate");
    let app = folio_server::router(folio_server::AppState::new(config(), pool.clone()));
    folio_server::auth::reset_password(pool, Some(EMAIL), PASSWORD)
        .await
        .expect("owner");
    let body = form(&[("email", EMAIL), ("password", PASSWORD), ("next", "/owner")]);
    let reply = send(
        &app,
        request(Method::POST, "/sign-in", &body, None, OWNER_ADDR),
    )
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    (app, reply.cookie().expect("session cookie"))
}

/// A scratch data folder the `postgres` user can enter when the tests run as root.
pub fn data_dir() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("folio-test-")
        .tempdir_in("/tmp")
        .expect("temp dir");
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    dir
}

/// The real binary on a free port with its own data folder, once it accepts connections.
pub async fn start_folio(data: &Path, env: &[(&str, &str)]) -> (tokio::process::Child, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("free port")
        .local_addr()
        .expect("addr")
        .port();
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_folio"))
        .current_dir(workspace_root())
        .env("FOLIO_DATA_DIR", data)
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env("LEPTOS_HASH_FILES", "false")
        .env("RUST_LOG", "warn")
        .env_remove("DATABASE_URL")
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn folio");
    let deadline = Instant::now() + Duration::from_secs(60);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "folio did not start within 60 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (child, port)
}
