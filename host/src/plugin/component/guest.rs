//! What the host gives a component: the lent event, logging, the state store and a
//! closed WASI sandbox. One [`GuestState`] is the data of one component instance's
//! store, whichever contract version the component speaks ([`super::v0_1`],
//! [`super::v0_2`] implement the versions' interfaces on it).

use std::sync::Arc;

use wasmtime::component::{Resource, ResourceTable};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use weir_contract::{Limits, Working};

use crate::event::Event;
use crate::plugin::sandbox::{Sandbox, Sandboxed};
use crate::plugin::state::StateHandle;

/// The host's side of the `event` resource: the event lent to the guest for one call,
/// with the edits it made so far.
pub struct Lent {
    pub(crate) working: Working,
}

/// The data of one component instance's store.
pub(crate) struct GuestState {
    pub(crate) sandbox: Sandbox,
    wasi: WasiCtx,
    pub(crate) table: ResourceTable,
    /// The filter's state store.
    pub(crate) state: StateHandle,
}

impl GuestState {
    pub(crate) fn new(sandbox: Sandbox, state: StateHandle) -> Self {
        let wasi = sandbox.wasi().build();
        GuestState {
            sandbox,
            wasi,
            table: ResourceTable::new(),
            state,
        }
    }

    /// Lends an event to the guest for one call.
    pub(crate) fn lend(&mut self, event: Arc<Event>) -> wasmtime::Result<Resource<Lent>> {
        Ok(self.table.push(Lent {
            working: Working::new(event, Limits::default()),
        })?)
    }

    /// Takes the event back after the call, with the edits the guest made.
    pub(crate) fn take_back(&mut self, handle: Resource<Lent>) -> Option<Working> {
        // The handle was only ever borrowed by the guest, so it is still in the table.
        self.table.delete(handle).ok().map(|lent| lent.working)
    }

    /// The lent event of a handle.
    pub(crate) fn lent(&mut self, handle: &Resource<Lent>) -> wasmtime::Result<&mut Working> {
        Ok(&mut self.table.get_mut(handle)?.working)
    }

    /// The event as edited so far.
    pub(crate) fn event(&self, handle: &Resource<Lent>) -> wasmtime::Result<&Event> {
        Ok(self.table.get(handle)?.working.event())
    }
}

impl Sandboxed for GuestState {
    fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }

    fn sandbox_mut(&mut self) -> &mut Sandbox {
        &mut self.sandbox
    }
}

impl WasiView for GuestState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}
