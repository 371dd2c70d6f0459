//! What keeps the Web Vitals tables small and private: the day's salt for the visitor hash
//! (made on first use, deleted after 48 hours), and the daily rollup of raw rows past the
//! retention into histograms. Both run on every instance; both are safe to run at once.

use sqlx::PgPool;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;
use time::{Date, OffsetDateTime};

/// The salt of `day`, made (randomly, once for every instance) if that day has none yet.
pub async fn salt(pool: &PgPool, day: Date) -> Result<[u8; 32], sqlx::Error> {
    let fresh: [u8; 32] = rand::random();
    sqlx::query!(
        "insert into vitals_salts (day, salt) values ($1, $2) on conflict (day) do nothing",
        day,
        &fresh[..],
    )
    .execute(pool)
    .await?;
    // A separate statement, so it sees the salt another instance may just have committed.
    let stored = sqlx::query_scalar!("select salt from vitals_salts where day = $1", day)
        .fetch_one(pool)
        .await?;
    stored
        .try_into()
        .map_err(|_| sqlx::Error::Protocol("a stored salt is not 32 bytes".into()))
}

/// Today's salt, kept in memory once read.
#[derive(Debug, Default)]
pub struct Salts {
    today: Mutex<Option<(Date, [u8; 32])>>,
}

impl Salts {
    /// The salt of `day` (today, in UTC).
    pub async fn get(&self, pool: &PgPool, day: Date) -> Result<[u8; 32], sqlx::Error> {
        let cached = *self.today.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((cached_day, salt)) = cached
            && cached_day == day
        {
            return Ok(salt);
        }
        let salt = salt(pool, day).await?;
        *self.today.lock().unwrap_or_else(PoisonError::into_inner) = Some((day, salt));
        Ok(salt)
    }
}

/// Deletes salts made more than 48 hours ago, so no stored visitor hash can be recomputed
/// from an address any more; returns how many went.
pub async fn delete_old_salts(db: impl sqlx::PgExecutor<'_>) -> Result<u64, sqlx::Error> {
    let done =
        sqlx::query!("delete from vitals_salts where created_at < now() - interval '48 hours'")
            .execute(db)
            .await?;
    Ok(done.rows_affected())
}

/// What a rollup moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RolledUp {
    pub values: u64,
    pub views: u64,
}

/// Moves every raw row of a day before `before` into the daily tables and deletes it, in one
/// transaction: a crash half-way leaves everything where it was, and a row is counted exactly
/// once, by whichever instance deletes it. Whole days go at once, so a day's unique visitors
/// are counted over all its views.
pub async fn roll_up(pool: &PgPool, before: Date) -> Result<RolledUp, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let values = sqlx::query_scalar!(
        r#"
        with gone as (
            delete from vitals_metrics where day < $1
            returning day, route, name, device, nav, rating, bin
        ),
        daily as (
            insert into vitals_daily (day, route, name, device, nav, rating, bin, count)
            select day, route, name, device, nav, rating, bin, count(*)
            from gone
            group by day, route, name, device, nav, rating, bin
            on conflict (day, route, name, device, nav, rating, bin)
                do update set count = vitals_daily.count + excluded.count
        )
        select count(*) as "count!" from gone
        "#,
        before,
    )
    .fetch_one(&mut *tx)
    .await?;
    let views = sqlx::query_scalar!(
        r#"
        with gone as (
            delete from vitals_views where day < $1
            returning day, route, referrer_host, visitor
        ),
        per_route as (
            insert into vitals_daily_views (day, route, views, visitors)
            select day, route, count(*), count(distinct visitor)
            from gone
            group by day, route
            on conflict (day, route) do update
                set views = vitals_daily_views.views + excluded.views,
                    visitors = vitals_daily_views.visitors + excluded.visitors
        ),
        per_referrer as (
            insert into vitals_daily_referrers (day, host, views)
            select day, referrer_host, count(*)
            from gone
            where referrer_host is not null
            group by day, referrer_host
            on conflict (day, host) do update set views = vitals_daily_referrers.views + excluded.views
        )
        select count(*) as "count!" from gone
        "#,
        before,
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(RolledUp {
        values: u64::try_from(values).unwrap_or_default(),
        views: u64::try_from(views).unwrap_or_default(),
    })
}

/// Once an hour, starting a minute after start (not while the server is still starting or a
/// short-lived run is stopping): rolls up raw rows older than `retention_days` and deletes old
/// salts.
pub async fn janitor(pool: PgPool, retention_days: u32) {
    let hour = Duration::from_secs(3600);
    let mut tick =
        tokio::time::interval_at(tokio::time::Instant::now() + Duration::from_secs(60), hour);
    loop {
        tick.tick().await;
        let today = OffsetDateTime::now_utc().date();
        let before = today - time::Duration::days(i64::from(retention_days));
        match roll_up(&pool, before).await {
            Ok(RolledUp {
                values: 0,
                views: 0,
            }) => {}
            Ok(done) => tracing::info!(
                values = done.values,
                views = done.views,
                %before,
                "Web Vitals rolled up into daily histograms"
            ),
            Err(error) => tracing::warn!(%error, "Web Vitals rollup failed"),
        }
        if let Err(error) = delete_old_salts(&pool).await {
            tracing::warn!(%error, "deleting old visitor salts failed");
        }
    }
}
