//! What a sender controls, bounded: how long the body may take, how deep its JSON may
//! nest, and the metadata it attaches. Metadata travels on to receivers as
//! `X-Weir-Meta-*` headers, so a 1 MB form field accepted here would become a header
//! every receiver refuses (431) and a delivery that can only go dead; it is refused at
//! ingest instead, where the sender can still fix it.

use std::time::Duration;

use super::error::IngestError;
use crate::config::ServerConfig;

/// The limits ingest holds senders to (from `[server]`, read per request so a reload
/// applies at once).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenderLimits {
    /// Most bytes of body.
    pub max_body: u64,
    /// How long the body may take to arrive.
    pub body_timeout: Duration,
    /// Deepest nesting of arrays and objects in the predictions.
    pub max_json_depth: usize,
    /// Most metadata entries.
    pub max_metadata_entries: usize,
    /// Longest metadata key.
    pub max_metadata_key: usize,
    /// Longest metadata value.
    pub max_metadata_value: usize,
}

impl SenderLimits {
    /// The limits `[server]` sets.
    pub fn of(server: &ServerConfig) -> SenderLimits {
        SenderLimits {
            max_body: server.max_body.0,
            body_timeout: server.body_timeout.0,
            max_json_depth: server.max_json_depth,
            max_metadata_entries: server.max_metadata_entries,
            max_metadata_key: server.max_metadata_key,
            max_metadata_value: server.max_metadata_value,
        }
    }

    /// Checks the metadata a sender gave (headers and form fields together).
    pub fn check_metadata(&self, metadata: &[(String, String)]) -> Result<(), IngestError> {
        if metadata.len() > self.max_metadata_entries {
            return Err(IngestError::Unprocessable(format!(
                "the event carries {} metadata entries; the limit is {} (server.max_metadata_entries): send fewer",
                metadata.len(),
                self.max_metadata_entries
            )));
        }
        for (key, value) in metadata {
            if key.is_empty() || key.len() > self.max_metadata_key {
                return Err(IngestError::Unprocessable(format!(
                    "a metadata key is {} bytes; keys are 1 to {} bytes (server.max_metadata_key)",
                    key.len(),
                    self.max_metadata_key
                )));
            }
            if value.len() > self.max_metadata_value {
                return Err(IngestError::Unprocessable(format!(
                    "metadata {:?} is {} bytes; the limit is {} (server.max_metadata_value), since it travels to \
                     receivers as a header: send large values as a file part instead",
                    crate::text::cap(key.clone(), 64),
                    value.len(),
                    self.max_metadata_value
                )));
            }
        }
        Ok(())
    }
}

/// Whether JSON `text` nests arrays and objects deeper than `limit`: one pass over the
/// bytes, skipping strings, stopping at the first level past the limit. Run before the
/// document is parsed, so no parser ever recurses into a hostile depth.
///
/// Every event's predictions pass through here, so it is quick about it: a document
/// with no more than `limit` opening brackets anywhere (a typical one has a dozen)
/// cannot be too deep, and that count is a loop the compiler vectorises
/// ([`openings_past`]); otherwise strings are skipped with a vectorised search for
/// their closing quote.
pub fn too_deep(text: &str, limit: usize) -> bool {
    let bytes = text.as_bytes();
    if !openings_past(bytes, limit) {
        return false;
    }
    let mut depth = 0usize;
    let mut at = 0;
    while let Some(&byte) = bytes.get(at) {
        at += 1;
        match byte {
            b'"' => loop {
                // To the string's closing quote, past escaped characters.
                let rest = bytes.get(at..).unwrap_or_default();
                match memchr::memchr2(b'"', b'\\', rest) {
                    Some(found) if bytes[at + found] == b'\\' => at += found + 2,
                    Some(found) => {
                        at += found + 1;
                        break;
                    }
                    // Unterminated: not too deep; the parser says what is wrong.
                    None => return false,
                }
            },
            b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// Whether `bytes` hold more than `limit` opening brackets (`[` or `{`, in strings too).
///
/// Counted in blocks of 255 bytes into a byte-wide sum, a shape the compiler turns into
/// compares and subtracts of 16 bytes at a time: under 300 instructions for a 1.2 KB
/// document, where searching bracket by bracket (`memchr2_iter`, restarted at every
/// find) took 2,900. Stops at the first block past the limit.
fn openings_past(bytes: &[u8], limit: usize) -> bool {
    let mut openings = 0usize;
    for block in bytes.chunks(255) {
        // `[` is 0x5b and `{` 0x7b: setting bit 0x20 makes both `{` and no other byte.
        let found = block
            .iter()
            .fold(0u8, |found, &byte| found + u8::from(byte | 0x20 == b'{'));
        openings += usize::from(found);
        if openings > limit {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_counts_arrays_and_objects_but_not_brackets_in_strings() {
        assert!(!too_deep(r#"{"a":[{"b":[1,2]}]}"#, 4));
        assert!(too_deep(r#"{"a":[{"b":[1,2]}]}"#, 3));
        assert!(!too_deep(r#"{"a":"[[[[[[[[\"[[[["}"#, 1));
        assert!(too_deep(&"[".repeat(10_000), 64));
        assert!(!too_deep(&format!("{}{}", "[".repeat(64), "]".repeat(64)), 64));
        // Many brackets, none deep: past the quick count, the full pass decides.
        let wide = format!("[{}]", vec![r#"{"a":[1]}"#; 100].join(","));
        assert!(!too_deep(&wide, 3) && too_deep(&wide, 2));
        // Brackets and escaped quotes inside strings never count.
        let quoted = format!(r#"[{{"s":"\"{}\\"}}]"#, "[{".repeat(100));
        assert!(!too_deep(&quoted, 2) && too_deep(&quoted, 1));
        assert!(!too_deep(r#"["unterminated [[[["#, 1));
        // A string cut short after a backslash, past the quick count.
        assert!(!too_deep("[][][\"\\", 1));
    }

    #[test]
    fn the_quick_count_counts_every_opening_bracket_and_nothing_else() {
        // Every byte value, in blocks of every length around the 255-byte step.
        for len in [0, 1, 254, 255, 256, 510, 511, 1000] {
            let bytes: Vec<u8> = (0..len).map(|n| (n * 7 % 256) as u8).collect();
            let openings = bytes.iter().filter(|&&b| b == b'[' || b == b'{').count();
            assert!(!openings_past(&bytes, openings), "{len}");
            if openings > 0 {
                assert!(openings_past(&bytes, openings - 1), "{len}");
            }
        }
        // A block of nothing but brackets: 255 in one byte-wide sum, not wrapped.
        let brackets = b"[{".repeat(400);
        assert!(openings_past(&brackets, 799) && !openings_past(&brackets, 800));
    }

    #[test]
    fn metadata_past_a_limit_is_refused_saying_which() {
        let limits = SenderLimits::of(&ServerConfig::default());
        let big = vec![("camera".to_string(), "x".repeat(5000))];
        let error = limits.check_metadata(&big).unwrap_err().to_string();
        assert!(
            error.contains("\"camera\" is 5000 bytes") && error.contains("server.max_metadata_value"),
            "{error}"
        );
        let many: Vec<_> = (0..65).map(|n| (format!("k{n}"), "v".to_string())).collect();
        assert!(
            limits
                .check_metadata(&many)
                .unwrap_err()
                .to_string()
                .contains("65 metadata entries")
        );
        assert!(limits.check_metadata(&many[..64]).is_ok());
    }
}
