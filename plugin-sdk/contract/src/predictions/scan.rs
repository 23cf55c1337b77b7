//! Zero-copy reading of JSON: objects as ordered (key, raw value) entries, arrays as
//! raw items, and the few fields a prediction is judged by, all borrowed from the
//! document text.
//!
//! Borrowing is what makes narrowing cheap: a kept prediction is copied to the output
//! as the exact text it came in as, never parsed into a tree and printed again.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;

/// Visitor methods that read the given kinds of JSON value as `$none`, consuming them.
macro_rules! reads_as {
    ($none:expr; numbers) => {
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($none)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($none)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($none)
        }
    };
    ($none:expr; strings) => {
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok($none)
        }
    };
    ($none:expr; maps) => {
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok($none)
        }
    };
    ($none:expr; others) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($none)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($none)
        }
        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok($none)
        }
    };
}

/// An object key, borrowed from the text when it has no escapes. (serde's own
/// `Cow<str>` always copies.)
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

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
pub(crate) fn scan_document(text: &str) -> Result<Scanned<'_>, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let scanned = match text.trim_start().as_bytes().first() {
        Some(b'{') => deserializer.deserialize_map(DocumentVisitor { text })?,
        Some(b'[') => {
            let probes = deserializer.deserialize_seq(ItemsVisitor)?;
            let (items, span) = items_of(text, text.len() - text.trim_start().len(), probes);
            Scanned {
                predictions: Some(ScannedList { span, items }),
                ..Scanned::default()
            }
        }
        _ => {
            IgnoredAny::deserialize(&mut deserializer)?;
            Scanned::default()
        }
    };
    deserializer.end()?;
    Ok(scanned)
}

struct DocumentVisitor<'a> {
    text: &'a str,
}

impl<'de> Visitor<'de> for DocumentVisitor<'de> {
    type Value = Scanned<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut scanned = Scanned::default();
        let mut entries: Entries<'de> = Vec::with_capacity(map.size_hint().unwrap_or(8));
        while let Some(key) = map.next_key::<Key<'de>>()?.map(|key| key.0) {
            // A list is read item by item in this same pass; its span is found from the
            // key's position, which needs the key borrowed from the text (it always is,
            // unless the sender escaped characters of `predictions` itself).
            let list = match (&key, &*key) {
                (Cow::Borrowed(name), "predictions" | "jobResults") if scanned.entries.is_none() => Some(*name),
                _ => None,
            };
            let Some(name) = list else {
                entries.push((key, map.next_value::<&'de RawValue>()?.get()));
                continue;
            };
            let probes = match map.next_value::<Lenient<Items<'de>>>()?.0 {
                Some(items) => items.0,
                None => continue,
            };
            // JSON allows only whitespace and `:` between a key and its value.
            let after_key = span(self.text, name).end;
            let open = after_key + self.text[after_key..].find('[').unwrap_or(0);
            let (items, span) = items_of(self.text, open, probes);
            entries.push((key, &self.text[span.clone()]));
            let list = Some(ScannedList { span, items });
            if name == "predictions" {
                scanned.predictions = list;
            } else {
                scanned.jobs = list;
            }
        }
        scanned.entries = Some(entries);
        Ok(scanned)
    }
}

/// The items of an array as the pass over the document read them: the probe of each
/// object item. Their text is found afterwards by [`items_of`], from the array's
/// brackets and commas: serde reports no positions, and reading each item first as
/// raw text and then again for its probe scanned every prediction twice.
struct Items<'a>(Vec<Option<ProbeWithObjects<'a>>>);

struct ItemsVisitor;

impl<'de> Visitor<'de> for ItemsVisitor {
    type Value = Vec<Option<ProbeWithObjects<'de>>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array")
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(8));
        while let Some(item) = seq.next_element::<Item<'de>>()? {
            items.push(item.0);
        }
        Ok(items)
    }
}

/// One array item: its probe when it is an object; any other value is consumed.
struct Item<'a>(Option<ProbeWithObjects<'a>>);

