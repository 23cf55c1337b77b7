//! The `weir` binary: parse the command line, run the command, exit with its code.

/// mimalloc rather than the system allocator: Weir allocates per event on every worker
/// thread, and glibc's arenas spent a quarter of the CPU of a loaded Weir on locking and
/// consolidation (see docs/BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    weir::cli::main()
}
