//! The media store: images the owner uploads, checked by their content, re-encoded and kept in
//! PostgreSQL, so every instance serves the same files and an export can carry them.
//!
//! An upload is accepted only if its first bytes say JPEG, PNG, GIF or WebP (the file name and
//! the declared type are ignored: a PNG named `.jpg` is fine, a text file named `.png` is not,
//! and SVG, which can carry scripts, never is). Its header is read before any pixel is decoded,
//! so a small file declaring a huge canvas (a decompression bomb) is refused cheaply; decoding
//! then runs under the `image` crate's size and allocation limits. The pixels, turned upright by
//! their EXIF orientation, are re-encoded as lossy WebP at each of [`WIDTHS`] narrower than the
//! original (and at the original width, up to the widest): nothing else of the upload is kept,
//! so its metadata (location, camera, thumbnails) is gone. Files are named by the server
//! (`/media/<key>-<width>.webp`, the key 128 random bits) and served with `nosniff` and a
//! year-long `immutable` cache.

use crate::AppState;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};
use std::io::Cursor;

/// Largest upload accepted, in bytes.
pub const MAX_UPLOAD: usize = 10 * 1024 * 1024;
/// Most pixels an upload may declare (width × height).
pub const MAX_PIXELS: u64 = 40_000_000;
/// Longest side an upload may declare.
pub const MAX_SIDE: u32 = 12_000;
/// Memory the decoder may allocate.
const MAX_ALLOC: u64 = 512 * 1024 * 1024;
/// The widths kept, when the original is at least that wide.
pub const WIDTHS: [u32; 4] = [480, 720, 1080, 1600];
/// WebP quality (0 to 100).
const QUALITY: f32 = 80.0;

/// Why an upload was refused, in words the owner can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("The file is empty.")]
    Empty,
    #[error("The file is larger than 10 MB. Export a smaller version and upload that.")]
    TooLarge,
    #[error(
        "SVG images can't be uploaded: they can carry scripts. Export the picture as PNG or WebP and upload that."
    )]
    Svg,
    #[error(
        "This file is not a picture folio can use: upload a JPEG, PNG, GIF or WebP image (whatever its name says, its content is {0})."
    )]
    NotAnImage(&'static str),
    #[error(
        "The picture is too large: {0} × {1} pixels. Upload one of at most 40 megapixels and 12,000 pixels a side."
    )]
    TooManyPixels(u32, u32),
    #[error(
        "The picture's size is beyond what folio decodes (at most 40 megapixels, 12,000 pixels a side)."
    )]
    OverLimits,
    #[error(
        "The picture is damaged or incomplete and can't be read. Export it again and upload the new file."
    )]
    Damaged,
}

/// What the first bytes of a file say it is.
pub fn sniff(bytes: &[u8]) -> Result<ImageFormat, Refused> {
    let starts = |magic: &[u8]| bytes.starts_with(magic);
    if starts(b"\x89PNG\r\n\x1a\n") {
        Ok(ImageFormat::Png)
    } else if starts(b"\xff\xd8\xff") {
        Ok(ImageFormat::Jpeg)
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        Ok(ImageFormat::Gif)
    } else if bytes.len() >= 12 && starts(b"RIFF") && &bytes[8..12] == b"WEBP" {
        Ok(ImageFormat::WebP)
    } else {
        let head = String::from_utf8_lossy(&bytes[..bytes.len().min(1024)]).to_ascii_lowercase();
        if head.contains("<svg") {
            Err(Refused::Svg)
        } else if std::str::from_utf8(&bytes[..bytes.len().min(1024)]).is_ok() {
            Err(Refused::NotAnImage("text"))
        } else {
            Err(Refused::NotAnImage("something else"))
        }
    }
}

/// One stored width of an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    pub width: u32,
    pub height: u32,
    pub webp: Vec<u8>,
}

/// An upload, checked and re-encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Processed {
    /// The upright original's size.
    pub width: u32,
    pub height: u32,
    /// Narrowest first.
    pub variants: Vec<Variant>,
}

/// The widths to keep for an original `width` pixels wide: each of [`WIDTHS`] it exceeds, and
/// its own width when that is no wider than the widest.
pub fn widths_for(width: u32) -> Vec<u32> {
    let widest = WIDTHS[WIDTHS.len() - 1];
    let mut widths: Vec<u32> = WIDTHS.iter().copied().filter(|w| *w < width).collect();
    if width <= widest {
        widths.push(width);
    }
    widths
}

