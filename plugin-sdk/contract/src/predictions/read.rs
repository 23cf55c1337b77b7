//! A checking JSON reader that knows where it is: every value it reads or skips is
//! validated as JSON, and the reader's offset tells the caller where each value starts
//! and ends in the text, so a scan can borrow the exact text of what it passes over.
//!
//! Every event's predictions are read through here, once at ingest and again by any
//! filter that reads the document itself, so it is written for speed: whitespace,
//! strings and numbers are skipped by tight loops (eight bytes at a time where they
//! can be), keys without escapes are borrowed from the text, numbers are converted
//! only where a probe needs them, and nothing is allocated unless a string has
//! escapes. serde_json driven through visitors, with a second pass to find each item's
//! text, spent 42,000 instructions on a 1.2 KB document of six detections; this,
//! 23,600 (a glance, which only checks the grammar and reads the task, 15,700).
//!
//! It accepts what serde_json accepts (a property test holds it to that) and says
//! what is wrong in serde_json's words, line and column. Strings it skips are checked
//! against JSON's grammar only, as serde_json skips them, so half a surrogate pair
//! (`"\ud800"`) passes there; strings it decodes (object keys, the probes' strings)
//! are refused for it, as serde_json refuses them.

use std::borrow::Cow;
use std::fmt;

/// The deepest nesting of arrays and objects read, as in serde_json.
const MAX_DEPTH: usize = 128;

/// Why a text is not JSON, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReadError {
    what: &'static str,
    line: usize,
    column: usize,
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at line {} column {}", self.what, self.line, self.column)
    }
}

/// A read failed; the reader holds why ([`Reader::fault`]). Kept apart from the
/// error itself so that every read returns a small `Result`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fault;

/// A position in a JSON text, and how deep in arrays and objects it is.
pub(crate) struct Reader<'a> {
    text: &'a str,
    at: usize,
    depth: usize,
    /// What the last failed read found wrong, and how many bytes it had read.
    fault: (&'static str, usize),
    /// Whether a string skipped (not decoded) had an escape ([`Reader::skipped_escapes`]).
    skipped_escapes: bool,
}

/// Bytes that end a run of plain string contents: the closing quote, a backslash, and
/// the control characters JSON does not allow unescaped.
static STRING_STOP: [bool; 256] = {
    let mut stop = [false; 256];
    let mut byte = 0;
    while byte < 0x20 {
        stop[byte] = true;
        byte += 1;
    }
    stop[b'"' as usize] = true;
    stop[b'\\' as usize] = true;
    stop
};

