//! Sign-in brute-force limits, counted per account and per client address in PostgreSQL so
//! every instance shares them.
//!
//! Each failure counts against both keys. From the [`FREE_FAILURES`]th failure on, a key is
//! locked for a backoff that doubles with every further failure ([`backoff`]); while either key
//! is locked, attempts are refused with `429` before any password is checked. A success clears
//! both keys; a key with no failure for [`FORGET_AFTER`] is forgotten.
//!
//! The caller passes `now`, so tests drive the clock. Keys are locked with `FOR UPDATE NOWAIT`
//! for the whole attempt: a second attempt racing the first is refused at once instead of
//! being verified in parallel, which also keeps a flood from holding pool connections.

use sqlx::{PgConnection, Postgres, Transaction};
use std::time::Duration;
use time::OffsetDateTime;

/// Failures allowed before the first lock.
pub const FREE_FAILURES: i32 = 5;
/// The first lock; each further failure doubles it, up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::from_secs(60);
pub const MAX_BACKOFF: Duration = Duration::from_secs(3600);
/// Counters with no failure for this long are deleted.
pub const FORGET_AFTER: Duration = Duration::from_secs(24 * 3600);

/// The keys one attempt counts under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys([String; 2]);

impl Keys {
    /// `email` as typed (trimmed, lowercased: the same account however it is written) and the
    /// client's limit key.
    pub fn new(email: &str, address: &str) -> Self {
        let mut keys = [
            format!("account:{}", email.trim().to_lowercase()),
            format!("address:{address}"),
        ];
        // One order for every attempt, so two attempts can never lock each other's rows crosswise.
        keys.sort();
        Self(keys)
    }

    fn as_slice(&self) -> &[String] {
        &self.0
    }
}

/// What the limits say about an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Go ahead and check the password.
    Allowed,
    /// Refused; try again after this long.
    Locked(Duration),
    /// Another attempt on the same account or address is being checked right now.
    Busy,
}

/// How long a key with `failures` failures stays locked after its latest one.
pub fn backoff(failures: i32) -> Option<Duration> {
    let over = u32::try_from(failures.checked_sub(FREE_FAILURES)?).ok()?;
    let doublings = over.min(16);
    Some(
        FIRST_BACKOFF
            .saturating_mul(1 << doublings)
            .min(MAX_BACKOFF),
    )
}

/// Locks both keys' counters for this transaction and says whether the attempt may proceed.
pub async fn check(
    tx: &mut Transaction<'_, Postgres>,
    keys: &Keys,
    now: OffsetDateTime,
) -> Result<Verdict, sqlx::Error> {
    // A racing attempt's uncommitted insert of the same key would make this one wait; it
    // gives up quickly instead (55P03, like NOWAIT below).
    sqlx::query("set local lock_timeout = '100ms'")
        .execute(&mut **tx)
        .await?;
    let inserted = sqlx::query!(
        "insert into sign_in_failures (key) select unnest($1::text[]) on conflict do nothing",
        keys.as_slice(),
    )
    .execute(&mut **tx)
    .await;
    match inserted {
        Ok(_) => {}
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("55P03") => {
            return Ok(Verdict::Busy);
        }
        Err(e) => return Err(e),
    }
    let rows = sqlx::query!(
        "select locked_until from sign_in_failures where key = any($1) order by key for update nowait",
        keys.as_slice(),
    )
    .fetch_all(&mut **tx)
    .await;
    let rows = match rows {
        Ok(rows) => rows,
        // 55P03 lock_not_available: another attempt holds one of the keys.
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("55P03") => {
            return Ok(Verdict::Busy);
        }
        Err(e) => return Err(e),
    };
    let wait = rows
        .iter()
        .filter_map(|row| row.locked_until)
        .filter(|until| *until > now)
        .map(|until| until - now)
        .max();
    Ok(match wait {
        Some(wait) => Verdict::Locked(round_up(wait)),
        None => Verdict::Allowed,
    })
}

/// Counts a failure against both keys; returns how long they are now locked, if they are.
pub async fn fail(
    tx: &mut Transaction<'_, Postgres>,
    keys: &Keys,
    now: OffsetDateTime,
) -> Result<Option<Duration>, sqlx::Error> {
    let counts = sqlx::query_scalar!(
        "update sign_in_failures
         set failures = case when last_failure_at < $2::timestamptz - make_interval(secs => $3) then 1 else failures + 1 end,
             last_failure_at = $2
         where key = any($1)
         returning failures",
        keys.as_slice(),
        now,
        FORGET_AFTER.as_secs_f64(),
    )
    .fetch_all(&mut **tx)
    .await?;
    let Some(lock) = counts.into_iter().max().and_then(backoff) else {
        return Ok(None);
    };
    let until: OffsetDateTime = now + lock;
    sqlx::query!(
        "update sign_in_failures set locked_until = $2
         where key = any($1) and failures >= $3",
        keys.as_slice(),
        until,
        FREE_FAILURES,
    )
    .execute(&mut **tx)
    .await?;
    Ok(Some(lock))
}

/// Forgets both keys' failures after a successful sign-in.
pub async fn clear(conn: &mut PgConnection, keys: &Keys) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "delete from sign_in_failures where key = any($1)",
        keys.as_slice()
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Forgets an account's failures (a password reset from the command line).
pub async fn clear_account(conn: &mut PgConnection, email: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "delete from sign_in_failures where key = $1",
        format!("account:{}", email.trim().to_lowercase()),
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes counters with no recent failure and no lock in force.
pub async fn forget_old(pool: &sqlx::PgPool, now: OffsetDateTime) -> Result<u64, sqlx::Error> {
    let done = sqlx::query!(
        "delete from sign_in_failures
         where (last_failure_at is null or last_failure_at < $1::timestamptz - make_interval(secs => $2))
           and (locked_until is null or locked_until < $1)",
        now,
        FORGET_AFTER.as_secs_f64(),
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

/// Whole seconds, rounded up, at least one: what `Retry-After` says.
fn round_up(wait: time::Duration) -> Duration {
    let millis = u64::try_from(wait.whole_milliseconds()).unwrap_or(0);
    Duration::from_secs(millis.div_ceil(1000).max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_are_free_then_the_wait_doubles_up_to_an_hour() {
        assert_eq!(backoff(1), None);
        assert_eq!(backoff(4), None);
        assert_eq!(backoff(5), Some(Duration::from_secs(60)));
        assert_eq!(backoff(6), Some(Duration::from_secs(120)));
        assert_eq!(backoff(7), Some(Duration::from_secs(240)));
        assert_eq!(backoff(11), Some(Duration::from_secs(3600)));
        assert_eq!(backoff(i32::MAX), Some(Duration::from_secs(3600)));
    }

    #[test]
    fn an_account_is_the_same_however_its_email_is_written() {
        assert_eq!(
            Keys::new(" Owner@Example.com ", "10.0.0.1"),
            Keys::new("owner@example.com", "10.0.0.1")
        );
    }

    #[test]
    fn waits_round_up_to_whole_seconds() {
        assert_eq!(
            round_up(time::Duration::milliseconds(1)),
            Duration::from_secs(1)
        );
        assert_eq!(
            round_up(time::Duration::milliseconds(59_001)),
            Duration::from_secs(60)
        );
    }
}
