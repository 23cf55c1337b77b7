//! What every instance runs under, whatever kind of WebAssembly it is (a component of
//! the `weir:filter` world or a core module of the JSON ABI): the deadline of the
//! current call, the memory cap, the guest's captured output, and its log quota.
//!
//! Both kinds of store data embed one [`Sandbox`] and expose it through [`Sandboxed`],
//! so the deadline, the memory cap and the naming of misbehaviour are written once.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use wasmtime::{Engine, Store, UpdateDeadline};
use wasmtime_wasi::WasiCtxBuilder;

use super::error::{FilterError, Misbehavior};
use super::log::PluginLog;
use super::stdio::GuestOutput;

/// How often the epoch advances while a call runs (the engine's ticker): a call
/// overruns its deadline by at most about one tick; the default deadline is tens of
/// milliseconds, so 1 ms keeps the overrun small without measurable cost.
pub const EPOCH_TICK: Duration = Duration::from_millis(1);

/// Longest guest log message kept; the rest is cut. Keeps one chatty filter from
/// flooding the log with megabyte lines.
pub const MAX_LOG_MESSAGE: usize = 2048;

/// The shortest deadline of an instance's start (instantiation, `_initialize`,
/// `init`). A start runs once per instance, not per event, and interpreters' starts
/// (Python's, JavaScript's) take tens of milliseconds that a machine busy with
/// inference can stretch past a filter's 50 ms; it is still bounded.
pub const MIN_START_DEADLINE: Duration = Duration::from_secs(1);

/// The deadline of an instance's start for a filter whose calls have `timeout`.
pub fn start_deadline(timeout: Duration) -> Duration {
    timeout.max(MIN_START_DEADLINE)
}

/// Log messages one instance may write per call; further ones are counted and
/// reported once. A filter logging per prediction in a loop stays readable.
pub const MAX_LOGS_PER_CALL: u32 = 32;

/// Table elements one instance may have; far above what real guests use, low enough
/// that table growth cannot be a memory bomb.
const MAX_TABLE_ELEMENTS: usize = 1 << 20;

/// The error the epoch callback raises when a call passes its deadline.
#[derive(Debug, thiserror::Error)]
#[error("deadline exceeded")]
struct DeadlineExceeded;

/// How loud a guest's log message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

/// The limits one instance runs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    pub(crate) timeout: Duration,
    pub(crate) memory: u64,
}

/// The per-instance bookkeeping of the sandbox.
pub(crate) struct Sandbox {
    /// The plugin's name and log budget, shared by its instances.
    pub(crate) log: Arc<PluginLog>,
    pub(crate) limits: GuestLimits,
    /// When the current call must end; checked at every epoch tick.
    pub(crate) deadline: Instant,
    pub(crate) stdout: GuestOutput,
    pub(crate) stderr: GuestOutput,
    logs_left: u32,
    logs_suppressed: u32,
}

/// Store data that carries a [`Sandbox`].
pub(crate) trait Sandboxed: Send + 'static {
    fn sandbox(&self) -> &Sandbox;
    fn sandbox_mut(&mut self) -> &mut Sandbox;
}

impl Sandbox {
    pub(crate) fn new(log: Arc<PluginLog>, memory_cap: u64, budget: Arc<MemoryBudget>) -> Self {
        Sandbox {
            log,
            limits: GuestLimits {
                memory_cap,
                denied: None,
                memory: 0,
                budget,
            },
            deadline: Instant::now(),
            stdout: GuestOutput::default(),
            stderr: GuestOutput::default(),
            logs_left: MAX_LOGS_PER_CALL,
            logs_suppressed: 0,
        }
    }