fn decode_error(error: &image::ImageError) -> Refused {
    match error {
        image::ImageError::Limits(_) => Refused::OverLimits,
        _ => Refused::Damaged,
    }
}

/// Checks and re-encodes an upload. CPU-heavy: run it on the blocking pool.
pub fn process(bytes: &[u8]) -> Result<Processed, Refused> {
    if bytes.is_empty() {
        return Err(Refused::Empty);
    }
    if bytes.len() > MAX_UPLOAD {
        return Err(Refused::TooLarge);
    }
    let format = sniff(bytes)?;
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(|e| decode_error(&e))?;
    let (width, height) = decoder.dimensions();
    if width == 0 || height == 0 {
        return Err(Refused::Damaged);
    }
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(Refused::TooManyPixels(width, height));
    }
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut picture = DynamicImage::from_decoder(decoder).map_err(|e| decode_error(&e))?;
    picture.apply_orientation(orientation);
    let picture = if picture.color().has_alpha() {
        DynamicImage::ImageRgba8(picture.to_rgba8())
    } else {
        DynamicImage::ImageRgb8(picture.to_rgb8())
    };
    let (width, height) = (picture.width(), picture.height());
    let variants = widths_for(width)
        .into_iter()
        .map(|w| {
            let h = scaled_height(width, height, w);
            let sized = if w == width {
                picture.clone()
            } else {
                picture.resize_exact(w, h, image::imageops::FilterType::Lanczos3)
            };
            Variant {
                width: w,
                height: h,
                webp: encode(&sized),
            }
        })
        .collect();
    Ok(Processed {
        width,
        height,
        variants,
    })
}

/// The height of a `to_width`-wide copy, rounded, at least one pixel.
fn scaled_height(width: u32, height: u32, to_width: u32) -> u32 {
    let h = (u64::from(height) * u64::from(to_width) + u64::from(width) / 2) / u64::from(width);
    u32::try_from(h).unwrap_or(u32::MAX).max(1)
}

/// Lossy WebP of an RGB8 or RGBA8 picture.
fn encode(picture: &DynamicImage) -> Vec<u8> {
    let (w, h) = (picture.width(), picture.height());
    let encoder = match picture {
        DynamicImage::ImageRgba8(rgba) => webp::Encoder::from_rgba(rgba.as_raw(), w, h),
        other => webp::Encoder::from_rgb(other.as_bytes(), w, h),
    };
    encoder.encode(QUALITY).to_vec()
}

