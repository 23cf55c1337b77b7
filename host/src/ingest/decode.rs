//! Turning an ingest request into an event: a JSON body, or a multipart body in the
//! camera-inference shape (seed 000).
//!
//! Multipart parts are told apart by file name first, since senders name the form
//! fields differently (`file`, `files[]`, the file stem...): the part whose file name
//! (or field name) is `predictions.json` or `predictions` holds the predictions; every
//! other file part is an attachment under its file name (its field name when the file
//! name is empty); text fields without a file name are metadata (seed 001's metadata
//! fields). A file part with an empty file name and no content is what a browser sends
//! for a file input where no file was chosen: it carries nothing, and is skipped.
//!
//! The body is read whole (at most `server.max_body` bytes) before it is decoded; the
//! parts are slices of it. [`multipart`] reads the form as clients really send it.

mod multipart;
mod parameters;
#[cfg(test)]
mod properties;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderName};
use bytes::Bytes;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use weir_contract::predictions::glance;

use self::multipart::{BoundaryError, Part};
use super::error::IngestError;
use super::limits::{SenderLimits, too_deep};
use crate::event::{Attachment, Predictions, Root, Task, content_type_of};

/// Most parts a multipart event may have: an image, a predictions file and many masks.
pub const MAX_PARTS: usize = 1024;

pub use crate::event::METADATA_HEADER_PREFIX;

/// What a request body held.
#[derive(Debug)]
pub struct Decoded {
    /// The predictions document, validated and parsed.
    pub predictions: Predictions,
    /// The event's task: the one the sender named in `X-Weir-Task`, else the one the
    /// document says or shows.
    pub task: Task,
    /// The attachments, names unique.
    pub attachments: Vec<Attachment>,
    /// Metadata from text fields.
    pub metadata: Vec<(String, String)>,
}

/// Which kind of body a request has.
pub enum BodyKind {
    /// `application/json` (or `+json`).
    Json,
    /// `multipart/form-data` with this boundary.
    Multipart(String),
}

/// Reads the `Content-Type`.
pub fn body_kind(headers: &HeaderMap) -> Result<BodyKind, IngestError> {
    let Some(value) = headers.get(axum::http::header::CONTENT_TYPE) else {
        return Err(IngestError::UnsupportedType("nothing (no Content-Type header)".into()));
    };
    let text = value
        .to_str()
        .map_err(|_| IngestError::UnsupportedType("an unreadable value".into()))?;
    // Compared without case, in place (no lower-cased copy per event).
    let mime = text.split(';').next().unwrap_or_default().trim().as_bytes();
    let starts = |prefix: &str| {
        mime.get(..prefix.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(prefix.as_bytes()))
    };
    let ends = |suffix: &str| {
        mime.len() >= suffix.len() && mime[mime.len() - suffix.len()..].eq_ignore_ascii_case(suffix.as_bytes())
    };
    if mime.eq_ignore_ascii_case(b"application/json") || (starts("application/") && ends("+json")) {
        return Ok(BodyKind::Json);
    }
    if mime.eq_ignore_ascii_case(b"multipart/form-data") {
        return match multipart::boundary(text) {
            Ok(boundary) => Ok(BodyKind::Multipart(boundary)),
            Err(BoundaryError::Missing) => Err(IngestError::Malformed(
                "multipart/form-data without a boundary parameter; let your HTTP client set the Content-Type".into(),
            )),
            Err(BoundaryError::Invalid(why)) => Err(IngestError::Malformed(format!(
                "multipart/form-data with an unusable boundary parameter ({why}); let your HTTP client set the Content-Type"
            ))),
        };
    }
    Err(IngestError::UnsupportedType(format!("{text:?}")))
}

/// How much of the predictions ingest reads now, and the task the sender named.
#[derive(Debug, Clone)]
pub struct Reading {
    /// The deepest nesting accepted (`server.max_json_depth`).
    pub max_depth: usize,
    /// Whether the route's filters read the predictions.
    pub look: Look,
    /// The task named in `X-Weir-Task`: the event's task, whatever the document says.
    pub named: Option<Task>,
}

/// How far ingest reads the predictions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Look {
    /// Parsed whole: the route's filters read them, and share this one parse.
    Parse,
    /// Checked (JSON, an object or an array) and their task read, the parse left to
    /// whatever reads them first: nothing on a route without filters does. A document
    /// a glance cannot judge ([`weir_contract::predictions::glance`]), or whose task
    /// only its predictions show, is parsed now all the same.
    Glance,
}

