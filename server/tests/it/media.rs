//! The media store: what an upload must be to be accepted (checked by content, never by name),
//! what is kept (WebP widths, no metadata), how files are served, and that a picture in use
//! cannot be deleted. Real PostgreSQL, the real router.

use crate::common::config;
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use folio_server::media::{self, Refused, process, sniff};
use folio_server::{AppState, SESSION_COOKIE, router};
use image::{ImageFormat, RgbImage};
use sqlx::PgPool;
use std::io::Cursor;
use std::net::SocketAddr;
use tower::ServiceExt;

const EMAIL: &str = "owner@example.com";
const PASSWORD: &str = "correct horse battery staple";

/// A `width` × `height` picture with some structure, encoded as `format`.
fn picture(width: u32, height: u32, format: ImageFormat) -> Vec<u8> {
    let image = RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
    });
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, format).expect("encode");
    out.into_inner()
}

/// CRC-32 (PNG's), bit by bit: enough for a hand-made chunk.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffff_u32;
    for byte in bytes {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc_input = kind.to_vec();
    crc_input.extend_from_slice(data);
    out.extend_from_slice(&crc32(&crc_input).to_be_bytes());
    out
}

/// A tiny PNG whose header claims `width` × `height` pixels: a decompression bomb's opening.
fn pixel_flood(width: u32, height: u32) -> Vec<u8> {
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(chunk(b"IHDR", &ihdr));
    png.extend(chunk(
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    ));
    png.extend(chunk(b"IEND", &[]));
    png
}

#[test]
fn a_png_named_jpg_is_fine_because_names_are_never_read() {
    // Only the bytes reach the checks; here they are a PNG, whatever the file was called.
    let png = picture(640, 400, ImageFormat::Png);
    assert_eq!(sniff(&png), Ok(ImageFormat::Png));
    let processed = process(&png).expect("accepted");
    assert_eq!((processed.width, processed.height), (640, 400));
    let widths: Vec<u32> = processed.variants.iter().map(|v| v.width).collect();
    assert_eq!(widths, [480, 640]);
    assert_eq!(processed.variants[0].height, 300);
    for variant in &processed.variants {
        assert_eq!(&variant.webp[..4], b"RIFF");
        assert_eq!(&variant.webp[8..12], b"WEBP");
    }
}

#[test]
fn jpeg_gif_and_webp_are_accepted() {
    for format in [ImageFormat::Jpeg, ImageFormat::Gif, ImageFormat::WebP] {
        let bytes = picture(300, 200, format);
        let processed = process(&bytes).unwrap_or_else(|e| panic!("{format:?}: {e}"));
        assert_eq!(processed.variants.len(), 1, "{format:?}");
        assert_eq!(processed.variants[0].width, 300);
    }
}

#[test]
fn a_text_file_named_png_is_refused() {
    let text = b"Not a picture at all, just words in a file called photo.png\n";
    assert_eq!(process(text), Err(Refused::NotAnImage("text")));
    assert!(
        Refused::NotAnImage("text")
            .to_string()
            .contains("JPEG, PNG, GIF or WebP")
    );
}

#[test]
fn svg_is_refused_even_with_a_script_free_body() {
    let svg = br#"<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>"#;
    assert_eq!(process(svg), Err(Refused::Svg));
    let bare = br#"<svg onload="alert(1)" xmlns="http://www.w3.org/2000/svg"/>"#;
    assert_eq!(process(bare), Err(Refused::Svg));
}

#[test]
fn a_pixel_flood_png_is_refused_before_decoding() {
    // 100,000 × 100,000 pixels would need 30 GB; the file is 70 bytes.
    assert_eq!(
        process(&pixel_flood(100_000, 100_000)),
        Err(Refused::OverLimits)
    );
    // Within the side limit but over the pixel budget: named with its size.
    assert_eq!(
        process(&pixel_flood(7_000, 7_000)),
        Err(Refused::TooManyPixels(7_000, 7_000))
    );
}

#[test]
fn a_truncated_file_is_refused_as_damaged() {
    let png = picture(800, 600, ImageFormat::Png);
    assert_eq!(process(&png[..png.len() / 2]), Err(Refused::Damaged));
    let jpeg = picture(800, 600, ImageFormat::Jpeg);
    assert_eq!(process(&jpeg[..40]), Err(Refused::Damaged));
}

