//! `weir check`: validates a config and every plugin it names (compiling them and
//! running each filter's `init` with its config), lists every problem, exits 0 or 64.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::print_problems;
use super::source::{DEFAULT_SOURCE, load};
use crate::process::EXIT_USAGE;
use weir::config::{StorageKind, check_file};
use weir::plugin::registry::PluginRegistry;
use weir::plugin::{EngineSettings, PluginEngine};
use weir::topology::{BuildOptions, Topology};

/// Arguments of `weir check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The config file (default: $WEIR_CONFIG, else the embedded default config).
    #[arg(long, short, value_name = "FILE")]
    config: Option<PathBuf>,
}

/// Runs `weir check`.
pub fn run(args: CheckArgs) -> ExitCode {
    crate::process::block_on(crate::process::Threads::One, check(args))
}

async fn check(args: CheckArgs) -> ExitCode {
    let (config, source, mut problems) = checked(args.config);
    let Some(config) = config else {
        print_problems(&problems, "");
        return ExitCode::from(EXIT_USAGE);
    };
    let engine = match PluginEngine::new(&EngineSettings::from_config(&config.plugins)) {
        Ok(engine) => engine,
        Err(error) => {
            eprintln!("error: cannot start the plugin engine: {error:#}");
            return ExitCode::FAILURE;
        }
    };
    // Check the plugins of every filter whose own settings are sound.
    let reported: Vec<String> = problems.iter().map(|p| p.key.clone()).collect();
    let skip = |key: &str| reported.iter().any(|r| related(r, key));
    // Durable state is not read back by a check: its filters start empty here.
    let registry = PluginRegistry::new(engine, config.plugins.dir.clone(), Default::default());
    let options = BuildOptions {
        skip: &skip,
        ..BuildOptions::default()
    };
    let built = Topology::build(&config, &source, &registry, None, options).await;
    if let Some(files) = weir::server::tls_files(&config)
        && let Err(message) = weir::connections::tls::load(&files)
    {
        problems.push(weir::config::ConfigError {
            file: source.clone(),
            key: "server.tls_cert".into(),
            message,
        });
    }
    for warning in warnings(&config) {
        eprintln!("warning: {source}: {warning}");
    }
    let mut storage_line = None;
    if config.storage.kind == StorageKind::Jetstream && problems.is_empty() {
        match weir::outbox::jetstream::setup::check(&config.storage).await {
            Ok(line) => storage_line = Some(line),
            Err(found) => problems.extend(found.into_iter().map(|message| weir::config::ConfigError {
                file: source.clone(),
                key: "storage.jetstream".into(),
                message,
            })),
        }
    }
    match built {
        Ok(topology) if problems.is_empty() => {
            crate::process::out!(
                "{source}: ok: {} route(s), {} destination(s), {} plugin(s); {}",
                topology.routes.len(),
                topology.destinations.len(),
                topology.plugin_names().len(),
                match config.storage.kind {
                    StorageKind::Durable => format!("durable storage in {}", config.storage.path.display()),
                    StorageKind::Memory => "memory storage: pending deliveries are lost if Weir stops".to_string(),
                    StorageKind::Jetstream => storage_line.unwrap_or_default(),
                },
            );
            ExitCode::SUCCESS
        }
        Ok(_) => {
            print_problems(&problems, "");
            ExitCode::from(EXIT_USAGE)
        }
        Err(more) => {
            problems.extend(more);
            print_problems(&problems, "");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

/// What the config allows that is likely a mistake, though it may be intended: said,
/// not refused.
fn warnings(config: &weir::config::Config) -> Vec<String> {
    let mut warnings = Vec::new();
    let listen = config.server.listen;
    if !listen.ip().is_loopback() && config.server.ingest_token.is_none() {
        warnings.push(format!(
            "server.listen: ingest listens on {listen}, reachable from other machines, and takes events from anyone; \
             set server.ingest_token (from ${{ENV}}), or listen on 127.0.0.1 or a unix_socket"
        ));
    }
    warnings
}

/// The config as far as it reads, where it came from, and its problems.
fn checked(path: Option<PathBuf>) -> (Option<weir::config::Config>, String, Vec<weir::config::ConfigError>) {
    let path = path.or_else(|| {
        std::env::var_os("WEIR_CONFIG")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    });
    match path {
        Some(path) => {
            let (config, problems) = check_file(&path);
            (config, path.display().to_string(), problems)
        }
        None => match load(None) {
            Ok(loaded) => (Some(loaded.config), loaded.source, Vec::new()),
            Err(problems) => (None, DEFAULT_SOURCE.to_string(), problems),
        },
    }
}

/// Whether two config keys are the same, or one is inside the other
/// (`routes.a.filters[0]` and `routes.a.filters[0].memory`, `routes.a`).
fn related(a: &str, b: &str) -> bool {
    let inside = |outer: &str, inner: &str| {
        inner
            .strip_prefix(outer)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('.') || rest.starts_with('['))
    };
    !a.is_empty() && !b.is_empty() && (inside(a, b) || inside(b, a))
}

#[cfg(test)]
mod tests {
    use super::related;

    #[test]
    fn relates_keys_inside_each_other_only() {
        assert!(related("routes.a.filters[0].memory", "routes.a.filters[0]"));
        assert!(related("routes.a", "routes.a.filters[0]"));
        assert!(related("destinations.hook", "destinations.hook"));
        assert!(!related("routes.a.filters[1]", "routes.a.filters[10]"));
        assert!(!related("destinations.hooker", "destinations.hook"));
        assert!(!related("", "routes.a"));
    }
}
