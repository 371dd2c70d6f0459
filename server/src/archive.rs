//! Export and import: the whole site's content (profile, skills, experience, projects, posts,
//! revisions, media with every stored width, contact messages, and the site's own facts) as
//! one gzip-compressed JSON file, and that file restored, all or nothing.
//!
//! The owner's account, sessions, sign-in counters, rate limits and security log are not
//! content and are never exported: an archive moves a site, not who may sign in to it.
//!
//! An archive names the schema it was made with (the newest migration) and is only restored
//! into that same schema. Rows travel as PostgreSQL's own JSON of the table's row type
//! (`to_jsonb`) and come back through `jsonb_populate_recordset`, so every column, array,
//! timestamp and byte round-trips exactly, and every constraint of the schema checks the
//! incoming rows: a row the database would refuse refuses the whole import, in one
//! transaction, and nothing changes.

use crate::AppState;
use crate::auth::log::{Event, record};
use crate::auth::{read_owner_form, unauthorized, unavailable};
use crate::client::ClientAddr;
use app::owner::Owner;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Map, Value};
use sqlx::PgPool;
use std::io::{Read, Write};

/// What an archive says it is.
pub const FORMAT: &str = "folio-export";
pub const VERSION: u64 = 1;

/// The largest import upload (compressed), and the most it may expand to.
pub const IMPORT_BODY_LIMIT: usize = 256 * 1024 * 1024;
const MAX_EXPANDED: u64 = 1024 * 1024 * 1024;

/// The archived tables, parents before children (the order they are restored in), each with
/// the order its rows are written in, so one site always exports the same bytes.
const TABLES: &[(&str, &str)] = &[
    ("site_state", "key"),
    ("profile", "id"),
    ("skills", "id"),
    ("experience", "id"),
    ("media", "id"),
    ("media_variants", "media_id, width"),
    ("projects", "id"),
    ("posts", "id"),
    ("revisions", "id"),
    ("contact_messages", "id"),
];

/// Tables whose `id` is an identity column: after a restore its sequence continues past the
/// largest restored id.
const IDENTITY_TABLES: &[&str] = &[
    "skills",
    "experience",
    "media",
    "projects",
    "posts",
    "revisions",
    "contact_messages",
];

/// Why an archive could not be made or restored.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("this is not a folio export: {0}")]
    Malformed(String),
    #[error(
        "this export was made by a folio with a different database schema ({found}; this one has {expected}): import it with the folio version that made it, or export again"
    )]
    Schema { found: i64, expected: i64 },
    #[error("the export's {table} were refused by the database ({why}); nothing was changed")]
    Refused { table: &'static str, why: String },
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error("cannot write the export: {0}")]
    Io(#[from] std::io::Error),
}

/// A checked archive, ready to restore.
#[derive(Debug, Clone, PartialEq)]
pub struct Archive {
    pub schema: i64,
    pub exported_at: String,
    /// Each table's rows, by table name.
    pub tables: Map<String, Value>,
}

impl Archive {
    /// How many rows the archive holds for `table`.
    pub fn rows(&self, table: &str) -> usize {
        self.tables
            .get(table)
            .and_then(Value::as_array)
            .map_or(0, Vec::len)
    }
}

/// The database's schema version: its newest applied migration.
pub async fn schema_version(db: impl sqlx::PgExecutor<'_>) -> Result<i64, sqlx::Error> {
    // Not checked at compile time: sqlx's own table exists only where sqlx ran the migrations.
    sqlx::query_scalar("select coalesce(max(version), 0) from _sqlx_migrations where success")
        .fetch_one(db)
        .await
}

/// Reads the whole site in one consistent snapshot; `progress` hears of each table as it is
/// read (its name and row count).
pub async fn export(
    pool: &PgPool,
    mut progress: impl FnMut(&str, usize),
) -> Result<Archive, ArchiveError> {
    let mut tx = pool.begin().await?;
    sqlx::query("set transaction isolation level repeatable read, read only")
        .execute(&mut *tx)
        .await?;
    let schema = schema_version(&mut *tx).await?;
    let exported_at: String = sqlx::query_scalar!(
        r#"select to_char(now() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as "at!""#
    )
    .fetch_one(&mut *tx)
    .await?;
    let mut tables = Map::new();
    for (table, order) in TABLES {
        // The names come from the constant list above, never from input.
        let rows: Value = sqlx::query_scalar(&format!(
            "select coalesce(jsonb_agg(to_jsonb(t) order by {order}), '[]'::jsonb) from {table} t"
        ))
        .fetch_one(&mut *tx)
        .await?;
        progress(table, rows.as_array().map_or(0, Vec::len));
        tables.insert((*table).to_owned(), rows);
    }
    tx.commit().await?;
    Ok(Archive {
        schema,
        exported_at,
        tables,
    })
}

