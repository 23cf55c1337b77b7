//! Notify once: lets through at most one event per key per period (the key built from
//! metadata, document fields and the predictions' class), or, in "new objects" mode,
//! only the events whose objects differ from the last event of their key. A person
//! seen on 30 frames a second pages someone once, not 30 times a second. See the README.
//!
//! The memory of what was let through is Weir's state store (`weir:filter/state`), not
//! the filter's own: it is shared by every instance of the filter and survives hot
//! reloads (and restarts, with `state = "durable"` on the route's filter).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use weir_plugin_sdk::predictions::Document;
use weir_plugin_sdk::{Error, Event, Filter, Prediction, Verdict, state};

/// The filter's configuration.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The period, in seconds: at most one event per key in it (default 60). In "new
    /// objects" mode, how long a key's objects are remembered after its last event.
    #[serde(default = "default_seconds")]
    pub seconds: f64,
    /// What the key is made of, in order: `metadata.NAME` (a metadata entry),
    /// `field.NAME` (a top-level field of the predictions document, such as `camera`),
    /// `route`, `task`, and `class` (one key per class among the counted predictions).
    #[serde(default = "default_key")]
    pub key: Vec<String>,
    /// Only these classes count (empty: every class).
    #[serde(default)]
    pub classes: Vec<String>,
    /// Predictions below this confidence do not count (default 0).
    #[serde(default)]
    pub min_confidence: f64,
    /// "New objects only": let an event through only when, for its key, the `set` of
    /// classes (or their `count`s) differs from the last event's. Absent: plain
    /// cooldown.
    #[serde(default)]
    pub new_objects: Option<NewObjects>,
}

/// What "new objects" compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NewObjects {
    /// The set of classes in view changed (a car joined the person).
    Set,
    /// The number of objects of some class changed (a second person came).
    Count,
}

fn default_seconds() -> f64 {
    60.0
}

fn default_key() -> Vec<String> {
    vec!["metadata.camera".into(), "class".into()]
}

/// One part of the key.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Metadata(String),
    Field(String),
    Route,
    Task,
    Class,
}

/// The cooldown.
#[derive(Debug)]
pub struct Cooldown {
    config: Config,
    parts: Vec<Part>,
    period: Duration,
}

impl Cooldown {
    fn counts(&self, prediction: &Prediction) -> bool {
        (self.config.classes.is_empty() || self.config.classes.contains(&prediction.class))
            && prediction.confidence.is_none_or(|c| c >= self.config.min_confidence)
    }

    /// The key's parts other than the class, joined; `None` for a part the event lacks.
    fn base_key(&self, event: &Event<'_>) -> Result<String, Error> {
        let mut document = None;
        let mut pieces = Vec::with_capacity(self.parts.len());
        for part in &self.parts {
            let piece = match part {
                Part::Metadata(name) => event.metadata_value(name).unwrap_or_default(),
                Part::Field(name) => {
                    let text = document.get_or_insert_with(|| event.predictions());
                    Document::parse(text)?.field(name).unwrap_or_default()
                }
                Part::Route => event.route(),
                Part::Task => event.task().to_string(),
                Part::Class => "{class}".to_string(),
            };
            pieces.push(piece);
        }
        Ok(pieces.join("/"))
    }

    /// What "new objects" remembers of a group of predictions.
    fn signature(&self, mode: NewObjects, predictions: &[&Prediction]) -> String {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for prediction in predictions {
            *counts.entry(&prediction.class).or_default() += 1;
        }
        let parts: Vec<String> = counts
            .into_iter()
            .map(|(class, count)| match mode {
                NewObjects::Set => class.to_string(),
                NewObjects::Count => format!("{class}:{count}"),
            })
            .collect();
        parts.join(",")
    }

