use super::*;

#[test]
fn reads_per_image_predictions_with_and_without_confidence() {
    let doc = Document::parse(
        r#"{"predictions":[{"class":"person","confidence":0.9,"mask":"mask_0000.png"},{"label":"road"},7]}"#,
    )
    .unwrap();
    let items: Vec<_> = doc
        .items()
        .iter()
        .map(|p| (p.index, p.class, p.confidence, p.mask))
        .collect();
    assert_eq!(
        items,
        [(0, "person", Some(0.9), Some("mask_0000.png")), (1, "road", None, None)]
    );
}

#[test]
fn fields_of_unexpected_types_read_as_absent() {
    let doc = Document::parse(r#"[{"class":"a","confidence":"high","mask":3,"bbox":{"x":[1]}},{"class":5}]"#).unwrap();
    let items: Vec<_> = doc
        .items()
        .iter()
        .map(|p| (p.class, p.confidence, p.mask, p.bbox))
        .collect();
    assert_eq!(items, [("a", None, None, None)]);
}

#[test]
fn reads_job_results_from_image_results_when_present() {
    let doc = Document::parse(
        r#"{"jobResults":[{"class":"car","image":{"confidence":0.5}}],
            "imageResults":[{"objects":[{"class":"car","confidence":0.5},{"class":"dog","confidence":0.4}]}]}"#,
    )
    .unwrap();
    let classes: Vec<_> = doc.items().iter().map(|p| p.class).collect();
    assert_eq!(classes, ["car", "dog"]);
    let jobs_only = Document::parse(r#"{"jobResults":[{"class":"car","image":{"confidence":0.5}}]}"#).unwrap();
    assert_eq!(jobs_only.items()[0].confidence, Some(0.5));
}

#[test]
fn retain_narrows_both_job_lists_and_drops_emptied_images() {
    let mut doc = Document::parse(
        r#"{"jobResults":[{"class":"car","image":{"confidence":0.9}},{"class":"person","image":{"confidence":0.9}}],"imageResults":[{"id":"a","objects":[{"class":"car","confidence":0.9}]},{"id":"b","objects":[{"class":"person","confidence":0.9},{"class":"car","confidence":0.9}]}],"status":"done"}"#,
    )
    .unwrap();
    let retained = doc.retain(|p| p.class == "person");
    assert_eq!((retained.kept, retained.removed), (1, 2));
    assert_eq!(
        doc.to_json(),
        r#"{"jobResults":[{"class":"person","image":{"confidence":0.9}}],"imageResults":[{"id":"b","objects":[{"class":"person","confidence":0.9}]}],"status":"done"}"#
    );
}

#[test]
fn retain_reports_masks_only_removed_predictions_used() {
    let mut doc =
        Document::parse(r#"[{"class":"a","mask":"m0"},{"class":"b","mask":"m1"},{"class":"a","mask":"m1"}]"#).unwrap();
    let retained = doc.retain(|p| p.class == "a");
    assert_eq!(retained.orphaned_masks, Vec::<String>::new());
    let retained = doc.retain(|p| p.mask == Some("m1"));
    assert_eq!(retained.orphaned_masks, vec!["m0".to_string()]);
    assert_eq!(doc.to_json(), r#"[{"class":"a","mask":"m1"}]"#);
}

#[test]
fn unchanged_text_is_kept_byte_for_byte() {
    let text = "{ \"camera\" : \"d\\u00f6ck\",\n  \"predictions\": [ {\"class\": \"a\", \"confidence\": 1.50e0} ] }\n";
    let mut doc = Document::parse(text).unwrap();
    assert!(!doc.is_changed());
    assert_eq!(doc.retain(|_| true).kept, 1);
    assert_eq!(doc.to_json(), text);
    assert_eq!(doc.field("camera").as_deref(), Some("döck"));
    doc.retain(|_| false);
    assert_eq!(
        doc.to_json(),
        "{ \"camera\" : \"d\\u00f6ck\",\n  \"predictions\": [] }\n"
    );
}

#[test]
fn remove_field_rewrites_only_the_predictions_that_have_it() {
    let mut doc =
        Document::parse(r#"{"predictions":[{"class":"a","mask":"m0","x":1},{"class":"b"}],"mask":"top"}"#).unwrap();
    assert_eq!(doc.remove_field("mask"), 1);
    assert_eq!(
        doc.to_json(),
        r#"{"predictions":[{"class":"a","x":1},{"class":"b"}],"mask":"top"}"#
    );
    assert_eq!(doc.items()[0].mask, None);
    assert_eq!(doc.remove_field("mask"), 0);
}

#[test]
fn remove_field_reaches_job_results_too() {
    // Found by tests/properties.rs: `jobResults` predictions are listed, and kept
    // their field.
    let mut doc = Document::parse(
        r#"{"jobResults":[{"class":"a","mask":"m0"}],"imageResults":[{"objects":[{"class":"a","mask":"m0"}]}]}"#,
    )
    .unwrap();
    assert_eq!(doc.remove_field("mask"), 2);
    assert_eq!(
        doc.to_json(),
        r#"{"jobResults":[{"class":"a"}],"imageResults":[{"objects":[{"class":"a"}]}]}"#
    );
    assert!(doc.listed().iter().all(|p| p.mask.is_none()));
}

#[test]
fn fields_read_scalars_only() {
    let doc = Document::parse(r#"{"a":"text","b":12.50,"c":true,"d":null,"e":[1],"f":{"g":1}}"#).unwrap();
    let fields: Vec<_> = ["a", "b", "c", "d", "e", "f", "z"]
        .iter()
        .map(|name| doc.field(name))
        .collect();
    let expected = [Some("text"), Some("12.50"), Some("true"), None, None, None, None];
    assert_eq!(fields, expected.map(|v| v.map(String::from)));
    assert_eq!(doc.raw_field("f").unwrap(), r#"{"g":1}"#);
}

#[test]
fn a_prediction_list_that_is_not_an_array_is_still_a_field() {
    let doc = Document::parse(r#"{"predictions": null, "jobResults": 3, "camera": "a"}"#).unwrap();
    assert_eq!(doc.raw_field("predictions"), Some("null"));
    assert_eq!(doc.raw_field("jobResults"), Some("3"));
    assert!(doc.listed().is_empty());
}

#[test]
fn documents_of_unknown_shape_have_no_items() {
    let mut doc = Document::parse(r#"{"text":"hello"}"#).unwrap();
    assert!(doc.items().is_empty());
    assert_eq!(doc.retain(|_| false), Retained::default());
    assert_eq!(doc.to_json(), r#"{"text":"hello"}"#);
    assert!(Document::parse("not json").is_err());
    assert!(Document::parse(r#"{"predictions": [}"#).is_err());
    assert!(Document::parse("42").unwrap().items().is_empty());
}

#[test]
fn listed_covers_every_list_in_document_order_and_indices_retain_them() {
    let text = r#"{"jobResults":[{"class":"car","image":{"confidence":0.9}},{"class":"person","image":{"confidence":0.8}}],"imageResults":[{"id":"a","objects":[{"class":"car","confidence":0.9}]},{"id":"b","objects":[{"class":"person","confidence":0.8}]}]}"#;
    let mut doc = Document::parse(text).unwrap();
    let listed: Vec<(&str, Option<f64>)> = doc.listed().iter().map(|p| (p.class, p.confidence)).collect();
    assert_eq!(
        listed,
        [
            ("car", Some(0.9)),
            ("person", Some(0.8)),
            ("car", Some(0.9)),
            ("person", Some(0.8))
        ]
    );
    let retained = doc.retain_indices(&[1, 3]).unwrap();
    assert_eq!((retained.kept, retained.removed), (1, 1));
    assert_eq!(
        doc.to_json(),
        r#"{"jobResults":[{"class":"person","image":{"confidence":0.8}}],"imageResults":[{"id":"b","objects":[{"class":"person","confidence":0.8}]}]}"#
    );
    assert_eq!(doc.retain_indices(&[2]), Err(2));
}

#[test]
fn retain_indices_matches_retain_on_plain_predictions() {
    let text =
        r#"{"predictions":[{"class":"a","mask":"m0"},{"x":1},{"class":"b","mask":"m1"},{"class":"a","mask":"m2"}]}"#;
    let mut by_index = Document::parse(text).unwrap();
    let mut by_predicate = Document::parse(text).unwrap();
    assert_eq!(by_index.listed().len(), 3);
    let a = by_index.retain_indices(&[0, 2]).unwrap();
    let b = by_predicate.retain(|p| p.class == "a");
    assert_eq!(a, b);
    assert_eq!(by_index.to_json(), by_predicate.to_json());
    assert_eq!(a.orphaned_masks, ["m1"]);
}

#[test]
fn reads_boxes_in_the_shapes_models_write_them() {
    let doc = Document::parse(
        r#"[{"class":"a","bbox":{"x":1,"y":2,"width":3,"height":4}},
            {"class":"b","box":{"x":1,"y":2,"w":3,"h":4}},
            {"class":"c","bbox":{"x1":1,"y1":2,"x2":4,"y2":6}},
            {"class":"d","bbox":{"xmin":1,"ymin":2,"xmax":4,"ymax":6}},
            {"class":"e","bbox":[1,2,3,4]},
            {"class":"f","bbox":[1,2,3]},
            {"class":"g","bbox":"1,2,3,4"}]"#,
    )
    .unwrap();
    let boxes: Vec<_> = doc
        .listed()
        .iter()
        .map(|p| p.bbox.map(|b| (b.x, b.y, b.width, b.height)))
        .collect();
    let whole = Some((1.0, 2.0, 3.0, 4.0));
    assert_eq!(boxes, [whole, whole, whole, whole, whole, None, None]);
}

#[test]
fn each_listed_prediction_carries_its_index_and_its_text() {
    let text = r#"{"predictions":[ {"class":"a", "extra": [1, 2]} , {"x":1}, {"class":"b"} ]}"#;
    let doc = Document::parse(text).unwrap();
    let listed: Vec<_> = doc.listed().iter().map(|p| (p.index, p.json)).collect();
    assert_eq!(
        listed,
        [(0, r#"{"class":"a", "extra": [1, 2]}"#), (1, r#"{"class":"b"}"#)]
    );
    let mut doc = doc;
    let mut seen = Vec::new();
    doc.retain(|p| {
        seen.push(p.index);
        true
    });
    assert_eq!(seen, [0, 1]);
}
