//! Property tests of what the contract reads from guests and senders: the core-module
//! verdict (`wire::read_verdict`) and the predictions scanner (`Document::parse`).
//!
//! Nothing a module answers or a sender sends makes either panic; every verdict a
//! correct module writes reads back as the answer it meant; narrowing a document keeps
//! it valid JSON that lists exactly the predictions kept. Each property runs `CASES`
//! cases (about a second for the set in a debug build); a failure found once is kept in
//! `properties.regressions` beside this file and replayed first, and the inputs of
//! `corpus/` are read by every run.

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use serde_json::{Value, json};
use weir_contract::predictions::Document;
use weir_contract::v01::Changes;
use weir_contract::wire::{Answer, WireError, read_verdict};
use weir_contract::{Edit, EditError, FilterError, Version};

/// Cases per property.
const CASES: u32 = 512;

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

/// Any JSON value, a few levels deep, with the keys predictions documents use.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 40, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((key(), inner), 0..6).prop_map(|e| Value::Object(e.into_iter().collect())),
        ]
    })
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(vec![
            "predictions",
            "jobResults",
            "imageResults",
            "objects",
            "class",
            "label",
            "confidence",
            "score",
            "mask",
            "bbox",
            "box",
            "image",
            "task",
            "x",
            "y",
            "width",
            "height",
        ])
        .prop_map(str::to_string),
        "[a-z]{1,6}",
    ]
}

/// JSON text of a value: compact, pretty, or with spaces after every `,` and `:`.
fn text_of(value: &Value, style: u8) -> String {
    match style % 3 {
        0 => serde_json::to_string(value).unwrap(),
        1 => serde_json::to_string_pretty(value).unwrap(),
        _ => {
            let mut out = Vec::new();
            let formatter = serde_json::ser::PrettyFormatter::with_indent(b"");
            let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
            serde::Serialize::serialize(value, &mut serializer).unwrap();
            String::from_utf8(out).unwrap()
        }
    }
}

fn edit() -> impl Strategy<Value = Edit> {
    let text = || any::<String>();
    prop_oneof![
        proptest::collection::vec(any::<u32>(), 0..5).prop_map(Edit::KeepPredictions),
        (json_value(), any::<u8>()).prop_map(|(v, style)| Edit::SetPredictions(text_of(&v, style))),
        text().prop_map(Edit::RemoveAttachment),
        (text(), text()).prop_map(|(k, v)| Edit::SetMetadata(k, v)),
        text().prop_map(Edit::RemoveMetadata),
        proptest::collection::vec(text(), 0..4).prop_map(Edit::NarrowDestinations),
    ]
}

fn answer() -> impl Strategy<Value = Answer> {
    prop_oneof![
        proptest::collection::vec(edit(), 0..6).prop_map(Answer::Keep),
        any::<String>().prop_map(Answer::Drop),
        (any::<String>(), any::<bool>())
            .prop_map(|(message, retryable)| Answer::Error(FilterError { message, retryable })),
    ]
}

/// The verdict a correct 0.2 module writes for `answer`; `terse` leaves out what may
/// be left out (empty edits, `retryable: false`).
fn write_02(answer: &Answer, terse: bool) -> String {
    let verdict = match answer {
        Answer::Keep(edits) if terse && edits.is_empty() => json!({"verdict": "keep"}),
        Answer::Keep(edits) => {
            let edits: Vec<String> = edits
                .iter()
                .map(|edit| match edit {
                    Edit::KeepPredictions(indices) => json!({ "keep_predictions": indices }).to_string(),
                    // The document goes in as the text it is, not re-encoded.
                    Edit::SetPredictions(text) => format!("{{\"set_predictions\": {text}}}"),
                    Edit::RemoveAttachment(name) => json!({ "remove_attachment": name }).to_string(),
                    Edit::SetMetadata(key, value) => {
                        json!({ "set_metadata": { "key": key, "value": value } }).to_string()
                    }
                    Edit::RemoveMetadata(key) => json!({ "remove_metadata": key }).to_string(),
                    Edit::NarrowDestinations(names) => json!({ "narrow_destinations": names }).to_string(),
                })
                .collect();
            return format!("{{\"verdict\":\"keep\",\"edits\":[{}]}}", edits.join(","));
        }
        Answer::Drop(reason) => json!({"verdict": "drop", "reason": reason}),
        Answer::Error(error) if terse && !error.retryable => json!({"verdict": "error", "message": error.message}),
        Answer::Error(error) => json!({"verdict": "error", "message": error.message, "retryable": error.retryable}),
    };
    verdict.to_string()
}

