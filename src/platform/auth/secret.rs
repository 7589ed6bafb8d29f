//! The server secret: keys HMAC signatures of links flint hands out (email
//! verification, unsubscribe, OAuth state).
//!
//! Taken from `FLINT_SECRET_KEY` when set; otherwise generated once and kept
//! in `server_secrets`, so a zero-configuration start works and every process
//! sharing the database signs with the same key.

use std::fmt;
use std::sync::Arc;

use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

use crate::platform::clock::Clock;
use crate::platform::db::Db;

use super::data;

const SECRET_NAME: &str = "signing_key";

#[derive(Clone)]
pub struct ServerSecret(Arc<SecretString>);

impl fmt::Debug for ServerSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ServerSecret(********)")
    }
}

impl ServerSecret {
    /// The configured secret, or the stored one, or a new one stored now.
    pub async fn load(configured: Option<&SecretString>, db: &Db, clock: &Clock) -> anyhow::Result<Self> {
        if let Some(secret) = configured {
            return Ok(Self(Arc::new(secret.clone())));
        }
        if let Some(stored) = data::find_secret(db, SECRET_NAME).await? {
            return Ok(Self(Arc::new(SecretString::from(stored))));
        }
        // Two processes starting together may both get here: the insert keeps
        // the first value and the re-read makes both use it.
        data::insert_secret_if_absent(db, SECRET_NAME, &super::token::random_token(), clock.now_ms()).await?;
        let stored =
            data::find_secret(db, SECRET_NAME).await?.ok_or_else(|| anyhow::anyhow!("server secret vanished right after it was stored"))?;
        tracing::info!("generated a server secret and stored it in the database");
        Ok(Self(Arc::new(SecretString::from(stored))))
    }

    /// Hex HMAC-SHA256 of `message` under a key derived for `purpose`, so a
    /// signature made for one kind of link is useless for another.
    pub fn sign(&self, purpose: &str, message: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.0.expose_secret().as_bytes()).expect("HMAC takes keys of any length");
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(message.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// Constant-time check of a signature made by `sign`.
    pub fn verify(&self, purpose: &str, message: &str, signature: &str) -> bool {
        use subtle::ConstantTimeEq;
        let expected = self.sign(purpose, message);
        expected.as_bytes().ct_eq(signature.as_bytes()).into()
    }

    #[cfg(test)]
    pub fn from_static(secret: &str) -> Self {
        Self(Arc::new(SecretString::from(secret.to_owned())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_depend_on_purpose_key_and_message() {
        let a = ServerSecret::from_static("k1");
        let b = ServerSecret::from_static("k2");
        let sig = a.sign("unsubscribe", "user-1");
        assert!(a.verify("unsubscribe", "user-1", &sig));
        assert!(!a.verify("verify-email", "user-1", &sig));
        assert!(!a.verify("unsubscribe", "user-2", &sig));
        assert!(!b.verify("unsubscribe", "user-1", &sig));
    }
}
