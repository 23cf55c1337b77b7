//! Removes mask attachments and the references to them in the predictions, so that
//! receivers that do not need masks (most of them) do not pay for them. See the README.

use serde::Deserialize;
use weir_plugin_sdk::predictions::{Document, may_hold_key};
use weir_plugin_sdk::{Error, Event, Filter, Verdict};

/// The filter's configuration.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Attachments whose name starts with this prefix are masks (default `mask_`).
    #[serde(default = "default_prefix")]
    pub prefix: String,
    /// The prediction field that names a mask file (default `mask`).
    #[serde(default = "default_field")]
    pub field: String,
}

fn default_prefix() -> String {
    "mask_".into()
}

fn default_field() -> String {
    "mask".into()
}

/// The mask stripper.
#[derive(Debug)]
pub struct StripMasks {
    config: Config,
}

impl StripMasks {
    /// Removes the mask field from every prediction; returns the new document when
    /// anything was removed.
    pub fn strip_predictions(&self, predictions: &str) -> Result<Option<String>, Error> {
        if !may_hold_key(predictions, &self.config.field) {
            // Most events (every detection or classification) have no masks at all:
            // no need to parse them.
            return Ok(None);
        }
        let mut doc = Document::parse(predictions)?;
        Ok((doc.remove_field(&self.config.field) > 0).then(|| doc.to_json()))
    }
}

impl Filter for StripMasks {
    type Config = Config;

    fn new(config: Config) -> Result<Self, Error> {
        if config.prefix.is_empty() {
            return Err(Error::msg("prefix must not be empty: it would match every attachment"));
        }
        Ok(StripMasks { config })
    }

    fn filter(&mut self, event: &mut Event<'_>) -> Result<Verdict, Error> {
        for attachment in event.attachments() {
            if attachment.name.starts_with(&self.config.prefix) {
                event.remove_attachment(attachment.name)?;
            }
        }
        if let Some(predictions) = self.strip_predictions(&event.predictions())? {
            event.set_predictions(predictions)?;
        }
        Ok(Verdict::Keep)
    }
}

weir_plugin_sdk::export_filter!(StripMasks);

#[cfg(test)]
mod tests {
    use super::*;
    use weir_plugin_sdk::testing::{TestEvent, run};

    fn output(event: &TestEvent) -> weir_plugin_sdk::testing::OutputEvent {
        run::<StripMasks>("{}", event).unwrap().kept().expect("kept")
    }

    #[test]
    fn removes_mask_attachments_and_fields() {
        let event = TestEvent::new(r#"{"predictions":[{"class":"a","mask":"mask_0000.png","confidence":1}]}"#)
            .with_attachment("image.jpeg", "image/jpeg", vec![0])
            .with_attachment("mask_0000.png", "image/png", vec![0]);
        let out = output(&event);
        assert_eq!(
            out.predictions.as_str(),
            r#"{"predictions":[{"class":"a","confidence":1}]}"#
        );
        let names: Vec<&str> = out.attachments.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["image.jpeg"]);
    }

    #[test]
    fn keeps_events_without_masks_unchanged() {
        let event =
            TestEvent::new(r#"{"predictions":[{"class":"a"}]}"#).with_attachment("image.jpeg", "image/jpeg", vec![0]);
        assert_eq!(&output(&event), event.event());
    }

    #[test]
    fn finds_keys_written_with_escapes() {
        // `m\u0061sk` is the key `mask`: a document with escapes is always parsed.
        let event = TestEvent::new(r#"{"predictions":[{"class":"a","m\u0061sk":"mask_0000.png"}]}"#);
        assert_eq!(
            output(&event).predictions.as_str(),
            r#"{"predictions":[{"class":"a"}]}"#
        );
        assert!(!may_hold_key(r#"{"masks":1,"task":"masked"}"#, "mask"));
        // A value that reads like the key only costs a parse.
        assert!(may_hold_key(r#"{"task":"mask"}"#, "mask"));
        assert!(may_hold_key(r#"{"a":{"mask":1}}"#, "mask"));
        assert!(may_hold_key(r#"{"a":"\n"}"#, "mask"));
        assert!(may_hold_key("{}", "a\"b"));
    }
}
