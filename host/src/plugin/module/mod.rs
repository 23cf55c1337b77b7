//! Filters as plain WebAssembly modules: JSON in, JSON out (`wit/core-module.md`).
//!
//! Languages that cannot produce a component (WAT, AssemblyScript, Zig, Go, C without
//! wit-bindgen) take part through a handful of exports: the host writes the event as
//! JSON into a buffer the module allocates, calls `weir_filter`, and reads the verdict
//! back as JSON. The JSON of each contract version is the contract crate's
//! ([`weir_contract::wire`]); this module runs it.
//!
//! The sandbox is the components' one ([`super::sandbox`]): the same deadline, memory
//! cap, captured output and log quota, and WASI (preview 1 here) closed to files,
//! environment and network.
//!
//! # Layout
//!
//! - this file: checking a module's exports, instances and calls.
//! - [`imports`]: what a module may import (log, attachments, state, WASI).

mod imports;

use std::sync::Arc;
use std::time::Duration;

use wasmtime::{Engine, Linker, Memory, Module, Store, TypedFunc, ValType};
use wasmtime_wasi::p1::WasiP1Ctx;
use weir_contract::wire::{self, WireError};
use weir_contract::{Version, Working};

pub(crate) use self::imports::add_to_linker;
use super::error::{FilterError, Misbehavior};
use super::outcome::{self, Outcome};
use super::sandbox::{self, Limits, Sandbox, Sandboxed, instantiation_failed};
use super::state::StateHandle;
use crate::event::Event;

/// Where plugin authors read the contract; every load error about it points there.
pub const ABI_DOC: &str = "wit/core-module.md";

/// The data of one module instance's store.
pub(crate) struct ModuleState {
    sandbox: Sandbox,
    wasi: WasiP1Ctx,
    /// The event of the call under way, for `weir.attachment`.
    event: Option<Arc<Event>>,
    /// The filter's state store.
    state: StateHandle,
}

impl Sandboxed for ModuleState {
    fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }

    fn sandbox_mut(&mut self) -> &mut Sandbox {
        &mut self.sandbox
    }
}

/// A module checked against the ABI, ready to instantiate.
pub(crate) struct ModulePre {
    pre: wasmtime::InstancePre<ModuleState>,
    has_init: bool,
    has_initialize: bool,
    has_version: bool,
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
        let has_version = func("weir_abi_version", &[], &[I32])?;
        let pre = linker.instantiate_pre(module).map_err(|error| {
            format!("{error:#}; a module may import only WASI preview 1, `weir.log`, `weir.attachment`, `weir.state_*` and `env.abort` (see {ABI_DOC})")
        })?;
        Ok(ModulePre {
            pre,
            has_init,
            has_initialize,
            has_version,
        })
    }
}

/// A live, initialised module instance.
pub(crate) struct ModuleInstance {
    store: Store<ModuleState>,
    memory: Memory,
    alloc: TypedFunc<i32, i32>,
    filter: TypedFunc<(i32, i32), i64>,
    /// The contract version the module answered `weir_abi_version` with (0.1.0 when it
    /// exports none).
    version: Version,
    /// The event's JSON, reused from call to call.
    input: Vec<u8>,
}

/// How a module entry failed: the guest misbehaved (trap, deadline, memory, broken
/// ABI).
type EntryError = Misbehavior;

fn abi(message: String) -> EntryError {
    Misbehavior::Abi(message)
}

