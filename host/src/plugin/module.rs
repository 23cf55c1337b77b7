//! The core-module ABI: filters as plain WebAssembly modules, JSON in and JSON out.
//!
//! Languages that cannot produce a component yet (WAT, AssemblyScript, Zig, TinyGo, C
//! without wit-bindgen) take part through a handful of exports: the host writes the
//! event as JSON into a buffer the module allocates, calls `weir_filter`, and reads the
//! verdict back as JSON. The contract is written down for plugin authors in
//! `wit/core-module.md`; this file is the host's side of it.
//!
//! The sandbox is the components' one ([`super::sandbox`]): the same deadline, memory
//! cap, captured output and log quota, and WASI (preview 1 here) closed to files,
//! environment, clocks beyond the default and network.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::value::RawValue;
use wasmtime::{Caller, Engine, Linker, Memory, Module, Store, TypedFunc, ValType};
use wasmtime_wasi::p1::WasiP1Ctx;

use super::error::{FilterError, Misbehavior};
use super::sandbox::{self, LogLevel, Sandbox, Sandboxed};
use crate::event::{Changes, Event, Verdict};

/// Where plugin authors read the contract; every load error about it points there.
pub const ABI_DOC: &str = "wit/core-module.md";

/// The data of one module instance's store.
pub(crate) struct ModuleState {
    sandbox: Sandbox,
    wasi: WasiP1Ctx,
    /// The event of the call under way, for `weir.attachment`.
    event: Option<Arc<Event>>,
}

impl Sandboxed for ModuleState {
    fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }

    fn sandbox_mut(&mut self) -> &mut Sandbox {
        &mut self.sandbox
    }
}

/// Defines what a module may import: WASI preview 1 (closed), `weir.log`,
/// `weir.attachment`, and AssemblyScript's `env.abort`.
pub(crate) fn add_to_linker(linker: &mut Linker<ModuleState>) -> wasmtime::Result<()> {
    wasmtime_wasi::p1::add_to_linker_async(linker, |state| &mut state.wasi)?;
    linker.func_wrap(
        "weir",
        "log",
        |mut caller: Caller<'_, ModuleState>, level: i32, ptr: i32, len: i32| -> wasmtime::Result<()> {
            let len = (len as u32).min(sandbox::MAX_LOG_MESSAGE as u32 + 4);
            let message = String::from_utf8_lossy(guest_bytes(&mut caller, ptr, len as i32, "weir.log")?).into_owned();
            let level = match level {
                ..=0 => LogLevel::Trace,
                1 => LogLevel::Debug,
                2 => LogLevel::Info,
                3 => LogLevel::Warn,
                _ => LogLevel::Error,
            };
            caller.data_mut().sandbox.log(level, &message);
            Ok(())
        },
    )?;
    linker.func_wrap(
        "weir",
        "attachment",
        |mut caller: Caller<'_, ModuleState>,
         name_ptr: i32,
         name_len: i32,
         buf_ptr: i32,
         buf_len: i32|
         -> wasmtime::Result<i64> {
            let name = guest_bytes(&mut caller, name_ptr, name_len, "weir.attachment")?.to_vec();
            let Some(event) = caller.data().event.clone() else {
                return Ok(-1);
            };
            let Some(attachment) = std::str::from_utf8(&name).ok().and_then(|name| event.attachment(name)) else {
                return Ok(-1);
            };
            let copied = attachment.data.len().min(buf_len.max(0) as usize);
            let memory = exported_memory(&mut caller, "weir.attachment")?;
            let start = buf_ptr as u32 as usize;
            let Some(buffer) = memory.data_mut(&mut caller).get_mut(start..start + copied) else {
                wasmtime::bail!("weir.attachment: the buffer at {start} of {copied} bytes is outside the memory");
            };
            buffer.copy_from_slice(&attachment.data[..copied]);
            Ok(attachment.data.len() as i64)
        },
    )?;
    linker.func_wrap(
        "env",
        "abort",
        |mut caller: Caller<'_, ModuleState>,
         message: i32,
         file: i32,
         line: i32,
         column: i32|
         -> wasmtime::Result<()> {
            let message = assemblyscript_string(&mut caller, message);
            let file = assemblyscript_string(&mut caller, file);
            wasmtime::bail!("abort: {message} at {file}:{line}:{column}")
        },
    )?;
    Ok(())
}

fn exported_memory(caller: &mut Caller<'_, ModuleState>, what: &str) -> wasmtime::Result<Memory> {
    match caller.get_export("memory") {
        Some(wasmtime::Extern::Memory(memory)) => Ok(memory),
        _ => wasmtime::bail!("{what}: the module exports no memory"),
    }
}

