//! The sender's choice of destinations (the document seed's `webhook_ids`): an
//! `X-Weir-Destinations` header, or a multipart `webhook_ids` text field, naming one or
//! more of the route's destinations, for this event only.
//!
//! A route allows it with `sender_may_choose`; elsewhere the choice is refused rather
//! than ignored, and so is a name that is not one of the route's destinations (unknown,
//! or removed from the config since the sender learnt it), naming it.

use axum::http::{HeaderMap, HeaderName};

use super::error::IngestError;
use crate::config::Config;

/// The header a sender names destinations in: `X-Weir-Destinations: slack, archive`.
pub const DESTINATIONS_HEADER: &str = "x-weir-destinations";

/// The multipart text field a sender names destinations in (seed 004's name):
/// `webhook_ids=[slack, archive]`, or the field repeated.
pub const WEBHOOK_IDS_FIELD: &str = "webhook_ids";

/// The names in a list as senders write them: `a, b`, `[a, b]` or `["a", "b"]`.
pub fn names(text: &str) -> Vec<String> {
    let text = text.trim();
    let inner = text
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or(text);
    inner
        .split(',')
        .map(|name| name.trim().trim_matches(|c| c == '"' || c == '\'').trim().to_string())
        .filter(|name| !name.is_empty())
        .collect()
}

/// The destinations the sender chose for this event on `route` (empty: it chose none,
/// and the event goes to all the route's destinations). Takes the `webhook_ids` fields
/// out of `metadata`: they say where the event goes, they are not about it.
pub fn chosen(
    headers: &HeaderMap,
    metadata: &mut Vec<(String, String)>,
    config: &Config,
    route: &str,
) -> Result<Vec<String>, IngestError> {
    let mut given: Option<(&str, Vec<String>)> = None;
    static DESTINATIONS: HeaderName = HeaderName::from_static(DESTINATIONS_HEADER);
    for value in headers.get_all(&DESTINATIONS) {
        let text = value
            .to_str()
            .map_err(|_| IngestError::Malformed("X-Weir-Destinations must be destination names, in ASCII".into()))?;
        given
            .get_or_insert(("X-Weir-Destinations", Vec::new()))
            .1
            .extend(names(text));
    }
    let mut fields: Option<Vec<String>> = None;
    metadata.retain(|(key, value)| {
        let choice = key == WEBHOOK_IDS_FIELD;
        if choice {
            fields.get_or_insert_default().extend(names(value));
        }
        !choice
    });
    if let Some(fields) = fields {
        given.get_or_insert(("webhook_ids", Vec::new())).1.extend(fields);
    }
    let Some((source, mut wanted)) = given else {
        return Ok(Vec::new());
    };
    let Some(config) = config.routes.get(route) else {
        return Ok(Vec::new());
    };
    let known = config.destinations.join(", ");
    if !config.sender_may_choose {
        return Err(IngestError::Unprocessable(format!(
            "route {route:?} does not let senders choose destinations ({source}); send without it, \
             or set sender_may_choose = true in [routes.{route}]"
        )));
    }
    if wanted.is_empty() {
        return Err(IngestError::Unprocessable(format!(
            "{source} is empty; name one or more of route {route:?}'s destinations: {known}"
        )));
    }
    for name in &wanted {
        if !config.destinations.contains(name) {
            return Err(IngestError::Unprocessable(format!(
                "{source} names {name:?}, which is not a destination of route {route:?} (unknown, or removed \
                 from the config); the route's destinations are: {known}"
            )));
        }
    }
    wanted.sort();
    wanted.dedup();
    Ok(wanted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_list_shapes_senders_write() {
        let cases = [
            ("a", vec!["a"]),
            ("a, b", vec!["a", "b"]),
            ("[a, b]", vec!["a", "b"]),
            (r#"["a","b"]"#, vec!["a", "b"]),
            ("[]", vec![]),
            (" , ", vec![]),
        ];
        for (text, expected) in cases {
            assert_eq!(names(text), expected, "{text}");
        }
    }
}
