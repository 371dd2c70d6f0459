//! Password hashing: argon2id with the OWASP parameters (m = 19 MiB, t = 2, p = 1), run on the
//! blocking pool so a sign-in never stalls the async workers.
//!
//! <https://cheatsheetseries.owasp.org/cheatsheets/Password_Storage_Cheat_Sheet.html#argon2id>

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::LazyLock;

/// Memory cost in KiB.
pub const MEMORY_KIB: u32 = 19_456;
/// Passes over memory.
pub const ITERATIONS: u32 = 2;
/// Lanes.
pub const PARALLELISM: u32 = 1;
/// Shortest accepted password, in characters.
pub const MIN_CHARS: usize = 12;
/// Longest accepted password, in characters; all of it is hashed, nothing is truncated.
pub const MAX_CHARS: usize = 1024;

/// Why hashing failed (never for a valid password: only if the library refuses its input).
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

fn argon2() -> Argon2<'static> {
    // The parameters are constants inside the library's accepted ranges.
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None)
        .unwrap_or_else(|_| Params::default());
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Whether a password is acceptable, with a message for the owner if not.
pub fn check_policy(password: &str) -> Result<(), String> {
    let chars = password.chars().count();
    if chars < MIN_CHARS {
        Err(format!(
            "Use at least {MIN_CHARS} characters; a short phrase of several words is easy to remember."
        ))
    } else if chars > MAX_CHARS {
        Err(format!("Use at most {MAX_CHARS} characters."))
    } else {
        Ok(())
    }
}

/// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`) for a new password.
pub fn hash_blocking(password: &str) -> Result<String, HashError> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| HashError(e.to_string()))
}

/// Whether `password` matches `phc`. A malformed stored hash never matches.
pub fn verify_blocking(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        // Verifies with the parameters stored in the hash, so older hashes keep working.
        Ok(parsed) => argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(error) => {
            tracing::error!(%error, "the stored password hash is malformed");
            false
        }
    }
}

/// A hash of nothing anyone knows, verified against when the email is unknown so that an
/// unknown email costs the same time as a wrong password.
static DECOY: LazyLock<String> = LazyLock::new(|| {
    let random: [u8; 32] = rand::random();
    hash_blocking(&base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        random,
    ))
    .unwrap_or_default()
});

/// Hashes on the blocking pool.
pub async fn hash(password: String) -> Result<String, HashError> {
    tokio::task::spawn_blocking(move || hash_blocking(&password))
        .await
        .map_err(|e| HashError(e.to_string()))?
}

/// Verifies on the blocking pool; `None` checks against the decoy and is always false.
pub async fn verify(password: String, phc: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || match phc {
        Some(phc) => verify_blocking(&password, &phc),
        None => {
            let _ = verify_blocking(&password, &DECOY);
            false
        }
    })
    .await
    .unwrap_or(false)
}

/// Builds the decoy now, so the first sign-in with an unknown email is not the only slow one.
pub fn warm_up() {
    tokio::task::spawn_blocking(|| LazyLock::force(&DECOY));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_with_the_owasp_parameters() {
        let phc = hash_blocking("correct horse battery staple").expect("hash");
        let parsed = PasswordHash::new(&phc).expect("phc");
        assert_eq!(parsed.algorithm.as_str(), "argon2id");
        assert_eq!(parsed.version, Some(0x13));
        let params = Params::try_from(&parsed).expect("params");
        assert_eq!(
            (params.m_cost(), params.t_cost(), params.p_cost()),
            (19_456, 2, 1)
        );
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
    }

    #[test]
    fn verifies_the_right_password_only() {
        let phc = hash_blocking("correct horse battery staple").expect("hash");
        assert!(verify_blocking("correct horse battery staple", &phc));
        assert!(!verify_blocking("correct horse battery stapler", &phc));
        assert!(!verify_blocking("", &phc));
        assert!(!verify_blocking("anything", "not a phc string"));
    }

    #[test]
    fn long_passwords_are_not_truncated() {
        // bcrypt would stop at 72 bytes; these differ only in the 1000th character.
        let long = "a".repeat(999) + "b";
        let other = "a".repeat(999) + "c";
        let phc = hash_blocking(&long).expect("hash");
        assert!(verify_blocking(&long, &phc));
        assert!(!verify_blocking(&other, &phc));
    }

    #[test]
    fn the_policy_counts_characters_not_bytes() {
        assert!(check_policy("short").is_err());
        assert!(check_policy(&"é".repeat(12)).is_ok());
        assert!(check_policy(&"x".repeat(11)).is_err());
        assert!(check_policy(&"x".repeat(1024)).is_ok());
        assert!(check_policy(&"x".repeat(1025)).is_err());
    }

    #[test]
    fn the_decoy_matches_nothing() {
        assert!(!verify_blocking("", &DECOY));
        assert!(DECOY.starts_with("$argon2id$"));
    }
}
