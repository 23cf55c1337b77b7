//! The operator's console, on the admin listener at `/`: what Weir is doing, and the
//! buttons to act on it, without curl.
//!
//! Every page is written here, in the binary (no CDN: sidecars often have no internet),
//! and says what it has to say without JavaScript; `console.js` only makes the live
//! parts update in place (it polls their fragments) and marks a button busy while its
//! form is sent. Actions are plain HTML forms that POST to the console's own routes,
//! which do what the admin API does and answer with a page.
//!
//! # Layout
//!
//! - this file: the routes and the assets.
//! - [`html`]: escaping and the page around every view.
//! - [`overview`]: routes, live rates and their chart, destinations at a glance.
//! - [`destination`]: one destination: breaker, counts, latency, last errors, actions.
//! - [`event`]: an event's deliveries and attempts, and replay.
//! - [`log`]: the delivery log's download form.
//! - [`running`]: plugins and the running config.

pub mod destination;
pub mod event;
pub mod html;
pub mod log;
pub mod overview;
pub mod running;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post};

use super::Admin;

const CSS: &str = include_str!("assets/console.css");
const JS: &str = include_str!("assets/console.js");

/// The console's routes.
pub fn router() -> Router<Admin> {
    Router::new()
        .route("/", get(overview::page))
        .route("/live/overview", get(overview::live))
        .route("/destinations/{name}", get(destination::page))
        .route("/live/destinations/{name}", get(destination::live))
        .route("/destinations/{name}/test", post(destination::test))
        .route("/destinations/{name}/replay-dead", post(destination::replay_dead))
        .route("/events", get(event::page))
        .route("/deliveries/{id}/replay", post(event::replay))
        .route("/plugins", get(running::plugins))
        .route("/config", get(running::config))
        .route("/login", get(super::access::login_page).post(super::access::login))
        .route("/logout", post(super::access::logout))
        .route("/assets/console.css", get(css))
        .route("/assets/console.js", get(js))
}

async fn css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        CSS,
    )
}

async fn js() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        JS,
    )
}
