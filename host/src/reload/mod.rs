//! Hot reload: plugins from their folder, and the config file, without a restart.
//!
//! A change is built on the side (new plugin versions compiled, every filter using them
//! initialised with its route's config, the whole topology checked) and swapped in at
//! once; events already running finish on the topology they started with, and the old
//! version is freed when the last of them is done. A change that fails anywhere changes
//! nothing: the last good version keeps serving and the failure is logged and shown by
//! `GET /admin/plugins`.
//!
//! # Layout
//!
//! - this file: applying plugin and config changes.
//! - [`watch`]: the file watchers, debouncing, and SIGHUP.

pub mod watch;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use arc_swap::ArcSwap;

use crate::config::{Config, ConfigError, check_file};
use crate::dispatch::Dispatcher;
use crate::outbox::Records;
use crate::outbox::quota::Quotas;
use crate::plugin::Plugin;
use crate::plugin::registry::PluginRegistry;
use crate::topology::{BuildOptions, Topology};

/// Applies plugin and config changes to the running Weir.
pub struct Reloader {
    /// The config file, when Weir runs on one (the default config is not reloaded).
    pub config_path: Option<PathBuf>,
    /// The loaded plugins.
    pub registry: Arc<PluginRegistry>,
    /// The running topology.
    pub topology: Arc<ArcSwap<Topology>>,
    dispatcher: Arc<Dispatcher>,
    outbox: Arc<dyn Records>,
    /// One change at a time.
    lock: tokio::sync::Mutex<()>,
}

