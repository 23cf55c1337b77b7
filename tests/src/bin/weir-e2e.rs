//! The `weir` binary, built inside the test suite's package so that tests can run it
//! as a child process (`CARGO_BIN_EXE_weir-e2e`). Identical to `host/src/main.rs`.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    weir::cli::main()
}
