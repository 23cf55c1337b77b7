//! `POST /admin/destinations/{name}/test`: a sample event sent to one destination now,
//! through the real delivery path (its body format, headers and signature), and what
//! the receiver answered (the workflow seed's test button).
//!
//! The sample is a prediction of one of the five tasks, embedded in the binary, on a
//! route that delivers to the destination, with `weir-test: true` in its metadata so
//! a receiver can tell it apart. Its id starts with `test_`.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Deserialize;

use super::AdminState;
use super::errors::error;
use crate::config::Config;
use crate::dispatch::trial::TrialOutcome;
use crate::event::{Attachment, Event, Task};

/// The sample predictions, one per task: (task, document).
pub const SAMPLES: [(&str, &str); 5] = [
    ("object-detection", include_str!("samples/object-detection.json")),
    ("classification", include_str!("samples/classification.json")),
    (
        "multilabel-classification",
        include_str!("samples/multilabel-classification.json"),
    ),
    (
        "instance-segmentation",
        include_str!("samples/instance-segmentation.json"),
    ),
    (
        "semantic-segmentation",
        include_str!("samples/semantic-segmentation.json"),
    ),
];

static IMAGE: &[u8] = include_bytes!("samples/image.jpeg");
static MASK: &[u8] = include_bytes!("samples/mask_0000.png");

/// Query of a test send.
#[derive(Debug, Default, Deserialize)]
pub struct TrialParams {
    /// The sample's task (default `object-detection`).
    pub task: Option<String>,
}

/// The route a destination's test event comes from: the first that delivers to it (or
/// sends it its failures); `test` when none does.
pub fn route_of(config: &Config, destination: &str) -> String {
    config
        .routes
        .iter()
        .find(|(_, route)| {
            route.destinations.iter().any(|d| d == destination)
                || matches!(&route.on_filter_error, crate::config::FailurePolicy::SendTo(d) if d == destination)
        })
        .map_or_else(|| "test".to_string(), |(name, _)| name.clone())
}

/// The sample event for `destination`, of `task`.
pub fn sample(config: &Config, destination: &str, task: Option<&str>) -> Result<Event, String> {
    let task = task.unwrap_or("object-detection");
    let Some((name, document)) = SAMPLES.iter().find(|(name, _)| *name == task) else {
        let known: Vec<&str> = SAMPLES.iter().map(|(name, _)| *name).collect();
        return Err(format!("task {task:?} has no sample; use one of {}", known.join(", ")));
    };
    let id = format!("test_{}", uuid::Uuid::now_v7().simple());
    let task = Task::parse(name).map_err(|invalid| invalid.0)?;
    let mut event = Event::with_task(id, route_of(config, destination), (*document).into(), task);
    event.set_metadata("weir-test", "true");
    event.attachments.push(Attachment {
        name: "image.jpeg".into(),
        content_type: "image/jpeg".into(),
        data: Bytes::from_static(IMAGE),
    });
    if name.ends_with("segmentation") {
        event.attachments.push(Attachment {
            name: "mask_0000.png".into(),
            content_type: "image/png".into(),
            data: Bytes::from_static(MASK),
        });
    }
    event.destinations = vec![destination.into()];
    Ok(event)
}

/// Sends the sample; the outcome, or why not (status and message).
pub async fn send(state: &AdminState, name: &str, task: Option<&str>) -> Result<TrialOutcome, (StatusCode, String)> {
    let topology = state.reloader.topology.load_full();
    if !topology.config.destinations.contains_key(name) {
        let known: Vec<&str> = topology.config.destinations.keys().map(String::as_str).collect();
        return Err((
            StatusCode::NOT_FOUND,
            format!(
                "no destination named {name:?}; the destinations are: {}",
                known.join(", ")
            ),
        ));
    }
    let event = sample(&topology.config, name, task).map_err(|message| (StatusCode::BAD_REQUEST, message))?;
    state.dispatcher.trial(name, event).await.ok_or_else(|| {
        (
            StatusCode::NOT_FOUND,
            format!("destination {name:?} has no lane yet; try again"),
        )
    })
}

/// `POST /admin/destinations/{name}/test?task=TASK`.
pub async fn test(
    State(state): State<AdminState>,
    Path(name): Path<String>,
    Query(params): Query<TrialParams>,
) -> Response {
    match send(&state, &name, params.task.as_deref()).await {
        Ok(outcome) => Json(outcome).into_response(),
        Err((status, message)) => error(status, message),
    }
}
