//! `weir check`: validates a config and every plugin it names (compiling them and
//! running each filter's `init` with its config), lists every problem, exits 0 or 64.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::source::load;
use super::{EXIT_USAGE, print_problems};
use crate::plugin::{EngineSettings, PluginEngine};
use crate::topology::Topology;

/// Arguments of `weir check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The config file (default: $WEIR_CONFIG, else the embedded default config).
    #[arg(long, short, value_name = "FILE")]
    config: Option<PathBuf>,
}

/// Runs `weir check`.
pub fn run(args: CheckArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(check(args))
}

async fn check(args: CheckArgs) -> ExitCode {
    let loaded = match load(args.config) {
        Ok(loaded) => loaded,
        Err(problems) => {
            print_problems(&problems);
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let engine = match PluginEngine::new(&EngineSettings {
        cache_dir: loaded.config.plugins.cache_dir.clone(),
        max_instances: loaded.config.plugins.max_instances,
    }) {
        Ok(engine) => engine,
        Err(error) => {
            eprintln!("error: cannot start the plugin engine: {error:#}");
            return ExitCode::FAILURE;
        }
    };
    match Topology::build(&loaded.config, &loaded.source, &engine).await {
        Ok(topology) => {
            println!(
                "{}: ok: {} route(s), {} destination(s), {} plugin(s); storage {:?}",
                loaded.source,
                topology.routes.len(),
                topology.destinations.len(),
                topology.plugins.len(),
                loaded.config.storage.kind,
            );
            ExitCode::SUCCESS
        }
        Err(problems) => {
            print_problems(&problems);
            ExitCode::from(EXIT_USAGE)
        }
    }
}