/// `len` bytes of the guest's memory at `ptr`, or an error naming the import.
fn guest_bytes<'a>(
    caller: &'a mut Caller<'_, ModuleState>,
    ptr: i32,
    len: i32,
    what: &str,
) -> wasmtime::Result<&'a [u8]> {
    let memory = exported_memory(caller, what)?;
    let (start, len) = (ptr as u32 as usize, len as u32 as usize);
    match memory.data(caller).get(start..start + len) {
        Some(bytes) => Ok(bytes),
        None => wasmtime::bail!("{what}: {len} bytes at {start} are outside the memory"),
    }
}

/// An AssemblyScript string (UTF-16, its byte length in the 4 bytes before it), or
/// `?` when it cannot be read: only used to word a trap.
fn assemblyscript_string(caller: &mut Caller<'_, ModuleState>, ptr: i32) -> String {
    let Ok(memory) = exported_memory(caller, "env.abort") else {
        return "?".into();
    };
    let data = memory.data(caller);
    let start = ptr as u32 as usize;
    let Some(length) = start.checked_sub(4).and_then(|at| data.get(at..start)) else {
        return "?".into();
    };
    let length = u32::from_le_bytes(length.try_into().expect("four bytes")) as usize;
    let Some(bytes) = data.get(start..start + length.min(4096)) else {
        return "?".into();
    };
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
        .collect();
    String::from_utf16_lossy(&units)
}

/// A module checked against the ABI, ready to instantiate.
pub(crate) struct ModulePre {
    pre: wasmtime::InstancePre<ModuleState>,
    has_init: bool,
    has_initialize: bool,
}

impl ModulePre {
    /// Checks the module's exports and links its imports; the error says what is
    /// missing or mistyped.
    pub(crate) fn new(linker: &Linker<ModuleState>, module: &Module) -> Result<ModulePre, String> {
        use ValType::{I32, I64};
        let func = |name: &str, params: &[ValType], results: &[ValType]| -> Result<bool, String> {
            let shape = |types: &[ValType]| types.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
            let wanted = format!("func ({}) -> ({})", shape(params), shape(results));
            match module.get_export(name) {
                None => Ok(false),
                Some(wasmtime::ExternType::Func(ty)) => {
                    let same = |have: &mut dyn ExactSizeIterator<Item = ValType>, want: &[ValType]| {
                        have.len() == want.len() && have.zip(want).all(|(a, b)| ValType::eq(&a, b))
                    };
                    if same(&mut ty.params(), params) && same(&mut ty.results(), results) {
                        Ok(true)
                    } else {
                        let params: Vec<ValType> = ty.params().collect();
                        let results: Vec<ValType> = ty.results().collect();
                        let have = format!("func ({}) -> ({})", shape(&params), shape(&results));
                        Err(format!(
                            "the export `{name}` must be a {wanted}, it is a {have}; see {ABI_DOC}"
                        ))
                    }
                }
                Some(_) => Err(format!("the export `{name}` must be a {wanted}; see {ABI_DOC}")),
            }
        };
        let required = |name: &str, params: &[ValType], results: &[ValType]| -> Result<(), String> {
            if func(name, params, results)? {
                Ok(())
            } else {
                Err(format!("the module does not export `{name}`; see {ABI_DOC}"))
            }
        };
        if !matches!(module.get_export("memory"), Some(wasmtime::ExternType::Memory(_))) {
            return Err(format!(
                "the module does not export its memory as `memory`; see {ABI_DOC}"
            ));
        }
        required("weir_alloc", &[I32], &[I32])?;
        required("weir_filter", &[I32, I32], &[I64])?;
        let has_init = func("weir_init", &[I32, I32], &[I64])?;
        let has_initialize = func("_initialize", &[], &[])?;
        let pre = linker.instantiate_pre(module).map_err(|error| {
            format!("{error:#}; a module may import only WASI preview 1, `weir.log`, `weir.attachment` and `env.abort` (see {ABI_DOC})")
        })?;
        Ok(ModulePre {
            pre,
            has_init,
            has_initialize,
        })
    }
}

/// A live, initialised module instance.
pub(crate) struct ModuleInstance {
    store: Store<ModuleState>,
    memory: Memory,
    alloc: TypedFunc<i32, i32>,
    filter: TypedFunc<(i32, i32), i64>,
    /// The event's JSON, reused from call to call.
    input: Vec<u8>,
}

/// How a module entry failed: the guest misbehaved (trap, deadline, memory, broken
/// ABI), or the guest said no.
enum EntryError {
    Misbehaved(Misbehavior),
    Declined(String),
}

