//! The one wasmtime engine every plugin runs on, and the epoch ticker that bounds
//! every call.
//!
//! One engine for the process: compiled code, the pooling allocator's slots and the
//! epoch counter are all per engine, so sharing it is what makes instantiation cheap
//! and lets one ticker thread serve every deadline.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::{self, JoinHandle, Thread};
use std::time::Duration;

use wasmtime::component::Linker;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use super::cache::CodeCache;
use super::component::{self, guest::GuestState};
use super::module::{self, ModuleState};
use super::sandbox::{EPOCH_TICK, MemoryBudget};

pub use crate::config::limits::MAX_INSTANCE_MEMORY;
use crate::config::limits::{DEFAULT_INSTANCE_WAIT, DEFAULT_MAX_PLUGIN_SIZE, DEFAULT_MEMORY_BUDGET};

/// Bytes of each freed linear memory kept resident and reset in place rather than
/// returned to the kernel: a Rust filter's stack and heap, with room.
pub const KEEP_RESIDENT: usize = 2 << 20;

/// Engine-wide settings.
#[derive(Debug, Clone)]
pub struct EngineSettings {
    /// Where compiled code is cached; `None` disables the cache.
    pub cache_dir: Option<PathBuf>,
    /// How many instances the filters of one config may hold at once. The pool has
    /// twice as many slots: during a reload the instances of the config being replaced
    /// and of its replacement live side by side.
    pub max_instances: u32,
    /// Largest plugin file compiled, in bytes.
    pub max_plugin_size: u64,
    /// Memory of all instances together, in bytes.
    pub memory_budget: u64,
    /// Longest an event waits for a free instance.
    pub instance_wait: Duration,
    /// Compile on one thread at a lower priority, leaving the cores to the routes
    /// serving events (`weir run`). Off for the commands that only compile and run a
    /// plugin (`weir check`, `weir filter`), where nothing else waits for the cores.
    pub compile_in_background: bool,
}

impl Default for EngineSettings {
    fn default() -> Self {
        EngineSettings {
            cache_dir: None,
            max_instances: 128,
            max_plugin_size: DEFAULT_MAX_PLUGIN_SIZE,
            memory_budget: DEFAULT_MEMORY_BUDGET,
            instance_wait: DEFAULT_INSTANCE_WAIT,
            compile_in_background: false,
        }
    }
}

impl EngineSettings {
    /// The settings `[plugins]` asks for.
    pub fn from_config(plugins: &crate::config::PluginsConfig) -> Self {
        EngineSettings {
            cache_dir: Some(plugins.cache_dir()),
            max_instances: plugins.max_instances,
            max_plugin_size: plugins.max_plugin_size.0,
            memory_budget: plugins.memory_budget.0,
            instance_wait: plugins.instance_wait.0,
            compile_in_background: false,
        }
    }
}

/// The plugin engine: compiles plugins and owns what their instances share.
///
/// Cloning is cheap; every clone and every [`super::Plugin`] keeps the engine and its
/// ticker alive.
#[derive(Clone)]
pub struct PluginEngine {
    pub(crate) inner: Arc<EngineInner>,
}

pub(crate) struct EngineInner {
    pub(crate) engine: Engine,
    pub(crate) linker: Linker<GuestState>,
    /// What core modules of the JSON ABI may import.
    pub(crate) module_linker: wasmtime::Linker<ModuleState>,
    pub(crate) cache: CodeCache,
    pub(crate) ticker: EpochTicker,
    /// The memory of all instances together.
    pub(crate) memory: Arc<MemoryBudget>,
    pub(crate) max_plugin_size: u64,
    pub(crate) instance_wait: Duration,
}