impl ModuleInstance {
    /// Instantiates the module, runs `_initialize`, asks `weir_abi_version`, and runs
    /// `weir_init` with `config`.
    pub(crate) async fn start(
        pre: &ModulePre,
        engine: &Engine,
        sandbox: Sandbox,
        config: &str,
        limits: Limits,
        state: StateHandle,
    ) -> Result<ModuleInstance, FilterError> {
        let plugin = sandbox.log.name_arc();
        let wasi = sandbox.wasi().build_p1();
        let mut store = sandbox::store(
            engine,
            ModuleState {
                sandbox,
                wasi,
                event: None,
                state,
            },
        );
        let timeout = sandbox::start_deadline(limits.timeout);
        let init_error = |message: String| FilterError::Init {
            plugin: plugin.to_string(),
            message,
        };
        sandbox::begin(&mut store, timeout);
        let instance = match sandbox::bounded(timeout, pre.pre.instantiate_async(&mut store)).await {
            Ok(instance) => instance,
            Err(error) => return Err(instantiation_failed(&mut store, &error, &plugin, timeout)),
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
        let mut module = ModuleInstance {
            store,
            memory,
            alloc,
            filter,
            version: Version::V0_1_0,
            input: Vec::new(),
        };
        let store = &mut module.store;
        if pre.has_initialize {
            let initialize = instance
                .get_typed_func::<(), ()>(&mut *store, "_initialize")
                .map_err(|error| init_error(format!("{error:#}")))?;
            sandbox::begin(store, timeout);
            let result = sandbox::bounded(timeout, initialize.call_async(&mut *store, ())).await;
            store.data_mut().sandbox.end_call();
            if let Err(error) = result {
                return Err(init_error(sandbox::describe(store, &error, timeout).to_string()));
            }
        }
        if pre.has_version {
            let version = instance
                .get_typed_func::<(), i32>(&mut *store, "weir_abi_version")
                .map_err(|error| init_error(format!("{error:#}")))?;
            sandbox::begin(store, timeout);
            let result = sandbox::bounded(timeout, version.call_async(&mut *store, ())).await;
            store.data_mut().sandbox.end_call();
            let answered = result.map_err(|error| init_error(sandbox::describe(store, &error, timeout).to_string()))?;
            module.version = Version::from_abi(answered as u32)
                .filter(|version| version.is_served())
                .ok_or_else(|| {
                    init_error(format!(
                        "weir_abi_version returned {answered:#x}, not a contract version this Weir serves \
                         (0x100 for 0.1.0, 0x200 for 0.2.0; see {ABI_DOC})"
                    ))
                })?;
        }
        if pre.has_init {
            let init = instance
                .get_typed_func::<(i32, i32), i64>(&mut module.store, "weir_init")
                .map_err(|error| init_error(format!("{error:#}")))?;
            sandbox::begin(&mut module.store, timeout);
            let result = module.enter(init, config.as_bytes(), timeout).await;
            module.store.data_mut().sandbox.end_call();
            match result {
                Ok(0) => {}
                Ok(packed) => {
                    let message = match module.read(packed, "weir_init's message") {
                        Ok(bytes) => String::from_utf8_lossy(bytes).into_owned(),
                        Err(misbehavior) => return Err(init_error(misbehavior.to_string())),
                    };
                    return Err(init_error(format!("the plugin refused its config: {message}")));
                }
                Err(misbehavior) => return Err(init_error(misbehavior.to_string())),
            }
        }
        Ok(module)
    }

    /// The instance's linear memory, in bytes.
    pub(crate) fn memory(&self) -> u64 {
        self.store.data().sandbox.limits.memory
    }

    /// The contract version the module speaks.
    pub(crate) fn version(&self) -> Version {
        self.version
    }

    /// Runs `weir_filter` on one event. On [`FilterError::Misbehaved`] the instance
    /// must be discarded.
    pub(crate) async fn call(
        &mut self,
        event: &Arc<Event>,
        plugin: &str,
        timeout: Duration,
    ) -> Result<Outcome, FilterError> {
        let mut input = std::mem::take(&mut self.input);
        input.clear();
        wire::write_event(event, self.version, &mut input);
        self.store.data_mut().event = Some(event.clone());
        sandbox::begin(&mut self.store, timeout);
        let result = self.enter(self.filter.clone(), &input, timeout).await;
        let answer = result.and_then(|packed| {
            let bytes = self.read(packed, "the verdict")?;
            match wire::read_verdict(bytes, self.version) {
                Ok(answer) => Ok(Ok(answer)),
                Err(WireError::Abi(message)) => Err(abi(message)),
                Err(WireError::Invalid(invalid)) => Ok(Err(invalid)),
            }
        });
        self.input = input;
        let state = self.store.data_mut();
        state.event = None;
        state.sandbox.end_call();
        match answer {
            Err(misbehavior) => Err(FilterError::Misbehaved {
                plugin: plugin.to_string(),
                misbehavior,
            }),
            Ok(answer) => outcome::decide(
                answer,
                || Working::new(event.clone(), weir_contract::Limits::default()),
                plugin,
            ),
        }
    }

    /// Copies `input` into a buffer from `weir_alloc` and calls `entry` on it.
    async fn enter(
        &mut self,
        entry: TypedFunc<(i32, i32), i64>,
        input: &[u8],
        timeout: Duration,
    ) -> Result<i64, EntryError> {
        let Ok(len) = i32::try_from(input.len()) else {
            return Err(abi(format!(
                "the input of {} bytes does not fit a 32-bit memory",
                input.len()
            )));
        };
        let ptr = match sandbox::bounded(timeout, self.alloc.call_async(&mut self.store, len)).await {
            Ok(ptr) => ptr,
            Err(error) => return Err(sandbox::describe(&mut self.store, &error, timeout)),
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
        match sandbox::bounded(timeout, entry.call_async(&mut self.store, (ptr, len))).await {
            Ok(packed) => Ok(packed),
            Err(error) => Err(sandbox::describe(&mut self.store, &error, timeout)),
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
