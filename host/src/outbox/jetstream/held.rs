//! A delivery this instance holds: pulled from its destination's consumer and not yet
//! settled (acknowledged, given back with a delay, or terminated).
//!
//! Settling and keeping alive go through one lock per delivery, so a keep-alive can
//! never reach JetStream after the delivery was settled (a late keep-alive after a
//! delayed negative acknowledgement would restart JetStream's timer and move the retry
//! to `ack_wait`), and a delivery is settled at most once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream::AckKind;
use async_nats::jetstream::message::Acker;
use bytes::Bytes;

/// One held delivery.
pub struct Held {
    /// Its destination.
    pub destination: Arc<str>,
    /// The message as JetStream keeps it (a dead letter is this with another head).
    pub payload: Bytes,
    /// When it was pulled or last kept alive.
    pub touched: Instant,
    pub settle: Settle,
}

impl Held {
    pub fn new(destination: Arc<str>, payload: Bytes, acker: Acker) -> Held {
        Held {
            destination,
            payload,
            touched: Instant::now(),
            settle: Settle(Arc::new(tokio::sync::Mutex::new(Some(acker)))),
        }
    }
}

/// A held message's acknowledgement, sent once.
#[derive(Clone)]
pub struct Settle(Arc<tokio::sync::Mutex<Option<Acker>>>);

impl Settle {
    /// Settles the message as `kind`, within `limit`; nothing if it is settled already.
    /// A settlement that did not reach JetStream leaves the message to its `ack_wait`:
    /// it is given out again, never lost.
    pub async fn once(&self, kind: AckKind, limit: Duration) -> Result<(), String> {
        let mut acker = self.0.lock().await;
        let Some(acker) = acker.take() else {
            return Ok(());
        };
        match tokio::time::timeout(limit, acker.ack_with(kind)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(error.to_string()),
            Err(_) => Err(format!("JetStream did not take the acknowledgement within {limit:?}")),
        }
    }

    /// Tells JetStream the message is still being worked on, unless it is settled.
    pub async fn keep_alive(&self, limit: Duration) {
        let acker = self.0.lock().await;
        if let Some(acker) = acker.as_ref() {
            let _ = tokio::time::timeout(limit, acker.ack_with(AckKind::Progress)).await;
        }
    }
}
