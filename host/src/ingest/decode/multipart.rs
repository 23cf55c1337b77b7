//! `multipart/form-data` as real clients send it (RFC 7578 over RFC 2046), read from a
//! body already in memory: Weir reads at most `server.max_body` bytes before decoding,
//! so the parser works on one buffer and hands out parts as slices of it, uncopied.
//!
//! Lenient where clients differ and nothing is ambiguous:
//! - the boundary may hold any of RFC 2046's characters, quoted or not, with spaces
//!   around `boundary=`;
//! - line endings: CRLF, the LF-only some clients write, or a mix: a boundary line is
//!   found after an LF, and a CR just before that LF belongs to the line ending, never
//!   to the content (content that ends in a CR keeps it in a CRLF body; only an LF-only
//!   body loses such a CR). RFC 2046 already forbids content lines that start with the
//!   boundary, whatever their line ending, so no content is misread as a boundary;
//! - a preamble before the first boundary and an epilogue after the last are ignored;
//!   headers are matched whatever their case, folded header lines are unfolded, and
//!   header values may hold any byte but CR and LF (a control character in a field
//!   name is the application's business, not the parser's);
//! - `filename*=UTF-8''...` (RFC 5987, RFC 6266) is decoded, and wins over `filename`.
//!
//! Strict where a guess could lose or invent data: a body cut short (no closing
//! boundary), a part whose headers do not end in a blank line, a header line that is
//! not `Name: value`, and a part without a valid `Content-Disposition: form-data`, or
//! with two of it, are errors that name the part.

use std::fmt;

use bytes::Bytes;

use super::parameters::{decode_extended, parse_parameters};

/// One part of a form, as its sender wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// Which part of the body it is, from 1.
    pub position: usize,
    /// Its field name (`name`); empty when it has a file name only.
    pub name: String,
    /// Its file name: `filename*` decoded when there is one, otherwise `filename`;
    /// `Some("")` for the empty file name browsers send when no file was chosen.
    pub file_name: Option<String>,
    /// The essence of its `Content-Type` (`image/jpeg`), lowercase, without parameters.
    pub content_type: Option<String>,
    /// Its content.
    pub data: Bytes,
}

/// A part, as error messages name it: its position, and its field name when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartRef {
    position: usize,
    name: Option<String>,
}

impl fmt::Display for PartRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) if !name.is_empty() => write!(f, "part {} ({name:?})", self.position),
            _ => write!(f, "part {}", self.position),
        }
    }
}

/// Why a body is not the form its `Content-Type` announces.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MultipartError {
    /// No line of the body is the boundary.
    #[error(
        "no line of the body is the boundary --{boundary} that the Content-Type names; send the body the Content-Type was made for"
    )]
    NoBoundary {
        /// The boundary.
        boundary: String,
    },
    /// The closing boundary never comes.
    #[error(
        "the body ends before the closing boundary --{boundary}--; it was cut short, or its last boundary lacks the final --"
    )]
    Unterminated {
        /// The boundary.
        boundary: String,
    },
    /// More parts than the caller allows.
    #[error("more than {limit} parts; send fewer")]
    TooManyParts {
        /// The most allowed.
        limit: usize,
    },
    /// A part's headers never end.
    #[error("{part} has no blank line between its headers and its content")]
    NoHeaderEnd {
        /// The part.
        part: PartRef,
    },
    /// A header line is not `Name: value`.
    #[error("{part} has a header line that is not `Name: value`: {line:?}")]
    BadHeaderLine {
        /// The part.
        part: PartRef,
        /// The line, cut to 100 characters.
        line: String,
    },
    /// A part without a `Content-Disposition`.
    #[error("{part} has no Content-Disposition header; give every part `Content-Disposition: form-data; name=\"...\"`")]
    NoDisposition {
        /// The part.
        part: PartRef,
    },
    /// A header that may appear once appears twice.
    #[error("{part} has two {header} headers; send one")]
    DuplicateHeader {
        /// The part.
        part: PartRef,
        /// Which header.
        header: &'static str,
    },
    /// A `Content-Disposition` that cannot be read.
    #[error(
        "{part} has an invalid Content-Disposition ({reason}); send `form-data; name=\"...\"`, with `filename=\"...\"` for a file"
    )]
    BadDisposition {
        /// The part.
        part: PartRef,
        /// What is wrong with it.
        reason: String,
    },
}

