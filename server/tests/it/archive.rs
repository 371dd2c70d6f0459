//! Export and import against a real database: an export restored into an emptied database
//! reproduces the site exactly; malformed, mismatched and refused archives change nothing;
//! the in-app flow checks, summarises, then applies on confirmation, for the owner only.

use crate::common::{OWNER_ADDR, request, send, signed_in};
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode, header};
use folio_server::archive::{self, Archive, ArchiveError};
use serde_json::{Value, json};
use sqlx::PgPool;
use std::io::Write;
use std::net::SocketAddr;

/// A site with a bit of everything: the demo content, an edited project (so revisions), a
/// picture with two stored widths, and a contact message.
async fn site(pool: &PgPool) {
    folio_server::db::migrate(pool).await.expect("migrate");
    folio_server::seed::demo_content(pool).await.expect("demo");
    sqlx::query(
        "with m as (insert into media (key, alt, width, height, original_bytes)
                    values ('0123456789abcdef0123456789abcdef', 'A gull', 720, 480, 1234) returning id)
         insert into media_variants (media_id, width, height, data)
         select id, w, w * 2 / 3, decode('52494646' || repeat('00', w / 10), 'hex') from m, unnest(array[480, 720]) w",
    )
    .execute(pool)
    .await
    .expect("media");
    sqlx::query(
        "insert into contact_messages (name, email, message) values ('Ada', 'ada@example.com', 'Hello, a message.')",
    )
    .execute(pool)
    .await
    .expect("message");
    let (id, version): (i64, i32) =
        sqlx::query_as("select id, version from projects order by id limit 1")
            .fetch_one(pool)
            .await
            .expect("a project");
    let mut item = app::editor::store::load(
        pool,
        app::editor::Kind::Project,
        app::editor::store::Key::Id(id),
    )
    .await
    .expect("load")
    .expect("project");
    item.values
        .insert("title".to_owned(), "Edited before the export".to_owned());
    app::editor::store::save(
        pool,
        app::editor::Kind::Project,
        id,
        version,
        &item.values,
        app::editor::store::Publish::Keep,
        app::editor::store::Action::Save,
    )
    .await
    .expect("save");
}

async fn export(pool: &PgPool) -> Archive {
    archive::export(pool, |_, _| {}).await.expect("export")
}

async fn schema(pool: &PgPool) -> i64 {
    archive::schema_version(pool).await.expect("schema")
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).expect("gzip");
    encoder.finish().expect("gzip")
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn an_export_imported_into_an_empty_database_is_the_same_site(pool: PgPool) {
    site(&pool).await;
    let before = export(&pool).await;
    for table in [
        "projects",
        "posts",
        "revisions",
        "media",
        "media_variants",
        "contact_messages",
        "profile",
    ] {
        assert!(before.rows(table) > 0, "{table} is exported");
    }
    let bytes = archive::to_bytes(&before).expect("bytes");
    assert_eq!(&bytes[..2], &[0x1f, 0x8b], "gzip");

    sqlx::query(
        "truncate site_state, profile, skills, experience, media, media_variants, projects, posts, revisions, contact_messages",
    )
    .execute(&pool)
    .await
    .expect("empty");
    assert_eq!(export(&pool).await.rows("projects"), 0);

    let read = archive::read(&bytes, schema(&pool).await).expect("read");
    archive::apply(&pool, &read).await.expect("apply");
    let after = export(&pool).await;
    assert_eq!(
        before.tables, after.tables,
        "every row of every table, exactly"
    );

    // Identity sequences continue past what came back.
    let max: i64 = sqlx::query_scalar("select max(id) from projects")
        .fetch_one(&pool)
        .await
        .expect("max");
    let next: i64 = sqlx::query_scalar(
        "insert into projects (slug, title) values ('after-import', 'After') returning id",
    )
    .fetch_one(&pool)
    .await
    .expect("insert after import");
    assert!(next > max);
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn malformed_mismatched_and_refused_archives_change_nothing(pool: PgPool) {
    site(&pool).await;
    let before = export(&pool).await;
    let schema = schema(&pool).await;
    let good: Value = serde_json::from_slice(&{
        let mut text = Vec::new();
        std::io::Read::read_to_end(
            &mut flate2::read::GzDecoder::new(&archive::to_bytes(&before).expect("bytes")[..]),
            &mut text,
        )
        .expect("gunzip");
        text
    })
    .expect("json");
    let with = |path: &[&str], value: Value| {
        let mut document = good.clone();
        let mut at = &mut document;
        for key in &path[..path.len() - 1] {
            at = at.get_mut(*key).expect("path");
        }
        match value {
            Value::Null => {
                at.as_object_mut()
                    .expect("object")
                    .remove(path[path.len() - 1]);
            }
            value => at[path[path.len() - 1]] = value,
        }
        serde_json::to_vec(&document).expect("json")
    };
    let mut bad_slug = good["tables"]["projects"].clone();
    bad_slug[0]["slug"] = json!("Not A Slug");
    let mut missing_title = good["tables"]["posts"].clone();
    missing_title[0]
        .as_object_mut()
        .expect("row")
        .remove("title");
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("garbage", b"\x00\x01 not an export".to_vec()),
        ("damaged gzip", vec![0x1f, 0x8b, 8, 0, 1, 2, 3]),
        ("gzip of garbage", gzip(b"<html>hello</html>")),
        ("an array", b"[1, 2, 3]".to_vec()),
        ("another format", with(&["format"], json!("wordpress"))),
        ("another version", with(&["version"], json!(2))),
        ("another schema", with(&["schema"], json!(1))),
        ("a table cut off", with(&["tables", "posts"], Value::Null)),
        ("an unknown table", with(&["tables", "owner"], json!([]))),
        (
            "rows that are not rows",
            with(&["tables", "projects"], json!([1, 2])),
        ),
        (
            "a slug the schema refuses",
            with(&["tables", "projects"], bad_slug),
        ),
        (
            "a row without a required field",
            with(&["tables", "posts"], missing_title),
        ),
    ];
    for (name, bytes) in cases {
        let outcome = match archive::read(&bytes, schema) {
            Ok(read) => archive::apply(&pool, &read).await,
            Err(error) => Err(error),
        };
        let error = outcome.expect_err(name);
        match (name, &error) {
            ("another schema", ArchiveError::Schema { .. }) => {}
            (
                "a slug the schema refuses",
                ArchiveError::Refused {
                    table: "projects",
                    why,
                },
            ) => {
                assert!(why.contains("projects_slug_format"), "{why}");
            }
            ("a row without a required field", ArchiveError::Refused { table: "posts", .. }) => {}
            (_, ArchiveError::Malformed(_)) => {}
            (name, other) => panic!("{name}: unexpected {other:?}"),
        }
        assert!(
            !error.to_string().contains("Not A Slug"),
            "no values in messages"
        );
        assert_eq!(
            export(&pool).await.tables,
            before.tables,
            "{name}: nothing changed"
        );
    }
}

