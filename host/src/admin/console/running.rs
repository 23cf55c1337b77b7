//! What is running: each plugin (kind, contract, content hash, when loaded, its last
//! load error, calls, drops, errors, mean call time), and the config, secrets redacted.

use axum::extract::State;
use axum::response::{IntoResponse, Response};

use super::html::{self, count, esc, or_dash, table};
use crate::admin::AdminState;

/// `GET /plugins`.
pub async fn plugins(State(state): State<AdminState>) -> Response {
    let topology = state.reloader.topology.load_full();
    let names = topology.plugin_names();
    let rows: Vec<Vec<String>> = state
        .reloader
        .registry
        .status()
        .into_iter()
        .filter(|status| names.contains(&status.name))
        .map(|status| {
            let totals = topology.plugin_totals(&status.name);
            let hash = status.hash.as_deref().unwrap_or_default();
            let error = match (&status.last_error, status.missing) {
                (_, true) => "<span class=\"bad\">its file was removed</span>".to_string(),
                (Some(error), _) => format!(
                    "<span class=\"bad\">{}</span> <small>{}</small>",
                    esc(error),
                    or_dash(status.last_error_at.as_deref())
                ),
                (None, false) => "–".to_string(),
            };
            vec![
                format!("<strong>{}</strong>", esc(&status.name)),
                or_dash(status.kind),
                or_dash(status.contract.as_deref()),
                format!(
                    "<code title=\"{}\">{}</code>",
                    esc(hash),
                    esc(&hash[..hash.len().min(12)])
                ),
                or_dash(status.loaded_at.as_deref()),
                esc(&topology.routes_using(&status.name).join(", ")),
                error,
                count(totals.calls),
                count(totals.drops),
                count(totals.errors),
                format!("{:.1} µs", totals.mean_call_us()),
            ]
        })
        .collect();
    let body = format!(
        "<section class=\"card\">{}</section>",
        table(
            "plugins",
            &[
                "plugin",
                "kind",
                "contract",
                "hash",
                "loaded at",
                "routes",
                "last load error",
                "calls",
                "drops",
                "errors",
                "mean call",
            ],
            &rows,
            "No route uses a plugin.",
        )
    );
    html::live_page("Plugins", &body).into_response()
}

/// `GET /config`: the running config as TOML, secrets redacted.
pub async fn config(State(state): State<AdminState>) -> Response {
    let topology = state.reloader.topology.load_full();
    let text = toml::to_string_pretty(&*topology.config)
        .unwrap_or_else(|_| serde_json::to_string_pretty(&*topology.config).unwrap_or_default());
    let source = state.reloader.config_path.as_ref().map_or_else(
        || "the built-in default config".to_string(),
        |p| p.display().to_string(),
    );
    let body = format!(
        "<section class=\"card\"><p>From <code>{}</code>; secrets and header values show as \
         <code>&lt;redacted&gt;</code>. <code>POST /admin/reload</code> (or SIGHUP) reloads it.</p>\
         <pre id=\"config\">{}</pre></section>",
        esc(&source),
        esc(&text)
    );
    html::page("Running config", &body).into_response()
}
