//! One event through one route's filter chain, and the route's failure policy.

use std::sync::Arc;

use crate::config::FailurePolicy;
use crate::event::Event;
use crate::plugin::{Filter, FilterError, Outcome};

/// Metadata key set on an event sent to a failure destination: what went wrong.
pub const ERROR_METADATA: &str = "weir-error";
/// Metadata key set on an event sent to a failure destination: which filter failed.
pub const FAILED_FILTER_METADATA: &str = "weir-failed-filter";

/// One step of a route's chain.
pub enum Stage {
    /// A filter, ready.
    Ready(Arc<Filter>),
    /// The plugin's file was removed: events meet the route's failure policy here until
    /// it comes back.
    Missing {
        /// The plugin's name.
        plugin: String,
    },
}

/// A route: its filters, in order, and where survivors go.
pub struct Route {
    /// The route's name.
    pub name: Arc<str>,
    /// The chain, in order.
    pub stages: Vec<Stage>,
    /// The destinations events start out bound for.
    pub destinations: Vec<Arc<str>>,
    /// What happens when a filter fails.
    pub policy: FailurePolicy,
}

/// What a route decided about an event.
#[derive(Debug)]
pub enum RouteOutcome {
    /// Deliver this event to these destinations.
    Deliver {
        /// The event as the filters left it.
        event: Arc<Event>,
        /// Where it goes.
        destinations: Vec<Arc<str>>,
    },
    /// The event goes nowhere, for this reason.
    Dropped {
        /// Why.
        reason: String,
    },
    /// A filter could not process the event now but said it may later (a retryable
    /// error): nothing is stored, and the sender is asked to send it again.
    Later {
        /// The filter's error.
        reason: String,
    },
}

impl Route {
    /// Runs the event through the chain.
    pub async fn process(&self, mut event: Event) -> RouteOutcome {
        event.destinations = self.destinations.iter().map(|d| d.to_string()).collect();
        let mut current = Arc::new(event);
        for stage in &self.stages {
            let filter = match stage {
                Stage::Ready(filter) => filter,
                Stage::Missing { plugin } => {
                    let error = FilterError::Host {
                        plugin: plugin.clone(),
                        message: "its file was removed from the plugin folder; put it back to resume".into(),
                    };
                    match self.on_failure(&current, plugin, &error) {
                        Some(outcome) => return outcome,
                        None => continue,
                    }
                }
            };
            match filter.run(&current).await {
                Ok(Outcome::Kept) => {}
                Ok(Outcome::Modified(changed)) => current = changed,
                Ok(Outcome::Dropped(reason)) => {
                    tracing::debug!(route = %self.name, event = %current.id, plugin = filter.plugin().name(), %reason, "dropped by filter");
                    return RouteOutcome::Dropped {
                        reason: format!("{}: {reason}", filter.plugin().name()),
                    };
                }
                Err(FilterError::Declined {
                    plugin,
                    message,
                    retryable: true,
                }) => {
                    tracing::debug!(route = %self.name, event = %current.id, %plugin, "filter asked for the event again later: {message}");
                    return RouteOutcome::Later {
                        reason: format!("{plugin}: {message}"),
                    };
                }
                Err(error) => match self.on_failure(&current, filter.plugin().name(), &error) {
                    Some(outcome) => return outcome,
                    None => continue,
                },
            }
        }
        let destinations: Vec<Arc<str>> = self
            .destinations
            .iter()
            .filter(|d| current.destinations.iter().any(|name| name.as_str() == &***d))
            .cloned()
            .collect();
        if destinations.is_empty() {
            return RouteOutcome::Dropped {
                reason: "the filters left no destination".into(),
            };
        }
        RouteOutcome::Deliver {
            event: current,
            destinations,
        }
    }

    /// Applies the failure policy; `None` means go on with the next filter.
    fn on_failure(&self, event: &Arc<Event>, plugin: &str, error: &FilterError) -> Option<RouteOutcome> {
        tracing::warn!(route = %self.name, event = %event.id, plugin, kind = error.kind(), policy = ?self.policy, "filter failed: {error}");
        match &self.policy {
            FailurePolicy::Drop => Some(RouteOutcome::Dropped {
                reason: format!("filter failed: {error}"),
            }),
            FailurePolicy::Pass => None,
            FailurePolicy::SendTo(destination) => {
                let mut failed = (**event).clone();
                failed.set_metadata(ERROR_METADATA, error.to_string());
                failed.set_metadata(FAILED_FILTER_METADATA, plugin);
                failed.destinations = vec![destination.clone()];
                Some(RouteOutcome::Deliver {
                    event: Arc::new(failed),
                    destinations: vec![destination.as_str().into()],
                })
            }
        }
    }
}
