use std::sync::Arc;

use super::*;
use crate::event::Attachment;

fn verdict(text: &str, version: Version) -> Result<Answer, String> {
    read_verdict(text.as_bytes(), version).map_err(|error| error.to_string())
}

#[test]
fn reads_01_verdicts_and_names_bad_ones() {
    let v = Version::V0_1_0;
    assert_eq!(verdict(r#"{"verdict":"keep"}"#, v), Ok(Answer::Keep(vec![])));
    assert_eq!(
        verdict(r#"{"verdict":"drop","reason":"no people"}"#, v),
        Ok(Answer::Drop("no people".into()))
    );
    assert_eq!(
        verdict(r#"{"verdict":"error","message":"bad input"}"#, v),
        Ok(Answer::Error(FilterError::new("bad input")))
    );
    assert_eq!(
        verdict(
            r#"{"verdict":"modify","predictions":{"predictions":[ ]},"set_metadata":{"k":"v"},"destinations":["a"]}"#,
            v
        ),
        Ok(Answer::Keep(vec![
            Edit::SetPredictions(r#"{"predictions":[ ]}"#.into()),
            Edit::SetMetadata("k".into(), "v".into()),
            Edit::NarrowDestinations(vec!["a".into()]),
        ]))
    );
    assert_eq!(
        verdict(r#"{"verdict":"modify","predictions":[],"keep_predictions":[0]}"#, v),
        Err("returned both new predictions and predictions to keep; return one".into())
    );
    for (bad, says) in [
        ("keep", "not valid"),
        (
            r#"{"verdict":"keep","predictions":{}}"#,
            r#"changes need "verdict": "modify""#,
        ),
        (r#"{"verdict":"pass"}"#, "must be \"keep\""),
        (r#"{"verdict":"keep","colour":"red"}"#, "unknown field `colour`"),
        (
            r#"{"verdict":"modify","set_metadata":{"n":1}}"#,
            "metadata values are strings",
        ),
        (r#"{"verdict":"keep","edits":[]}"#, "unknown field `edits`"),
    ] {
        let error = verdict(bad, v).unwrap_err();
        assert!(error.contains(says), "{bad}: {error}");
    }
}

#[test]
fn reads_02_verdicts_with_edits_in_order() {
    let v = Version::V0_2_0;
    assert_eq!(
        verdict(
            r#"{"verdict":"keep","edits":[{"keep_predictions":[0,2]},{"remove_attachment":"mask_0001.png"},{"set_metadata":{"key":"k","value":"v"}},{"remove_metadata":"old"},{"set_predictions":{"a": 1}},{"narrow_destinations":["slack"]}]}"#,
            v
        ),
        Ok(Answer::Keep(vec![
            Edit::KeepPredictions(vec![0, 2]),
            Edit::RemoveAttachment("mask_0001.png".into()),
            Edit::SetMetadata("k".into(), "v".into()),
            Edit::RemoveMetadata("old".into()),
            Edit::SetPredictions(r#"{"a": 1}"#.into()),
            Edit::NarrowDestinations(vec!["slack".into()]),
        ]))
    );
    assert_eq!(
        verdict(r#"{"verdict":"error","message":"store full","retryable":true}"#, v),
        Ok(Answer::Error(FilterError::retryable("store full")))
    );
    for (bad, says) in [
        (r#"{"verdict":"modify"}"#, "must be \"keep\", \"drop\" or \"error\""),
        (
            r#"{"verdict":"drop","edits":[{"remove_metadata":"k"}]}"#,
            "edits go with",
        ),
        (
            r#"{"verdict":"keep","edits":[{"paint":"red"}]}"#,
            "unknown variant `paint`",
        ),
        (r#"{"verdict":"keep","reason":"x"}"#, "\"reason\" goes with"),
        (
            r#"{"verdict":"keep","edits":[{"remove_metadata":"a","remove_attachment":"b"}]}"#,
            "not valid",
        ),
    ] {
        let error = verdict(bad, v).unwrap_err();
        assert!(error.contains(says), "{bad}: {error}");
    }
}

fn event() -> Event {
    let mut event = Event::new(
        "e\"1",
        "cams",
        r#"{"predictions": [{"class":"a","confidence":0.5,"bbox":[1,2,3,4]},{"label":"b"}], "task": "pose-estimation"}"#,
    );
    event.set_metadata("camera", "dock-3");
    event.destinations = vec!["hook".into()];
    event.attachments.push(Attachment {
        name: "image.jpeg".into(),
        content_type: "image/jpeg".into(),
        data: bytes::Bytes::from_static(b"1234"),
    });
    event
}

#[test]
fn writes_the_event_with_its_predictions_as_they_are() {
    let event = event();
    let mut out = Vec::new();
    write_event(&event, Version::V0_1_0, &mut out);
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains(r#""predictions":{"predictions": [{"#), "{text}");
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        value,
        serde_json::json!({
            "id": "e\"1",
            "route": "cams",
            "task": "other",
            "metadata": { "camera": "dock-3" },
            "predictions": serde_json::from_str::<serde_json::Value>(&event.predictions).unwrap(),
            "attachments": [{ "name": "image.jpeg", "content_type": "image/jpeg", "size": 4 }],
            "destinations": ["hook"],
        })
    );

    let mut out = Vec::new();
    write_event(&event, Version::V0_2_0, &mut out);
    let value: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(value["task"], "pose-estimation");
    assert_eq!(
        value["prediction_list"],
        serde_json::json!([
            {"index": 0, "class": "a", "confidence": 0.5, "bbox": {"x": 1.0, "y": 2.0, "width": 3.0, "height": 4.0},
             "json": {"class":"a","confidence":0.5,"bbox":[1,2,3,4]}},
            {"index": 1, "class": "b", "json": {"label":"b"}},
        ])
    );
}

#[test]
fn a_verdict_read_from_the_wire_applies_like_a_components_edits() {
    let mut working = crate::Working::new(Arc::new(event()), crate::Limits::default());
    let Ok(Answer::Keep(edits)) = verdict(
        r#"{"verdict":"keep","edits":[{"keep_predictions":[1]},{"set_metadata":{"key":"seen","value":"b"}}]}"#,
        Version::V0_2_0,
    ) else {
        panic!("not a keep")
    };
    working.apply_all(edits).unwrap();
    let edited = working.finish().unwrap();
    assert_eq!(
        edited.predictions.as_str(),
        r#"{"predictions": [{"label":"b"}], "task": "pose-estimation"}"#
    );
    assert_eq!(edited.metadata_value("seen"), Some("b"));
}

/// `wit/core-module.md`, whose examples must be what this module reads and writes.
const DOC: &str = include_str!("../../../../wit/core-module.md");

fn json_blocks() -> Vec<&'static str> {
    DOC.split("```json\n")
        .skip(1)
        .map(|block| block.split("```").next().expect("a closed block"))
        .collect()
}

/// The value with every number as an f64: `80` and `80.0` are the same number.
fn numbers_as_floats(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Number(n) => serde_json::json!(n.as_f64().unwrap()),
        Value::Array(items) => Value::Array(items.into_iter().map(numbers_as_floats).collect()),
        Value::Object(map) => Value::Object(map.into_iter().map(|(k, v)| (k, numbers_as_floats(v))).collect()),
        other => other,
    }
}

#[test]
fn the_documented_event_is_what_weir_writes() {
    let documented: serde_json::Value = serde_json::from_str(json_blocks()[0]).unwrap();
    let mut event = Event::new(
        documented["id"].as_str().unwrap(),
        documented["route"].as_str().unwrap(),
        documented["predictions"].to_string(),
    );
    for (key, value) in documented["metadata"].as_object().unwrap() {
        event.set_metadata(key, value.as_str().unwrap());
    }
    for attachment in documented["attachments"].as_array().unwrap() {
        event.attachments.push(Attachment {
            name: attachment["name"].as_str().unwrap().into(),
            content_type: attachment["content_type"].as_str().unwrap().into(),
            data: bytes::Bytes::from(vec![0; attachment["size"].as_u64().unwrap() as usize]),
        });
    }
    event.destinations = documented["destinations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap().into())
        .collect();
    let mut out = Vec::new();
    write_event(&event, Version::V0_2_0, &mut out);
    let written: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(numbers_as_floats(written), numbers_as_floats(documented));
}

#[test]
fn the_documented_verdicts_are_what_weir_reads() {
    let blocks = json_blocks();
    for line in blocks[1].lines().filter(|line| !line.trim().is_empty()) {
        assert!(read_verdict(line.as_bytes(), Version::V0_2_0).is_ok(), "{line}");
    }
    for line in blocks[2].lines().filter(|line| !line.trim().is_empty()) {
        assert!(read_verdict(line.as_bytes(), Version::V0_1_0).is_ok(), "{line}");
        assert!(read_verdict(line.as_bytes(), Version::V0_2_0).is_err(), "{line}");
    }
}
