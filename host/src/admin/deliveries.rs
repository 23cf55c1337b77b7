//! The delivery side of the admin API: events and their attempts (also the polling
//! alternative to webhooks), delivery lists, and replay of dead letters.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::AdminState;
use crate::outbox::{DeliveryId, DeliveryQuery, DeliveryState, OutboxError};

fn failed(error: OutboxError) -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Json(json!({ "error": error.to_string() })),
    )
        .into_response()
}

/// `GET /admin/events/{id}`: the event's deliveries and their attempts.
pub async fn event(State(state): State<AdminState>, Path(id): Path<String>) -> Response {
    match state.outbox.event(&id).await {
        Ok(Some(record)) => Json(record).into_response(),
        Ok(None) => (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": format!("no event {id:?} is known (it was never accepted, or its records have expired)") })),
        )
            .into_response(),
        Err(error) => failed(error),
    }
}

/// Query of `GET /admin/deliveries`, as text so that bad values get a clear message.
#[derive(Debug, Deserialize)]
pub struct DeliveriesParams {
    state: Option<String>,
    destination: Option<String>,
    limit: Option<usize>,
}

/// `GET /admin/deliveries?state=dead|pending|delivered&destination=NAME&limit=N`.
pub async fn deliveries(State(state): State<AdminState>, Query(params): Query<DeliveriesParams>) -> Response {
    let wanted = match params.state.as_deref().map(|s| (s, DeliveryState::parse(s))) {
        None => None,
        Some((_, Some(wanted))) => Some(wanted),
        Some((text, None)) => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({ "error": format!("state {text:?} is not one of pending, delivered, dead") })),
            )
                .into_response();
        }
    };
    let query = DeliveryQuery {
        state: wanted,
        destination: params.destination,
        limit: params.limit,
    };
    match state.outbox.deliveries(&query).await {
        Ok(list) => Json(json!({ "deliveries": list })).into_response(),
        Err(error) => failed(error),
    }
}

/// `POST /admin/deliveries/{id}/replay`: sends a dead delivery again (same
/// `webhook-id`).
pub async fn replay(State(state): State<AdminState>, Path(id): Path<DeliveryId>) -> Response {
    match state.outbox.replay(id).await {
        Ok(true) => Json(json!({ "replayed": id })).into_response(),
        Ok(false) => (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": format!("delivery {id} is not a dead letter (it does not exist, or is pending or delivered)") })),
        )
            .into_response(),
        Err(error) => failed(error),
    }
}

/// `POST /admin/destinations/{name}/replay-dead`: sends every dead delivery of a
/// destination again.
pub async fn replay_dead(State(state): State<AdminState>, Path(name): Path<String>) -> Response {
    match state.outbox.replay_dead(&name).await {
        Ok(count) => Json(json!({ "destination": name, "replayed": count })).into_response(),
        Err(error) => failed(error),
    }
}
