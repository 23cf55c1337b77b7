//! Zero-copy reading of predictions documents: objects as ordered (key, raw value)
//! entries, arrays as raw items, and the few fields a prediction is judged by, all
//! borrowed from the document text, in one pass of the [`Reader`].
//!
//! Borrowing is what makes narrowing cheap: a kept prediction is copied to the output
//! as the exact text it came in as, never parsed into a tree and printed again.

use std::borrow::Cow;
use std::ops::Range;

use super::read::{Fault, ReadError, Reader};

/// An object's entries in document order, each value as its raw JSON text.
pub(crate) type Entries<'a> = Vec<(Cow<'a, str>, &'a str)>;

/// An array of predictions as scanned: where it is, and each item's raw text and the
/// fields it is judged by.
#[derive(Debug, Clone)]
pub(crate) struct ScannedList<'a> {
    pub(crate) span: Range<usize>,
    pub(crate) items: Vec<(&'a str, Option<Probe<'a>>)>,
}

/// A document as one pass over its text saw it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scanned<'a> {
    /// Top-level entries, when the document is an object.
    pub(crate) entries: Option<Entries<'a>>,
    /// `predictions[]`, or the document itself when it is an array.
    pub(crate) predictions: Option<ScannedList<'a>>,
    /// `jobResults[]`.
    pub(crate) jobs: Option<ScannedList<'a>>,
}

/// Reads a document in one pass: prediction arrays item by item (each item's text
/// and its probe), every other value as raw text. Fails on invalid JSON.
pub(crate) fn scan_document(text: &str) -> Result<Scanned<'_>, ReadError> {
    let mut reader = Reader::new(text);
    read_document(&mut reader).map_err(|Fault| reader.fault())
}

fn read_document<'a>(reader: &mut Reader<'a>) -> Result<Scanned<'a>, Fault> {
    let scanned = match reader.peek() {
        Some(b'{') => document(reader)?,
        Some(b'[') => Scanned {
            predictions: Some(list(reader)?),
            ..Scanned::default()
        },
        _ => {
            reader.skip()?;
            Scanned::default()
        }
    };
    reader.end()?;
    Ok(scanned)
}

/// At the document's `{`: its entries; `predictions` and `jobResults` arrays (under
/// keys written without escapes) read item by item.
fn document<'a>(reader: &mut Reader<'a>) -> Result<Scanned<'a>, Fault> {
    let mut scanned = Scanned::default();
    let mut entries = Vec::with_capacity(8);
    reader.entries(|reader, key| {
        let first = reader.peek();
        let start = reader.at();
        match (&key, first) {
            (Cow::Borrowed("predictions"), Some(b'[')) => scanned.predictions = Some(list(reader)?),
            (Cow::Borrowed("jobResults"), Some(b'[')) => scanned.jobs = Some(list(reader)?),
            _ => reader.skip()?,
        }
        entries.push((key, reader.since(start)));
        Ok(())
    })?;
    scanned.entries = Some(entries);
    Ok(scanned)
}

/// At `[`: each item's text and, for objects, its probe.
fn list<'a>(reader: &mut Reader<'a>) -> Result<ScannedList<'a>, Fault> {
    let open = reader.at();
    let mut items = Vec::with_capacity(8);
    reader.items(|reader| {
        let first = reader.peek();
        let start = reader.at();
        let probe = if first == Some(b'{') {
            Some(probe(reader, start)?)
        } else {
            reader.skip()?;
            None
        };
        items.push((reader.since(start), probe));
        Ok(())
    })?;
    Ok(ScannedList {
        span: open..reader.at(),
        items,
    })
}

/// The entries of a JSON object, or `None` when `json` is not an object.
pub(crate) fn object_entries(json: &str) -> Option<Entries<'_>> {
    let mut reader = Reader::new(json);
    if reader.peek() != Some(b'{') {
        return None;
    }
    let mut entries = Vec::with_capacity(8);
    reader
        .entries(|reader, key| {
            reader.peek();
            let start = reader.at();
            reader.skip()?;
            entries.push((key, reader.since(start)));
            Ok(())
        })
        .ok()?;
    Some(entries)
}