/// A 0.1 `modify` record, as fields.
fn changes() -> impl Strategy<Value = Changes> {
    let text = || any::<String>();
    (
        // `"predictions": null` reads as no predictions, as serde reads a null option.
        proptest::option::of(
            (json_value().prop_filter("not null", |v| !v.is_null()), any::<u8>())
                .prop_map(|(v, style)| text_of(&v, style)),
        ),
        proptest::option::of(proptest::collection::vec(any::<u32>(), 0..4)),
        proptest::collection::vec(text(), 0..3),
        proptest::collection::btree_map(text(), text(), 0..3),
        proptest::collection::vec(text(), 0..3),
        proptest::option::of(proptest::collection::vec("[a-c]{1,2}", 0..4)),
    )
        .prop_map(
            |(predictions, keep_predictions, remove_attachments, set_metadata, remove_metadata, destinations)| {
                Changes {
                    predictions,
                    keep_predictions,
                    remove_attachments,
                    set_metadata: set_metadata.into_iter().collect(),
                    remove_metadata,
                    destinations,
                }
            },
        )
}

fn write_01_modify(changes: &Changes) -> String {
    let mut fields = vec!["\"verdict\":\"modify\"".to_string()];
    if let Some(text) = &changes.predictions {
        fields.push(format!("\"predictions\":{text}"));
    }
    if let Some(keep) = &changes.keep_predictions {
        fields.push(format!("\"keep_predictions\":{}", json!(keep)));
    }
    if !changes.remove_attachments.is_empty() {
        fields.push(format!("\"remove_attachments\":{}", json!(changes.remove_attachments)));
    }
    if !changes.set_metadata.is_empty() {
        let map: serde_json::Map<String, Value> = changes
            .set_metadata
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        fields.push(format!("\"set_metadata\":{}", Value::Object(map)));
    }
    if !changes.remove_metadata.is_empty() {
        fields.push(format!("\"remove_metadata\":{}", json!(changes.remove_metadata)));
    }
    if let Some(destinations) = &changes.destinations {
        fields.push(format!("\"destinations\":{}", json!(destinations)));
    }
    format!("{{{}}}", fields.join(","))
}

/// A predictions document in one of the shapes platforms send, its predictions'
/// fields sometimes of unexpected types, among other items and fields.
fn document() -> impl Strategy<Value = Value> {
    let number = || {
        prop_oneof![
            (0.0..1.0f64).prop_map(Value::from),
            any::<i32>().prop_map(Value::from),
            json_value()
        ]
    };
    let bbox = || {
        prop_oneof![
            (any::<i16>(), any::<i16>(), any::<u16>(), any::<u16>())
                .prop_map(|(x, y, w, h)| json!({"x": x, "y": y, "width": w, "height": h})),
            (any::<i16>(), any::<i16>(), any::<u16>(), any::<u16>()).prop_map(|(x, y, w, h)| json!([x, y, w, h])),
            json_value(),
        ]
    };
    let prediction = move || {
        (
            prop_oneof![Just("class"), Just("label")],
            prop_oneof![4 => "[a-z]{1,6}".prop_map(Value::String), 1 => json_value()],
            proptest::option::of((prop_oneof![Just("confidence"), Just("score")], number())),
            proptest::option::of(prop_oneof!["mask_000[0-3].png".prop_map(Value::String), json_value()]),
            proptest::option::of((prop_oneof![Just("bbox"), Just("box")], bbox())),
            proptest::collection::vec((key(), json_value()), 0..2),
        )
            .prop_map(|(class_key, class, confidence, mask, bbox, extra)| {
                let mut item = serde_json::Map::new();
                for (k, v) in extra {
                    item.insert(k, v);
                }
                item.insert(class_key.into(), class);
                if let Some((k, v)) = confidence {
                    item.insert(k.into(), v);
                }
                if let Some(mask) = mask {
                    item.insert("mask".into(), mask);
                }
                if let Some((k, v)) = bbox {
                    item.insert(k.into(), v);
                }
                Value::Object(item)
            })
    };
    let items = move || proptest::collection::vec(prop_oneof![5 => prediction(), 1 => json_value()], 0..6);
    let fields = || proptest::collection::vec((key(), json_value()), 0..3);
    prop_oneof![
        (items(), fields()).prop_map(|(items, fields)| {
            let mut doc: serde_json::Map<String, Value> = fields.into_iter().collect();
            doc.insert("predictions".into(), Value::Array(items));
            Value::Object(doc)
        }),
        items().prop_map(Value::Array),
        (
            proptest::collection::vec(items(), 0..3),
            items(),
            fields(),
            any::<(bool, bool)>()
        )
            .prop_map(|(images, jobs, fields, (with_jobs, with_images))| {
                let mut doc: serde_json::Map<String, Value> = fields.into_iter().collect();
                if with_jobs {
                    doc.insert("jobResults".into(), Value::Array(jobs));
                }
                if with_images {
                    let images = images
                        .into_iter()
                        .map(|objects| json!({ "objects": objects }))
                        .collect();
                    doc.insert("imageResults".into(), Value::Array(images));
                }
                Value::Object(doc)
            }),
        json_value(),
    ]
}