    /// A WASI context builder closed by default: no preopened directories, no
    /// environment, no arguments, no network (sockets are denied unless explicitly
    /// allowed), stdin empty; stdout and stderr captured for the log.
    pub(crate) fn wasi(&self) -> WasiCtxBuilder {
        let mut builder = WasiCtxBuilder::new();
        builder
            .stdout(self.stdout.clone())
            .stderr(self.stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false);
        builder
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
        let plugin = self.log.name();
        if let Some(text) = self.stdout.drain()
            && self.log.admit(text.len())
        {
            tracing::info!(plugin, stream = "stdout", "{text}");
        }
        if let Some(text) = self.stderr.drain()
            && self.log.admit(text.len())
        {
            tracing::warn!(plugin, stream = "stderr", "{text}");
        }
        if self.logs_suppressed > 0 && self.log.admit(0) {
            tracing::warn!(
                plugin,
                suppressed = self.logs_suppressed,
                "plugin logged more than {MAX_LOGS_PER_CALL} messages in one call; the rest were dropped"
            );
        }
    }

    /// A message the guest logs through the host, within the call's quota.
    pub(crate) fn log(&mut self, level: LogLevel, message: &str) {
        if self.logs_left == 0 {
            self.logs_suppressed += 1;
            return;
        }
        self.logs_left -= 1;
        let message = truncate(message, MAX_LOG_MESSAGE);
        if !self.log.admit(message.len()) {
            return;
        }
        let plugin = self.log.name();
        match level {
            LogLevel::Trace => tracing::trace!(target: "weir::plugin", plugin, "{message}"),
            LogLevel::Debug => tracing::debug!(target: "weir::plugin", plugin, "{message}"),
            LogLevel::Info => tracing::info!(target: "weir::plugin", plugin, "{message}"),
            LogLevel::Warn => tracing::warn!(target: "weir::plugin", plugin, "{message}"),
            LogLevel::Error => tracing::error!(target: "weir::plugin", plugin, "{message}"),
        }
    }
}

fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    &text[..text.floor_char_boundary(max)]
}

/// A store for one instance: memory capped, and called back at every epoch tick to
/// enforce the deadline and to yield to the async executor, so even a guest spinning
/// in a loop holds a reactor thread for at most a tick at a time.
pub(crate) fn store<T: Sandboxed>(engine: &Engine, data: T) -> Store<T> {
    let mut store = Store::new(engine, data);
    store.limiter(|data| &mut data.sandbox_mut().limits);
    store.epoch_deadline_callback(|context| {
        if Instant::now() >= context.data().sandbox().deadline {
            return Err(DeadlineExceeded.into());
        }
        Ok(UpdateDeadline::YieldCustom(1, Box::pin(tokio::task::yield_now())))
    });
    store
}

/// Runs one guest entry (instantiation, `init`, a call) under the call's deadline
/// however the guest spends it. The epoch callback stops a guest that runs past its
/// deadline; it cannot stop one that waits in a WASI call (a sleep, a poll), which
/// runs no guest code. This timer does: at the deadline (one tick after it, so that a
/// running guest is stopped by the epoch, with the same error), the entry's future is
/// dropped, which cancels the call. The instance must then be discarded, as after any
/// misbehaviour.
pub(crate) async fn bounded<T>(
    timeout: Duration,
    entry: impl std::future::Future<Output = wasmtime::Result<T>>,
) -> wasmtime::Result<T> {
    match tokio::time::timeout(timeout + EPOCH_TICK, entry).await {
        Ok(result) => result,
        Err(_) => Err(DeadlineExceeded.into()),
    }
}

/// Arms the deadline for the next guest entry.
pub(crate) fn begin<T: Sandboxed>(store: &mut Store<T>, timeout: Duration) {
    store.data_mut().sandbox_mut().begin_call(Instant::now() + timeout);
    // Call back at the next tick; the callback checks the wall-clock deadline and
    // yields, so the guest gives way every tick until the deadline.
    store.set_epoch_deadline(1);
}

