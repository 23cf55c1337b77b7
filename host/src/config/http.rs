//! The parts of a destination's config that are HTTP values: extra headers and the
//! Standard Webhooks signing secret, parsed once, when the config is read.
//!
//! Reading never fails on them: each keeps its text and what parsing it gave, so that
//! validation reports every bad header and secret with the others problems of the file,
//! and delivery takes the parsed values without parsing again. Both print as
//! `<redacted>` (headers carry tokens).

use std::collections::BTreeMap;
use std::fmt;

use axum::http::{HeaderName, HeaderValue};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::Secret;

/// Bytes a signing key may have: Standard Webhooks asks for 24 to 64 random bytes.
pub const SIGNING_KEY_BYTES: std::ops::RangeInclusive<usize> = 24..=64;

/// One extra header of a destination.
#[derive(Clone)]
pub struct Header {
    /// The name, as written.
    pub name: String,
    /// The parsed header, or why it is not one.
    pub parsed: Result<(HeaderName, HeaderValue), String>,
}

/// A destination's extra headers, in name order.
#[derive(Clone, Default)]
pub struct Headers(pub Vec<Header>);

impl Headers {
    /// The headers that parsed (all of them, in a validated config).
    pub fn parsed(&self) -> impl Iterator<Item = &(HeaderName, HeaderValue)> {
        self.0.iter().filter_map(|header| header.parsed.as_ref().ok())
    }
}

impl<'de> Deserialize<'de> for Headers {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let written = BTreeMap::<String, Secret>::deserialize(deserializer)?;
        Ok(Headers(
            written
                .into_iter()
                .map(|(name, value)| {
                    let parsed = match HeaderName::from_bytes(name.as_bytes()) {
                        Err(_) => Err("is not a valid HTTP header name".to_string()),
                        Ok(header) => HeaderValue::from_str(value.expose())
                            .map(|value| {
                                let mut value = value;
                                value.set_sensitive(true);
                                (header, value)
                            })
                            .map_err(|_| {
                                "has a value that is not valid in an HTTP header (control characters?)".to_string()
                            }),
                    };
                    Header { name, parsed }
                })
                .collect(),
        ))
    }
}

impl Serialize for Headers {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let redacted: BTreeMap<&str, &str> = self.0.iter().map(|h| (h.name.as_str(), "<redacted>")).collect();
        redacted.serialize(serializer)
    }
}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.iter().map(|h| &h.name)).finish()
    }
}

impl PartialEq for Headers {
    fn eq(&self, other: &Self) -> bool {
        self.0.len() == other.0.len()
            && self.0.iter().zip(&other.0).all(|(a, b)| {
                a.name == b.name
                    && match (&a.parsed, &b.parsed) {
                        (Ok(a), Ok(b)) => a == b,
                        (Err(a), Err(b)) => a == b,
                        _ => false,
                    }
            })
    }
}

/// A destination's Standard Webhooks signing secret (`whsec_<base64>`).
#[derive(Clone, PartialEq)]
pub struct SigningSecret {
    /// The keys (one, or during a rotation several, newest first), or why the text is
    /// not a signing secret.
    pub keys: Result<Vec<Vec<u8>>, String>,
}

/// Most secrets one destination signs with at once: a rotation needs two.
pub const MAX_SIGNING_SECRETS: usize = 4;

impl SigningSecret {
    /// Reads `whsec_<base64>` secrets, separated by spaces when there are several (while
    /// a receiver moves to a new secret, every request carries a signature by each, as
    /// Standard Webhooks provides).
    pub fn parse(text: &str) -> SigningSecret {
        let advice = "a signing secret must be whsec_ followed by base64 (24 to 64 random bytes); \
                      generate one with: echo whsec_$(openssl rand -base64 32)";
        let secrets: Vec<&str> = text.split_whitespace().collect();
        if secrets.len() > MAX_SIGNING_SECRETS {
            return SigningSecret {
                keys: Err(format!(
                    "{} signing secrets; at most {MAX_SIGNING_SECRETS} at once (a rotation needs two)",
                    secrets.len()
                )),
            };
        }
        let keys = secrets
            .iter()
            .map(|secret| {
                secret
                    .strip_prefix("whsec_")
                    .and_then(|encoded| STANDARD.decode(encoded).ok())
                    .filter(|key| SIGNING_KEY_BYTES.contains(&key.len()))
                    .ok_or_else(|| advice.to_string())
            })
            .collect::<Result<Vec<_>, _>>()
            .and_then(|keys| {
                if keys.is_empty() {
                    Err(advice.to_string())
                } else {
                    Ok(keys)
                }
            });
        SigningSecret { keys }
    }
}