/// The items of a JSON array, or `None` when `json` is not an array.
pub(crate) fn array_items(json: &str) -> Option<Vec<(&str, Option<Probe<'_>>)>> {
    let mut reader = Reader::new(json);
    if reader.peek() != Some(b'[') {
        return None;
    }
    list(&mut reader).ok().map(|list| list.items)
}

/// The string a JSON string value (`raw`, read before) stands for; `None` for any other
/// value.
pub(crate) fn string_value(raw: &str) -> Option<Cow<'_, str>> {
    let mut reader = Reader::new(raw);
    if reader.peek() != Some(b'"') {
        return None;
    }
    reader.string().ok()
}

/// Where `part`, a slice of `text`, lies in it.
pub(crate) fn span(text: &str, part: &str) -> Range<usize> {
    let start = part.as_ptr() as usize - text.as_ptr() as usize;
    debug_assert!(start + part.len() <= text.len(), "part is not a slice of text");
    start..start + part.len()
}

/// The fields a prediction is judged by, read from one array item; fields of
/// unexpected types read as absent, and everything else is skipped unparsed.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Probe<'a> {
    pub(crate) class: Option<Cow<'a, str>>,
    pub(crate) confidence: Option<f64>,
    pub(crate) mask: Option<Cow<'a, str>>,
    /// `image.confidence`, where batch job results keep it.
    pub(crate) image_confidence: Option<f64>,
    /// `bbox` (or `box`), when it reads as a box.
    pub(crate) bbox: Option<BBox>,
    /// Whether the item has a `bbox` or `box` key at all, whatever its value: what
    /// task recognition goes by.
    pub(crate) boxed: bool,
    /// The span of the item's `objects` array, relative to the item.
    pub(crate) objects: Option<Range<usize>>,
}

/// At an item's `{` (at `start`): its probe.
fn probe<'a>(reader: &mut Reader<'a>, start: usize) -> Result<Probe<'a>, Fault> {
    let mut probe = Probe::default();
    let mut label = None;
    let mut score = None;
    reader.entries(|reader, key| {
        match &*key {
            "class" => probe.class = string(reader)?,
            "label" => label = string(reader)?,
            "confidence" => probe.confidence = number(reader)?,
            "score" => score = number(reader)?,
            "mask" => probe.mask = string(reader)?,
            "image" => probe.image_confidence = image_confidence(reader)?,
            "bbox" | "box" => {
                probe.boxed = true;
                let read = bbox(reader)?;
                probe.bbox = probe.bbox.or(read);
            }
            "objects" => {
                reader.peek();
                let at = reader.at();
                reader.skip()?;
                probe.objects = Some(at - start..reader.at() - start);
            }
            _ => reader.skip()?,
        }
        Ok(())
    })?;
    probe.class = probe.class.or(label);
    probe.confidence = probe.confidence.or(score);
    Ok(probe)
}

/// A string, or `None` (the value skipped) when the document has something else there.
fn string<'a>(reader: &mut Reader<'a>) -> Result<Option<Cow<'a, str>>, Fault> {
    if reader.peek() == Some(b'"') {
        return reader.string().map(Some);
    }
    reader.skip().map(|()| None)
}

/// A number, or `None` (the value skipped) when the document has something else there.
fn number(reader: &mut Reader<'_>) -> Result<Option<f64>, Fault> {
    if let Some(b'-' | b'0'..=b'9') = reader.peek() {
        return reader.float();
    }
    reader.skip().map(|()| None)
}

/// `image.confidence` of a batch job result.
fn image_confidence(reader: &mut Reader<'_>) -> Result<Option<f64>, Fault> {
    if reader.peek() != Some(b'{') {
        return reader.skip().map(|()| None);
    }
    let mut confidence = None;
    reader.entries(|reader, key| {
        if key == "confidence" {
            confidence = number(reader)?;
            Ok(())
        } else {
            reader.skip()
        }
    })?;
    Ok(confidence)
}

/// A bounding box, in the document's own units; `x` and `y` are the top-left corner.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BBox {
    /// Left edge.
    pub x: f64,
    /// Top edge.
    pub y: f64,
    /// Width.
    pub width: f64,
    /// Height.
    pub height: f64,
}

