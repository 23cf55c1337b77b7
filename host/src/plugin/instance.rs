//! One instance of a plugin: its store, its `init`, and one call per event.
//!
//! Every guest entry (instantiation, `init`, `filter`) runs under the instance's
//! deadline and memory cap, and on a fiber that yields to the async executor at every
//! epoch tick, so even a guest spinning in a loop holds a reactor thread for at most a
//! tick at a time, and for at most its deadline in all.

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::{Store, UpdateDeadline};

use super::bindings;
use super::compiled::Plugin;
use super::engine::EngineInner;
use super::error::{FilterError, Misbehavior};
use super::guest::GuestState;
use crate::event::{Changes, Event, ParsedEvent, Verdict};

/// The error the epoch callback raises when a call passes its deadline.
#[derive(Debug, thiserror::Error)]
#[error("deadline exceeded")]
struct DeadlineExceeded;

/// The limits one instance runs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    pub(crate) timeout: Duration,
    pub(crate) memory: u64,
}

/// A live, initialised instance.
pub(crate) struct Instance {
    store: Store<GuestState>,
    bindings: bindings::Filter,
    plugin: Arc<str>,
    engine: Arc<EngineInner>,
    timeout: Duration,
    /// Events this instance has processed.
    pub(crate) calls: u32,
}

impl Instance {
    /// Instantiates the plugin and runs its `init` with `config`.
    pub(crate) async fn start(plugin: &Plugin, config: &str, limits: Limits) -> Result<Instance, FilterError> {
        let name = plugin.name_arc();
        let mut store = Store::new(&plugin.engine.engine, GuestState::new(name.clone(), limits.memory));
        store.limiter(|state| &mut state.limits);
        store.epoch_deadline_callback(|context| {
            if Instant::now() >= context.data().deadline {
                return Err(DeadlineExceeded.into());
            }
            Ok(UpdateDeadline::YieldCustom(1, Box::pin(tokio::task::yield_now())))
        });

        let _running = plugin.engine.ticker.call();
        begin(&mut store, limits.timeout);
        let instantiated = plugin.pre.instantiate_async(&mut store).await;
        let bindings = match instantiated {
            Ok(bindings) => bindings,
            Err(error) => {
                if let Some(limit) = error.downcast_ref::<wasmtime::PoolConcurrencyLimitError>() {
                    return Err(FilterError::Host {
                        plugin: name.to_string(),
                        message: format!("{limit}; raise plugins.max_instances or lower the filters' max_instances"),
                    });
                }
                let misbehavior = describe(&mut store, &error, limits.timeout);
                store.data_mut().end_call();
                return Err(FilterError::Init {
                    plugin: name.to_string(),
                    message: misbehavior.to_string(),
                });
            }
        };

        begin(&mut store, limits.timeout);
        let init = bindings.call_init(&mut store, config).await;
        let init = init.map_err(|error| describe(&mut store, &error, limits.timeout));
        store.data_mut().end_call();
        match init {
            Ok(Ok(())) => Ok(Instance {
                store,
                bindings,
                plugin: name,
                engine: plugin.engine.clone(),
                timeout: limits.timeout,
                calls: 0,
            }),
            Ok(Err(message)) => Err(FilterError::Init {
                plugin: name.to_string(),
                message: format!("the plugin refused its config: {message}"),
            }),
            Err(misbehavior) => Err(FilterError::Init {
                plugin: name.to_string(),
                message: misbehavior.to_string(),
            }),
        }
    }

    /// Runs `filter` on one event. On [`FilterError::Misbehaved`] the instance must be
    /// discarded: its state is unknown. Returns the predictions too when the guest had
    /// them parsed, for applying its changes.
    pub(crate) async fn call(&mut self, event: &Arc<Event>) -> Result<(Verdict, Option<ParsedEvent>), FilterError> {
        self.calls += 1;
        let _running = self.engine.ticker.call();
        begin(&mut self.store, self.timeout);
        let handle = self
            .store
            .data_mut()
            .lend(event.clone())
            .map_err(|error| FilterError::Host {
                plugin: self.plugin.to_string(),
                message: format!("{error:#}"),
            })?;
        let borrowed = wasmtime::component::Resource::new_borrow(handle.rep());
        let result = self.bindings.call_filter(&mut self.store, borrowed).await;
        let parsed = self.store.data_mut().take_back(handle);
        let outcome = match result {
            Ok(Ok(verdict)) => Ok((from_wit(verdict), parsed)),
            Ok(Err(message)) => Err(FilterError::Declined {
                plugin: self.plugin.to_string(),
                message,
            }),
            Err(error) => Err(FilterError::Misbehaved {
                plugin: self.plugin.to_string(),
                misbehavior: describe(&mut self.store, &error, self.timeout),
            }),
        };
        self.store.data_mut().end_call();
        outcome
    }
}

/// Arms the deadline for the next guest entry.
fn begin(store: &mut Store<GuestState>, timeout: Duration) {
    store.data_mut().begin_call(Instant::now() + timeout);
    // Call back at the next tick; the callback checks the wall-clock deadline and
    // yields, so the guest gives way every tick until the deadline.
    store.set_epoch_deadline(1);
}

/// Names what went wrong in a failed guest entry.
fn describe(store: &mut Store<GuestState>, error: &wasmtime::Error, timeout: Duration) -> Misbehavior {
    if error.downcast_ref::<DeadlineExceeded>().is_some() {
        return Misbehavior::Deadline(timeout);
    }
    let state = store.data_mut();
    if let Some(requested) = state.limits.denied {
        return Misbehavior::Memory {
            limit: state.limits.memory_cap,
            requested,
        };
    }
    let mut message = error.root_cause().to_string();
    // A Rust panic prints its message to stderr just before it aborts: that message is
    // what the plugin author needs, more than "unreachable executed".
    if let Some(said) = state.stderr.drain() {
        tracing::warn!(plugin = %state.plugin, stream = "stderr", "{said}");
        // "thread '..' panicked at src/lib.rs:10:5:" then the message: keep both.
        let mut first: String = said
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .take(2)
            .collect::<Vec<_>>()
            .join(" ");
        if first.len() > 500 {
            first.truncate(first.floor_char_boundary(500));
        }
        message = format!("{message} (the plugin wrote: {first})");
    }
    Misbehavior::Trap(message)
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
