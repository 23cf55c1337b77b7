//! One destination (`GET /destinations/{name}`): its circuit breaker, attempts in
//! flight, deliveries queued and dead, latency p50/p99 over its last attempts, its last
//! errors with the receiver's answer, the "Send test" and "Replay dead letters"
//! buttons, and a link to download its delivery log.

use std::fmt::Write;

use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::html::{self, count, esc, or_dash, table};
use super::log;
use crate::admin::AdminState;
use crate::admin::trial::{SAMPLES, send};
use crate::config::http::redacted_url;
use crate::dispatch::trial::TrialOutcome;
use crate::outbox::{AttemptQuery, StatusFilter};

/// Attempts the latency percentiles are taken over: the most recent ones.
pub const LATENCY_OVER: usize = 500;

/// Errors shown.
pub const LAST_ERRORS: usize = 5;

/// The `q`-quantile of sorted values (nearest rank).
pub fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

fn missing(state: &AdminState, name: &str) -> Option<Response> {
    let topology = state.reloader.topology.load();
    if topology.config.destinations.contains_key(name) {
        return None;
    }
    let body = html::notice(
        "bad",
        &format!("There is no destination named {name:?} in the running config."),
    );
    Some((StatusCode::NOT_FOUND, html::page("No such destination", &body)).into_response())
}

/// `GET /destinations/{name}`.
pub async fn page(State(state): State<AdminState>, Path(name): Path<String>) -> Response {
    if let Some(response) = missing(&state, &name) {
        return response;
    }
    view(&state, &name, None, "").await
}

/// `GET /live/destinations/{name}`: the live part, which the page polls.
pub async fn live(State(state): State<AdminState>, Path(name): Path<String>) -> Response {
    if let Some(response) = missing(&state, &name) {
        return response;
    }
    html::Html(live_html(&state, &name).await).into_response()
}

