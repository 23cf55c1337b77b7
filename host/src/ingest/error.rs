//! Why ingest refused a request: each reason has its status and a message that says
//! what to do, sent as `{"error": "..."}`.

use std::time::Duration;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// A refused ingest request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IngestError {
    /// No route of that name.
    #[error("no route named {route:?}; the routes are: {known}")]
    UnknownRoute {
        /// The name asked for.
        route: String,
        /// The routes there are.
        known: String,
    },
    /// A path ingest does not serve.
    #[error("nothing at {0}; POST events to /ingest/{{route}}")]
    NoSuchPath(String),
    /// Missing or wrong bearer token.
    #[error("missing or wrong bearer token; send Authorization: Bearer <token>")]
    Unauthorized,
    /// Body larger than the limit.
    #[error("the body is larger than the limit of {limit} bytes; send smaller events or raise server.max_body")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// The event can never fit the store, whatever the sender waits.
    #[error("{0}")]
    NeverFits(String),
    /// The body did not arrive in time.
    #[error("the body took longer than {} to arrive (server.body_timeout); send it at once, or raise the limit", humantime::format_duration(*limit))]
    BodyTimeout {
        /// The limit.
        limit: Duration,
    },
    /// Content type neither JSON nor multipart.
    #[error("Content-Type must be application/json or multipart/form-data, got {0}")]
    UnsupportedType(String),
    /// The request is malformed.
    #[error("{0}")]
    Malformed(String),
    /// The request is well-formed but cannot be an event.
    #[error("{0}")]
    Unprocessable(String),
    /// The outbox is full.
    #[error("{message}")]
    Busy {
        /// Why.
        message: String,
        /// When to try again.
        retry_after: Duration,
    },
    /// Weir could not store the event.
    #[error("{0}")]
    Internal(String),
}

impl IngestError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            IngestError::UnknownRoute { .. } | IngestError::NoSuchPath(_) => StatusCode::NOT_FOUND,
            IngestError::Unauthorized => StatusCode::UNAUTHORIZED,
            IngestError::BodyTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            IngestError::TooLarge { .. } | IngestError::NeverFits(_) => StatusCode::PAYLOAD_TOO_LARGE,
            IngestError::UnsupportedType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            IngestError::Malformed(_) => StatusCode::BAD_REQUEST,
            IngestError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            IngestError::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            IngestError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for IngestError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = Json(serde_json::json!({ "error": self.to_string() }));
        let mut response = (status, body).into_response();
        match &self {
            IngestError::Busy { retry_after, .. } => {
                let seconds = retry_after.as_secs().max(1).to_string();
                if let Ok(value) = HeaderValue::from_str(&seconds) {
                    response.headers_mut().insert(header::RETRY_AFTER, value);
                }
            }
            IngestError::Unauthorized => {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            _ => {}
        }
        response
    }
}
