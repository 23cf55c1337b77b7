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
    /// Parses a `whsec_<base64>` secret.
    pub fn parse(secret: &str) -> Result<SigningKey, String> {
        let advice = "a signing secret must be whsec_ followed by base64 (24 to 64 random bytes); \
                      generate one with: echo whsec_$(openssl rand -base64 32)";
        let encoded = secret.strip_prefix("whsec_").ok_or(advice)?;
        let key = STANDARD.decode(encoded).map_err(|_| advice.to_string())?;
        if !(24..=64).contains(&key.len()) {
            return Err(advice.to_string());
        }
        Ok(SigningKey { key })
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
        let key = SigningKey::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let signature = key.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, br#"{"test": 2432232314}"#);
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn refuses_secrets_that_are_not_whsec_base64() {
        for secret in ["hunter2", "whsec_!!!", "whsec_c2hvcnQ="] {
            assert!(SigningKey::parse(secret).is_err(), "{secret}");
        }
    }
}