impl std::fmt::Display for EntryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EntryError::Misbehaved(misbehavior) => write!(f, "{misbehavior}"),
            EntryError::Declined(message) => write!(f, "reported an error: {message}"),
        }
    }
}

impl ModuleInstance {
    /// Instantiates the module, runs `_initialize` and `weir_init` with `config`.
    pub(crate) async fn start(
        pre: &ModulePre,
        engine: &Engine,
        plugin: Arc<str>,
        config: &str,
        memory_cap: u64,
        timeout: Duration,
    ) -> Result<ModuleInstance, FilterError> {
        let sandbox = Sandbox::new(plugin.clone(), memory_cap);
        let wasi = sandbox.wasi().build_p1();
        let mut store = sandbox::store(
            engine,
            ModuleState {
                sandbox,
                wasi,
                event: None,
            },
        );
        let init_error = |message: String| FilterError::Init {
            plugin: plugin.to_string(),
            message,
        };
        sandbox::begin(&mut store, timeout);
        let instance = match pre.pre.instantiate_async(&mut store).await {
            Ok(instance) => instance,
            Err(error) => {
                return Err(super::instance::instantiation_failed(
                    &mut store, &error, &plugin, timeout,
                ));
            }
        };
        let exports = instance
            .get_memory(&mut store, "memory")
            .ok_or_else(|| wasmtime::Error::msg("the module exports no memory"))
            .and_then(|memory| {
                let alloc = instance.get_typed_func::<i32, i32>(&mut store, "weir_alloc")?;
                let filter = instance.get_typed_func::<(i32, i32), i64>(&mut store, "weir_filter")?;
                Ok((memory, alloc, filter))
            });
        let (memory, alloc, filter) = exports.map_err(|error| init_error(format!("{error:#}")))?;
        let mut instance_state = ModuleInstance {
            store,
            memory,
            alloc,
            filter,
            input: Vec::new(),
        };
        let store = &mut instance_state.store;
        if pre.has_initialize {
            sandbox::begin(store, timeout);
            let initialize = instance.get_typed_func::<(), ()>(&mut *store, "_initialize");
            let result = match initialize {
                Ok(initialize) => initialize.call_async(&mut *store, ()).await,
                Err(error) => Err(error),
            };
            store.data_mut().sandbox.end_call();
            if let Err(error) = result {
                return Err(init_error(sandbox::describe(store, &error, timeout).to_string()));
            }
        }
        if pre.has_init {
            let init = instance
                .get_typed_func::<(i32, i32), i64>(&mut *store, "weir_init")
                .map_err(|error| init_error(format!("{error:#}")))?;
            sandbox::begin(&mut instance_state.store, timeout);
            let result = instance_state.enter(init, config.as_bytes(), timeout).await;
            instance_state.store.data_mut().sandbox.end_call();
            match result {
                Ok(0) => {}
                Ok(packed) => {
                    let message = match instance_state.read(packed, "weir_init's message") {
                        Ok(bytes) => String::from_utf8_lossy(bytes).into_owned(),
                        Err(misbehavior) => return Err(init_error(misbehavior.to_string())),
                    };
                    return Err(init_error(format!("the plugin refused its config: {message}")));
                }
                Err(misbehavior) => return Err(init_error(misbehavior.to_string())),
            }
        }
        Ok(instance_state)
    }

    /// Runs `weir_filter` on one event. On [`FilterError::Misbehaved`] the instance
    /// must be discarded.
    pub(crate) async fn call(
        &mut self,
        event: &Arc<Event>,
        plugin: &str,
        timeout: Duration,
    ) -> Result<Verdict, FilterError> {
        let mut input = std::mem::take(&mut self.input);
        input.clear();
        event_json(event, &mut input);
        self.store.data_mut().event = Some(event.clone());
        sandbox::begin(&mut self.store, timeout);
        let result = self.enter(self.filter.clone(), &input, timeout).await;
        let verdict = result.and_then(|packed| {
            let bytes = self.read(packed, "the verdict")?;
            parse_verdict(bytes)
        });
        self.input = input;
        let state = self.store.data_mut();
        state.event = None;
        state.sandbox.end_call();
        verdict.map_err(|error| match error {
            EntryError::Misbehaved(misbehavior) => FilterError::Misbehaved {
                plugin: plugin.to_string(),
                misbehavior,
            },
            EntryError::Declined(message) => FilterError::Declined {
                plugin: plugin.to_string(),
                message,
            },
        })
    }

