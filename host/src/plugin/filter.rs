//! A filter: a plugin with its route config and limits, running events on a pool of
//! warm instances.
//!
//! Instances are expensive to make relative to a call (an `init` parses the config),
//! so they are reused across events: taken from the idle pool, returned after the
//! call, recycled after [`FilterSettings::max_calls`] calls so a slow leak in a guest
//! cannot grow forever, and thrown away at once after any misbehaviour. A route that
//! wants no state carried between events asks for [`InstancePolicy::Fresh`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::Semaphore;

use super::compiled::Plugin;
use super::error::{FilterError, LoadError};
use super::instance::Instance;
pub use super::outcome::Outcome;
use super::sandbox::Limits;
use super::state::StateHandle;
use crate::event::Event;

pub use crate::config::limits::{
    DEFAULT_FILTER_MEMORY as DEFAULT_MEMORY, DEFAULT_FILTER_TIMEOUT as DEFAULT_TIMEOUT, DEFAULT_MAX_CALLS,
};

/// Growth of an instance's memory past its size after `init` at which it is retired
/// after the call rather than reused, so that one big event does not leave its memory
/// held by a warm instance.
pub const RETIRE_GROWTH: u64 = 16 << 20;

/// How often an event waiting for a slot in the engine's pool tries again.
const POOL_RETRY: Duration = Duration::from_millis(10);

/// Whether instances are reused across events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InstancePolicy {
    /// Reuse warm instances (the default): fastest.
    #[default]
    Reuse,
    /// A fresh instance for every event: no state carried from one event to the next.
    Fresh,
}

/// How one filter of a route runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterSettings {
    /// The filter's config, as JSON text.
    pub config: String,
    /// Deadline of one call.
    pub timeout: Duration,
    /// Memory cap of one instance, in bytes.
    pub memory: u64,
    /// Reuse or fresh instances.
    pub policy: InstancePolicy,
    /// Events one instance serves before it is replaced.
    pub max_calls: u32,
    /// Instances that may run at once (and stay warm).
    pub max_instances: usize,
    /// The filter's state store (shared by its instances).
    pub state: StateHandle,
}

impl Default for FilterSettings {
    fn default() -> Self {
        FilterSettings {
            config: "{}".into(),
            timeout: DEFAULT_TIMEOUT,
            memory: DEFAULT_MEMORY,
            policy: InstancePolicy::Reuse,
            max_calls: DEFAULT_MAX_CALLS,
            max_instances: crate::config::limits::default_filter_instances(),
            state: StateHandle::detached(),
        }
    }
}

/// Counters of one filter, for the admin API and metrics.
#[derive(Debug, Default)]
pub struct FilterStats {
    /// Events processed.
    pub calls: AtomicU64,
    /// Events dropped.
    pub drops: AtomicU64,
    /// Events the guest declined or misbehaved on.
    pub errors: AtomicU64,
    /// Instances created.
    pub instances: AtomicU64,
    /// The largest linear memory an instance had after a call, in bytes.
    pub peak_memory: AtomicU64,
    /// Instances retired because their memory grew past [`RETIRE_GROWTH`].
    pub retired: AtomicU64,
    /// Time spent in the guest's calls, in nanoseconds (for the mean call time).
    pub call_nanos: AtomicU64,
}

/// The counters of several filters added up: a plugin's across the routes using it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct FilterTotals {
    /// Events processed.
    pub calls: u64,
    /// Events dropped.
    pub drops: u64,
    /// Events the guest declined or misbehaved on.
    pub errors: u64,
    /// Instances created.
    pub instances_created: u64,
    /// Log lines the plugin caused that its log budget suppressed ([`super::log`]).
    pub log_suppressed: u64,
    /// Time spent in the guest's calls, in nanoseconds.
    pub call_nanos: u64,
}

impl FilterTotals {
    /// The mean time of a call, in microseconds (0 before the first call).
    pub fn mean_call_us(&self) -> f64 {
        if self.calls == 0 {
            return 0.0;
        }
        (self.call_nanos as f64 / self.calls as f64 / 1e3 * 10.0).round() / 10.0
    }

    /// Adds one filter's counters.
    pub fn add(&mut self, stats: &FilterStats) {
        self.call_nanos += stats.call_nanos.load(Ordering::Relaxed);
        self.calls += stats.calls.load(Ordering::Relaxed);
        self.drops += stats.drops.load(Ordering::Relaxed);
        self.errors += stats.errors.load(Ordering::Relaxed);
        self.instances_created += stats.instances.load(Ordering::Relaxed);
    }

    /// Adds one filter's counters and its plugin's log budget.
    pub fn add_filter(&mut self, filter: &Filter) {
        self.add(filter.stats());
        // One budget per plugin, shared by every filter of it.
        self.log_suppressed = self.log_suppressed.max(filter.plugin().log().suppressed());
    }
}

/// A plugin, configured for one place in a route's chain.
pub struct Filter {
    plugin: Arc<Plugin>,
    settings: FilterSettings,
    limits: Limits,
    idle: Mutex<Vec<Instance>>,
    permits: Semaphore,
    stats: FilterStats,
}

