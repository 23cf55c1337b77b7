//! One instance of a plugin, whatever its kind: its store, its `init`, and one call per
//! event.
//!
//! Every guest entry (instantiation, `init`, `filter`) runs under the instance's
//! deadline and memory cap ([`super::sandbox`]), and on a fiber that yields to the
//! async executor at every epoch tick, so even a guest spinning in a loop holds a
//! reactor thread for at most a tick at a time, and for at most its deadline in all.

use std::sync::Arc;
use std::time::Duration;

use wasmtime::Store;

use super::compiled::{Code, Plugin};
use super::component::ComponentInstance;
use super::engine::EngineInner;
use super::error::FilterError;
use super::filter::Outcome;
use super::module::ModuleInstance;
use super::sandbox::{self, Sandboxed};
use super::state::StateHandle;
use crate::event::Event;

/// The limits one instance runs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    pub(crate) timeout: Duration,
    pub(crate) memory: u64,
}

/// A live, initialised instance.
pub(crate) struct Instance {
    guest: Guest,
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
        let guest = match &plugin.code {
            Code::Component(pre) => Guest::Component(
                ComponentInstance::start(pre, engine, name.clone(), config, limits, state.clone()).await?,
            ),
            Code::Module(pre) => {
                let module = ModuleInstance::start(pre, engine, name.clone(), config, limits, state.clone()).await?;
                plugin.learned_version(module.version());
                Guest::Module(module)
            }
        };
        Ok(Instance {
            guest,
            plugin: name,
            engine: plugin.engine.clone(),
            timeout: limits.timeout,
            calls: 0,
        })
    }

    /// Runs `filter` on one event, its edits applied. On [`FilterError::Misbehaved`]
    /// the instance must be discarded: its state is unknown.
    pub(crate) async fn call(&mut self, event: &Arc<Event>) -> Result<Outcome, FilterError> {
        self.calls += 1;
        let _running = self.engine.ticker.call();
        match &mut self.guest {
            Guest::Component(component) => component.call(event, &self.plugin, self.timeout).await,
            Guest::Module(module) => module.call(event, &self.plugin, self.timeout).await,
        }
    }
}

/// The error of a failed instantiation: the pool was full (the host's limit), or the
/// guest's start-up misbehaved.
pub(crate) fn instantiation_failed<T: Sandboxed>(
    store: &mut Store<T>,
    error: &wasmtime::Error,
    plugin: &str,
    timeout: Duration,
) -> FilterError {
    if let Some(limit) = error.downcast_ref::<wasmtime::PoolConcurrencyLimitError>() {
        return FilterError::Host {
            plugin: plugin.to_string(),
            message: format!("{limit}; raise plugins.max_instances or lower the filters' max_instances"),
        };
    }
    let misbehavior = sandbox::describe(store, error, timeout);
    store.data_mut().sandbox_mut().end_call();
    FilterError::Init {
        plugin: plugin.to_string(),
        message: misbehavior.to_string(),
    }
}
