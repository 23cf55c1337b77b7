//! Header parameters as multipart clients write them: `name=value` pairs after a
//! header's first `;` (`Content-Type: multipart/form-data; boundary=...`,
//! `Content-Disposition: form-data; name="..."; filename="..."`), and RFC 5987's
//! extended values (`filename*=UTF-8''...`).
//!
//! Lenient as servers are: spaces around `=` and `;`, unquoted values holding any
//! character but `;` (RFC 2046's boundary characters `/`, `:`, `=`, `?` included),
//! parameter names in any case.

/// Decodes an RFC 5987 extended value: `charset'language'percent-encoded`, in UTF-8
/// or ISO-8859-1. `None` when it is not one.
pub fn decode_extended(value: &str) -> Option<String> {
    let mut pieces = value.splitn(3, '\'');
    let (charset, _language, encoded) = (pieces.next()?, pieces.next()?, pieces.next()?);
    let mut bytes = Vec::with_capacity(encoded.len());
    let mut rest = encoded.as_bytes();
    while let Some((&byte, tail)) = rest.split_first() {
        if byte == b'%' {
            let hex = tail.get(..2).filter(|hex| hex.iter().all(u8::is_ascii_hexdigit))?;
            bytes.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
            rest = &tail[2..];
        } else {
            bytes.push(byte);
            rest = tail;
        }
    }
    if charset.eq_ignore_ascii_case("utf-8") {
        String::from_utf8(bytes).ok()
    } else if charset.eq_ignore_ascii_case("iso-8859-1") {
        Some(bytes.into_iter().map(char::from).collect())
    } else {
        None
    }
}

/// Parameters after a header's first `;`: `name=value` pairs separated by `;`, names
/// lowercase, values quoted (with `\` escapes) or not, spaces around them ignored.
pub fn parse_parameters(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut parameters = Vec::new();
    let mut rest = text;
    loop {
        rest = rest.trim_start_matches(|c: char| c == ';' || c.is_ascii_whitespace());
        if rest.is_empty() {
            return Ok(parameters);
        }
        let end = rest.find([';', '=']).unwrap_or(rest.len());
        let name = rest[..end].trim();
        if !rest[end..].starts_with('=') || name.is_empty() {
            let shown: String = rest[..end].chars().take(50).collect();
            return Err(format!("{shown:?} is not a name=value parameter"));
        }
        let name = name.to_ascii_lowercase();
        rest = rest[end + 1..].trim_start();
        if let Some(quoted) = rest.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = quoted.char_indices();
            let close = loop {
                match chars.next() {
                    Some((at, '"')) => break at,
                    Some((_, '\\')) => match chars.next() {
                        Some((_, escaped)) => value.push(escaped),
                        None => return Err(format!("the quoted value of {name} is not closed")),
                    },
                    Some((_, c)) => value.push(c),
                    None => return Err(format!("the quoted value of {name} is not closed")),
                }
            };
            rest = quoted[close + 1..].trim_start();
            if !(rest.is_empty() || rest.starts_with(';')) {
                return Err(format!("text follows the quoted value of {name}"));
            }
            parameters.push((name, value));
        } else {
            let end = rest.find(';').unwrap_or(rest.len());
            parameters.push((name, rest[..end].trim().to_string()));
            rest = &rest[end..];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_quoted_unquoted_and_spaced_parameters() {
        let read = parse_parameters(r#" name = "a;b\"c" ;FileName=x y ; empty= ;q="" "#).unwrap();
        let expected = [("name", "a;b\"c"), ("filename", "x y"), ("empty", ""), ("q", "")];
        let read: Vec<(&str, &str)> = read.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(read, expected);
        assert_eq!(
            parse_parameters("name=\"open"),
            Err("the quoted value of name is not closed".into())
        );
        assert_eq!(
            parse_parameters("name=\"a\"b"),
            Err("text follows the quoted value of name".into())
        );
        assert_eq!(parse_parameters("=x"), Err("\"\" is not a name=value parameter".into()));
    }

    #[test]
    fn decodes_rfc_5987_values_in_utf_8_and_latin_1_only() {
        assert_eq!(decode_extended("UTF-8''caf%C3%A9.png"), Some("café.png".into()));
        assert_eq!(decode_extended("utf-8'fr'caf%c3%a9"), Some("café".into()));
        assert_eq!(decode_extended("ISO-8859-1''caf%E9"), Some("café".into()));
        for bad in [
            "caf%C3%A9",
            "UTF-8''%FF",
            "UTF-8''%4",
            "UTF-8''%G0",
            "UTF-8''%+1",
            "koi8-r''%E4",
        ] {
            assert_eq!(decode_extended(bad), None, "{bad}");
        }
    }
}