impl PluginEngine {
    /// Builds the engine and starts its epoch ticker.
    pub fn new(settings: &EngineSettings) -> wasmtime::Result<Self> {
        let slots = settings.max_instances.max(1).saturating_mul(2);
        let mut pool = PoolingAllocationConfig::new();
        pool.total_component_instances(slots)
            // A Rust component has a handful of core instances; a JavaScript engine
            // built with componentize-js a few more; a core-module filter has one.
            .total_core_instances(slots * 16)
            .total_memories(slots + slots / 2)
            .total_tables(slots * 4)
            .total_stacks(slots)
            .max_memory_size(MAX_INSTANCE_MEMORY as usize)
            // Interpreted-language components have large instance metadata.
            .max_component_instance_size(4 << 20)
            .max_core_instance_size(4 << 20)
            .table_elements(1 << 20)
            // Instances come and go all the time (recycling, fresh-per-event filters,
            // misbehaving guests). Resetting a freed slot with madvise means page faults
            // and TLB shootdowns on its next use; instead keep the pages a filter
            // typically dirties resident and reset only those (found with PAGEMAP_SCAN
            // where the kernel has it). Decommits are not batched: a batch would hold the
            // memory of that many freed instances (memory bombs included) at once.
            .linear_memory_keep_resident(KEEP_RESIDENT)
            .table_keep_resident(64 << 10)
            .async_stack_keep_resident(128 << 10)
            .pagemap_scan(wasmtime::Enabled::Auto)
            .decommit_batch_size(1);

        let mut config = Config::new();
        config
            .epoch_interruption(true)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool))
            .wasm_component_model(true)
            .max_wasm_stack(1 << 20)
            .async_stack_size(2 << 20)
            // One compiler thread when serving: compiling a plugin (at a reload, say)
            // must leave the other cores to the routes serving events. See
            // `cache::compile`.
            .parallel_compilation(!settings.compile_in_background);
        // `WEIR_WASM_PROFILER=perfmap` (or `jitdump`) names guest functions for `perf`.
        match std::env::var("WEIR_WASM_PROFILER").as_deref() {
            Ok("perfmap") => {
                config.profiler(wasmtime::ProfilingStrategy::PerfMap);
            }
            Ok("jitdump") => {
                config.profiler(wasmtime::ProfilingStrategy::JitDump);
            }
            _ => {}
        }
        let engine = Engine::new(&config)?;

        let mut linker = Linker::new(&engine);
        component::add_to_linker(&mut linker)?;

        let mut module_linker = wasmtime::Linker::new(&engine);
        module::add_to_linker(&mut module_linker)?;

        let cache = CodeCache::new(settings.cache_dir.clone(), &engine, settings.compile_in_background);
        let ticker = EpochTicker::spawn(engine.clone())?;
        Ok(PluginEngine {
            inner: Arc::new(EngineInner {
                engine,
                linker,
                module_linker,
                cache,
                ticker,
                memory: Arc::new(MemoryBudget::new(settings.memory_budget)),
                max_plugin_size: settings.max_plugin_size,
                instance_wait: settings.instance_wait,
            }),
        })
    }

    /// The compiled-code cache.
    pub fn cache(&self) -> &CodeCache {
        &self.inner.cache
    }

    /// Bytes of linear memory all live instances hold, against the memory budget.
    pub fn memory_in_use(&self) -> u64 {
        self.inner.memory.used()
    }
}

/// Advances the engine's epoch every [`EPOCH_TICK`] while any guest call is running,
/// and sleeps otherwise, so an idle Weir does not wake a thousand times a second.
///
/// Owned by [`EngineInner`]: dropping the last plugin and engine handle stops and joins
/// the thread.
pub(crate) struct EpochTicker {
    shared: Arc<TickerShared>,
    thread: Option<JoinHandle<()>>,
}

struct TickerShared {
    active_calls: AtomicUsize,
    parked: AtomicBool,
    stop: AtomicBool,
}

impl EpochTicker {
    fn spawn(engine: Engine) -> std::io::Result<Self> {
        let shared = Arc::new(TickerShared {
            active_calls: AtomicUsize::new(0),
            parked: AtomicBool::new(false),
            stop: AtomicBool::new(false),
        });
        let state = shared.clone();
        let thread = thread::Builder::new().name("weir-epoch".into()).spawn(move || {
            while !state.stop.load(Ordering::SeqCst) {
                // Announce the park before checking for calls: a call that starts
                // after the check sees `parked` and unparks us (see `CallGuard`).
                state.parked.store(true, Ordering::SeqCst);
                if state.active_calls.load(Ordering::SeqCst) == 0 {
                    thread::park_timeout(Duration::from_secs(1));
                }
                state.parked.store(false, Ordering::SeqCst);
                thread::sleep(EPOCH_TICK);
                engine.increment_epoch();
            }
        })?;
        Ok(EpochTicker {
            shared,
            thread: Some(thread),
        })
    }

    fn thread(&self) -> &Thread {
        self.thread.as_ref().expect("ticker thread lives until drop").thread()
    }

    /// Marks a guest call as running until the guard drops.
    pub(crate) fn call(&self) -> CallGuard<'_> {
        self.shared.active_calls.fetch_add(1, Ordering::SeqCst);
        if self.shared.parked.load(Ordering::SeqCst) {
            self.thread().unpark();
        }
        CallGuard { ticker: self }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}

/// A running guest call, as far as the ticker is concerned.
pub(crate) struct CallGuard<'a> {
    ticker: &'a EpochTicker,
}

impl Drop for CallGuard<'_> {
    fn drop(&mut self) {
        self.ticker.shared.active_calls.fetch_sub(1, Ordering::SeqCst);
    }
}