async fn view(state: &AdminState, name: &str, trial: Option<&str>, notice: &str) -> Response {
    let topology = state.reloader.topology.load_full();
    let Some(config) = topology.config.destinations.get(name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let escaped = html::url_escape(name);
    let mut body = String::from(notice);
    let _ = write!(
        body,
        "<section class=\"card\"><dl class=\"facts\"><dt>URL</dt><dd><code>{}</code></dd>\
         <dt>Body</dt><dd>{}{}{}{}</dd><dt>Signed</dt><dd>{}</dd><dt>Timeout</dt><dd>{}</dd>\
         <dt>Retries</dt><dd>{}</dd><dt>In flight at most</dt><dd>{}</dd>\
         <dt>Expires after</dt><dd>{}</dd><dt>Rate</dt><dd>{}</dd>\
         <dt>In order by</dt><dd>{}</dd><dt>Batches</dt><dd>{}</dd></dl></section>",
        esc(&redacted_url(&config.url)),
        match (config.format, config.cloudevents) {
            (crate::config::BodyFormat::Json, false) => "JSON",
            (crate::config::BodyFormat::Multipart, false) => "multipart",
            (crate::config::BodyFormat::Multipart, true) => "multipart, as a CloudEvent",
            (_, _) => "JSON, as a CloudEvent",
        },
        if config.include_predictions {
            ""
        } else {
            ", metadata only"
        },
        if config.include_image { ", with the image" } else { "" },
        if config.include_masks { ", with the masks" } else { "" },
        if config.secret.is_some() {
            "yes (Standard Webhooks)"
        } else {
            "no"
        },
        humantime::format_duration(config.timeout.0),
        config.retry.max_retries,
        config.max_in_flight,
        match config.max_age {
            Some(age) => humantime::format_duration(age.0).to_string(),
            None => "never (or the route's max_age)".into(),
        },
        match &config.rate {
            Some(rate) => esc(&format!(
                "{rate}, bursts of {}",
                config
                    .burst
                    .map_or_else(|| "a second's worth".to_string(), |b| b.to_string())
            )),
            None => "no limit".into(),
        },
        match &config.order_by {
            Some(key) => format!("metadata <code>{}</code>, one delivery per value at a time", esc(key)),
            None => "no order".into(),
        },
        match &config.batch {
            Some(batch) => format!(
                "up to {} events or {} per request ({}), gathered for up to {}",
                batch.max_events,
                batch.max_bytes,
                match batch.format {
                    crate::config::BatchFormat::Json => "JSON array",
                    crate::config::BatchFormat::Ndjson => "NDJSON",
                },
                humantime::format_duration(batch.max_wait.0)
            ),
            None => "one event per request".into(),
        },
    );
    let _ = write!(
        body,
        "<section class=\"card\" id=\"live\" data-live=\"/live/destinations/{escaped}\">{}</section>",
        live_html(state, name).await
    );
    let tasks: String = SAMPLES
        .iter()
        .map(|(task, _)| format!("<option value=\"{task}\">{task}</option>"))
        .collect();
    let _ = write!(
        body,
        "<section class=\"card actions\"><h2>Actions</h2>\
         <form method=\"post\" action=\"/destinations/{escaped}/test\" class=\"inline\">\
         <label for=\"task\">Sample</label><select id=\"task\" name=\"task\">{tasks}</select>\
         <button type=\"submit\" id=\"send-test\">Send test</button></form>\
         <form method=\"post\" action=\"/destinations/{escaped}/replay-dead\" class=\"inline\">\
         <button type=\"submit\" id=\"replay-dead\">Replay dead letters</button></form>\
         <p class=\"hint\">A test sends a sample event now, signed and with the destination's headers, \
         and shows the answer; it is not queued or recorded. Replay sends every dead delivery again, \
         with its original <code>webhook-id</code>.</p><p>{}</p>{}</section>",
        log::link(name),
        trial.unwrap_or_default()
    );
    html::live_page(&format!("Destination {name}"), &body).into_response()
}

async fn live_html(state: &AdminState, name: &str) -> String {
    let lane = state.dispatcher.status().into_iter().find(|lane| lane.name == name);
    let counts = state.outbox.destination_counts(name).await.unwrap_or_default();
    let recent = AttemptQuery {
        destination: Some(name.to_string()),
        newest_first: true,
        ..AttemptQuery::default()
    };
    let mut latencies: Vec<f64> = state
        .outbox
        .attempts(&recent, None, LATENCY_OVER)
        .await
        .map(|page| page.attempts.iter().map(|a| a.latency_ms).collect())
        .unwrap_or_default();
    latencies.sort_by(f64::total_cmp);
    let ms = |q| quantile(&latencies, q).map_or_else(|| "–".to_string(), |v| format!("{v:.1} ms"));
    let (breaker, retry_in, opened) = lane.as_ref().map_or(("unknown", None, 0), |lane| {
        let view = &lane.circuit_breaker;
        (view.state, view.retry_in_s, view.opened)
    });
    let mut out = format!(
        "<div class=\"tiles\"><div class=\"tile\"><span class=\"label\">Breaker</span>\
         <span class=\"value breaker {breaker}\" id=\"breaker\">{breaker}</span>\
         <span class=\"total\">{}opened {opened}×</span></div>\
         <div class=\"tile\"><span class=\"label\">In flight</span><span class=\"value\" id=\"in-flight\">{}</span></div>\
         <div class=\"tile\"><span class=\"label\">Queued</span><span class=\"value\" id=\"queued\">{}</span></div>\
         <div class=\"tile\"><span class=\"label\">Dead</span><span class=\"value\" id=\"dead\">{}</span>\
         <span class=\"total\" id=\"expired\">{} expired since start</span></div>\
         <div class=\"tile\"><span class=\"label\">Latency p50 / p99</span><span class=\"value small\" id=\"latency\">{} / {}</span>\
         <span class=\"total\">last {} attempts</span></div></div>",
        retry_in.map(|s| format!("probe in {s:.0} s · ")).unwrap_or_default(),
        lane.as_ref().map_or(0, |lane| lane.in_flight),
        count(counts.queued as u64),
        count(counts.dead as u64),
        count(lane.as_ref().map_or(0, |lane| lane.expired)),
        ms(0.5),
        ms(0.99),
        latencies.len(),
    );
    let failures = AttemptQuery {
        destination: Some(name.to_string()),
        status: Some(StatusFilter::Failed),
        newest_first: true,
        ..AttemptQuery::default()
    };
    let errors = state
        .outbox
        .attempts(&failures, None, LAST_ERRORS)
        .await
        .map(|page| page.attempts)
        .unwrap_or_default();
    let rows: Vec<Vec<String>> = errors
        .iter()
        .take(LAST_ERRORS)
        .map(|attempt| {
            vec![
                esc(&attempt.at),
                format!(
                    "<a href=\"/events?id={}\">{}</a>",
                    html::url_escape(&attempt.event_id),
                    esc(&attempt.event_id)
                ),
                or_dash(attempt.status),
                or_dash(attempt.error.as_deref()),
                format!("<code class=\"answer\">{}</code>", esc(&attempt.response)),
            ]
        })
        .collect();
    out.push_str("<h2>Last errors</h2>");
    out.push_str(&table(
        "last-errors",
        &["at", "event", "status", "error", "receiver's answer"],
        &rows,
        "No failed attempts recorded.",
    ));
    out
}

/// The "Send test" form.
#[derive(Debug, Default, Deserialize)]
pub struct TestForm {
    task: Option<String>,
}

/// `POST /destinations/{name}/test`: sends the sample and shows the answer.
pub async fn test(State(state): State<AdminState>, Path(name): Path<String>, Form(form): Form<TestForm>) -> Response {
    if let Some(response) = missing(&state, &name) {
        return response;
    }
    let result = match send(&state, &name, form.task.as_deref()).await {
        Ok(outcome) => outcome_html(&outcome),
        Err((_, message)) => html::notice("bad", &message),
    };
    view(&state, &name, Some(&result), "").await
}

fn outcome_html(outcome: &TrialOutcome) -> String {
    let verdict = if outcome.delivered {
        "<strong class=\"good\">The receiver took it.</strong>"
    } else {
        "<strong class=\"bad\">The receiver did not take it.</strong>"
    };
    format!(
        "<div id=\"test-result\" class=\"result\" role=\"status\"><h3>Test sent</h3><p>{verdict}</p>\
         <dl class=\"facts\"><dt>Status</dt><dd id=\"test-status\">{}</dd>\
         <dt>Latency</dt><dd>{:.1} ms</dd><dt>Error</dt><dd>{}</dd>\
         <dt>Signature headers</dt><dd id=\"test-signed\">{}</dd>\
         <dt>Event id</dt><dd><code>{}</code></dd><dt>Headers sent</dt><dd>{}</dd></dl>\
         <h4>First bytes of the answer</h4><pre class=\"answer\" id=\"test-response\">{}</pre></div>",
        or_dash(outcome.status),
        outcome.latency_ms,
        or_dash(outcome.error.as_deref()),
        if outcome.signed {
            "sent (webhook-id, webhook-timestamp, webhook-signature)"
        } else {
            "not sent (the destination has no secret)"
        },
        esc(&outcome.event_id),
        esc(&outcome.headers.join(", ")),
        esc(&outcome.response),
    )
}

/// `POST /destinations/{name}/replay-dead`: replays and comes back to the page.
pub async fn replay_dead(State(state): State<AdminState>, Path(name): Path<String>) -> Response {
    if let Some(response) = missing(&state, &name) {
        return response;
    }
    let notice = match state.outbox.replay_dead(&name).await {
        Ok(0) => html::notice("good", "There were no dead letters to replay."),
        Ok(n) => html::notice(
            "good",
            &format!("Replayed {n} dead delivery(ies); they are pending again."),
        ),
        Err(error) => html::notice("bad", &format!("Replay failed: {error}")),
    };
    // The page itself rather than a redirect: the notice is shown once, with the result.
    view(&state, &name, None, &notice).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_take_the_nearest_rank() {
        let sorted: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile(&sorted, 0.5), Some(50.0));
        assert_eq!(quantile(&sorted, 0.99), Some(99.0));
        assert_eq!(quantile(&[7.0], 0.99), Some(7.0));
        assert_eq!(quantile(&[], 0.5), None);
    }
}
