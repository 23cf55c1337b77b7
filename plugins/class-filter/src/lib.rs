//! Keeps only the predictions of the configured classes at or above a minimum
//! confidence, and drops the event when none is left. See the README for the config.

use serde::Deserialize;
use weir_plugin_sdk::predictions::Document;
use weir_plugin_sdk::{Changes, Error, Event, Filter, Verdict};

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

    /// The decision for one predictions document; shared by the Wasm export and the
    /// native benchmark.
    pub fn decide(&self, predictions: &str) -> Result<Verdict, Error> {
        let mut doc = Document::parse(predictions)?;
        let retained = doc.retain(|p| self.keeps(p.class, p.confidence));
        if retained.kept == 0 {
            return Ok(Verdict::drop(self.nothing_left()));
        }
        if retained.removed == 0 {
            return Ok(Verdict::Keep);
        }
        let mut changes = Changes::new().predictions(doc.to_json());
        if self.config.remove_orphaned_masks {
            for mask in retained.orphaned_masks {
                changes = changes.remove_attachment(mask);
            }
        }
        Ok(changes.into())
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

    fn filter(&mut self, event: &Event<'_>) -> Result<Verdict, Error> {
        // Weir reads the predictions for us: no JSON parsing here, and Weir edits the
        // document from the indices we keep.
        let items = event.prediction_list();
        let keep: Vec<u32> = (0..items.len() as u32)
            .filter(|i| {
                let item = &items[*i as usize];
                self.keeps(&item.class, item.confidence)
            })
            .collect();
        if keep.is_empty() {
            return Ok(Verdict::drop(self.nothing_left()));
        }
        if keep.len() == items.len() {
            return Ok(Verdict::Keep);
        }
        let mut changes = Changes::new().keep_predictions(keep.iter().copied());
        if self.config.remove_orphaned_masks {
            let kept_masks: Vec<&str> = keep.iter().filter_map(|i| items[*i as usize].mask.as_deref()).collect();
            let present: Vec<String> = event.attachments().into_iter().map(|a| a.name).collect();
            for (i, item) in items.iter().enumerate() {
                let Some(mask) = item.mask.as_deref() else { continue };
                let orphaned = !keep.contains(&(i as u32)) && !kept_masks.contains(&mask);
                if orphaned
                    && present.iter().any(|p| p == mask)
                    && !changes.remove_attachments.iter().any(|r| r == mask)
                {
                    changes = changes.remove_attachment(mask);
                }
            }
        }
        Ok(changes.into())
    }
}

weir_plugin_sdk::export_filter!(ClassFilter);

#[cfg(test)]
mod tests {
    use super::*;
    use weir_plugin_sdk::testing::{TestEvent, run};

    const OBJECTS: &str = include_str!("../../../tests/fixtures/object-detection.json");
    const INSTANCES: &str = include_str!("../../../tests/fixtures/instance-segmentation.json");

    #[test]
    fn keeps_configured_classes_above_the_confidence() {
        let verdict = run::<ClassFilter>(
            r#"{"classes":["person"],"min_confidence":0.5}"#,
            &TestEvent::new(OBJECTS),
        )
        .unwrap();
        let Verdict::Modify(changes) = verdict else {
            panic!("{verdict:?}")
        };
        assert_eq!(changes.keep_predictions, Some(vec![0, 1]));
        // The native decision, used by the benchmark, agrees.
        let config = serde_json::from_str(r#"{"classes":["person"],"min_confidence":0.5}"#).unwrap();
        let Verdict::Modify(native) = ClassFilter::new(config).unwrap().decide(OBJECTS).unwrap() else {
            panic!("the native decision kept everything")
        };
        let doc = Document::parse(native.predictions.as_deref().unwrap()).unwrap();
        let kept: Vec<_> = doc.items().iter().map(|p| (p.class, p.confidence)).collect();
        assert_eq!(kept, [("person", Some(0.97)), ("person", Some(0.91))]);
    }

    #[test]
    fn drops_the_event_when_nothing_is_left() {
        let verdict = run::<ClassFilter>(r#"{"classes":["truck"]}"#, &TestEvent::new(OBJECTS)).unwrap();
        assert_eq!(verdict, Verdict::drop("no prediction of truck at confidence >= 0"));
    }

    #[test]
    fn keeps_unchanged_when_everything_passes() {
        let verdict = run::<ClassFilter>("{}", &TestEvent::new(OBJECTS)).unwrap();
        assert_eq!(verdict, Verdict::Keep);
    }

    #[test]
    fn removes_masks_of_removed_instances_only_when_present() {
        let event = TestEvent::new(INSTANCES)
            .with_attachment("mask_0002.png", "image/png", vec![1])
            .with_attachment("mask_0000.png", "image/png", vec![1]);
        let verdict = run::<ClassFilter>(r#"{"classes":["person"]}"#, &event).unwrap();
        let Verdict::Modify(changes) = verdict else {
            panic!("{verdict:?}")
        };
        assert_eq!(changes.remove_attachments, ["mask_0002.png"]);
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
