//! Several deliveries of one destination in one request (`batch`): a JSON array, or
//! newline-delimited JSON, one object per event:
//!
//! ```json
//! {"id": "...", "route": "...", "task": "...", "metadata": {...}, "accepted_at": "...",
//!  "traceparent": "...", "predictions": {...}}
//! ```
//!
//! (`predictions` left out with `include_predictions = false`). The request is signed
//! as one body; its `webhook-id` is the batch's id, derived from the deliveries in it,
//! so the same batch sent again keeps it; receivers deduplicate by each event's `id`.
//! The predictions are not copied: each object's text is written around the event's
//! shared predictions (only for `ndjson`, predictions written over several lines are
//! put on one).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use sha2::{Digest, Sha256};

use super::chunks::Chunks;
use super::destination::Destination;
use super::request::EVENT_AGE_HEADER;
use crate::config::BatchFormat;
use crate::event::trace::TraceParent;
use crate::outbox::Delivery;

/// The header saying how many events a batch request carries.
pub const BATCH_SIZE_HEADER: &str = "x-weir-batch-size";

/// Bytes an event adds to a batch besides its predictions and metadata: its id, route,
/// task, time, trace and the JSON around them (an estimate for `max_bytes`).
const OVERHEAD: usize = 256;

/// A batch, ready to send.
#[derive(Debug)]
pub struct Batch {
    /// The request's `webhook-id`.
    pub id: std::sync::Arc<str>,
    /// The deliveries it carries, in the order of the body.
    pub deliveries: Vec<Delivery>,
    /// The body.
    pub body: Chunks,
    content_type: HeaderValue,
}

/// The bytes `delivery` adds to a batch body, near enough to hold `max_bytes`.
pub fn size_in_batch(delivery: &Delivery, destination: &Destination) -> usize {
    let event = &delivery.event;
    let metadata: usize = event.metadata.iter().map(|(k, v)| k.len() + v.len() + 6).sum();
    let predictions = if destination.include_predictions {
        event.predictions.len()
    } else {
        0
    };
    OVERHEAD + event.id.len() + event.route.len() + metadata + predictions
}

impl Batch {
    /// The batch of `deliveries` for `destination`, laid out as `format` says.
    pub fn new(deliveries: Vec<Delivery>, destination: &Destination, format: BatchFormat) -> Batch {
        let mut hasher = Sha256::new();
        for delivery in &deliveries {
            hasher.update(delivery.id.to_le_bytes());
        }
        let id = format!("batch_{}", hex::encode(&hasher.finalize()[..12]));
        let mut body = Chunks::default();
        let (open, separator, close, content_type) = match format {
            BatchFormat::Json => ("[", ",", "]", "application/json"),
            BatchFormat::Ndjson => ("", "\n", "\n", "application/x-ndjson"),
        };
        body.push(open);
        for (i, delivery) in deliveries.iter().enumerate() {
            if i > 0 {
                body.push(separator);
            }
            element(delivery, destination, format, &mut body);
        }
        body.push(close);
        Batch {
            id: id.into(),
            deliveries,
            body,
            content_type: HeaderValue::from_static(content_type),
        }
    }

    /// The request headers at `at`: the destination's own, the batch's id and size,
    /// the oldest event's age, the highest attempt number, and the signature.
    pub fn headers(&self, destination: &Destination, at: SystemTime) -> HeaderMap {
        let mut headers = HeaderMap::with_capacity(10 + destination.headers.len());
        headers.insert(header::CONTENT_TYPE, self.content_type.clone());
        headers.insert(
            header::USER_AGENT,
            HeaderValue::from_static(concat!("weir/", env!("CARGO_PKG_VERSION"))),
        );
        let timestamp = at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let id = HeaderValue::from_str(&self.id).expect("a batch id is ASCII");
        headers.insert(HeaderName::from_static("webhook-id"), id);
        headers.insert(
            HeaderName::from_static("webhook-timestamp"),
            HeaderValue::from(timestamp),
        );
        if let Some(key) = &destination.signing
            && let Ok(signature) = HeaderValue::from_str(&key.sign_pieces(&self.id, timestamp, self.body.pieces()))
        {
            headers.insert(HeaderName::from_static("webhook-signature"), signature);
        }
        headers.insert(
            HeaderName::from_static(BATCH_SIZE_HEADER),
            HeaderValue::from(self.deliveries.len()),
        );
        let attempt = self.deliveries.iter().map(|d| d.attempts + 1).max().unwrap_or(1);
        headers.insert(HeaderName::from_static("x-weir-attempt"), HeaderValue::from(attempt));
        let oldest = self.deliveries.iter().map(|d| d.accepted_at).min().unwrap_or(at);
        let age = at.duration_since(oldest).unwrap_or(Duration::ZERO);
        headers.insert(
            HeaderName::from_static(EVENT_AGE_HEADER),
            HeaderValue::from(age.as_millis() as u64),
        );
        for (name, value) in &destination.headers {
            headers.insert(name.clone(), value.clone());
        }
        headers
    }
}

