//! Property tests of what ingest reads from senders: bodies (JSON and multipart) and
//! the headers Weir reads (`X-Weir-Meta-*`, `X-Weir-Task`, `Idempotency-Key`).
//!
//! Two kinds of property: nothing a sender sends makes Weir panic, and what a correct
//! encoder writes decodes to exactly what it encoded. Each runs a bounded number of
//! cases (`CASES`), so the whole set stays in ordinary `cargo test`; a failure found
//! once is kept in `properties.regressions` beside this file and replayed first, and
//! the inputs of `corpus/` are decoded by every run.

use std::collections::HashSet;

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use bytes::Bytes;
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

use super::multipart::{self, Part};
use super::{BodyKind, Look, Reading, decode_bytes};
use crate::ingest::error::IngestError;

/// Cases per property: enough to cover the shapes, few enough for a debug build to run
/// every property in about a second.
const CASES: u32 = 1024;

fn config() -> ProptestConfig {
    ProptestConfig {
        // CI runs more (`WEIR_FUZZ_CASES` in .ci/run): a longer search, still bounded.
        cases: std::env::var("WEIR_FUZZ_CASES")
            .ok()
            .and_then(|cases| cases.parse().ok())
            .unwrap_or(CASES),
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        ..ProptestConfig::default()
    }
}

/// Characters RFC 2046 allows in a boundary (a space only inside it).
const BCHARS: &str = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'()+_,-./:=? ";

fn boundary() -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(BCHARS.chars().collect::<Vec<_>>()), 1..=70)
        .prop_map(|chars| chars.into_iter().collect::<String>())
        .prop_filter("a boundary neither starts nor ends with a space", |b| {
            !b.starts_with(' ') && !b.ends_with(' ')
        })
}

/// Content made of pieces that stress a parser: line endings, dashes, and text that
/// starts like the boundary, among random bytes.
fn content(boundary: String) -> impl Strategy<Value = Vec<u8>> {
    let near = format!("--{boundary}X");
    let piece = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..24),
        Just(b"\r\n".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\r".to_vec()),
        Just(b"--".to_vec()),
        Just(near.into_bytes()),
        // The boundary itself, but never at the start of a line.
        Just(format!("x--{boundary}").into_bytes()),
    ];
    proptest::collection::vec(piece, 0..8).prop_map(|pieces| pieces.concat())
}

/// A part as an encoder is asked to write it.
#[derive(Debug, Clone)]
struct Spec {
    name: String,
    file_name: Option<FileName>,
    content_type: Option<String>,
    /// The header names' spelling, the order of the headers, and an extra header.
    upper_case: bool,
    type_first: bool,
    extra_header: bool,
    data: Vec<u8>,
}

#[derive(Debug, Clone)]
enum FileName {
    /// `filename="..."`, with `"` and `\` escaped.
    Quoted(String),
    /// `filename*=UTF-8''...`, percent-encoded.
    Extended(String),
}

impl FileName {
    fn text(&self) -> &str {
        match self {
            FileName::Quoted(name) | FileName::Extended(name) => name,
        }
    }
}

/// Field and file names: anything but CR and LF, which cannot be in a header line.
fn header_text() -> impl Strategy<Value = String> {
    "[^\r\n]{0,12}"
}

fn spec(boundary: String) -> impl Strategy<Value = Spec> {
    let file_name = prop_oneof![
        Just(None),
        header_text().prop_map(|n| Some(FileName::Quoted(n))),
        any::<String>().prop_map(|n| Some(FileName::Extended(n))),
    ];
    let content_type = proptest::option::of(proptest::sample::select(vec![
        "text/plain",
        "Image/JPEG",
        "application/octet-stream",
        "image/png; name=\"x\"",
        "application/json;charset=utf-8",
    ]));
    (
        header_text(),
        file_name,
        content_type,
        any::<(bool, bool, bool)>(),
        content(boundary),
    )
        .prop_map(
            |(name, file_name, content_type, (upper_case, type_first, extra_header), data)| Spec {
                name,
                file_name,
                content_type: content_type.map(str::to_string),
                upper_case,
                type_first,
                extra_header,
                data,
            },
        )
        .prop_filter("a text field has a name", |s| {
            s.file_name.is_some() || !s.name.is_empty()
        })
}