#[test]
fn empty_and_oversized_files_are_refused() {
    assert_eq!(process(b""), Err(Refused::Empty));
    let mut huge = picture(10, 10, ImageFormat::Png);
    huge.resize(media::MAX_UPLOAD + 1, 0);
    assert_eq!(process(&huge), Err(Refused::TooLarge));
}

#[test]
fn metadata_does_not_survive_the_re_encoding() {
    // A JPEG comment segment right after the start marker, as cameras and editors write them.
    let jpeg = picture(500, 300, ImageFormat::Jpeg);
    let secret = b"GPS 51.5007N 0.1246W SECRET-LOCATION";
    let mut tagged = jpeg[..2].to_vec();
    tagged.extend_from_slice(&[0xff, 0xfe]);
    tagged.extend_from_slice(&((secret.len() + 2) as u16).to_be_bytes());
    tagged.extend_from_slice(secret);
    tagged.extend_from_slice(&jpeg[2..]);
    let processed = process(&tagged).expect("accepted");
    for variant in processed.variants {
        assert!(
            !variant.webp.windows(15).any(|w| w == b"SECRET-LOCATION"),
            "metadata leaked into the {} px copy",
            variant.width
        );
    }
}

// Through the router.

async fn owner_app(pool: &PgPool) -> (Router, String) {
    folio_server::db::migrate(pool).await.expect("migrate");
    folio_server::auth::reset_password(pool, Some(EMAIL), PASSWORD)
        .await
        .expect("owner");
    let app = router(AppState::new(config(), pool.clone()));
    let body = format!(
        "email={}&password={}",
        "owner%40example.com",
        PASSWORD.replace(' ', "+")
    );
    let reply = send(
        &app,
        form_request(
            Method::POST,
            "/sign-in",
            "application/x-www-form-urlencoded",
            body.into_bytes(),
            None,
        ),
    )
    .await;
    assert_eq!(reply.0, StatusCode::SEE_OTHER);
    let cookie = reply
        .1
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(SESSION_COOKIE))
        .and_then(|v| v.split(';').next())
        .expect("cookie")
        .to_owned();
    (app, cookie)
}

fn form_request(
    method: Method,
    uri: &str,
    content_type: &str,
    body: Vec<u8>,
    cookie: Option<&str>,
) -> Request<Body> {
    let mut builder = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::ACCEPT, "text/html")
        .header("sec-fetch-site", "same-origin")
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CONTENT_LENGTH, body.len());
    if let Some(cookie) = cookie {
        builder = builder.header(header::COOKIE, cookie);
    }
    let mut request = builder.body(Body::from(body)).expect("request");
    request.extensions_mut().insert(ConnectInfo(
        "192.0.2.1:1".parse::<SocketAddr>().expect("addr"),
    ));
    request
}

async fn send(app: &Router, request: Request<Body>) -> (StatusCode, HeaderMap, Vec<u8>) {
    let response = app.clone().oneshot(request).await.expect("response");
    let status = response.status();
    let headers = response.headers().clone();
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .expect("body")
        .to_bytes()
        .to_vec();
    (status, headers, body)
}

const BOUNDARY: &str = "folio-test-boundary-7MA4YWxkTrZu0gW";

