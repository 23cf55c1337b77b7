//! `${VAR}` in config strings: secrets and per-machine values come from the
//! environment. A variable that is not set is an error naming it, never an empty
//! string; `$$` writes a literal `$`.

/// Expands `${NAME}` references in `text` with `lookup`; the error names every
/// variable that is not set.
pub fn expand(text: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    if !text.contains('$') {
        return Ok(text.to_string());
    }
    let mut out = String::with_capacity(text.len());
    let mut missing = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(body) = after.strip_prefix('{') {
            let Some(end) = body.find('}') else {
                return Err(format!(
                    "{text:?} has an unclosed ${{; write ${{NAME}}, or $$ for a literal $"
                ));
            };
            let name = &body[..end];
            let valid = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                return Err(format!("{text:?} refers to ${{{name}}}, which is not a variable name"));
            }
            match lookup(name) {
                Some(value) => out.push_str(&value),
                None => missing.push(name.to_string()),
            }
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    match missing.as_slice() {
        [] => Ok(out),
        [one] => Err(format!(
            "environment variable {one} is not set; export it, or remove the reference"
        )),
        many => Err(format!(
            "environment variables {} are not set; export them, or remove the references",
            many.join(", ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(name: &str) -> Option<String> {
        match name {
            "TOKEN" => Some("s3cret".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn expands_references_and_escapes() {
        let cases = [
            ("plain", "plain"),
            ("Bearer ${TOKEN}", "Bearer s3cret"),
            ("${TOKEN}${TOKEN}", "s3crets3cret"),
            ("[${EMPTY}]", "[]"),
            ("cost $$5", "cost $5"),
            ("a $ b", "a $ b"),
        ];
        for (text, expected) in cases {
            assert_eq!(expand(text, &lookup).as_deref(), Ok(expected), "{text}");
        }
    }

    #[test]
    fn names_every_missing_variable() {
        assert_eq!(
            expand("${NOPE}", &lookup).unwrap_err(),
            "environment variable NOPE is not set; export it, or remove the reference"
        );
        assert_eq!(
            expand("${A} ${B}", &lookup).unwrap_err(),
            "environment variables A, B are not set; export them, or remove the references"
        );
        assert!(expand("${OPEN", &lookup).unwrap_err().contains("unclosed"));
        assert!(
            expand("${no-dash}", &lookup)
                .unwrap_err()
                .contains("not a variable name")
        );
    }
}