fn quoted(text: &str) -> String {
    let mut out = String::from('"');
    for c in text.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

fn percent_encoded(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Writes a form as a correct encoder would, with this line ending, a preamble and an
/// epilogue.
fn encode(boundary: &str, newline: &str, preamble: &str, epilogue: &str, specs: &[Spec]) -> Vec<u8> {
    let mut body = Vec::new();
    if !preamble.is_empty() {
        body.extend_from_slice(preamble.as_bytes());
        body.extend_from_slice(newline.as_bytes());
    }
    for spec in specs {
        body.extend_from_slice(format!("--{boundary}{newline}").as_bytes());
        let mut disposition = format!("form-data; name={}", quoted(&spec.name));
        match &spec.file_name {
            Some(FileName::Quoted(name)) => disposition.push_str(&format!("; filename={}", quoted(name))),
            Some(FileName::Extended(name)) => {
                disposition.push_str(&format!("; filename*=UTF-8''{}", percent_encoded(name)));
            }
            None => {}
        }
        let (disposition_name, type_name) = if spec.upper_case {
            ("CONTENT-DISPOSITION", "CONTENT-TYPE")
        } else {
            ("Content-Disposition", "content-type")
        };
        let mut headers = vec![format!("{disposition_name}: {disposition}")];
        if let Some(content_type) = &spec.content_type {
            let line = format!("{type_name}: {content_type}");
            if spec.type_first {
                headers.insert(0, line);
            } else {
                headers.push(line);
            }
        }
        if spec.extra_header {
            headers.push("Content-Transfer-Encoding: binary".into());
        }
        for header in headers {
            body.extend_from_slice(header.as_bytes());
            body.extend_from_slice(newline.as_bytes());
        }
        body.extend_from_slice(newline.as_bytes());
        body.extend_from_slice(&spec.data);
        body.extend_from_slice(newline.as_bytes());
    }
    body.extend_from_slice(format!("--{boundary}--").as_bytes());
    body.extend_from_slice(epilogue.as_bytes());
    body
}

/// A form to encode: a boundary, a line ending, a preamble and an epilogue, and parts
/// whose content a correct encoder could frame with that boundary.
fn form() -> impl Strategy<Value = (String, &'static str, String, String, Vec<Spec>)> {
    boundary().prop_flat_map(|boundary| {
        (
            Just(boundary.clone()),
            prop_oneof![Just("\r\n"), Just("\n")],
            "[a-z ]{0,20}",
            "(\r\n[a-z ]{0,20})?",
            proptest::collection::vec(spec(boundary), 0..6),
        )
    })
}

/// Whether a correct encoder could frame each part's content with this boundary and
/// line ending: no line of it starts with the boundary and goes on as a boundary line
/// does (RFC 2046). In an LF-only body, content that ends in a CR gets a byte more
/// first: the parser reads such a CR as the start of a CRLF.
fn framable(boundary: &str, newline: &str, specs: &mut [Spec]) -> bool {
    if newline == "\n" {
        for spec in specs.iter_mut().filter(|spec| spec.data.ends_with(b"\r")) {
            spec.data.push(b'.');
        }
    }
    let line = format!("\n--{boundary}").into_bytes();
    specs.iter().all(|spec| {
        let mut framed = newline.as_bytes().to_vec();
        framed.extend_from_slice(&spec.data);
        framed.extend_from_slice(newline.as_bytes());
        let boundary_lines = (0..framed.len()).filter(|&at| {
            framed[at..].starts_with(&line) && {
                let rest = &framed[at + line.len()..];
                let padding = rest.iter().take_while(|b| matches!(b, b' ' | b'\t')).count();
                rest.starts_with(b"--") || rest[padding..].starts_with(b"\n") || rest[padding..].starts_with(b"\r\n")
            }
        });
        boundary_lines.count() == 0
    })
}

fn essence(content_type: &str) -> String {
    content_type.split(';').next().unwrap().trim().to_ascii_lowercase()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn a_correctly_encoded_form_parses_to_exactly_its_parts((boundary, newline, preamble, epilogue, mut specs) in form()) {
        prop_assume!(framable(&boundary, newline, &mut specs));
        let body = Bytes::from(encode(&boundary, newline, &preamble, &epilogue, &specs));
        let content_type = format!("multipart/form-data; boundary={}", quoted(&boundary));
        prop_assert_eq!(multipart::boundary(&content_type), Ok(boundary.clone()));
        let parts = multipart::parse(&body, &boundary, 64).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let expected: Vec<Part> = specs
            .iter()
            .enumerate()
            .map(|(i, spec)| Part {
                position: i + 1,
                name: spec.name.clone(),
                file_name: spec.file_name.as_ref().map(|f| f.text().to_string()),
                content_type: spec.content_type.as_deref().map(essence),
                data: Bytes::from(spec.data.clone()),
            })
            .collect();
        prop_assert_eq!(parts, expected);
    }

    #[test]
    fn a_camera_form_decodes_to_its_attachments_and_metadata(
        (boundary, newline, _, _, specs) in form(),
        predictions_at in 0usize..6,
    ) {
        // Well-formed camera events: unique file names, text fields in UTF-8, and a
        // predictions part among them.
        let mut seen = HashSet::new();
        let mut specs: Vec<Spec> = specs
            .into_iter()
            .filter(|s| match &s.file_name {
                Some(file) => {
                    let name = file.text();
                    !name.is_empty()
                        && !name.starts_with("predictions")
                        && !s.name.starts_with("predictions")
                        && !name.chars().any(|c| c == '"' || c.is_ascii_control())
                        && seen.insert(name.to_string())
                }
                None => !s.name.starts_with("predictions"),
            })
            .map(|mut s| {
                if s.file_name.is_none() {
                    s.content_type = None;
                    s.data = String::from_utf8_lossy(&s.data).into_owned().into_bytes();
                }
                s
            })
            .collect();
        specs.insert(
            predictions_at.min(specs.len()),
            Spec {
                name: "file".into(),
                file_name: Some(FileName::Quoted("predictions.json".into())),
                content_type: Some("application/json".into()),
                upper_case: false,
                type_first: false,
                extra_header: false,
                data: br#"{"predictions":[{"class":"a"}]}"#.to_vec(),
            },
        );
        prop_assume!(framable(&boundary, newline, &mut specs));
        let body = Bytes::from(encode(&boundary, newline, "", "", &specs));
        let decoded = decode_bytes(BodyKind::Multipart(boundary), body, &Reading::whole(64)).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(decoded.predictions.as_str(), r#"{"predictions":[{"class":"a"}]}"#);
        let files: Vec<(String, Vec<u8>)> = specs
            .iter()
            .filter_map(|s| Some((s.file_name.as_ref()?.text().to_string(), s.data.clone())))
            .filter(|(name, _)| name != "predictions.json")
            .collect();
        let attachments: Vec<(String, Vec<u8>)> =
            decoded.attachments.iter().map(|a| (a.name.clone(), a.data.to_vec())).collect();
        prop_assert_eq!(attachments, files);
        let fields: Vec<(String, String)> = specs
            .iter()
            .filter(|s| s.file_name.is_none())
            .map(|s| (s.name.clone(), String::from_utf8(s.data.clone()).unwrap()))
            .collect();
        prop_assert_eq!(decoded.metadata, fields);
    }

    #[test]
    fn no_body_makes_the_multipart_decoder_panic(
        (boundary, newline, preamble, epilogue, specs) in form(),
        cut in any::<prop::sample::Index>(),
        noise in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
    ) {
        // A correct body, cut short and with bytes changed: whatever the parser says,
        // it says it with an error, not a panic.
        let mut body = encode(&boundary, newline, &preamble, &epilogue, &specs);
        for (at, byte) in noise {
            if !body.is_empty() {
                let at = at.index(body.len());
                body[at] = byte;
            }
        }
        let keep = cut.index(body.len() + 1);
        body.truncate(keep);
        let _ = decode_bytes(BodyKind::Multipart(boundary), Bytes::from(body), &Reading::whole(64));
    }

    #[test]
    fn no_bytes_make_either_decoder_panic(body in proptest::collection::vec(any::<u8>(), 0..256), boundary in "[^\r\n]{1,8}") {
        let _ = decode_bytes(BodyKind::Json, Bytes::from(body.clone()), &Reading::whole(usize::MAX));
        let _ = decode_bytes(BodyKind::Multipart(boundary), Bytes::from(body), &Reading::whole(64));
    }

    #[test]
    fn no_content_type_makes_the_boundary_reader_panic(content_type in "multipart/form-data[ -~]{0,40}") {
        if let Ok(boundary) = multipart::boundary(&content_type) {
            prop_assert!(!boundary.is_empty());
        }
    }

    #[test]
    fn a_json_object_or_array_is_accepted_as_it_came(value in json(), pretty in any::<bool>()) {
        let text = if pretty { serde_json::to_string_pretty(&value) } else { serde_json::to_string(&value) }.unwrap();
        let decoded = decode_bytes(BodyKind::Json, Bytes::from(text.clone()), &Reading::whole(usize::MAX));
        // Glanced at (a route without filters), the same answer and task.
        let glance = Reading { look: Look::Glance, ..Reading::whole(usize::MAX) };
        let glanced = decode_bytes(BodyKind::Json, Bytes::from(text.clone()), &glance);
        match (&decoded, &glanced) {
            (Ok(decoded), Ok(glanced)) => prop_assert_eq!(&decoded.task, &glanced.task),
            (Err(decoded), Err(glanced)) => prop_assert_eq!(decoded, glanced),
            _ => prop_assert!(false, "{:?}: parsed {:?}, glanced {:?}", text, decoded, glanced),
        }
        match value {
            serde_json::Value::Object(_) | serde_json::Value::Array(_) => {
                let decoded = decoded.map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(decoded.predictions.as_str(), text.as_str());
            }
            _ => prop_assert!(matches!(decoded, Err(IngestError::Unprocessable(_)))),
        }
    }

    #[test]
    fn metadata_headers_come_back_as_sent(entries in proptest::collection::vec(("[a-z0-9-]{1,12}", "[!-~]([ -~]{0,20}[!-~])?"), 0..6)) {
        let mut headers = HeaderMap::new();
        let mut expected = Vec::new();
        for (key, value) in &entries {
            let name = HeaderName::try_from(format!("x-weir-meta-{key}")).unwrap();
            if headers.contains_key(&name) {
                continue;
            }
            headers.insert(name, HeaderValue::from_str(value).unwrap());
            expected.push((key.clone(), value.clone()));
        }
        headers.insert("x-weir-metal", HeaderValue::from_static("not metadata"));
        let mut read = super::metadata_headers(&headers);
        read.sort();
        expected.sort();
        prop_assert_eq!(read, expected);
    }

    #[test]
    fn no_header_value_makes_the_header_readers_panic(value in proptest::collection::vec(any::<u8>(), 0..260)) {
        let Ok(value) = HeaderValue::from_bytes(&value) else {
            return Ok(());
        };
        let mut headers = HeaderMap::new();
        headers.insert("x-weir-task", value.clone());
        headers.insert("x-weir-meta-k", value.clone());
        headers.insert("idempotency-key", value.clone());
        let _ = super::task_header(&headers);
        let _ = super::metadata_headers(&headers);
        let text = value.to_str().unwrap_or_default().trim();
        let valid = !text.is_empty() && text.len() <= crate::ingest::MAX_ID_LEN && text.bytes().all(|b| b.is_ascii_graphic());
        match crate::ingest::event_id(&headers) {
            Ok(id) => {
                prop_assert!(valid);
                prop_assert_eq!(id, text);
            }
            Err(_) => prop_assert!(!valid),
        }
    }

    #[test]
    fn a_task_header_reads_as_the_task_its_name_reads_as(name in "[A-Za-z0-9_ -]{0,40}") {
        let mut headers = HeaderMap::new();
        headers.insert("x-weir-task", HeaderValue::from_str(&name).unwrap());
        match super::task_header(&headers) {
            Ok(Some(task)) => prop_assert_eq!(crate::event::Task::parse(task.as_str()), Ok(task)),
            Ok(None) => prop_assert!(false, "the header was there"),
            Err(_) => prop_assert!(crate::event::Task::parse(&name).is_err()),
        }
    }
}

/// Any JSON value, a few levels deep.
fn json() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec(("[a-z]{1,8}|predictions|class|confidence|task", inner), 0..6)
                .prop_map(|entries| Value::Object(entries.into_iter().collect())),
        ]
    })
}