/// The JSON texts of the predictions a document lists.
fn listed(text: &str) -> Vec<String> {
    Document::parse(text)
        .unwrap()
        .listed()
        .iter()
        .map(|p| p.json.to_string())
        .collect()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn a_correct_02_verdict_reads_back_as_its_answer(answer in answer(), terse in any::<bool>()) {
        let written = write_02(&answer, terse);
        prop_assert_eq!(read_verdict(written.as_bytes(), Version::V0_2_0), Ok(answer), "{}", written);
    }

    #[test]
    fn a_correct_01_verdict_reads_back_as_its_changes(changes in changes()) {
        let written = write_01_modify(&changes);
        let expected = changes.into_edits().map(Answer::Keep).map_err(WireError::Invalid);
        prop_assert_eq!(read_verdict(written.as_bytes(), Version::V0_1_0), expected, "{}", written);
    }

    #[test]
    fn a_01_keep_drop_or_error_reads_back(reason in any::<String>(), which in 0u8..3) {
        let (written, expected) = match which {
            0 => (json!({"verdict": "keep"}), Answer::Keep(Vec::new())),
            1 => (json!({"verdict": "drop", "reason": reason}), Answer::Drop(reason.clone())),
            _ => (json!({"verdict": "error", "message": reason}), Answer::Error(FilterError::new(reason.clone()))),
        };
        prop_assert_eq!(read_verdict(written.to_string().as_bytes(), Version::V0_1_0), Ok(expected));
    }

    #[test]
    fn a_verdict_with_an_unknown_field_is_refused(answer in answer(), field in "[a-z_]{1,12}", value in json_value()) {
        prop_assume!(!["verdict", "reason", "message", "retryable", "edits"].contains(&field.as_str()));
        let written = write_02(&answer, false);
        let with_field = format!("{{{}:{},{}", json!(field), value, &written[1..]);
        prop_assert!(read_verdict(with_field.as_bytes(), Version::V0_2_0).is_err(), "{}", with_field);
    }

    #[test]
    fn no_bytes_make_the_verdict_reader_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        for version in Version::SERVED {
            let _ = read_verdict(&bytes, version);
        }
    }

    #[test]
    fn no_json_makes_the_verdict_reader_panic(value in json_value(), answer in answer(), cut in any::<prop::sample::Index>()) {
        // Any JSON at all, and a correct verdict cut short.
        for version in Version::SERVED {
            let _ = read_verdict(value.to_string().as_bytes(), version);
            let written = write_02(&answer, false);
            let _ = read_verdict(&written.as_bytes()[..cut.index(written.len() + 1)], version);
        }
    }

    #[test]
    fn no_text_makes_the_scanner_panic(text in any::<String>()) {
        if let Ok(mut doc) = Document::parse(&text) {
            let _ = (doc.items(), doc.listed(), doc.task(), doc.count());
            doc.retain(|p| p.index % 2 == 0);
            let _ = doc.to_json();
        }
    }

    #[test]
    fn a_document_reads_whole_and_is_written_back_unchanged(value in document(), style in any::<u8>()) {
        let text = text_of(&value, style);
        let mut doc = Document::parse(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(doc.count(), doc.listed().len());
        prop_assert!(!doc.is_changed());
        prop_assert_eq!(doc.to_json(), text.as_str());
        let retained = doc.retain(|_| true);
        prop_assert_eq!(retained.removed, 0);
        prop_assert_eq!(doc.to_json(), text.as_str());
    }

    #[test]
    fn narrowing_a_document_keeps_exactly_the_predictions_kept(
        value in document(),
        style in any::<u8>(),
        keep in proptest::collection::vec(any::<bool>(), 0..40),
    ) {
        let text = text_of(&value, style);
        let mut doc = Document::parse(&text).unwrap();
        let before = listed(&text);
        let indices: Vec<u32> = (0..before.len() as u32).filter(|i| keep.get(*i as usize).copied().unwrap_or(true)).collect();
        doc.retain_indices(&indices).map_err(|i| TestCaseError::fail(format!("index {i} refused")))?;
        let narrowed = doc.to_json();
        let reread: Value = serde_json::from_str(&narrowed).map_err(|e| TestCaseError::fail(format!("{e}: {narrowed}")))?;
        let _ = reread;
        let expected: Vec<String> = indices.iter().map(|i| before[*i as usize].clone()).collect();
        prop_assert_eq!(listed(&narrowed), expected, "{}", narrowed);
    }

    #[test]
    fn removing_a_field_keeps_the_document_valid_and_its_predictions(value in document(), style in any::<u8>(), field in prop_oneof![Just("mask"), Just("bbox"), Just("confidence"), Just("x")]) {
        let text = text_of(&value, style);
        let mut doc = Document::parse(&text).unwrap();
        let count = doc.count();
        doc.remove_field(field);
        let edited = doc.to_json();
        prop_assert!(serde_json::from_str::<Value>(&edited).is_ok(), "{}", edited);
        let reread = Document::parse(&edited).unwrap();
        prop_assert_eq!(reread.count(), count, "{}", edited);
        if field == "mask" {
            prop_assert!(reread.items().iter().all(|p| p.mask.is_none()), "{}", edited);
        }
    }
}

