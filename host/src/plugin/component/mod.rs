//! Filters as WebAssembly components of the `weir:filter` world, in every served
//! version of the contract.
//!
//! A component says which contract it was built against by the version of the
//! `weir:filter/types` interface it imports; Weir links it to that version's bindings.
//! Both versions share the lent event ([`guest::Lent`], the contract's `Working`), the
//! sandbox and the state store.
//!
//! # Layout
//!
//! - [`bindings`]: the generated code of each version's world, and nothing else.
//! - [`guest`]: the store data of an instance: sandbox, WASI, the lent event, state.
//! - [`v0_1`], [`v0_2`]: each version's host interfaces.

pub(crate) mod bindings;
pub(crate) mod guest;
mod v0_1;
mod v0_2;

use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::{Component, HasSelf, Linker, Resource};
use wasmtime::{Engine, Store};
use weir_contract::{Answer, Version, Working};

use self::guest::GuestState;
use super::error::FilterError;
use super::outcome::{self, Outcome};
use super::sandbox::{self, Limits, Sandbox, Sandboxed, instantiation_failed};
use super::state::StateHandle;
use crate::event::Event;

/// The interface whose version tells a component's contract.
const TYPES_INTERFACE: &str = "weir:filter/types@";

/// Links what components of every served version may import: WASI preview 2 (closed
/// by each instance's context) and both versions of `weir:filter`.
pub(crate) fn add_to_linker(linker: &mut Linker<GuestState>) -> wasmtime::Result<()> {
    wasmtime_wasi::p2::add_to_linker_async(linker)?;
    bindings::v0_1::Filter::add_to_linker::<GuestState, HasSelf<GuestState>>(linker, |state| state)?;
    bindings::v0_2::Filter::add_to_linker::<GuestState, HasSelf<GuestState>>(linker, |state| state)?;
    Ok(())
}

/// A component linked against its contract version, ready to instantiate.
pub(crate) enum ComponentPre {
    V0_1(bindings::v0_1::FilterPre<GuestState>),
    V0_2(bindings::v0_2::FilterPre<GuestState>),
}

impl ComponentPre {
    /// Finds the component's contract version and links it; the error says what does
    /// not fit.
    pub(crate) fn new(
        engine: &Engine,
        linker: &Linker<GuestState>,
        component: &Component,
    ) -> Result<(ComponentPre, Version), String> {
        let ty = component.component_type();
        let imports: Vec<&str> = ty.imports(engine).map(|(name, _)| name).collect();
        let version = imports
            .iter()
            .find_map(|name| Version::parse(name.strip_prefix(TYPES_INTERFACE)?))
            .ok_or_else(|| {
                let imported = if imports.is_empty() {
                    "nothing".to_string()
                } else {
                    imports.join(", ")
                };
                format!(
                    "it imports {imported}, and no weir:filter/types interface: build it against the weir:filter world (wit/filter.wit)"
                )
            })?;
        if !version.is_served() {
            let served: Vec<String> = Version::SERVED.iter().map(ToString::to_string).collect();
            return Err(format!(
                "it was built against weir:filter@{version}, which this Weir does not serve (it serves {})",
                served.join(", ")
            ));
        }
        let pre = linker
            .instantiate_pre(component)
            .map_err(|error| format!("{error:#}"))?;
        let linked = if version.minor == 1 {
            bindings::v0_1::FilterPre::new(pre).map(ComponentPre::V0_1)
        } else {
            bindings::v0_2::FilterPre::new(pre).map(ComponentPre::V0_2)
        };
        linked.map(|pre| (pre, version)).map_err(|error| format!("{error:#}"))
    }
}

enum Bindings {
    V0_1(bindings::v0_1::Filter),
    V0_2(bindings::v0_2::Filter),
}

/// A live, initialised component instance.
pub(crate) struct ComponentInstance {
    store: Store<GuestState>,
    bindings: Bindings,
}

