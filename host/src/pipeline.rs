//! One event through one route's filter chain, and the route's failure policy.

use std::sync::Arc;

use crate::config::FailurePolicy;
use crate::event::Event;
use crate::plugin::{Filter, FilterError, Outcome};

/// Metadata key set on an event sent to a failure destination: what went wrong.
pub const ERROR_METADATA: &str = "weir-error";
/// Metadata key set on an event sent to a failure destination: which filter failed.
pub const FAILED_FILTER_METADATA: &str = "weir-failed-filter";

/// A route: its filters, in order, and where survivors go.
pub struct Route {
    /// The route's name.
    pub name: Arc<str>,
    /// The filters, in order.
    pub filters: Vec<Arc<Filter>>,
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
}

impl Route {
    /// Runs the event through the chain.
    pub async fn process(&self, mut event: Event) -> RouteOutcome {
        event.destinations = self.destinations.iter().map(|d| d.to_string()).collect();
        let mut current = Arc::new(event);
        for filter in &self.filters {
            match filter.run(&current).await {
                Ok(Outcome::Kept) => {}
                Ok(Outcome::Modified(changed)) => current = changed,
                Ok(Outcome::Dropped(reason)) => {
                    tracing::debug!(route = %self.name, event = %current.id, plugin = filter.plugin().name(), %reason, "dropped by filter");
                    return RouteOutcome::Dropped {
                        reason: format!("{}: {reason}", filter.plugin().name()),
                    };
                }
                Err(error) => match self.on_failure(&current, filter, &error) {
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
    fn on_failure(&self, event: &Arc<Event>, filter: &Filter, error: &FilterError) -> Option<RouteOutcome> {
        let plugin = filter.plugin().name();
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
