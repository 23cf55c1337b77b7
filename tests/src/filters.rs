//! A filter run directly on an event, without a router: making one of a plugin, running
//! it, and reading its outcome.

use std::sync::Arc;

use weir::event::Event;
use weir::plugin::{Filter, FilterError, FilterSettings, Misbehavior, Outcome, Plugin};

use crate::plugins::{example_plugin, load, test_guest_path};

/// A filter of `plugin` with this config and default settings.
pub async fn filter(plugin: Arc<Plugin>, config: &str) -> Filter {
    let settings = FilterSettings {
        config: config.into(),
        ..FilterSettings::default()
    };
    Filter::new(plugin, settings).await.unwrap_or_else(|e| panic!("{e}"))
}

/// A filter of an example plugin with this config.
pub async fn example_filter(name: &str, config: &str) -> Filter {
    filter(example_plugin(name), config).await
}

/// A filter of the test guest with this config.
pub async fn guest_filter(config: &str) -> Filter {
    guest_filter_with(FilterSettings {
        config: config.into(),
        ..FilterSettings::default()
    })
    .await
}

/// A filter of the test guest with these settings.
pub async fn guest_filter_with(settings: FilterSettings) -> Filter {
    Filter::new(load("misbehave", &test_guest_path()), settings)
        .await
        .unwrap()
}

/// Runs a filter on an event.
pub async fn run(filter: &Filter, event: Event) -> Result<Outcome, FilterError> {
    filter.run(&Arc::new(event)).await
}

/// The changed event of a `Modified` outcome.
#[track_caller]
pub fn modified(outcome: Result<Outcome, FilterError>) -> Arc<Event> {
    match outcome {
        Ok(Outcome::Modified(event)) => event,
        other => panic!("expected a modified event, got {other:?}"),
    }
}

/// What the guest did wrong, of an outcome that must be misbehaviour.
#[track_caller]
pub fn misbehavior(outcome: Result<Outcome, FilterError>) -> Misbehavior {
    match outcome {
        Err(FilterError::Misbehaved { misbehavior, .. }) => misbehavior,
        other => panic!("expected misbehaviour, got {other:?}"),
    }
}

/// An event with this metadata entry.
pub fn with_meta(mut event: Event, key: &str, value: &str) -> Event {
    event.set_metadata(key, value);
    event
}

/// Attachment names of an event.
pub fn attachment_names(event: &Event) -> Vec<&str> {
    event.attachments.iter().map(|a| a.name.as_str()).collect()
}
