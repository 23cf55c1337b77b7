//! `GET /admin/attempts`: the delivery log (the camera seed's "download the inference
//! logs"), every recorded attempt as one JSON line, streamed page by page from the
//! outbox so that a log of any length costs one page of memory.
//!
//! Filters: `since` and `until` (RFC 3339, or a span back from now such as `15m`),
//! `destination`, and `status` (`ok`, `failed`, `none`, `2xx`..`5xx`, or a code).

use std::sync::Arc;
use std::time::SystemTime;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::{StreamExt, stream};
use serde::Deserialize;

use super::AdminState;
use super::errors::error;
use crate::outbox::attempts::MAX_PAGE;
use crate::outbox::{AttemptCursor, AttemptQuery, Records, StatusFilter};

/// Query of `GET /admin/attempts`, as text so that bad values get a clear message.
#[derive(Debug, Default, Deserialize)]
pub struct LogParams {
    since: Option<String>,
    until: Option<String>,
    destination: Option<String>,
    status: Option<String>,
}

/// Reads a time: RFC 3339, or a span back from `now` (`90s`, `15m`, `2h`, `7d`).
pub fn parse_time(key: &str, text: &str, now: SystemTime) -> Result<SystemTime, String> {
    let text = text.trim();
    if let Ok(at) = humantime::parse_rfc3339_weak(text) {
        return Ok(at);
    }
    match humantime::parse_duration(text) {
        Ok(span) => Ok(now.checked_sub(span).unwrap_or(SystemTime::UNIX_EPOCH)),
        Err(_) => Err(format!(
            "{key} {text:?} is neither a time (2026-11-22T10:00:00Z) nor a span back from now (15m, 2h, 7d)"
        )),
    }
}

/// A parameter that was given and is not blank. The console's download form sends
/// every field, the ones left empty as `since=&status=`: those filter nothing.
fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// The query a request's parameters mean.
pub fn query(params: &LogParams, now: SystemTime) -> Result<AttemptQuery, String> {
    let since = given(&params.since).map(|t| parse_time("since", t, now)).transpose()?;
    let until = given(&params.until).map(|t| parse_time("until", t, now)).transpose()?;
    let status = given(&params.status).map(StatusFilter::parse).transpose()?;
    Ok(AttemptQuery {
        since,
        until,
        destination: given(&params.destination).map(String::from),
        status,
        newest_first: false,
    })
}

enum Reading {
    Next(Option<AttemptCursor>),
    Done,
}

/// `GET /admin/attempts?since=&until=&destination=&status=`.
pub async fn attempts(State(state): State<AdminState>, Query(params): Query<LogParams>) -> Response {
    let query = match query(&params, SystemTime::now()) {
        Ok(query) => query,
        Err(message) => return error(StatusCode::BAD_REQUEST, message),
    };
    let outbox: Arc<dyn Records> = state.outbox.clone();
    // The first page is read before answering, so that a failing store is an error
    // status rather than a cut-off stream.
    let first = match outbox.attempts(&query, None, MAX_PAGE).await {
        Ok(page) => page,
        Err(failed) => return error(StatusCode::INTERNAL_SERVER_ERROR, failed.to_string()),
    };
    let first_lines = lines(&first.attempts);
    let first_next = first.next.map_or(Reading::Done, |next| Reading::Next(Some(next)));
    let rest = stream::unfold(first_next, move |reading| {
        let outbox = outbox.clone();
        let query = query.clone();
        async move {
            let Reading::Next(cursor) = reading else {
                return None;
            };
            match outbox.attempts(&query, cursor, MAX_PAGE).await {
                Ok(page) => {
                    let next = page.next.map_or(Reading::Done, |next| Reading::Next(Some(next)));
                    Some((Ok::<Bytes, std::io::Error>(lines(&page.attempts)), next))
                }
                Err(failed) => {
                    tracing::warn!(error = %failed, "the delivery log export stopped");
                    Some((Err(std::io::Error::other(failed.to_string())), Reading::Done))
                }
            }
        }
    });
    let body = stream::once(async move { Ok::<Bytes, std::io::Error>(first_lines) }).chain(rest);
    (
        [
            (header::CONTENT_TYPE, "application/x-ndjson"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"weir-attempts.ndjson\"",
            ),
        ],
        Body::from_stream(body),
    )
        .into_response()
}

fn lines(attempts: &[crate::outbox::AttemptLine]) -> Bytes {
    let mut out = Vec::with_capacity(attempts.len() * 200);
    for attempt in attempts {
        if serde_json::to_writer(&mut out, attempt).is_ok() {
            out.push(b'\n');
        }
    }
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn times_are_rfc3339_or_spans_back_from_now() {
        let now = humantime::parse_rfc3339("2026-11-22T10:00:00Z").unwrap();
        assert_eq!(
            parse_time("since", "2026-11-22T09:00:00Z", now),
            Ok(now - Duration::from_secs(3600))
        );
        assert_eq!(parse_time("since", "15m", now), Ok(now - Duration::from_secs(900)));
        assert!(
            parse_time("until", "yesterday", now)
                .unwrap_err()
                .starts_with("until \"yesterday\"")
        );
    }

    #[test]
    fn blank_parameters_filter_nothing() {
        let now = humantime::parse_rfc3339("2026-11-22T10:00:00Z").unwrap();
        let blank = LogParams {
            since: Some(String::new()),
            until: Some(" ".into()),
            destination: Some(String::new()),
            status: Some(String::new()),
        };
        let read = query(&blank, now).unwrap();
        assert_eq!(
            (read.since, read.until, read.destination, read.status),
            (None, None, None, None)
        );
        let given = LogParams {
            since: Some("1h".into()),
            destination: Some("hook".into()),
            status: Some("5xx".into()),
            ..LogParams::default()
        };
        let read = query(&given, now).unwrap();
        assert_eq!(read.since, Some(now - Duration::from_secs(3600)));
        assert_eq!(read.destination.as_deref(), Some("hook"));
        assert_eq!(read.status, Some(StatusFilter::Class(5)));
    }
}