impl<'de> Deserialize<'de> for SigningSecret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(SigningSecret::parse(Secret::deserialize(deserializer)?.expose()))
    }
}

impl Serialize for SigningSecret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str("<redacted>")
    }
}

impl fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningSecret(<redacted>)")
    }
}

/// A URL as Weir shows it (the admin API, `weir check`, logs): the password, and the
/// value of every query parameter, replaced by `<redacted>`. Chat webhook URLs carry
/// their secret in the path or the query; the path is kept (it names the endpoint),
/// the query values are not.
pub fn redacted_url(text: &str) -> String {
    let Ok(mut url) = url::Url::parse(text) else {
        return text.to_string();
    };
    if url.password().is_none() && url.query().is_none() {
        // Nothing secret: shown as written.
        return text.to_string();
    }
    if url.password().is_some() {
        let _ = url.set_password(Some("<redacted>"));
    }
    if url.query().is_some() {
        let names: Vec<String> = url.query_pairs().map(|(name, _)| name.into_owned()).collect();
        url.query_pairs_mut()
            .clear()
            .extend_pairs(names.iter().map(|name| (name.as_str(), "<redacted>")));
    }
    url.to_string().replace("%3Credacted%3E", "<redacted>")
}

/// Serializes a destination URL redacted (for `/admin/config`).
pub fn serialize_url<S: Serializer>(url: &str, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&redacted_url(url))
}

/// The credentials of a URL's `user:password@`, as an `Authorization: Basic` value, and
/// the URL without them: HTTP sends no credentials from the URL itself, so Weir sends
/// them the way the receiver expects them.
pub fn basic_auth(text: &str) -> Option<(HeaderValue, String)> {
    let mut url = url::Url::parse(text).ok()?;
    if url.username().is_empty() && url.password().is_none() {
        return None;
    }
    let decode = |part: &str| {
        percent_encoding::percent_decode_str(part)
            .decode_utf8_lossy()
            .into_owned()
    };
    let credentials = format!(
        "{}:{}",
        decode(url.username()),
        decode(url.password().unwrap_or_default())
    );
    let mut value = HeaderValue::from_str(&format!("Basic {}", STANDARD.encode(credentials))).ok()?;
    value.set_sensitive(true);
    let _ = url.set_username("");
    let _ = url.set_password(None);
    Some((value, url.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_shown_without_password_or_query_values_and_credentials_become_basic_auth() {
        assert_eq!(
            redacted_url("https://bot:s3cr%40t@chat.example.com/hooks/T0/B0?token=abc&x=1"),
            "https://bot:<redacted>@chat.example.com/hooks/T0/B0?token=<redacted>&x=<redacted>"
        );
        assert_eq!(redacted_url("http://127.0.0.1:9000/hook"), "http://127.0.0.1:9000/hook");
        let (header, url) = basic_auth("https://bot:s3cr%40t@chat.example.com/hooks").unwrap();
        assert_eq!(url, "https://chat.example.com/hooks");
        // "bot:s3cr@t"
        assert_eq!(
            header.to_str().unwrap(),
            format!("Basic {}", STANDARD.encode("bot:s3cr@t"))
        );
        assert!(header.is_sensitive());
        assert!(basic_auth("https://chat.example.com/hooks").is_none());
    }

    #[test]
    fn secrets_and_headers_are_parsed_once_and_keep_their_problem() {
        assert_eq!(
            SigningSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
                .keys
                .map(|k| k[0].len()),
            Ok(24)
        );
        let rotating =
            SigningSecret::parse(" whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw  whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA ");
        assert_eq!(rotating.keys.map(|k| k.len()), Ok(2));
        for bad in [
            "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "whsec_!!",
            "whsec_c2hvcnQ=",
            "",
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw whsec_!!",
        ] {
            assert!(
                SigningSecret::parse(bad)
                    .keys
                    .unwrap_err()
                    .starts_with("a signing secret must be")
            );
        }
        let headers: Headers = toml::from_str::<toml::Table>("Authorization = \"Bearer x\"\n\"bad name\" = \"v\"")
            .unwrap()
            .try_into()
            .unwrap();
        assert_eq!(headers.parsed().count(), 1);
        assert_eq!(
            headers
                .0
                .iter()
                .find(|h| h.name == "bad name")
                .unwrap()
                .parsed
                .as_ref()
                .unwrap_err(),
            "is not a valid HTTP header name"
        );
        assert_eq!(
            serde_json::to_string(&headers).unwrap(),
            r#"{"Authorization":"<redacted>","bad name":"<redacted>"}"#
        );
    }
}
