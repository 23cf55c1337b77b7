//! What the host gives a component guest: the event resource, logging and a closed
//! WASI sandbox. One [`GuestState`] is the data of one component instance's store.

use std::sync::Arc;

use wasmtime::component::{Resource, ResourceTable};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::bindings::weir::filter::{host, types};
use super::sandbox::{LogLevel, Sandbox, Sandboxed};
use crate::event::{Event, ParsedEvent, TaskKind};

/// The host's side of the `event` resource: the event lent to the guest for one call.
pub struct EventHandle {
    event: Arc<Event>,
    /// The predictions, parsed when the guest first asks for their list; handed on to
    /// apply the filter's changes.
    parsed: Option<ParsedEvent>,
}

/// The data of one component instance's store.
pub(crate) struct GuestState {
    sandbox: Sandbox,
    wasi: WasiCtx,
    table: ResourceTable,
}

impl GuestState {
    pub(crate) fn new(plugin: Arc<str>, memory_cap: u64) -> Self {
        let sandbox = Sandbox::new(plugin, memory_cap);
        let wasi = sandbox.wasi().build();
        GuestState {
            sandbox,
            wasi,
            table: ResourceTable::new(),
        }
    }

    /// Lends an event to the guest for one call.
    pub(crate) fn lend(&mut self, event: Arc<Event>) -> wasmtime::Result<Resource<EventHandle>> {
        Ok(self.table.push(EventHandle { event, parsed: None })?)
    }

    /// Takes the event back after the call, with its predictions if they were parsed.
    pub(crate) fn take_back(&mut self, handle: Resource<EventHandle>) -> Option<ParsedEvent> {
        // The handle was only ever borrowed by the guest, so it is still in the table.
        self.table.delete(handle).ok().and_then(|handle| handle.parsed)
    }

    fn event(&self, handle: &Resource<EventHandle>) -> wasmtime::Result<&Event> {
        Ok(&self.table.get(handle)?.event)
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

impl host::Host for GuestState {
    fn log(&mut self, level: host::Level, message: String) -> wasmtime::Result<()> {
        let level = match level {
            host::Level::Trace => LogLevel::Trace,
            host::Level::Debug => LogLevel::Debug,
            host::Level::Info => LogLevel::Info,
            host::Level::Warn => LogLevel::Warn,
            host::Level::Error => LogLevel::Error,
        };
        self.sandbox.log(level, &message);
        Ok(())
    }
}

impl types::Host for GuestState {}

impl types::HostEvent for GuestState {
    fn id(&mut self, handle: Resource<EventHandle>) -> wasmtime::Result<String> {
        Ok(self.event(&handle)?.id.clone())
    }

    fn route(&mut self, handle: Resource<EventHandle>) -> wasmtime::Result<String> {
        Ok(self.event(&handle)?.route.clone())
    }

    fn task(&mut self, handle: Resource<EventHandle>) -> wasmtime::Result<types::TaskKind> {
        Ok(match self.event(&handle)?.task {
            TaskKind::ObjectDetection => types::TaskKind::ObjectDetection,
            TaskKind::Classification => types::TaskKind::Classification,
            TaskKind::MultilabelClassification => types::TaskKind::MultilabelClassification,
            TaskKind::InstanceSegmentation => types::TaskKind::InstanceSegmentation,
            TaskKind::SemanticSegmentation => types::TaskKind::SemanticSegmentation,
            TaskKind::Other => types::TaskKind::Other,
        })
    }

    fn metadata(&mut self, handle: Resource<EventHandle>) -> wasmtime::Result<Vec<(String, String)>> {
        Ok(self.event(&handle)?.metadata.clone())
    }

    fn predictions(&mut self, handle: Resource<EventHandle>) -> wasmtime::Result<String> {
        Ok(self.event(&handle)?.predictions.clone())
    }

    fn prediction_list(&mut self, handle: Resource<EventHandle>) -> wasmtime::Result<Vec<types::Prediction>> {
        let lent = self.table.get_mut(&handle)?;
        let event = lent.event.clone();
        let parsed = lent.parsed.get_or_insert_with(|| ParsedEvent::parse(event));
        let Some(doc) = parsed.document() else {
            return Ok(Vec::new());
        };
        Ok(doc
            .listed()
            .iter()
            .map(|p| types::Prediction {
                class: p.class.to_string(),
                confidence: p.confidence,
                mask: p.mask.map(str::to_string),
            })
            .collect())
    }

    fn attachments(&mut self, handle: Resource<EventHandle>) -> wasmtime::Result<Vec<types::Attachment>> {
        Ok(self
            .event(&handle)?
            .attachments
            .iter()
            .map(|a| types::Attachment {
                name: a.name.clone(),
                content_type: a.content_type.clone(),
                size: a.data.len() as u64,
            })
            .collect())
    }

    fn attachment_bytes(&mut self, handle: Resource<EventHandle>, name: String) -> wasmtime::Result<Option<Vec<u8>>> {
        Ok(self.event(&handle)?.attachment(&name).map(|a| a.data.to_vec()))
    }

    fn destinations(&mut self, handle: Resource<EventHandle>) -> wasmtime::Result<Vec<String>> {
        Ok(self.event(&handle)?.destinations.clone())
    }

    fn drop(&mut self, handle: Resource<EventHandle>) -> wasmtime::Result<()> {
        self.table.delete(handle)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use types::HostEvent;

    #[test]
    fn the_parse_behind_the_prediction_list_is_handed_back_for_the_changes() {
        let mut state = GuestState::new("t".into(), 1 << 20);
        let event = Arc::new(Event::new(
            "e",
            "r",
            r#"{"predictions":[{"class":"a","confidence":0.9},{"class":"b","confidence":0.2}]}"#,
        ));
        let handle = state.lend(event.clone()).unwrap();
        let list = state.prediction_list(Resource::new_borrow(handle.rep())).unwrap();
        assert_eq!(list.iter().map(|p| p.class.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        let parsed = state.take_back(handle).expect("the parse is handed back");
        assert!(Arc::ptr_eq(parsed.event(), &event));
        assert_eq!(parsed.document().map(|doc| doc.listed().len()), Some(2));

        // A filter that never asked for the list caused no parse.
        let handle = state.lend(event).unwrap();
        assert!(state.take_back(handle).is_none());
    }
}