/// A new, unguessable file key.
pub fn new_key() -> String {
    let bytes: [u8; 16] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `/media/<key>-<width>.webp`
pub fn url(key: &str, width: u32) -> String {
    format!("/media/{key}-{width}.webp")
}

/// Stores a processed upload with its alt text; returns its key.
pub async fn store(
    pool: &sqlx::PgPool,
    processed: &Processed,
    alt: &str,
    original_bytes: usize,
) -> Result<String, sqlx::Error> {
    let key = new_key();
    let mut tx = pool.begin().await?;
    let id = sqlx::query_scalar!(
        "insert into media (key, alt, width, height, original_bytes) values ($1, $2, $3, $4, $5) returning id",
        key,
        alt,
        i32::try_from(processed.width).unwrap_or(i32::MAX),
        i32::try_from(processed.height).unwrap_or(i32::MAX),
        i64::try_from(original_bytes).unwrap_or(i64::MAX),
    )
    .fetch_one(&mut *tx)
    .await?;
    for variant in &processed.variants {
        sqlx::query!(
            "insert into media_variants (media_id, width, height, data) values ($1, $2, $3, $4)",
            id,
            i32::try_from(variant.width).unwrap_or(i32::MAX),
            i32::try_from(variant.height).unwrap_or(i32::MAX),
            variant.webp,
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(key)
}

/// `GET /media/<key>-<width>.webp`
pub async fn serve(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    let Some((key, width)) = file
        .strip_suffix(".webp")
        .and_then(|stem| stem.rsplit_once('-'))
        .and_then(|(key, width)| Some((key, width.parse::<i32>().ok()?)))
    else {
        return (StatusCode::NOT_FOUND, "No such file.\n").into_response();
    };
    let found = sqlx::query_scalar!(
        "select v.data from media_variants v join media m on m.id = v.media_id
         where m.key = $1 and v.width = $2",
        key,
        width,
    )
    .fetch_optional(&state.pool)
    .await;
    match found {
        Ok(Some(data)) => {
            let mut response = Response::new(Body::from(data));
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/webp"));
            headers.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            );
            headers.insert(
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("inline"),
            );
            response
        }
        Ok(None) => (StatusCode::NOT_FOUND, "No such file.\n").into_response(),
        Err(error) => {
            tracing::error!(%error, "reading a media file failed");
            (StatusCode::SERVICE_UNAVAILABLE, "Try again in a moment.\n").into_response()
        }
    }
}

/// Where an image is used, as the owner would name each place; empty when it is unused.
pub async fn uses(pool: &sqlx::PgPool, key: &str) -> Result<Vec<String>, sqlx::Error> {
    let pattern = format!("%/media/{key}-%");
    sqlx::query_scalar!(
        r#"select place as "place!" from (
             select 'the project "' || title || '"' as place from projects
              where coalesce(cover, '') like $1 or body like $1
             union all
             select 'the post "' || title || '"' from posts where body like $1
             union all
             select 'the profile' from profile where coalesce(avatar, '') like $1 or bio_long like $1
           ) uses order by place"#,
        pattern,
    )
    .fetch_all(pool)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_never_upscale() {
        assert_eq!(widths_for(300), vec![300]);
        assert_eq!(widths_for(480), vec![480]);
        assert_eq!(widths_for(1000), vec![480, 720, 1000]);
        assert_eq!(widths_for(1600), vec![480, 720, 1080, 1600]);
        assert_eq!(widths_for(4000), vec![480, 720, 1080, 1600]);
    }

    #[test]
    fn heights_keep_the_aspect_ratio() {
        assert_eq!(scaled_height(1600, 900, 480), 270);
        assert_eq!(scaled_height(3, 1, 1), 1);
    }
}

/// The largest request body the upload route reads: the file plus the form around it.
pub const UPLOAD_BODY_LIMIT: usize = MAX_UPLOAD + 64 * 1024;

/// What an upload form carried.
#[derive(Debug, Default)]
struct UploadForm {
    alt: String,
    file: Vec<u8>,
    /// The file field was present (even if empty).
    had_file: bool,
}

/// Reads the multipart form, refusing a file over [`MAX_UPLOAD`] as soon as it passes it.
async fn read_upload(headers: &axum::http::HeaderMap, body: Body) -> Result<UploadForm, Refused> {
    let boundary = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| multer::parse_boundary(v).ok())
        .ok_or(Refused::NotAnImage("not a file upload"))?;
    let constraints = multer::Constraints::new()
        .allowed_fields(vec!["alt", "file"])
        .size_limit(
            multer::SizeLimit::new()
                .whole_stream(UPLOAD_BODY_LIMIT as u64)
                .for_field("alt", 4096)
                .for_field("file", MAX_UPLOAD as u64),
        );
    let mut multipart =
        multer::Multipart::with_constraints(body.into_data_stream(), boundary, constraints);
    let mut form = UploadForm::default();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(
                multer::Error::StreamSizeExceeded { .. } | multer::Error::FieldSizeExceeded { .. },
            ) => {
                return Err(Refused::TooLarge);
            }
            Err(_) => return Err(Refused::Damaged),
        };
        let name = field.name().unwrap_or_default().to_owned();
        let bytes = match field.bytes().await {
            Ok(bytes) => bytes,
            Err(
                multer::Error::StreamSizeExceeded { .. } | multer::Error::FieldSizeExceeded { .. },
            ) => {
                return Err(Refused::TooLarge);
            }
            Err(_) => return Err(Refused::Damaged),
        };
        match name.as_str() {
            "alt" => form.alt = String::from_utf8_lossy(&bytes).trim().to_owned(),
            "file" => {
                form.had_file = true;
                form.file = bytes.to_vec();
            }
            _ => {}
        }
    }
    Ok(form)
}

/// The library page, where the upload and delete forms are.
const PAGE: &str = "/owner/media";