impl Filter {
    /// Configures a plugin and proves the config by starting one instance (kept warm
    /// for the first event): a config the plugin refuses is an error now, not at the
    /// first event.
    pub async fn new(plugin: Arc<Plugin>, settings: FilterSettings) -> Result<Filter, LoadError> {
        let limits = Limits {
            timeout: settings.timeout,
            memory: settings.memory,
        };
        let first = Instance::start(&plugin, &settings.config, limits, &settings.state)
            .await
            .map_err(|error| LoadError::Init {
                path: plugin.source().to_string(),
                error,
            })?;
        let filter = Filter {
            permits: Semaphore::new(settings.max_instances.max(1)),
            idle: Mutex::new(Vec::new()),
            stats: FilterStats::default(),
            plugin,
            settings,
            limits,
        };
        filter.stats.instances.fetch_add(1, Ordering::Relaxed);
        if filter.settings.policy == InstancePolicy::Reuse {
            filter.idle().push(first);
        }
        Ok(filter)
    }

    /// The plugin.
    pub fn plugin(&self) -> &Arc<Plugin> {
        &self.plugin
    }

    /// The settings.
    pub fn settings(&self) -> &FilterSettings {
        &self.settings
    }

    /// The counters.
    pub fn stats(&self) -> &FilterStats {
        &self.stats
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<Instance>> {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A new instance; while the engine's pool has no slot free (the instances of a
    /// config being replaced still hold theirs), tried again until `deadline`.
    async fn start_by(&self, deadline: tokio::time::Instant) -> Result<Instance, FilterError> {
        loop {
            self.stats.instances.fetch_add(1, Ordering::Relaxed);
            match Instance::start(&self.plugin, &self.settings.config, self.limits, &self.settings.state).await {
                Err(FilterError::Busy { .. }) if tokio::time::Instant::now() + POOL_RETRY < deadline => {
                    self.stats.instances.fetch_sub(1, Ordering::Relaxed);
                    tokio::time::sleep(POOL_RETRY).await;
                }
                started => return started,
            }
        }
    }

    /// Makes one more instance ready ahead of events (instantiation and `init`), so the
    /// first events after a start or reload do not pay for it. The instance joins the
    /// idle pool if there is room, and is discarded otherwise.
    pub async fn prewarm(&self) -> Result<(), FilterError> {
        let instance = Instance::start(&self.plugin, &self.settings.config, self.limits, &self.settings.state).await?;
        self.stats.instances.fetch_add(1, Ordering::Relaxed);
        let mut idle = self.idle();
        if self.settings.policy == InstancePolicy::Reuse && idle.len() < self.settings.max_instances {
            idle.push(instance);
        }
        Ok(())
    }

    /// Runs the filter on one event.
    ///
    /// Waits at most `[plugins] instance_wait` for an instance (all of the filter's are
    /// busy, or the engine's pool is full); past it the answer is
    /// [`FilterError::Busy`]: backpressure, never a verdict on the event.
    pub async fn run(&self, event: &Arc<Event>) -> Result<Outcome, FilterError> {
        let deadline = tokio::time::Instant::now() + self.plugin.engine.instance_wait;
        let busy = |message: String| FilterError::Busy {
            plugin: self.plugin.name().to_string(),
            message,
        };
        // Bounded concurrency per filter: waiting here is the backpressure when more
        // events than instances arrive at once.
        let _permit = match tokio::time::timeout_at(deadline, self.permits.acquire()).await {
            Ok(Ok(permit)) => permit,
            Ok(Err(_)) => return Err(busy("the filter is shutting down".into())),
            Err(_) => {
                return Err(busy(format!(
                    "all {} of its instances stayed busy for {} ms (the filter's max_instances, plugins.instance_wait)",
                    self.settings.max_instances,
                    self.plugin.engine.instance_wait.as_millis()
                )));
            }
        };
        self.stats.calls.fetch_add(1, Ordering::Relaxed);
        let warm = match self.settings.policy {
            InstancePolicy::Reuse => self.idle().pop(),
            InstancePolicy::Fresh => None,
        };
        let mut instance = match warm {
            Some(instance) => instance,
            None => self.start_by(deadline).await.inspect_err(|_| {
                self.stats.errors.fetch_add(1, Ordering::Relaxed);
            })?,
        };
        let started = std::time::Instant::now();
        let result = instance.call(event).await;
        let took = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.stats.call_nanos.fetch_add(took, Ordering::Relaxed);
        self.stats.peak_memory.fetch_max(instance.memory(), Ordering::Relaxed);
        let healthy = !matches!(result, Err(FilterError::Misbehaved { .. }));
        // An instance that grew for one big event would hold that memory for good:
        // retired, its memory goes back to the system with its pool slot.
        let spiked = instance.grew(RETIRE_GROWTH);
        if spiked {
            self.stats.retired.fetch_add(1, Ordering::Relaxed);
        }
        if healthy
            && !spiked
            && self.settings.policy == InstancePolicy::Reuse
            && instance.calls < self.settings.max_calls
        {
            self.idle().push(instance);
        }
        let outcome = result;
        match &outcome {
            Ok(Outcome::Dropped(_)) => {
                self.stats.drops.fetch_add(1, Ordering::Relaxed);
            }
            Err(_) => {
                self.stats.errors.fetch_add(1, Ordering::Relaxed);
            }
            Ok(_) => {}
        }
        outcome
    }
}