    /// Copies `input` into a buffer from `weir_alloc` and calls `entry` on it.
    async fn enter(
        &mut self,
        entry: TypedFunc<(i32, i32), i64>,
        input: &[u8],
        timeout: Duration,
    ) -> Result<i64, EntryError> {
        let trapped = |store: &mut Store<ModuleState>, error: wasmtime::Error| {
            EntryError::Misbehaved(sandbox::describe(store, &error, timeout))
        };
        let Ok(len) = i32::try_from(input.len()) else {
            return Err(abi(format!(
                "the input of {} bytes does not fit a 32-bit memory",
                input.len()
            )));
        };
        let ptr = match self.alloc.call_async(&mut self.store, len).await {
            Ok(ptr) => ptr,
            Err(error) => return Err(trapped(&mut self.store, error)),
        };
        let start = ptr as u32 as usize;
        match self
            .memory
            .data_mut(&mut self.store)
            .get_mut(start..start + input.len())
        {
            Some(buffer) if ptr != 0 || input.is_empty() => buffer.copy_from_slice(input),
            _ => {
                return Err(abi(format!(
                    "weir_alloc({len}) returned {ptr}, which is not a buffer of {len} bytes in the memory"
                )));
            }
        }
        match entry.call_async(&mut self.store, (ptr, len)).await {
            Ok(packed) => Ok(packed),
            Err(error) => Err(trapped(&mut self.store, error)),
        }
    }

    /// The bytes a packed `(pointer << 32) | length` result names.
    fn read(&self, packed: i64, what: &str) -> Result<&[u8], EntryError> {
        let (start, len) = ((packed as u64 >> 32) as usize, packed as u32 as usize);
        self.memory.data(&self.store).get(start..start + len).ok_or_else(|| {
            abi(format!(
                "{what} at {start} of {len} bytes is outside the memory (return (pointer << 32) | length)"
            ))
        })
    }
}

fn abi(message: String) -> EntryError {
    EntryError::Misbehaved(Misbehavior::Abi(message))
}

/// The event as the module reads it:
/// `{"id","route","task","metadata":{..},"predictions":<document>,"attachments":[..],"destinations":[..]}`.
///
/// Written piece by piece: the predictions are already valid JSON and go in as they are,
/// without a parse.
pub(crate) fn event_json(event: &Event, out: &mut Vec<u8>) {
    fn string(out: &mut Vec<u8>, text: &str) {
        serde_json::to_writer(&mut *out, text).expect("writing to a Vec cannot fail");
    }
    fn number(out: &mut Vec<u8>, number: usize) {
        serde_json::to_writer(&mut *out, &number).expect("writing to a Vec cannot fail");
    }
    out.extend_from_slice(b"{\"id\":");
    string(out, &event.id);
    out.extend_from_slice(b",\"route\":");
    string(out, &event.route);
    out.extend_from_slice(b",\"task\":\"");
    out.extend_from_slice(event.task.as_str().as_bytes());
    out.extend_from_slice(b"\",\"metadata\":{");
    for (i, (key, value)) in event.metadata.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        string(out, key);
        out.push(b':');
        string(out, value);
    }
    out.extend_from_slice(b"},\"predictions\":");
    out.extend_from_slice(event.predictions.as_bytes());
    out.extend_from_slice(b",\"attachments\":[");
    for (i, attachment) in event.attachments.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"name\":");
        string(out, &attachment.name);
        out.extend_from_slice(b",\"content_type\":");
        string(out, &attachment.content_type);
        out.extend_from_slice(b",\"size\":");
        number(out, attachment.data.len());
        out.push(b'}');
    }
    out.extend_from_slice(b"],\"destinations\":[");
    for (i, destination) in event.destinations.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        string(out, destination);
    }
    out.extend_from_slice(b"]}");
}

/// A verdict as a module writes it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireVerdict<'a> {
    verdict: String,
    reason: Option<String>,
    message: Option<String>,
    #[serde(borrow)]
    predictions: Option<&'a RawValue>,
    keep_predictions: Option<Vec<u32>>,
    #[serde(default)]
    remove_attachments: Vec<String>,
    #[serde(default)]
    set_metadata: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    remove_metadata: Vec<String>,
    destinations: Option<Vec<String>>,
}

