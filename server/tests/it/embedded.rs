//! The embedded PostgreSQL cluster: created once, reused with its data, stopped without a trace,
//! and the readiness probe following it down and up.

use crate::common::{
    body_text, config, data_dir, get, processes_mentioning, start_folio, workspace_root,
};
use axum::http::StatusCode;
use folio_server::embedded::EmbeddedPostgres;
use folio_server::{AppState, db, router};
use std::time::Duration;
use tower::ServiceExt;

#[tokio::test]
async fn first_start_creates_the_cluster_and_the_second_keeps_its_data() {
    let data = data_dir();
    let mut cluster = EmbeddedPostgres::new(data.path(), None).expect("binaries found");
    assert!(!cluster.dir().join("PG_VERSION").exists());

    cluster.start().await.expect("first start");
    assert!(cluster.dir().join("PG_VERSION").exists(), "cluster created");
    let conf = std::fs::read_to_string(cluster.dir().join("postgresql.conf")).expect("conf");
    assert!(conf.contains("listen_addresses = ''"), "no TCP port");
    let pool = db::connect(cluster.connect_options(), 2)
        .await
        .expect("connect");
    db::migrate(&pool).await.expect("migrate");
    sqlx::query("insert into projects (slug, title) values ('kept', 'Kept across restarts')")
        .execute(&pool)
        .await
        .expect("insert");
    pool.close().await;
    cluster.stop().await.expect("stop");
    assert!(!cluster.is_running().await);

    let mut again = EmbeddedPostgres::new(data.path(), None).expect("binaries found");
    again.start().await.expect("second start");
    let pool = db::connect(again.connect_options(), 2)
        .await
        .expect("connect");
    db::migrate(&pool).await.expect("migrations are idempotent");
    let title: String = sqlx::query_scalar("select title from projects where slug = 'kept'")
        .fetch_one(&pool)
        .await
        .expect("row survived");
    assert_eq!(title, "Kept across restarts");
    pool.close().await;
    again.stop().await.expect("stop");

    let dir = again.dir().to_string_lossy().into_owned();
    assert!(!again.dir().join("postmaster.pid").exists(), "server gone");
    assert_eq!(
        processes_mentioning(&dir),
        Vec::<String>::new(),
        "no postgres process left"
    );
}

#[test]
fn missing_postgres_programs_name_the_package_to_install() {
    let data = data_dir();
    let error = EmbeddedPostgres::new(data.path(), Some(std::path::Path::new("/nonexistent/bin")))
        .expect_err("no programs there")
        .to_string();
    assert!(error.contains("apt-get install postgresql"), "{error}");
    assert!(error.contains("DATABASE_URL"), "{error}");
}

#[tokio::test]
async fn a_cluster_found_running_is_reused_and_left_running() {
    let data = data_dir();
    let mut owner = EmbeddedPostgres::new(data.path(), None).expect("binaries found");
    owner.start().await.expect("start");

    let mut guest = EmbeddedPostgres::new(data.path(), None).expect("binaries found");
    guest.start().await.expect("reuse");
    guest.stop().await.expect("leaves it alone");
    assert!(
        guest.is_running().await,
        "a server folio did not start is not folio's to stop"
    );

    owner.stop().await.expect("stop");
    assert!(!owner.is_running().await);
}

#[tokio::test]
async fn readyz_follows_the_database_down_and_up() {
    let data = data_dir();
    let mut cluster = EmbeddedPostgres::new(data.path(), None).expect("binaries found");
    cluster.start().await.expect("start");
    let pool = db::connect(cluster.connect_options(), 2)
        .await
        .expect("connect");
    db::migrate(&pool).await.expect("migrate");
    let app = router(AppState::new(config(), pool.clone()));

    let ready = app.clone().oneshot(get("/readyz")).await.expect("response");
    assert_eq!(ready.status(), StatusCode::OK);

    cluster.stop_now().await.expect("stop");
    let down = app.clone().oneshot(get("/readyz")).await.expect("response");
    assert_eq!(down.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        !body_text(down).await.contains("sqlx"),
        "no driver text for clients"
    );
    let alive = app
        .clone()
        .oneshot(get("/healthz"))
        .await
        .expect("response");
    assert_eq!(
        alive.status(),
        StatusCode::OK,
        "the process itself is still alive"
    );
    // A server function whose query fails answers with the generic error, never driver text.
    let failed = app
        .clone()
        .oneshot(get("/api/projects/featured"))
        .await
        .expect("response");
    assert_eq!(failed.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body = body_text(failed).await;
    assert!(body.contains("Internal"), "{body}");
    for leak in ["sqlx", "socket", "postgres", "connection", "No such file"] {
        assert!(!body.contains(leak), "{leak} leaked: {body}");
    }

    cluster.start().await.expect("restart");
    let back = app.oneshot(get("/readyz")).await.expect("response");
    assert_eq!(back.status(), StatusCode::OK);
    pool.close().await;
    cluster.stop().await.expect("stop");
}

/// Sends SIGTERM and waits for a clean exit.
async fn terminate(mut child: tokio::process::Child) {
    let pid =
        nix::unistd::Pid::from_raw(i32::try_from(child.id().expect("pid")).expect("pid fits"));
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("SIGTERM");
    let exit = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("exits within 30 s")
        .expect("wait");
    assert!(exit.success(), "clean exit: {exit}");
}

/// The real binary: starts its cluster, serves, and on SIGTERM stops everything it started.
#[tokio::test]
async fn the_binary_shuts_down_cleanly_on_sigterm() {
    let data = data_dir();
    let (child, port) = start_folio(data.path(), &[]).await;
    assert_eq!(http_status(port, "/readyz").await, 200);
    terminate(child).await;
    let dir = data.path().join("postgres").to_string_lossy().into_owned();
    assert_eq!(
        processes_mentioning(&dir),
        Vec::<String>::new(),
        "no postgres process left"
    );
}

/// With `FOLIO_LOG_FORMAT=json`, each request is one JSON line naming its route, status and id.
#[tokio::test]
async fn the_binary_logs_one_json_line_per_request() {
    use tokio::io::AsyncBufReadExt;
    let data = data_dir();
    let env = [
        ("FOLIO_LOG_FORMAT", "json"),
        ("FOLIO_DEMO_CONTENT", "false"),
        ("RUST_LOG", "info"),
    ];
    let (mut child, port) = start_folio(data.path(), &env).await;
    let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
    assert_eq!(http_status(port, "/readyz").await, 200);

    let request_line = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(line) = lines.next_line().await.expect("read") {
            if let Ok(json) = serde_json::from_str::<serde_json::Value>(&line)
                && json["route"] == "/readyz"
            {
                return json;
            }
        }
        panic!("no request line before the output ended");
    })
    .await
    .expect("a request line within 10 s");
    assert_eq!(request_line["status"], 200);
    assert_eq!(request_line["method"], "GET");
    assert!(request_line["latency_ms"].is_number());
    assert_eq!(
        request_line["request_id"].as_str().map(str::len),
        Some(36),
        "a UUID"
    );
    // Keep reading so the server never blocks on a full pipe while it shuts down.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    terminate(child).await;
}

