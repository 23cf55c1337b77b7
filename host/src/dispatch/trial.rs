//! A trial send (the workflow seed's test button): one event to one destination,
//! through the same body, headers, signature and client as every delivery, answered at
//! once instead of queued.
//!
//! Nothing is recorded in the outbox and the circuit breaker neither stops nor counts a
//! trial: it is how an operator sees whether a receiver works, or is back.

use std::sync::{Arc, PoisonError};
use std::time::SystemTime;

use serde::Serialize;

use super::Dispatcher;
use super::attempt::{attempt, attempt_batch};
use super::batch::Batch;
use super::connections::Connections;
use super::request::{Sending, body, headers};
use super::retry::Disposition;
use crate::event::Event;
use crate::outbox::Delivery;

/// The headers of a Standard Webhooks signature.
pub const SIGNATURE_HEADERS: [&str; 3] = ["webhook-id", "webhook-timestamp", "webhook-signature"];

/// What a trial send got.
#[derive(Debug, Clone, Serialize)]
pub struct TrialOutcome {
    /// The destination.
    pub destination: String,
    /// The sample event's id (its `webhook-id`).
    pub event_id: String,
    /// Whether the receiver took it (a 2xx, or written to the `log:` target).
    pub delivered: bool,
    /// The HTTP status, if the receiver answered.
    pub status: Option<u16>,
    /// How long the attempt took, in milliseconds.
    pub latency_ms: f64,
    /// Why it failed, when it did.
    pub error: Option<String>,
    /// The first bytes of the receiver's answer.
    pub response: String,
    /// Whether the request carried the Standard Webhooks signature headers.
    pub signed: bool,
    /// The names of the headers the request carried (values are not shown: some are
    /// the destination's secrets).
    pub headers: Vec<String>,
}

impl Dispatcher {
    /// Sends `event` to the destination `name` now, as a delivery would; `None` when
    /// no destination has that name.
    pub async fn trial(&self, name: &str, event: Event) -> Option<TrialOutcome> {
        let destination = {
            let lanes = self.lanes.lock().unwrap_or_else(PoisonError::into_inner);
            lanes.get(name)?.destination.load_full()
        };
        let mut event = event;
        // A trial is traced like a delivery, so the receiver sees every header it will.
        event
            .trace
            .get_or_insert_with(|| crate::event::trace::TraceParent::start().to_string());
        let event = Arc::new(event);
        let now = SystemTime::now();
        let delivery = Delivery {
            id: 0,
            event: event.clone(),
            destination: destination.name.clone(),
            attempts: 0,
            accepted_at: now,
            batch: None,
        };
        // A batching destination gets a batch of one, as its lane would send it.
        let batch = destination
            .batch
            .as_ref()
            .map(|batching| Batch::new(vec![delivery.clone()], &destination, batching.format));
        let sent = {
            let headers = match &batch {
                Some(batch) => batch.headers(&destination, now),
                None => {
                    let sending = Sending {
                        attempt: 1,
                        at: now,
                        accepted_at: now,
                    };
                    headers(&event, &destination, &body(&event, &destination), sending)
                }
            };
            let mut names: Vec<String> = headers.keys().map(|name| name.as_str().to_string()).collect();
            names.sort();
            names.dedup();
            names
        };
        let signed = SIGNATURE_HEADERS.iter().all(|header| sent.iter().any(|s| s == header));
        // A connection of its own, made with the destination's own address rules and
        // CA, as its lane makes them.
        let connections = match &destination.target {
            super::destination::Target::Http(url) => Some(Connections::new(
                self.clients.of(destination.allow_private, destination.roots.as_ref()),
                url,
                (destination.allow_private, destination.roots.clone()),
            )),
            super::destination::Target::Log => None,
        };
        let outcome = match &batch {
            Some(batch) => attempt_batch(connections.as_ref(), &destination, batch).await,
            None => attempt(connections.as_ref(), &destination, &delivery).await,
        };
        let record = outcome.attempt;
        tracing::info!(
            destination = name,
            status = record.status,
            error = record.error.as_deref().unwrap_or(""),
            "trial send"
        );
        Some(TrialOutcome {
            destination: name.to_string(),
            event_id: event.id.clone(),
            delivered: outcome.disposition == Disposition::Delivered,
            status: record.status,
            latency_ms: (record.latency.as_secs_f64() * 1e6).round() / 1e3,
            error: record.error,
            response: record.response,
            signed,
            headers: if matches!(destination.target, super::destination::Target::Log) {
                Vec::new()
            } else {
                sent
            },
        })
    }
}