    /// Whether the key lets this group through now, recording it.
    fn admit(&self, key: &str, predictions: &[&Prediction]) -> Result<bool, Error> {
        let Some(mode) = self.config.new_objects else {
            // Claiming the key succeeds for exactly one event until it expires.
            return Ok(state::claim(key, self.period)?);
        };
        let signature = self.signature(mode, predictions);
        // Compare-and-set until this event's view is recorded: two instances seeing
        // the same new objects at once let only one event through.
        loop {
            let last = state::get(key);
            let changed = last.as_deref() != Some(signature.as_bytes());
            if state::compare_and_set(key, last.as_deref(), Some(signature.as_bytes()), Some(self.period))? {
                return Ok(changed);
            }
        }
    }
}

impl Filter for Cooldown {
    type Config = Config;

    fn new(config: Config) -> Result<Self, Error> {
        if !(config.seconds > 0.0 && config.seconds.is_finite()) {
            return Err(Error::msg(format!(
                "seconds must be more than 0, got {}",
                config.seconds
            )));
        }
        if config.key.is_empty() {
            return Err(Error::msg(
                "key is empty: name what makes two events the same, such as [\"metadata.camera\", \"class\"]",
            ));
        }
        let mut parts = Vec::new();
        for part in &config.key {
            parts.push(match part.as_str() {
                "route" => Part::Route,
                "task" => Part::Task,
                "class" => Part::Class,
                other => match other.split_once('.') {
                    Some(("metadata", name)) if !name.is_empty() => Part::Metadata(name.to_string()),
                    Some(("field", name)) if !name.is_empty() => Part::Field(name.to_string()),
                    _ => {
                        return Err(Error::msg(format!(
                            "key part {part:?} is not one of metadata.NAME, field.NAME, route, task, class"
                        )));
                    }
                },
            });
        }
        let period = Duration::from_secs_f64(config.seconds);
        Ok(Cooldown { config, parts, period })
    }

    fn filter(&mut self, event: &mut Event<'_>) -> Result<Verdict, Error> {
        let predictions = event.prediction_list();
        let counted: Vec<&Prediction> = predictions.iter().filter(|p| self.counts(p)).collect();
        let base = self.base_key(event)?;
        // One group per key: per class when the key has the class in it.
        let mut groups: BTreeMap<String, Vec<&Prediction>> = BTreeMap::new();
        if self.parts.contains(&Part::Class) {
            for prediction in &counted {
                let key = base.replace("{class}", &prediction.class);
                groups.entry(key).or_default().push(prediction);
            }
            if groups.is_empty() {
                return Ok(Verdict::drop("no prediction to notify about"));
            }
        } else {
            groups.insert(base, counted);
        }
        let mut admitted = Vec::new();
        for (key, group) in &groups {
            if self.admit(key, group)? {
                admitted.push(key.as_str());
            }
        }
        if admitted.is_empty() {
            let keys: Vec<&str> = groups.keys().map(String::as_str).collect();
            let why = match self.config.new_objects {
                None => format!(
                    "cooling down: {} notified in the last {} s",
                    keys.join(", "),
                    self.config.seconds
                ),
                Some(_) => format!("no new objects for {}", keys.join(", ")),
            };
            return Ok(Verdict::drop(why));
        }
        event.set_metadata("cooldown-key", admitted.join(","))?;
        Ok(Verdict::Keep)
    }
}

weir_plugin_sdk::export_filter!(Cooldown);

#[cfg(test)]
mod tests {
    use super::*;
    use weir_plugin_sdk::testing::{Harness, Outcome, TestEvent};