/// The archive as the file folio writes: gzip-compressed JSON.
pub fn to_bytes(archive: &Archive) -> Result<Vec<u8>, ArchiveError> {
    let document = serde_json::json!({
        "format": FORMAT,
        "version": VERSION,
        "schema": archive.schema,
        "exported_at": archive.exported_at,
        "tables": archive.tables,
    });
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    serde_json::to_writer(&mut gzip, &document).map_err(std::io::Error::other)?;
    gzip.flush()?;
    Ok(gzip.finish()?)
}

/// Reads and checks an archive (gzip-compressed or plain JSON) against the `expected` schema,
/// without touching the database.
pub fn read(bytes: &[u8], expected: i64) -> Result<Archive, ArchiveError> {
    let malformed = |why: &str| ArchiveError::Malformed(why.to_owned());
    let mut text = Vec::new();
    if bytes.starts_with(&[0x1f, 0x8b]) {
        // Bounded, so a small file that inflates without end is refused, not obeyed.
        flate2::read::GzDecoder::new(bytes)
            .take(MAX_EXPANDED + 1)
            .read_to_end(&mut text)
            .map_err(|_| malformed("the file is damaged (its compression does not decode)"))?;
        if text.len() as u64 > MAX_EXPANDED {
            return Err(malformed("it expands to more than 1 GiB"));
        }
    } else {
        text = bytes.to_vec();
    }
    let document: Value = serde_json::from_slice(&text)
        .map_err(|e| ArchiveError::Malformed(format!("it is not JSON ({e})")))?;
    let document = document
        .as_object()
        .ok_or_else(|| malformed("it is not a JSON object"))?;
    if document.get("format").and_then(Value::as_str) != Some(FORMAT) {
        return Err(malformed("its \"format\" is not \"folio-export\""));
    }
    if document.get("version").and_then(Value::as_u64) != Some(VERSION) {
        return Err(malformed("its format version is not 1"));
    }
    let schema = document
        .get("schema")
        .and_then(Value::as_i64)
        .ok_or_else(|| malformed("it names no schema"))?;
    if schema != expected {
        return Err(ArchiveError::Schema {
            found: schema,
            expected,
        });
    }
    let exported_at = document
        .get("exported_at")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let given = document
        .get("tables")
        .and_then(Value::as_object)
        .ok_or_else(|| malformed("it has no \"tables\""))?;
    if let Some(unknown) = given.keys().find(|k| !TABLES.iter().any(|(t, _)| t == k)) {
        return Err(ArchiveError::Malformed(format!(
            "it has a table folio does not know: {unknown:?}"
        )));
    }
    let mut tables = Map::new();
    for (table, _) in TABLES {
        let rows = given.get(*table).ok_or_else(|| {
            ArchiveError::Malformed(format!("it has no {table} (the file may be cut short)"))
        })?;
        let all_objects = rows
            .as_array()
            .is_some_and(|rows| rows.iter().all(Value::is_object));
        if !all_objects {
            return Err(ArchiveError::Malformed(format!(
                "its {table} are not a list of rows"
            )));
        }
        tables.insert((*table).to_owned(), rows.clone());
    }
    Ok(Archive {
        schema,
        exported_at,
        tables,
    })
}

/// Each archived table with its rows now and in the archive: what an import would change.
pub async fn summary(
    pool: &PgPool,
    archive: &Archive,
) -> Result<Vec<(String, i64, usize)>, sqlx::Error> {
    let mut lines = Vec::new();
    for (table, _) in TABLES {
        let now: i64 = sqlx::query_scalar(&format!("select count(*) from {table}"))
            .fetch_one(pool)
            .await?;
        lines.push(((*table).to_owned(), now, archive.rows(table)));
    }
    Ok(lines)
}