impl ComponentInstance {
    /// Instantiates the component and runs its `init` with `config`.
    pub(crate) async fn start(
        pre: &ComponentPre,
        engine: &Engine,
        sandbox: Sandbox,
        config: &str,
        limits: Limits,
        state: StateHandle,
    ) -> Result<ComponentInstance, FilterError> {
        let plugin = sandbox.log.name_arc();
        let mut store = sandbox::store(engine, GuestState::new(sandbox, state));
        let deadline = sandbox::start_deadline(limits.timeout);
        sandbox::begin(&mut store, deadline);
        let instantiated = match pre {
            ComponentPre::V0_1(pre) => sandbox::bounded(deadline, pre.instantiate_async(&mut store))
                .await
                .map(Bindings::V0_1),
            ComponentPre::V0_2(pre) => sandbox::bounded(deadline, pre.instantiate_async(&mut store))
                .await
                .map(Bindings::V0_2),
        };
        let bindings = match instantiated {
            Ok(bindings) => bindings,
            Err(error) => return Err(instantiation_failed(&mut store, &error, &plugin, deadline)),
        };
        sandbox::begin(&mut store, deadline);
        let refused = match &bindings {
            Bindings::V0_1(filter) => sandbox::bounded(deadline, filter.call_init(&mut store, config))
                .await
                .map(|r| r.err()),
            Bindings::V0_2(filter) => sandbox::bounded(deadline, filter.call_init(&mut store, config))
                .await
                .map(|r| r.err().map(|error| error.message)),
        };
        let refused = refused.map_err(|error| sandbox::describe(&mut store, &error, deadline));
        store.data_mut().sandbox_mut().end_call();
        let message = match refused {
            Ok(None) => return Ok(ComponentInstance { store, bindings }),
            Ok(Some(message)) => format!("the plugin refused its config: {message}"),
            Err(misbehavior) => misbehavior.to_string(),
        };
        Err(FilterError::Init {
            plugin: plugin.to_string(),
            message,
        })
    }

    /// The instance's linear memory, in bytes.
    pub(crate) fn memory(&self) -> u64 {
        self.store.data().sandbox.limits.memory
    }

    /// Runs `filter` on one event. On [`FilterError::Misbehaved`] the instance must be
    /// discarded: its state is unknown.
    pub(crate) async fn call(
        &mut self,
        event: &Arc<Event>,
        plugin: &str,
        timeout: Duration,
    ) -> Result<Outcome, FilterError> {
        let store = &mut self.store;
        sandbox::begin(store, timeout);
        let handle = store
            .data_mut()
            .lend(event.clone())
            .map_err(|error| FilterError::Host {
                plugin: plugin.to_string(),
                message: format!("{error:#}"),
            })?;
        let borrowed = || Resource::new_borrow(handle.rep());
        // What the guest answered, in contract terms (0.1's changes record as edits).
        let answered = match &self.bindings {
            Bindings::V0_1(filter) => sandbox::bounded(timeout, filter.call_filter(&mut *store, borrowed()))
                .await
                .map(|result| {
                    use bindings::v0_1::weir::filter::types::Verdict as V;
                    match result {
                        Ok(V::Keep) => Ok(Answer::Keep(Vec::new())),
                        Ok(V::Drop(reason)) => Ok(Answer::Drop(reason)),
                        Ok(V::Modify(changes)) => v0_1::changes(changes).into_edits().map(Answer::Keep),
                        Err(message) => Ok(Answer::Error(weir_contract::FilterError::new(message))),
                    }
                }),
            Bindings::V0_2(filter) => sandbox::bounded(timeout, filter.call_filter(&mut *store, borrowed()))
                .await
                .map(|result| {
                    use bindings::v0_2::weir::filter::types::Verdict as V;
                    match result {
                        Ok(V::Keep) => Ok(Answer::Keep(Vec::new())),
                        Ok(V::Drop(reason)) => Ok(Answer::Drop(reason)),
                        Err(error) => Ok(Answer::Error(weir_contract::FilterError {
                            message: error.message,
                            retryable: error.retryable,
                        })),
                    }
                }),
        };
        // The edits made during the call, lent back (none when the guest made none).
        let working = store.data_mut().take_back(handle);
        let outcome = match answered {
            Ok(answer) => outcome::decide(
                answer,
                || working.unwrap_or_else(|| Working::new(event.clone(), weir_contract::Limits::default())),
                plugin,
            ),
            Err(error) => Err(FilterError::Misbehaved {
                plugin: plugin.to_string(),
                misbehavior: sandbox::describe(store, &error, timeout),
            }),
        };
        store.data_mut().sandbox_mut().end_call();
        outcome
    }
}