impl Refused {
    /// The status a refused upload is answered with.
    fn status(&self) -> StatusCode {
        if *self == Self::TooLarge {
            StatusCode::PAYLOAD_TOO_LARGE
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        }
    }
}

/// The library page again, with the alt text kept and what needs fixing beside each field.
async fn refuse(
    state: &AppState,
    parts: axum::http::request::Parts,
    alt: String,
    errors: Vec<(&'static str, String)>,
    status: StatusCode,
) -> Response {
    let submitted = app::owner::Submitted {
        form: "media",
        values: vec![("alt", alt)],
        errors,
        summary: None,
    };
    crate::render_again(state, parts, PAGE, submitted, status).await
}

/// `POST /owner/media`: a multipart form with `file` and `alt`.
pub async fn upload(State(state): State<AppState>, request: axum::extract::Request) -> Response {
    if request.extensions().get::<app::owner::Owner>().is_none() {
        return crate::auth::unauthorized();
    }
    let (parts, body) = request.into_parts();
    let form = match read_upload(&parts.headers, body).await {
        Ok(form) => form,
        Err(refused) => {
            return refuse(
                &state,
                parts,
                String::new(),
                vec![("file", refused.to_string())],
                refused.status(),
            )
            .await;
        }
    };
    let mut errors = Vec::new();
    if !form.had_file || form.file.is_empty() {
        errors.push(("file", "Choose a picture to upload.".to_owned()));
    }
    match form.alt.chars().count() {
        0 => errors.push((
            "alt",
            "Describe the picture for people who can't see it (alt text is required).".to_owned(),
        )),
        n if n > 300 => errors.push(("alt", "Keep the alt text to 300 characters.".to_owned())),
        _ => {}
    }
    if !errors.is_empty() {
        return refuse(
            &state,
            parts,
            form.alt,
            errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let size = form.file.len();
    let file = form.file;
    let processed = tokio::task::spawn_blocking(move || process(&file))
        .await
        .unwrap_or(Err(Refused::Damaged));
    let processed = match processed {
        Ok(processed) => processed,
        Err(refused) => {
            return refuse(
                &state,
                parts,
                form.alt,
                vec![("file", refused.to_string())],
                refused.status(),
            )
            .await;
        }
    };
    match store(&state.pool, &processed, &form.alt, size).await {
        Ok(key) => {
            axum::response::Redirect::to(&format!("/owner/media?added={key}")).into_response()
        }
        Err(error) => {
            tracing::error!(%error, "storing an upload failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "The picture could not be saved just now; please try again.\n",
            )
                .into_response()
        }
    }
}

/// `POST /owner/media/{key}/delete`: refused (409) while the image is used anywhere.
pub async fn delete(
    State(state): State<AppState>,
    Path(key): Path<String>,
    request: axum::extract::Request,
) -> Response {
    if request.extensions().get::<app::owner::Owner>().is_none() {
        return crate::auth::unauthorized();
    }
    let used = match uses(&state.pool, &key).await {
        Ok(used) => used,
        Err(error) => {
            tracing::error!(%error, "checking where an image is used failed");
            return (StatusCode::SERVICE_UNAVAILABLE, "Try again in a moment.\n").into_response();
        }
    };
    if !used.is_empty() {
        let (parts, _) = request.into_parts();
        let submitted = app::owner::Submitted {
            form: "media",
            values: Vec::new(),
            errors: Vec::new(),
            summary: Some(format!(
                "That picture is still used by {}. Remove it there first; nothing was deleted.",
                used.join(", ")
            )),
        };
        return crate::render_again(&state, parts, PAGE, submitted, StatusCode::CONFLICT).await;
    }
    match sqlx::query!("delete from media where key = $1", key)
        .execute(&state.pool)
        .await
    {
        Ok(done) if done.rows_affected() == 0 => (
            StatusCode::NOT_FOUND,
            "That picture does not exist (any more).\n",
        )
            .into_response(),
        Ok(_) => axum::response::Redirect::to("/owner/media?deleted=1").into_response(),
        Err(error) => {
            tracing::error!(%error, "deleting an image failed");
            (StatusCode::SERVICE_UNAVAILABLE, "Try again in a moment.\n").into_response()
        }
    }
}