/// Why a `Content-Type` gives no usable boundary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BoundaryError {
    /// There is no `boundary` parameter.
    Missing,
    /// There is one, but it cannot be used; says why.
    Invalid(String),
}

/// The boundary of a `multipart/form-data` content type: the `boundary` parameter,
/// quoted or not, whatever its case and the spaces around it.
pub fn boundary(content_type: &str) -> Result<String, BoundaryError> {
    let parameters = content_type.split_once(';').map_or("", |(_, rest)| rest);
    let parameters = parse_parameters(parameters).map_err(BoundaryError::Invalid)?;
    let mut found = parameters.into_iter().filter(|(name, _)| name == "boundary");
    let Some((_, boundary)) = found.next() else {
        return Err(BoundaryError::Missing);
    };
    if found.next().is_some() {
        return Err(BoundaryError::Invalid("it is given twice".into()));
    }
    if boundary.is_empty() {
        return Err(BoundaryError::Invalid("it is empty".into()));
    }
    if boundary.chars().any(|c| c.is_control()) {
        return Err(BoundaryError::Invalid(format!(
            "{boundary:?} holds a control character"
        )));
    }
    Ok(boundary)
}

/// Reads every part of `body`, a form whose boundary is `boundary`; at most
/// `max_parts` parts.
pub fn parse(body: &Bytes, boundary: &str, max_parts: usize) -> Result<Vec<Part>, MultipartError> {
    let dash_boundary = format!("--{boundary}").into_bytes();
    let mut at = match opening(body, &dash_boundary) {
        Some(Opening::Parts { after }) => after,
        Some(Opening::Closed) => return Ok(Vec::new()),
        None => {
            return Err(MultipartError::NoBoundary {
                boundary: boundary.to_string(),
            });
        }
    };
    let mut parts = Vec::new();
    loop {
        let Some(delimiter) = next_delimiter(body, at, &dash_boundary) else {
            return Err(MultipartError::Unterminated {
                boundary: boundary.to_string(),
            });
        };
        if parts.len() == max_parts {
            return Err(MultipartError::TooManyParts { limit: max_parts });
        }
        parts.push(read_part(parts.len() + 1, body.slice(at..delimiter.data_end))?);
        match delimiter.next {
            Some(next) => at = next,
            None => return Ok(parts),
        }
    }
}

enum Opening {
    /// The first part starts at `after`.
    Parts { after: usize },
    /// The first boundary is the closing one: a form without parts.
    Closed,
}

/// What follows `--boundary` on a boundary line: `--` for the closing one, otherwise
/// optional spaces and a line ending, whose length (with the spaces) is returned.
/// Anything else means the text only starts like a boundary, and is content.
enum LineRest {
    Closing,
    Ends(usize),
    NotABoundary,
}

fn line_rest(rest: &[u8]) -> LineRest {
    if rest.starts_with(b"--") {
        return LineRest::Closing;
    }
    let padding = rest.iter().take_while(|b| matches!(b, b' ' | b'\t')).count();
    match &rest[padding..] {
        [b'\r', b'\n', ..] => LineRest::Ends(padding + 2),
        [b'\n', ..] => LineRest::Ends(padding + 1),
        _ => LineRest::NotABoundary,
    }
}

