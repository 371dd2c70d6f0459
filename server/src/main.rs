//! `folio`: serve the site, or manage its embedded database.
//!
//! ```text
//! folio              serve (the default)
//! folio db start     start the embedded database and leave it running; print its URL
//!                    (the only line on stdout; log lines go to stderr)
//! folio db stop      stop the embedded database
//! folio db url       print the embedded database's URL (for psql, backups, DATABASE_URL)
//! folio owner setup-link
//!                    print a new one-time link to create the owner (while there is none)
//! folio owner reset-password [EMAIL]
//!                    set the owner's password (asked twice on a terminal, else one line of
//!                    stdin), and the email if given; ends every session. Creates the owner
//!                    when there is none and an EMAIL is given.
//! folio export FILE  write the whole site's content, media and history to FILE
//! folio import FILE [--yes]
//!                    replace the site's content with FILE's, after showing what changes
//!                    (asked on a terminal; `--yes` when there is none)
//! ```

use folio_server::config::{Config, Database};
use folio_server::embedded::EmbeddedPostgres;
use folio_server::observability::LogTo;
use std::process::ExitCode;

const USAGE: &str = "usage: folio [serve | db start | db stop | db url | owner setup-link | owner reset-password [EMAIL] | export FILE | import FILE [--yes]]";

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let config = match Config::load() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("folio: configuration error: {error}");
            return ExitCode::from(2);
        }
    };
    let log_to = match args.as_slice() {
        ["db" | "owner" | "export" | "import", ..] => LogTo::Stderr,
        _ => LogTo::Stdout,
    };
    let _log_guard = folio_server::observability::init_logging(&config, log_to);

    let outcome = match args.as_slice() {
        [] | ["serve"] => folio_server::serve(config).await.map_err(|e| e.to_string()),
        ["db", action] => database_command(&config, action).await,
        ["owner", "setup-link"] => {
            let public_url = config.public_url.clone();
            with_database(&config, move |pool| owner_setup_link(pool, public_url)).await
        }
        ["owner", "reset-password"] => {
            with_database(&config, |pool| owner_reset_password(pool, None)).await
        }
        ["owner", "reset-password", email] => {
            let email = (*email).to_owned();
            with_database(&config, move |pool| owner_reset_password(pool, Some(email))).await
        }
        ["export", file] => {
            let path = std::path::PathBuf::from(file);
            with_database(&config, move |pool| async move {
                folio_server::archive::export_to_file(&pool, &path)
                    .await
                    .map_err(|e| e.to_string())
            })
            .await
        }
        ["import", file] | ["import", file, "--yes"] => {
            let path = std::path::PathBuf::from(file);
            let yes = args.last() == Some(&"--yes");
            with_database(&config, move |pool| import(pool, path, yes)).await
        }
        ["help" | "--help" | "-h"] => {
            println!("{USAGE}");
            Ok(())
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "folio stopped with an error");
            eprintln!("folio: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn database_command(config: &Config, action: &str) -> Result<(), String> {
    let Database::Embedded { postgres_bin } = &config.database else {
        return Err("DATABASE_URL is set: folio is not managing a database of its own".into());
    };
    let mut cluster = EmbeddedPostgres::new(&config.data_dir, postgres_bin.as_deref())
        .map_err(|e| e.to_string())?;
    match action {
        "start" => {
            cluster.start().await.map_err(|e| e.to_string())?;
            println!("{}", cluster.url());
        }
        "stop" => cluster.stop_now().await.map_err(|e| e.to_string())?,
        "url" => println!("{}", cluster.url()),
        _ => return Err(USAGE.into()),
    }
    Ok(())
}

/// Opens (and migrates) the site's database for a command, running the embedded cluster for as
/// long as the command needs it when no server is running it already.
async fn with_database<F, Fut>(config: &Config, command: F) -> Result<(), String>
where
    F: FnOnce(sqlx::PgPool) -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let folio_server::OpenDatabase { pool, mut embedded } = folio_server::open_database(config)
        .await
        .map_err(|e| e.to_string())?;
    let outcome = command(pool.clone()).await;
    pool.close().await;
    if let Some(cluster) = embedded.as_mut() {
        cluster.stop().await.map_err(|e| e.to_string())?;
    }
    outcome
}

async fn owner_setup_link(pool: sqlx::PgPool, public_url: String) -> Result<(), String> {
    use folio_server::auth::setup;
    let mut conn = pool.acquire().await.map_err(|e| e.to_string())?;
    if setup::has_owner(&mut conn)
        .await
        .map_err(|e| e.to_string())?
    {
        return Err(
            "this site already has an owner; use `folio owner reset-password` instead".into(),
        );
    }
    let token = setup::create(&pool, time::OffsetDateTime::now_utc())
        .await
        .map_err(|e| e.to_string())?;
    println!("{}", setup::link(&public_url, &token));
    eprintln!("The link works once, for one hour.");
    Ok(())
}

async fn owner_reset_password(pool: sqlx::PgPool, email: Option<String>) -> Result<(), String> {
    use folio_server::auth::{Reset, reset_password};
    use std::io::IsTerminal;
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("New password (12 to 1024 characters): ")
            .map_err(|e| e.to_string())?;
        let again = rpassword::prompt_password("Again: ").map_err(|e| e.to_string())?;
        if first != again {
            return Err("the two passwords differ; nothing was changed".into());
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    };
    match reset_password(&pool, email.as_deref(), &password).await {
        Ok(Reset::Changed { email }) => {
            eprintln!("The password for {email} is changed, and every session is signed out.");
            Ok(())
        }
        Ok(Reset::Created { email }) => {
            eprintln!("The owner {email} is created; sign in at /sign-in.");
            Ok(())
        }
        Err(error) => Err(format!("{error}; nothing was changed")),
    }
}

async fn import(pool: sqlx::PgPool, path: std::path::PathBuf, yes: bool) -> Result<(), String> {
    use std::io::{BufRead, IsTerminal, Write};
    let confirm = |summary: &str| {
        eprint!("{summary}");
        if yes {
            return true;
        }
        if !std::io::stdin().is_terminal() {
            eprintln!("Not imported: confirm on a terminal, or pass --yes.");
            return false;
        }
        eprint!("Replace this site's content? [y/N] ");
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        let _ = std::io::stdin().lock().read_line(&mut answer);
        matches!(answer.trim(), "y" | "Y" | "yes")
    };
    match folio_server::archive::import_from_file(&pool, &path, confirm).await {
        Ok(true) => {
            eprintln!("Imported {}.", path.display());
            Ok(())
        }
        Ok(false) => Err("nothing was changed".into()),
        Err(error) => Err(error.to_string()),
    }
}
