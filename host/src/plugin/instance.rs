//! One instance of a plugin, whatever its kind: its store, its `init`, and one call per
//! event.
//!
//! Every guest entry (instantiation, `init`, `filter`) runs under the instance's
//! deadline and memory cap ([`super::sandbox`]), and on a fiber that yields to the
//! async executor at every epoch tick, so even a guest spinning in a loop holds a
//! reactor thread for at most a tick at a time, and for at most its deadline in all.

use std::sync::Arc;
use std::time::Duration;

use super::compiled::{Code, Plugin};
use super::component::ComponentInstance;
use super::engine::EngineInner;
use super::error::FilterError;
use super::module::ModuleInstance;
use super::outcome::Outcome;
use super::sandbox::{Limits, Sandbox};
use super::state::StateHandle;
use crate::event::Event;

/// A live, initialised instance.
pub(crate) struct Instance {
    guest: Guest,
    /// Its linear memory after `init`.
    baseline: u64,
    plugin: Arc<str>,
    engine: Arc<EngineInner>,
    timeout: Duration,
    /// Events this instance has processed.
    pub(crate) calls: u32,
}

/// The instance proper, by kind of plugin.
enum Guest {
    Component(ComponentInstance),
    Module(ModuleInstance),
}

impl Instance {
    /// Instantiates the plugin and runs its `init` with `config`.
    pub(crate) async fn start(
        plugin: &Plugin,
        config: &str,
        limits: Limits,
        state: &StateHandle,
    ) -> Result<Instance, FilterError> {
        let name = plugin.name_arc();
        let engine = &plugin.engine.engine;
        let _running = plugin.engine.ticker.call();
        let sandbox = Sandbox::new(plugin.log().clone(), limits.memory, plugin.engine.memory.clone());
        let guest = match &plugin.code {
            Code::Component(pre) => Guest::Component(
                ComponentInstance::start(pre, engine, sandbox, config, limits, state.clone())
                    .await
                    .map_err(FilterError::bounded)?,
            ),
            Code::Module(pre) => {
                let module = ModuleInstance::start(pre, engine, sandbox, config, limits, state.clone())
                    .await
                    .map_err(FilterError::bounded)?;
                plugin.learned_version(module.version());
                Guest::Module(module)
            }
        };
        let mut instance = Instance {
            guest,
            baseline: 0,
            plugin: name,
            engine: plugin.engine.clone(),
            timeout: limits.timeout,
            calls: 0,
        };
        instance.baseline = instance.memory();
        Ok(instance)
    }

    /// Whether the instance's memory grew past its size after `init` by more than
    /// `growth`: a spike (one huge event) that a reused instance would hold for good.
    pub(crate) fn grew(&self, growth: u64) -> bool {
        self.memory() > self.baseline.saturating_add(growth)
    }

    /// The instance's linear memory, in bytes.
    pub(crate) fn memory(&self) -> u64 {
        match &self.guest {
            Guest::Component(component) => component.memory(),
            Guest::Module(module) => module.memory(),
        }
    }

    /// Runs `filter` on one event, its edits applied. On [`FilterError::Misbehaved`]
    /// the instance must be discarded: its state is unknown.
    pub(crate) async fn call(&mut self, event: &Arc<Event>) -> Result<Outcome, FilterError> {
        self.calls += 1;
        let _running = self.engine.ticker.call();
        let result = match &mut self.guest {
            Guest::Component(component) => component.call(event, &self.plugin, self.timeout).await,
            Guest::Module(module) => module.call(event, &self.plugin, self.timeout).await,
        };
        // What the guest said travels into answers, logs and records: bounded here,
        // where every call's outcome passes.
        result.map(Outcome::bounded).map_err(FilterError::bounded)
    }
}
