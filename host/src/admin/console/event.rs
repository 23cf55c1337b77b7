//! An event (`GET /events?id=ID`): found by its id, every delivery and every attempt,
//! with status, latency, error and the receiver's first bytes; a replay button on each
//! dead delivery. Below, the delivery log's download form ([`super::log`]).

use std::fmt::Write;

use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::html::{self, esc, or_dash, table};
use super::log;
use crate::admin::AdminState;
use crate::outbox::{DeliveryId, DeliveryState, EventRecord};

/// Query of the event page.
#[derive(Debug, Default, Deserialize)]
pub struct Search {
    id: Option<String>,
}

/// `GET /events?id=ID`.
pub async fn page(State(state): State<AdminState>, Query(search): Query<Search>) -> Response {
    let id = search.id.as_deref().map(str::trim).filter(|id| !id.is_empty());
    view(&state, id, "").await
}

fn search_form(id: Option<&str>) -> String {
    format!(
        "<form method=\"get\" action=\"/events\" class=\"search\" role=\"search\">\
         <label for=\"id\">Event id (its <code>webhook-id</code>)</label>\
         <input id=\"id\" name=\"id\" value=\"{}\" placeholder=\"evt_...\" required>\
         <button type=\"submit\">Show</button></form>",
        esc(id.unwrap_or_default())
    )
}

async fn view(state: &AdminState, id: Option<&str>, notice: &str) -> Response {
    let mut body = format!("<section class=\"card\">{}</section>{notice}", search_form(id));
    let download = log::form(&state.reloader.topology.load().config);
    let Some(id) = id else {
        body.push_str(
            "<p class=\"hint\">Every event Weir accepted is kept with its deliveries and their attempts \
             (for <code>storage.retention</code> in the durable store, the last 10,000 in memory).</p>",
        );
        body.push_str(&download);
        return html::page("Events", &body).into_response();
    };
    let (status, title) = match state.outbox.event(id).await {
        Ok(Some(record)) => {
            body.push_str(&record_html(&record));
            (StatusCode::OK, format!("Event {id}"))
        }
        Ok(None) => {
            body.push_str(&html::notice(
                "bad",
                &format!("No event {id:?} is known: it was never accepted, or its records have expired."),
            ));
            (StatusCode::NOT_FOUND, "Events".to_string())
        }
        Err(error) => {
            body.push_str(&html::notice("bad", &error.to_string()));
            (StatusCode::INTERNAL_SERVER_ERROR, "Events".to_string())
        }
    };
    body.push_str(&download);
    (status, html::page(&title, &body)).into_response()
}

fn record_html(record: &EventRecord) -> String {
    let mut out = format!(
        "<section class=\"card\"><dl class=\"facts\"><dt>Route</dt><dd>{}</dd><dt>Accepted</dt><dd>{}</dd></dl></section>",
        esc(&record.route),
        esc(&record.accepted_at)
    );
    for delivery in &record.deliveries {
        let replay = if delivery.state == DeliveryState::Dead {
            format!(
                "<form method=\"post\" action=\"/deliveries/{}/replay\" class=\"inline\">\
                 <input type=\"hidden\" name=\"event\" value=\"{}\">\
                 <button type=\"submit\" class=\"replay\" id=\"replay-{}\">Replay</button></form>",
                delivery.id,
                esc(&record.id),
                delivery.id
            )
        } else {
            String::new()
        };
        let _ = write!(
            out,
            "<section class=\"card delivery\" id=\"delivery-{id}\"><h2>To <a href=\"/destinations/{link}\">{name}</a> \
             <span class=\"state {state}\">{state}</span> {replay}</h2>\
             <dl class=\"facts\"><dt>Delivery</dt><dd>{id}</dd><dt>Attempts</dt><dd>{attempts}</dd>\
             <dt>Last error</dt><dd>{error}</dd><dt>Next attempt</dt><dd>{next}</dd></dl>",
            id = delivery.id,
            link = html::url_escape(&delivery.destination),
            name = esc(&delivery.destination),
            state = delivery.state.as_str(),
            attempts = delivery.attempts,
            error = or_dash(delivery.last_error.as_deref()),
            next = or_dash(delivery.next_attempt_at.as_deref()),
        );
        let rows: Vec<Vec<String>> = delivery
            .history
            .iter()
            .map(|attempt| {
                vec![
                    esc(&attempt.at),
                    or_dash(attempt.status),
                    format!("{:.1} ms", attempt.latency_ms),
                    or_dash(attempt.error.as_deref()),
                    format!("<code class=\"answer\">{}</code>", esc(&attempt.response)),
                ]
            })
            .collect();
        out.push_str(&table(
            &format!("attempts-{}", delivery.id),
            &["at", "status", "latency", "error", "receiver's answer"],
            &rows,
            "No attempt yet.",
        ));
        out.push_str("</section>");
    }
    out
}

/// The replay form: the event to come back to.
#[derive(Debug, Default, Deserialize)]
pub struct ReplayForm {
    event: Option<String>,
}

/// `POST /deliveries/{id}/replay`: replays a dead delivery and shows its event again.
pub async fn replay(
    State(state): State<AdminState>,
    Path(id): Path<DeliveryId>,
    Form(form): Form<ReplayForm>,
) -> Response {
    let notice = match state.outbox.replay(id).await {
        Ok(true) => html::notice(
            "good",
            &format!("Delivery {id} is pending again; it keeps its webhook-id."),
        ),
        Ok(false) => html::notice(
            "bad",
            &format!("Delivery {id} is not a dead letter (it does not exist, or is pending or delivered)."),
        ),
        Err(error) => html::notice("bad", &format!("Replay failed: {error}")),
    };
    view(&state, form.event.as_deref(), &notice).await
}
