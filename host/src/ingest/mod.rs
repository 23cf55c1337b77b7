//! Ingest: `POST /ingest/{route}` takes a prediction, runs the route's filters, stores
//! the deliveries, and answers `202 {"id": ...}`.
//!
//! Filters run in the request (they take microseconds); delivery never does, so how
//! slow a receiver is never changes how fast the sender is answered.
//!
//! # Layout
//!
//! - this file: the HTTP surface, authentication and the event id.
//! - [`decode`]: JSON and multipart bodies.
//! - [`error`]: refusals, with status and message.
//! - [`choose`]: the sender's choice of destinations.

pub mod choose;
pub mod decode;
pub mod error;
pub mod limits;

use std::sync::Arc;

use arc_swap::ArcSwap;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::json;

use self::decode::{Look, Reading, body_kind, decode, metadata_headers, task_header};
use self::error::IngestError;
use self::limits::SenderLimits;
use crate::event::Event;
use crate::event::trace::{TRACEPARENT, TraceParent};
use crate::flood::Flood;
use crate::metrics::{Ingested, Metrics};
use crate::outbox::{Enqueue, Enqueued, OutboxError};
use crate::pipeline::{Route, RouteOutcome};
use crate::topology::Topology;

/// Server-side refusals (a full store, say) come in floods when they come: they are
/// logged at most once a second, with how many there were.
static REFUSALS: Flood = Flood::new();

/// How long a sender is asked to wait before resending an event a filter asked for
/// again later (a retryable filter error).
pub const FILTER_RETRY_AFTER: std::time::Duration = std::time::Duration::from_secs(1);

/// Longest event id a sender may choose.
pub const MAX_ID_LEN: usize = 200;

/// What ingest needs.
#[derive(Clone)]
pub struct IngestState {
    /// The running routes; swapped whole on reload.
    pub topology: Arc<ArcSwap<Topology>>,
    /// Where accepted events go: the enqueue side of the outbox, and nothing more.
    pub outbox: Arc<dyn Enqueue>,
    /// Requests counted by route and outcome.
    pub metrics: Arc<Metrics>,
}

/// The ingest router.
pub fn router(state: IngestState) -> Router {
    Router::new()
        .route("/ingest/{route}", post(ingest))
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        .with_state(state)
}

async fn method_not_allowed(method: axum::http::Method) -> Response {
    let body =
        axum::Json(json!({ "error": format!("{method} is not allowed here; POST events to /ingest/{{route}}") }));
    (StatusCode::METHOD_NOT_ALLOWED, [(header::ALLOW, "POST")], body).into_response()
}

async fn not_found(uri: axum::http::Uri) -> Response {
    IngestError::NoSuchPath(uri.path().to_string()).into_response()
}

