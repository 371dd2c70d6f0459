//! The security log: what happened to the owner's account, for the owner to read in-app.
//! It never holds passwords, tokens or session ids.

use sqlx::PgConnection;

/// Something worth recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    OwnerCreated,
    SignedIn,
    SignInFailed,
    LockedOut,
    SignedOut,
    SignedOutEverywhere,
    PasswordChanged,
    PasswordReset,
    SessionExpired,
    Exported,
    Imported,
}

impl Event {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OwnerCreated => "owner_created",
            Self::SignedIn => "signed_in",
            Self::SignInFailed => "sign_in_failed",
            Self::LockedOut => "locked_out",
            Self::SignedOut => "signed_out",
            Self::SignedOutEverywhere => "signed_out_everywhere",
            Self::PasswordChanged => "password_changed",
            Self::PasswordReset => "password_reset",
            Self::SessionExpired => "session_expired",
            Self::Exported => "exported",
            Self::Imported => "imported",
        }
    }
}

/// Appends an entry. `detail` is cut to the column's 500 characters.
pub async fn record(
    conn: &mut PgConnection,
    event: Event,
    client: &str,
    detail: &str,
) -> Result<(), sqlx::Error> {
    let detail: String = detail.chars().take(500).collect();
    sqlx::query!(
        "insert into security_log (event, client, detail) values ($1, $2, $3)",
        event.as_str(),
        client,
        detail,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Appends an entry on its own connection, logging (not failing) if the database refuses.
pub async fn record_now(pool: &sqlx::PgPool, event: Event, client: &str, detail: &str) {
    let outcome = match pool.acquire().await {
        Ok(mut conn) => record(&mut conn, event, client, detail).await,
        Err(error) => Err(error),
    };
    if let Err(error) = outcome {
        tracing::error!(%error, event = event.as_str(), "cannot write the security log");
    }
}