impl Reading {
    /// The whole document read now, its task as it says or shows.
    pub fn whole(max_depth: usize) -> Reading {
        Reading {
            max_depth,
            look: Look::Parse,
            named: None,
        }
    }
}

/// Decodes a body of this kind within the sender's limits: at most `max_body` bytes,
/// arriving within `body_timeout`, nesting JSON at most `max_json_depth` deep; the
/// predictions read as far as `reading` says.
pub async fn decode(
    kind: BodyKind,
    body: Body,
    limits: &SenderLimits,
    reading: &Reading,
) -> Result<Decoded, IngestError> {
    let limit = limits.max_body;
    let read = Limited::new(body, limit as usize).collect();
    let bytes = tokio::time::timeout(limits.body_timeout, read)
        .await
        .map_err(|_| IngestError::BodyTimeout {
            limit: limits.body_timeout,
        })?
        .map_err(|error| {
            if error.is::<LengthLimitError>() {
                IngestError::TooLarge { limit }
            } else {
                IngestError::Malformed(format!("could not read the body: {error}"))
            }
        })?
        .to_bytes();
    decode_bytes(kind, bytes, reading)
}

/// Decodes a body read whole.
fn decode_bytes(kind: BodyKind, bytes: Bytes, reading: &Reading) -> Result<Decoded, IngestError> {
    match kind {
        BodyKind::Json => {
            let (predictions, task) = predictions(bytes, "the body", reading)?;
            Ok(Decoded {
                predictions,
                task,
                attachments: Vec::new(),
                metadata: Vec::new(),
            })
        }
        BodyKind::Multipart(boundary) => {
            let parts = multipart::parse(&bytes, &boundary, MAX_PARTS).map_err(|error| match error {
                multipart::MultipartError::TooManyParts { .. } => IngestError::Malformed(error.to_string()),
                _ => IngestError::Malformed(format!("malformed multipart body: {error}")),
            })?;
            form(parts, reading)
        }
    }
}

/// What the parts of a form become: the predictions, attachments and metadata.
fn form(parts: Vec<Part>, reading: &Reading) -> Result<Decoded, IngestError> {
    let mut predictions = None;
    let mut attachments: Vec<Attachment> = Vec::new();
    let mut metadata = Vec::new();
    for part in parts {
        let Part {
            position,
            name: field_name,
            file_name,
            content_type,
            data,
        } = part;
        if file_name.as_deref() == Some("") && data.is_empty() {
            // A file input where no file was chosen: browsers send it anyway.
            continue;
        }
        let is_file = file_name.is_some();
        let name = file_name
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| field_name.clone());
        let is_predictions =
            name == "predictions.json" || field_name == "predictions" || field_name == "predictions.json";
        if is_predictions {
            if predictions.is_some() {
                return Err(IngestError::Malformed("two predictions.json parts; send one".into()));
            }
            predictions = Some(self::predictions(data, "predictions.json", reading)?);
        } else if !is_file && content_type.as_deref().is_none_or(|t| t.starts_with("text/")) {
            let value = String::from_utf8(data.to_vec())
                .map_err(|_| IngestError::Malformed(format!("the text field {field_name:?} is not UTF-8")))?;
            metadata.push((field_name, value));
        } else {
            if name.is_empty() {
                return Err(IngestError::Malformed(format!(
                    "part {position} is a file with neither a file name nor a field name; give it a filename"
                )));
            }
            let name = attachment_name(&name);
            if attachments.iter().any(|a| a.name == name) {
                return Err(IngestError::Malformed(format!(
                    "two parts are named {name:?}; part names must be unique"
                )));
            }
            let content_type = content_type
                .filter(|t| t != "application/octet-stream")
                .unwrap_or_else(|| content_type_of(&name).to_string());
            attachments.push(Attachment {
                name,
                content_type,
                data,
            });
        }
    }
    let Some((predictions, task)) = predictions else {
        let names: Vec<&str> = attachments.iter().map(|a| a.name.as_str()).collect();
        return Err(IngestError::Unprocessable(format!(
            "the multipart body has no predictions.json part (parts: {}); add one, named predictions.json",
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        )));
    };
    Ok(Decoded {
        predictions,
        task,
        attachments,
        metadata,
    })
}