/// Names what went wrong in a failed guest entry.
pub(crate) fn describe<T: Sandboxed>(store: &mut Store<T>, error: &wasmtime::Error, timeout: Duration) -> Misbehavior {
    if error.downcast_ref::<DeadlineExceeded>().is_some() {
        return Misbehavior::Deadline(timeout);
    }
    let sandbox = store.data_mut().sandbox_mut();
    match sandbox.limits.denied {
        Some(Denied::Cap(requested)) => {
            return Misbehavior::Memory {
                limit: sandbox.limits.memory_cap,
                requested,
            };
        }
        Some(Denied::Budget(requested)) => {
            return Misbehavior::Budget {
                budget: sandbox.limits.budget.limit,
                requested,
            };
        }
        None => {}
    }
    let mut message = error.root_cause().to_string();
    // A Rust panic prints its message to stderr just before it aborts: that message is
    // what the plugin author needs, more than "unreachable executed".
    if let Some(said) = sandbox.stderr.drain() {
        if sandbox.log.admit(said.len()) {
            tracing::warn!(plugin = sandbox.log.name(), stream = "stderr", "{said}");
        }
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

/// The memory of all instances together (`[plugins] memory_budget`). The config is
/// checked at load so that every filter's cap times its instances fits; this holds the
/// total at run time too, when the instances of a config being replaced and of its
/// replacement live side by side.
#[derive(Debug)]
pub(crate) struct MemoryBudget {
    pub(crate) limit: u64,
    used: AtomicU64,
}

impl MemoryBudget {
    pub(crate) fn new(limit: u64) -> Self {
        MemoryBudget {
            limit,
            used: AtomicU64::new(0),
        }
    }

    /// Takes `bytes` from the budget, if they fit.
    fn take(&self, bytes: u64) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(bytes).filter(|total| *total <= self.limit)
            })
            .is_ok()
    }

    fn give_back(&self, bytes: u64) {
        self.used.fetch_sub(bytes, Ordering::AcqRel);
    }

    /// Bytes of linear memory all live instances hold.
    pub(crate) fn used(&self) -> u64 {
        self.used.load(Ordering::Acquire)
    }
}

/// Why a memory growth was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Denied {
    /// Past the instance's cap; the size asked for.
    Cap(u64),
    /// Past the budget of all instances; the size asked for.
    Budget(u64),
}

/// The memory cap of one instance, and its share of the budget of all.
///
/// A growth past the cap (or the budget) is refused (the guest sees `memory.grow` fail,
/// as the spec allows) and remembered, so that the trap that usually follows (Rust
/// aborts on allocation failure) is reported as a memory limit rather than a generic
/// trap. The instance's memory goes back to the budget when it is dropped.
pub(crate) struct GuestLimits {
    pub(crate) memory_cap: u64,
    /// The refused growth, during the current call.
    pub(crate) denied: Option<Denied>,
    /// The instance's linear memory, all memories together, in bytes.
    pub(crate) memory: u64,
    budget: Arc<MemoryBudget>,
}

impl Drop for GuestLimits {
    fn drop(&mut self) {
        self.budget.give_back(self.memory);
    }
}

impl wasmtime::ResourceLimiter for GuestLimits {
    fn memory_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired as u64 > self.memory_cap {
            self.denied = Some(Denied::Cap(desired as u64));
            return Ok(false);
        }
        // Creating a memory is a growth from 0, so this adds up every memory.
        let growth = desired.saturating_sub(current) as u64;
        if !self.budget.take(growth) {
            self.denied = Some(Denied::Budget(desired as u64));
            return Ok(false);
        }
        self.memory += growth;
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
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
        return FilterError::Busy {
            plugin: plugin.to_string(),
            message: format!("{limit}; raise plugins.max_instances or lower the filters' max_instances"),
        };
    }
    let misbehavior = describe(store, error, timeout);
    store.data_mut().sandbox_mut().end_call();
    FilterError::Init {
        plugin: plugin.to_string(),
        message: misbehavior.to_string(),
    }
}