/// The opening boundary line: `--boundary` at the start of the body or of a line (what
/// comes before is preamble).
///
/// Like [`next_delimiter`], it searches for a pattern that starts with the only LF it
/// holds, so no two candidate matches overlap and the search stays linear in the body,
/// whatever the boundary (a boundary of dashes included).
fn opening(body: &[u8], dash_boundary: &[u8]) -> Option<Opening> {
    let opens = |after: usize| match line_rest(&body[after..]) {
        LineRest::Closing => Some(Opening::Closed),
        LineRest::Ends(length) => Some(Opening::Parts { after: after + length }),
        LineRest::NotABoundary => None,
    };
    if body.starts_with(dash_boundary)
        && let Some(opening) = opens(dash_boundary.len())
    {
        return Some(opening);
    }
    let mut pattern = b"\n".to_vec();
    pattern.extend_from_slice(dash_boundary);
    let mut from = 0;
    while let Some(found) = find(&body[from..], &pattern) {
        let start = from + found;
        from = start + 1;
        if let Some(opening) = opens(start + pattern.len()) {
            return Some(opening);
        }
    }
    None
}

/// Where a part's content ends and what follows it.
struct Delimiter {
    /// The end of the part (the line ending before the boundary excluded).
    data_end: usize,
    /// Where the next part starts; `None` after the closing boundary.
    next: Option<usize>,
}

/// The first boundary line after `from`: an LF (with the CR before it, if any), then
/// `--boundary` and the rest of a boundary line.
fn next_delimiter(body: &[u8], from: usize, dash_boundary: &[u8]) -> Option<Delimiter> {
    let mut pattern = b"\n".to_vec();
    pattern.extend_from_slice(dash_boundary);
    let mut search = from;
    while let Some(found) = find(&body[search..], &pattern) {
        let start = search + found;
        search = start + 1;
        let after = start + pattern.len();
        let data_end = if start > from && body[start - 1] == b'\r' {
            start - 1
        } else {
            start
        };
        match line_rest(&body[after..]) {
            LineRest::Closing => return Some(Delimiter { data_end, next: None }),
            LineRest::Ends(length) => {
                return Some(Delimiter {
                    data_end,
                    next: Some(after + length),
                });
            }
            LineRest::NotABoundary => {}
        }
    }
    None
}

/// The first place `needle` occurs in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let (&first, rest) = needle.split_first()?;
    let mut at = 0;
    while let Some(offset) = haystack[at..].iter().position(|b| *b == first) {
        let start = at + offset;
        if haystack[start + 1..].starts_with(rest) {
            return Some(start);
        }
        at = start + 1;
    }
    None
}

/// Reads one part: headers up to the first blank line, then the content.
fn read_part(position: usize, part: Bytes) -> Result<Part, MultipartError> {
    let unnamed = || PartRef { position, name: None };
    let mut headers: Vec<(String, String)> = Vec::new();
    let mut at = 0;
    let content_start = loop {
        let Some(length) = part[at..].iter().position(|b| *b == b'\n') else {
            return Err(MultipartError::NoHeaderEnd { part: unnamed() });
        };
        let raw = &part[at..at + length];
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        at += length + 1;
        if line.is_empty() {
            break at;
        }
        let line = String::from_utf8_lossy(line);
        if line.starts_with([' ', '\t']) {
            // An obsolete folded line continues the header before it.
            let Some((_, value)) = headers.last_mut() else {
                return Err(bad_line(unnamed(), &line));
            };
            value.push(' ');
            value.push_str(line.trim());
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(bad_line(unnamed(), &line));
        };
        let name = name.trim();
        if name.is_empty() {
            return Err(bad_line(unnamed(), &line));
        }
        headers.push((name.to_ascii_lowercase(), value.trim().to_string()));
    };
    let disposition = single(&headers, "content-disposition", "Content-Disposition", position)?
        .ok_or_else(|| MultipartError::NoDisposition { part: unnamed() })?;
    let (name, file_name) = read_disposition(disposition, position)?;
    let named = || PartRef {
        position,
        name: Some(name.clone()),
    };
    let content_type = single(&headers, "content-type", "Content-Type", position)
        .map_err(|error| match error {
            MultipartError::DuplicateHeader { header, .. } => MultipartError::DuplicateHeader { part: named(), header },
            other => other,
        })?
        .and_then(essence);
    Ok(Part {
        position,
        name,
        file_name,
        content_type,
        data: part.slice(content_start..),
    })
}

