//! The request for one attempt: body and headers, in the shapes receivers expect.
//!
//! - `json`: the predictions document is the body; the event's id, route, task and
//!   metadata travel in `X-Weir-*` headers.
//! - `multipart`: the camera-inference shape (seed 000): a `predictions.json` part, the
//!   `image.jpeg` part when `include_image`, `mask_NNNN.png` parts when
//!   `include_masks`, and any other attachment.
//! - With `include_predictions = false` (seed 002: the payload without the
//!   annotations), the predictions document is replaced by the event's id, route, task
//!   and metadata ([`metadata_only`]): the body in `json`, a `metadata.json` part in
//!   `multipart`.
//! - Every attempt says how old the event is (`X-Weir-Event-Age-Ms`) and carries the
//!   event's trace with a span of its own (`traceparent`); with `cloudevents`, the
//!   request is a CloudEvent in binary content mode (`ce-*` headers, body unchanged).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use bytes::Bytes;

use super::chunks::Chunks;
use super::destination::Destination;
use crate::config::BodyFormat;
use crate::event::trace::{TRACEPARENT, TraceParent};
use crate::event::{Event, METADATA_HEADER_PREFIX};

/// The header saying how long ago Weir accepted the event, in milliseconds.
pub const EVENT_AGE_HEADER: &str = "x-weir-event-age-ms";

/// What one attempt adds to the headers.
#[derive(Debug, Clone, Copy)]
pub struct Sending {
    /// Which attempt this is (1 for the first).
    pub attempt: u32,
    /// When it is sent.
    pub at: SystemTime,
    /// When Weir accepted the event.
    pub accepted_at: SystemTime,
}

/// A request body and its content type.
#[derive(Debug, Clone)]
pub struct Body {
    /// The bytes, exactly as sent (and signed), in pieces.
    pub bytes: Chunks,
    /// The `Content-Type`.
    pub content_type: HeaderValue,
}

/// The body for a destination.
pub fn body(event: &Event, destination: &Destination) -> Body {
    match destination.format {
        BodyFormat::Json | BodyFormat::Cloudevents => Body {
            bytes: Chunks::from(document(event, destination).1),
            content_type: HeaderValue::from_static("application/json"),
        },
        BodyFormat::Multipart => multipart(event, destination),
    }
}

/// The JSON document a destination receives, and its part name in multipart: the
/// predictions, or the event without them.
fn document(event: &Event, destination: &Destination) -> (&'static str, Bytes) {
    if destination.include_predictions {
        ("predictions.json", event.predictions.bytes())
    } else {
        ("metadata.json", Bytes::from(metadata_only(event).to_string()))
    }
}

/// The event without its predictions: `{"id", "route", "task", "metadata"}`.
pub fn metadata_only(event: &Event) -> serde_json::Value {
    let metadata: serde_json::Map<String, serde_json::Value> = event
        .metadata
        .iter()
        .map(|(key, value)| (key.clone(), serde_json::Value::String(value.clone())))
        .collect();
    serde_json::json!({
        "id": event.id,
        "route": event.route,
        "task": event.task.as_str(),
        "metadata": metadata,
    })
}

fn multipart(event: &Event, destination: &Destination) -> Body {
    let boundary = format!("weir-{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
    let parts = destination.sent(event);
    let mut out = Chunks::default();
    // The part headers are small and copied; the data (the image above all) is shared
    // with the event.
    let mut part = |name: &str, content_type: &str, data: Bytes| {
        let name = name.replace(['"', '\r', '\n'], "_");
        out.push(format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{name}\"\r\nContent-Type: {content_type}\r\n\r\n"
        ));
        out.push(data);
        out.push(Bytes::from_static(b"\r\n"));
    };
    let (name, document) = document(event, destination);
    part(name, "application/json", document);
    for attachment in parts {
        part(&attachment.name, &attachment.content_type, attachment.data.clone());
    }
    out.push(format!("--{boundary}--\r\n"));
    Body {
        bytes: out,
        content_type: HeaderValue::from_str(&format!("multipart/form-data; boundary={boundary}"))
            .expect("the boundary is ASCII letters and digits"),
    }
}