/// Replaces the site's content with the archive's, in one transaction: all of it or none.
pub async fn apply(pool: &PgPool, archive: &Archive) -> Result<(), ArchiveError> {
    let mut tx = pool.begin().await?;
    let names: Vec<&str> = TABLES.iter().map(|(t, _)| *t).collect();
    sqlx::query(&format!("truncate {}", names.join(", ")))
        .execute(&mut *tx)
        .await?;
    for (table, _) in TABLES {
        let rows = archive
            .tables
            .get(*table)
            .cloned()
            .unwrap_or(Value::Array(Vec::new()));
        sqlx::query(&format!(
            "insert into {table} overriding system value
             select * from jsonb_populate_recordset(null::{table}, $1)"
        ))
        .bind(rows)
        .execute(&mut *tx)
        .await
        .map_err(|error| refused(table, &error))?;
    }
    for table in IDENTITY_TABLES {
        sqlx::query(&format!(
            "select setval(pg_get_serial_sequence('{table}', 'id'), coalesce(max(id), 0) + 1, false) from {table}"
        ))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The database's refusal of a table's rows, in words the owner can act on (never a value).
fn refused(table: &'static str, error: &sqlx::Error) -> ArchiveError {
    let why = match error.as_database_error() {
        Some(db) => match db.constraint() {
            Some(constraint) => format!("a row breaks the rule {constraint}"),
            None => db.message().to_owned(),
        },
        None => {
            return ArchiveError::Refused {
                table,
                why: "the database could not be reached".to_owned(),
            };
        }
    };
    ArchiveError::Refused { table, why }
}

/// `folio-export-2026-12-01.json.gz`
fn file_name(archive: &Archive) -> String {
    format!(
        "folio-export-{}.json.gz",
        archive.exported_at.get(..10).unwrap_or("site")
    )
}

/// `GET /owner/export`: the archive, downloaded. Recorded in the security log.
pub async fn download(
    State(state): State<AppState>,
    client: ClientAddr,
    request: Request,
) -> Response {
    if request.extensions().get::<Owner>().is_none() {
        return unauthorized();
    }
    let archive = match export(&state.pool, |_, _| {}).await {
        Ok(archive) => archive,
        Err(error) => {
            tracing::error!(%error, "export failed");
            return unavailable();
        }
    };
    let bytes = match to_bytes(&archive) {
        Ok(bytes) => bytes,
        Err(error) => {
            tracing::error!(%error, "export failed");
            return unavailable();
        }
    };
    let detail = format!("{} bytes", bytes.len());
    crate::auth::log::record_now(&state.pool, Event::Exported, &client.0.to_string(), &detail)
        .await;
    tracing::info!(bytes = bytes.len(), "site exported");
    let disposition = format!("attachment; filename=\"{}\"", file_name(&archive));
    let mut response = (StatusCode::OK, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/gzip"),
    );
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    response
}

async fn backup_page(
    state: &AppState,
    parts: axum::http::request::Parts,
    check: app::backup::ImportCheck,
    status: StatusCode,
) -> Response {
    crate::render_again(state, parts, "/owner/backup", check, status).await
}

fn refusal(message: String) -> app::backup::ImportCheck {
    app::backup::ImportCheck {
        token: None,
        exported_at: String::new(),
        lines: Vec::new(),
        error: Some(message),
    }
}

/// `POST /owner/import`: a multipart upload of an archive (`archive`). Checks it and shows what
/// it would change, with a confirmation; changes nothing yet.
pub async fn upload(State(state): State<AppState>, request: Request) -> Response {
    if request.extensions().get::<Owner>().is_none() {
        return unauthorized();
    }
    let (parts, body) = request.into_parts();
    let bytes = match read_archive_upload(&parts.headers, body).await {
        Ok(bytes) => bytes,
        Err((status, message)) => {
            return backup_page(&state, parts, refusal(message), status).await;
        }
    };
    let schema = match schema_version(&state.pool).await {
        Ok(schema) => schema,
        Err(error) => {
            tracing::error!(%error, "cannot read the schema version");
            return unavailable();
        }
    };
    let archive = match read(&bytes, schema) {
        Ok(archive) => archive,
        Err(error) => {
            let message = format!("Nothing was changed: {error}.");
            return backup_page(
                &state,
                parts,
                refusal(message),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let token = crate::media::new_key();
    let stored = async {
        sqlx::query!("delete from pending_imports where created_at < now() - interval '1 hour'")
            .execute(&state.pool)
            .await?;
        sqlx::query!(
            "insert into pending_imports (token, archive) values ($1, $2)",
            token,
            bytes.as_ref()
        )
        .execute(&state.pool)
        .await?;
        summary(&state.pool, &archive).await
    }
    .await;
    match stored {
        Ok(lines) => {
            let check = app::backup::ImportCheck {
                token: Some(token),
                exported_at: archive.exported_at,
                lines,
                error: None,
            };
            backup_page(&state, parts, check, StatusCode::OK).await
        }
        Err(error) => {
            tracing::error!(%error, "cannot keep the import for confirmation");
            unavailable()
        }
    }
}

/// The `archive` field of a multipart upload, refused with a status and message otherwise.
async fn read_archive_upload(
    headers: &axum::http::HeaderMap,
    body: axum::body::Body,
) -> Result<Bytes, (StatusCode, String)> {
    let refuse = |status, message: &str| (status, message.to_owned());
    let boundary = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| multer::parse_boundary(v).ok())
        .ok_or_else(|| {
            refuse(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Send the archive as a file upload (multipart/form-data).",
            )
        })?;
    let mut multipart = multer::Multipart::new(body.into_data_stream(), boundary);
    let too_large = "The archive is larger than 256 MB.";
    while let Some(field) = multipart.next_field().await.map_err(|e| match e {
        multer::Error::StreamReadFailed(_) | multer::Error::FieldSizeExceeded { .. } => {
            refuse(StatusCode::PAYLOAD_TOO_LARGE, too_large)
        }
        _ => refuse(StatusCode::BAD_REQUEST, "The upload is malformed."),
    })? {
        if field.name() == Some("archive") {
            let bytes = field
                .bytes()
                .await
                .map_err(|_| refuse(StatusCode::PAYLOAD_TOO_LARGE, too_large))?;
            if bytes.is_empty() {
                return Err(refuse(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Choose an export file to import.",
                ));
            }
            return Ok(bytes);
        }
    }
    Err(refuse(
        StatusCode::UNPROCESSABLE_ENTITY,
        "Choose an export file to import.",
    ))
}

/// `POST /owner/import/confirm`: applies the checked archive named by `token`, all or nothing.
pub async fn confirm(
    State(state): State<AppState>,
    client: ClientAddr,
    request: Request,
) -> Response {
    let (form, parts) = match read_owner_form(&state, request).await {
        Ok(read) => read,
        Err(refused) => return refused,
    };
    let token = form.get("token").to_owned();
    let pending = sqlx::query_scalar!(
        "delete from pending_imports where token = $1 and created_at > now() - interval '1 hour'
         returning archive",
        token
    )
    .fetch_optional(&state.pool)
    .await;
    let bytes = match pending {
        Ok(Some(bytes)) => bytes,
        Ok(None) => {
            let message = "That import has expired or was already applied: upload the file again.";
            return backup_page(&state, parts, refusal(message.to_owned()), StatusCode::GONE).await;
        }
        Err(error) => {
            tracing::error!(%error, "cannot read the pending import");
            return unavailable();
        }
    };
    let applied = async {
        let schema = schema_version(&state.pool).await?;
        let archive = read(&bytes, schema)?;
        apply(&state.pool, &archive).await?;
        Ok::<_, ArchiveError>(archive)
    }
    .await;
    match applied {
        Ok(archive) => {
            let detail = format!("export of {}", archive.exported_at);
            crate::auth::log::record_now(
                &state.pool,
                Event::Imported,
                &client.0.to_string(),
                &detail,
            )
            .await;
            tracing::info!(exported_at = %archive.exported_at, "site imported");
            Redirect::to("/owner/backup?done=import").into_response()
        }
        Err(ArchiveError::Db(error)) => {
            tracing::error!(%error, "import failed");
            unavailable()
        }
        Err(error) => {
            let message = format!("Nothing was changed: {error}.");
            backup_page(
                &state,
                parts,
                refusal(message),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

/// `folio export FILE`: writes the archive, telling of each table on stderr.
pub async fn export_to_file(pool: &PgPool, path: &std::path::Path) -> Result<(), ArchiveError> {
    let archive = export(pool, |table, rows| eprintln!("  {table}: {rows} rows")).await?;
    let bytes = to_bytes(&archive)?;
    // Written beside the target and renamed, so a failed export never leaves half a file.
    let partial = path.with_extension("partial");
    std::fs::write(&partial, &bytes)?;
    std::fs::rename(&partial, path)?;
    let mut conn = pool.acquire().await?;
    record(
        &mut conn,
        Event::Exported,
        "command line",
        &format!("{} bytes", bytes.len()),
    )
    .await?;
    eprintln!("Wrote {} ({} bytes).", path.display(), bytes.len());
    Ok(())
}

/// `folio import FILE`: checks the archive, shows what it would change, and applies it once
/// `confirm` (asked of the operator with the summary) agrees.
pub async fn import_from_file(
    pool: &PgPool,
    path: &std::path::Path,
    confirm: impl FnOnce(&str) -> bool,
) -> Result<bool, ArchiveError> {
    let bytes = std::fs::read(path)?;
    let archive = read(&bytes, schema_version(pool).await?)?;
    let mut text = format!(
        "{} is an export of {}. Importing replaces this site's content:\n",
        path.display(),
        archive.exported_at
    );
    for (table, now, incoming) in summary(pool, &archive).await? {
        text.push_str(&format!("  {table}: {now} rows now, {incoming} after\n"));
    }
    if !confirm(&text) {
        return Ok(false);
    }
    apply(pool, &archive).await?;
    let mut conn = pool.acquire().await?;
    record(
        &mut conn,
        Event::Imported,
        "command line",
        &format!("export of {}", archive.exported_at),
    )
    .await?;
    Ok(true)
}
