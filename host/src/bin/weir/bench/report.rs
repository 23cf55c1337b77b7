//! The results of a run: a table for people, JSON for tools.

use serde::Serialize;

use super::measure::Percentiles;

/// One scenario's results.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// The scenario.
    pub scenario: String,
    /// What it shows.
    pub about: String,
    /// Closed or open loop.
    pub pace: String,
    /// Measured time, in seconds.
    pub duration_s: f64,
    /// Events acknowledged (2xx).
    pub events: u64,
    /// Requests that failed or were refused.
    pub errors: u64,
    /// Events acknowledged per second.
    pub events_per_s: f64,
    /// Deliveries that reached the sink (slow path excluded).
    pub deliveries: u64,
    /// Deliveries per second, until the last one arrived.
    pub deliveries_per_s: f64,
    /// Requests the sink received (fewer than deliveries when they come in batches).
    pub sink_requests: u64,
    /// The relay scenario sending the same body (`relay`, or `multipart-relay`).
    pub baseline: String,
    /// Sustained events/s (the lower of ingest events/s and delivered events/s) as a
    /// fraction of the baseline relay's in the same run: an ingest faster than delivery
    /// only builds a backlog, so it does not count.
    pub vs_relay: Option<f64>,
    /// Deliveries each event makes (to divide deliveries/s by).
    pub fanout: u64,
    /// Ingest response latency.
    pub ingest: Percentiles,
    /// Send-to-arrival latency at the sink.
    pub delivery: Percentiles,
    /// CPU seconds the subject used during the measurement.
    pub cpu_s: f64,
    /// The subject's peak resident memory, MiB.
    pub peak_rss_mb: f64,
    /// The subject's resident memory before load, MiB.
    pub idle_rss_mb: f64,
    /// Disk syncs per second of the durable store (0 in memory).
    pub fsyncs_per_s: f64,
    /// The hot-swap scenario's figures.
    pub swap: Option<Swap>,
    /// Each destination's concurrency limit during the measurement.
    pub concurrency: Vec<Limit>,
    /// Deliveries of acknowledged events that had not arrived 15 s after the load
    /// stopped, and where the store's totals were then.
    pub missing: Option<Missing>,
}

/// Deliveries that did not arrive in time.
#[derive(Debug, Clone, Serialize)]
pub struct Missing {
    /// Deliveries of acknowledged events not at the sink.
    pub deliveries: u64,
    /// The store's pending and dead deliveries at that moment (all destinations).
    pub pending: u64,
    pub dead: u64,
}

/// Where a destination's concurrency limit was during the measurement.
#[derive(Debug, Clone, Serialize)]
pub struct Limit {
    /// The destination.
    pub destination: String,
    /// Median, lowest and highest of the samples.
    pub median: u64,
    pub low: u64,
    pub high: u64,
}

/// What the hot-swap scenario measured.
#[derive(Debug, Clone, Serialize)]
pub struct Swap {
    /// From the plugin file's write returning to the new version serving (the admin
    /// API showing it): debounce, compilation, `init`, swap.
    pub write_to_new_version_ms: f64,
    /// From the write to the first event of the new version arriving at the sink (this
    /// adds the deliveries queued ahead of it).
    pub write_to_first_delivery_ms: f64,
    /// Ingest events/s before the write.
    pub steady_events_per_s: f64,
    /// Ingest events/s in the second after the write.
    pub swap_events_per_s: f64,
}

/// Fills in each scenario's ratio to its baseline relay's events/s (when that ran).
pub fn relate(outcomes: &mut [Outcome]) {
    let sustained = |o: &Outcome| o.events_per_s.min(o.deliveries_per_s / o.fanout.max(1) as f64);
    let relays: Vec<(String, f64)> = outcomes.iter().map(|o| (o.scenario.clone(), sustained(o))).collect();
    for outcome in outcomes.iter_mut() {
        let mine = sustained(outcome);
        let relay = relays
            .iter()
            .find(|(name, _)| *name == outcome.baseline)
            .map(|(_, r)| *r);
        outcome.vs_relay = relay.filter(|r| *r > 0.0).map(|r| mine / r);
    }
}

/// The results as a text table.
pub fn table(outcomes: &[Outcome]) -> String {
    let mut out = format!(
        "{:<18} {:>9} {:>6} {:>9} {:>15} {:>15} {:>6} {:>8} {:>8} {:>6}\n",
        "scenario",
        "events/s",
        "relay",
        "deliv/s",
        "ingest p50/p99",
        "arrive p50/p99",
        "cpu s",
        "peak MB",
        "idle MB",
        "errors"
    );
    for o in outcomes {
        out.push_str(&format!(
            "{:<18} {:>9.0} {:>6} {:>9.0} {:>15} {:>15} {:>6.1} {:>8.1} {:>8.1} {:>6}\n",
            o.scenario,
            o.events_per_s,
            o.vs_relay.map_or("-".into(), |r| format!("{:.0}%", r * 100.0)),
            o.deliveries_per_s,
            format!("{:.2}/{:.2}ms", o.ingest.p50_ms, o.ingest.p99_ms),
            format!("{:.2}/{:.2}ms", o.delivery.p50_ms, o.delivery.p99_ms),
            o.cpu_s,
            o.peak_rss_mb,
            o.idle_rss_mb,
            o.errors
        ));
        if o.sink_requests > 0 && o.sink_requests < o.deliveries {
            out.push_str(&format!(
                "{:<18} {} requests at the receiver for {} deliveries ({:.1} per request)\n",
                "",
                o.sink_requests,
                o.deliveries,
                o.deliveries as f64 / o.sink_requests as f64
            ));
        }
        if o.fsyncs_per_s > 0.0 {
            out.push_str(&format!(
                "{:<18} {:.0} fsyncs/s, {:.1} events per fsync\n",
                "",
                o.fsyncs_per_s,
                o.events_per_s / o.fsyncs_per_s
            ));
        }
        if !o.concurrency.is_empty() {
            let limits: Vec<String> = o
                .concurrency
                .iter()
                .map(|l| format!("{} {} ({}-{})", l.destination, l.median, l.low, l.high))
                .collect();
            out.push_str(&format!("{:<18} in flight at most: {}\n", "", limits.join(", ")));
        }
        if let Some(missing) = &o.missing {
            out.push_str(&format!(
                "{:<18} {} deliveries had not arrived 15 s after the load; the store then held {} pending and {} dead\n",
                "", missing.deliveries, missing.pending, missing.dead
            ));
        }
        if let Some(swap) = &o.swap {
            out.push_str(&format!(
                "{:<18} new version serving {:.0} ms after the write (first delivery {:.0} ms); {:.0} events/s before, {:.0} in the second after\n",
                "",
                swap.write_to_new_version_ms,
                swap.write_to_first_delivery_ms,
                swap.steady_events_per_s,
                swap.swap_events_per_s
            ));
        }
    }
    out
}
