//! A private PostgreSQL cluster inside folio's data folder, used when no `DATABASE_URL` is given.
//!
//! The cluster lives in `<data-dir>/postgres`, listens on a Unix socket in that same folder and
//! on no TCP port, so it cannot clash with another server. Access is `trust` because only the
//! folder's owner can reach the socket (the folder is mode 0700). PostgreSQL refuses to run as
//! root, so when folio runs as root it runs the cluster as the `postgres` user, which then owns
//! the folder. `pg_ctl` starts the server in its own process group (a terminal's Ctrl-C reaches
//! folio, which then stops the cluster in order) and folio stops it only if folio started it.

use nix::unistd::{Gid, Uid, User};
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The database role and database folio uses inside its cluster.
const ROLE: &str = "folio";
const DATABASE: &str = "folio";
/// Unix socket paths are limited to 107 bytes; the socket file's own name takes 15 of them.
const SOCKET_PATH_MAX: usize = 107 - ".s.PGSQL.5432".len() - 1;

/// Why the embedded cluster could not be prepared, started or stopped.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error(
        "PostgreSQL server programs (initdb, pg_ctl) were not found in {searched}. \
         Install them (Debian: `apt-get install postgresql`), point FOLIO_POSTGRES_BIN at \
         their folder, or set DATABASE_URL to use another server"
    )]
    MissingBinaries { searched: String },
    #[error(
        "folio runs as root, and PostgreSQL refuses to: it runs the database as the `postgres` \
         user, which does not exist here. Create it (`useradd --system postgres`), install \
         PostgreSQL (which creates it), or run folio as an ordinary user"
    )]
    NoPostgresUser,
    #[error(
        "the `postgres` user cannot enter {0}: PostgreSQL runs as that user and every folder \
         above its data must be searchable (chmod o+x), or set FOLIO_DATA_DIR to a folder it can reach"
    )]
    Unreachable(PathBuf),
    #[error(
        "the data folder path {0} is too long for a Unix socket ({SOCKET_PATH_MAX} bytes at most); \
         set FOLIO_DATA_DIR to a shorter path"
    )]
    PathTooLong(PathBuf),
    #[error(
        "the cluster in {dir} was made by PostgreSQL {found}, but the programs found are version {have}"
    )]
    VersionMismatch {
        dir: PathBuf,
        found: String,
        have: String,
    },
    #[error("{action} failed ({status}): {output}")]
    Command {
        action: &'static str,
        status: String,
        output: String,
    },
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    #[error("creating the folio database failed: {0}")]
    Database(#[from] sqlx::Error),
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> EmbeddedError {
    let context = context.into();
    move |source| EmbeddedError::Io { context, source }
}

/// A PostgreSQL cluster in a folder of its own.
#[derive(Debug)]
pub struct EmbeddedPostgres {
    /// The cluster folder (`PGDATA`), which also holds the socket.
    dir: PathBuf,
    bin: PathBuf,
    /// The account the server runs as, when folio itself runs as root.
    run_as: Option<(Uid, Gid)>,
    /// Whether this value started the server (and so stops it).
    started: bool,
}

impl EmbeddedPostgres {
    /// Finds the PostgreSQL programs and prepares (without starting) a cluster in
    /// `<data_dir>/postgres`.
    pub fn new(data_dir: &Path, postgres_bin: Option<&Path>) -> Result<Self, EmbeddedError> {
        let bin = find_binaries(postgres_bin)?;
        std::fs::create_dir_all(data_dir)
            .map_err(io(format!("creating {}", data_dir.display())))?;
        let data_dir = data_dir
            .canonicalize()
            .map_err(io(format!("resolving {}", data_dir.display())))?;
        let dir = data_dir.join("postgres");
        if dir.as_os_str().len() > SOCKET_PATH_MAX {
            return Err(EmbeddedError::PathTooLong(dir));
        }
        let run_as = if Uid::effective().is_root() {
            let user = User::from_name("postgres")
                .ok()
                .flatten()
                .ok_or(EmbeddedError::NoPostgresUser)?;
            if let Some(blocked) = first_unsearchable(&data_dir, user.uid) {
                return Err(EmbeddedError::Unreachable(blocked));
            }
            Some((user.uid, user.gid))
        } else {
            None
        };
        Ok(Self {
            dir,
            bin,
            run_as,
            started: false,
        })
    }

    /// The cluster folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Connection options for folio's database over the cluster's socket.
    pub fn connect_options(&self) -> PgConnectOptions {
        self.options(DATABASE)
    }

    /// The same as a URL, for `psql` or `DATABASE_URL`.
    pub fn url(&self) -> String {
        format!(
            "postgres://{ROLE}@localhost/{DATABASE}?host={}",
            self.dir.display()
        )
    }

    fn options(&self, database: &str) -> PgConnectOptions {
        PgConnectOptions::new()
            .socket(&self.dir)
            .username(ROLE)
            .database(database)
    }

    /// Whether a server is running on this cluster (started by anyone).
    pub async fn is_running(&self) -> bool {
        // `pg_ctl status` exits 0 when the postmaster in postmaster.pid is alive.
        self.pg_ctl("checking the database", &["status"])
            .await
            .is_ok()
    }

    /// Creates the cluster on first use, starts the server unless it already runs, and makes
    /// sure folio's database exists.
    pub async fn start(&mut self) -> Result<(), EmbeddedError> {
        if self.dir.join("PG_VERSION").exists() {
            self.check_version().await?;
        } else {
            self.init().await?;
        }
        if !self.is_running().await {
            self.pg_ctl(
                "starting the database",
                &[
                    "start",
                    "--wait",
                    "--timeout=60",
                    "--silent",
                    "--log=server.log",
                ],
            )
            .await?;
            self.started = true;
            tracing::info!(dir = %self.dir.display(), "embedded database started");
        } else {
            tracing::info!(dir = %self.dir.display(), "embedded database already running; reusing it");
        }
        self.create_database().await
    }

    /// Stops the server if this value started it; a server found running is left alone.
    pub async fn stop(&mut self) -> Result<(), EmbeddedError> {
        if !self.started {
            return Ok(());
        }
        self.stop_now().await
    }

    /// Stops the server whoever started it (`folio db stop`).
    pub async fn stop_now(&mut self) -> Result<(), EmbeddedError> {
        if self.is_running().await {
            // "fast": roll back open transactions, then a clean checkpoint; nothing committed is lost.
            self.pg_ctl(
                "stopping the database",
                &["stop", "--wait", "--timeout=60", "--silent", "--mode=fast"],
            )
            .await?;
            tracing::info!(dir = %self.dir.display(), "embedded database stopped");
        }
        self.started = false;
        Ok(())
    }

    async fn init(&self) -> Result<(), EmbeddedError> {
        tracing::info!(dir = %self.dir.display(), "creating the embedded database cluster");
        std::fs::create_dir_all(&self.dir)
            .map_err(io(format!("creating {}", self.dir.display())))?;
        std::fs::set_permissions(&self.dir, std::fs::Permissions::from_mode(0o700))
            .map_err(io(format!("protecting {}", self.dir.display())))?;
        if let Some((uid, gid)) = self.run_as {
            nix::unistd::chown(&self.dir, Some(uid), Some(gid)).map_err(|errno| {
                EmbeddedError::Io {
                    context: format!("giving {} to the postgres user", self.dir.display()),
                    source: errno.into(),
                }
            })?;
        }
        let dir = self.dir.to_string_lossy().into_owned();
        self.run(
            "creating the database cluster (initdb)",
            &self.bin.join("initdb"),
            &[
                "--pgdata",
                &dir,
                "--username",
                ROLE,
                "--auth",
                "trust",
                "--encoding",
                "UTF8",
                "--locale",
                "C",
                "--no-instructions",
            ],
        )
        .await?;
        // Listen on the socket in the cluster folder only. A relative socket folder is resolved
        // against the data folder, so the cluster keeps working if the data folder moves.
        let settings = "\n# Added by folio: a private server on a Unix socket only.\n\
                        listen_addresses = ''\n\
                        unix_socket_directories = '.'\n\
                        unix_socket_permissions = 0700\n";
        let conf = self.dir.join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf).map_err(io("reading postgresql.conf"))?;
        text.push_str(settings);
        std::fs::write(&conf, text).map_err(io("writing postgresql.conf"))?;
        Ok(())
    }

    async fn check_version(&self) -> Result<(), EmbeddedError> {
        let found = std::fs::read_to_string(self.dir.join("PG_VERSION"))
            .map_err(io("reading PG_VERSION"))?
            .trim()
            .to_owned();
        let output = self
            .run(
                "asking pg_ctl its version",
                &self.bin.join("pg_ctl"),
                &["--version"],
            )
            .await?;
        let have = String::from_utf8_lossy(&output.stdout);
        // "pg_ctl (PostgreSQL) 15.18" -> "15"
        let have = have
            .split_whitespace()
            .last()
            .and_then(|v| v.split('.').next())
            .unwrap_or_default()
            .to_owned();
        if have == found {
            Ok(())
        } else {
            Err(EmbeddedError::VersionMismatch {
                dir: self.dir.clone(),
                found,
                have,
            })
        }
    }

    async fn create_database(&self) -> Result<(), EmbeddedError> {
        let mut conn = PgConnection::connect_with(&self.options("postgres")).await?;
        let exists: bool =
            sqlx::query_scalar("select exists (select 1 from pg_database where datname = $1)")
                .bind(DATABASE)
                .fetch_one(&mut conn)
                .await?;
        if !exists {
            // Two instances starting at once may race here; the loser sees "already exists".
            match sqlx::query(&format!("create database {DATABASE}"))
                .execute(&mut conn)
                .await
            {
                Ok(_) => tracing::info!(database = DATABASE, "database created"),
                Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P04") => {}
                Err(e) => return Err(e.into()),
            }
        }
        conn.close().await?;
        Ok(())
    }

    async fn pg_ctl(&self, action: &'static str, args: &[&str]) -> Result<Output, EmbeddedError> {
        let dir = self.dir.to_string_lossy().into_owned();
        let mut full = vec!["--pgdata", dir.as_str()];
        full.extend_from_slice(args);
        self.run(action, &self.bin.join("pg_ctl"), &full).await
    }

    /// Runs a PostgreSQL program (as the `postgres` user when folio is root) off the runtime.
    async fn run(
        &self,
        action: &'static str,
        program: &Path,
        args: &[&str],
    ) -> Result<Output, EmbeddedError> {
        let mut command = Command::new(program);
        command
            .args(args)
            .current_dir(self.dir_or_parent())
            .env("LC_ALL", "C")
            .env_remove("PGDATA")
            .env_remove("PGHOST")
            // Keep the server out of the terminal's process group: Ctrl-C reaches folio only,
            // and folio stops the server in order.
            .process_group(0);
        if let Some((uid, gid)) = self.run_as {
            command.uid(uid.as_raw()).gid(gid.as_raw());
        }
        let output = tokio::task::spawn_blocking(move || command.output())
            .await
            .map_err(|e| EmbeddedError::Io {
                context: action.to_owned(),
                source: std::io::Error::other(e),
            })?
            .map_err(io(format!("running {}", program.display())))?;
        if output.status.success() {
            Ok(output)
        } else {
            let mut text = String::from_utf8_lossy(&output.stderr).into_owned();
            text.push_str(&String::from_utf8_lossy(&output.stdout));
            Err(EmbeddedError::Command {
                action,
                status: output.status.to_string(),
                output: text.trim().to_owned(),
            })
        }
    }

    /// A working folder the postgres user can enter (the cluster folder once it exists).
    fn dir_or_parent(&self) -> PathBuf {
        if self.dir.is_dir() {
            self.dir.clone()
        } else {
            self.dir.parent().unwrap_or(Path::new("/")).to_path_buf()
        }
    }
}

