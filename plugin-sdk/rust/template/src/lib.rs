//! {{name}}: a Weir filter in Rust. Keeps the predictions at or above `min_confidence`,
//! drops the event when none is left, and says in the metadata how many were kept.

use serde::Deserialize;
use weir_plugin_sdk::{Error, Event, Filter, Verdict};

/// The route's config for this filter: `{"min_confidence": 0.8}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default = "half")]
    min_confidence: f64,
}

fn half() -> f64 {
    0.5
}

pub struct MinConfidence {
    min_confidence: f64,
}

impl Filter for MinConfidence {
    type Config = Config;

    fn new(config: Config) -> Result<Self, Error> {
        if !(0.0..=1.0).contains(&config.min_confidence) {
            return Err(Error::msg(format!(
                "min_confidence must be between 0 and 1, got {}",
                config.min_confidence
            )));
        }
        Ok(MinConfidence {
            min_confidence: config.min_confidence,
        })
    }

    fn filter(&mut self, event: &mut Event<'_>) -> Result<Verdict, Error> {
        let confident: Vec<u32> = event
            .prediction_list()
            .iter()
            .filter(|p| p.confidence.is_none_or(|c| c >= self.min_confidence))
            .map(|p| p.index)
            .collect();
        if confident.is_empty() {
            return Ok(Verdict::drop(format!("nothing at confidence >= {}", self.min_confidence)));
        }
        event.set_metadata("{{name}}-kept", confident.len().to_string())?;
        event.keep_predictions(confident)?;
        Ok(Verdict::Keep)
    }
}

weir_plugin_sdk::export_filter!(MinConfidence);

#[cfg(test)]
mod tests {
    use super::*;
    use weir_plugin_sdk::testing::{TestEvent, run};

    #[test]
    fn keeps_the_confident_predictions() {
        let event = TestEvent::new(include_str!("../sample-event.json"));
        let out = run::<MinConfidence>(r#"{"min_confidence": 0.8}"#, &event).unwrap().kept().unwrap();
        assert_eq!(out.metadata_value("{{name}}-kept"), Some("3"));
    }
}
