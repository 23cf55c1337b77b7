//! What the host gives a guest: the event resource, logging, a closed WASI sandbox and
//! a memory cap. One [`GuestState`] is the data of one instance's store.

use std::sync::Arc;
use std::time::Instant;

use wasmtime::component::{Resource, ResourceTable};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::bindings::weir::filter::{host, types};
use super::stdio::GuestOutput;
use crate::event::{Event, ParsedEvent, TaskKind};

/// Longest guest log message kept; the rest is cut. Keeps one chatty filter from
/// flooding the log with megabyte lines.
pub const MAX_LOG_MESSAGE: usize = 2048;

/// Log messages one instance may write per call; further ones are counted and
/// reported once. A filter logging per prediction in a loop stays readable.
pub const MAX_LOGS_PER_CALL: u32 = 32;

/// The host's side of the `event` resource: the event lent to the guest for one call.
pub struct EventHandle {
    event: Arc<Event>,
    /// The predictions, parsed when the guest first asks for their list; handed on to
    /// apply the filter's changes.
    parsed: Option<ParsedEvent>,
}

/// The data of one instance's store.
pub(crate) struct GuestState {
    pub(crate) plugin: Arc<str>,
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limits: GuestLimits,
    /// When the current call must end; checked at every epoch tick.
    pub(crate) deadline: Instant,
    pub(crate) stdout: GuestOutput,
    pub(crate) stderr: GuestOutput,
    logs_left: u32,
    logs_suppressed: u32,
}

impl GuestState {
    pub(crate) fn new(plugin: Arc<str>, memory_cap: u64) -> Self {
        let (stdout, stderr) = (GuestOutput::default(), GuestOutput::default());
        // Closed by default: no preopened directories, no environment, no arguments,
        // no network (sockets are denied unless explicitly allowed), stdin empty.
        let wasi = WasiCtx::builder()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        GuestState {
            plugin,
            wasi,
            table: ResourceTable::new(),
            limits: GuestLimits::new(memory_cap),
            deadline: Instant::now(),
            stdout,
            stderr,
            logs_left: MAX_LOGS_PER_CALL,
            logs_suppressed: 0,
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

    /// Prepares for a call that must end by `deadline`.
    pub(crate) fn begin_call(&mut self, deadline: Instant) {
        self.deadline = deadline;
        self.logs_left = MAX_LOGS_PER_CALL;
        self.logs_suppressed = 0;
        self.limits.denied = None;
    }

    /// Writes what the guest printed during the call to the log.
    pub(crate) fn end_call(&mut self) {
        if let Some(text) = self.stdout.drain() {
            tracing::info!(plugin = %self.plugin, stream = "stdout", "{text}");
        }
        if let Some(text) = self.stderr.drain() {
            tracing::warn!(plugin = %self.plugin, stream = "stderr", "{text}");
        }
        if self.logs_suppressed > 0 {
            tracing::warn!(
                plugin = %self.plugin,
                suppressed = self.logs_suppressed,
                "plugin logged more than {MAX_LOGS_PER_CALL} messages in one call; the rest were dropped"
            );
        }
    }

    fn event(&self, handle: &Resource<EventHandle>) -> wasmtime::Result<&Event> {
        Ok(&self.table.get(handle)?.event)
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
        if self.logs_left == 0 {
            self.logs_suppressed += 1;
            return Ok(());
        }
        self.logs_left -= 1;
        let message = truncate(&message, MAX_LOG_MESSAGE);
        let plugin = &*self.plugin;
        match level {
            host::Level::Trace => tracing::trace!(target: "weir::plugin", plugin, "{message}"),
            host::Level::Debug => tracing::debug!(target: "weir::plugin", plugin, "{message}"),
            host::Level::Info => tracing::info!(target: "weir::plugin", plugin, "{message}"),
            host::Level::Warn => tracing::warn!(target: "weir::plugin", plugin, "{message}"),
            host::Level::Error => tracing::error!(target: "weir::plugin", plugin, "{message}"),
        }
        Ok(())
    }
}

fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
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

/// The memory cap of one instance.
///
/// A growth past the cap is refused (the guest sees `memory.grow` fail, as the spec
/// allows) and remembered, so that the trap that usually follows (Rust aborts on
/// allocation failure) is reported as a memory limit rather than a generic trap.
pub(crate) struct GuestLimits {
    pub(crate) memory_cap: u64,
    /// The size a refused growth asked for, during the current call.
    pub(crate) denied: Option<u64>,
}

impl GuestLimits {
    fn new(memory_cap: u64) -> Self {
        GuestLimits {
            memory_cap,
            denied: None,
        }
    }
}

/// Table elements one instance may have; far above what real guests use, low enough
/// that table growth cannot be a memory bomb.
const MAX_TABLE_ELEMENTS: usize = 1 << 20;

impl wasmtime::ResourceLimiter for GuestLimits {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired as u64 > self.memory_cap {
            self.denied = Some(desired as u64);
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
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
