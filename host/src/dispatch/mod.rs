//! Dispatch: delivering accepted events to their destinations.
//!
//! Every destination has its own lane ([`lane::Lane`]): its own queue in the outbox,
//! its own limit of requests in flight, its own retry schedule. Lanes are added,
//! changed and removed as the config changes ([`Dispatcher::apply`]).
//!
//! # Layout
//!
//! - [`destination`]: a destination's config made ready for requests.
//! - [`request`]: bodies (JSON, multipart) and headers.
//! - [`chunks`]: bodies as shared pieces, written without joining them.
//! - [`signing`]: Standard Webhooks signatures.
//! - [`client`]: how deliveries connect (address rules, TLS).
//! - [`connections`]: a lane's own keep-alive connections to its receiver.
//! - [`guard`]: where deliveries may connect (no metadata, private or own addresses).
//! - [`attempt`]: one attempt and its record.
//! - [`batch`]: several deliveries in one request.
//! - [`retry`]: what a status means, and how long to wait.
//! - [`breaker`]: leaving a failing receiver alone for a while.
//! - [`pace`]: a destination's rate, the receiver's stated rate, and its pauses.
//! - [`lane`]: the loop of one destination.
//! - [`trial`]: a trial send, answered at once (the console's "Send test").

pub mod attempt;
pub mod batch;
pub mod breaker;
pub mod chunks;
pub mod client;
pub mod concurrency;
pub mod connections;
pub mod destination;
pub mod guard;
pub mod lane;
pub mod pace;
pub mod request;
pub mod retry;
pub mod signing;
pub mod trial;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use destination::Destination;

use self::breaker::Breaker;

use crate::metrics::Metrics;
use crate::outbox::Lanes;

/// Requests an adaptive lane starts with, before its receiver's answers say more.
const START_IN_FLIGHT: usize = 8;

/// Owns the lanes.
pub struct Dispatcher {
    outbox: Arc<dyn Lanes>,
    metrics: Arc<Metrics>,
    clients: client::Clients,
    own: Arc<guard::OwnListeners>,
    lanes: Mutex<HashMap<Arc<str>, LaneHandle>>,
    tracker: TaskTracker,
}

struct LaneHandle {
    destination: Arc<ArcSwap<Destination>>,
    stop: CancellationToken,
    drain: Arc<AtomicBool>,
    breaker: Arc<Mutex<Breaker>>,
    in_flight: Arc<AtomicUsize>,
    pace: Arc<Mutex<pace::Pace>>,
    concurrency: Arc<Mutex<concurrency::Adaptive>>,
    /// The lane's count of expired deliveries (shared with its metrics).
    expired: prometheus_client::metrics::counter::Counter,
}

/// A destination as the admin API shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DestinationStatus {
    /// Its name.
    pub name: String,
    /// Attempts in flight.
    pub in_flight: usize,
    /// Its circuit breaker.
    pub circuit_breaker: breaker::BreakerView,
    /// Requests per second in force (the configured `rate`, lowered by the
    /// receiver's), when the destination is rate-limited.
    pub rate_per_second: Option<f64>,
    /// Milliseconds left of a pause the receiver asked for (429 with `Retry-After`).
    pub paused_ms: Option<u64>,
    /// Deliveries that expired since Weir started (`max_age`).
    pub expired: u64,
    /// Requests it may have in flight now (what the receiver's answers allow, up to
    /// `max_in_flight`; `max_in_flight` itself when concurrency is fixed).
    pub concurrency_limit: usize,
}

impl Dispatcher {
    /// A dispatcher with no lanes yet.
    pub fn new(outbox: Arc<dyn Lanes>, metrics: Arc<Metrics>) -> Result<Dispatcher, String> {
        let own = Arc::new(guard::OwnListeners::default());
        Ok(Dispatcher {
            outbox,
            metrics,
            clients: client::Clients::build(own.clone()),
            own,
            lanes: Mutex::new(HashMap::new()),
            tracker: TaskTracker::new(),
        })
    }

    /// Records Weir's own listening addresses once bound: deliveries never go there.
    pub fn set_own_listeners(&self, addresses: Vec<std::net::SocketAddr>) {
        self.own.set(addresses);
    }

