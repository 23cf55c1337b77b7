//! The admin listener: liveness, readiness, the admin API and the operator's console.
//! It is a listener of its own so that an orchestrator's probes never queue behind
//! ingest.
//!
//! # Layout
//!
//! - this file: health, readiness, and the routes.
//! - [`access`]: the admin token, the console's sign-in, cross-site requests refused.
//! - [`errors`]: every error as JSON, axum's own included.
//! - [`metrics`]: `GET /metrics` for Prometheus.
//! - [`deliveries`]: events, deliveries, attempts, replay.
//! - [`log`]: the delivery log, streamed as NDJSON.
//! - [`trial`]: a test send to a destination.
//! - [`running`]: plugins, the running config, reload.
//! - [`rates`]: the flow's rates over the last minutes, for the console.
//! - [`console`]: the console's pages, at `/`.

pub mod access;
pub mod console;
pub mod deliveries;
pub mod errors;
pub mod log;
pub mod metrics;
pub mod rates;
pub mod running;
pub mod trial;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use self::rates::Rates;

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

/// What the admin router's handlers share: what the server hands it, and what the
/// router keeps for itself (the rates, sampled for as long as it lives).
#[derive(Clone)]
pub struct Admin {
    /// What the server hands the admin listener.
    pub state: AdminState,
    /// The flow's recent rates.
    pub rates: Arc<Rates>,
}

impl FromRef<Admin> for AdminState {
    fn from_ref(admin: &Admin) -> AdminState {
        admin.state.clone()
    }
}

impl FromRef<Admin> for Arc<Rates> {
    fn from_ref(admin: &Admin) -> Arc<Rates> {
        admin.rates.clone()
    }
}

/// The admin router: the API, the console, and the layers every request goes through
/// (errors as JSON outermost, then the access guard).
pub fn router(state: AdminState) -> Router {
    let admin = Admin {
        rates: Rates::spawn(state.metrics.clone()),
        state: state.clone(),
    };
    let api = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics::metrics))
        .route("/admin/events/{id}", get(deliveries::event))
        .route("/admin/deliveries", get(deliveries::deliveries))
        .route("/admin/deliveries/{id}/replay", post(deliveries::replay))
        .route("/admin/attempts", get(log::attempts))
        .route("/admin/destinations", get(destinations))
        .route("/admin/destinations/{name}/test", post(trial::test))
        .route("/admin/destinations/{name}/replay-dead", post(deliveries::replay_dead))
        .route("/admin/plugins", get(running::plugins))
        .route("/admin/config", get(running::config))
        .route("/admin/reload", post(running::reload));
    api.merge(console::router())
        .fallback(errors::not_found)
        .layer(axum::middleware::from_fn_with_state(state, access::guard))
        .layer(axum::middleware::from_fn(errors::json_errors))
        .with_state(admin)
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
    let unavailable = state.outbox.unavailable();
    match (state.ready.get(), unavailable) {
        (true, None) => axum::Json(json!({ "status": "ready", "outbox": pending })).into_response(),
        (ready, unavailable) => {
            let reason = unavailable.unwrap_or_else(|| {
                debug_assert!(!ready);
                "starting or stopping".to_string()
            });
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(json!({ "status": "not ready", "reason": reason, "outbox": pending })),
            )
                .into_response()
        }
    }
}
