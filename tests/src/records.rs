//! Weir's own records, read from its admin listener: an event's deliveries and their
//! attempts, the plugins' status, and the times Weir wrote down. The suite decides
//! outcomes from these ("delivered once", "not retried", "waited 1 s"), never from a
//! quiet spell on a receiver or the test's stopwatch. For Weir in the test process
//! ([`crate::router::Weir`]) and as a child ([`crate::process::WeirProcess`]) alike.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use serde_json::Value;

/// How long the suite waits for Weir's records to show an outcome before failing.
pub const SETTLE: Duration = Duration::from_secs(30);

/// Whether an event record has deliveries and none of them is pending.
pub fn settled(record: &Value) -> bool {
    record["deliveries"]
        .as_array()
        .is_some_and(|list| !list.is_empty() && list.iter().all(|d| d["state"] != "pending"))
}

/// An event's record from the admin listener at `admin`, once `check` holds for it
/// (bounded: [`SETTLE`]).
pub async fn event_when(
    client: &reqwest::Client,
    admin: SocketAddr,
    id: &str,
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    let url = format!("http://{admin}/admin/events/{id}");
    crate::eventually(&format!("event {id}: {what}"), SETTLE, async || {
        let answer = client.get(&url).send().await.ok()?;
        let record: Value = answer.json().await.ok()?;
        check(&record).then_some(record)
    })
    .await
}

/// The delivery of an event record to `destination`.
#[track_caller]
pub fn delivery<'a>(record: &'a Value, destination: &str) -> &'a Value {
    record["deliveries"]
        .as_array()
        .and_then(|list| list.iter().find(|d| d["destination"] == destination))
        .unwrap_or_else(|| panic!("no delivery to {destination} in {record}"))
}

/// The destinations an event record has deliveries to, sorted.
pub fn destinations(record: &Value) -> Vec<String> {
    let mut names: Vec<String> = record["deliveries"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|d| d["destination"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Plugin `name`'s entry in `GET /admin/plugins` at `admin` (its hash, versions, last
/// error, counters), or `null` when Weir does not list it.
pub async fn plugin_status(client: &reqwest::Client, admin: SocketAddr, name: &str) -> Value {
    let all: Value = client
        .get(format!("http://{admin}/admin/plugins"))
        .send()
        .await
        .expect("the admin listener answers")
        .json()
        .await
        .expect("the admin listener answers JSON");
    all["plugins"]
        .as_array()
        .and_then(|plugins| plugins.iter().find(|p| p["name"] == name))
        .cloned()
        .unwrap_or(Value::Null)
}

/// Parses an RFC 3339 timestamp of Weir's records (`2026-01-02T03:04:05.678Z`).
#[track_caller]
pub fn parse_time(text: &Value) -> SystemTime {
    let text = text.as_str().unwrap_or_else(|| panic!("not a timestamp: {text}"));
    humantime::parse_rfc3339(text).unwrap_or_else(|e| panic!("{text:?} is not an RFC 3339 time: {e}"))
}

/// How long after `earlier` `later` is (zero when it is not after).
pub fn gap(earlier: SystemTime, later: SystemTime) -> Duration {
    later.duration_since(earlier).unwrap_or(Duration::ZERO)
}

/// One series' value in Weir's `/metrics` text: `series` is the name with its labels
/// as Weir writes them (`weir_connections_open{listener="ingest"}`); `None` when Weir
/// has not written it (yet).
pub fn metric(metrics: &str, series: &str) -> Option<u64> {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
}

/// `GET /metrics` from the admin listener at `admin`.
pub async fn metrics(client: &reqwest::Client, admin: SocketAddr) -> String {
    client
        .get(format!("http://{admin}/metrics"))
        .send()
        .await
        .expect("the admin listener answers")
        .text()
        .await
        .expect("metrics are text")
}
