//! The overview (`GET /`): each route with its filters and destinations, the live
//! rates with a chart of the last minutes, and each destination at a glance.

use std::fmt::Write;

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};

use super::html::{self, count, esc, table};
use crate::admin::AdminState;
use crate::admin::rates::{Rate, Rates};
use crate::config::FailurePolicy;

/// `GET /`.
pub async fn page(State(state): State<AdminState>, State(rates): State<Arc<Rates>>) -> Response {
    let topology = state.reloader.topology.load_full();
    let mut body = format!(
        "<section class=\"card\" data-live=\"/live/overview\" id=\"live\">{}</section>",
        live_html(&state, &rates).await
    );
    let rows: Vec<Vec<String>> = topology
        .config
        .routes
        .iter()
        .map(|(name, route)| {
            let filters: Vec<String> = route.filters.iter().map(|f| esc(&f.plugin)).collect();
            let destinations: Vec<String> = route
                .destinations
                .iter()
                .map(|d| format!("<a href=\"/destinations/{}\">{}</a>", html::url_escape(d), esc(d)))
                .collect();
            let policy = match &route.on_filter_error {
                FailurePolicy::Drop => "drop".to_string(),
                FailurePolicy::Pass => "pass".to_string(),
                FailurePolicy::SendTo(to) => format!("send to {}", esc(to)),
            };
            vec![
                format!("<code>/ingest/{}</code>", esc(name)),
                if filters.is_empty() {
                    "none".into()
                } else {
                    filters.join(" → ")
                },
                destinations.join(", "),
                policy,
                if route.sender_may_choose { "yes" } else { "no" }.into(),
            ]
        })
        .collect();
    body.push_str("<section class=\"card\"><h2>Routes</h2>");
    body.push_str(&table(
        "routes",
        &[
            "route",
            "filters",
            "destinations",
            "when a filter fails",
            "sender chooses",
        ],
        &rows,
        "no routes",
    ));
    body.push_str("</section>");
    html::live_page("Overview", &body).into_response()
}

/// `GET /live/overview`: the live part of the overview, which the page polls.
pub async fn live(State(state): State<AdminState>, State(rates): State<Arc<Rates>>) -> Response {
    html::Html(live_html(&state, &rates).await).into_response()
}

async fn live_html(state: &AdminState, rates: &Rates) -> String {
    // Rates come from the samples (a second apart); totals are read now, so that the
    // page agrees with the outbox's counts below even within a second of an event.
    let (now, _) = rates.current();
    let totals = state.metrics.flow();
    let series = rates.series();
    let outbox = state.outbox.stats();
    let tile = |id: &str, label: &str, rate: f64, total: u64, class: &str| {
        format!(
            "<div class=\"tile {class}\"><span class=\"label\">{label}</span>\
             <span class=\"value\" id=\"rate-{id}\">{rate}</span><span class=\"unit\">/s</span>\
             <span class=\"total\" id=\"total-{id}\">{} total</span></div>",
            count(total)
        )
    };
    let mut out = String::from("<h2>Flow <small>(updated every few seconds)</small></h2><div class=\"tiles\">");
    out.push_str(&tile("received", "Events in", now.received, totals.received, "in"));
    out.push_str(&tile("dropped", "Dropped", now.dropped, totals.dropped, "dropped"));
    out.push_str(&tile(
        "delivered",
        "Delivered",
        now.delivered,
        totals.delivered,
        "delivered",
    ));
    out.push_str(&tile("failed", "Failed", now.failed, totals.failed, "failed"));
    out.push_str("</div>");
    out.push_str(&chart(&series));
    let _ = write!(
        out,
        "<p class=\"outbox\">Outbox: <strong id=\"outbox-pending\">{}</strong> pending \
         ({} bytes), <strong id=\"outbox-dead\">{}</strong> dead.</p>",
        count(outbox.pending as u64),
        count(outbox.pending_bytes),
        count(outbox.dead as u64)
    );
    let mut rows = Vec::new();
    for lane in state.dispatcher.status() {
        let counts = state.outbox.destination_counts(&lane.name).await.unwrap_or_default();
        let breaker = &lane.circuit_breaker;
        rows.push(vec![
            format!(
                "<a href=\"/destinations/{}\">{}</a>",
                html::url_escape(&lane.name),
                esc(&lane.name)
            ),
            format!("<span class=\"breaker {0}\">{0}</span>", breaker.state),
            lane.in_flight.to_string(),
            count(counts.queued as u64),
            count(counts.dead as u64),
        ]);
    }
    out.push_str("<h2>Destinations</h2>");
    out.push_str(&table(
        "destinations",
        &["destination", "breaker", "in flight", "queued", "dead"],
        &rows,
        "no destinations",
    ));
    out
}

/// Chart size, in SVG units.
const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 120.0;

/// The last minutes of rates as an SVG line chart, one line per rate.
pub fn chart(series: &[Rate]) -> String {
    let peak = series
        .iter()
        .flat_map(|r| [r.received, r.dropped, r.delivered, r.failed])
        .fold(1.0_f64, f64::max);
    // The chart spans what is kept (five minutes once Weir has run that long).
    let slots = series.len().max(2) as f64 - 1.0;
    let span = series.len() as u64;
    let span = if span < 120 {
        format!("last {span} s")
    } else {
        format!("last {} min", span / 60)
    };
    let line = |class: &str, value: &dyn Fn(&Rate) -> f64| {
        let points: Vec<String> = series
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let x = i as f64 / slots * WIDTH;
                let y = HEIGHT - value(r) / peak * (HEIGHT - 4.0) - 2.0;
                format!("{x:.1},{y:.1}")
            })
            .collect();
        format!(
            "<polyline class=\"{class}\" fill=\"none\" points=\"{}\"/>",
            points.join(" ")
        )
    };
    format!(
        "<figure class=\"chart\"><svg viewBox=\"0 0 {WIDTH} {HEIGHT}\" preserveAspectRatio=\"none\" \
         role=\"img\" aria-labelledby=\"chart-title\"><title id=\"chart-title\">Rates, {span}, \
         peak {peak:.1}/s</title><line class=\"axis\" x1=\"0\" y1=\"{HEIGHT}\" x2=\"{WIDTH}\" y2=\"{HEIGHT}\"/>{}{}{}{}</svg>\
         <figcaption><span class=\"key in\">in</span> <span class=\"key dropped\">dropped</span> \
         <span class=\"key delivered\">delivered</span> <span class=\"key failed\">failed</span> \
         · {span} · peak {peak:.1}/s</figcaption></figure>",
        line("in", &|r| r.received),
        line("dropped", &|r| r.dropped),
        line("delivered", &|r| r.delivered),
        line("failed", &|r| r.failed),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chart_draws_one_line_per_rate_scaled_to_the_peak() {
        let series = [
            Rate {
                received: 10.0,
                ..Rate::default()
            },
            Rate {
                received: 5.0,
                delivered: 5.0,
                ..Rate::default()
            },
        ];
        let svg = chart(&series);
        assert_eq!(svg.matches("<polyline").count(), 4);
        assert!(svg.contains("peak 10.0/s"), "{svg}");
        // The oldest point is at the left edge, the newest at the right; the peak
        // touches the top.
        assert!(svg.contains("0.0,2.0 600.0,60.0"), "{svg}");
        assert!(svg.contains("last 2 s"), "{svg}");
    }
}