async fn ingest(
    State(state): State<IngestState>,
    Path(route_name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    // One snapshot for the whole request: the event runs its chain on one consistent
    // set of filters even if a reload swaps the topology meanwhile.
    let topology = state.topology.load_full();
    let route = topology.routes.get(&route_name).cloned();
    // Not spawned: if the sender hangs up, the work is dropped mid-way, and that is
    // safe. Before the outbox has the event nothing is stored; storing is atomic (the
    // in-memory store under one lock; the durable store's writer commits and schedules
    // on its own thread, whatever becomes of this request); after it, only the answer is
    // lost, and a sender that retries with its idempotency key gets "duplicate".
    let result = accept(&state, &topology, route.as_ref(), route_name, headers, body).await;
    let how = match &result {
        Ok(answer) => answer.how,
        Err(error) if error.status().is_server_error() => Ingested::Refused,
        Err(_) => Ingested::Rejected,
    };
    state.metrics.ingested(route.as_ref().map(|route| &route.name), how);
    match result {
        Ok(accepted) => (StatusCode::ACCEPTED, axum::Json(accepted)).into_response(),
        Err(error) => {
            if error.status().is_server_error() {
                if let Some(count) = REFUSALS.note() {
                    tracing::warn!(
                        status = error.status().as_u16(),
                        refused = count,
                        "ingest refused {count} event(s) in the last second: {error}"
                    );
                }
            } else {
                tracing::debug!(status = error.status().as_u16(), "ingest refused: {error}");
            }
            error.into_response()
        }
    }
}

/// The answer to an accepted request (202), whatever became of the event.
#[derive(Debug, serde::Serialize)]
struct Answer {
    id: String,
    route: String,
    /// `accepted`, `dropped` (by a filter) or `duplicate` (an id seen before); also what
    /// the metrics count.
    #[serde(rename = "status")]
    how: Ingested,
    /// Where an accepted event goes.
    #[serde(skip_serializing_if = "Option::is_none")]
    destinations: Option<Vec<crate::event::DestinationName>>,
    /// Why a filter dropped the event.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

impl Answer {
    fn new(id: String, route: String, how: Ingested) -> Self {
        Answer {
            id,
            route,
            how,
            destinations: None,
            reason: None,
        }
    }
}

async fn accept(
    state: &IngestState,
    topology: &Topology,
    route: Option<&Arc<Route>>,
    route_name: String,
    headers: HeaderMap,
    body: Body,
) -> Result<Answer, IngestError> {
    let server = &topology.config.server;
    if let Some(token) = &server.ingest_token {
        authorize(&headers, token.expose())?;
    }
    let limits = SenderLimits::of(server);
    let max_body = limits.max_body;
    let Some(route) = route else {
        return Err(IngestError::UnknownRoute {
            route: route_name,
            known: topology.route_names().join(", "),
        });
    };
    if let Some(length) = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
        && length > max_body
    {
        return Err(IngestError::TooLarge { limit: max_body });
    }
    let id = event_id(&headers)?;
    let named = task_header(&headers)?;
    let kind = body_kind(&headers)?;
    let reading = Reading {
        max_depth: limits.max_json_depth,
        // A route without filters reads nothing of the predictions.
        look: if route.stages.is_empty() {
            Look::Glance
        } else {
            Look::Parse
        },
        named,
    };
    let mut decoded = decode(kind, body, &limits, &reading).await?;
    // The sender's choice first: a multipart `webhook_ids` field is taken out of the
    // metadata, so it is neither delivered as metadata nor counted against its limits.
    let chosen = choose::chosen(&headers, &mut decoded.metadata, &topology.config, &route_name)?;
    let mut metadata = metadata_headers(&headers);
    metadata.extend(decoded.metadata);
    limits.check_metadata(&metadata)?;

    let mut event = Event::with_task(id, route_name.clone(), decoded.predictions, decoded.task);
    for (key, value) in metadata {
        event.set_metadata(key, value);
    }
    event.attachments = decoded.attachments;
    event.trace = Some(trace_context(&headers).to_string());
    let id = event.id.clone();

    match route.process(event, &chosen).await {
        RouteOutcome::Dropped { reason } => Ok(Answer {
            reason: Some(reason),
            ..Answer::new(id, route_name, Ingested::Dropped)
        }),
        RouteOutcome::Busy { reason } => Err(IngestError::Busy {
            message: format!(
                "the route's filters are all busy ({reason}); nothing was stored: send the event again after Retry-After"
            ),
            retry_after: FILTER_RETRY_AFTER,
        }),
        RouteOutcome::Later { reason } => Err(IngestError::Busy {
            message: format!(
                "a filter could not process the event now and asked for it again later ({reason}); nothing was stored: send it again"
            ),
            retry_after: FILTER_RETRY_AFTER,
        }),
        RouteOutcome::Deliver(event) => {
            let destinations = event.destinations.clone();
            match state.outbox.enqueue(event).await {
                Ok(Enqueued::Accepted) => Ok(Answer {
                    destinations: Some(destinations),
                    ..Answer::new(id, route_name, Ingested::Accepted)
                }),
                Ok(Enqueued::Duplicate) => Ok(Answer::new(id, route_name, Ingested::Duplicate)),
                Err(error) => Err(refused(error)),
            }
        }
    }
}

/// The trace the event travels in: the sender's `traceparent`, when it sent exactly
/// one valid header, else a new one (the W3C rule: an invalid header is ignored, never
/// refused).
fn trace_context(headers: &HeaderMap) -> TraceParent {
    static NAME: HeaderName = HeaderName::from_static(TRACEPARENT);
    let mut given = headers.get_all(&NAME).iter();
    match (given.next(), given.next()) {
        (Some(value), None) => value.to_str().ok().and_then(TraceParent::parse),
        _ => None,
    }
    .unwrap_or_else(TraceParent::start)
}

/// Why the outbox refused an event, as the sender hears it.
fn refused(error: OutboxError) -> IngestError {
    match error {
        OutboxError::Full {
            pending,
            limit,
            retry_after,
        } => IngestError::Busy {
            message: format!(
                "Weir is holding {pending} undelivered deliveries, its limit ({limit}); try again later \
                 (raise storage.max_pending, or check the receivers)"
            ),
            retry_after,
        },
        OutboxError::FullBytes {
            bytes,
            limit,
            retry_after,
        } => IngestError::Busy {
            message: format!(
                "Weir is holding {bytes} bytes of undelivered events, its limit ({limit}); try again later \
                 (raise storage.max_bytes, or check the receivers)"
            ),
            retry_after,
        },
        OutboxError::NeverFits { bytes, limit, setting } => IngestError::NeverFits(format!(
            "the event is {bytes} bytes as stored, more than {setting} ({limit} bytes): it can never be accepted, \
             however long you wait; send smaller events (fewer or smaller attachments) or raise {setting}"
        )),
        OutboxError::DestinationFull {
            destination,
            pending,
            bytes,
            retry_after,
        } => IngestError::Busy {
            message: format!(
                "destination {destination} has {pending} deliveries ({bytes} bytes) waiting, its share of the store, \
                 and its when_full is \"refuse\"; nothing was stored: try again later (check that receiver, or raise \
                 destinations.{destination}.max_pending / max_bytes)"
            ),
            retry_after,
        },
        OutboxError::Unavailable { reason, retry_after } => IngestError::Busy {
            message: format!(
                "nothing was stored: {reason}; try again later (the same Idempotency-Key is safe to send again)"
            ),
            retry_after,
        },
        OutboxError::Failed(reason) => IngestError::Internal(format!("the event could not be stored: {reason}")),
    }
}

fn authorize(headers: &HeaderMap, token: &str) -> Result<(), IngestError> {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    // Compare in constant time, so the comparison does not leak the token.
    let equal =
        given.len() == token.len() && given.bytes().zip(token.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
    if equal { Ok(()) } else { Err(IngestError::Unauthorized) }
}

/// The sender's `Idempotency-Key` or `webhook-id`, or a new time-ordered id.
fn event_id(headers: &HeaderMap) -> Result<String, IngestError> {
    // Looked up by names built at compile time: a name given as text is parsed and
    // checked at every lookup (about 340 instructions).
    static IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
    static WEBHOOK_ID: HeaderName = HeaderName::from_static("webhook-id");
    let given = headers.get(&IDEMPOTENCY_KEY).or_else(|| headers.get(&WEBHOOK_ID));
    let Some(value) = given else {
        // Written straight into the id (`format!` through `Display` cost a thousand
        // instructions per event more).
        let mut id = String::with_capacity(4 + uuid::fmt::Simple::LENGTH);
        id.push_str("evt_");
        id.push_str(
            uuid::Uuid::now_v7()
                .simple()
                .encode_lower(&mut [0; uuid::fmt::Simple::LENGTH]),
        );
        return Ok(id);
    };
    let text = value.to_str().unwrap_or_default().trim();
    let valid = !text.is_empty() && text.len() <= MAX_ID_LEN && text.chars().all(|c| c.is_ascii_graphic());
    if !valid {
        return Err(IngestError::Malformed(format!(
            "the Idempotency-Key / webhook-id must be 1 to {MAX_ID_LEN} printable ASCII characters without spaces"
        )));
    }
    Ok(text.to_string())
}
