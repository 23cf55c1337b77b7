//! The `weir` binary: the command line over the runtime library (`weir`).
//!
//! # Layout
//!
//! - [`cli`]: the commands (`weir run`, `check`, `filter`, `events`, `dead`) and their
//!   arguments.
//! - [`bench`]: `weir bench`, the benchmark harness, and its bare relay.
//! - [`process`]: what every command shares: its async runtime and exit codes.

#[macro_use]
mod process;
mod bench;
mod cli;

/// mimalloc rather than the system allocator: Weir allocates per event on every worker
/// thread, and glibc's arenas spent a quarter of the CPU of a loaded Weir on locking and
/// consolidation (see docs/BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    cli::main()
}
