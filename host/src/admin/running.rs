//! What is running: plugins (version, errors, counters), the config (secrets
//! redacted), and reloading the config on demand.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::AdminState;

/// `GET /admin/plugins`: each plugin's version, the routes using it, its last error and
/// its counters.
pub async fn plugins(State(state): State<AdminState>) -> Response {
    let topology = state.reloader.topology.load_full();
    let plugins: Vec<Value> = state
        .reloader
        .registry
        .status()
        .into_iter()
        .filter(|status| topology.plugin_names().contains(&status.name))
        .map(|status| {
            let totals = topology.plugin_totals(&status.name);
            let mut value = serde_json::to_value(&status).unwrap_or(Value::Null);
            value["routes"] = json!(topology.routes_using(&status.name));
            value["calls"] = json!(totals.calls);
            value["drops"] = json!(totals.drops);
            value["errors"] = json!(totals.errors);
            value["mean_call_us"] = json!(totals.mean_call_us());
            value["instances_created"] = json!(totals.instances_created);
            value["log_suppressed"] = json!(totals.log_suppressed);
            value
        })
        .collect();
    Json(json!({ "plugins": plugins })).into_response()
}

/// `GET /admin/config`: the running config, secrets redacted.
pub async fn config(State(state): State<AdminState>) -> Response {
    let topology = state.reloader.topology.load_full();
    Json(json!({ "source": state.reloader.config_path, "config": &*topology.config })).into_response()
}

/// `POST /admin/reload`: reload the config file now (as SIGHUP does).
pub async fn reload(State(state): State<AdminState>) -> Response {
    match state.reloader.config_changed().await {
        Ok(()) => Json(json!({ "reloaded": true })).into_response(),
        Err(problems) => {
            let problems: Vec<String> = problems.iter().map(ToString::to_string).collect();
            (StatusCode::UNPROCESSABLE_ENTITY, Json(json!({ "reloaded": false, "error": "the config has problems; the running config is unchanged", "problems": problems }))).into_response()
        }
    }
}
