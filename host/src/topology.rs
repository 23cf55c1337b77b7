//! The running shape of a config: loaded plugins, configured filters, routes and
//! destinations, built on the side and swapped in whole.
//!
//! Building is where plugins are compiled (off the reactor) and every filter's `init`
//! proves its config, so a topology that builds is one that runs; every problem found
//! is a [`ConfigError`] naming its key.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::{Config, ConfigError, InstancesConfig};
use crate::dispatch::Destination;
use crate::pipeline::Route;
use crate::plugin::examples::example;
use crate::plugin::filter::{DEFAULT_MEMORY, DEFAULT_TIMEOUT};
use crate::plugin::{Filter, FilterSettings, InstancePolicy, Plugin, PluginEngine};

/// Routes, destinations and the plugins they use.
pub struct Topology {
    /// Routes by name.
    pub routes: HashMap<String, Arc<Route>>,
    /// Destinations, in config order.
    pub destinations: Vec<Destination>,
    /// Loaded plugins by name.
    pub plugins: BTreeMap<String, Arc<Plugin>>,
}

/// Where a plugin name resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginSource {
    /// A file in the plugin folder.
    File(PathBuf),
    /// An embedded example.
    Example(&'static str),
}

/// Finds a plugin by name: `<dir>/<name>.wasm` first, then the embedded examples.
pub fn resolve(dir: Option<&Path>, name: &str) -> Option<PluginSource> {
    if let Some(dir) = dir {
        let path = dir.join(format!("{name}.wasm"));
        if path.is_file() {
            return Some(PluginSource::File(path));
        }
    }
    example(name).map(|example| PluginSource::Example(example.name))
}

/// Loads one plugin from its source, off the async reactor.
pub async fn load_plugin(engine: &PluginEngine, name: &str, source: &PluginSource) -> Result<Plugin, String> {
    let engine = engine.clone();
    let name = name.to_string();
    let source = source.clone();
    let loaded = tokio::task::spawn_blocking(move || match &source {
        PluginSource::File(path) => Plugin::from_file(&engine, &name, path),
        PluginSource::Example(example_name) => {
            let example = example(example_name).expect("resolved from the examples");
            Plugin::from_bytes(&engine, &name, &format!("(example) {name}"), example.bytes)
        }
    })
    .await;
    match loaded {
        Ok(Ok(plugin)) => Ok(plugin),
        Ok(Err(error)) => Err(error.to_string()),
        Err(join) => Err(format!("loading failed: {join}")),
    }
}

impl Topology {
    /// Loads the plugins a config names and builds its routes and destinations.
    pub async fn build(config: &Config, file: &str, engine: &PluginEngine) -> Result<Topology, Vec<ConfigError>> {
        Topology::build_except(config, file, engine, &|_| false).await
    }

    /// Like [`Topology::build`], leaving out the filters whose key
    /// (`routes.NAME.filters[i]`) `skip` names: `weir check` skips those it already
    /// reported, so one mistake is not reported twice.
    pub async fn build_except(
        config: &Config,
        file: &str,
        engine: &PluginEngine,
        skip: &dyn Fn(&str) -> bool,
    ) -> Result<Topology, Vec<ConfigError>> {
        let mut problems = Vec::new();
        let problem = |key: String, message: String| ConfigError {
            file: file.to_string(),
            key,
            message,
        };
        let dir = config.plugins.dir.as_deref();
        if let Some(dir) = dir
            && !dir.is_dir()
        {
            problems.push(problem(
                "plugins.dir".into(),
                format!("{} is not a folder; create it or fix the path", dir.display()),
            ));
        }

        // Each plugin once, however many routes use it.
        let mut plugins = BTreeMap::new();
        for (route_name, route) in &config.routes {
            for (i, filter) in route.filters.iter().enumerate() {
                if plugins.contains_key(&filter.plugin) || skip(&format!("routes.{route_name}.filters[{i}]")) {
                    continue;
                }
                let key = format!("routes.{route_name}.filters[{i}].plugin");
                let Some(source) = resolve(dir, &filter.plugin) else {
                    let place = match dir {
                        Some(dir) => {
                            format!("there is no {}.wasm in {}", filter.plugin, dir.display())
                        }
                        None => "no plugin folder is configured ([plugins] dir)".to_string(),
                    };
                    problems.push(problem(
                        key,
                        format!(
                            "no plugin named {:?}: {place}, and it is not an example (class-filter, strip-masks, reshape, route-by-class)",
                            filter.plugin
                        ),
                    ));
                    continue;
                };
                match load_plugin(engine, &filter.plugin, &source).await {
                    Ok(plugin) => {
                        plugins.insert(filter.plugin.clone(), Arc::new(plugin));
                    }
                    Err(message) => problems.push(problem(key, message)),
                }
            }
        }

        let mut routes = HashMap::new();
        for (route_name, route) in &config.routes {
            let mut filters = Vec::new();
            for (i, filter) in route.filters.iter().enumerate() {
                if skip(&format!("routes.{route_name}.filters[{i}]")) {
                    continue;
                }
                let Some(plugin) = plugins.get(&filter.plugin) else {
                    continue;
                };
                let settings = FilterSettings {
                    config: filter
                        .config
                        .as_ref()
                        .and_then(|value| serde_json::to_string(value).ok())
                        .unwrap_or_else(|| "{}".into()),
                    timeout: filter.timeout.map_or(DEFAULT_TIMEOUT, |t| t.0),
                    memory: filter.memory.map_or(DEFAULT_MEMORY, |m| m.0),
                    policy: match filter.instances {
                        Some(InstancesConfig::Fresh) => InstancePolicy::Fresh,
                        _ => InstancePolicy::Reuse,
                    },
                    ..FilterSettings::default()
                };
                match Filter::new(plugin.clone(), settings).await {
                    Ok(built) => filters.push(Arc::new(built)),
                    Err(error) => {
                        problems.push(problem(format!("routes.{route_name}.filters[{i}]"), error.to_string()))
                    }
                }
            }
            routes.insert(
                route_name.clone(),
                Arc::new(Route {
                    name: route_name.as_str().into(),
                    filters,
                    destinations: route.destinations.iter().map(|d| d.as_str().into()).collect(),
                    policy: route.on_filter_error.clone(),
                }),
            );
        }

        let mut destinations = Vec::new();
        for (name, destination) in &config.destinations {
            if skip(&format!("destinations.{name}")) {
                continue;
            }
            match Destination::new(name, destination) {
                Ok(built) => destinations.push(built),
                Err(message) => problems.push(problem(format!("destinations.{name}"), message)),
            }
        }
        if problems.is_empty() {
            Ok(Topology {
                routes,
                destinations,
                plugins,
            })
        } else {
            Err(problems)
        }
    }

    /// A destination by name.
    pub fn destination(&self, name: &str) -> Option<&Destination> {
        self.destinations.iter().find(|d| &*d.name == name)
    }

    /// Route names, sorted, for messages.
    pub fn route_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.routes.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }
}