/// An attachment name as Weir can write it again between the quotes of a delivery's
/// `filename="..."`: `"` and control characters percent-encoded (`%22`, `%0A`...), as
/// browsers encode them. Names without them (all that clients usually send) are kept
/// as they came.
fn attachment_name(name: &str) -> String {
    if !name.chars().any(|c| c == '"' || c.is_ascii_control()) {
        return name.to_string();
    }
    let mut encoded = String::with_capacity(name.len() + 8);
    for c in name.chars() {
        if c == '"' || c.is_ascii_control() {
            encoded.push_str(&format!("%{:02X}", c as u32));
        } else {
            encoded.push(c);
        }
    }
    encoded
}

/// Checks a predictions document (UTF-8, JSON, an object or an array) and recognises
/// its task, with the one parse every filter of the route will share (parsed now or
/// when first read: [`Look`]).
fn predictions(bytes: Bytes, what: &str, reading: &Reading) -> Result<(Predictions, Task), IngestError> {
    let max_depth = reading.max_depth;
    // Checked in place, then copied once into the text every version of the event
    // shares (a multipart part is a slice of the body: taking it as a `Vec` copied).
    let text = std::str::from_utf8(&bytes).map_err(|_| IngestError::Malformed(format!("{what} is not UTF-8 text")))?;
    if too_deep(text, max_depth) {
        return Err(IngestError::Unprocessable(format!(
            "{what} nests arrays and objects more than {max_depth} deep (server.max_json_depth); flatten it"
        )));
    }
    if reading.look == Look::Glance
        && worth_a_glance(text, reading.named.is_some())
        && let Some(glance) = glance(text)
        && let Some(task) = reading.named.clone().or(glance.task)
    {
        return Ok((Predictions::new(Arc::<str>::from(text)), task));
    }
    let predictions = Predictions::parse(Arc::<str>::from(text))
        .map_err(|error| IngestError::Malformed(format!("{what} is not valid JSON: {}", error.0)))?;
    let document = predictions.document().expect("parsed above");
    if document.root() == Root::Scalar {
        let text = predictions.as_str();
        let first = text.trim_start().as_bytes().first().copied().unwrap_or(b'n');
        let kind = match first {
            b'"' => "string",
            b't' | b'f' => "boolean",
            b'n' => "null",
            _ => "number",
        };
        return Err(IngestError::Unprocessable(format!(
            "{what} must be a JSON object or array of predictions, not a bare {kind}"
        )));
    }
    let task = reading.named.clone().unwrap_or_else(|| document.task());
    Ok((predictions, task))
}

/// Whether a glance at `text` can spare its parse, by a search of its bytes: a glance
/// that says no costs nearly what the parse costs, and the parse then runs too. It says
/// no to a document with escapes (it leaves those to the parse), and needs a task: the
/// sender's, or a `"task"` key, which a document without escapes writes as it is.
fn worth_a_glance(text: &str, named: bool) -> bool {
    memchr::memchr(b'\\', text.as_bytes()).is_none()
        && (named || memchr::memmem::find(text.as_bytes(), b"\"task\"").is_some())
}

/// The task the sender named in `X-Weir-Task`, if any.
pub fn task_header(headers: &HeaderMap) -> Result<Option<Task>, IngestError> {
    static X_WEIR_TASK: HeaderName = HeaderName::from_static("x-weir-task");
    let Some(value) = headers.get(&X_WEIR_TASK) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or_default();
    Task::parse(text)
        .map(Some)
        .map_err(|invalid| IngestError::Malformed(format!("X-Weir-Task: {invalid}")))
}

