//! Keeps only the predictions of the configured classes at or above a minimum
//! confidence, and drops the event when none is left. See the README for the config.

use serde::Deserialize;
use weir_plugin_sdk::predictions::Document;
use weir_plugin_sdk::{Error, Event, Filter, Verdict};

/// The filter's configuration.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Classes to keep. Empty keeps every class (only the confidence counts).
    #[serde(default)]
    pub classes: Vec<String>,
    /// Minimum confidence, 0 to 1. Predictions without a confidence (semantic
    /// segmentation) are judged on their class alone.
    #[serde(default)]
    pub min_confidence: f64,
    /// Also remove the mask attachments of removed predictions (default true), so that
    /// no mask travels without its prediction.
    #[serde(default = "yes")]
    pub remove_orphaned_masks: bool,
}

fn yes() -> bool {
    true
}

/// The class filter.
#[derive(Debug)]
pub struct ClassFilter {
    config: Config,
}

impl ClassFilter {
    fn keeps(&self, class: &str, confidence: Option<f64>) -> bool {
        (self.config.classes.is_empty() || self.config.classes.iter().any(|c| c == class))
            && confidence.is_none_or(|confidence| confidence >= self.config.min_confidence)
    }

    /// The same decision made natively on a predictions document: the predictions
    /// kept, as a new document, or the reason to drop the event; `None` when every
    /// prediction passes. For the benchmark that compares the filter with its native
    /// self.
    pub fn decide(&self, predictions: &str) -> Result<Option<Result<String, String>>, Error> {
        let mut doc = Document::parse(predictions)?;
        let retained = doc.retain(|p| self.keeps(p.class, p.confidence));
        if retained.kept == 0 {
            return Ok(Some(Err(self.nothing_left())));
        }
        if retained.removed == 0 {
            return Ok(None);
        }
        Ok(Some(Ok(doc.to_json())))
    }

    fn nothing_left(&self) -> String {
        let classes = if self.config.classes.is_empty() {
            "any class".to_string()
        } else {
            self.config.classes.join(", ")
        };
        format!(
            "no prediction of {classes} at confidence >= {}",
            self.config.min_confidence
        )
    }
}

impl Filter for ClassFilter {
    type Config = Config;

    fn new(config: Config) -> Result<Self, Error> {
        if !(0.0..=1.0).contains(&config.min_confidence) {
            return Err(Error::msg(format!(
                "min_confidence must be between 0 and 1, got {}",
                config.min_confidence
            )));
        }
        Ok(ClassFilter { config })
    }

    fn filter(&mut self, event: &mut Event<'_>) -> Result<Verdict, Error> {
        // Weir reads the predictions for us: no JSON parsing here, and Weir edits the
        // document from the indices we keep.
        let items = event.prediction_list();
        let keep: Vec<u32> = items
            .iter()
            .filter(|p| self.keeps(&p.class, p.confidence))
            .map(|p| p.index)
            .collect();
        if keep.is_empty() {
            return Ok(Verdict::drop(self.nothing_left()));
        }
        if keep.len() == items.len() {
            return Ok(Verdict::Keep);
        }
        // Masks referred to only by removed predictions, and present on the event.
        let mut orphaned: Vec<&str> = Vec::new();
        if self.config.remove_orphaned_masks {
            let kept_masks: Vec<&str> = keep.iter().filter_map(|i| items[*i as usize].mask.as_deref()).collect();
            let present: Vec<String> = event.attachments().into_iter().map(|a| a.name).collect();
            for item in &items {
                let Some(mask) = item.mask.as_deref() else { continue };
                let removed = !keep.contains(&item.index);
                if removed
                    && !kept_masks.contains(&mask)
                    && present.iter().any(|p| p == mask)
                    && !orphaned.contains(&mask)
                {
                    orphaned.push(mask);
                }
            }
        }
        event.keep_predictions(keep)?;
        for mask in orphaned {
            event.remove_attachment(mask)?;
        }
        Ok(Verdict::Keep)
    }
}

weir_plugin_sdk::export_filter!(ClassFilter);

#[cfg(test)]
mod tests {
    use super::*;
    use weir_plugin_sdk::testing::{Outcome, TestEvent, run};

    const OBJECTS: &str = include_str!("../../../../tests/fixtures/object-detection.json");
    const INSTANCES: &str = include_str!("../../../../tests/fixtures/instance-segmentation.json");

    fn kept(outcome: Outcome) -> weir_plugin_sdk::testing::OutputEvent {
        outcome.kept().expect("the event was dropped")
    }

    #[test]
    fn keeps_configured_classes_above_the_confidence() {
        let config = r#"{"classes":["person"],"min_confidence":0.5}"#;
        let out = kept(run::<ClassFilter>(config, &TestEvent::new(OBJECTS)).unwrap());
        let doc = Document::parse(&out.predictions).unwrap();
        let kept: Vec<_> = doc.items().iter().map(|p| (p.class, p.confidence)).collect();
        assert_eq!(kept, [("person", Some(0.97)), ("person", Some(0.91))]);
        // The native decision, used by the benchmark, agrees.
        let native = ClassFilter::new(serde_json::from_str(config).unwrap()).unwrap();
        assert_eq!(native.decide(OBJECTS).unwrap(), Some(Ok(out.predictions.to_string())));
    }

    #[test]
    fn drops_the_event_when_nothing_is_left() {
        let outcome = run::<ClassFilter>(r#"{"classes":["truck"]}"#, &TestEvent::new(OBJECTS)).unwrap();
        assert_eq!(
            outcome,
            Outcome::Dropped("no prediction of truck at confidence >= 0".into())
        );
    }

    #[test]
    fn keeps_unchanged_when_everything_passes() {
        let event = TestEvent::new(OBJECTS);
        let out = kept(run::<ClassFilter>("{}", &event).unwrap());
        assert_eq!(&out, event.event());
    }

    #[test]
    fn removes_masks_of_removed_instances_only_when_present() {
        let event = TestEvent::new(INSTANCES)
            .with_attachment("mask_0002.png", "image/png", vec![1])
            .with_attachment("mask_0000.png", "image/png", vec![1]);
        let out = kept(run::<ClassFilter>(r#"{"classes":["person"]}"#, &event).unwrap());
        let names: Vec<&str> = out.attachments.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["mask_0000.png"]);
    }

    #[test]
    fn refuses_bad_config() {
        let error = run::<ClassFilter>(r#"{"min_confidence":2}"#, &TestEvent::new(OBJECTS)).unwrap_err();
        assert_eq!(error.message(), "min_confidence must be between 0 and 1, got 2");
        let error = run::<ClassFilter>(r#"{"class":["a"]}"#, &TestEvent::new(OBJECTS)).unwrap_err();
        assert!(
            error.message().starts_with("invalid config: unknown field `class`"),
            "{error}"
        );
    }
}
