//! Sends each event to the destinations chosen by the classes it contains. See the
//! README for the config.

use std::collections::BTreeMap;

use serde::Deserialize;
use weir_plugin_sdk::predictions::Document;
use weir_plugin_sdk::{Error, Event, Filter, Verdict};

/// The filter's configuration.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Class name to destination names. An event goes to the union of the
    /// destinations of the classes it contains.
    pub routes: BTreeMap<String, Vec<String>>,
    /// Predictions below this confidence do not count (default 0).
    #[serde(default)]
    pub min_confidence: f64,
    /// Where events with none of the classes go. Absent: they are dropped.
    #[serde(default)]
    pub default: Option<Vec<String>>,
}

/// The router.
#[derive(Debug)]
pub struct RouteByClass {
    config: Config,
}

impl RouteByClass {
    /// The destinations for one predictions document, in config order, or `None` when
    /// no class matched and there is no default.
    pub fn choose(&self, predictions: &str) -> Result<Option<Vec<String>>, Error> {
        let doc = Document::parse(predictions)?;
        let mut chosen: Vec<String> = Vec::new();
        for prediction in doc.items() {
            if prediction.confidence.is_some_and(|c| c < self.config.min_confidence) {
                continue;
            }
            for destination in self.config.routes.get(prediction.class).into_iter().flatten() {
                if !chosen.contains(destination) {
                    chosen.push(destination.clone());
                }
            }
        }
        if chosen.is_empty() {
            return Ok(self.config.default.clone());
        }
        Ok(Some(chosen))
    }
}

impl Filter for RouteByClass {
    type Config = Config;

    fn new(config: Config) -> Result<Self, Error> {
        if config.routes.is_empty() {
            return Err(Error::msg("routes is empty: map at least one class to destinations"));
        }
        Ok(RouteByClass { config })
    }

    fn filter(&mut self, event: &mut Event<'_>) -> Result<Verdict, Error> {
        match self.choose(&event.predictions())? {
            Some(destinations) => {
                event.narrow_destinations(destinations)?;
                Ok(Verdict::Keep)
            }
            None => Ok(Verdict::drop("no class with a configured destination")),
        }
    }
}

weir_plugin_sdk::export_filter!(RouteByClass);

#[cfg(test)]
mod tests {
    use super::*;
    use weir_plugin_sdk::testing::{Outcome, TestEvent, run};

    const ALL: [&str; 3] = ["archive", "parking", "security"];

    fn destinations(outcome: Outcome) -> Vec<String> {
        outcome
            .kept()
            .expect("kept")
            .destinations
            .iter()
            .map(|d| d.to_string())
            .collect()
    }

    const CONFIG: &str = r#"{"routes":{"person":["security"],"car":["parking","security"]},"min_confidence":0.5}"#;

    #[test]
    fn routes_to_the_union_of_matching_classes() {
        let event = TestEvent::new(r#"[{"class":"car","confidence":0.9},{"class":"person","confidence":0.9}]"#)
            .with_destinations(ALL);
        assert_eq!(
            destinations(run::<RouteByClass>(CONFIG, &event).unwrap()),
            ["parking", "security"]
        );
    }

    #[test]
    fn drops_or_defaults_when_nothing_matches() {
        let event = TestEvent::new(r#"[{"class":"person","confidence":0.2}]"#).with_destinations(ALL);
        assert_eq!(
            run::<RouteByClass>(CONFIG, &event).unwrap(),
            Outcome::Dropped("no class with a configured destination".into())
        );
        let config = r#"{"routes":{"person":["security"]},"default":["archive"]}"#;
        let event = TestEvent::new(r#"[{"class":"cat"}]"#).with_destinations(ALL);
        assert_eq!(destinations(run::<RouteByClass>(config, &event).unwrap()), ["archive"]);
    }
}
