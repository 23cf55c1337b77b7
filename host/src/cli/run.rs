//! `weir run`: the router, until SIGTERM or SIGINT.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::source::load;
use super::{EXIT_USAGE, print_problems};
use crate::server::{Server, StartError};

/// Arguments of `weir run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The config file (default: $WEIR_CONFIG, else the embedded default config).
    #[arg(long, short, value_name = "FILE")]
    config: Option<PathBuf>,
}

/// Runs `weir run`.
pub fn run(args: RunArgs) -> ExitCode {
    let runtime = match crate::cli::runtime(crate::cli::Threads::PerCore) {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    runtime.block_on(serve(args))
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
    tracing::info!(
        config = %loaded.source,
        ingest = %server.ingest_addr(),
        admin = %server.admin_addr(),
        unix_socket = ?server.unix_socket(),
        "weir is ready: POST events to http://{}/ingest/ROUTE",
        server.ingest_addr()
    );
    wait_for_signal().await;
    server.shutdown();
    server.wait().await;
    ExitCode::SUCCESS
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut term) = signal(SignalKind::terminate()) else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("received SIGTERM"),
        _ = tokio::signal::ctrl_c() => tracing::info!("received SIGINT"),
    }
}
