//! A destination ready to deliver to: its config turned into what requests need.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, HeaderName, HeaderValue};

use super::signing::SigningKey;
use crate::config::{BodyFormat, BreakerConfig, DestinationConfig, RetryConfig};

/// Where deliveries go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// An HTTP(S) URL (parsed once, not per request).
    Http(hyper::Uri),
    /// Weir's own stdout: for trying Weir out without a receiver.
    Log,
}

/// A destination, ready for requests.
#[derive(Debug, Clone)]
pub struct Destination {
    /// Its name.
    pub name: Arc<str>,
    /// Where requests go.
    pub target: Target,
    /// How the body is shaped.
    pub format: BodyFormat,
    /// Multipart: send the image.
    pub include_image: bool,
    /// Multipart: send the masks.
    pub include_masks: bool,
    /// Extra headers from the config.
    pub headers: HeaderMap,
    /// Signs requests when set.
    pub signing: Option<SigningKey>,
    /// Time allowed for one attempt.
    pub timeout: Duration,
    /// Requests in flight at once.
    pub max_in_flight: usize,
    /// When to try again.
    pub retry: RetryConfig,
    /// When to leave the receiver alone.
    pub breaker: BreakerConfig,
}

impl Destination {
    /// Whether requests to this destination carry this attachment: a JSON body carries
    /// none; a multipart body (and the `log:` target's listing) carries the image and
    /// masks only when included, and every other attachment.
    pub fn sends(&self, attachment: &crate::event::Attachment) -> bool {
        use super::request::{is_image, is_mask};
        match (&self.target, self.format) {
            (Target::Http(_), BodyFormat::Json) => false,
            _ if is_image(attachment) => self.include_image,
            _ if is_mask(attachment) => self.include_masks,
            _ => true,
        }
    }

    /// Builds a destination from its (already validated) config.
    pub fn new(name: &str, config: &DestinationConfig) -> Result<Destination, String> {
        let target = if config.url == "log:" {
            Target::Log
        } else {
            Target::Http(
                config
                    .url
                    .parse::<hyper::Uri>()
                    .map_err(|error| format!("url {:?}: {error}", config.url))?,
            )
        };
        let mut headers = HeaderMap::new();
        for (key, value) in &config.headers {
            let key = HeaderName::from_bytes(key.as_bytes()).map_err(|_| format!("header name {key:?} is invalid"))?;
            let value =
                HeaderValue::from_str(value.expose()).map_err(|_| format!("header {key} has an invalid value"))?;
            headers.insert(key, value);
        }
        let signing = match &config.secret {
            Some(secret) => Some(SigningKey::parse(secret.expose())?),
            None => None,
        };
        Ok(Destination {
            name: name.into(),
            target,
            format: config.format,
            include_image: config.include_image,
            include_masks: config.include_masks,
            headers,
            signing,
            timeout: config.timeout.0,
            max_in_flight: config.max_in_flight.max(1),
            retry: config.retry.clone(),
            breaker: config.circuit_breaker.clone(),
        })
    }
}