/// A multipart body with a file (named `file_name`, declared as `declared`) and alt text.
fn multipart(file: &[u8], file_name: &str, declared: &str, alt: &str) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(
        format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"alt\"\r\n\r\n{alt}\r\n")
            .as_bytes(),
    );
    body.extend_from_slice(
        format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: {declared}\r\n\r\n").as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

async fn upload(
    app: &Router,
    cookie: Option<&str>,
    body: Vec<u8>,
) -> (StatusCode, HeaderMap, String) {
    let (status, headers, bytes) = send(
        app,
        form_request(
            Method::POST,
            "/owner/media",
            &format!("multipart/form-data; boundary={BOUNDARY}"),
            body,
            cookie,
        ),
    )
    .await;
    (
        status,
        headers,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

async fn stored(pool: &PgPool) -> (i64, i64) {
    sqlx::query_as("select (select count(*) from media), (select count(*) from media_variants)")
        .fetch_one(pool)
        .await
        .expect("counts")
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn an_upload_is_stored_as_webp_widths_and_served_immutable(pool: PgPool) {
    let (app, cookie) = owner_app(&pool).await;
    let png = picture(1200, 800, ImageFormat::Png);
    let (status, headers, body) = upload(
        &app,
        Some(&cookie),
        multipart(&png, "holiday.jpg", "image/jpeg", "A harbour at dawn"),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let location = headers[header::LOCATION].to_str().expect("ascii");
    let key = location
        .strip_prefix("/owner/media?added=")
        .expect("the new key");
    assert_eq!(key.len(), 32);
    assert!(
        !location.contains("holiday"),
        "files are named by the server"
    );

    let widths: Vec<i32> = sqlx::query_scalar("select v.width from media_variants v join media m on m.id = v.media_id where m.key = $1 order by v.width")
        .bind(key)
        .fetch_all(&pool)
        .await
        .expect("widths");
    assert_eq!(widths, [480, 720, 1080, 1200]);

    let (status, headers, bytes) = send(
        &app,
        form_request(
            Method::GET,
            &format!("/media/{key}-480.webp"),
            "text/plain",
            Vec::new(),
            None,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "image/webp");
    assert_eq!(
        headers[header::CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert!(headers.get(header::SET_COOKIE).is_none());
    assert_eq!(&bytes[8..12], b"WEBP");
    let decoded = image::load_from_memory(&bytes).expect("a real WebP");
    assert_eq!((decoded.width(), decoded.height()), (480, 320));
    for missing in [
        format!("/media/{key}-500.webp"),
        "/media/nothing-480.webp".to_owned(),
        format!("/media/{key}-480.png"),
    ] {
        let (status, _, _) = send(
            &app,
            form_request(Method::GET, &missing, "text/plain", Vec::new(), None),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");
    }

    let (status, _, page) = send(
        &app,
        form_request(
            Method::GET,
            "/owner/media",
            "text/plain",
            Vec::new(),
            Some(&cookie),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let page = String::from_utf8(page).expect("utf-8");
    assert!(
        page.contains(&format!("/media/{key}-1200.webp")),
        "the library lists it"
    );
    assert!(page.contains("A harbour at dawn"));

    // Used in a post's Markdown, it is drawn at its size with every width on offer.
    sqlx::query("insert into posts (slug, title, body, published_at) values ('harbour', 'Harbour', $1, now() - interval '1 day')")
        .bind(format!("Before.\n\n![A harbour at dawn](/media/{key}-720.webp)\n"))
        .execute(&pool)
        .await
        .expect("post");
    let (status, _, post) = send(
        &app,
        form_request(
            Method::GET,
            "/writing/harbour",
            "text/plain",
            Vec::new(),
            None,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let post = String::from_utf8(post).expect("utf-8");
    let img = crate::common::opening_tag(&post, "img", &format!("/media/{key}-720.webp"));
    assert!(
        img.contains(r#"width="720""#) && img.contains(r#"height="480""#),
        "{img}"
    );
    assert!(
        img.contains(&format!("/media/{key}-1200.webp 1200w")),
        "{img}"
    );
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn refused_uploads_say_why_and_store_nothing(pool: PgPool) {
    let (app, cookie) = owner_app(&pool).await;
    let png = picture(100, 100, ImageFormat::Png);
    let cases: Vec<(Vec<u8>, &str, StatusCode, &str)> = vec![
        (
            multipart(b"just some words\n", "photo.png", "image/png", "Words"),
            "a text file named .png",
            StatusCode::UNPROCESSABLE_ENTITY,
            "JPEG, PNG, GIF or WebP",
        ),
        (
            multipart(
                br#"<svg xmlns="http://www.w3.org/2000/svg"/>"#,
                "logo.svg",
                "image/svg+xml",
                "Logo",
            ),
            "an SVG",
            StatusCode::UNPROCESSABLE_ENTITY,
            "SVG images can",
        ),
        (
            multipart(
                &pixel_flood(60_000, 60_000),
                "bomb.png",
                "image/png",
                "Bomb",
            ),
            "a pixel flood",
            StatusCode::UNPROCESSABLE_ENTITY,
            "beyond what folio decodes",
        ),
        (
            multipart(&png[..png.len() / 2], "cut.png", "image/png", "Cut"),
            "a truncated PNG",
            StatusCode::UNPROCESSABLE_ENTITY,
            "damaged or incomplete",
        ),
        (
            multipart(&png, "fine.png", "image/png", ""),
            "no alt text",
            StatusCode::UNPROCESSABLE_ENTITY,
            "alt text is required",
        ),
        (
            multipart(b"", "empty.png", "image/png", "Nothing"),
            "no file",
            StatusCode::UNPROCESSABLE_ENTITY,
            "Choose a picture",
        ),
    ];
    for (body, what, expected, message) in cases {
        let (status, _, page) = upload(&app, Some(&cookie), body).await;
        assert_eq!(status, expected, "{what}");
        assert!(
            page.contains(message),
            "{what}: the page should say {message:?}"
        );
    }
    assert_eq!(stored(&pool).await, (0, 0));

    // Over 10 MB: refused from its Content-Length, before the body is read.
    let big = multipart(
        &vec![0u8; media::MAX_UPLOAD + 1],
        "big.png",
        "image/png",
        "Big",
    );
    let (status, _, _) = upload(&app, Some(&cookie), big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    // Other routes keep the ordinary limit.
    let (status, _, _) = send(
        &app,
        form_request(
            Method::POST,
            "/contact",
            "application/x-www-form-urlencoded",
            vec![b'a'; 2 << 20],
            None,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn visitors_cannot_upload_or_delete(pool: PgPool) {
    let (app, cookie) = owner_app(&pool).await;
    let png = picture(100, 100, ImageFormat::Png);
    let (status, _, _) = upload(&app, None, multipart(&png, "a.png", "image/png", "Alt")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, headers, _) = upload(
        &app,
        Some(&cookie),
        multipart(&png, "a.png", "image/png", "Alt"),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let key = headers[header::LOCATION]
        .to_str()
        .expect("ascii")
        .rsplit('=')
        .next()
        .expect("key")
        .to_owned();
    let (status, _, _) = send(
        &app,
        form_request(
            Method::POST,
            &format!("/owner/media/{key}/delete"),
            "application/x-www-form-urlencoded",
            Vec::new(),
            None,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(stored(&pool).await, (1, 1));
}

#[sqlx::test(migrator = "folio_server::db::MIGRATOR")]
async fn a_picture_in_use_cannot_be_deleted(pool: PgPool) {
    let (app, cookie) = owner_app(&pool).await;
    let png = picture(900, 600, ImageFormat::Png);
    let (_, headers, _) = upload(
        &app,
        Some(&cookie),
        multipart(&png, "me.png", "image/png", "The owner, smiling"),
    )
    .await;
    let key = headers[header::LOCATION]
        .to_str()
        .expect("ascii")
        .rsplit('=')
        .next()
        .expect("key")
        .to_owned();
    sqlx::query("insert into profile (name, avatar, avatar_alt) values ('Ada', $1, 'Ada')")
        .bind(format!("/media/{key}-480.webp"))
        .execute(&pool)
        .await
        .expect("profile");
    let delete = || {
        form_request(
            Method::POST,
            &format!("/owner/media/{key}/delete"),
            "application/x-www-form-urlencoded",
            Vec::new(),
            Some(&cookie),
        )
    };
    let (status, _, page) = send(&app, delete()).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(String::from_utf8_lossy(&page).contains("still used by the profile"));
    assert_eq!(stored(&pool).await, (1, 3));

    sqlx::query("update profile set avatar = null")
        .execute(&pool)
        .await
        .expect("unset");
    let (status, headers, _) = send(&app, delete()).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/owner/media?deleted=1");
    assert_eq!(stored(&pool).await, (0, 0));
    let (status, _, _) = send(
        &app,
        form_request(
            Method::GET,
            &format!("/media/{key}-480.webp"),
            "text/plain",
            Vec::new(),
            None,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
