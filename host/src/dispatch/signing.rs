//! Standard Webhooks signatures (<https://www.standardwebhooks.com>).
//!
//! Each request carries `webhook-id` (the event id, the same on every retry, for the
//! receiver's deduplication), `webhook-timestamp` (seconds since the epoch, per
//! attempt) and `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`,
//! keyed with the destination's `whsec_` secret. While a secret is being rotated the
//! destination has several, and the header carries one signature by each, separated by
//! spaces, as the specification provides: a receiver checking either secret accepts.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The keys of a destination's signatures (newest first).
#[derive(Clone)]
pub struct SigningKey {
    keys: Vec<Vec<u8>>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

impl SigningKey {
    /// The keys of the secrets the config read (`config::SigningSecret`).
    pub fn new(keys: Vec<Vec<u8>>) -> SigningKey {
        SigningKey { keys }
    }

    /// The `webhook-signature` header value for one attempt.
    pub fn sign(&self, id: &str, timestamp: u64, body: &[u8]) -> String {
        self.sign_pieces(id, timestamp, [body])
    }

    /// [`SigningKey::sign`] for a body given in pieces, signed as if joined.
    pub fn sign_pieces<'a>(
        &self,
        id: &str,
        timestamp: u64,
        body: impl IntoIterator<Item = &'a [u8]> + Clone,
    ) -> String {
        let timestamp = timestamp.to_string();
        let signatures: Vec<String> = self
            .keys
            .iter()
            .map(|key| {
                let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
                mac.update(id.as_bytes());
                mac.update(b".");
                mac.update(timestamp.as_bytes());
                mac.update(b".");
                body.clone().into_iter().for_each(|piece| mac.update(piece));
                format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
            })
            .collect();
        signatures.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_specification_test_vector() {
        // From the Standard Webhooks specification and its reference libraries.
        let secret = crate::config::SigningSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        let key = SigningKey::new(secret.keys.unwrap());
        let signature = key.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, br#"{"test": 2432232314}"#);
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn during_a_rotation_each_secret_signs_and_the_signatures_are_space_separated() {
        let both = crate::config::SigningSecret::parse(
            "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        );
        let key = SigningKey::new(both.keys.unwrap());
        let signature = key.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, br#"{"test": 2432232314}"#);
        let parts: Vec<&str> = signature.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert!(parts[0].starts_with("v1,"));
        assert_eq!(parts[1], "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }
}