    fn frame(camera: &str, classes: &[&str]) -> TestEvent {
        let predictions: Vec<String> = classes
            .iter()
            .map(|class| format!(r#"{{"class":"{class}","confidence":0.9}}"#))
            .collect();
        TestEvent::new(format!(r#"{{"predictions":[{}]}}"#, predictions.join(","))).with_metadata("camera", camera)
    }

    fn passes(harness: &mut Harness<Cooldown>, event: &TestEvent) -> bool {
        matches!(harness.filter(event).unwrap(), Outcome::Kept(_))
    }

    #[test]
    fn lets_one_event_per_camera_and_class_through_per_period() {
        let mut harness = Harness::<Cooldown>::new(r#"{"seconds": 1}"#).unwrap();
        let person = frame("dock-3", &["person"]);
        assert!(passes(&mut harness, &person));
        harness.advance(Duration::from_millis(500));
        assert!(!passes(&mut harness, &person));
        // Another camera, and another class on the same camera, have keys of their own.
        assert!(passes(&mut harness, &frame("dock-4", &["person"])));
        assert!(passes(&mut harness, &frame("dock-3", &["person", "car"])));
        harness.advance(Duration::from_millis(600));
        let out = harness.filter(&person).unwrap().kept().expect("the period is over");
        assert_eq!(out.metadata_value("cooldown-key"), Some("dock-3/person"));
    }

    #[test]
    fn says_why_an_event_waits() {
        let mut harness = Harness::<Cooldown>::new(r#"{"seconds": 30, "key": ["metadata.camera"]}"#).unwrap();
        assert!(passes(&mut harness, &frame("dock-3", &["person"])));
        let outcome = harness.filter(&frame("dock-3", &["car"])).unwrap();
        assert_eq!(
            outcome.dropped(),
            Some("cooling down: dock-3 notified in the last 30 s")
        );
    }

    #[test]
    fn new_objects_mode_lets_through_only_changes() {
        let config = r#"{"seconds": 10, "key": ["metadata.camera"], "new_objects": "set"}"#;
        let mut harness = Harness::<Cooldown>::new(config).unwrap();
        assert!(passes(&mut harness, &frame("dock-3", &["person"])));
        assert!(!passes(&mut harness, &frame("dock-3", &["person", "person"])));
        assert!(passes(&mut harness, &frame("dock-3", &["person", "car"])));
        assert!(!passes(&mut harness, &frame("dock-3", &["car", "person"])));
        // Forgotten after a quiet period: the same objects are news again.
        harness.advance(Duration::from_secs(11));
        assert!(passes(&mut harness, &frame("dock-3", &["car", "person"])));

        let config = r#"{"seconds": 10, "key": ["metadata.camera"], "new_objects": "count"}"#;
        let mut harness = Harness::<Cooldown>::new(config).unwrap();
        assert!(passes(&mut harness, &frame("dock-3", &["person"])));
        assert!(passes(&mut harness, &frame("dock-3", &["person", "person"])));
        assert!(!passes(&mut harness, &frame("dock-3", &["person", "person"])));
    }

    #[test]
    fn keys_can_use_document_fields_and_only_counted_predictions() {
        let config =
            r#"{"seconds": 5, "key": ["field.camera", "class"], "classes": ["person"], "min_confidence": 0.5}"#;
        let mut harness = Harness::<Cooldown>::new(config).unwrap();
        let event = TestEvent::new(
            r#"{"camera":"gate","predictions":[{"class":"person","confidence":0.9},{"class":"dog","confidence":0.9}]}"#,
        );
        let out = harness.filter(&event).unwrap().kept().unwrap();
        assert_eq!(out.metadata_value("cooldown-key"), Some("gate/person"));
        let weak = TestEvent::new(r#"{"camera":"gate","predictions":[{"class":"person","confidence":0.1}]}"#);
        assert_eq!(
            harness.filter(&weak).unwrap().dropped(),
            Some("no prediction to notify about")
        );
    }

    #[test]
    fn refuses_bad_config() {
        for (config, says) in [
            (r#"{"seconds": 0}"#, "seconds must be more than 0"),
            (r#"{"key": []}"#, "key is empty"),
            (r#"{"key": ["camera"]}"#, "key part \"camera\" is not one of"),
            (r#"{"new_objects": "colour"}"#, "unknown variant `colour`"),
        ] {
            let error = Harness::<Cooldown>::new(config).err().expect("refused");
            assert!(error.message().contains(says), "{config}: {error}");
        }
    }
}