impl<'de> Deserialize<'de> for Item<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ItemVisitor;
        impl<'de> Visitor<'de> for ItemVisitor {
            type Value = Item<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                ProbeVisitor.visit_map(map).map(|probe| Item(Some(probe)))
            }
            reads_as!(Item(None); numbers);
            reads_as!(Item(None); strings);
            reads_as!(Item(None); others);
        }
        deserializer.deserialize_any(ItemVisitor)
    }
}

/// Each item of the array whose `[` is at `open` in `text` as its text and its probe,
/// and the array's span. `text` is valid JSON (the pass that read `probes` parsed it),
/// so brackets, commas and string quotes are all that need telling apart.
fn items_of<'a>(
    text: &'a str,
    open: usize,
    probes: Vec<Option<ProbeWithObjects<'a>>>,
) -> (Vec<(&'a str, Option<Probe<'a>>)>, Range<usize>) {
    let (texts, end) = split_items(text, open);
    debug_assert_eq!(texts.len(), probes.len(), "one text per item");
    let items = texts
        .into_iter()
        .zip(probes)
        .map(|(item, probe)| {
            let probe = probe.map(|ProbeWithObjects { mut probe, objects_raw }| {
                probe.objects = objects_raw.map(|objects| span(item, objects.get()));
                probe
            });
            (item, probe)
        })
        .collect();
    (items, open..end)
}

/// The items' texts of the array whose `[` is at `open`, and the offset just past its
/// `]`. Every event's predictions pass through here: bytes that are neither quotes,
/// brackets nor commas (whitespace, numbers, literals) are skipped by table lookup, a
/// few instructions each.
fn split_items(text: &str, open: usize) -> (Vec<&str>, usize) {
    let bytes = text.as_bytes();
    let mut items = Vec::new();
    let mut depth = 0usize;
    let mut at = skip_whitespace(bytes, open + 1);
    if bytes.get(at) == Some(&b']') {
        return (items, at + 1);
    }
    let mut start = at;
    loop {
        while let Some(&byte) = bytes.get(at)
            && CLASS[usize::from(byte)] == OTHER
        {
            at += 1;
        }
        let Some(&byte) = bytes.get(at) else {
            return (items, at);
        };
        match CLASS[usize::from(byte)] {
            QUOTE => {
                at = string_end(bytes, at + 1);
                continue;
            }
            OPEN => depth += 1,
            CLOSE | COMMA if depth > 0 => {
                if byte != b',' {
                    depth -= 1;
                }
            }
            // A comma between items, or the array's own `]`.
            _ => {
                items.push(text[start..at].trim_end());
                if byte == b']' {
                    return (items, at + 1);
                }
                at = skip_whitespace(bytes, at + 1);
                start = at;
                continue;
            }
        }
        at += 1;
    }
}

/// What a byte is to [`split_items`] outside strings.
const OTHER: u8 = 0;
const QUOTE: u8 = 1;
const OPEN: u8 = 2;
const CLOSE: u8 = 3;
const COMMA: u8 = 4;

static CLASS: [u8; 256] = {
    let mut class = [OTHER; 256];
    class[b'"' as usize] = QUOTE;
    class[b'[' as usize] = OPEN;
    class[b'{' as usize] = OPEN;
    class[b']' as usize] = CLOSE;
    class[b'}' as usize] = CLOSE;
    class[b',' as usize] = COMMA;
    class
};

/// The offset of the first byte at or after `at` that is not JSON whitespace.
fn skip_whitespace(bytes: &[u8], mut at: usize) -> usize {
    while let Some(b' ' | b'\n' | b'\r' | b'\t') = bytes.get(at) {
        at += 1;
    }
    at
}

/// The offset just past the closing quote of the string whose contents start at `at`.
fn string_end(bytes: &[u8], mut at: usize) -> usize {
    while let Some(&byte) = bytes.get(at) {
        at += 1;
        match byte {
            b'\\' => at += 1,
            b'"' => return at,
            _ => {}
        }
    }
    at
}