fn bad_line(part: PartRef, line: &str) -> MultipartError {
    MultipartError::BadHeaderLine {
        part,
        line: line.chars().take(100).collect(),
    }
}

/// The value of a header that may appear at most once.
fn single<'h>(
    headers: &'h [(String, String)],
    key: &str,
    shown: &'static str,
    position: usize,
) -> Result<Option<&'h str>, MultipartError> {
    let mut values = headers.iter().filter(|(name, _)| name == key);
    let first = values.next().map(|(_, value)| value.as_str());
    if values.next().is_some() {
        return Err(MultipartError::DuplicateHeader {
            part: PartRef { position, name: None },
            header: shown,
        });
    }
    Ok(first)
}

/// `type/subtype` of a `Content-Type`, lowercase; `None` when it is not one.
fn essence(value: &str) -> Option<String> {
    let essence = value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    let (kind, subtype) = essence.split_once('/')?;
    let token = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic() && b != b'/');
    (token(kind) && token(subtype)).then_some(essence)
}

/// The field name and file name of a `Content-Disposition: form-data` value.
fn read_disposition(value: &str, position: usize) -> Result<(String, Option<String>), MultipartError> {
    let invalid = |name: Option<&str>, reason: String| MultipartError::BadDisposition {
        part: PartRef {
            position,
            name: name.map(str::to_string),
        },
        reason,
    };
    let (kind, parameters) = value.split_once(';').unwrap_or((value, ""));
    let parameters = parse_parameters(parameters).map_err(|reason| invalid(None, reason))?;
    let get = |key: &str| {
        parameters
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.as_str())
    };
    let name = get("name");
    let kind = kind.trim();
    if !kind.eq_ignore_ascii_case("form-data") {
        return Err(invalid(name, format!("its type is {kind:?}, not form-data")));
    }
    if let Some(twice) = parameters
        .iter()
        .enumerate()
        .find(|(i, (key, _))| parameters[..*i].iter().any(|(earlier, _)| earlier == key))
        .map(|(_, (key, _))| key)
    {
        return Err(invalid(name, format!("it gives {twice} twice")));
    }
    let file_name = match (get("filename*"), get("filename")) {
        (Some(extended), plain) => match decode_extended(extended) {
            Some(decoded) => Some(decoded),
            None if plain.is_some() => plain.map(str::to_string),
            None => {
                return Err(invalid(
                    name,
                    format!(
                        "its filename* {extended:?} is not UTF-8 or ISO-8859-1 in RFC 5987 form, like UTF-8''n%C3%A4me.png"
                    ),
                ));
            }
        },
        (None, plain) => plain.map(str::to_string),
    };
    match (name, file_name) {
        (Some(name), file_name) if !name.is_empty() || file_name.is_some() => Ok((name.to_string(), file_name)),
        (None, Some(file_name)) => Ok((String::new(), Some(file_name))),
        (name, _) => Err(invalid(name, "it has no name".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(content_type: &str, body: &[u8]) -> Result<Vec<Part>, String> {
        let boundary = boundary(content_type).map_err(|error| format!("{error:?}"))?;
        parse(&Bytes::copy_from_slice(body), &boundary, 10).map_err(|error| error.to_string())
    }

    /// (name, file name, content type, content) of a part.
    type Summary<'a> = (&'a str, Option<&'a str>, Option<&'a str>, &'a [u8]);

    fn summary(parts: &[Part]) -> Vec<Summary<'_>> {
        parts
            .iter()
            .map(|p| {
                (
                    p.name.as_str(),
                    p.file_name.as_deref(),
                    p.content_type.as_deref(),
                    &p.data[..],
                )
            })
            .collect()
    }

    const CT: &str = "multipart/form-data; boundary=XyZ";

    #[test]
    fn reads_the_boundary_however_clients_write_it() {
        for (content_type, expected) in [
            ("multipart/form-data; boundary=simple123", "simple123"),
            (
                "multipart/form-data;boundary=----WebKitFormBoundary7MA4",
                "----WebKitFormBoundary7MA4",
            ),
            ("multipart/form-data; boundary=b'()+_,-./:=?", "b'()+_,-./:=?"),
            (
                "multipart/form-data; boundary=\"quoted boundary value\"",
                "quoted boundary value",
            ),
            ("multipart/form-data;  boundary= TestBoundary ", "TestBoundary"),
            ("multipart/form-data; BOUNDARY = x ; charset=utf-8", "x"),
            ("multipart/form-data; charset=\"a;b\"; boundary=\"q\\\"b\"", "q\"b"),
        ] {
            assert_eq!(boundary(content_type), Ok(expected.to_string()), "{content_type}");
        }
        for (content_type, expected) in [
            ("multipart/form-data", BoundaryError::Missing),
            ("multipart/form-data; charset=utf-8", BoundaryError::Missing),
            (
                "multipart/form-data; boundary=",
                BoundaryError::Invalid("it is empty".into()),
            ),
            (
                "multipart/form-data; boundary=\"\"",
                BoundaryError::Invalid("it is empty".into()),
            ),
            (
                "multipart/form-data; boundary=a; boundary=b",
                BoundaryError::Invalid("it is given twice".into()),
            ),
            (
                "multipart/form-data; boundary=\"open",
                BoundaryError::Invalid("the quoted value of boundary is not closed".into()),
            ),
            (
                "multipart/form-data; junk",
                BoundaryError::Invalid("\"junk\" is not a name=value parameter".into()),
            ),
        ] {
            assert_eq!(boundary(content_type), Err(expected), "{content_type}");
        }
    }

    #[test]
    fn reads_parts_with_a_special_or_quoted_boundary() {
        let body =
            b"--b'()+_,-./:=?\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nvalue\r\n--b'()+_,-./:=?--\r\n";
        let read = parts("multipart/form-data; boundary=b'()+_,-./:=?", body).unwrap();
        assert_eq!(summary(&read), [("f", None, None, &b"value"[..])]);
        let body =
            b"--quoted boundary\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nvalue\r\n--quoted boundary--";
        let read = parts("multipart/form-data; boundary=\"quoted boundary\"", body).unwrap();
        assert_eq!(summary(&read), [("f", None, None, &b"value"[..])]);
    }

    #[test]
    fn accepts_lf_only_and_mixed_line_endings() {
        for body in [
            &b"--XyZ\nContent-Disposition: form-data; name=\"f\"\n\nvalue\n--XyZ--\n"[..],
            b"--XyZ\r\nContent-Disposition: form-data; name=\"f\"\r\n\nvalue\r\n--XyZ--\r\n",
            b"--XyZ\r\nContent-Disposition: form-data; name=\"f\"\n\r\nvalue\r\n--XyZ\n\
              Content-Disposition: form-data; name=\"g\"\r\n\r\nv\r\n--XyZ--",
            b"--XyZ\nContent-Disposition: form-data; name=\"f\"\r\n\r\nvalue\r\n--XyZ--",
            b"--XyZ  \t\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nvalue\r\n--XyZ--",
        ] {
            let read = parts(CT, body).unwrap_or_else(|e| panic!("{}: {e}", String::from_utf8_lossy(body)));
            assert_eq!(
                summary(&read)[0],
                ("f", None, None, &b"value"[..]),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn keeps_content_that_only_looks_like_a_boundary() {
        let body = b"preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\n\
            a\rb\r\n--XyZX not a boundary\n --XyZ\r\nnor this--XyZ\r\n\r\r\n--XyZ--\r\nepilogue";
        let read = parts(CT, body).unwrap();
        assert_eq!(
            summary(&read),
            [(
                "f",
                None,
                None,
                &b"a\rb\r\n--XyZX not a boundary\n --XyZ\r\nnor this--XyZ\r\n\r"[..]
            )]
        );
    }

    #[test]
    fn reads_file_names_plain_escaped_and_extended() {
        for (disposition, name, file_name) in [
            (
                "form-data; name=\"file\"; filename=\"a b;c.pdf\"",
                "file",
                Some("a b;c.pdf"),
            ),
            (
                "form-data; name=\"file\"; filename=\"q\\\"d\\\\e.txt\"",
                "file",
                Some("q\"d\\e.txt"),
            ),
            ("form-data; name=\"file\"; filename=\"\"", "file", Some("")),
            ("form-data; name=file; filename=plain.txt", "file", Some("plain.txt")),
            ("form-data; filename=\"d.txt\"; name=\"file\"", "file", Some("d.txt")),
            ("FORM-DATA; Name=\"file\"; FileName=\"d.txt\"", "file", Some("d.txt")),
            ("form-data; filename=\"only.txt\"", "", Some("only.txt")),
            (
                "form-data; name=\"file\"; filename*=UTF-8''%E6%96%87%E6%A1%A3.pdf",
                "file",
                Some("文档.pdf"),
            ),
            (
                "form-data; name=\"file\"; filename=\"fallback.pdf\"; filename*=utf-8'en'n%C3%A4me.pdf",
                "file",
                Some("näme.pdf"),
            ),
            (
                "form-data; name=\"file\"; filename*=iso-8859-1''n%E4me.pdf",
                "file",
                Some("näme.pdf"),
            ),
            (
                "form-data; name=\"file\"; filename=\"fallback.pdf\"; filename*=koi8-r''%E4",
                "file",
                Some("fallback.pdf"),
            ),
            ("form-data; name=\"field\u{0}name\"", "field\u{0}name", None),
            (
                "form-data; name=\"f\";\r\n filename=\"folded.txt\"",
                "f",
                Some("folded.txt"),
            ),
        ] {
            let body = format!("--XyZ\r\nContent-Disposition: {disposition}\r\n\r\nx\r\n--XyZ--\r\n");
            let read = parts(CT, body.as_bytes()).unwrap_or_else(|e| panic!("{disposition}: {e}"));
            assert_eq!(read[0].name, name, "{disposition}");
            assert_eq!(read[0].file_name.as_deref(), file_name, "{disposition}");
        }
    }

    #[test]
    fn reads_the_essence_of_a_content_type() {
        for (header, expected) in [
            ("Content-Type: Image/JPEG", Some("image/jpeg")),
            ("content-type: text/plain; charset=utf-8", Some("text/plain")),
            ("Content-Type: nonsense", None),
            ("X-Other: 1", None),
        ] {
            let body = format!("--XyZ\r\nContent-Disposition: form-data; name=\"f\"\r\n{header}\r\n\r\nx\r\n--XyZ--");
            let read = parts(CT, body.as_bytes()).unwrap();
            assert_eq!(read[0].content_type.as_deref(), expected, "{header}");
        }
    }

    #[test]
    fn refuses_bodies_that_would_need_a_guess_naming_the_part() {
        let ok = "Content-Disposition: form-data; name=\"ok\"\r\n\r\nx\r\n--XyZ\r\n";
        for (rest, message) in [
            (
                "Content-Type: text/plain\r\n\r\nvalue\r\n--XyZ--".to_string(),
                "part 2 has no Content-Disposition header; give every part `Content-Disposition: form-data; name=\"...\"`",
            ),
            (
                "Content-Disposition: form-data; !!!invalid!!!\r\n\r\nv\r\n--XyZ--".into(),
                "part 2 has an invalid Content-Disposition (\"!!!invalid!!!\" is not a name=value parameter)",
            ),
            (
                "Content-Disposition: attachment; name=\"pic\"\r\n\r\nv\r\n--XyZ--".into(),
                "part 2 (\"pic\") has an invalid Content-Disposition (its type is \"attachment\", not form-data)",
            ),
            (
                "Content-Disposition: form-data\r\n\r\nv\r\n--XyZ--".into(),
                "part 2 has an invalid Content-Disposition (it has no name)",
            ),
            (
                "Content-Disposition: form-data; name=\"\"\r\n\r\nv\r\n--XyZ--".into(),
                "part 2 has an invalid Content-Disposition (it has no name)",
            ),
            (
                "Content-Disposition: form-data; name=\"a\"; name=\"b\"\r\n\r\nv\r\n--XyZ--".into(),
                "part 2 (\"a\") has an invalid Content-Disposition (it gives name twice)",
            ),
            (
                "Content-Disposition: form-data; name=\"f\"; filename*=UTF-8''%FF\r\n\r\nv\r\n--XyZ--".into(),
                "part 2 (\"f\") has an invalid Content-Disposition (its filename* \"UTF-8''%FF\" is not UTF-8",
            ),
            (
                "Content-Disposition: form-data; name=\"a\"\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\nv\r\n--XyZ--"
                    .into(),
                "part 2 has two Content-Disposition headers; send one",
            ),
            (
                "Content-Disposition: form-data; name=\"a\"\r\nContent-Type: a/b\r\nContent-Type: c/d\r\n\r\nv\r\n--XyZ--"
                    .into(),
                "part 2 (\"a\") has two Content-Type headers; send one",
            ),
            (
                "Content-Disposition: form-data; name=\"f\"\r\nvalue\r\n--XyZ--".into(),
                "part 2 has no blank line between its headers and its content",
            ),
            (
                "Content-Disposition: form-data; name=\"f\"\r\nno colon\r\n\r\nv\r\n--XyZ--".into(),
                "part 2 has a header line that is not `Name: value`: \"no colon\"",
            ),
            (
                "Content-Disposition: form-data; name=\"f\"\r\n\r\nvalue\r\n--XyZ\r\n".into(),
                "the body ends before the closing boundary --XyZ--",
            ),
            (
                "Content-Disposition: form-data; name=\"f\"\r\n\r\nthis is cut off".into(),
                "the body ends before the closing boundary --XyZ--",
            ),
        ] {
            let body = format!("--XyZ\r\n{ok}{rest}");
            let error = parts(CT, body.as_bytes()).unwrap_err();
            assert!(error.starts_with(message), "{rest:?}:\n{error}");
        }
        let error = parts("multipart/form-data; boundary=Other", b"--XyZ\r\n\r\n--XyZ--").unwrap_err();
        assert!(
            error.starts_with("no line of the body is the boundary --Other"),
            "{error}"
        );
        let many = "--XyZ\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nv\r\n".repeat(11) + "--XyZ--";
        assert_eq!(
            parts(CT, many.as_bytes()).unwrap_err(),
            "more than 10 parts; send fewer"
        );
    }

    #[test]
    fn a_boundary_of_dashes_is_only_found_at_the_start_of_a_line() {
        // Every position of this body starts like the boundary, none at a line start;
        // the search goes from LF to LF, not from position to position.
        let boundary = "-".repeat(70);
        let mut body = vec![b'x'];
        body.extend(std::iter::repeat_n(b'-', 4_000_000));
        let error = parse(&Bytes::from(body), &boundary, 10).unwrap_err();
        assert!(matches!(error, MultipartError::NoBoundary { .. }), "{error}");
    }

    #[test]
    fn a_body_whose_first_boundary_closes_has_no_parts() {
        assert_eq!(parts(CT, b"--XyZ--\r\n"), Ok(Vec::new()));
    }
}
