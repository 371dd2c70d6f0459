//! One-time setup links: how the first owner gets an account without any default password.
//!
//! While no owner exists, every start prints a link with a fresh random token (256 bits,
//! base64url) that is good for one hour and one use. Only the token's SHA-256 is stored.

use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};
use std::time::Duration;
use time::OffsetDateTime;

/// How long a link works.
pub const LIFETIME: Duration = Duration::from_secs(3600);

/// What a token turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenState {
    Valid,
    /// Unknown, expired or already used: the same answer for each, nothing to probe.
    Invalid,
    /// The owner exists; setup is over.
    AlreadySetUp,
}

fn digest(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Whether the site has an owner yet.
pub async fn has_owner(conn: &mut PgConnection) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(r#"select exists(select 1 from owner) as "exists!""#)
        .fetch_one(conn)
        .await
}

/// A new token, stored (as its digest) until `now + LIFETIME`.
pub async fn create(pool: &PgPool, now: OffsetDateTime) -> Result<String, sqlx::Error> {
    let bytes: [u8; 32] = rand::random();
    let token = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes);
    sqlx::query!(
        "insert into setup_tokens (token_sha256, created_at, expires_at) values ($1, $2, $3)",
        digest(&token),
        now,
        now + LIFETIME,
    )
    .execute(pool)
    .await?;
    Ok(token)
}

/// Looks a token up; with `claim`, also marks a valid one used (inside the caller's transaction,
/// whose row lock makes two simultaneous claims impossible).
pub async fn state(
    conn: &mut PgConnection,
    token: &str,
    now: OffsetDateTime,
    claim: bool,
) -> Result<TokenState, sqlx::Error> {
    if has_owner(conn).await? {
        return Ok(TokenState::AlreadySetUp);
    }
    let row = sqlx::query!(
        "select expires_at, used_at from setup_tokens where token_sha256 = $1 for update",
        digest(token),
    )
    .fetch_optional(&mut *conn)
    .await?;
    let valid = row.is_some_and(|r| r.used_at.is_none() && r.expires_at > now);
    if !valid {
        return Ok(TokenState::Invalid);
    }
    if claim {
        sqlx::query!(
            "update setup_tokens set used_at = $2 where token_sha256 = $1",
            digest(token),
            now,
        )
        .execute(conn)
        .await?;
    }
    Ok(TokenState::Valid)
}

/// At start: if there is no owner yet, prints and logs a fresh setup link.
pub async fn announce(pool: &PgPool, public_url: &str) -> Result<(), sqlx::Error> {
    let mut conn = pool.acquire().await?;
    if has_owner(&mut conn).await? {
        return Ok(());
    }
    let token = create(pool, OffsetDateTime::now_utc()).await?;
    let link = link(public_url, &token);
    tracing::warn!(%link, "no owner yet: open the setup link within an hour to set the owner's email and password");
    println!(
        "\nfolio has no owner yet. Open this link within an hour to set your email and password:\n\n    {link}\n"
    );
    Ok(())
}

pub fn link(public_url: &str, token: &str) -> String {
    format!("{public_url}/setup?token={token}")
}

/// Deletes links that expired a day ago or more.
pub async fn forget_old(pool: &PgPool, now: OffsetDateTime) -> Result<u64, sqlx::Error> {
    let done = sqlx::query!(
        "delete from setup_tokens where expires_at < $1::timestamptz - interval '1 day'",
        now
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}
