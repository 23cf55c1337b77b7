//! The command line: `weir run`, `weir check`, `weir filter`, `weir new`,
//! `weir events`, `weir dead`, `weir test`, `weir log`, `weir health`, and `weir bench`
//! (in [`crate::bench`]); for packagers, `weir completions` and `weir man` ([`generate`]).
//!
//! `weir --version` names the build ([`version`]).
//!
//! Each command is a module returning an [`ExitCode`] ([`crate::process`] says which).

mod admin_client;
mod check;
mod filter;
mod generate;
mod health;
mod log;
mod logging;
mod new;
mod run;
mod source;
mod trial;
mod version;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Weir: route machine-learning predictions through WebAssembly filters to webhooks.
#[derive(Debug, Parser)]
#[command(name = "weir", version = version::version(), about)]
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
    /// Send a sample event to one destination now, and show what its receiver answered.
    Test(trial::TestArgs),
    /// The delivery log: every recorded attempt (from a running Weir's admin API).
    Log {
        #[command(subcommand)]
        command: log::LogCommand,
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
    /// Write a new filter project in one of the ten languages, ready to build.
    New(new::NewArgs),
    /// Ask a running Weir whether it is alive (or ready); exit 0 or 1.
    Health(health::HealthArgs),
    /// Print the completion script of a shell (for packagers).
    #[command(hide = true)]
    Completions(generate::CompletionsArgs),
    /// Print the man page, or write every page into a folder (for packagers).
    #[command(hide = true)]
    Man(generate::ManArgs),
}

/// Runs the command line.
pub(crate) fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(cli.log_format);
    // HTTP clients (delivery, the admin commands) use rustls with the ring provider;
    // the library installs it when it starts a server, the admin commands need it too.
    weir::install_tls_provider();
    match cli.command {
        Command::Run(args) => run::run(args),
        Command::Check(args) => check::run(args),
        Command::Filter(args) => filter::run(*args),
        Command::New(args) => new::run(args),
        Command::Bench(args) => crate::bench::run(args),
        Command::BenchRelay { target } => crate::bench::relay_main(target),
        Command::Events { admin, command } => admin_client::events(admin, command),
        Command::Dead { admin, command } => admin_client::dead(admin, command),
        Command::Test(args) => trial::run(args),
        Command::Log { command } => log::run(command),
        Command::Health(args) => health::run(args),
        Command::Completions(args) => generate::completions(args),
        Command::Man(args) => generate::man(args),
    }
}

/// Prints config problems, one per line, then how many there are and `consequence`.
fn print_problems(problems: &[weir::config::ConfigError], consequence: &str) {
    for problem in problems {
        eprintln!("error: {problem}");
    }
    eprintln!("{} problem(s) found{consequence}", problems.len());
}
