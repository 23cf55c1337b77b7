//! The `weir` binary: the command line over the runtime library (`weir`).
//!
//! # Layout
//!
//! - [`cli`]: the commands (`weir run`, `check`, `filter`, `events`, `dead`) and their
//!   arguments.
//! - [`bench`]: `weir bench`, the benchmark harness, and its bare relay.
//! - [`process`]: what every command shares: its async runtime and exit codes.
//! - [`allocator`]: the memory allocator.

#[macro_use]
mod process;
mod allocator;
mod bench;
mod cli;

#[global_allocator]
static ALLOCATOR: allocator::Mimalloc = allocator::Mimalloc;

fn main() -> std::process::ExitCode {
    cli::main()
}