fn describe(problems: &[ConfigError]) -> String {
    problems
        .iter()
        .map(|p| {
            if p.key.is_empty() {
                p.message.clone()
            } else {
                format!("{}: {}", p.key, p.message)
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

impl Reloader {
    /// A reloader for the running parts.
    pub fn new(
        config_path: Option<PathBuf>,
        registry: Arc<PluginRegistry>,
        topology: Arc<ArcSwap<Topology>>,
        dispatcher: Arc<Dispatcher>,
        outbox: Arc<dyn Records>,
    ) -> Self {
        Reloader {
            config_path,
            registry,
            topology,
            dispatcher,
            outbox,
            lock: tokio::sync::Mutex::new(()),
        }
    }

    fn source(&self) -> String {
        self.config_path
            .as_ref()
            .map_or_else(|| "(default config)".into(), |p| p.display().to_string())
    }

    /// Files of these plugins changed (written, replaced or removed): load the new
    /// versions and swap them in, or keep the old ones and record why.
    pub async fn plugins_changed(&self, names: BTreeSet<String>) {
        let _one = self.lock.lock().await;
        let started = Instant::now();
        let current = self.topology.load_full();
        let used = current.plugin_names();
        let mut changed = Vec::new();
        for name in names.into_iter().filter(|name| used.contains(name)) {
            let old = self.registry.get(&name).await.ok().flatten();
            match self.registry.load_new(&name).await {
                Ok(Some(new)) if old.as_ref().is_some_and(|old| old.hash() == new.hash()) => {}
                Ok(new) => changed.push((name, old, new)),
                Err(error) => {
                    let serving = old.as_ref().map_or("none".to_string(), |p| short(p.hash()));
                    tracing::error!(plugin = %name, serving = %serving, "new plugin file refused, the last good version keeps serving: {error}");
                    self.registry.failed(&name, error);
                }
            }
        }
        if changed.is_empty() {
            return;
        }
        let replacing: BTreeMap<String, Option<Arc<Plugin>>> = changed
            .iter()
            .map(|(name, _, new)| (name.clone(), new.clone()))
            .collect();
        let options = BuildOptions {
            missing_ok: true,
            replacing: Some(&replacing),
            ..BuildOptions::default()
        };
        match Topology::build(&current.config, &self.source(), &self.registry, Some(&current), options).await {
            Ok(topology) => {
                self.topology.store(Arc::new(topology));
                // Only now, with the new versions serving, does the admin API show them.
                for (name, _, new) in &changed {
                    self.registry.install(name, new.clone());
                }
                for (name, _, new) in &changed {
                    match new {
                        Some(plugin) => tracing::info!(
                            plugin = %name,
                            hash = %short(plugin.hash()),
                            took_ms = started.elapsed().as_millis() as u64,
                            routes = ?current.routes_using(name),
                            "plugin reloaded: new events run the new version"
                        ),
                        None => tracing::error!(
                            plugin = %name,
                            routes = ?current.routes_using(name),
                            "plugin file removed: its routes apply their failure policy until it is back"
                        ),
                    }
                }
            }
            Err(problems) => {
                let message = describe(&problems);
                for (name, _, _) in changed {
                    tracing::error!(plugin = %name, "new plugin version refused, the last good version keeps serving: {message}");
                    self.registry.failed(&name, message.clone());
                }
            }
        }
    }

    /// The config file changed (or SIGHUP): validate it in full and apply it by
    /// difference, or change nothing and log why.
    pub async fn config_changed(&self) -> Result<(), Vec<ConfigError>> {
        let Some(path) = self.config_path.clone() else {
            tracing::warn!("Weir runs on its default config: there is no file to reload");
            return Ok(());
        };
        let _one = self.lock.lock().await;
        let current = self.topology.load_full();
        let (config, mut problems) = check_file(&path);
        let Some(mut config) = config.filter(|_| problems.is_empty()) else {
            for problem in &problems {
                tracing::error!("config reload refused, the running config is unchanged: {problem}");
            }
            return Err(problems);
        };
        keep_restart_only_settings(&current.config, &mut config);
        let options = BuildOptions::default();
        let topology = match Topology::build(&config, &self.source(), &self.registry, Some(&current), options).await {
            Ok(topology) => topology,
            Err(more) => {
                problems.extend(more);
                for problem in &problems {
                    tracing::error!("config reload refused, the running config is unchanged: {problem}");
                }
                return Err(problems);
            }
        };
        let removed: Vec<String> = current
            .destinations
            .iter()
            .filter(|d| topology.destination(&d.name).is_none())
            .map(|d| d.name.to_string())
            .collect();
        let plugins = topology.plugin_names();
        self.outbox.set_quotas(Quotas::from_config(&config));
        self.dispatcher.apply(&topology.destinations);
        self.topology.store(Arc::new(topology));
        self.registry.retain(&plugins);
        for name in removed {
            let reason = format!("destination {name} was removed from the config");
            match self.outbox.retire(&name, &reason).await {
                Ok(0) => {}
                Ok(count) => {
                    tracing::warn!(destination = %name, count, "{reason}: its pending deliveries moved to the dead letters")
                }
                Err(error) => {
                    tracing::error!(destination = %name, %error, "could not retire the removed destination's deliveries")
                }
            }
        }
        tracing::info!(config = %path.display(), "config reloaded");
        Ok(())
    }
}

/// Settings that only take effect at start: a reload keeps the running ones, and says
/// so.
fn keep_restart_only_settings(running: &Config, new: &mut Config) {
    let mut kept = Vec::new();
    if new.server.listen != running.server.listen {
        kept.push("server.listen");
        new.server.listen = running.server.listen;
    }
    if new.server.unix_socket != running.server.unix_socket {
        kept.push("server.unix_socket");
        new.server.unix_socket = running.server.unix_socket.clone();
    }
    if new.admin.listen != running.admin.listen {
        kept.push("admin.listen");
        new.admin.listen = running.admin.listen;
    }
    if new.admin.max_connections != running.admin.max_connections {
        kept.push("admin.max_connections");
        new.admin.max_connections = running.admin.max_connections;
    }
    let (server, old) = (&mut new.server, &running.server);
    if server.tls_cert != old.tls_cert || server.tls_key != old.tls_key {
        kept.push("server.tls_cert and tls_key (the files themselves are reloaded when they change)");
        server.tls_cert = old.tls_cert.clone();
        server.tls_key = old.tls_key.clone();
    }
    if server.max_connections != old.max_connections
        || server.header_timeout != old.header_timeout
        || server.max_header_bytes != old.max_header_bytes
        || server.max_headers != old.max_headers
    {
        kept.push("server's connection limits (max_connections, header_timeout, max_header_bytes, max_headers)");
        server.max_connections = old.max_connections;
        server.header_timeout = old.header_timeout;
        server.max_header_bytes = old.max_header_bytes;
        server.max_headers = old.max_headers;
    }
    if new.plugins.dir != running.plugins.dir
        || new.plugins.cache_dir != running.plugins.cache_dir
        || new.plugins.max_instances != running.plugins.max_instances
        || new.plugins.max_plugin_size != running.plugins.max_plugin_size
        || new.plugins.memory_budget != running.plugins.memory_budget
        || new.plugins.instance_wait != running.plugins.instance_wait
    {
        kept.push("plugins");
        new.plugins = running.plugins.clone();
    }
    if new.storage.kind != running.storage.kind
        || new.storage.path != running.storage.path
        || new.storage.max_pending != running.storage.max_pending
        || new.storage.max_bytes != running.storage.max_bytes
        || new.storage.retention != running.storage.retention
        || new.storage.retention_bytes != running.storage.retention_bytes
    {
        kept.push("storage");
        new.storage = running.storage.clone();
    }
    if !kept.is_empty() {
        tracing::warn!(settings = ?kept, "these settings changed but only apply at start; restart Weir to apply them");
    }
}

fn short(hash: &str) -> String {
    hash.chars().take(12).collect()
}