impl<'a> Reader<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Reader {
            text,
            at: 0,
            depth: 0,
            fault: ("", 0),
            skipped_escapes: false,
        }
    }

    /// The offset of the next byte to read.
    pub(crate) fn at(&self) -> usize {
        self.at
    }

    /// The next byte that is not whitespace, which becomes the next byte to read.
    #[inline]
    pub(crate) fn peek(&mut self) -> Option<u8> {
        let bytes = self.text.as_bytes();
        match bytes.get(self.at) {
            Some(b' ' | b'\n' | b'\r' | b'\t') => {}
            other => return other.copied(),
        }
        self.at = whitespace_end(bytes, self.at);
        bytes.get(self.at).copied()
    }

    /// Checks that nothing but whitespace is left.
    pub(crate) fn end(&mut self) -> Result<(), Fault> {
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(self.fail("trailing characters")),
        }
    }

    /// The text from `start` to the reader's position.
    pub(crate) fn since(&self, start: usize) -> &'a str {
        &self.text[start..self.at]
    }

    /// Notes that the byte at the reader's position is wrong.
    fn fail(&mut self, what: &'static str) -> Fault {
        self.error(what, self.at + 1)
    }

    /// Notes that the text ends too soon.
    fn eof(&mut self, what: &'static str) -> Fault {
        self.error(what, self.text.len())
    }

    /// Notes `what`, placed as serde_json places it: `until` bytes read, the last one
    /// the column counted to.
    fn error(&mut self, what: &'static str, until: usize) -> Fault {
        self.fault = (what, until);
        Fault
    }

    /// What made the last read fail.
    pub(crate) fn fault(&self) -> ReadError {
        let (what, until) = self.fault;
        let before = &self.text.as_bytes()[..until.min(self.text.len())];
        let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        ReadError {
            what,
            line: before.iter().filter(|&&b| b == b'\n').count() + 1,
            column: until - line_start,
        }
    }

    /// Reads past one value of any kind, checking it.
    ///
    /// Containers are walked in one loop, their kinds kept as bits (`1` for an object)
    /// of a word indexed by depth below where the skip began, rather than by recursion
    /// through [`Reader::entries`] and [`Reader::items`]: a skipped document costs a
    /// loop turn per token, not a call and a closure. The checks, their order and
    /// their words are those of `entries` and `items`, so a fault is the same.
    pub(crate) fn skip(&mut self) -> Result<(), Fault> {
        // Deeper than MAX_DEPTH is refused by `enter`, so 128 bits are enough.
        const _: () = assert!(MAX_DEPTH <= 128);
        let base = self.depth;
        let mut objects: u128 = 0;
        loop {
            // At a value.
            match self.peek() {
                Some(b'"') => self.skip_string()?,
                Some(b'{') => {
                    self.enter()?;
                    objects |= 1 << (self.depth - base - 1);
                    match self.peek() {
                        Some(b'"') => {
                            self.key()?;
                            continue;
                        }
                        Some(b'}') => self.leave()?,
                        Some(_) => return Err(self.fail("key must be a string")),
                        None => return Err(self.eof("EOF while parsing an object")),
                    }
                }
                Some(b'[') => {
                    self.enter()?;
                    objects &= !(1 << (self.depth - base - 1));
                    match self.peek() {
                        Some(b']') => self.leave()?,
                        Some(_) => continue,
                        None => return Err(self.eof("EOF while parsing a list")),
                    }
                }
                Some(b't') => self.literal(b"true")?,
                Some(b'f') => self.literal(b"false")?,
                Some(b'n') => self.literal(b"null")?,
                Some(b'-' | b'0'..=b'9') => self.number()?,
                Some(_) => return Err(self.fail("expected value")),
                None => return Err(self.eof("EOF while parsing a value")),
            }
            // Past a value: close the containers it ended, up to one with more in it.
            loop {
                if self.depth == base {
                    return Ok(());
                }
                if objects >> (self.depth - base - 1) & 1 == 1 {
                    match self.peek() {
                        Some(b',') => {
                            self.at += 1;
                            match self.peek() {
                                Some(b'"') => {
                                    self.key()?;
                                    break;
                                }
                                Some(b'}') => return Err(self.fail("trailing comma")),
                                Some(_) => return Err(self.fail("key must be a string")),
                                None => return Err(self.eof("EOF while parsing a value")),
                            }
                        }
                        Some(b'}') => self.leave()?,
                        Some(_) => return Err(self.fail("expected `,` or `}`")),
                        None => return Err(self.eof("EOF while parsing an object")),
                    }
                } else {
                    match self.peek() {
                        Some(b',') => {
                            self.at += 1;
                            if self.peek() == Some(b']') {
                                return Err(self.fail("trailing comma"));
                            }
                            break;
                        }
                        Some(b']') => self.leave()?,
                        Some(_) => return Err(self.fail("expected `,` or `]`")),
                        None => return Err(self.eof("EOF while parsing a list")),
                    }
                }
            }
        }
    }

    /// At a key's opening quote: past the key and its colon. A key with escapes is
    /// decoded (and dropped), so that it is refused where [`Reader::entries`], which
    /// decodes keys, refuses it.
    fn key(&mut self) -> Result<(), Fault> {
        let start = self.at + 1;
        if self.string_end()?
            && let Err((until, what)) = unescape(self.text, start, self.at - 1)
        {
            return Err(self.error(what, until));
        }
        self.colon()
    }

    /// Past the colon after a key.
    #[inline]
    fn colon(&mut self) -> Result<(), Fault> {
        match self.peek() {
            Some(b':') => {
                self.at += 1;
                Ok(())
            }
            Some(_) => Err(self.fail("expected `:`")),
            None => Err(self.eof("EOF while parsing an object")),
        }
    }

    fn literal(&mut self, word: &'static [u8]) -> Result<(), Fault> {
        let rest = &self.text.as_bytes()[self.at..];
        if rest.starts_with(word) {
            self.at += word.len();
            return Ok(());
        }
        // Past the bytes that match, to the first that does not.
        self.at += rest.iter().zip(word).take_while(|(a, b)| a == b).count();
        if self.at == self.text.len() {
            Err(self.eof("EOF while parsing a value"))
        } else {
            Err(self.fail("expected ident"))
        }
    }

    /// Past a number, checked against JSON's grammar (its digits are not read).
    pub(crate) fn number(&mut self) -> Result<(), Fault> {
        self.read_number::<Grammar>().map(drop)
    }

    /// A number's value, or `None` when it is too large for an `f64`.
    pub(crate) fn float(&mut self) -> Result<Option<f64>, Fault> {
        let start = self.at;
        let number = self.read_number::<Decimal>()?;
        if let Some(value) = number.exact() {
            return Ok(Some(value));
        }
        let text = &self.text[start..self.at];
        Ok(text.parse::<f64>().ok().filter(|value| value.is_finite()))
    }

    /// Past a number, checked against JSON's grammar; its digits as read into `D`.
    fn read_number<D: Digits>(&mut self) -> Result<D, Fault> {
        let bytes = self.text.as_bytes();
        let mut at = self.at;
        let negative = bytes.get(at) == Some(&b'-');
        if negative {
            at += 1;
        }
        let mut number = D::new(negative);
        match bytes.get(at) {
            Some(b'0') => {
                at += 1;
                if let Some(b'0'..=b'9') = bytes.get(at) {
                    self.at = at;
                    return Err(self.fail("invalid number"));
                }
            }
            Some(b'1'..=b'9') => at = number.digits(bytes, at),
            Some(_) => {
                self.at = at;
                return Err(self.fail("invalid number"));
            }
            None => return Err(self.eof("EOF while parsing a value")),
        }
        if bytes.get(at) == Some(&b'.') {
            let first = at + 1;
            at = self.some_digits(first)?;
            at = number.fraction(bytes, first, at);
        }
        if let Some(b'e' | b'E') = bytes.get(at) {
            at += 1;
            let negative = match bytes.get(at) {
                Some(b'-') => {
                    at += 1;
                    true
                }
                Some(b'+') => {
                    at += 1;
                    false
                }
                _ => false,
            };
            let first = at;
            at = self.some_digits(first)?;
            number.exponent(&bytes[first..at], negative);
        }
        self.at = at;
        Ok(number)
    }

    /// Past at least one digit from `at`.
    fn some_digits(&mut self, at: usize) -> Result<usize, Fault> {
        let bytes = self.text.as_bytes();
        match bytes.get(at) {
            Some(b'0'..=b'9') => Ok(at + 1 + bytes[at + 1..].iter().take_while(|b| b.is_ascii_digit()).count()),
            Some(_) => {
                self.at = at;
                Err(self.fail("invalid number"))
            }
            None => Err(self.eof("EOF while parsing a value")),
        }
    }

    /// At an opening quote: the string, borrowed from the text unless it has escapes.
    pub(crate) fn string(&mut self) -> Result<Cow<'a, str>, Fault> {
        let start = self.at + 1;
        let escaped = self.string_end()?;
        let end = self.at - 1;
        if !escaped {
            return Ok(Cow::Borrowed(&self.text[start..end]));
        }
        match unescape(self.text, start, end) {
            Ok(decoded) => Ok(Cow::Owned(decoded)),
            Err((until, what)) => Err(self.error(what, until)),
        }
    }

    fn skip_string(&mut self) -> Result<(), Fault> {
        let escaped = self.string_end()?;
        self.skipped_escapes |= escaped;
        Ok(())
    }

    /// Whether any string skipped so far had an escape: one that decoding could
    /// refuse (half a surrogate pair), where skipping does not.
    pub(crate) fn skipped_escapes(&self) -> bool {
        self.skipped_escapes
    }

    /// From an opening quote to just past the closing one, checking escapes against
    /// JSON's grammar (a `\u` escape is four hex digits; whether it pairs into a
    /// character is for [`Reader::string`] to find, as serde_json skips strings
    /// without decoding them); whether the string had any escapes.
    #[inline(always)]
    fn string_end(&mut self) -> Result<bool, Fault> {
        let bytes = self.text.as_bytes();
        let mut escaped = false;
        let mut at = self.at + 1;
        loop {
            at = plain_end(bytes, at);
            match bytes.get(at) {
                Some(b'"') => {
                    self.at = at + 1;
                    return Ok(escaped);
                }
                Some(b'\\') => {
                    escaped = true;
                    match escape_end(bytes, at + 1) {
                        Ok(next) => at = next,
                        Err((until, what)) => return Err(self.error(what, until)),
                    }
                }
                Some(_) => {
                    self.at = at;
                    return Err(self.fail("control character (\\u0000-\\u001F) found while parsing a string"));
                }
                None => return Err(self.eof("EOF while parsing a string")),
            }
        }
    }

    /// At `{`: reads the object, calling `entry` with each key and the reader at its
    /// value, which `entry` must read (or skip).
    pub(crate) fn entries(
        &mut self,
        mut entry: impl FnMut(&mut Self, Cow<'a, str>) -> Result<(), Fault>,
    ) -> Result<(), Fault> {
        self.enter()?;
        match self.peek() {
            Some(b'"') => {}
            Some(b'}') => return self.leave(),
            Some(_) => return Err(self.fail("key must be a string")),
            None => return Err(self.eof("EOF while parsing an object")),
        }
        loop {
            let key = self.string()?;
            self.colon()?;
            entry(self, key)?;
            match self.peek() {
                Some(b',') => {
                    self.at += 1;
                    match self.peek() {
                        Some(b'"') => {}
                        Some(b'}') => return Err(self.fail("trailing comma")),
                        Some(_) => return Err(self.fail("key must be a string")),
                        None => return Err(self.eof("EOF while parsing a value")),
                    }
                }
                Some(b'}') => return self.leave(),
                Some(_) => return Err(self.fail("expected `,` or `}`")),
                None => return Err(self.eof("EOF while parsing an object")),
            }
        }
    }

    /// At `[`: reads the array, calling `item` with the reader at each item, which
    /// `item` must read (or skip).
    pub(crate) fn items(&mut self, mut item: impl FnMut(&mut Self) -> Result<(), Fault>) -> Result<(), Fault> {
        self.enter()?;
        match self.peek() {
            Some(b']') => return self.leave(),
            Some(_) => {}
            None => return Err(self.eof("EOF while parsing a list")),
        }
        loop {
            item(self)?;
            match self.peek() {
                Some(b',') => {
                    self.at += 1;
                    if self.peek() == Some(b']') {
                        return Err(self.fail("trailing comma"));
                    }
                }
                Some(b']') => return self.leave(),
                Some(_) => return Err(self.fail("expected `,` or `]`")),
                None => return Err(self.eof("EOF while parsing a list")),
            }
        }
    }

    /// Past a container's opening bracket, one level deeper.
    fn enter(&mut self) -> Result<(), Fault> {
        self.depth += 1;
        if self.depth >= MAX_DEPTH {
            return Err(self.fail("recursion limit exceeded"));
        }
        self.at += 1;
        Ok(())
    }

    /// Past a container's closing bracket, one level up: the container was read.
    fn leave(&mut self) -> Result<(), Fault> {
        self.at += 1;
        self.depth -= 1;
        Ok(())
    }
}