    /// Makes the lanes match `destinations`: starts new ones, updates changed ones in
    /// place, stops removed ones (their attempts in flight finish).
    pub fn apply(&self, destinations: &[Destination]) {
        let mut lanes = self.lanes.lock().unwrap_or_else(PoisonError::into_inner);
        lanes.retain(|name, lane| {
            let keep = destinations.iter().any(|d| &d.name == name);
            if !keep {
                lane.stop.cancel();
            }
            keep
        });
        for destination in destinations {
            match lanes.get(&destination.name) {
                Some(lane) => {
                    lane.destination.store(Arc::new(destination.clone()));
                    lane.breaker
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .reconfigure(destination.breaker.clone());
                    lane.concurrency
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .set_ceiling(destination.max_in_flight);
                }
                None => {
                    let shared = Arc::new(ArcSwap::from_pointee(destination.clone()));
                    let stop = CancellationToken::new();
                    let drain = Arc::new(AtomicBool::new(false));
                    let breaker = Arc::new(Mutex::new(Breaker::new(destination.breaker.clone())));
                    let in_flight = Arc::new(AtomicUsize::new(0));
                    let pace = Arc::new(Mutex::new(pace::Pace::new(std::time::Instant::now())));
                    let metrics = self.metrics.lane(&destination.name);
                    let concurrency = Arc::new(Mutex::new(concurrency::Adaptive::new(
                        START_IN_FLIGHT,
                        destination.max_in_flight,
                    )));
                    let expired = metrics.expired.clone();
                    let lane = lane::Lane {
                        pace: pace.clone(),
                        concurrency: concurrency.clone(),
                        breaker: breaker.clone(),
                        in_flight: in_flight.clone(),
                        destination: shared.clone(),
                        outbox: self.outbox.clone(),
                        metrics,
                        clients: self.clients.clone(),
                        stop: stop.clone(),
                        drain: drain.clone(),
                    };
                    self.tracker.spawn(lane.run());
                    lanes.insert(
                        destination.name.clone(),
                        LaneHandle {
                            destination: shared,
                            stop,
                            drain,
                            breaker,
                            in_flight,
                            pace,
                            concurrency,
                            expired,
                        },
                    );
                }
            }
        }
    }

    /// Every lane's state, by name.
    pub fn status(&self) -> Vec<DestinationStatus> {
        let lanes = self.lanes.lock().unwrap_or_else(PoisonError::into_inner);
        let now = std::time::Instant::now();
        let mut list: Vec<DestinationStatus> = lanes
            .iter()
            .map(|(name, lane)| {
                let pace = lane.pace.lock().unwrap_or_else(PoisonError::into_inner);
                DestinationStatus {
                    name: name.to_string(),
                    in_flight: lane.in_flight.load(Ordering::Relaxed),
                    circuit_breaker: lane.breaker.lock().unwrap_or_else(PoisonError::into_inner).view(now),
                    rate_per_second: pace.limit(lane.destination.load().rate).map(|(rate, _)| rate),
                    paused_ms: pace
                        .paused_until(now)
                        .map(|until| until.saturating_duration_since(now).as_millis() as u64),
                    expired: lane.expired.get(),
                    concurrency_limit: {
                        let destination = lane.destination.load();
                        if destination.adaptive {
                            lane.concurrency
                                .lock()
                                .unwrap_or_else(PoisonError::into_inner)
                                .limit()
                                .min(destination.max_in_flight)
                        } else {
                            destination.max_in_flight
                        }
                    },
                }
            })
            .collect();
        list.sort_by(|a, b| a.name.cmp(&b.name));
        list
    }

    /// Stops every lane and waits up to `grace` for the attempts in flight; with
    /// `drain`, lanes also send what is due meanwhile. Returns whether they all
    /// finished in time.
    pub async fn shutdown(&self, grace: Duration, drain: bool) -> bool {
        {
            let lanes = self.lanes.lock().unwrap_or_else(PoisonError::into_inner);
            for lane in lanes.values() {
                lane.drain.store(drain, Ordering::SeqCst);
                lane.stop.cancel();
            }
        }
        self.tracker.close();
        tokio::time::timeout(grace, self.tracker.wait()).await.is_ok()
    }
}
