//! Standard Webhooks signatures (<https://www.standardwebhooks.com>).
//!
//! Each request carries `webhook-id` (the event id, the same on every retry, for the
//! receiver's deduplication), `webhook-timestamp` (seconds since the epoch, per
//! attempt) and `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`,
//! keyed with the destination's `whsec_` secret.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The key of a destination's signatures.
#[derive(Clone)]
pub struct SigningKey {
    key: Vec<u8>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

impl SigningKey {
    /// The key of a secret the config read (`config::SigningSecret`).
    pub fn new(key: Vec<u8>) -> SigningKey {
        SigningKey { key }
    }

    /// The `webhook-signature` header value for one attempt.
    pub fn sign(&self, id: &str, timestamp: u64, body: &[u8]) -> String {
        self.sign_pieces(id, timestamp, [body])
    }

    /// [`SigningKey::sign`] for a body given in pieces, signed as if joined.
    pub fn sign_pieces<'a>(&self, id: &str, timestamp: u64, body: impl IntoIterator<Item = &'a [u8]>) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        body.into_iter().for_each(|piece| mac.update(piece));
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_specification_test_vector() {
        // From the Standard Webhooks specification and its reference libraries.
        let secret = crate::config::SigningSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        let key = SigningKey::new(secret.key.unwrap());
        let signature = key.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, br#"{"test": 2432232314}"#);
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }
}
