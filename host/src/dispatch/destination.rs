//! A destination ready to deliver to: its config turned into what requests need.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;

use super::client::Roots;
use super::guard::check_url;
use super::signing::SigningKey;
use crate::config::http::{basic_auth, redacted_url};
use crate::config::{AttachmentRule, BatchConfig, BodyFormat, BreakerConfig, DestinationConfig, RetryConfig};
use crate::event::{Attachment, Event};

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
    /// Which attachments its requests carry.
    pub attachments: AttachmentRule,
    /// Whether the body carries the predictions document (else the event's id, route,
    /// task and metadata only).
    pub include_predictions: bool,
    /// Extra headers from the config.
    pub headers: HeaderMap,
    /// Signs requests when set.
    pub signing: Option<SigningKey>,
    /// Time allowed for one attempt.
    pub timeout: Duration,
    /// Requests in flight at once: the most (adaptive), or exactly (fixed).
    pub max_in_flight: usize,
    /// Whether the requests in flight follow the receiver's answers.
    pub adaptive: bool,
    /// When to try again.
    pub retry: RetryConfig,
    /// When to leave the receiver alone.
    pub breaker: BreakerConfig,
    /// May connect to loopback and private addresses.
    pub allow_private: bool,
    /// Certificate authorities trusted besides the system's.
    pub roots: Option<Arc<Roots>>,
    /// How old a delivery may get before it goes to the dead letters unsent.
    pub expiry: Expiry,
    /// Most requests per second, with a burst, when limited.
    pub rate: Option<RateLimit>,
    /// Requests are CloudEvents in binary content mode.
    pub cloudevents: bool,
    /// Several events per request, when set.
    pub batch: Option<BatchConfig>,
}

/// A destination's `max_age`: its own, else the route's of the event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expiry {
    /// The destination's own `max_age`.
    pub own: Option<Duration>,
    /// Each route's `max_age`, for the events of routes that set one.
    pub routes: Vec<(String, Duration)>,
}

impl Expiry {
    /// The age past which a delivery of an event of `route` expires.
    pub fn max_age(&self, route: &str) -> Option<Duration> {
        self.own
            .or_else(|| self.routes.iter().find(|(name, _)| name == route).map(|(_, age)| *age))
    }
}

/// A configured request rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Requests per second.
    pub per_second: f64,
    /// Requests that may go at once after a quiet spell.
    pub burst: u32,
}

impl Destination {
    /// Builds a destination from its (already validated) config.
    /// `own` are Weir's configured listeners, which deliveries never go to.
    pub fn new(name: &str, config: &DestinationConfig, own: &[SocketAddr]) -> Result<Destination, String> {
        let mut headers = HeaderMap::new();
        for header in &config.headers.0 {
            let (name, value) = header
                .parsed
                .clone()
                .map_err(|problem| format!("header {} {problem}", header.name))?;
            headers.insert(name, value);
        }
        let target = if config.url == "log:" {
            Target::Log
        } else {
            // Credentials in the URL go as Basic authentication; the URI requests use
            // (and anything that logs it) never holds them.
            let url = match basic_auth(&config.url) {
                Some((authorization, bare)) => {
                    headers.insert(AUTHORIZATION, authorization);
                    bare
                }
                None => config.url.clone(),
            };
            let uri = url
                .parse::<hyper::Uri>()
                .map_err(|error| format!("url {:?}: {error}", redacted_url(&config.url)))?;
            check_url(&uri, config.allow_private, own)?;
            Target::Http(uri)
        };
        let signing = match &config.secret {
            Some(secret) => Some(SigningKey::new(secret.keys.clone()?)),
            None => None,
        };
        Ok(Destination {
            name: name.into(),
            target,
            format: config.format,
            attachments: config.attachments(),
            include_predictions: config.include_predictions,
            headers,
            signing,
            timeout: config.timeout.0,
            max_in_flight: config.max_in_flight.max(1),
            adaptive: config.concurrency == crate::config::Concurrency::Adaptive,
            retry: config.retry.clone(),
            breaker: config.circuit_breaker.clone(),
            allow_private: config.allow_private,
            roots: match &config.ca_file {
                Some(path) => Some(Arc::new(Roots::read(path)?)),
                None => None,
            },
            expiry: Expiry {
                own: config.max_age.map(|age| age.0),
                routes: Vec::new(),
            },
            rate: config.rate.as_ref().map(|rate| RateLimit {
                per_second: rate.per_second,
                burst: config.burst.unwrap_or_else(|| (rate.per_second.floor() as u32).max(1)),
            }),
            cloudevents: config.cloudevents || config.format == BodyFormat::Cloudevents,
            // `log:` prints each delivery on its own line; batching it would say nothing.
            batch: config.batch.clone().filter(|_| config.url != "log:"),
        })
    }

    /// The attachments of `event` this destination's requests carry.
    pub fn sent<'e>(&self, event: &'e Event) -> impl Iterator<Item = &'e Attachment> + use<'e, '_> {
        event.attachments.iter().filter(|a| self.attachments.carries(&a.name))
    }
}