/// A box as `{x, y, width, height}` (or `w`, `h`), as corners `{x1, y1, x2, y2}` (or
/// `xmin`, `ymin`, `xmax`, `ymax`), or as COCO writes it, `[x, y, width, height]`;
/// `None` (the value skipped) for anything else.
fn bbox(reader: &mut Reader<'_>) -> Result<Option<BBox>, Fault> {
    match reader.peek() {
        Some(b'{') => {
            let mut at = [None::<f64>; 8];
            reader.entries(|reader, key| {
                let slot = match &*key {
                    "x" => 0,
                    "y" => 1,
                    "width" | "w" => 2,
                    "height" | "h" => 3,
                    "x1" | "xmin" => 4,
                    "y1" | "ymin" => 5,
                    "x2" | "xmax" => 6,
                    "y2" | "ymax" => 7,
                    _ => return reader.skip(),
                };
                at[slot] = number(reader)?;
                Ok(())
            })?;
            Ok(match at {
                [Some(x), Some(y), Some(width), Some(height), ..] => Some(BBox { x, y, width, height }),
                [_, _, _, _, Some(x1), Some(y1), Some(x2), Some(y2)] => Some(BBox {
                    x: x1,
                    y: y1,
                    width: x2 - x1,
                    height: y2 - y1,
                }),
                _ => None,
            })
        }
        Some(b'[') => {
            let mut numbers = [None::<f64>; 4];
            let mut count = 0;
            reader.items(|reader| {
                let read = number(reader)?;
                if let Some(slot) = numbers.get_mut(count) {
                    *slot = read;
                }
                count += 1;
                Ok(())
            })?;
            Ok(match (count, numbers) {
                (4, [Some(x), Some(y), Some(width), Some(height)]) => Some(BBox { x, y, width, height }),
                _ => None,
            })
        }
        _ => reader.skip().map(|()| None),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::Value;
    use serde_json::value::RawValue;

    use super::*;
    use crate::predictions::read::tests::json;

    /// A value for a field a prediction is judged by: mostly of the type it should
    /// be, sometimes anything else.
    fn field(of: BoxedStrategy<Value>) -> impl Strategy<Value = Option<Value>> {
        proptest::option::of(prop_oneof![3 => of, 1 => json()])
    }

    fn number() -> BoxedStrategy<Value> {
        prop_oneof![
            (-1e6f64..1e6).prop_map(Value::from),
            any::<i32>().prop_map(Value::from),
            Just(serde_json::from_str("1e400").unwrap_or(Value::Null)),
        ]
        .boxed()
    }

    fn bbox_value() -> BoxedStrategy<Value> {
        let keys = prop::sample::select(
            &[
                "x", "y", "width", "height", "w", "h", "x1", "y1", "x2", "y2", "xmin", "ymin", "xmax", "ymax", "z",
            ][..],
        );
        prop_oneof![
            proptest::collection::vec((keys, number()), 0..9)
                .prop_map(|entries| Value::Object(entries.into_iter().map(|(k, v)| (k.to_string(), v)).collect())),
            proptest::collection::vec(number(), 3..6).prop_map(Value::Array),
        ]
        .boxed()
    }

    /// An object that may be a prediction: its judged fields of any type, and others.
    fn item() -> impl Strategy<Value = Value> {
        let text = "[a-z\\\\\"é]{0,6}".prop_map(Value::String).boxed();
        (
            (
                field(text.clone()),
                field(text.clone()),
                field(number()),
                field(number()),
            ),
            (field(text), field(bbox_value()), field(bbox_value())),
            (
                field(
                    proptest::collection::vec(("[a-z]{1,3}", number()), 0..3)
                        .prop_map(|e| Value::Object(e.into_iter().collect()))
                        .boxed(),
                ),
                field(json().boxed()),
            ),
            proptest::collection::vec(("[a-z]{1,8}", json()), 0..3),
        )
            .prop_map(
                |((class, label, confidence, score), (mask, bbox, box_), (image, objects), others)| {
                    let mut object = serde_json::Map::new();
                    for (key, value) in others {
                        object.insert(key, value);
                    }
                    for (key, value) in [
                        ("class", class),
                        ("label", label),
                        ("confidence", confidence),
                        ("score", score),
                        ("mask", mask),
                        ("bbox", bbox),
                        ("box", box_),
                        ("image", image),
                        ("objects", objects),
                    ] {
                        if let Some(value) = value {
                            object.insert(key.to_string(), value);
                        }
                    }
                    Value::Object(object)
                },
            )
    }

    /// What a probe should say, read from serde_json's tree of the item.
    fn expected(item: &Value, text: &str) -> Option<Probe<'static>> {
        let object = item.as_object()?;
        let string = |key: &str| {
            object
                .get(key)
                .and_then(Value::as_str)
                .map(|s| Cow::Owned(s.to_string()))
        };
        let number = |value: Option<&Value>| value.and_then(Value::as_f64).filter(|f| f.is_finite());
        let bbox = |value: &Value| -> Option<BBox> {
            if let Some(array) = value.as_array() {
                let numbers: Vec<Option<f64>> = array.iter().map(|v| number(Some(v))).collect();
                return match numbers[..] {
                    [Some(x), Some(y), Some(width), Some(height)] => Some(BBox { x, y, width, height }),
                    _ => None,
                };
            }
            let mut at = [None; 8];
            for (key, value) in value.as_object()? {
                let slot = ["x", "y", "width", "height", "x1", "y1", "x2", "y2"]
                    .iter()
                    .chain(&["", "", "w", "h", "xmin", "ymin", "xmax", "ymax"])
                    .position(|k| k == key);
                if let Some(slot) = slot {
                    at[slot % 8] = number(Some(value));
                }
            }
            match at {
                [Some(x), Some(y), Some(width), Some(height), ..] => Some(BBox { x, y, width, height }),
                [_, _, _, _, Some(x1), Some(y1), Some(x2), Some(y2)] => Some(BBox {
                    x: x1,
                    y: y1,
                    width: x2 - x1,
                    height: y2 - y1,
                }),
                _ => None,
            }
        };
        // The first of `bbox` and `box`, in the text's order, that reads as a box.
        let first_box = object
            .iter()
            .filter(|(key, _)| *key == "bbox" || *key == "box")
            .find_map(|(_, value)| bbox(value));
        let objects = object.get("objects").map(|_| {
            // The raw text of `objects` within the item's text.
            let raw: std::collections::HashMap<String, &RawValue> = serde_json::from_str(text).unwrap();
            span(text, raw["objects"].get())
        });
        Some(Probe {
            class: string("class").or_else(|| string("label")),
            confidence: number(object.get("confidence")).or_else(|| number(object.get("score"))),
            mask: string("mask"),
            image_confidence: object.get("image").and_then(|image| number(image.get("confidence"))),
            bbox: first_box,
            boxed: object.contains_key("bbox") || object.contains_key("box"),
            objects,
        })
    }

    proptest! {
        #[test]
        fn items_are_read_where_serde_json_reads_them(items in proptest::collection::vec(json(), 0..6), pretty in any::<bool>()) {
            let array = Value::Array(items);
            let written = if pretty { serde_json::to_string_pretty(&array) } else { serde_json::to_string(&array) };
            let text = format!(" \n{}\t ", written.unwrap());
            let expected: Vec<&RawValue> = serde_json::from_str(&text).unwrap();
            let expected: Vec<&str> = expected.iter().map(|raw| raw.get()).collect();

            let scanned = scan_document(&text).unwrap().predictions.unwrap();
            let texts: Vec<&str> = scanned.items.iter().map(|(item, _)| *item).collect();
            prop_assert_eq!(texts, expected);
            prop_assert_eq!(&text[scanned.span], text.trim());
        }

        #[test]
        fn probes_read_the_fields_serde_json_sees(item in item(), pretty in any::<bool>()) {
            let text = if pretty { serde_json::to_string_pretty(&item) } else { serde_json::to_string(&item) }.unwrap();
            let document = format!(r#"{{"predictions": [{text}]}}"#);
            let scanned = scan_document(&document).unwrap().predictions.unwrap();
            let (read, probe) = &scanned.items[0];
            prop_assert_eq!(*read, text.as_str());
            prop_assert_eq!(probe.clone(), expected(&item, &text));
        }
    }
}