/// A minimal HTTP/1.1 GET, enough to read a status line.
async fn http_status(port: u16, path: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("status line")
}

/// `folio db start` answers with the URL alone on stdout (scripts read it), however its log
/// lines happen to be timed; `db url` agrees, and `db stop` stops what it started.
#[tokio::test]
async fn db_start_prints_only_the_url_on_stdout() {
    let data = data_dir();
    let db = |action: &'static str| {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_folio"))
            .args(["db", action])
            .current_dir(workspace_root())
            .env("FOLIO_DATA_DIR", data.path())
            .env("RUST_LOG", "info")
            .env_remove("DATABASE_URL")
            .output()
    };
    let started = db("start").await.expect("db start");
    assert!(started.status.success(), "{started:?}");
    let stdout = String::from_utf8(started.stdout).expect("utf-8");
    let stderr = String::from_utf8_lossy(&started.stderr);
    assert!(
        stdout.starts_with("postgres://") && stdout.lines().count() == 1,
        "stdout: {stdout:?}"
    );
    assert!(
        stderr.contains("embedded database started"),
        "logs go to stderr: {stderr}"
    );
    let url = db("url").await.expect("db url");
    assert_eq!(String::from_utf8(url.stdout).expect("utf-8"), stdout);
    let stopped = db("stop").await.expect("db stop");
    assert!(stopped.status.success(), "{stopped:?}");
}

/// A raw HTTP/1.1 request to the real binary; the whole response as text.
async fn http(port: u16, head: &str, body: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let request = format!(
        "{head}\r\nHost: 127.0.0.1:{port}\r\nSec-Fetch-Site: same-origin\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.expect("read");
    String::from_utf8_lossy(&response).into_owned()
}

/// A save the server acknowledged is in the database even when the server is killed with
/// SIGKILL the moment it has answered: the answer is sent only after the commit.
#[tokio::test]
async fn an_acknowledged_save_survives_sigkill() {
    let data = data_dir();
    let folio = |args: &'static [&'static str]| {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_folio"));
        command
            .args(args)
            .current_dir(workspace_root())
            .env("FOLIO_DATA_DIR", data.path())
            .env("RUST_LOG", "warn")
            .env_remove("DATABASE_URL")
            .stdin(std::process::Stdio::piped());
        command
    };
    let (mut child, port) = start_folio(data.path(), &[]).await;
    let mut reset = folio(&["owner", "reset-password", "owner@example.com"])
        .spawn()
        .expect("reset-password");
    {
        use tokio::io::AsyncWriteExt;
        let mut stdin = reset.stdin.take().expect("stdin");
        stdin
            .write_all(b"a password long enough\n")
            .await
            .expect("password");
    }
    assert!(reset.wait().await.expect("wait").success());

    let signed_in = http(
        port,
        "POST /sign-in HTTP/1.1",
        "email=owner%40example.com&password=a+password+long+enough&next=%2F",
    )
    .await;
    assert!(signed_in.starts_with("HTTP/1.1 303"), "{signed_in}");
    let cookie = signed_in
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .and_then(|c| c.split(';').next())
        .expect("session cookie")
        .to_owned();
    let form = http(
        port,
        &format!("GET /?edit HTTP/1.1\r\nCookie: {cookie}"),
        "",
    )
    .await;
    let version = form
        .split(r#"name="version" value=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the form's version")
        .to_owned();

    let saved = http(
        port,
        &format!("POST /owner/edit/profile/1 HTTP/1.1\r\nCookie: {cookie}"),
        &format!("version={version}&back=%2F&name=Ada&headline=Survives+a+SIGKILL"),
    )
    .await;
    assert!(saved.starts_with("HTTP/1.1 303"), "{saved}");
    child.kill().await.expect("SIGKILL");

    let (child, port) = start_folio(data.path(), &[]).await;
    let home = http(port, "GET / HTTP/1.1", "").await;
    assert!(home.contains("Survives a SIGKILL"), "{home}");
    terminate(child).await;
    // The restarted server reused the cluster the killed one left running: stop it.
    let stopped = folio(&["db", "stop"]).output().await.expect("db stop");
    assert!(stopped.status.success(), "{stopped:?}");
}
