//! Prometheus metrics: what Weir counts as events and attempts happen.
//!
//! Counting costs an atomic add: each lane holds its own counter handles, and ingest
//! finds its route's counter under a read lock, with the route's shared name as the
//! label (no copy). What other parts keep already (the outbox's totals, breakers,
//! attempts in flight, plugin counters) is read only when `/metrics` is scraped
//! ([`crate::admin::metrics`]), so the hot path pays nothing for it.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

/// A route, destination or plugin name as a label value, shared rather than copied.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct Name(pub Arc<str>);

impl EncodeLabelValue for Name {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> fmt::Result {
        fmt::Write::write_str(encoder, &self.0)
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct IngestLabels {
    route: Name,
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AttemptLabels {
    destination: Name,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ConnectionLabels {
    listener: &'static str,
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ListenerLabels {
    listener: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DestinationLabels {
    destination: Name,
}

/// How an ingest request ended, as the `status` label (and an answer's `status`)
/// says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Ingested {
    /// Stored for delivery (202).
    Accepted,
    /// Dropped by a filter (202).
    Dropped,
    /// An id seen before (202).
    Duplicate,
    /// Bad input: malformed, too large, unauthorised, unknown route (4xx).
    Rejected,
    /// Refused by Weir: the store is full or failed (5xx).
    Refused,
}

impl Ingested {
    fn label(self) -> &'static str {
        match self {
            Ingested::Accepted => "accepted",
            Ingested::Dropped => "dropped",
            Ingested::Duplicate => "duplicate",
            Ingested::Rejected => "rejected",
            Ingested::Refused => "refused",
        }
    }
}

/// Weir's counters, registered for `/metrics`.
pub struct Metrics {
    registry: Registry,
    ingest: Family<IngestLabels, Counter>,
    attempts: Family<AttemptLabels, Counter>,
    latency: Family<DestinationLabels, Histogram, fn() -> Histogram>,
    rejected: Family<ConnectionLabels, Counter>,
    open: Family<ListenerLabels, Gauge>,
    expired: Family<DestinationLabels, Counter>,
    paused: Family<DestinationLabels, Counter>,
    /// The label of requests that named no known route: a sender's typo must not
    /// become a time series of its own.
    unknown_route: Name,
    /// The whole flow, all routes and destinations together, for the console's rates.
    flow: Arc<FlowCounters>,
}

/// Events and attempts of every route and destination, counted together.
#[derive(Debug, Default)]
struct FlowCounters {
    received: AtomicU64,
    dropped: AtomicU64,
    delivered: AtomicU64,
    failed: AtomicU64,
}

/// The flow's totals since start: the console takes rates from their differences.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Flow {
    /// Events received (accepted, dropped by a filter, or duplicates).
    pub received: u64,
    /// Events a filter dropped.
    pub dropped: u64,
    /// Attempts the receiver took.
    pub delivered: u64,
    /// Attempts that failed (to be retried, or given up on).
    pub failed: u64,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

/// Attempt latency buckets: 1 ms to about 16 s, doubling.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

impl Metrics {
    /// The counters, registered under `weir_`.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("weir");
        let ingest = Family::<IngestLabels, Counter>::default();
        registry.register(
            "ingest_requests",
            "Ingest requests by route and how they ended (route \"\" when it named no known route)",
            ingest.clone(),
        );
        let attempts = Family::<AttemptLabels, Counter>::default();
        registry.register(
            "delivery_attempts",
            "Delivery attempts by destination and outcome (delivered, retry, dead)",
            attempts.clone(),
        );
        let latency = Family::<DestinationLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        registry.register_with_unit(
            "delivery_attempt_duration",
            "Time from sending an attempt to reading the start of the answer",
            Unit::Seconds,
            latency.clone(),
        );
        let rejected = Family::<ConnectionLabels, Counter>::default();
        registry.register(
            "connections_rejected",
            "Requests or connections refused below the application, by listener and reason \
             (bad_request, too_large, header_timeout, over_capacity, tls_handshake)",
            rejected.clone(),
        );
        let open = Family::<ListenerLabels, Gauge>::default();
        registry.register("connections_open", "Connections open, by listener", open.clone());
        let expired = Family::<DestinationLabels, Counter>::default();
        registry.register(
            "deliveries_expired",
            "Deliveries sent to the dead letters as expired (older than the destination's max_age), by destination",
            expired.clone(),
        );
        let paused = Family::<DestinationLabels, Counter>::default();
        registry.register(
            "destination_pauses",
            "Times a receiver paused its destination (429 with Retry-After), by destination",
            paused.clone(),
        );
        Metrics {
            registry,
            ingest,
            attempts,
            latency,
            rejected,
            open,
            expired,
            paused,
            unknown_route: Name(Arc::from("")),
            flow: Arc::default(),
        }
    }

    /// The flow's totals so far.
    pub fn flow(&self) -> Flow {
        let flow = &self.flow;
        Flow {
            received: flow.received.load(Ordering::Relaxed),
            dropped: flow.dropped.load(Ordering::Relaxed),
            delivered: flow.delivered.load(Ordering::Relaxed),
            failed: flow.failed.load(Ordering::Relaxed),
        }
    }

    /// Counts an ingest request; `route` is `None` when it named no known route.
    pub fn ingested(&self, route: Option<&Arc<str>>, how: Ingested) {
        let flow = &self.flow;
        match how {
            Ingested::Accepted | Ingested::Duplicate => {
                flow.received.fetch_add(1, Ordering::Relaxed);
            }
            Ingested::Dropped => {
                flow.received.fetch_add(1, Ordering::Relaxed);
                flow.dropped.fetch_add(1, Ordering::Relaxed);
            }
            Ingested::Rejected | Ingested::Refused => {}
        }
        let route = route.map_or_else(|| self.unknown_route.clone(), |name| Name(name.clone()));
        self.ingest
            .get_or_create(&IngestLabels {
                route,
                status: how.label(),
            })
            .inc();
    }

    /// Counts a request or connection refused by the connection layer.
    pub fn connection_rejected(&self, listener: &'static str, reason: &'static str) {
        self.rejected
            .get_or_create(&ConnectionLabels { listener, reason })
            .inc();
    }

    /// The gauge of a listener's open connections.
    pub fn connections_open(&self, listener: &'static str) -> Gauge {
        self.open.get_or_create_owned(&ListenerLabels { listener })
    }

    /// The handles a destination's lane counts its attempts with.
    pub fn lane(&self, destination: &Arc<str>) -> LaneMetrics {
        let attempts = |outcome| {
            self.attempts.get_or_create_owned(&AttemptLabels {
                destination: Name(destination.clone()),
                outcome,
            })
        };
        LaneMetrics {
            delivered: attempts("delivered"),
            retry: attempts("retry"),
            dead: attempts("dead"),
            latency: self.latency.get_or_create_owned(&DestinationLabels {
                destination: Name(destination.clone()),
            }),
            expired: self.expired.get_or_create_owned(&DestinationLabels {
                destination: Name(destination.clone()),
            }),
            paused: self.paused.get_or_create_owned(&DestinationLabels {
                destination: Name(destination.clone()),
            }),
            flow: self.flow.clone(),
        }
    }

    /// The counters' registry, for encoding.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }
}

/// One lane's counters: clones of the registered ones, so counting takes no lookup.
#[derive(Clone)]
pub struct LaneMetrics {
    delivered: Counter,
    retry: Counter,
    dead: Counter,
    latency: Histogram,
    /// Deliveries that expired.
    pub expired: Counter,
    /// Pauses a receiver asked for.
    pub paused: Counter,
    flow: Arc<FlowCounters>,
}

/// What became of an attempt, for counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// The receiver took it.
    Delivered,
    /// It failed and will be tried again.
    Retry,
    /// It failed for good: a dead letter.
    Dead,
}

impl LaneMetrics {
    /// Counts an attempt that took `latency`.
    pub fn attempted(&self, outcome: AttemptOutcome, latency: Duration) {
        match outcome {
            AttemptOutcome::Delivered => self.delivered.inc(),
            AttemptOutcome::Retry => self.retry.inc(),
            AttemptOutcome::Dead => self.dead.inc(),
        };
        let total = match outcome {
            AttemptOutcome::Delivered => &self.flow.delivered,
            AttemptOutcome::Retry | AttemptOutcome::Dead => &self.flow.failed,
        };
        total.fetch_add(1, Ordering::Relaxed);
        self.latency.observe(latency.as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_encoded_with_their_labels() {
        let metrics = Metrics::new();
        let route: Arc<str> = Arc::from("cameras");
        metrics.ingested(Some(&route), Ingested::Accepted);
        metrics.ingested(Some(&route), Ingested::Accepted);
        metrics.ingested(None, Ingested::Rejected);
        let lane = metrics.lane(&Arc::from("hook"));
        lane.attempted(AttemptOutcome::Retry, Duration::from_millis(3));
        lane.attempted(AttemptOutcome::Delivered, Duration::from_millis(5));
        assert_eq!(
            metrics.flow(),
            Flow {
                received: 2,
                dropped: 0,
                delivered: 1,
                failed: 1
            }
        );
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, metrics.registry()).unwrap();
        for line in [
            r#"weir_ingest_requests_total{route="cameras",status="accepted"} 2"#,
            r#"weir_ingest_requests_total{route="",status="rejected"} 1"#,
            r#"weir_delivery_attempts_total{destination="hook",outcome="delivered"} 1"#,
            r#"weir_delivery_attempts_total{destination="hook",outcome="retry"} 1"#,
            r#"weir_delivery_attempts_total{destination="hook",outcome="dead"} 0"#,
            r#"weir_delivery_attempt_duration_seconds_count{destination="hook"} 2"#,
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line} in:\n{text}");
        }
    }
}
