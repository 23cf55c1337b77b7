//! Helpers shared by the suite's modules.

use std::sync::Arc;

use weir::event::Event;
use weir::plugin::examples::example;
use weir::plugin::{Filter, FilterError, FilterSettings, Outcome, Plugin};
use weir_tests::{engine, load, test_guest_path};

/// An embedded example plugin on the shared engine.
pub fn example_plugin(name: &str) -> Arc<Plugin> {
    let example = example(name).unwrap_or_else(|| panic!("no example {name}"));
    Arc::new(Plugin::from_bytes(engine(), example.name, example.name, example.bytes).unwrap())
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

/// A filter of `plugin` with this config and default settings.
pub async fn filter(plugin: Arc<Plugin>, config: &str) -> Filter {
    let settings = FilterSettings {
        config: config.into(),
        ..FilterSettings::default()
    };
    Filter::new(plugin, settings).await.unwrap_or_else(|e| panic!("{e}"))
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

/// An event with this metadata entry.
pub fn with_meta(mut event: Event, key: &str, value: &str) -> Event {
    event.set_metadata(key, value);
    event
}

/// Attachment names of an event.
pub fn attachment_names(event: &Event) -> Vec<&str> {
    event.attachments.iter().map(|a| a.name.as_str()).collect()
}
