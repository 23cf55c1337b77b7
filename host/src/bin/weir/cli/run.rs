//! `weir run`: the router, until SIGTERM or SIGINT.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::print_problems;
use super::source::load;
use crate::process::EXIT_USAGE;
use weir::server::{Server, StartError};

/// Arguments of `weir run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The config file (default: $WEIR_CONFIG, else the embedded default config).
    #[arg(long, short, value_name = "FILE")]
    config: Option<PathBuf>,
}

/// Runs `weir run`.
pub fn run(args: RunArgs) -> ExitCode {
    crate::process::block_on(crate::process::Threads::PerCore, serve(args))
}

async fn serve(args: RunArgs) -> ExitCode {
    let loaded = match load(args.config) {
        Ok(loaded) => loaded,
        Err(problems) => {
            print_problems(&problems, "; Weir did not start");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let path = loaded.path.clone();
    let server = match Server::start(loaded.config, &loaded.source, path).await {
        Ok(server) => server,
        Err(StartError::Config(problems)) => {
            print_problems(&problems, "; Weir did not start");
            return ExitCode::from(EXIT_USAGE);
        }
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    // Listen for signals before saying "ready": a supervisor that stops Weir as soon as
    // it is ready must find the handler in place, not the default action (exit 143).
    let signals = Signals::listen();
    tracing::info!(
        config = %loaded.source,
        ingest = %server.ingest_addr(),
        admin = %server.admin_addr(),
        unix_socket = ?server.unix_socket(),
        "weir is ready: POST events to http://{}/ingest/ROUTE",
        server.ingest_addr()
    );
    signals.wait().await;
    server.shutdown();
    server.wait().await;
    ExitCode::SUCCESS
}

/// SIGTERM and SIGINT, both meaning "shut down gracefully".
struct Signals {
    term: Option<tokio::signal::unix::Signal>,
    interrupt: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    fn listen() -> Signals {
        use tokio::signal::unix::{SignalKind, signal};
        Signals {
            term: signal(SignalKind::terminate()).ok(),
            interrupt: signal(SignalKind::interrupt()).ok(),
        }
    }

    async fn wait(mut self) {
        async fn next(signal: &mut Option<tokio::signal::unix::Signal>) {
            match signal {
                Some(signal) => {
                    signal.recv().await;
                }
                None => std::future::pending().await,
            }
        }
        tokio::select! {
            _ = next(&mut self.term) => tracing::info!("received SIGTERM"),
            _ = next(&mut self.interrupt) => tracing::info!("received SIGINT"),
        }
    }
}
