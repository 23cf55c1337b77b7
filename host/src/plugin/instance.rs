//! One instance of a plugin: its store, its `init`, and one call per event.
//!
//! Every guest entry (instantiation, `init`, `filter`) runs under the instance's
//! deadline and memory cap ([`super::sandbox`]), and on a fiber that yields to the
//! async executor at every epoch tick, so even a guest spinning in a loop holds a
//! reactor thread for at most a tick at a time, and for at most its deadline in all.

use std::sync::Arc;
use std::time::Duration;

use wasmtime::Store;

use super::bindings;
use super::compiled::{Code, Plugin};
use super::engine::EngineInner;
use super::error::FilterError;
use super::guest::GuestState;
use super::module::ModuleInstance;
use super::sandbox::{self, Sandboxed};
use crate::event::{Changes, Event, ParsedEvent, Verdict};

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
    Component {
        store: Store<GuestState>,
        bindings: bindings::Filter,
    },
    Module(ModuleInstance),
}

impl Instance {
    /// Instantiates the plugin and runs its `init` with `config`.
    pub(crate) async fn start(plugin: &Plugin, config: &str, limits: Limits) -> Result<Instance, FilterError> {
        let name = plugin.name_arc();
        let _running = plugin.engine.ticker.call();
        let guest = match &plugin.code {
            Code::Component(pre) => {
                let (store, bindings) = start_component(pre, plugin, config, limits).await?;
                Guest::Component { store, bindings }
            }
            Code::Module(pre) => Guest::Module(
                ModuleInstance::start(
                    pre,
                    &plugin.engine.engine,
                    name.clone(),
                    config,
                    limits.memory,
                    limits.timeout,
                )
                .await?,
            ),
        };
        Ok(Instance {
            guest,
            plugin: name,
            engine: plugin.engine.clone(),
            timeout: limits.timeout,
            calls: 0,
        })
    }

    /// Runs `filter` on one event. On [`FilterError::Misbehaved`] the instance must be
    /// discarded: its state is unknown. Returns the predictions too when the guest had
    /// them parsed, for applying its changes.
    pub(crate) async fn call(&mut self, event: &Arc<Event>) -> Result<(Verdict, Option<ParsedEvent>), FilterError> {
        self.calls += 1;
        let _running = self.engine.ticker.call();
        match &mut self.guest {
            Guest::Component { store, bindings } => {
                call_component(store, bindings, event, &self.plugin, self.timeout).await
            }
            Guest::Module(module) => Ok((module.call(event, &self.plugin, self.timeout).await?, None)),
        }
    }
}

async fn start_component(
    pre: &bindings::FilterPre<GuestState>,
    plugin: &Plugin,
    config: &str,
    limits: Limits,
) -> Result<(Store<GuestState>, bindings::Filter), FilterError> {
    let name = plugin.name_arc();
    let mut store = sandbox::store(&plugin.engine.engine, GuestState::new(name.clone(), limits.memory));
    sandbox::begin(&mut store, limits.timeout);
    let bindings = match pre.instantiate_async(&mut store).await {
        Ok(bindings) => bindings,
        Err(error) => return Err(instantiation_failed(&mut store, &error, &name, limits.timeout)),
    };
    sandbox::begin(&mut store, limits.timeout);
    let init = bindings.call_init(&mut store, config).await;
    let init = init.map_err(|error| sandbox::describe(&mut store, &error, limits.timeout));
    store.data_mut().sandbox_mut().end_call();
    let message = match init {
        Ok(Ok(())) => return Ok((store, bindings)),
        Ok(Err(message)) => format!("the plugin refused its config: {message}"),
        Err(misbehavior) => misbehavior.to_string(),
    };
    Err(FilterError::Init {
        plugin: name.to_string(),
        message,
    })
}

async fn call_component(
    store: &mut Store<GuestState>,
    bindings: &bindings::Filter,
    event: &Arc<Event>,
    plugin: &str,
    timeout: Duration,
) -> Result<(Verdict, Option<ParsedEvent>), FilterError> {
    sandbox::begin(store, timeout);
    let handle = store
        .data_mut()
        .lend(event.clone())
        .map_err(|error| FilterError::Host {
            plugin: plugin.to_string(),
            message: format!("{error:#}"),
        })?;
    let borrowed = wasmtime::component::Resource::new_borrow(handle.rep());
    let result = bindings.call_filter(&mut *store, borrowed).await;
    let parsed = store.data_mut().take_back(handle);
    let outcome = match result {
        Ok(Ok(verdict)) => Ok((from_wit(verdict), parsed)),
        Ok(Err(message)) => Err(FilterError::Declined {
            plugin: plugin.to_string(),
            message,
        }),
        Err(error) => Err(FilterError::Misbehaved {
            plugin: plugin.to_string(),
            misbehavior: sandbox::describe(store, &error, timeout),
        }),
    };
    store.data_mut().sandbox_mut().end_call();
    outcome
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

fn from_wit(verdict: bindings::weir::filter::types::Verdict) -> Verdict {
    use bindings::weir::filter::types::Verdict as Wit;
    match verdict {
        Wit::Keep => Verdict::Keep,
        Wit::Drop(reason) => Verdict::Drop(reason),
        Wit::Modify(changes) => Verdict::Modify(Changes {
            predictions: changes.predictions,
            keep_predictions: changes.keep_predictions,
            remove_attachments: changes.remove_attachments,
            set_metadata: changes.set_metadata,
            remove_metadata: changes.remove_metadata,
            destinations: changes.destinations,
        }),
    }
}
