//! The command line: `weir run`, `weir check`, `weir filter`.
//!
//! Each command is a module returning an [`ExitCode`]. Exit codes follow sysexits:
//! 64 for a wrong invocation or config, 65 for bad input data, 1 for a failure while
//! doing the job.

mod admin_client;
mod check;
mod filter;
mod logging;
mod run;
mod source;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit code of a wrong invocation or an invalid config (sysexits `EX_USAGE`).
pub const EXIT_USAGE: u8 = 64;
/// Exit code of bad input data (sysexits `EX_DATAERR`).
pub const EXIT_DATA: u8 = 65;

/// Weir: route machine-learning predictions through WebAssembly filters to webhooks.
#[derive(Debug, Parser)]
#[command(name = "weir", version, about)]
struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = logging::LogFormat::Text)]
    log_format: logging::LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the router: receive predictions, filter them, deliver them.
    Run(run::RunArgs),
    /// Check a config and the plugins it names; list every problem.
    Check(check::CheckArgs),
    /// Show what happened to an event (from a running Weir's admin API).
    Events {
        #[command(flatten)]
        admin: admin_client::AdminArgs,
        #[command(subcommand)]
        command: admin_client::EventsCommand,
    },
    /// List and replay dead deliveries (from a running Weir's admin API).
    Dead {
        #[command(flatten)]
        admin: admin_client::AdminArgs,
        #[command(subcommand)]
        command: admin_client::DeadCommand,
    },
    /// Measure Weir's throughput, latency and memory against a bare relay.
    Bench(crate::bench::BenchArgs),
    /// The bare relay of `weir bench` (internal).
    #[command(hide = true)]
    BenchRelay {
        /// Where to forward.
        #[arg(long)]
        target: std::net::SocketAddr,
    },
    /// Run one filter on one event and print the verdict, the output and the time taken.
    Filter(Box<filter::FilterArgs>),
}

/// Runs the command line.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(cli.log_format);
    // HTTP clients (delivery, the admin commands) use rustls with the ring provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
    match cli.command {
        Command::Run(args) => run::run(args),
        Command::Check(args) => check::run(args),
        Command::Filter(args) => filter::run(*args),
        Command::Bench(args) => crate::bench::run(args),
        Command::BenchRelay { target } => crate::bench::relay_main(target),
        Command::Events { admin, command } => admin_client::events(admin, command),
        Command::Dead { admin, command } => admin_client::dead(admin, command),
    }
}

/// Which runtime a command needs.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Threads {
    /// One thread: the command talks to one server or runs one thing at a time.
    One,
    /// A worker per core: the router, and the benchmark's load.
    PerCore,
}

/// The async runtime of a command; a runtime that cannot start fails the command.
pub(crate) fn runtime(threads: Threads) -> Result<tokio::runtime::Runtime, ExitCode> {
    let mut builder = match threads {
        Threads::One => tokio::runtime::Builder::new_current_thread(),
        Threads::PerCore => tokio::runtime::Builder::new_multi_thread(),
    };
    builder.enable_all().build().map_err(|error| {
        eprintln!("error: cannot start the async runtime: {error}");
        ExitCode::FAILURE
    })
}

/// Prints config problems, one per line, then how many there are and `consequence`.
fn print_problems(problems: &[crate::config::ConfigError], consequence: &str) {
    for problem in problems {
        eprintln!("error: {problem}");
    }
    eprintln!("{} problem(s) found{consequence}", problems.len());
}
