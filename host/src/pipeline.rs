//! One event through one route's filter chain, and the route's failure policy.
//!
//! The chain is a list of [`Step`]s: a plugin's [`Filter`] in Weir, anything that
//! answers like one in the unit tests below, which exercise every failure policy
//! without WebAssembly.

use std::sync::Arc;

use async_trait::async_trait;

use crate::config::{AttachmentRule, FailurePolicy};
use crate::event::{Attachment, Event};
use crate::plugin::{Filter, FilterError, Outcome};

/// Metadata key set on an event sent to a failure destination: what went wrong.
pub const ERROR_METADATA: &str = "weir-error";
/// Metadata key set on an event sent to a failure destination: which filter failed.
pub const FAILED_FILTER_METADATA: &str = "weir-failed-filter";

/// One step of a chain: something that keeps, changes or drops an event, or fails.
#[async_trait]
pub trait Step: Send + Sync + 'static {
    /// The name the failure policy reports (the plugin's).
    fn name(&self) -> &str;

    /// Runs on one event.
    async fn run(&self, event: &Arc<Event>) -> Result<Outcome, FilterError>;

    /// Whether a log line of `bytes` bytes that this step caused may be written: a
    /// plugin failing on every event must not flood the log (see [`crate::plugin::log`]).
    fn may_log(&self, _bytes: usize) -> bool {
        true
    }
}

#[async_trait]
impl Step for Filter {
    fn name(&self) -> &str {
        self.plugin().name()
    }

    async fn run(&self, event: &Arc<Event>) -> Result<Outcome, FilterError> {
        Filter::run(self, event).await
    }

    fn may_log(&self, bytes: usize) -> bool {
        self.plugin().log().admit(bytes)
    }
}

/// One place in a route's chain.
pub enum Stage<S = Filter> {
    /// A step, ready.
    Ready(Arc<S>),
    /// The plugin's file was removed: events meet the route's failure policy here until
    /// it comes back.
    Missing {
        /// The plugin's name.
        plugin: String,
    },
}

/// A destination as a route sees it: its name (the one shared by every event bound for
/// it) and which attachments its requests carry.
#[derive(Debug, Clone)]
pub struct Target {
    /// The destination's name.
    pub name: Arc<str>,
    /// Which attachments it sends.
    pub attachments: AttachmentRule,
}

/// A route: its chain, in order, and where survivors go.
pub struct Route<S = Filter> {
    /// The route's name.
    pub name: Arc<str>,
    /// The chain, in order.
    pub stages: Vec<Stage<S>>,
    /// The destinations events start out bound for, in order.
    pub destinations: Vec<Target>,
    /// What happens when a step fails.
    pub policy: FailurePolicy,
    /// The failure policy's destination (`send_to`), when it has one.
    pub failure_target: Option<Target>,
}

/// What a route decided about an event.
#[derive(Debug)]
pub enum RouteOutcome {
    /// Deliver this event to its destinations (`event.destinations`), carrying only
    /// the attachments one of them sends.
    Deliver(Arc<Event>),
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
    /// A filter had no instance free in time: nothing is stored, and the sender is
    /// asked to send the event again. Backpressure, never a verdict on the event.
    Busy {
        /// What was busy.
        reason: String,
    },
}

