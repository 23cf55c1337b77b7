//! Each destination's share of the store. Without shares, one dead receiver's backlog
//! grows until it fills `storage.max_pending` or `storage.max_bytes`, and from then on
//! every route is refused: an overloaded store would be deciding which events live.
//! With them, a destination whose share is full has its new deliveries dead-lettered
//! (or, if its config says `when_full = "refuse"`, the event refused), and the others
//! carry on.

use std::sync::Arc;

use rustc_hash::FxHashMap as HashMap;

use crate::config::{Config, WhenFull};

/// One destination's share, and how its deliveries are ordered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quota {
    /// Most deliveries waiting at once.
    pub max_pending: usize,
    /// Most bytes of events held by its deliveries at once.
    pub max_bytes: u64,
    /// What a new event meets when the share is full.
    pub when_full: WhenFull,
    /// The metadata key its deliveries are sent in order by, one at a time per value.
    pub order_by: Option<String>,
    /// Most deliveries in flight at once (requests times events per request): a shared
    /// store bounds it across every instance.
    pub in_flight: usize,
}

/// The shares of every destination; a destination without one (there is none in a
/// running config) is bounded by the store's totals only.
#[derive(Debug, Clone, Default)]
pub struct Quotas(HashMap<Arc<str>, Quota>);

impl Quotas {
    /// The shares a config gives: each destination's own `max_pending` and `max_bytes`,
    /// or an equal share of the store's.
    pub fn from_config(config: &Config) -> Quotas {
        let count = config.destinations.len().max(1);
        let storage = &config.storage;
        let shares = config.destinations.iter().map(|(name, destination)| {
            let quota = Quota {
                max_pending: destination
                    .max_pending
                    .unwrap_or_else(|| (storage.max_pending / count).max(1)),
                max_bytes: destination
                    .max_bytes
                    .map_or_else(|| (storage.max_bytes.0 / count as u64).max(1), |size| size.0),
                when_full: destination.when_full,
                order_by: destination.order_by.clone(),
                in_flight: destination
                    .max_in_flight
                    .saturating_mul(destination.batch.as_ref().map_or(1, |batch| batch.max_events)),
            };
            (Arc::from(name.as_str()), quota)
        });
        Quotas(shares.collect())
    }

    /// Every destination's share.
    pub fn iter(&self) -> impl Iterator<Item = (&Arc<str>, &Quota)> {
        self.0.iter()
    }

    /// The share of `destination`, if it has one.
    pub fn of(&self, destination: &str) -> Option<&Quota> {
        self.0.get(destination)
    }

    /// One share, for tests and single-destination stores.
    pub fn with(mut self, destination: &str, quota: Quota) -> Quotas {
        self.0.insert(destination.into(), quota);
        self
    }
}