impl<'de> Deserialize<'de> for Lenient<Items<'de>> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct LenientItems;
        impl<'de> Visitor<'de> for LenientItems {
            type Value = Lenient<Items<'de>>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                Ok(Lenient(Some(Items(ItemsVisitor.visit_seq(seq)?))))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            reads_as!(Lenient(None); numbers);
            reads_as!(Lenient(None); strings);
            reads_as!(Lenient(None); maps);
        }
        deserializer.deserialize_any(LenientItems)
    }
}

/// The entries of a JSON object, or `None` when `json` is not an object.
pub(crate) fn object_entries(json: &str) -> Option<Entries<'_>> {
    if !json.trim_start().starts_with('{') {
        return None;
    }
    let mut deserializer = serde_json::Deserializer::from_str(json);
    deserializer.deserialize_map(EntriesVisitor).ok()
}

struct EntriesVisitor;

impl<'de> Visitor<'de> for EntriesVisitor {
    type Value = Entries<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(8));
        while let Some(key) = map.next_key::<Key<'de>>()?.map(|key| key.0) {
            entries.push((key, map.next_value::<&'de RawValue>()?.get()));
        }
        Ok(entries)
    }
}

/// The items of a JSON array, or `None` when `json` is not an array.
pub(crate) fn array_items(json: &str) -> Option<Vec<(&str, Option<Probe<'_>>)>> {
    if !json.trim_start().starts_with('[') {
        return None;
    }
    let mut deserializer = serde_json::Deserializer::from_str(json);
    let probes = deserializer.deserialize_seq(ItemsVisitor).ok()?;
    Some(items_of(json, json.len() - json.trim_start().len(), probes).0)
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

struct ProbeWithObjects<'a> {
    probe: Probe<'a>,
    objects_raw: Option<&'a RawValue>,
}

struct ProbeVisitor;

impl<'de> Visitor<'de> for ProbeVisitor {
    type Value = ProbeWithObjects<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a prediction object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut probe = Probe::default();
        let mut label = None;
        let mut score = None;
        let mut objects_raw = None;
        while let Some(key) = map.next_key::<Key<'de>>()?.map(|key| key.0) {
            match &*key {
                "class" => probe.class = map.next_value::<Lenient<Cow<'de, str>>>()?.0,
                "label" => label = map.next_value::<Lenient<Cow<'de, str>>>()?.0,
                "confidence" => probe.confidence = map.next_value::<Lenient<f64>>()?.0,
                "score" => score = map.next_value::<Lenient<f64>>()?.0,
                "mask" => probe.mask = map.next_value::<Lenient<Cow<'de, str>>>()?.0,
                "image" => probe.image_confidence = map.next_value::<ImageConfidence>()?.0,
                "bbox" | "box" => {
                    probe.boxed = true;
                    probe.bbox = probe.bbox.or(map.next_value::<Lenient<BBox>>()?.0);
                }
                "objects" => objects_raw = Some(map.next_value::<&'de RawValue>()?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        probe.class = probe.class.or(label);
        probe.confidence = probe.confidence.or(score);
        Ok(ProbeWithObjects { probe, objects_raw })
    }
}

/// A value of type `T`, or `None` when the document has something else there.
struct Lenient<T>(Option<T>);

impl<'de> Deserialize<'de> for Lenient<Cow<'de, str>> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StrVisitor;
        impl<'de> Visitor<'de> for StrVisitor {
            type Value = Lenient<Cow<'de, str>>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Lenient(Some(Cow::Borrowed(v))))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Lenient(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Lenient(Some(Cow::Owned(v))))
            }
            reads_as!(Lenient(None); numbers);
            reads_as!(Lenient(None); maps);
            reads_as!(Lenient(None); others);
        }
        deserializer.deserialize_any(StrVisitor)
    }
}

impl<'de> Deserialize<'de> for Lenient<f64> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NumberVisitor;
        impl<'de> Visitor<'de> for NumberVisitor {
            type Value = Lenient<f64>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(Lenient(Some(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Lenient(Some(v as f64)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Lenient(Some(v as f64)))
            }
            reads_as!(Lenient(None); strings);
            reads_as!(Lenient(None); maps);
            reads_as!(Lenient(None); others);
        }
        deserializer.deserialize_any(NumberVisitor)
    }
}

/// `image.confidence` of a batch job result.
struct ImageConfidence(Option<f64>);

