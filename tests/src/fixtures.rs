//! The prediction fixtures (`tests/fixtures/`): their files, and the events a camera
//! would send of them.

use std::path::PathBuf;

use bytes::Bytes;
use weir::event::{Attachment, Event};

use crate::multipart::{Part, multipart_body};
use crate::workspace;

/// The stem of every predictions fixture, one per task shape.
pub const FIXTURES: [&str; 6] = [
    "object-detection",
    "classification",
    "multilabel-classification",
    "instance-segmentation",
    "semantic-segmentation",
    "job-results",
];

/// A fixture file's path (`tests/fixtures/NAME`).
pub fn fixture_path(name: &str) -> PathBuf {
    workspace().join("tests").join("fixtures").join(name)
}

/// A fixture file as text.
pub fn fixture(name: &str) -> String {
    std::fs::read_to_string(fixture_path(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

/// A fixture file as bytes.
pub fn fixture_bytes(name: &str) -> Bytes {
    Bytes::from(std::fs::read(fixture_path(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}")))
}

/// The masks a fixture comes with, as (attachment name, fixture file).
pub fn fixture_masks(stem: &str) -> Vec<(String, String)> {
    (0..10)
        .map(|i| (format!("mask_{i:04}.png"), format!("{stem}.mask_{i:04}.png")))
        .filter(|(_, file)| fixture_path(file).exists())
        .collect()
}

/// The event of a fixture (`object-detection`, ...), as a camera would send it: the
/// predictions, the image, and the masks the fixture has.
pub fn fixture_event(stem: &str) -> Event {
    let mut event = Event::new(format!("{stem}-1"), "test", fixture(&format!("{stem}.json")));
    event.attachments.push(Attachment {
        name: "image.jpeg".into(),
        content_type: "image/jpeg".into(),
        data: fixture_bytes("image.jpeg"),
    });
    for (name, file) in fixture_masks(stem) {
        event.attachments.push(Attachment {
            name,
            content_type: "image/png".into(),
            data: fixture_bytes(&file),
        });
    }
    event
}

/// A camera event as seed 000 sends it: multipart with `predictions.json`,
/// `image.jpeg` and the fixture's masks, each in a `file` field; its content type and
/// body.
pub fn camera_multipart(stem: &str) -> (String, Vec<u8>) {
    let predictions = fixture(&format!("{stem}.json"));
    let image = fixture_bytes("image.jpeg");
    let masks: Vec<(String, Bytes)> = fixture_masks(stem)
        .into_iter()
        .map(|(name, file)| (name, fixture_bytes(&file)))
        .collect();
    let mut parts: Vec<Part<'_>> = vec![
        ("file", Some("image.jpeg"), "image/jpeg", &image),
        (
            "file",
            Some("predictions.json"),
            "application/json",
            predictions.as_bytes(),
        ),
    ];
    for (name, bytes) in &masks {
        parts.push(("file", Some(name.as_str()), "image/png", bytes));
    }
    multipart_body(&parts)
}