// Header names and fixed values built at compile time: `from_static` at run time checks
// every byte again on every attempt (about 130 instructions a name). Statics, not
// consts: a custom name holds `Bytes`, whose clone of a static is a copy of pointers.
static WEBHOOK_ID: HeaderName = HeaderName::from_static("webhook-id");
static WEBHOOK_SIGNATURE: HeaderName = HeaderName::from_static("webhook-signature");
static WEBHOOK_TIMESTAMP: HeaderName = HeaderName::from_static("webhook-timestamp");
static X_WEIR_ROUTE: HeaderName = HeaderName::from_static("x-weir-route");
static X_WEIR_TASK: HeaderName = HeaderName::from_static("x-weir-task");
static X_WEIR_ATTEMPT: HeaderName = HeaderName::from_static("x-weir-attempt");
static X_WEIR_EVENT_AGE: HeaderName = HeaderName::from_static(EVENT_AGE_HEADER);
static TRACEPARENT_NAME: HeaderName = HeaderName::from_static(TRACEPARENT);
static CE_SPECVERSION: HeaderName = HeaderName::from_static("ce-specversion");
static CE_ID: HeaderName = HeaderName::from_static("ce-id");
static CE_SOURCE: HeaderName = HeaderName::from_static("ce-source");
static CE_TYPE: HeaderName = HeaderName::from_static("ce-type");
static CE_TIME: HeaderName = HeaderName::from_static("ce-time");
static USER_AGENT: HeaderValue = HeaderValue::from_static(concat!("weir/", env!("CARGO_PKG_VERSION")));

