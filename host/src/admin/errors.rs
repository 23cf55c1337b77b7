//! Every admin error is JSON, `{"error": "..."}`: the handlers' own, and those axum
//! writes itself (an extractor's rejection, a method a route does not take), which are
//! plain text or empty. One layer over the whole router turns the latter into the
//! former, so that no new route or extractor can bring plain-text errors back. The
//! console's pages (HTML) are left as they are.

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// The most of an error body read to be wrapped: axum's own messages are a line.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// `{"error": message}` with this status.
pub fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, axum::Json(json!({ "error": message.into() }))).into_response()
}

/// The answer for a path nothing serves.
pub async fn not_found(uri: axum::http::Uri) -> Response {
    error(
        StatusCode::NOT_FOUND,
        format!(
            "nothing at {}; the admin API is under /admin/ (see the README), the console at /",
            uri.path()
        ),
    )
}

/// Turns an error that is not JSON (nor a console page) into JSON.
pub async fn json_errors(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if content_type.starts_with("application/json") || content_type.starts_with("text/html") {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = to_bytes(body, MAX_ERROR_BODY)
        .await
        .map(|bytes| String::from_utf8_lossy(&bytes).trim().to_string())
        .unwrap_or_default();
    let message = if status == StatusCode::METHOD_NOT_ALLOWED {
        let allowed = parts
            .headers
            .get(header::ALLOW)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
            .map(|allow| format!("; it takes {allow}"))
            .unwrap_or_default();
        format!("{method} is not allowed on {path}{allowed}")
    } else if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("request failed")
            .to_ascii_lowercase()
    } else {
        lowercase_first(&text)
    };
    let body = json!({ "error": message }).to_string();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts
        .headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Response::from_parts(parts, Body::from(body))
}

/// `Failed to parse...` as Weir's messages are written: starting lowercase.
fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_start_lowercase() {
        assert_eq!(
            lowercase_first("Invalid URL: Cannot parse `abc`"),
            "invalid URL: Cannot parse `abc`"
        );
        assert_eq!(lowercase_first(""), "");
    }
}