/// A multipart upload of `bytes` as the `archive` field.
fn upload(bytes: &[u8], cookie: Option<&str>) -> Request<Body> {
    let mut body = b"--X\r\nContent-Disposition: form-data; name=\"archive\"; filename=\"site.json.gz\"\r\nContent-Type: application/gzip\r\n\r\n".to_vec();
    body.extend_from_slice(bytes);
    body.extend_from_slice(b"\r\n--X--\r\n");
    let mut builder = Request::builder()
        .method(Method::POST)
        .uri("/owner/import")
        .header(header::CONTENT_TYPE, "multipart/form-data; boundary=X")
        .header("sec-fetch-site", "same-origin");
    if let Some(cookie) = cookie {
        builder = builder.header(header::COOKIE, cookie);
    }
    let mut request = builder.body(Body::from(body)).expect("request");
    request
        .extensions_mut()
        .insert(ConnectInfo(OWNER_ADDR.parse::<SocketAddr>().expect("addr")));
    request
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn the_owner_downloads_then_restores_after_a_check(pool: PgPool) {
    let (app, cookie) = signed_in(&pool).await;
    site(&pool).await;
    let before = export(&pool).await;

    let anonymous = send(
        &app,
        request(Method::GET, "/owner/export", "", None, OWNER_ADDR),
    )
    .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    let response = tower::ServiceExt::oneshot(app.clone(), {
        let mut r = Request::get("/owner/export")
            .header(header::COOKIE, &cookie)
            .body(Body::empty())
            .expect("request");
        r.extensions_mut()
            .insert(ConnectInfo(OWNER_ADDR.parse::<SocketAddr>().expect("addr")));
        r
    })
    .await
    .expect("response");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()[header::CONTENT_DISPOSITION]
            .to_str()
            .expect("ascii")
            .starts_with("attachment; filename=\"folio-export-")
    );
    let downloaded = http_body_util::BodyExt::collect(response.into_body())
        .await
        .expect("body")
        .to_bytes();

    // The site changes after the download...
    sqlx::query("delete from posts")
        .execute(&pool)
        .await
        .expect("delete");
    let anonymous = send(&app, upload(&downloaded, None)).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);

    // ...the upload is only checked and summarised...
    let checked = send(&app, upload(&downloaded, Some(&cookie))).await;
    assert_eq!(checked.status, StatusCode::OK, "{}", checked.body);
    assert!(checked.body.contains("Check before importing"));
    assert_eq!(
        sqlx::query_scalar::<_, i64>("select count(*) from posts")
            .fetch_one(&pool)
            .await
            .expect("count"),
        0,
        "nothing is applied before the owner confirms"
    );
    let token = checked
        .body
        .split(r#"name="token" value=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a confirmation token")
        .to_owned();

    // ...and applied on confirmation, once.
    let body = crate::common::form(&[("token", &token)]);
    let confirmed = send(
        &app,
        request(
            Method::POST,
            "/owner/import/confirm",
            &body,
            Some(&cookie),
            OWNER_ADDR,
        ),
    )
    .await;
    assert_eq!(
        confirmed.status,
        StatusCode::SEE_OTHER,
        "{}",
        confirmed.body
    );
    assert_eq!(confirmed.location(), "/owner/backup?done=import");
    assert_eq!(export(&pool).await.tables, before.tables);
    let again = send(
        &app,
        request(
            Method::POST,
            "/owner/import/confirm",
            &body,
            Some(&cookie),
            OWNER_ADDR,
        ),
    )
    .await;
    assert_eq!(again.status, StatusCode::GONE);
    let events: Vec<String> = sqlx::query_scalar("select event from security_log order by id")
        .fetch_all(&pool)
        .await
        .expect("log");
    assert!(events.contains(&"exported".to_owned()) && events.contains(&"imported".to_owned()));

    // A file that is not an export is refused on the page, changing nothing.
    let refused = send(&app, upload(b"hello", Some(&cookie))).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused
            .body
            .contains("Nothing was changed: this is not a folio export")
    );

    // Too large to read at all: refused by its length before a byte is read.
    let mut huge = upload(b"x", Some(&cookie));
    huge.headers_mut().insert(
        header::CONTENT_LENGTH,
        (archive::IMPORT_BODY_LIMIT + 1)
            .to_string()
            .parse()
            .expect("length"),
    );
    assert_eq!(send(&app, huge).await.status, StatusCode::PAYLOAD_TOO_LARGE);
}
