//! What every command shares: its async runtime, and the exit codes it ends with.
//!
//! Exit codes follow sysexits: 64 for a wrong invocation or config, 65 for bad input
//! data, 1 for a failure while doing the job.

use std::process::ExitCode;

/// Exit code of a wrong invocation or an invalid config (sysexits `EX_USAGE`).
pub const EXIT_USAGE: u8 = 64;
/// Exit code of bad input data (sysexits `EX_DATAERR`).
pub const EXIT_DATA: u8 = 65;

/// Which runtime a command needs.
#[derive(Debug, Clone, Copy)]
pub enum Threads {
    /// One thread: the command talks to one server or runs one thing at a time.
    One,
    /// A worker per core: the router, and the benchmark's load.
    PerCore,
}

/// The async runtime of a command; a runtime that cannot start fails the command.
pub fn runtime(threads: Threads) -> Result<tokio::runtime::Runtime, ExitCode> {
    let mut builder = match threads {
        Threads::One => tokio::runtime::Builder::new_current_thread(),
        Threads::PerCore => tokio::runtime::Builder::new_multi_thread(),
    };
    builder.enable_all().build().map_err(|error| {
        eprintln!("error: cannot start the async runtime: {error}");
        ExitCode::FAILURE
    })
}

/// Runs a command's work on its runtime to the end: its exit code, or a failure when
/// the runtime cannot start.
pub fn block_on(threads: Threads, work: impl Future<Output = ExitCode>) -> ExitCode {
    match runtime(threads) {
        Ok(runtime) => runtime.block_on(work),
        Err(code) => code,
    }
}

/// Writes a line to stdout, like `println!`, but a reader that went away (`weir filter
/// ... | head`) ends the output quietly instead of panicking.
pub fn write_line(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if let Err(error) = writeln!(stdout, "{args}")
        && error.kind() == std::io::ErrorKind::BrokenPipe
    {
        std::process::exit(0);
    }
}

/// `println!` for the commands: see [`write_line`].
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::process::write_line(format_args!($($arg)*))
    };
}
pub(crate) use out;