/// Metadata from `X-Weir-Meta-*` headers.
pub fn metadata_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter_map(|(name, value)| {
            let key = name.as_str().strip_prefix(METADATA_HEADER_PREFIX)?;
            Some((key.to_string(), value.to_str().ok()?.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CT: &str = "multipart/form-data; boundary=XyZ";

    fn kind(content_type: &str) -> Result<BodyKind, IngestError> {
        let mut headers = HeaderMap::new();
        headers.insert(
            axum::http::header::CONTENT_TYPE,
            content_type.parse().expect("a header value"),
        );
        body_kind(&headers)
    }

    fn form_of(content_type: &str, body: &str) -> Result<Decoded, IngestError> {
        decode_bytes(kind(content_type)?, Bytes::from(body.to_string()), &Reading::whole(64))
    }

    /// A form with a predictions part first, then `parts` (each its headers, a blank
    /// line and its content), in CRLF.
    fn body(parts: &[&str]) -> String {
        let mut body = String::from(
            "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"predictions.json\"\r\n\
             Content-Type: application/json\r\n\r\n{\"predictions\":[]}\r\n",
        );
        for part in parts {
            body.push_str("--XyZ\r\n");
            body.push_str(part);
            body.push_str("\r\n");
        }
        body.push_str("--XyZ--\r\n");
        body
    }

    fn names(decoded: &Decoded) -> Vec<&str> {
        decoded.attachments.iter().map(|a| a.name.as_str()).collect()
    }

    #[test]
    fn media_types_are_told_apart_whatever_their_case() {
        for json in [
            "application/json",
            "Application/JSON; charset=utf-8",
            " application/vnd.weir+json ",
            "APPLICATION/PROBLEM+JSON",
        ] {
            assert!(matches!(kind(json), Ok(BodyKind::Json)), "{json}");
        }
        assert!(matches!(kind("Multipart/Form-Data; boundary=XyZ"), Ok(BodyKind::Multipart(b)) if b == "XyZ"));
        for other in [
            "text/json",
            "application/jsonx",
            "+json",
            "application/",
            "json",
            "text/plain",
            "",
        ] {
            assert!(matches!(kind(other), Err(IngestError::UnsupportedType(_))), "{other}");
        }
    }

    #[test]
    fn a_boundary_with_special_characters_or_spaces_around_it_is_read() {
        for (content_type, boundary) in [
            ("multipart/form-data; boundary=b'()+_,-./:=?", "b'()+_,-./:=?"),
            ("multipart/form-data;  boundary= TestBoundary ", "TestBoundary"),
            ("multipart/form-data; boundary=\"with spaces\"", "with spaces"),
        ] {
            let Ok(BodyKind::Multipart(read)) = kind(content_type) else {
                panic!("{content_type}: not multipart");
            };
            assert_eq!(read, boundary);
            let decoded = form_of(content_type, &body(&[]).replace("XyZ", boundary)).unwrap();
            assert!(decoded.attachments.is_empty());
        }
        let Err(error) = kind("multipart/form-data; boundary=\"\"") else {
            panic!("an empty boundary was accepted");
        };
        assert_eq!(
            error.to_string(),
            "multipart/form-data with an unusable boundary parameter (it is empty); let your HTTP client set the Content-Type"
        );
    }

    #[test]
    fn a_file_input_left_empty_is_skipped() {
        // What Chrome and Firefox send for <input type=file> with no file chosen.
        let decoded = form_of(
            CT,
            &body(&["Content-Disposition: form-data; name=\"file\"; filename=\"\"\r\nContent-Type: application/octet-stream\r\n\r\n"]),
        )
        .unwrap();
        assert!(decoded.attachments.is_empty());
        assert!(decoded.metadata.is_empty());
    }

    #[test]
    fn a_file_with_an_empty_file_name_is_kept_under_its_field_name() {
        let decoded = form_of(
            CT,
            &body(&["Content-Disposition: form-data; name=\"calibration\"; filename=\"\"\r\nContent-Type: text/plain\r\n\r\nk=1"]),
        )
        .unwrap();
        assert_eq!(names(&decoded), ["calibration"]);
        assert_eq!(decoded.attachments[0].content_type, "text/plain");
        assert_eq!(&decoded.attachments[0].data[..], b"k=1");
        assert!(decoded.metadata.is_empty());
    }

    #[test]
    fn filename_star_names_the_attachment() {
        let decoded = form_of(
            CT,
            &body(&[
                "Content-Disposition: form-data; name=\"file\"; filename*=UTF-8''%E6%96%87%E6%A1%A3.png\r\n\r\npng",
                "Content-Disposition: form-data; name=\"file\"; filename=\"fallback.jpeg\"; filename*=utf-8''caf%C3%A9.jpeg\r\n\r\njpg",
            ]),
        )
        .unwrap();
        assert_eq!(names(&decoded), ["文档.png", "café.jpeg"]);
        assert_eq!(decoded.attachments[0].content_type, "image/png");
    }

    #[test]
    fn lf_only_and_mixed_line_endings_decode_like_crlf() {
        let crlf = body(&[
            "Content-Disposition: form-data; name=\"file\"; filename=\"image.jpeg\"\r\nContent-Type: image/jpeg\r\n\r\n\u{1}jp\reg",
            "Content-Disposition: form-data; name=\"site\"\r\n\r\nnorth",
        ]);
        let expected = form_of(CT, &crlf).unwrap();
        for variant in [crlf.replace("\r\n", "\n"), crlf.replacen("\r\n\r\n", "\r\n\n", 2)] {
            let decoded = form_of(CT, &variant).unwrap_or_else(|e| panic!("{variant:?}: {e}"));
            assert_eq!(
                decoded.predictions.as_str(),
                expected.predictions.as_str(),
                "{variant:?}"
            );
            assert_eq!(decoded.metadata, expected.metadata, "{variant:?}");
            assert_eq!(names(&decoded), names(&expected), "{variant:?}");
            assert_eq!(decoded.attachments[0].data, expected.attachments[0].data, "{variant:?}");
        }
        assert_eq!(&expected.attachments[0].data[..], b"\x01jp\reg");
        assert_eq!(expected.metadata, [("site".to_string(), "north".to_string())]);
    }

    #[test]
    fn a_control_character_in_a_field_name_is_kept_in_the_metadata_key() {
        let decoded = form_of(
            CT,
            &body(&["Content-Disposition: form-data; name=\"site\u{1}x\"\r\n\r\nnorth"]),
        )
        .unwrap();
        assert_eq!(decoded.metadata, [("site\u{1}x".to_string(), "north".to_string())]);
    }

    #[test]
    fn quotes_and_control_characters_in_file_names_are_percent_encoded() {
        let decoded = form_of(
            CT,
            &body(&[
                "Content-Disposition: form-data; name=\"f\"; filename=\"a\\\"b.png\"\r\n\r\n1",
                "Content-Disposition: form-data; name=\"f\"; filename*=UTF-8''x%0D%0AContent-Type%3A%20y.png\r\n\r\n2",
            ]),
        )
        .unwrap();
        assert_eq!(names(&decoded), ["a%22b.png", "x%0D%0AContent-Type: y.png"]);
    }

    #[test]
    fn a_part_without_a_valid_content_disposition_is_refused_by_position_and_name() {
        for (part, message) in [
            (
                "Content-Type: text/plain\r\n\r\nnorth",
                "malformed multipart body: part 2 has no Content-Disposition header; \
                 give every part `Content-Disposition: form-data; name=\"...\"`",
            ),
            (
                "Content-Disposition: form-data; !!!\r\n\r\nnorth",
                "malformed multipart body: part 2 has an invalid Content-Disposition \
                 (\"!!!\" is not a name=value parameter); send `form-data; name=\"...\"`, with `filename=\"...\"` for a file",
            ),
            (
                "Content-Disposition: inline; name=\"site\"\r\n\r\nnorth",
                "malformed multipart body: part 2 (\"site\") has an invalid Content-Disposition \
                 (its type is \"inline\", not form-data); send `form-data; name=\"...\"`, with `filename=\"...\"` for a file",
            ),
        ] {
            let error = form_of(CT, &body(&[part])).unwrap_err();
            assert_eq!(error, IngestError::Malformed(message.into()), "{part}");
        }
    }

    #[test]
    fn a_glance_decodes_what_a_parse_decodes_and_refuses_what_it_refuses() {
        let glance = |named: Option<Task>| Reading {
            max_depth: 64,
            look: Look::Glance,
            named,
        };
        let bodies = [
            // Named, shown only by the predictions, neither.
            r#"{"task":"object-detection","predictions":[{"class":"person","confidence":0.9,"bbox":[1,2,3,4]}]}"#,
            r#"{"predictions":[{"class":"person","confidence":0.9,"bbox":[1,2,3,4]}]}"#,
            r#"[{"class":"cat","confidence":0.9}]"#,
            r#"{"camera":"dock-3"}"#,
            // Escapes the parse decodes: half a surrogate pair in a class is refused.
            r#"{"task":"classification","predictions":[{"class":"\ud800"}]}"#,
            r#"{"task":"classification","predictions":[{"class":"caf\u00e9"}]}"#,
            // Not JSON, or not a document.
            r#"{"task":"classification","predictions":[}"#,
            "12",
            r#""text""#,
        ];
        for named in [None, Some(Task::SEMANTIC_SEGMENTATION)] {
            for text in bodies {
                let whole = Reading {
                    named: named.clone(),
                    ..Reading::whole(64)
                };
                let parsed = decode_bytes(BodyKind::Json, Bytes::from(text), &whole);
                let glanced = decode_bytes(BodyKind::Json, Bytes::from(text), &glance(named.clone()));
                match (parsed, glanced) {
                    (Ok(parsed), Ok(glanced)) => {
                        assert_eq!(parsed.task, glanced.task, "{text}");
                        assert_eq!(parsed.predictions.as_str(), glanced.predictions.as_str());
                        // Read later, the document is the one the parse read.
                        assert_eq!(
                            parsed.predictions.document().unwrap().items(),
                            glanced.predictions.document().unwrap().items()
                        );
                    }
                    (Err(parsed), Err(glanced)) => assert_eq!(parsed, glanced, "{text}"),
                    (parsed, glanced) => panic!("{text}: parsed {parsed:?}, glanced {glanced:?}"),
                }
            }
        }
        // Glanced at only where that can spare the parse.
        assert!(worth_a_glance(bodies[0], false));
        assert!(!worth_a_glance(bodies[1], false), "no task: the parse must run");
        assert!(worth_a_glance(bodies[1], true));
        assert!(!worth_a_glance(bodies[5], true), "escapes: the glance would leave it");
        // The sender's task wins over the document's, read either way.
        let named = decode_bytes(
            BodyKind::Json,
            Bytes::from(bodies[0]),
            &glance(Some(Task::SEMANTIC_SEGMENTATION)),
        )
        .unwrap();
        assert_eq!(named.task, Task::SEMANTIC_SEGMENTATION);
    }

    #[test]
    fn well_formed_bodies_decode_as_before() {
        let decoded = form_of(
            CT,
            &body(&[
                "Content-Disposition: form-data; name=\"file\"; filename=\"image.jpeg\"\r\nContent-Type: image/jpeg\r\n\r\nJ",
                "Content-Disposition: form-data; name=\"file\"; filename=\"mask_0000.png\"\r\nContent-Type: application/octet-stream\r\n\r\nP",
                "Content-Disposition: form-data; name=\"calibration\"; filename=\"calibration.json\"\r\nContent-Type: application/json\r\n\r\n{}",
                "Content-Disposition: form-data; name=\"blob\"\r\nContent-Type: application/octet-stream\r\n\r\nB",
                "Content-Disposition: form-data; name=\"site\"\r\n\r\nnorth",
                "Content-Disposition: form-data; name=\"operator\"\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nana",
            ]),
        )
        .unwrap();
        let attachments: Vec<(&str, &str, &[u8])> = decoded
            .attachments
            .iter()
            .map(|a| (a.name.as_str(), a.content_type.as_str(), &a.data[..]))
            .collect();
        assert_eq!(
            attachments,
            [
                ("image.jpeg", "image/jpeg", &b"J"[..]),
                ("mask_0000.png", "image/png", b"P"),
                ("calibration.json", "application/json", b"{}"),
                ("blob", "application/octet-stream", b"B"),
            ]
        );
        assert_eq!(
            decoded.metadata,
            [("site".into(), "north".into()), ("operator".into(), "ana".into())]
        );
        assert_eq!(decoded.predictions.as_str(), "{\"predictions\":[]}");
        for (parts, message) in [
            (
                vec!["Content-Disposition: form-data; name=\"predictions\"\r\n\r\n{}"],
                "two predictions.json parts; send one",
            ),
            (
                vec![
                    "Content-Disposition: form-data; name=\"a\"; filename=\"x.png\"\r\n\r\n1",
                    "Content-Disposition: form-data; name=\"b\"; filename=\"x.png\"\r\n\r\n2",
                ],
                "two parts are named \"x.png\"; part names must be unique",
            ),
            (
                vec!["Content-Disposition: form-data; name=\"\"; filename=\"\"\r\n\r\n1"],
                "part 2 is a file with neither a file name nor a field name; give it a filename",
            ),
            (
                vec!["Content-Disposition: form-data; name=\"t\"\r\n\r\n\u{ff}"],
                "the text field \"t\" is not UTF-8",
            ),
        ] {
            let body = body(&parts).replace('\u{ff}', "\u{0}").into_bytes();
            let body = body
                .iter()
                .map(|b| if *b == 0 { 0xff } else { *b })
                .collect::<Vec<u8>>();
            let error = decode_bytes(kind(CT).unwrap(), Bytes::from(body), &Reading::whole(64)).unwrap_err();
            assert_eq!(error, IngestError::Malformed(message.into()));
        }
    }
}
