//! What Weir writes into JetStream messages, and reads back.
//!
//! A delivery message is one line of JSON (the event's fields, the sizes of what
//! follows) and then the predictions' bytes and each attachment's, as they are: no
//! base64, no copy of an image into a JSON string. The destination is the message's
//! subject, so the event's one encoding is shared by all its deliveries. A dead letter
//! is the same message with a `dead` field; an event record and the delivery log's
//! marks are small JSON documents.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::{BufMut, Bytes, BytesMut};
use serde::{Deserialize, Serialize};

use crate::event::{Attachment, DestinationName, Event, Predictions, Task};
use crate::outbox::record::AttemptRecord;

/// The head line of a delivery message.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Head {
    pub id: String,
    pub route: String,
    pub task: String,
    pub metadata: Vec<(String, String)>,
    pub destinations: Vec<String>,
    pub accepted_at_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
    /// Bytes of predictions after the head line.
    pub predictions: usize,
    /// Each attachment's name, type and size, in order after the predictions.
    pub attachments: Vec<AttachmentHead>,
    /// The attachments are in the object store under this name, not in the message
    /// (they made it larger than the server's largest message).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// Set on a dead letter: why, after how many attempts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dead: Option<DeadHead>,
}

/// One attachment's place in a delivery message.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AttachmentHead {
    pub name: String,
    pub content_type: String,
    pub size: usize,
}

/// Why a delivery is dead.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeadHead {
    pub reason: String,
    pub attempts: u32,
    pub at_ms: u64,
}

/// Why a message could not be read.
#[derive(Debug, thiserror::Error)]
#[error("a message in JetStream is not one Weir wrote: {0}")]
pub struct Unreadable(String);

/// Milliseconds since the epoch.
pub fn ms(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as u64
}

/// The time `ms` milliseconds after the epoch.
pub fn time(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}

/// The head of an event's delivery messages; `inline` whether its attachments go in
/// the message (else in the object store under `object`).
pub fn head(event: &Event, accepted_at: SystemTime, object: Option<String>) -> Head {
    Head {
        id: event.id.clone(),
        route: event.route.clone(),
        task: event.task.as_str().to_string(),
        metadata: event.metadata.clone(),
        destinations: event.destinations.iter().map(|name| name.to_string()).collect(),
        accepted_at_ms: ms(accepted_at),
        trace: event.trace.clone(),
        predictions: event.predictions.len(),
        attachments: event
            .attachments
            .iter()
            .map(|attachment| AttachmentHead {
                name: attachment.name.clone(),
                content_type: attachment.content_type.clone(),
                size: attachment.data.len(),
            })
            .collect(),
        object,
        dead: None,
    }
}

/// A delivery message: the head line, the predictions, and the attachments unless
/// they are in the object store.
pub fn encode(head: &Head, event: &Event) -> Bytes {
    let line = serde_json::to_vec(head).expect("a head always serializes");
    let inline = head.object.is_none();
    let size = line.len() + 1 + event.predictions.len() + if inline { event.attachments_size() } else { 0 };
    let mut out = BytesMut::with_capacity(size);
    out.put_slice(&line);
    out.put_u8(b'\n');
    out.put_slice(event.predictions.as_str().as_bytes());
    if inline {
        for attachment in &event.attachments {
            out.put_slice(&attachment.data);
        }
    }
    out.freeze()
}

/// The same message with another head (a dead letter's, or a replay's without it).
pub fn with_head(message: &Bytes, head: &Head) -> Result<Bytes, Unreadable> {
    let at = message
        .iter()
        .position(|&b| b == b'\n')
        .ok_or_else(|| Unreadable("no head line".into()))?;
    let line = serde_json::to_vec(head).expect("a head always serializes");
    let mut out = BytesMut::with_capacity(line.len() + message.len() - at);
    out.put_slice(&line);
    out.put_slice(&message[at..]);
    Ok(out.freeze())
}

/// Reads a message's head line, and where its body starts.
pub fn read_head(message: &Bytes) -> Result<(Head, usize), Unreadable> {
    let at = message
        .iter()
        .position(|&b| b == b'\n')
        .ok_or_else(|| Unreadable("no head line".into()))?;
    let head: Head = serde_json::from_slice(&message[..at]).map_err(|error| Unreadable(error.to_string()))?;
    Ok((head, at + 1))
}

/// The event a delivery message holds; `attachments` are the object store's bytes
/// when the head says they are there. The attachments share the message's bytes.
pub fn decode(message: &Bytes, attachments: Option<Bytes>) -> Result<(Head, Event), Unreadable> {
    let (head, start) = read_head(message)?;
    let end = start
        .checked_add(head.predictions)
        .filter(|&end| end <= message.len())
        .ok_or_else(|| Unreadable("predictions cut short".into()))?;
    let predictions =
        std::str::from_utf8(&message[start..end]).map_err(|_| Unreadable("predictions are not UTF-8".into()))?;
    let (source, mut at) = match (&head.object, attachments) {
        (None, _) => (message.clone(), end),
        (Some(_), Some(stored)) => (stored, 0),
        (Some(name), None) => return Err(Unreadable(format!("attachments {name} were not read"))),
    };
    let mut files = Vec::with_capacity(head.attachments.len());
    for attachment in &head.attachments {
        let next = at
            .checked_add(attachment.size)
            .filter(|&next| next <= source.len())
            .ok_or_else(|| Unreadable(format!("attachment {} cut short", attachment.name)))?;
        files.push(Attachment {
            name: attachment.name.clone(),
            content_type: attachment.content_type.clone(),
            data: source.slice(at..next),
        });
        at = next;
    }
    let event = Event {
        id: head.id.clone(),
        route: head.route.clone(),
        task: Task::parse(&head.task).unwrap_or(Task::OTHER),
        metadata: head.metadata.clone(),
        predictions: Predictions::new(predictions),
        attachments: files,
        destinations: head
            .destinations
            .iter()
            .map(|name| DestinationName(Arc::from(name.as_str())))
            .collect(),
        trace: head.trace.clone(),
    };
    Ok((head, event))
}

