//! Per-key ordering of one destination's deliveries (`order_by = "camera"`): of the
//! deliveries whose events carry the same value of the metadata key, one at a time is
//! released to the lane, in ingest order (the order of delivery ids); the others are
//! held here until it is delivered or dead. Keys do not wait for each other, so a
//! failing key blocks only itself, and only until its delivery goes to the dead
//! letters.
//!
//! The released delivery of a key lives in the schedule as any other (due, waiting for
//! a retry, or in flight); the held ones live here only, with the time they were due.

use std::collections::BTreeMap;
use std::time::Instant;

use rustc_hash::FxHashMap as HashMap;

use super::{Delivery, DeliveryId};

/// A delivery and when it is due (now when `None`).
pub type Due = (Delivery, Option<Instant>);

/// One destination's keys.
#[derive(Debug)]
pub struct KeyOrder {
    /// The metadata key deliveries are ordered by.
    key: String,
    keys: HashMap<String, Key>,
}

#[derive(Debug)]
struct Key {
    /// The delivery released for this key value.
    current: DeliveryId,
    /// The ones after it, by id.
    held: BTreeMap<DeliveryId, Due>,
}

impl KeyOrder {
    /// Orders deliveries by the metadata `key`.
    pub fn new(key: &str) -> KeyOrder {
        KeyOrder {
            key: key.to_string(),
            keys: HashMap::default(),
        }
    }

    /// The metadata key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The key value a delivery is ordered under (`None`: its event lacks the key, and
    /// it is not ordered).
    fn value_of(&self, delivery: &Delivery) -> Option<String> {
        delivery.event.metadata_value(&self.key).map(str::to_string)
    }

    /// A delivery enters, new or back for a retry: returned when it may go now (no
    /// delivery of its key is pending, or it is the key's released one), else held
    /// until those before it leave. (A retry of one released before the order was set,
    /// at a reload, becomes its key's released one if the key has none, and otherwise
    /// waits behind it, so two of a key never go at once.)
    pub fn enter(&mut self, delivery: Delivery, at: Option<Instant>) -> Option<Due> {
        let Some(value) = self.value_of(&delivery) else {
            return Some((delivery, at));
        };
        match self.keys.get_mut(&value) {
            Some(key) if key.current == delivery.id => Some((delivery, at)),
            Some(key) => {
                key.held.insert(delivery.id, (delivery, at));
                None
            }
            None => {
                let current = delivery.id;
                self.keys.insert(
                    value,
                    Key {
                        current,
                        held: BTreeMap::new(),
                    },
                );
                Some((delivery, at))
            }
        }
    }

    /// A delivery left for good (delivered, dead, removed): if it was its key's
    /// released one, the next of that key, released now.
    pub fn leave(&mut self, delivery: &Delivery) -> Option<Due> {
        let value = self.value_of(delivery)?;
        let key = self.keys.get_mut(&value)?;
        if key.current != delivery.id {
            // A held one taken out (a replay's bookkeeping, a removal).
            key.held.remove(&delivery.id);
            return None;
        }
        match key.held.pop_first() {
            Some((id, due)) => {
                key.current = id;
                Some(due)
            }
            None => {
                self.keys.remove(&value);
                None
            }
        }
    }

    /// Takes a held delivery out by id.
    pub fn take(&mut self, id: DeliveryId) -> Option<Delivery> {
        self.keys
            .values_mut()
            .find_map(|key| key.held.remove(&id))
            .map(|(delivery, _)| delivery)
    }

    /// Every held delivery, taken out (the released ones stay the schedule's).
    pub fn drain(&mut self) -> Vec<Due> {
        self.keys.drain().flat_map(|(_, key)| key.held.into_values()).collect()
    }

    /// How many deliveries are held.
    pub fn held(&self) -> usize {
        self.keys.values().map(|key| key.held.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::SystemTime;

    use super::*;
    use crate::event::Event;

    fn delivery(id: DeliveryId, camera: Option<&str>) -> Delivery {
        let mut event = Event::new(format!("e{id}"), "r", "{}");
        if let Some(camera) = camera {
            event.set_metadata("camera", camera);
        }
        Delivery {
            id,
            event: Arc::new(event),
            destination: Arc::from("d"),
            attempts: 0,
            accepted_at: SystemTime::now(),
            batch: None,
        }
    }

    fn id(due: Option<Due>) -> Option<DeliveryId> {
        due.map(|(delivery, _)| delivery.id)
    }

    #[test]
    fn one_delivery_per_key_at_a_time_in_id_order() {
        let mut order = KeyOrder::new("camera");
        assert_eq!(id(order.enter(delivery(1, Some("a")), None)), Some(1));
        assert_eq!(
            id(order.enter(delivery(2, Some("b")), None)),
            Some(2),
            "another key goes at once"
        );
        assert_eq!(id(order.enter(delivery(4, Some("a")), None)), None);
        assert_eq!(id(order.enter(delivery(3, Some("a")), None)), None);
        assert_eq!(id(order.enter(delivery(5, None), None)), Some(5), "no key, no order");
        assert_eq!(order.held(), 2);
        // 1 leaves: the lowest id held for its key goes next.
        assert_eq!(id(order.leave(&delivery(1, Some("a")))), Some(3));
        assert_eq!(id(order.leave(&delivery(3, Some("a")))), Some(4));
        assert_eq!(id(order.leave(&delivery(4, Some("a")))), None);
        // The key is free again.
        assert_eq!(id(order.enter(delivery(6, Some("a")), None)), Some(6));
    }

    #[test]
    fn a_held_delivery_taken_out_is_not_released_later() {
        let mut order = KeyOrder::new("camera");
        order.enter(delivery(1, Some("a")), None);
        order.enter(delivery(2, Some("a")), None);
        order.enter(delivery(3, Some("a")), None);
        assert_eq!(order.take(2).map(|d| d.id), Some(2));
        assert_eq!(id(order.leave(&delivery(1, Some("a")))), Some(3));
        assert_eq!(order.drain().len(), 0);
    }

    #[test]
    fn a_retry_keeps_its_place_and_one_released_before_the_order_waits_behind() {
        let mut order = KeyOrder::new("camera");
        // Released before the order existed (a reload), then retried: it becomes the
        // key's released one.
        assert_eq!(id(order.enter(delivery(7, Some("a")), None)), Some(7));
        assert_eq!(id(order.enter(delivery(8, Some("a")), None)), None);
        assert_eq!(
            id(order.enter(delivery(7, Some("a")), None)),
            Some(7),
            "a retry keeps its place"
        );
        // Another one of the key released before the order, retried now: it waits.
        assert_eq!(id(order.enter(delivery(5, Some("a")), None)), None);
        assert_eq!(id(order.leave(&delivery(7, Some("a")))), Some(5));
        assert_eq!(id(order.leave(&delivery(5, Some("a")))), Some(8));
    }
}