impl<S: Step> Route<S> {
    /// Runs the event through the chain. It starts out bound for the route's
    /// destinations that the sender `chosen` (where the route lets it choose), or for
    /// all of them when it chose none, under the names the route shares with every
    /// event it routes: the only place an event's destinations are set.
    pub async fn process(&self, mut event: Event, chosen: &[String]) -> RouteOutcome {
        event.destinations = self
            .destinations
            .iter()
            .filter(|target| chosen.is_empty() || chosen.iter().any(|name| **name == *target.name))
            .map(|target| target.name.clone().into())
            .collect();
        let mut current = Arc::new(event);
        for stage in &self.stages {
            let step = match stage {
                Stage::Ready(step) => step,
                Stage::Missing { plugin } => {
                    let error = FilterError::Host {
                        plugin: plugin.clone(),
                        message: "its file was removed from the plugin folder; put it back to resume".into(),
                    };
                    match self.on_failure(&current, plugin, &error, true) {
                        Some(outcome) => return outcome,
                        None => continue,
                    }
                }
            };
            match step.run(&current).await {
                Ok(Outcome::Kept) => {}
                Ok(Outcome::Modified(changed)) => current = changed,
                Ok(Outcome::Dropped(reason)) => {
                    tracing::debug!(route = %self.name, event = %current.id, plugin = step.name(), %reason, "dropped by filter");
                    return RouteOutcome::Dropped {
                        reason: format!("{}: {reason}", step.name()),
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
                Err(FilterError::Busy { plugin, message }) => {
                    return RouteOutcome::Busy {
                        reason: format!("{plugin}: {message}"),
                    };
                }
                Err(error) => match self.on_failure(&current, step.name(), &error, step.may_log(128)) {
                    Some(outcome) => return outcome,
                    None => continue,
                },
            }
        }
        if current.destinations.is_empty() {
            return RouteOutcome::Dropped {
                reason: "the filters left no destination".into(),
            };
        }
        RouteOutcome::Deliver(self.without_unsent_attachments(current))
    }

    /// Applies the failure policy; `None` means go on with the next step.
    fn on_failure(&self, event: &Arc<Event>, plugin: &str, error: &FilterError, log: bool) -> Option<RouteOutcome> {
        if log {
            tracing::warn!(route = %self.name, event = %event.id, plugin, kind = error.kind(), policy = ?self.policy, "filter failed: {error}");
        }
        match (&self.policy, &self.failure_target) {
            (FailurePolicy::Pass, _) => None,
            (FailurePolicy::SendTo(_), Some(target)) => {
                let mut failed = (**event).clone();
                failed.set_metadata(ERROR_METADATA, error.to_string());
                failed.set_metadata(FAILED_FILTER_METADATA, plugin);
                failed.destinations = vec![target.name.clone().into()];
                Some(RouteOutcome::Deliver(self.without_unsent_attachments(Arc::new(failed))))
            }
            (FailurePolicy::Drop | FailurePolicy::SendTo(_), _) => Some(RouteOutcome::Dropped {
                reason: format!("filter failed: {error}"),
            }),
        }
    }

    /// The event without the attachments none of its destinations sends: they are
    /// neither kept in memory nor written to the store.
    fn without_unsent_attachments(&self, event: Arc<Event>) -> Arc<Event> {
        let rule = self
            .destinations
            .iter()
            .chain(&self.failure_target)
            .filter(|target| event.destinations.iter().any(|name| name.0 == target.name))
            .fold(AttachmentRule::NONE, |rule, target| rule.or(target.attachments));
        let sent = |attachment: &Attachment| rule.carries(&attachment.name);
        if event.attachments.iter().all(sent) {
            return event;
        }
        let mut event = Arc::unwrap_or_clone(event);
        event.attachments.retain(sent);
        Arc::new(event)
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::plugin::Misbehavior;

    /// A step that answers from a script.
    enum Fake {
        Keep,
        Tag(&'static str),
        Drop,
        Decline { retryable: bool },
        Trap,
    }

    #[async_trait]
    impl Step for Fake {
        fn name(&self) -> &str {
            "fake"
        }

        async fn run(&self, event: &Arc<Event>) -> Result<Outcome, FilterError> {
            let plugin = "fake".to_string();
            match self {
                Fake::Keep => Ok(Outcome::Kept),
                Fake::Tag(value) => {
                    let mut tagged = (**event).clone();
                    tagged.set_metadata("tag", *value);
                    Ok(Outcome::Modified(Arc::new(tagged)))
                }
                Fake::Drop => Ok(Outcome::Dropped("not wanted".into())),
                Fake::Decline { retryable } => Err(FilterError::Declined {
                    plugin,
                    message: "cannot".into(),
                    retryable: *retryable,
                }),
                Fake::Trap => Err(FilterError::Misbehaved {
                    plugin,
                    misbehavior: Misbehavior::Trap("boom".into()),
                }),
            }
        }
    }

    fn target(name: &str, attachments: AttachmentRule) -> Target {
        Target {
            name: name.into(),
            attachments,
        }
    }

    const IMAGE_ONLY: AttachmentRule = AttachmentRule {
        image: true,
        masks: false,
        others: false,
    };

    fn route(steps: Vec<Stage<Fake>>, policy: FailurePolicy) -> Route<Fake> {
        let failure_target = match &policy {
            FailurePolicy::SendTo(name) => Some(target(name, AttachmentRule::NONE)),
            _ => None,
        };
        Route {
            name: "cameras".into(),
            stages: steps,
            destinations: vec![target("json", AttachmentRule::NONE), target("archive", IMAGE_ONLY)],
            policy,
            failure_target,
        }
    }

    fn ready(step: Fake) -> Stage<Fake> {
        Stage::Ready(Arc::new(step))
    }

    fn event() -> Event {
        let mut event = Event::new("e1", "cameras", r#"{"predictions":[]}"#);
        for name in ["image.jpeg", "mask_0000.png"] {
            event.attachments.push(Attachment {
                name: name.into(),
                content_type: "image/png".into(),
                data: Bytes::from_static(b"x"),
            });
        }
        event
    }

    fn delivered(outcome: RouteOutcome) -> Arc<Event> {
        match outcome {
            RouteOutcome::Deliver(event) => event,
            other => panic!("expected a delivery, got {other:?}"),
        }
    }

    fn names(event: &Event) -> Vec<&str> {
        event.destinations.iter().map(|d| &**d).collect()
    }

    #[tokio::test]
    async fn a_kept_event_goes_to_the_routes_destinations_with_only_the_attachments_they_send() {
        let outcome = route(vec![ready(Fake::Keep), ready(Fake::Tag("a"))], FailurePolicy::Drop)
            .process(event(), &[])
            .await;
        let event = delivered(outcome);
        assert_eq!(names(&event), ["json", "archive"]);
        assert_eq!(event.metadata_value("tag"), Some("a"));
        let attachments: Vec<&str> = event.attachments.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(attachments, ["image.jpeg"]);
    }

    #[tokio::test]
    async fn an_event_the_sender_bound_for_some_destinations_goes_to_those_only() {
        let event = delivered(
            route(vec![ready(Fake::Keep)], FailurePolicy::Drop)
                .process(event(), &["archive".to_string()])
                .await,
        );
        assert_eq!(names(&event), ["archive"]);
    }

    #[tokio::test]
    async fn each_failure_policy_does_what_it_says() {
        for failure in [Fake::Trap, Fake::Decline { retryable: false }] {
            let dropped = route(vec![ready(failure), ready(Fake::Tag("after"))], FailurePolicy::Drop)
                .process(event(), &[])
                .await;
            assert!(
                matches!(dropped, RouteOutcome::Dropped { reason } if reason.starts_with("filter failed: plugin fake"))
            );
        }

        let passed = route(vec![ready(Fake::Trap), ready(Fake::Tag("after"))], FailurePolicy::Pass)
            .process(event(), &[])
            .await;
        assert_eq!(delivered(passed).metadata_value("tag"), Some("after"));

        let sent = route(
            vec![ready(Fake::Tag("before")), ready(Fake::Trap), ready(Fake::Tag("after"))],
            FailurePolicy::SendTo("failed".into()),
        )
        .process(event(), &[])
        .await;
        let sent = delivered(sent);
        assert_eq!(names(&sent), ["failed"]);
        assert_eq!(sent.metadata_value("tag"), Some("before"));
        assert_eq!(sent.metadata_value(FAILED_FILTER_METADATA), Some("fake"));
        assert!(sent.metadata_value(ERROR_METADATA).unwrap().contains("boom"));
        assert!(sent.attachments.is_empty());
    }

    #[tokio::test]
    async fn a_retryable_error_asks_for_the_event_later_whatever_the_policy() {
        for policy in [
            FailurePolicy::Drop,
            FailurePolicy::Pass,
            FailurePolicy::SendTo("failed".into()),
        ] {
            let outcome = route(vec![ready(Fake::Decline { retryable: true })], policy)
                .process(event(), &[])
                .await;
            assert!(matches!(outcome, RouteOutcome::Later { .. }), "{outcome:?}");
        }
    }

    #[tokio::test]
    async fn a_missing_plugin_meets_the_policy_and_a_drop_stops_the_chain() {
        let missing = Stage::Missing { plugin: "gone".into() };
        let outcome = route(vec![missing, ready(Fake::Tag("after"))], FailurePolicy::Pass)
            .process(event(), &[])
            .await;
        assert_eq!(delivered(outcome).metadata_value("tag"), Some("after"));

        let outcome = route(vec![ready(Fake::Drop), ready(Fake::Tag("after"))], FailurePolicy::Pass)
            .process(event(), &[])
            .await;
        assert!(matches!(outcome, RouteOutcome::Dropped { reason } if reason == "fake: not wanted"));
    }
}