/// The attachments' bytes, one after another, as the object store keeps them.
pub fn attachments(event: &Event) -> Bytes {
    let mut out = BytesMut::with_capacity(event.attachments_size());
    for attachment in &event.attachments {
        out.put_slice(&attachment.data);
    }
    out.freeze()
}

/// An event as `/admin/events/{id}` starts from it, written once at ingest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EventMark {
    pub id: String,
    pub route: String,
    pub accepted_at_ms: u64,
    pub destinations: Vec<String>,
}

/// What became of a delivery: one message of the delivery log per attempt, and one
/// per change without an attempt (dead at once, replayed, retired).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Mark {
    pub event_id: String,
    pub destination: String,
    /// The delivery's sequence in the deliveries stream, or its dead letter's in the
    /// dead letters' when `state` is dead.
    pub delivery: u64,
    /// `pending` (a retry is due at `next_at_ms`, or it was replayed), `delivered`, `dead`.
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempt: Option<AttemptRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_at_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub at_ms: u64,
}

impl Mark {
    /// A delivery going to the dead letters without an attempt (expired, retired,
    /// unsendable): the burial sets the dead letter's id and the reason.
    pub fn dead(event_id: String, destination: &str, delivery: u64) -> Mark {
        Mark {
            event_id,
            destination: destination.to_string(),
            delivery,
            state: "dead".into(),
            attempt: None,
            next_at_ms: None,
            reason: None,
            at_ms: ms(SystemTime::now()),
        }
    }
}

/// A subject token for an event id: ids may hold any printable character, subjects
/// only some; hex keeps them apart and is reversible.
pub fn id_token(id: &str) -> String {
    hex::encode(id.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> Event {
        Event {
            id: "cam-1:frame 7".into(),
            route: "people".into(),
            task: Task::parse("object-detection").unwrap(),
            metadata: vec![("camera".into(), "1".into())],
            predictions: Predictions::new(r#"{"predictions":[]}"#.to_string()),
            attachments: vec![
                Attachment {
                    name: "image.jpeg".into(),
                    content_type: "image/jpeg".into(),
                    data: Bytes::from_static(b"\xff\xd8jpeg\n\x00bytes"),
                },
                Attachment {
                    name: "mask_0000.png".into(),
                    content_type: "image/png".into(),
                    data: Bytes::from_static(b"png"),
                },
            ],
            destinations: vec![DestinationName(Arc::from("a")), DestinationName(Arc::from("b"))],
            trace: Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".into()),
        }
    }

    #[test]
    fn a_delivery_message_gives_back_the_event_it_was_made_of() {
        let event = event();
        let at = time(1_700_000_000_123);
        let message = encode(&head(&event, at, None), &event);
        let (head, read) = decode(&message, None).unwrap();
        assert_eq!(head.accepted_at_ms, 1_700_000_000_123);
        assert_eq!(read.id, event.id);
        assert_eq!(read.task, event.task);
        assert_eq!(read.metadata, event.metadata);
        assert_eq!(read.predictions.as_str(), event.predictions.as_str());
        assert_eq!(read.attachments, event.attachments);
        assert_eq!(read.destinations.len(), 2);
        assert_eq!(read.trace, event.trace);
    }

    #[test]
    fn attachments_kept_apart_come_back_from_their_own_bytes() {
        let event = event();
        let message = encode(&head(&event, SystemTime::now(), Some("obj".into())), &event);
        assert!(decode(&message, None).is_err(), "the attachments must be read first");
        let (_, read) = decode(&message, Some(attachments(&event))).unwrap();
        assert_eq!(read.attachments, event.attachments);
    }

    #[test]
    fn a_dead_letter_keeps_the_body_under_its_new_head() {
        let event = event();
        let message = encode(&head(&event, SystemTime::now(), None), &event);
        let (mut dead, _) = read_head(&message).unwrap();
        dead.dead = Some(DeadHead {
            reason: "gave up".into(),
            attempts: 3,
            at_ms: 1,
        });
        let letter = with_head(&message, &dead).unwrap();
        let (head, read) = decode(&letter, None).unwrap();
        assert_eq!(head.dead.unwrap().attempts, 3);
        assert_eq!(read.attachments, event.attachments);
    }

    #[test]
    fn cut_or_foreign_messages_are_refused_not_misread() {
        let event = event();
        let message = encode(&head(&event, SystemTime::now(), None), &event);
        for cut in [message.len() - 1, 10] {
            assert!(decode(&message.slice(..cut), None).is_err(), "cut at {cut}");
        }
        assert!(decode(&Bytes::from_static(b"hello"), None).is_err());
    }
}