/// Headers of one attempt: the destination's own, the event's, and the signature.
pub fn headers(event: &Event, destination: &Destination, body: &Body, sending: Sending) -> HeaderMap {
    let mut headers = HeaderMap::with_capacity(16 + event.metadata.len() + destination.headers.len());
    headers.insert(header::CONTENT_TYPE, body.content_type.clone());
    headers.insert(header::USER_AGENT, USER_AGENT.clone());
    let timestamp = sending.at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let mut put = |name: &'static HeaderName, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    };
    put(&WEBHOOK_ID, &event.id);
    put(&X_WEIR_ROUTE, &event.route);
    if let Some(key) = &destination.signing {
        put(
            &WEBHOOK_SIGNATURE,
            &key.sign_pieces(&event.id, timestamp, body.bytes.pieces()),
        );
    }
    if let Some(trace) = event.trace.as_deref().and_then(TraceParent::parse) {
        put(&TRACEPARENT_NAME, trace.child().encode(&mut [0; 55]));
    }
    if destination.cloudevents {
        put(&CE_SPECVERSION, "1.0");
        put(&CE_ID, &event.id);
        put(&CE_SOURCE, &format!("/weir/routes/{}", event.route));
        put(&CE_TYPE, &format!("weir.prediction.{}", event.task.as_str()));
        put(
            &CE_TIME,
            &humantime::format_rfc3339_millis(sending.accepted_at).to_string(),
        );
    }
    headers.insert(&WEBHOOK_TIMESTAMP, HeaderValue::from(timestamp));
    headers.insert(
        &X_WEIR_TASK,
        HeaderValue::from_str(event.task.as_str()).expect("task names are letters, digits and dashes"),
    );
    headers.insert(&X_WEIR_ATTEMPT, HeaderValue::from(sending.attempt));
    let age = sending.at.duration_since(sending.accepted_at).unwrap_or(Duration::ZERO);
    headers.insert(&X_WEIR_EVENT_AGE, HeaderValue::from(age.as_millis() as u64));
    for (key, value) in &event.metadata {
        // `HeaderName::from_bytes` writes the name in lower case itself.
        let mut name = Vec::with_capacity(METADATA_HEADER_PREFIX.len() + key.len());
        name.extend_from_slice(METADATA_HEADER_PREFIX.as_bytes());
        name.extend_from_slice(key.as_bytes());
        if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(&name), HeaderValue::from_str(value)) {
            headers.insert(name, value);
        }
    }
    for (name, value) in &destination.headers {
        headers.insert(name.clone(), value.clone());
    }
    headers
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DestinationConfig;
    use crate::event::Attachment;

    fn destination(toml: &str) -> Destination {
        let config: DestinationConfig = toml::from_str(toml).unwrap();
        Destination::new("d", &config, &[]).unwrap()
    }

    fn event() -> Event {
        let mut event = Event::new("e1", "cameras", r#"{"predictions":[]}"#);
        for (name, content_type) in [
            ("image.jpeg", "image/jpeg"),
            ("mask_0000.png", "image/png"),
            ("notes.txt", "text/plain"),
        ] {
            event.attachments.push(Attachment {
                name: name.into(),
                content_type: content_type.into(),
                data: Bytes::from_static(b"DATA"),
            });
        }
        event.metadata.push(("camera".into(), "dock-3".into()));
        event
    }

    fn sending() -> Sending {
        Sending {
            attempt: 1,
            at: UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            accepted_at: UNIX_EPOCH + Duration::from_millis(1_699_999_998_500),
        }
    }

    #[test]
    fn every_attempt_says_the_events_age_and_continues_its_trace() {
        let d = destination("url = \"http://h/\"");
        let mut traced = event();
        traced.trace = Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into());
        let headers = headers(&traced, &d, &body(&traced, &d), sending());
        assert_eq!(headers[EVENT_AGE_HEADER], "1500");
        let sent = TraceParent::parse(headers[TRACEPARENT].to_str().unwrap()).unwrap();
        assert_eq!(sent.trace_id_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_ne!(sent.to_string(), traced.trace.unwrap(), "a span of the attempt's own");
        assert!(!headers.contains_key("ce-id"));
    }

    #[test]
    fn a_cloudevents_destination_sends_the_attributes_in_headers_and_the_body_unchanged() {
        for config in [
            "url = \"http://h/\"\nformat = \"cloudevents\"",
            "url = \"http://h/\"\nformat = \"multipart\"\ncloudevents = true",
        ] {
            let d = destination(config);
            let body = body(&event(), &d);
            let headers = headers(&event(), &d, &body, sending());
            assert_eq!(headers["ce-specversion"], "1.0");
            assert_eq!(headers["ce-id"], "e1");
            assert_eq!(headers["ce-source"], "/weir/routes/cameras");
            assert_eq!(headers["ce-type"], "weir.prediction.other");
            assert_eq!(headers["ce-time"], "2023-11-14T22:13:18.500Z");
            assert_eq!(headers[header::CONTENT_TYPE], body.content_type);
        }
    }

    #[test]
    fn json_bodies_are_the_predictions() {
        let d = destination("url = \"http://h/\"");
        let body = body(&event(), &d);
        assert_eq!(body.bytes.to_vec(), br#"{"predictions":[]}"#);
        let headers = headers(&event(), &d, &body, sending());
        assert_eq!(headers["webhook-id"], "e1");
        assert_eq!(headers["x-weir-meta-camera"], "dock-3");
        assert_eq!(headers["x-weir-route"], "cameras");
        assert!(!headers.contains_key("webhook-signature"));
    }

    #[test]
    fn without_predictions_the_body_is_the_id_route_task_and_metadata() {
        let d = destination("url = \"http://h/\"\ninclude_predictions = false");
        let body = body(&event(), &d);
        assert_eq!(
            String::from_utf8(body.bytes.to_vec()).unwrap(),
            r#"{"id":"e1","route":"cameras","task":"other","metadata":{"camera":"dock-3"}}"#
        );
        let d = destination("url = \"http://h/\"\nformat = \"multipart\"\ninclude_predictions = false");
        let text = String::from_utf8_lossy(&super::body(&event(), &d).bytes.to_vec()).into_owned();
        assert!(text.contains("filename=\"metadata.json\""), "{text}");
        assert!(!text.contains("predictions.json"), "{text}");
    }

    #[test]
    fn multipart_bodies_carry_only_the_configured_parts() {
        let d = destination("url = \"http://h/\"\nformat = \"multipart\"\ninclude_image = true");
        let body = body(&event(), &d);
        let text = String::from_utf8_lossy(&body.bytes.to_vec()).into_owned();
        assert!(text.contains("filename=\"predictions.json\""));
        assert!(text.contains("filename=\"image.jpeg\""));
        assert!(!text.contains("mask_0000.png"));
        assert!(text.contains("filename=\"notes.txt\""));
        assert!(
            body.content_type
                .to_str()
                .unwrap()
                .starts_with("multipart/form-data; boundary=weir-")
        );
    }

    #[test]
    fn signed_destinations_sign_the_exact_body() {
        let d = destination("url = \"http://h/\"\nsecret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"");
        let body = body(&event(), &d);
        let headers = headers(&event(), &d, &body, sending());
        let expected = d.signing.as_ref().unwrap().sign("e1", 1700000000, &body.bytes.to_vec());
        assert_eq!(headers["webhook-signature"], expected.as_str());

        // A multipart body goes out in pieces; it is signed as the bytes the receiver reads.
        let d = destination(
            "url = \"http://h/\"\nformat = \"multipart\"\ninclude_image = true\nsecret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"",
        );
        let pieces = super::body(&event(), &d);
        assert!(pieces.bytes.pieces().count() > 1);
        let signed = super::headers(&event(), &d, &pieces, sending());
        let expected = d
            .signing
            .as_ref()
            .unwrap()
            .sign("e1", 1700000000, &pieces.bytes.to_vec());
        assert_eq!(signed["webhook-signature"], expected.as_str());
    }
}
