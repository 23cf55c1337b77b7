//! `GET /metrics`: Prometheus (OpenMetrics text) for scrapers.
//!
//! Two parts: the counters Weir keeps as events and attempts happen
//! ([`crate::metrics::Metrics`]), and a snapshot, taken at scrape time, of what other
//! parts keep anyway: the outbox's totals, each lane's breaker and attempts in flight,
//! each plugin's counters and load state. The snapshot is a registry built for the one
//! scrape, so a destination or plugin that was removed disappears from the next one.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::{encode_eof, encode_registry};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::AdminState;
use crate::metrics::Name;

/// The OpenMetrics text format, which Prometheus asks for and reads.
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DestinationLabels {
    destination: Name,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BreakerLabels {
    destination: Name,
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PluginLabels {
    plugin: Name,
}

/// `GET /metrics`.
pub async fn metrics(State(state): State<AdminState>) -> Response {
    let snapshot = snapshot(&state);
    let mut text = String::new();
    let encoded = encode_registry(&mut text, state.metrics.registry())
        .and_then(|()| encode_registry(&mut text, &snapshot))
        .and_then(|()| encode_eof(&mut text));
    match encoded {
        Ok(()) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response(),
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "the metrics could not be encoded").into_response(),
    }
}

fn gauge(registry: &mut Registry, name: &str, help: &str, value: i64) {
    let gauge = Gauge::<i64>::default();
    gauge.set(value);
    registry.register(name, help, gauge);
}

fn family<L, M>(registry: &mut Registry, name: &str, help: &str) -> Family<L, M>
where
    Family<L, M>: prometheus_client::registry::Metric + Default + Clone,
{
    let family = Family::<L, M>::default();
    registry.register(name, help, family.clone());
    family
}

fn snapshot(state: &AdminState) -> Registry {
    let mut registry = Registry::with_prefix("weir");
    gauge(
        &mut registry,
        "ready",
        "1 when plugins are loaded and listeners bound, 0 otherwise (and while shutting down)",
        i64::from(state.ready.get()),
    );

    gauge(
        &mut registry,
        "outbox_available",
        "1 when the outbox can take events, 0 while it cannot (a shared store's servers cannot be reached: ingest answers 503)",
        i64::from(state.outbox.unavailable().is_none()),
    );
    let outbox = state.outbox.stats();
    gauge(
        &mut registry,
        "outbox_pending_deliveries",
        "Deliveries waiting, in flight, or waiting for a retry",
        outbox.pending as i64,
    );
    gauge(
        &mut registry,
        "outbox_pending_bytes",
        "Bytes of events with deliveries pending, against storage.max_bytes",
        outbox.pending_bytes as i64,
    );
    gauge(
        &mut registry,
        "outbox_dead_deliveries",
        "Dead deliveries kept for replay",
        outbox.dead as i64,
    );
    let commits: Counter = Counter::default();
    commits.inc_by(outbox.commits);
    registry.register(
        "outbox_commits",
        "Transactions the durable store committed, each one disk sync (0 in memory)",
        commits,
    );

    let pending: Family<DestinationLabels, Gauge> = family(
        &mut registry,
        "destination_pending_deliveries",
        "Deliveries pending per destination, against its share (max_pending)",
    );
    let shed: Family<DestinationLabels, Counter> = family(
        &mut registry,
        "destination_shed_deliveries",
        "Deliveries sent to the dead letters at ingest because the destination's share of the store was full",
    );
    for load in state.outbox.loads() {
        let labels = DestinationLabels {
            destination: Name(load.destination),
        };
        pending.get_or_create(&labels).set(load.pending as i64);
        shed.get_or_create(&labels).inc_by(load.shed);
    }

    let in_flight: Family<DestinationLabels, Gauge> = family(
        &mut registry,
        "destination_in_flight",
        "Attempts in flight per destination",
    );
    let breaker: Family<BreakerLabels, Gauge> = family(
        &mut registry,
        "destination_breaker_state",
        "The circuit breaker's state per destination: 1 for the current one",
    );
    let opened: Family<DestinationLabels, Counter> = family(
        &mut registry,
        "destination_breaker_openings",
        "Times each destination's circuit breaker opened",
    );
    for destination in state.dispatcher.status() {
        let name = Name(Arc::from(destination.name));
        in_flight
            .get_or_create(&DestinationLabels {
                destination: name.clone(),
            })
            .set(destination.in_flight as i64);
        for state in ["closed", "open", "probing"] {
            let current = destination.circuit_breaker.state == state;
            breaker
                .get_or_create(&BreakerLabels {
                    destination: name.clone(),
                    state,
                })
                .set(i64::from(current));
        }
        opened
            .get_or_create(&DestinationLabels { destination: name })
            .inc_by(destination.circuit_breaker.opened);
    }

    let topology = state.reloader.topology.load_full();
    let names = topology.plugin_names();
    let calls: Family<PluginLabels, Counter> = family(
        &mut registry,
        "plugin_calls",
        "Events each plugin ran on (since its filters were last built)",
    );
    let drops: Family<PluginLabels, Counter> = family(&mut registry, "plugin_drops", "Events each plugin dropped");
    let errors: Family<PluginLabels, Counter> = family(
        &mut registry,
        "plugin_errors",
        "Events each plugin declined or misbehaved on (trap, deadline, memory, invalid output)",
    );
    let failing: Family<PluginLabels, Gauge> = family(
        &mut registry,
        "plugin_load_failing",
        "1 when the plugin's newest file did not load (the last good version serves)",
    );
    let suppressed: Family<PluginLabels, Counter> = family(
        &mut registry,
        "plugin_log_suppressed",
        "Log lines each plugin caused past its budget of lines and bytes per second, not written",
    );
    for status in state.reloader.registry.status() {
        if !names.contains(&status.name) {
            continue;
        }
        let totals = topology.plugin_totals(&status.name);
        let labels = PluginLabels {
            plugin: Name(Arc::from(status.name.as_str())),
        };
        for (family, value) in [
            (&calls, totals.calls),
            (&drops, totals.drops),
            (&errors, totals.errors),
            (&suppressed, totals.log_suppressed),
        ] {
            family.get_or_create(&labels).inc_by(value);
        }
        failing
            .get_or_create(&labels)
            .set(i64::from(status.last_error.is_some() || status.missing));
    }
    registry
}
