//! Fixed-window rate limits kept in PostgreSQL, so every instance counts together.

use axum::http::{HeaderValue, header};
use axum::response::Response;
use sqlx::PgConnection;
use std::time::Duration;

/// `response` with `Retry-After: wait` in whole seconds, at least 1 (a refused client must
/// not be told to come back at once).
pub fn with_retry_after(mut response: Response, wait: Duration) -> Response {
    response.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(wait.as_secs().max(1)),
    );
    response
}

/// What a limit allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub bucket: &'static str,
    pub max: u32,
    pub window: Duration,
}

/// Counts one hit for `key` and says whether it is allowed; `Err(retry_after)` when over.
///
/// Run it in the transaction that does the limited work, so a hit is counted exactly when the
/// work is committed.
pub async fn hit(
    conn: &mut PgConnection,
    limit: Limit,
    key: &str,
) -> Result<Result<(), Duration>, sqlx::Error> {
    let window_secs = limit.window.as_secs_f64().max(1.0);
    let row = sqlx::query!(
        r#"
        insert into rate_limits (bucket, key, window_start)
        values ($1, $2, to_timestamp(floor(extract(epoch from now())::float8 / $3::float8) * $3::float8))
        on conflict (bucket, key, window_start) do update set hits = rate_limits.hits + 1
        returning hits,
                  extract(epoch from (window_start + make_interval(secs => $3::float8) - now()))::float8 as "retry_after!"
        "#,
        limit.bucket,
        key,
        window_secs,
    )
    .fetch_one(&mut *conn)
    .await?;
    if u32::try_from(row.hits).unwrap_or(u32::MAX) <= limit.max {
        Ok(Ok(()))
    } else {
        Ok(Err(Duration::from_secs_f64(
            row.retry_after.max(1.0).ceil(),
        )))
    }
}

/// Deletes the counters of windows that started more than a day ago (every limit's window is
/// shorter); returns how many went.
pub async fn delete_old(db: impl sqlx::PgExecutor<'_>) -> Result<u64, sqlx::Error> {
    let done =
        sqlx::query!("delete from rate_limits where window_start < now() - interval '1 day'")
            .execute(db)
            .await?;
    Ok(done.rows_affected())
}

/// Runs [`delete_old`] once an hour.
pub async fn janitor(pool: sqlx::PgPool) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tick.tick().await;
        if let Err(error) = delete_old(&pool).await {
            tracing::warn!(%error, "rate-limit cleanup failed");
        }
    }
}