/// One event's object: its fields written here, its predictions shared.
fn element(delivery: &Delivery, destination: &Destination, format: BatchFormat, body: &mut Chunks) {
    let event = &delivery.event;
    let metadata: serde_json::Map<String, serde_json::Value> = event
        .metadata
        .iter()
        .map(|(key, value)| (key.clone(), serde_json::Value::String(value.clone())))
        .collect();
    let mut head = serde_json::json!({
        "id": event.id,
        "route": event.route,
        "task": event.task.as_str(),
        "metadata": metadata,
        "accepted_at": humantime::format_rfc3339_millis(delivery.accepted_at).to_string(),
    });
    if let Some(trace) = event.trace.as_deref().and_then(TraceParent::parse) {
        head["traceparent"] = serde_json::Value::String(trace.child().to_string());
    }
    let mut head = head.to_string();
    if !destination.include_predictions {
        body.push(head);
        return;
    }
    head.pop(); // the closing brace
    head.push_str(",\"predictions\":");
    body.push(head);
    let text = event.predictions.as_str();
    if format == BatchFormat::Ndjson && text.contains(['\n', '\r']) {
        body.push(text.trim().replace(['\n', '\r'], " "));
    } else {
        body.push(event.predictions.bytes());
    }
    body.push("}");
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::config::DestinationConfig;
    use crate::event::Event;

    fn destination(toml: &str) -> Destination {
        let config: DestinationConfig = toml::from_str(toml).unwrap();
        Destination::new("d", &config, &[]).unwrap()
    }

    fn delivery(id: u64, predictions: &str) -> Delivery {
        let mut event = Event::new(format!("e{id}"), "cameras", predictions);
        event.set_metadata("camera", "dock-3");
        Delivery {
            id,
            event: Arc::new(event),
            destination: Arc::from("d"),
            attempts: id as u32 - 1,
            accepted_at: UNIX_EPOCH + Duration::from_secs(1_700_000_000 + id),
            batch: None,
        }
    }

    fn text(batch: &Batch) -> String {
        String::from_utf8(batch.body.to_vec()).unwrap()
    }

    #[test]
    fn a_json_batch_is_an_array_of_the_events_with_their_predictions() {
        let d = destination("url = \"http://h/\"");
        let batch = Batch::new(
            vec![
                delivery(1, r#"{"predictions":[1]}"#),
                delivery(2, "{\n \"predictions\": []\n}"),
            ],
            &d,
            BatchFormat::Json,
        );
        let read: serde_json::Value = serde_json::from_str(&text(&batch)).unwrap();
        assert_eq!(read[0]["id"], "e1");
        assert_eq!(read[0]["predictions"], serde_json::json!({"predictions": [1]}));
        assert_eq!(read[1]["metadata"]["camera"], "dock-3");
        assert_eq!(read[1]["accepted_at"], "2023-11-14T22:13:22.000Z");
        assert_eq!(read.as_array().unwrap().len(), 2);
        let again = Batch::new(vec![delivery(1, "{}"), delivery(2, "{}")], &d, BatchFormat::Json);
        assert_eq!(again.id, batch.id, "the same deliveries make the same batch id");
        let other = Batch::new(vec![delivery(1, "{}")], &d, BatchFormat::Json);
        assert_ne!(other.id, batch.id);
    }

    #[test]
    fn an_ndjson_batch_is_one_event_per_line() {
        let d = destination("url = \"http://h/\"\ninclude_predictions = false");
        let batch = Batch::new(vec![delivery(1, "{}"), delivery(2, "{}")], &d, BatchFormat::Ndjson);
        let body = text(&batch);
        let lines: Vec<&str> = body.lines().collect();
        assert_eq!(lines.len(), 2, "{body}");
        for (line, id) in lines.iter().zip(["e1", "e2"]) {
            let read: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(read["id"], id);
            assert!(read.get("predictions").is_none());
        }
        let d = destination("url = \"http://h/\"");
        let batch = Batch::new(vec![delivery(1, "{\n \"a\": 1\n}")], &d, BatchFormat::Ndjson);
        assert_eq!(text(&batch).lines().count(), 1);
    }

    #[test]
    fn a_batch_is_signed_as_one_body_under_its_own_id() {
        let d = destination("url = \"http://h/\"\nsecret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"");
        let batch = Batch::new(vec![delivery(1, "{}"), delivery(3, "{}")], &d, BatchFormat::Json);
        let at = UNIX_EPOCH + Duration::from_secs(1_700_000_010);
        let headers = batch.headers(&d, at);
        assert_eq!(headers["webhook-id"], &*batch.id);
        assert_eq!(headers[BATCH_SIZE_HEADER], "2");
        assert_eq!(headers["x-weir-attempt"], "3");
        assert_eq!(headers[EVENT_AGE_HEADER], "9000");
        let expected = d
            .signing
            .as_ref()
            .unwrap()
            .sign(&batch.id, 1_700_000_010, &batch.body.to_vec());
        assert_eq!(headers["webhook-signature"], expected.as_str());
    }
}
