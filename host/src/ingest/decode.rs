//! Turning an ingest request into an event: a JSON body, or a multipart body in the
//! camera-inference shape (seed 000).
//!
//! Multipart parts are told apart by file name first, since senders name the form
//! fields differently (`file`, `files[]`, the file stem...): the part whose file name
//! (or field name) is `predictions.json` or `predictions` holds the predictions; every
//! other file part is an attachment under its file name; text fields without a file
//! name are metadata (seed 001's metadata fields).

use axum::body::Body;
use axum::http::HeaderMap;
use bytes::Bytes;
use futures_util::TryStreamExt;
use http_body_util::{BodyExt, LengthLimitError, Limited};

use super::error::IngestError;
use crate::event::{Attachment, Predictions, Root, Task, content_type_of};

/// Most parts a multipart event may have: an image, a predictions file and many masks.
pub const MAX_PARTS: usize = 1024;

/// Header prefix for metadata entries: `X-Weir-Meta-Camera: dock-3`.
pub const METADATA_HEADER_PREFIX: &str = "x-weir-meta-";

/// What a request body held.
#[derive(Debug)]
pub struct Decoded {
    /// The predictions document, validated and parsed.
    pub predictions: Predictions,
    /// The task it says or shows.
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
    let mime: String = text.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    if mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json")) {
        return Ok(BodyKind::Json);
    }
    if mime == "multipart/form-data" {
        return match multer::parse_boundary(text) {
            Ok(boundary) => Ok(BodyKind::Multipart(boundary)),
            Err(_) => Err(IngestError::Malformed(
                "multipart/form-data without a boundary parameter; let your HTTP client set the Content-Type".into(),
            )),
        };
    }
    Err(IngestError::UnsupportedType(format!("{text:?}")))
}

fn too_large(limit: u64) -> IngestError {
    IngestError::TooLarge { limit }
}

/// Decodes a body of this kind, reading at most `limit` bytes.
pub async fn decode(kind: BodyKind, body: Body, limit: u64) -> Result<Decoded, IngestError> {
    let limited = Limited::new(body, limit as usize);
    match kind {
        BodyKind::Json => {
            let bytes = limited.collect().await.map_err(|error| {
                if error.is::<LengthLimitError>() {
                    too_large(limit)
                } else {
                    IngestError::Malformed(format!("could not read the body: {error}"))
                }
            })?;
            let (predictions, task) = predictions(bytes.to_bytes(), "the body")?;
            Ok(Decoded {
                predictions,
                task,
                attachments: Vec::new(),
                metadata: Vec::new(),
            })
        }
        BodyKind::Multipart(boundary) => multipart(limited, boundary, limit).await,
    }
}

async fn multipart(body: Limited<Body>, boundary: String, limit: u64) -> Result<Decoded, IngestError> {
    let stream = body.into_data_stream().map_err(|error| {
        if error.is::<LengthLimitError>() {
            std::io::Error::other(LimitHit)
        } else {
            std::io::Error::other(error.to_string())
        }
    });
    let mut form = multer::Multipart::new(stream, boundary);
    let mut predictions = None;
    let mut attachments: Vec<Attachment> = Vec::new();
    let mut metadata = Vec::new();
    let mut parts = 0;
    loop {
        let field = match form.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(error) => return Err(multipart_error(error, limit)),
        };
        parts += 1;
        if parts > MAX_PARTS {
            return Err(IngestError::Malformed(format!(
                "more than {MAX_PARTS} parts; send fewer"
            )));
        }
        let field_name = field.name().unwrap_or_default().to_string();
        let file_name = field.file_name().map(str::to_string);
        let content_type = field.content_type().map(|mime| mime.essence_str().to_string());
        let data = field.bytes().await.map_err(|error| multipart_error(error, limit))?;
        let name = file_name.clone().unwrap_or_else(|| field_name.clone());
        let is_predictions =
            name == "predictions.json" || field_name == "predictions" || field_name == "predictions.json";
        if is_predictions {
            if predictions.is_some() {
                return Err(IngestError::Malformed("two predictions.json parts; send one".into()));
            }
            predictions = Some(self::predictions(data, "predictions.json")?);
        } else if file_name.is_none() && content_type.as_deref().is_none_or(|t| t.starts_with("text/")) {
            let value = String::from_utf8(data.to_vec())
                .map_err(|_| IngestError::Malformed(format!("the text field {field_name:?} is not UTF-8")))?;
            metadata.push((field_name, value));
        } else {
            if name.is_empty() {
                return Err(IngestError::Malformed(
                    "a file part has neither a file name nor a field name".into(),
                ));
            }
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

/// Marks a body stream cut short by the size limit.
#[derive(Debug, thiserror::Error)]
#[error("length limit exceeded")]
struct LimitHit;

fn multipart_error(error: multer::Error, limit: u64) -> IngestError {
    let hit_limit = {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&error);
        let mut found = false;
        while let Some(cause) = source {
            if cause.is::<LimitHit>() || cause.to_string() == "length limit exceeded" {
                found = true;
                break;
            }
            source = cause.source();
        }
        found
    };
    if hit_limit {
        return too_large(limit);
    }
    IngestError::Malformed(format!("malformed multipart body: {error}"))
}

/// Checks a predictions document (UTF-8, JSON, an object or an array) and recognises
/// its task, with the one parse every filter of the route will share.
fn predictions(bytes: Bytes, what: &str) -> Result<(Predictions, Task), IngestError> {
    let text =
        String::from_utf8(Vec::from(bytes)).map_err(|_| IngestError::Malformed(format!("{what} is not UTF-8 text")))?;
    let predictions = Predictions::parse(text)
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
    let task = document.task();
    Ok((predictions, task))
}

/// The task the sender named in `X-Weir-Task`, if any.
pub fn task_header(headers: &HeaderMap) -> Result<Option<Task>, IngestError> {
    let Some(value) = headers.get("x-weir-task") else {
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
