//! `folio`: serve the site, or manage its embedded database.
//!
//! ```text
//! folio              serve (the default)
//! folio db start     start the embedded database and leave it running; print its URL
//!                    (the only line on stdout; log lines go to stderr)
//! folio db stop      stop the embedded database
//! folio db url       print the embedded database's URL (for psql, backups, DATABASE_URL)
//! ```

use folio_server::config::{Config, Database};
use folio_server::embedded::EmbeddedPostgres;
use folio_server::observability::LogTo;
use std::process::ExitCode;

const USAGE: &str = "usage: folio [serve | db start | db stop | db url]";

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
        ["db", _] => LogTo::Stderr,
        _ => LogTo::Stdout,
    };
    let _log_guard = folio_server::observability::init_logging(&config, log_to);

    let outcome = match args.as_slice() {
        [] | ["serve"] => folio_server::serve(config).await.map_err(|e| e.to_string()),
        ["db", action] => database_command(&config, action).await,
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
