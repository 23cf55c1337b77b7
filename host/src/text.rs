//! Text that others supply (a guest's drop reason, error or log message, a sender's
//! field name), made safe to carry and to show.
//!
//! Two rules, applied where such text enters Weir and where it leaves for a terminal or
//! a log file:
//!
//! - [`cap`]: a guest's reason or message is bounded ([`MAX_GUEST_TEXT`]), and says it
//!   was cut: a 100 MB drop reason must not travel into an ingest answer and the log.
//! - [`escape_controls`]: control characters are written as escapes (`\n`, `\u{1b}`), so
//!   a newline in a guest's message can never start a line that reads as Weir's own,
//!   and an escape sequence can never recolour or rewrite an operator's terminal.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Longest drop reason or error message kept from a guest, in bytes.
pub const MAX_GUEST_TEXT: usize = 1024;

/// `text` cut to at most `max` bytes (on a character boundary) plus a note saying how
/// long it was; unchanged when it fits.
pub fn cap(text: String, max: usize) -> String {
    if text.len() <= max {
        return text;
    }
    let total = text.len();
    let mut kept = text;
    kept.truncate(kept.floor_char_boundary(max));
    let _ = write!(kept, " [cut: {total} bytes in all, {max} kept]");
    kept
}

/// Whether a character must be escaped to be shown: the C0 and C1 controls, DEL, and
/// the Unicode line and paragraph separators (which some viewers break lines at).
fn must_escape(c: char) -> bool {
    c.is_control() || c == '\u{2028}' || c == '\u{2029}'
}

/// `text` with every control character escaped (`\n`, `\r`, `\t`, `\u{..}`), borrowed
/// when there is none.
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(must_escape) {
        return Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if must_escape(c) {
            escaped.extend(c.escape_default());
        } else {
            escaped.push(c);
        }
    }
    Cow::Owned(escaped)
}

/// One log line, whatever wrote it, with control characters escaped but for its final
/// line end (and the terminal colours Weir's own formatter adds, when `colours`).
pub fn escape_log_line(line: &str, colours: bool) -> Cow<'_, str> {
    let (body, end) = match line.strip_suffix('\n') {
        Some(body) => (body, "\n"),
        None => (line, ""),
    };
    let escape = |c: char| must_escape(c) && !(colours && c == '\u{1b}');
    if !body.chars().any(escape) {
        return Cow::Borrowed(line);
    }
    let mut escaped = String::with_capacity(line.len() + 8);
    for c in body.chars() {
        if escape(c) {
            escaped.extend(c.escape_default());
        } else {
            escaped.push(c);
        }
    }
    escaped.push_str(end);
    Cow::Owned(escaped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_long_text_and_says_so() {
        assert_eq!(cap("short".into(), 10), "short");
        let capped = cap("é".repeat(1000), 11);
        assert_eq!(capped, "ééééé [cut: 2000 bytes in all, 11 kept]");
    }

    #[test]
    fn escapes_every_control_character() {
        assert_eq!(escape_controls("plain text"), Cow::Borrowed("plain text"));
        assert_eq!(
            escape_controls("a\nb\r\tc\u{1b}[31md\u{85}e\u{2028}"),
            "a\\nb\\r\\tc\\u{1b}[31md\\u{85}e\\u{2028}"
        );
    }

    #[test]
    fn a_log_line_keeps_its_end_and_loses_forged_ones() {
        let forged = "INFO plugin: x\n2030-01-01T00:00:00Z INFO FORGED\n";
        assert_eq!(
            escape_log_line(forged, false),
            "INFO plugin: x\\n2030-01-01T00:00:00Z INFO FORGED\n"
        );
        assert_eq!(
            escape_log_line("\u{1b}[32mINFO\u{1b}[0m ok\n", true),
            "\u{1b}[32mINFO\u{1b}[0m ok\n"
        );
        assert_eq!(escape_log_line("\u{1b}[32mINFO\n", false), "\\u{1b}[32mINFO\n");
    }
}
