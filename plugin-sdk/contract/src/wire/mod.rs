//! The contract as JSON, for filters built as plain WebAssembly modules
//! (`wit/core-module.md`): the event the host writes into the module, and the verdict
//! it reads back, in each served version.
//!
//! Weir's core-module runtime uses these functions on one side of the ABI, and
//! `wit/core-module.md` is checked against them by their tests, so the document and
//! the code cannot drift apart.

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::edit::{Edit, EditError};
use crate::event::Event;
use crate::v01;
use crate::verdict::FilterError;
use crate::version::Version;

pub use crate::verdict::Answer;

/// Why a module's answer was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// Not the JSON the ABI describes: the module broke the ABI.
    #[error("{0}")]
    Abi(String),
    /// Well-formed, but changes that cannot apply together (0.1's record).
    #[error(transparent)]
    Invalid(#[from] EditError),
}

/// Writes the event as the module of contract `version` reads it:
/// `{"id","route","task","metadata":{..},"predictions":<document>,"attachments":[..],"destinations":[..]}`,
/// and from 0.2 `"prediction_list":[..]` after the predictions.
///
/// Written piece by piece: the predictions are already valid JSON and go in as they
/// are, without a parse.
pub fn write_event(event: &Event, version: Version, out: &mut Vec<u8>) {
    fn string(out: &mut Vec<u8>, text: &str) {
        serde_json::to_writer(&mut *out, text).expect("writing to a Vec cannot fail");
    }
    fn number<N: serde::Serialize>(out: &mut Vec<u8>, number: N) {
        serde_json::to_writer(&mut *out, &number).expect("writing to a Vec cannot fail");
    }
    out.extend_from_slice(b"{\"id\":");
    string(out, &event.id);
    out.extend_from_slice(b",\"route\":");
    string(out, &event.route);
    out.extend_from_slice(b",\"task\":");
    if version >= Version::V0_2_0 {
        string(out, event.task.as_str());
    } else {
        string(out, v01::task_kind(&event.task).as_str());
    }
    out.extend_from_slice(b",\"metadata\":{");
    for (i, (key, value)) in event.metadata.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        string(out, key);
        out.push(b':');
        string(out, value);
    }
    out.extend_from_slice(b"},\"predictions\":");
    out.extend_from_slice(event.predictions.as_bytes());
    if version >= Version::V0_2_0 {
        out.extend_from_slice(b",\"prediction_list\":[");
        let listed = event.predictions.document().map(|doc| doc.listed()).unwrap_or_default();
        for (i, prediction) in listed.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"index\":");
            number(out, prediction.index);
            out.extend_from_slice(b",\"class\":");
            string(out, prediction.class);
            if let Some(confidence) = prediction.confidence {
                out.extend_from_slice(b",\"confidence\":");
                number(out, confidence);
            }
            if let Some(mask) = prediction.mask {
                out.extend_from_slice(b",\"mask\":");
                string(out, mask);
            }
            if let Some(bbox) = prediction.bbox {
                out.extend_from_slice(b",\"bbox\":{\"x\":");
                number(out, bbox.x);
                out.extend_from_slice(b",\"y\":");
                number(out, bbox.y);
                out.extend_from_slice(b",\"width\":");
                number(out, bbox.width);
                out.extend_from_slice(b",\"height\":");
                number(out, bbox.height);
                out.push(b'}');
            }
            out.extend_from_slice(b",\"json\":");
            out.extend_from_slice(prediction.json.as_bytes());
            out.push(b'}');
        }
        out.push(b']');
    }
    out.extend_from_slice(b",\"attachments\":[");
    for (i, attachment) in event.attachments.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"name\":");
        string(out, &attachment.name);
        out.extend_from_slice(b",\"content_type\":");
        string(out, &attachment.content_type);
        out.extend_from_slice(b",\"size\":");
        number(out, attachment.data.len());
        out.push(b'}');
    }
    out.extend_from_slice(b"],\"destinations\":[");
    for (i, destination) in event.destinations.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        string(out, destination);
    }
    out.extend_from_slice(b"]}");
}

/// Reads a module's verdict in contract `version`.
pub fn read_verdict(bytes: &[u8], version: Version) -> Result<Answer, WireError> {
    let shown = || String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).into_owned();
    if version >= Version::V0_2_0 {
        let wire: Verdict02<'_> = serde_json::from_slice(bytes).map_err(|error| {
            WireError::Abi(format!("returned a verdict that is not valid ({error}): {:?}", shown()))
        })?;
        read_02(wire)
    } else {
        let wire: Verdict01<'_> = serde_json::from_slice(bytes).map_err(|error| {
            WireError::Abi(format!("returned a verdict that is not valid ({error}): {:?}", shown()))
        })?;
        read_01(wire)
    }
}

fn abi(message: String) -> WireError {
    WireError::Abi(message)
}

/// A 0.2 verdict: `{"verdict": "keep", "edits": [..]}`, `drop` with a `reason`,
/// `error` with a `message` and `retryable`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Verdict02<'a> {
    verdict: String,
    reason: Option<String>,
    message: Option<String>,
    retryable: Option<bool>,
    #[serde(default, borrow)]
    edits: Vec<WireEdit<'a>>,
}