impl<'de> Deserialize<'de> for ImageConfidence {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ImageVisitor;
        impl<'de> Visitor<'de> for ImageVisitor {
            type Value = ImageConfidence;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut confidence = None;
                while let Some(key) = map.next_key::<Key<'de>>()?.map(|key| key.0) {
                    if key == "confidence" {
                        confidence = map.next_value::<Lenient<f64>>()?.0;
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(ImageConfidence(confidence))
            }
            reads_as!(ImageConfidence(None); strings);
            reads_as!(ImageConfidence(None); numbers);
            reads_as!(ImageConfidence(None); others);
        }
        deserializer.deserialize_any(ImageVisitor)
    }
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

impl<'de> Deserialize<'de> for Lenient<BBox> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BoxVisitor;
        impl<'de> Visitor<'de> for BoxVisitor {
            type Value = Lenient<BBox>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any value")
            }
            /// `{x, y, width, height}` (or `w`, `h`), or corners `{x1, y1, x2, y2}` (or
            /// `xmin`, `ymin`, `xmax`, `ymax`).
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut at = [None::<f64>; 8];
                while let Some(key) = map.next_key::<Key<'de>>()?.map(|key| key.0) {
                    let slot = match &*key {
                        "x" => 0,
                        "y" => 1,
                        "width" | "w" => 2,
                        "height" | "h" => 3,
                        "x1" | "xmin" => 4,
                        "y1" | "ymin" => 5,
                        "x2" | "xmax" => 6,
                        "y2" | "ymax" => 7,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                            continue;
                        }
                    };
                    at[slot] = map.next_value::<Lenient<f64>>()?.0;
                }
                let bbox = match at {
                    [Some(x), Some(y), Some(width), Some(height), ..] => Some(BBox { x, y, width, height }),
                    [_, _, _, _, Some(x1), Some(y1), Some(x2), Some(y2)] => Some(BBox {
                        x: x1,
                        y: y1,
                        width: x2 - x1,
                        height: y2 - y1,
                    }),
                    _ => None,
                };
                Ok(Lenient(bbox))
            }
            /// `[x, y, width, height]`, as COCO writes boxes.
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut numbers = Vec::with_capacity(4);
                while let Some(number) = seq.next_element::<Lenient<f64>>()? {
                    numbers.push(number.0);
                }
                Ok(Lenient(match numbers[..] {
                    [Some(x), Some(y), Some(width), Some(height)] => Some(BBox { x, y, width, height }),
                    _ => None,
                }))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            reads_as!(Lenient(None); numbers);
            reads_as!(Lenient(None); strings);
        }
        deserializer.deserialize_any(BoxVisitor)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::Value;

    use super::*;

    /// Any JSON value a few levels deep; strings of any characters (quotes, brackets,
    /// commas, backslashes and all).
    fn json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<String>().prop_map(Value::String),
            "[\\[\\]{},:\"\\\\ ]{0,6}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 5, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                proptest::collection::vec(("[a-z\\[\\]\",]{0,4}", inner), 0..5)
                    .prop_map(|entries| Value::Object(entries.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn items_are_split_where_serde_json_reads_them(items in proptest::collection::vec(json(), 0..6), pretty in any::<bool>()) {
            let array = Value::Array(items);
            let written = if pretty { serde_json::to_string_pretty(&array) } else { serde_json::to_string(&array) };
            let text = format!(" \n{}\t ", written.unwrap());
            let expected: Vec<&RawValue> = serde_json::from_str(&text).unwrap();
            let expected: Vec<&str> = expected.iter().map(|raw| raw.get()).collect();

            let open = text.len() - text.trim_start().len();
            let (texts, end) = split_items(&text, open);
            prop_assert_eq!(texts, expected);
            prop_assert_eq!(&text[open..end], text.trim());

            // Each item's probe is what reading that item alone gives.
            for (item, probe) in array_items(&text).unwrap() {
                let alone = Item::deserialize(&mut serde_json::Deserializer::from_str(item)).unwrap();
                prop_assert_eq!(probe, alone.0.map(|read| read.probe));
            }
        }
    }
}
