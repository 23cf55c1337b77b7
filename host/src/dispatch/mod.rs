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
//! - [`signing`]: Standard Webhooks signatures.
//! - [`attempt`]: one attempt and its record.
//! - [`retry`]: what a status means, and how long to wait.
//! - [`lane`]: the loop of one destination.

pub mod attempt;
pub mod destination;
pub mod lane;
pub mod request;
pub mod retry;
pub mod signing;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use destination::Destination;

use crate::outbox::Outbox;

/// Owns the lanes.
pub struct Dispatcher {
    outbox: Arc<dyn Outbox>,
    client: reqwest::Client,
    lanes: Mutex<HashMap<Arc<str>, LaneHandle>>,
    tracker: TaskTracker,
}

struct LaneHandle {
    destination: Arc<ArcSwap<Destination>>,
    stop: CancellationToken,
    drain: Arc<AtomicBool>,
}

impl Dispatcher {
    /// A dispatcher with no lanes yet.
    pub fn new(outbox: Arc<dyn Outbox>) -> Result<Dispatcher, String> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .pool_idle_timeout(Duration::from_secs(60))
            .tcp_nodelay(true)
            .build()
            .map_err(|error| format!("cannot build the HTTP client: {error}"))?;
        Ok(Dispatcher {
            outbox,
            client,
            lanes: Mutex::new(HashMap::new()),
            tracker: TaskTracker::new(),
        })
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
                Some(lane) => lane.destination.store(Arc::new(destination.clone())),
                None => {
                    let shared = Arc::new(ArcSwap::from_pointee(destination.clone()));
                    let stop = CancellationToken::new();
                    let drain = Arc::new(AtomicBool::new(false));
                    let lane = lane::Lane {
                        destination: shared.clone(),
                        outbox: self.outbox.clone(),
                        client: self.client.clone(),
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
                        },
                    );
                }
            }
        }
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