/// Reads a module's verdict; a malformed one is a broken ABI, a `"error"` one the
/// guest declining the event.
fn parse_verdict(bytes: &[u8]) -> Result<Verdict, EntryError> {
    let wire: WireVerdict<'_> = serde_json::from_slice(bytes).map_err(|error| {
        let shown = String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).into_owned();
        abi(format!("returned a verdict that is not valid ({error}): {shown:?}"))
    })?;
    let has_changes = wire.predictions.is_some()
        || wire.keep_predictions.is_some()
        || !wire.remove_attachments.is_empty()
        || !wire.set_metadata.is_empty()
        || !wire.remove_metadata.is_empty()
        || wire.destinations.is_some();
    if has_changes && wire.verdict != "modify" {
        return Err(abi(format!(
            "returned changes with the verdict {:?}; changes need \"verdict\": \"modify\"",
            wire.verdict
        )));
    }
    match wire.verdict.as_str() {
        "keep" => Ok(Verdict::Keep),
        "drop" => Ok(Verdict::Drop(
            wire.reason.unwrap_or_else(|| "dropped by the filter".into()),
        )),
        "error" => Err(EntryError::Declined(
            wire.message.unwrap_or_else(|| "the filter reported an error".into()),
        )),
        "modify" => {
            let mut set_metadata = Vec::with_capacity(wire.set_metadata.len());
            for (key, value) in wire.set_metadata {
                match value {
                    serde_json::Value::String(value) => set_metadata.push((key, value)),
                    other => {
                        return Err(abi(format!(
                            "set_metadata.{key} is {other}; metadata values are strings"
                        )));
                    }
                }
            }
            Ok(Verdict::Modify(Changes {
                predictions: wire.predictions.map(|raw| raw.get().to_string()),
                keep_predictions: wire.keep_predictions,
                remove_attachments: wire.remove_attachments,
                set_metadata,
                remove_metadata: wire.remove_metadata,
                destinations: wire.destinations,
            }))
        }
        other => Err(abi(format!(
            "returned the verdict {other:?}; it must be \"keep\", \"drop\", \"modify\" or \"error\""
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(text: &str) -> Result<Verdict, String> {
        parse_verdict(text.as_bytes()).map_err(|error| match error {
            EntryError::Misbehaved(misbehavior) => format!("misbehaved: {misbehavior}"),
            EntryError::Declined(message) => format!("declined: {message}"),
        })
    }

    #[test]
    fn verdicts_are_read_and_bad_ones_named() {
        assert_eq!(verdict(r#"{"verdict":"keep"}"#), Ok(Verdict::Keep));
        assert_eq!(
            verdict(r#"{"verdict":"drop","reason":"no people"}"#),
            Ok(Verdict::Drop("no people".into()))
        );
        assert_eq!(
            verdict(r#"{"verdict":"error","message":"bad input"}"#),
            Err("declined: bad input".into())
        );
        assert_eq!(
            verdict(
                r#"{"verdict":"modify","predictions":{"predictions":[ ]},"set_metadata":{"k":"v"},"destinations":["a"]}"#
            ),
            Ok(Verdict::Modify(Changes {
                predictions: Some(r#"{"predictions":[ ]}"#.into()),
                set_metadata: vec![("k".into(), "v".into())],
                destinations: Some(vec!["a".into()]),
                ..Changes::default()
            }))
        );
        for (bad, says) in [
            ("keep", "not valid"),
            (
                r#"{"verdict":"keep","predictions":{}}"#,
                r#"changes need "verdict": "modify""#,
            ),
            (r#"{"verdict":"pass"}"#, "must be \"keep\""),
            (r#"{"verdict":"keep","colour":"red"}"#, "unknown field `colour`"),
            (
                r#"{"verdict":"modify","set_metadata":{"n":1}}"#,
                "metadata values are strings",
            ),
        ] {
            let error = verdict(bad).unwrap_err();
            assert!(error.starts_with("misbehaved: broke the core-module ABI"), "{error}");
            assert!(error.contains(says), "{bad}: {error}");
        }
    }

    #[test]
    fn the_event_is_written_as_json_with_its_predictions_as_they_are() {
        let mut event = Event::new("e\"1", "cams", r#"{"predictions": [{"class":"a"}]}"#);
        event.set_metadata("camera", "dock-3");
        event.destinations = vec!["hook".into()];
        event.attachments.push(crate::event::Attachment {
            name: "image.jpeg".into(),
            content_type: "image/jpeg".into(),
            data: bytes::Bytes::from_static(b"1234"),
        });
        let mut out = Vec::new();
        event_json(&event, &mut out);
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains(r#""predictions":{"predictions": [{"class":"a"}]}"#),
            "{text}"
        );
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            value,
            serde_json::json!({
                "id": "e\"1",
                "route": "cams",
                "task": event.task.as_str(),
                "metadata": { "camera": "dock-3" },
                "predictions": { "predictions": [{ "class": "a" }] },
                "attachments": [{ "name": "image.jpeg", "content_type": "image/jpeg", "size": 4 }],
                "destinations": ["hook"],
            })
        );
    }
}