/// The committed corpus: documents and verdicts that once mattered, each read by every
/// run. `document-*` files are predictions documents (read, narrowed to every other
/// prediction, written back, and read again); `verdict-01-*` and `verdict-02-*` are
/// module answers. None may panic; names ending in `-bad` must be refused.
#[test]
fn the_corpus_reads_as_its_names_say() {
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut checked = 0;
    for entry in std::fs::read_dir(&folder).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&path).unwrap();
        let bad = name.ends_with("-bad");
        if name.starts_with("document-") {
            let text = String::from_utf8(bytes).unwrap();
            match Document::parse(&text) {
                Ok(mut doc) => {
                    assert!(!bad, "{name} was read");
                    let count = doc.count() as u32;
                    let every_other: Vec<u32> = (0..count).step_by(2).collect();
                    doc.retain_indices(&every_other).unwrap();
                    let narrowed = doc.to_json();
                    let reread = Document::parse(&narrowed).unwrap_or_else(|e| panic!("{name}: {e}: {narrowed}"));
                    assert_eq!(reread.count(), every_other.len(), "{name}: {narrowed}");
                }
                Err(error) => assert!(bad, "{name}: {error}"),
            }
        } else if let Some(version) = name
            .strip_prefix("verdict-01-")
            .map(|_| Version::V0_1_0)
            .or_else(|| name.strip_prefix("verdict-02-").map(|_| Version::V0_2_0))
        {
            let read = read_verdict(&bytes, version);
            assert_eq!(read.is_err(), bad, "{name}: {read:?}");
        } else {
            panic!("{name}: corpus files are named document-*, verdict-01-* or verdict-02-*");
        }
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} corpus files in {}", folder.display());
}

#[test]
fn conflicting_01_changes_are_refused_as_conflicting() {
    let written = r#"{"verdict":"modify","predictions":[],"keep_predictions":[0]}"#;
    assert_eq!(
        read_verdict(written.as_bytes(), Version::V0_1_0),
        Err(WireError::Invalid(EditError::Conflicting))
    );
}
