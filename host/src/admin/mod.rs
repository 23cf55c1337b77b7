//! The admin listener: liveness, readiness, and the admin API. It is a listener of its
//! own so that an orchestrator's probes never queue behind ingest.
//!
//! # Layout
//!
//! - this file: health, readiness, and the routes.
//! - [`metrics`]: `GET /metrics` for Prometheus.
//! - [`deliveries`]: events, deliveries, attempts, replay.
//! - [`running`]: plugins, the running config, reload.

pub mod deliveries;
pub mod metrics;
pub mod running;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

/// Readiness: true once plugins are loaded and listeners bound, false again when
/// shutting down.
#[derive(Clone, Default)]
pub struct Readiness(Arc<AtomicBool>);

impl Readiness {
    /// Marks ready or not.
    pub fn set(&self, ready: bool) {
        self.0.store(ready, Ordering::SeqCst);
    }

    /// Whether ready.
    pub fn get(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// What the admin API reads.
#[derive(Clone)]
pub struct AdminState {
    /// Readiness.
    pub ready: Readiness,
    /// Deliveries pending in the outbox.
    pub outbox: Arc<dyn crate::outbox::Records>,
    /// The lanes, for their state.
    pub dispatcher: Arc<crate::dispatch::Dispatcher>,
    /// Plugins, the running config, and reloading.
    pub reloader: Arc<crate::reload::Reloader>,
    /// The counters of ingest and delivery.
    pub metrics: Arc<crate::metrics::Metrics>,
}

/// The admin router.
pub fn router(state: AdminState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics::metrics))
        .route("/admin/events/{id}", get(deliveries::event))
        .route("/admin/deliveries", get(deliveries::deliveries))
        .route("/admin/deliveries/{id}/replay", axum::routing::post(deliveries::replay))
        .route("/admin/destinations", get(destinations))
        .route("/admin/plugins", get(running::plugins))
        .route("/admin/config", get(running::config))
        .route("/admin/reload", axum::routing::post(running::reload))
        .route(
            "/admin/destinations/{name}/replay-dead",
            axum::routing::post(deliveries::replay_dead),
        )
        .fallback(|| async {
            (
                StatusCode::NOT_FOUND,
                axum::Json(json!({ "error": "no such admin endpoint" })),
            )
        })
        .with_state(state)
}

/// `GET /admin/destinations`: each lane's attempts in flight and circuit breaker.
async fn destinations(State(state): State<AdminState>) -> Response {
    axum::Json(json!({ "destinations": state.dispatcher.status(), "outbox": state.outbox.stats() })).into_response()
}

async fn healthz() -> Response {
    axum::Json(json!({ "status": "ok" })).into_response()
}

async fn readyz(State(state): State<AdminState>) -> Response {
    let pending = state.outbox.stats();
    if state.ready.get() {
        axum::Json(json!({ "status": "ready", "outbox": pending })).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({ "status": "not ready", "outbox": pending })),
        )
            .into_response()
    }
}