/// The folder holding `initdb` and `pg_ctl`: the one configured, else the newest
/// `/usr/lib/postgresql/<version>/bin` (Debian's layout), else the `PATH`.
fn find_binaries(configured: Option<&Path>) -> Result<PathBuf, EmbeddedError> {
    let has_tools = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Some(dir) = configured {
        return if has_tools(dir) {
            Ok(dir.to_path_buf())
        } else {
            Err(EmbeddedError::MissingBinaries {
                searched: format!("FOLIO_POSTGRES_BIN={}", dir.display()),
            })
        };
    }
    let mut debian: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, dir)| has_tools(dir))
        .collect();
    debian.sort();
    if let Some((_, dir)) = debian.pop() {
        return Ok(dir);
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .find(|dir| has_tools(dir))
        .ok_or_else(|| EmbeddedError::MissingBinaries {
            searched: "/usr/lib/postgresql/*/bin and PATH".into(),
        })
}

/// The first folder on the way to `dir` (inclusive) that `uid` may not enter, if any.
fn first_unsearchable(dir: &Path, uid: Uid) -> Option<PathBuf> {
    dir.ancestors().find_map(|folder| {
        let meta = std::fs::metadata(folder).ok()?;
        let mode = meta.mode();
        let searchable = if meta.uid() == uid.as_raw() {
            mode & 0o100 != 0
        } else {
            // Group membership is not worth resolving here: "others" is what usually matters.
            mode & 0o001 != 0 || mode & 0o010 != 0
        };
        (!searchable).then(|| folder.to_path_buf())
    })
}