/// The offset of the first byte from `at` that is not JSON whitespace, eight bytes at
/// a time while eight remain: pretty-printed documents have a newline and a run of
/// spaces before most tokens, which one word then covers.
fn whitespace_end(bytes: &[u8], mut at: usize) -> usize {
    const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
    const LOWS: u64 = u64::from_le_bytes([0x7f; 8]);
    /// A high bit in each byte of `word` that is not zero: exact (no carry crosses a
    /// byte), where the cheaper zero test flags some bytes past a zero falsely.
    const fn nonzero(word: u64) -> u64 {
        (((word & LOWS) + LOWS) | word) & HIGHS
    }
    while let Some(chunk) = bytes.get(at..at + 8) {
        let word = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
        let other = nonzero(word ^ u64::from_le_bytes([b' '; 8]))
            & nonzero(word ^ u64::from_le_bytes([b'\n'; 8]))
            & nonzero(word ^ u64::from_le_bytes([b'\r'; 8]))
            & nonzero(word ^ u64::from_le_bytes([b'\t'; 8]));
        if other != 0 {
            return at + (other.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    while let Some(b' ' | b'\n' | b'\r' | b'\t') = bytes.get(at) {
        at += 1;
    }
    at
}

/// The offset of the first byte from `at` that ends a run of plain string contents
/// ([`STRING_STOP`]), eight bytes at a time while eight remain.
fn plain_end(bytes: &[u8], mut at: usize) -> usize {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
    /// A high bit in each byte of `word` that is zero (the classic test; bytes past
    /// the first zero may be flagged falsely, which only the first flag is read past).
    const fn zeros(word: u64) -> u64 {
        word.wrapping_sub(ONES) & !word & HIGHS
    }
    while let Some(chunk) = bytes.get(at..at + 8) {
        let word = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
        let quote = zeros(word ^ u64::from_le_bytes([b'"'; 8]));
        let backslash = zeros(word ^ u64::from_le_bytes([b'\\'; 8]));
        // Bytes under 0x20: subtracting 0x20 borrows into the high bit.
        let control = word.wrapping_sub(u64::from_le_bytes([0x20; 8])) & !word & HIGHS;
        let stops = quote | backslash | control;
        if stops != 0 {
            return at + (stops.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    while let Some(&byte) = bytes.get(at)
        && !STRING_STOP[usize::from(byte)]
    {
        at += 1;
    }
    at
}

/// What a number's digits are read into as its grammar is checked.
trait Digits {
    fn new(negative: bool) -> Self;
    /// Reads the integer digits from `at`; the offset past them.
    fn digits(&mut self, bytes: &[u8], at: usize) -> usize;
    /// Reads the fraction's digits, `bytes[first..end]`; returns `end`.
    fn fraction(&mut self, bytes: &[u8], first: usize, end: usize) -> usize;
    fn exponent(&mut self, digits: &[u8], negative: bool);
}

/// Nothing: a number skipped, only its grammar checked.
struct Grammar;

impl Digits for Grammar {
    fn new(_: bool) -> Self {
        Grammar
    }

    fn digits(&mut self, bytes: &[u8], at: usize) -> usize {
        at + bytes[at..].iter().take_while(|byte| byte.is_ascii_digit()).count()
    }

    fn fraction(&mut self, _: &[u8], _: usize, end: usize) -> usize {
        end
    }

    fn exponent(&mut self, _: &[u8], _: bool) {}
}

/// A number's digits as read: up to 19 significant digits as an integer, and the
/// power of ten they are scaled by.
#[derive(Default)]
struct Decimal {
    negative: bool,
    mantissa: u64,
    /// Significant digits read into `mantissa`; past 19 it is not exact.
    digits: u32,
    scale: i32,
    /// An exponent too long to read (the value is then left to the full parser).
    huge: bool,
}

impl Digits for Decimal {
    fn new(negative: bool) -> Self {
        Decimal {
            negative,
            ..Decimal::default()
        }
    }

    fn digits(&mut self, bytes: &[u8], mut at: usize) -> usize {
        while let Some(&byte @ b'0'..=b'9') = bytes.get(at) {
            self.push(byte);
            at += 1;
        }
        at
    }

    fn fraction(&mut self, bytes: &[u8], first: usize, end: usize) -> usize {
        for &byte in &bytes[first..end] {
            self.push(byte);
            self.scale = self.scale.saturating_sub(1);
        }
        end
    }

    fn exponent(&mut self, digits: &[u8], negative: bool) {
        let mut exponent: i32 = 0;
        for &byte in digits {
            exponent = exponent.saturating_mul(10).saturating_add(i32::from(byte - b'0'));
        }
        if exponent > 10_000 {
            self.huge = true;
        }
        self.scale = if negative {
            self.scale.saturating_sub(exponent)
        } else {
            self.scale.saturating_add(exponent)
        };
    }
}

impl Decimal {
    fn push(&mut self, byte: u8) {
        if self.digits < 19 {
            self.mantissa = self.mantissa * 10 + u64::from(byte - b'0');
        }
        if self.mantissa != 0 {
            self.digits += 1;
        }
    }

    /// The value, when the fast path gives it exactly rounded: the digits fit in an
    /// `f64`'s 53 bits and the power of ten is exact too, so one multiplication or
    /// division rounds once (Clinger's fast path, which the standard parser takes
    /// first as well, after parsing the text again).
    fn exact(&self) -> Option<f64> {
        const POWERS: [f64; 23] = [
            1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18,
            1e19, 1e20, 1e21, 1e22,
        ];
        if self.huge || self.digits > 19 || self.mantissa > 1 << 53 {
            return None;
        }
        let mantissa = self.mantissa as f64;
        let value = match self.scale {
            0 => mantissa,
            scale @ 1..=22 => mantissa * POWERS[scale as usize],
            scale @ -22..=-1 => mantissa / POWERS[(-scale) as usize],
            _ if self.mantissa == 0 => 0.0,
            _ => return None,
        };
        Some(if self.negative { -value } else { value })
    }
}

/// Where and why an escape is wrong: the bytes read until the fault (the column
/// serde_json reports), and what is wrong.
type EscapeError = (usize, &'static str);

const EOF_IN_STRING: &str = "EOF while parsing a string";

/// The offset past the escape whose letter is at `at` (just past a backslash).
fn escape_end(bytes: &[u8], at: usize) -> Result<usize, EscapeError> {
    match bytes.get(at) {
        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => Ok(at + 1),
        Some(b'u') => hex4(bytes, at + 1).map(|_| at + 5),
        Some(_) => Err((at + 1, "invalid escape")),
        None => Err((bytes.len(), EOF_IN_STRING)),
    }
}

/// The escape whose letter is at `at` (just past a backslash): the offset past it and
/// the character it stands for.
fn escape(bytes: &[u8], at: usize) -> Result<(usize, char), EscapeError> {
    let simple = match bytes.get(at) {
        Some(b'"') => '"',
        Some(b'\\') => '\\',
        Some(b'/') => '/',
        Some(b'b') => '\u{8}',
        Some(b'f') => '\u{c}',
        Some(b'n') => '\n',
        Some(b'r') => '\r',
        Some(b't') => '\t',
        Some(b'u') => return unicode_escape(bytes, at + 1),
        Some(_) => return Err((at + 1, "invalid escape")),
        None => return Err((bytes.len(), EOF_IN_STRING)),
    };
    Ok((at + 1, simple))
}

/// `\uXXXX` from its first hex digit at `at`, a surrogate pair's second half included.
fn unicode_escape(bytes: &[u8], at: usize) -> Result<(usize, char), EscapeError> {
    const LONE: &str = "lone leading surrogate in hex escape";
    const CUT: &str = "unexpected end of hex escape";
    let first = hex4(bytes, at)?;
    let code = match first {
        0xD800..=0xDBFF => {
            match bytes.get(at + 4) {
                Some(b'\\') => {}
                Some(_) => return Err((at + 5, CUT)),
                None => return Err((bytes.len(), EOF_IN_STRING)),
            }
            match bytes.get(at + 5) {
                Some(b'u') => {}
                Some(_) => return Err((at + 6, CUT)),
                None => return Err((bytes.len(), EOF_IN_STRING)),
            }
            let second = hex4(bytes, at + 6)?;
            if !(0xDC00..=0xDFFF).contains(&second) {
                return Err((at + 10, LONE));
            }
            let code = 0x10000 + ((u32::from(first) - 0xD800) << 10) + (u32::from(second) - 0xDC00);
            return char::from_u32(code).map(|c| (at + 10, c)).ok_or((at + 10, LONE));
        }
        0xDC00..=0xDFFF => return Err((at + 4, LONE)),
        code => code,
    };
    char::from_u32(u32::from(code))
        .map(|c| (at + 4, c))
        .ok_or((at + 4, LONE))
}

/// Four hex digits from `at`.
fn hex4(bytes: &[u8], at: usize) -> Result<u16, EscapeError> {
    let Some(digits) = bytes.get(at..at + 4) else {
        return Err((bytes.len(), EOF_IN_STRING));
    };
    let mut value = 0u16;
    for &byte in digits {
        let digit = match byte {
            b'0'..=b'9' => byte - b'0',
            b'a'..=b'f' => byte - b'a' + 10,
            b'A'..=b'F' => byte - b'A' + 10,
            _ => return Err((at + 4, "invalid escape")),
        };
        value = value << 4 | u16::from(digit);
    }
    Ok(value)
}

/// The characters the contents of a string, `text[start..end]`, stand for (its grammar
/// checked already); where and why not, when an escape is half a surrogate pair.
fn unescape(text: &str, start: usize, end: usize) -> Result<String, EscapeError> {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(end - start);
    let mut at = start;
    while let Some(offset) = text[at..end].find('\\') {
        out.push_str(&text[at..at + offset]);
        let (next, c) = escape(bytes, at + offset + 1)?;
        out.push(c);
        at = next;
    }
    out.push_str(&text[at..end]);
    Ok(out)
}

#[cfg(test)]
pub(in crate::predictions) mod tests {
    use proptest::prelude::*;
    use serde::de::IgnoredAny;
    use serde_json::Value;

    use super::*;

    fn read(text: &str) -> Result<(), ReadError> {
        let mut reader = Reader::new(text);
        reader
            .skip()
            .and_then(|()| reader.end())
            .map_err(|Fault| reader.fault())
    }

    #[test]
    fn says_what_is_wrong_where_serde_json_does() {
        for text in [
            "{",
            "[",
            "\"abc",
            "{\"a\" 1}",
            "{\"a\":1,}",
            "[1,]",
            "[1 2]",
            "{1:2}",
            "tru",
            "trux",
            "-",
            "-x",
            "1.",
            "1.x",
            "1e",
            "01",
            "[1] x",
            "\"\\x\"",
            "\"\\u12\"",
            "\"\\u12g4\"",
            "\"a\u{1}b\"",
            "\n  {\n  \"a\": [1,\n 2,, 3]}",
            "",
            "   ",
            "x",
        ] {
            let expected = serde_json::from_str::<Value>(text).unwrap_err().to_string();
            let read = read(text).unwrap_err().to_string();
            assert_eq!(read, expected, "{text:?}");
        }
    }

    #[test]
    fn half_a_surrogate_pair_is_skipped_but_not_decoded_as_in_serde_json() {
        for text in [
            r#""\ud800""#,
            r#""\ud800\u0041""#,
            r#""\ud800x""#,
            r#""\udc00""#,
            r#""a\ud800\"#,
        ] {
            assert_eq!(
                read(text).map_err(|e| e.to_string()),
                serde_json::from_str::<IgnoredAny>(text)
                    .map(drop)
                    .map_err(|e| e.to_string()),
                "{text:?}"
            );
            let mut reader = Reader::new(text);
            let decoded = reader
                .string()
                .map(Cow::into_owned)
                .map_err(|Fault| reader.fault().to_string());
            assert_eq!(
                decoded,
                serde_json::from_str::<String>(text).map_err(|e| e.to_string()),
                "{text:?}"
            );
        }
    }

    #[test]
    fn strings_are_borrowed_unless_escaped() {
        let mut reader = Reader::new(r#""plain""#);
        assert!(matches!(reader.string(), Ok(Cow::Borrowed("plain"))));
        let mut reader = Reader::new(r#""a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00""#);
        assert_eq!(reader.string().unwrap(), "a\"b\\c/d\u{8}\u{c}\n\r\té😀");
    }

    #[test]
    fn nesting_stops_where_serde_json_stops() {
        let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert!(read(&deep(127)).is_ok());
        assert_eq!(
            read(&deep(128)).unwrap_err().to_string(),
            serde_json::from_str::<Value>(&deep(128)).unwrap_err().to_string()
        );
    }

    #[test]
    fn numbers_read_as_serde_json_reads_them() {
        for text in [
            "0",
            "-0",
            "12",
            "-3.25",
            "1e3",
            "1E-3",
            "2.5e+2",
            "123456789012345678901234567890",
            "0.1",
        ] {
            let mut reader = Reader::new(text);
            assert_eq!(
                reader.float().unwrap(),
                serde_json::from_str::<f64>(text).ok(),
                "{text}"
            );
        }
        assert_eq!(Reader::new("1e400").float().unwrap(), None);
    }

    /// Any JSON value a few levels deep; strings of any characters (quotes, brackets,
    /// commas, backslashes and all).
    pub(in crate::predictions) fn json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            any::<String>().prop_map(Value::String),
            "[\\[\\]{},:\"\\\\ ]{0,6}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 5, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                proptest::collection::vec(("[a-z\\[\\]\",\\\\]{0,4}", inner), 0..5)
                    .prop_map(|entries| Value::Object(entries.into_iter().collect())),
            ]
        })
    }

    /// `written` with up to `length` characters from a character boundary (chosen by
    /// `cut`) replaced by `piece` (with `length` 0, `piece` put in there).
    pub(in crate::predictions) fn replaced(
        written: &str,
        cut: prop::sample::Index,
        length: usize,
        piece: &str,
    ) -> String {
        let starts: Vec<usize> = written.char_indices().map(|(i, _)| i).chain([written.len()]).collect();
        let from = cut.index(starts.len());
        let to = (from + length).min(starts.len() - 1);
        format!("{}{}{}", &written[..starts[from]], piece, &written[starts[to]..])
    }

    /// Pieces that make valid JSON invalid, or keep it valid in unusual ways.
    const PIECES: &[&str] = &[
        "\"",
        "\\",
        "\\u",
        "\\ud800",
        "\\udc00",
        "\\ud83d\\ude00",
        "\\x",
        "\u{1}",
        "\u{7f}",
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        " ",
        "\n",
        "0",
        "01",
        "-",
        ".",
        "1.",
        "-0",
        "tru",
        "null",
        "é",
        "\t",
        "\r",
        "e",
        "E+",
        "1e400",
    ];

    proptest! {
        #[test]
        fn whitespace_ends_at_the_first_byte_that_is_not_whitespace(
            // Whitespace, and the bytes a word-at-a-time test could take for it (one
            // more or less than each kind), in runs across eight-byte words.
            bytes in proptest::collection::vec(
                prop::sample::select(&[b' ', b' ', b' ', b' ', b'\n', b'\n', b'\r', b'\t', b'!', 0x1f, 0x0b, 0x08, 0x0c, 0x0e, 0xa0, b'a'][..]),
                0..40,
            ),
            from in 0usize..40,
        ) {
            let from = from.min(bytes.len());
            let expected = from + bytes[from..].iter().take_while(|b| matches!(b, b' ' | b'\n' | b'\r' | b'\t')).count();
            prop_assert_eq!(whitespace_end(&bytes, from), expected);
        }
    }

    proptest! {
        #[test]
        fn accepts_exactly_what_serde_json_accepts(
            value in json(),
            pretty in any::<bool>(),
            cut in any::<prop::sample::Index>(),
            length in 0usize..4,
            piece in prop::sample::select(PIECES),
        ) {
            let written = if pretty { serde_json::to_string_pretty(&value) } else { serde_json::to_string(&value) }.unwrap();
            let text = replaced(&written, cut, length, piece);
            // serde_json skips strings without decoding them, and so does the reader,
            // except for object keys, which it decodes (as serde_json's `Value` does):
            // it accepts what serde_json's skipping accepts, bar half a surrogate pair
            // in a key. (What it says is wrong is held to serde_json's words above.)
            let skipped = serde_json::from_str::<IgnoredAny>(&text).is_ok();
            let decoded = serde_json::from_str::<Value>(&text).is_ok();
            let read = read(&text);
            prop_assert!(read.is_ok() == skipped || (read.is_err() && !decoded), "{:?}: {:?}", text, read);
            prop_assert!(self::read(&written).is_ok());
        }
    }
}