/// The committed corpus: inputs that once mattered (real clients' quirks, and what the
/// properties above found), each decoded by every run. A file's first line is the
/// Content-Type; the rest is the body. Files named `ok-*` must decode, `bad-*` must be
/// refused with a 4xx; none may panic.
#[test]
fn the_corpus_decodes_as_its_names_say() {
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/ingest/decode/corpus");
    let mut checked = 0;
    for entry in std::fs::read_dir(&folder).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&path).unwrap();
        let split = bytes.iter().position(|b| *b == b'\n').unwrap_or(bytes.len());
        let content_type = String::from_utf8_lossy(&bytes[..split]).trim_end().to_string();
        let body = Bytes::copy_from_slice(&bytes[(split + 1).min(bytes.len())..]);
        let mut headers = HeaderMap::new();
        headers.insert(
            axum::http::header::CONTENT_TYPE,
            HeaderValue::from_str(&content_type).unwrap(),
        );
        let result = super::body_kind(&headers).and_then(|kind| decode_bytes(kind, body, &Reading::whole(usize::MAX)));
        if name.starts_with("ok-") {
            assert!(result.is_ok(), "{name}: {}", result.unwrap_err());
        } else if name.starts_with("bad-") {
            let error = result.expect_err(&name);
            assert!(error.status().is_client_error(), "{name}: {error}");
        } else {
            panic!("{name}: corpus files are named ok-* or bad-*");
        }
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} corpus files in {}", folder.display());
}
