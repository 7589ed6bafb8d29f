//! Argon2id password hashing, off the async runtime and bounded in concurrency.
//! Hashes moved from the original (better-auth's scrypt, `saltHex:keyHex`,
//! spec §7.3) are verified too, so their owners can sign in and be
//! re-hashed to Argon2id ([`is_legacy`]).
//!
//! Each hash costs ~19 MiB and tens of milliseconds of CPU; running them on
//! the blocking pool behind a semaphore keeps a sign-in flood from starving
//! request handling or memory.

use std::sync::Arc;

use anyhow::Context;
use argon2::Argon2;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use tokio::sync::{OnceCell, Semaphore};

#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    /// A real hash of a random password: verifying against it makes an
    /// unknown email cost the same as a wrong password.
    decoy: Arc<OnceCell<String>>,
}

impl PasswordHasher {
    pub fn new(max_concurrent: usize) -> Self {
        Self { permits: Arc::new(Semaphore::new(max_concurrent.max(1))), decoy: Arc::new(OnceCell::new()) }
    }

    /// Hashes a password into a PHC string (`$argon2id$v=19$...`), after
    /// NFKC normalisation (as the original did), so an "é" typed as one
    /// character or as two is the same password.
    pub async fn hash(&self, password: &str) -> anyhow::Result<String> {
        let password = nfkc(password);
        self.run(move || {
            Argon2::default()
                .hash_password(password.as_bytes())
                .map(|h| h.to_string())
                .map_err(|e| anyhow::anyhow!("hashing password: {e}"))
        })
        .await
    }

    /// Checks a password against a stored hash. With no stored hash (unknown
    /// user, or an account without a password) it still does the full work
    /// against a decoy and answers `false`.
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> anyhow::Result<bool> {
        let (hash, real) = match stored {
            Some(hash) => (hash.to_owned(), true),
            None => (self.decoy_hash().await?, false),
        };
        let password = password.to_owned();
        let matches = self
            .run(move || {
                Ok(if is_legacy(&hash) {
                    verify_scrypt(&password, &hash)
                } else {
                    let argon2 = |candidate: &str| Argon2::default().verify_password(candidate.as_bytes(), hash.as_str()).is_ok();
                    // Hashes made before normalisation hold the password as typed.
                    let normalized = nfkc(&password);
                    argon2(&normalized) || (normalized != password && argon2(&password))
                })
            })
            .await?;
        Ok(matches && real)
    }

    async fn decoy_hash(&self) -> anyhow::Result<String> {
        self.decoy.get_or_try_init(|| async { self.hash(&super::token::random_token()).await }).await.cloned()
    }

    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> anyhow::Result<T> + Send + 'static) -> anyhow::Result<T> {
        let _permit = self.permits.acquire().await.context("password hasher closed")?;
        tokio::task::spawn_blocking(work).await.context("password hashing task failed")?
    }
}

fn nfkc(password: &str) -> String {
    use unicode_normalization::UnicodeNormalization as _;
    password.nfkc().collect()
}

/// Whether a stored hash is the original's scrypt format, to be replaced
/// by an Argon2id hash at the next successful sign-in.
pub fn is_legacy(stored: &str) -> bool {
    !stored.starts_with('$') && stored.contains(':')
}

/// The original's scheme: scrypt(NFKC(password), salt = the hex text's
/// bytes, N = 2^14, r = 16, p = 1, 64 bytes), compared in constant time.
/// About 32 MiB and a few tens of milliseconds per call, on the blocking
/// pool behind the hasher's semaphore.
fn verify_scrypt(password: &str, stored: &str) -> bool {
    use subtle::ConstantTimeEq as _;
    let Some((salt, key)) = stored.split_once(':') else { return false };
    let Ok(expected) = hex::decode(key) else { return false };
    if !(16..=128).contains(&expected.len()) {
        return false;
    }
    let Ok(params) = scrypt::Params::new(14, 16, 1) else { return false };
    let normalized = nfkc(password);
    let mut derived = vec![0u8; expected.len()];
    if scrypt::scrypt(normalized.as_bytes(), salt.as_bytes(), &params, &mut derived).is_err() {
        return false;
    }
    derived.ct_eq(&expected).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_then_verify() {
        let hasher = PasswordHasher::new(2);
        let hash = hasher.hash("correct horse battery staple").await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(hasher.verify("correct horse battery staple", Some(&hash)).await.unwrap());
        assert!(!hasher.verify("wrong", Some(&hash)).await.unwrap());
        assert_ne!(hash, hasher.hash("correct horse battery staple").await.unwrap(), "salts differ");
    }

    #[tokio::test]
    async fn missing_hash_never_verifies() {
        let hasher = PasswordHasher::new(1);
        assert!(!hasher.verify("anything", None).await.unwrap());
    }

    /// A hash made by Node's `crypto.scryptSync` with the original's
    /// parameters: `scryptSync("correct horse é".normalize("NFKC"),
    /// "0123456789abcdef0123456789abcdef", 64, {N: 16384, r: 16, p: 1})`.
    const ORIGINAL_HASH: &str = "0123456789abcdef0123456789abcdef:b4421549e49bced2eef8430ba9291a7ed5833b9f49353a7272d473ebc353357e5eb1b816a7cb09d2a760a0df958210b440c427245026f07157d74a1f111c1b6e";

    #[tokio::test]
    async fn the_originals_scrypt_hashes_verify() {
        let hasher = PasswordHasher::new(2);
        assert!(is_legacy(ORIGINAL_HASH) && !is_legacy(&hasher.hash("x").await.unwrap()));
        assert!(hasher.verify("correct horse \u{e9}", Some(ORIGINAL_HASH)).await.unwrap());
        assert!(hasher.verify("correct horse e\u{301}", Some(ORIGINAL_HASH)).await.unwrap(), "NFKC: a decomposed é is the same password");
        assert!(!hasher.verify("correct horse e", Some(ORIGINAL_HASH)).await.unwrap());
        assert!(!hasher.verify("correct horse \u{e9}", Some("0123:zz")).await.unwrap(), "a malformed hash matches nothing");
    }

    #[tokio::test]
    async fn passwords_are_normalised_and_older_hashes_still_verify() {
        let hasher = PasswordHasher::new(2);
        let hash = hasher.hash("caf\u{e9}").await.unwrap();
        assert!(hasher.verify("cafe\u{301}", Some(&hash)).await.unwrap(), "the same password, typed differently");
        // A hash made before normalisation, of the password as typed.
        let raw = Argon2::default().hash_password("cafe\u{301}".as_bytes()).unwrap().to_string();
        assert!(hasher.verify("cafe\u{301}", Some(&raw)).await.unwrap());
        assert!(!hasher.verify("cafe", Some(&raw)).await.unwrap());
    }
}