/// One edit, named by its only key, as the event's methods are in the WIT.
#[derive(Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum WireEdit<'a> {
    KeepPredictions(Vec<u32>),
    SetPredictions(#[serde(borrow)] &'a RawValue),
    RemoveAttachment(String),
    SetMetadata { key: String, value: String },
    RemoveMetadata(String),
    NarrowDestinations(Vec<String>),
}

fn read_02(wire: Verdict02<'_>) -> Result<Answer, WireError> {
    if !wire.edits.is_empty() && wire.verdict != "keep" {
        return Err(abi(format!(
            "returned edits with the verdict {:?}; edits go with \"verdict\": \"keep\"",
            wire.verdict
        )));
    }
    let misplaced = |field: &str, verdict: &str| abi(format!("\"{field}\" goes with \"verdict\": \"{verdict}\" only"));
    if wire.reason.is_some() && wire.verdict != "drop" {
        return Err(misplaced("reason", "drop"));
    }
    if (wire.message.is_some() || wire.retryable.is_some()) && wire.verdict != "error" {
        return Err(misplaced("message", "error"));
    }
    match wire.verdict.as_str() {
        "keep" => Ok(Answer::Keep(
            wire.edits
                .into_iter()
                .map(|edit| match edit {
                    WireEdit::KeepPredictions(indices) => Edit::KeepPredictions(indices),
                    WireEdit::SetPredictions(json) => Edit::SetPredictions(json.get().to_string()),
                    WireEdit::RemoveAttachment(name) => Edit::RemoveAttachment(name),
                    WireEdit::SetMetadata { key, value } => Edit::SetMetadata(key, value),
                    WireEdit::RemoveMetadata(key) => Edit::RemoveMetadata(key),
                    WireEdit::NarrowDestinations(names) => Edit::NarrowDestinations(names),
                })
                .collect(),
        )),
        "drop" => Ok(Answer::Drop(
            wire.reason.unwrap_or_else(|| "dropped by the filter".into()),
        )),
        "error" => Ok(Answer::Error(FilterError {
            message: wire.message.unwrap_or_else(|| "the filter reported an error".into()),
            retryable: wire.retryable.unwrap_or(false),
        })),
        other => Err(abi(format!(
            "returned the verdict {other:?}; it must be \"keep\", \"drop\" or \"error\""
        ))),
    }
}

/// A 0.1 verdict: `keep`, `drop`, `modify` with the changes as fields, `error`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Verdict01<'a> {
    verdict: String,
    reason: Option<String>,
    message: Option<String>,
    #[serde(borrow)]
    predictions: Option<&'a RawValue>,
    keep_predictions: Option<Vec<u32>>,
    #[serde(default)]
    remove_attachments: Vec<String>,
    #[serde(default)]
    set_metadata: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    remove_metadata: Vec<String>,
    destinations: Option<Vec<String>>,
}

fn read_01(wire: Verdict01<'_>) -> Result<Answer, WireError> {
    let has_changes = wire.predictions.is_some()
        || wire.keep_predictions.is_some()
        || !wire.remove_attachments.is_empty()
        || !wire.set_metadata.is_empty()
        || !wire.remove_metadata.is_empty()
        || wire.destinations.is_some();
    if has_changes && wire.verdict != "modify" {
        return Err(abi(format!(
            "returned changes with the verdict {:?}; changes need \"verdict\": \"modify\"",
            wire.verdict
        )));
    }
    match wire.verdict.as_str() {
        "keep" => Ok(Answer::Keep(Vec::new())),
        "drop" => Ok(Answer::Drop(
            wire.reason.unwrap_or_else(|| "dropped by the filter".into()),
        )),
        "error" => Ok(Answer::Error(FilterError::new(
            wire.message.unwrap_or_else(|| "the filter reported an error".into()),
        ))),
        "modify" => {
            let mut set_metadata = Vec::with_capacity(wire.set_metadata.len());
            for (key, value) in wire.set_metadata {
                match value {
                    serde_json::Value::String(value) => set_metadata.push((key, value)),
                    other => {
                        return Err(abi(format!(
                            "set_metadata.{key} is {other}; metadata values are strings"
                        )));
                    }
                }
            }
            let changes = v01::Changes {
                predictions: wire.predictions.map(|raw| raw.get().to_string()),
                keep_predictions: wire.keep_predictions,
                remove_attachments: wire.remove_attachments,
                set_metadata,
                remove_metadata: wire.remove_metadata,
                destinations: wire.destinations,
            };
            Ok(Answer::Keep(changes.into_edits()?))
        }
        other => Err(abi(format!(
            "returned the verdict {other:?}; it must be \"keep\", \"drop\", \"modify\" or \"error\""
        ))),
    }
}

/// What the core-module state imports (`weir.state_*`) return besides their results:
/// the refusals of `weir:filter/state`, as negative numbers.
pub mod state_codes {
    /// The key is absent or expired (`state_get`).
    pub const ABSENT: i64 = -1;
    /// `too-large`: the key or the entry does not fit.
    pub const TOO_LARGE: i64 = -2;
    /// `not-a-number`: `state_increment` on a value that is not a decimal integer.
    pub const NOT_A_NUMBER: i64 = -3;
    /// `out-of-range`: `state_increment` would overflow.
    pub const OUT_OF_RANGE: i64 = -4;
    /// The key is not UTF-8.
    pub const BAD_KEY: i64 = -5;
}

#[cfg(test)]
mod tests;
