//! The running shape of a config: configured filters, routes and destinations, built on
//! the side and swapped in whole (the reload swaps a new topology in; events already
//! running keep the one they started with).
//!
//! Building is where plugins are compiled (off the reactor) and every filter's `init`
//! proves its config, so a topology that builds is one that runs; every problem found
//! is a [`ConfigError`] naming its key. A rebuild reuses every filter whose plugin
//! version and settings did not change, warm instances and all.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::config::limits::{DEFAULT_FILTER_MEMORY, DEFAULT_FILTER_TIMEOUT, default_filter_instances};
use crate::config::{
    AttachmentRule, Config, ConfigError, DestinationConfig, FailurePolicy, InstancesConfig, StateKind,
};
use crate::dispatch::Destination;
use crate::pipeline::{Route, Stage, Target};
use crate::plugin::registry::PluginRegistry;
use crate::plugin::state::{StateSettings, StateStores};
use crate::plugin::{Filter, FilterSettings, FilterTotals, InstancePolicy, Plugin};

/// Routes and destinations, and the config they came from.
pub struct Topology {
    /// Routes by name.
    pub routes: HashMap<String, Arc<Route>>,
    /// Destinations, in config order.
    pub destinations: Vec<Destination>,
    /// The config.
    pub config: Arc<Config>,
}

/// How to build.
#[derive(Clone, Copy)]
pub struct BuildOptions<'a> {
    /// Leave out filters whose key (`routes.NAME.filters[i]`, `destinations.NAME`) this
    /// names: `weir check` skips those it already reported.
    pub skip: &'a (dyn Fn(&str) -> bool + Sync),
    /// Build routes whose plugin is missing (removed at runtime), their stage marked
    /// missing, rather than fail.
    pub missing_ok: bool,
    /// New versions of plugins to build with instead of the registry's (`None`: the
    /// plugin's file is gone): a hot reload builds with them, and installs them in the
    /// registry only once the topology that runs them serves.
    pub replacing: Option<&'a BTreeMap<String, Option<Arc<Plugin>>>>,
}

impl Default for BuildOptions<'_> {
    fn default() -> Self {
        BuildOptions {
            skip: &|_| false,
            missing_ok: false,
            replacing: None,
        }
    }
}

/// How one filter of a config keeps its state.
pub fn state_settings(filter: &crate::config::FilterConfig) -> StateSettings {
    let defaults = weir_contract::state::StoreLimits::default();
    StateSettings {
        limits: weir_contract::state::StoreLimits {
            max_entries: filter.max_state_entries.unwrap_or(defaults.max_entries),
            max_bytes: filter.max_state_bytes.map_or(defaults.max_bytes, |b| b.0 as usize),
        },
        durable: filter.state == Some(StateKind::Durable),
    }
}

/// The settings of one filter of a config (its state store aside: see
/// [`state_settings`]).
pub fn filter_settings(filter: &crate::config::FilterConfig) -> FilterSettings {
    FilterSettings {
        config: filter
            .config
            .as_ref()
            .and_then(|value| serde_json::to_string(value).ok())
            .unwrap_or_else(|| "{}".into()),
        timeout: filter.timeout.map_or(DEFAULT_FILTER_TIMEOUT, |t| t.0),
        memory: filter.memory.map_or(DEFAULT_FILTER_MEMORY, |m| m.0),
        policy: match filter.instances {
            Some(InstancesConfig::Fresh) => InstancePolicy::Fresh,
            _ => InstancePolicy::Reuse,
        },
        max_instances: filter.max_instances.unwrap_or_else(default_filter_instances),
        ..FilterSettings::default()
    }
}

impl Topology {
    /// Builds a config's routes and destinations, loading plugins through `registry`
    /// and reusing the filters of `previous` that did not change.
    pub async fn build(
        config: &Config,
        file: &str,
        registry: &PluginRegistry,
        previous: Option<&Topology>,
        options: BuildOptions<'_>,
    ) -> Result<Topology, Vec<ConfigError>> {
        let mut problems = Vec::new();
        let problem = |key: String, message: String| ConfigError {
            file: file.to_string(),
            key,
            message,
        };
        if let Some(dir) = config.plugins.dir.as_deref()
            && !dir.is_dir()
        {
            problems.push(problem(
                "plugins.dir".into(),
                format!("{} is not a folder; create it or fix the path", dir.display()),
            ));
        }

        let mut routes = HashMap::new();
        for (route_name, route) in &config.routes {
            let mut stages = Vec::new();
            for (i, filter) in route.filters.iter().enumerate() {
                let key = format!("routes.{route_name}.filters[{i}]");
                if (options.skip)(&key) {
                    continue;
                }
                let occurrence = route.filters[..i].iter().filter(|f| f.plugin == filter.plugin).count();
                let scope = StateStores::scope_name(route_name, &filter.plugin, occurrence);
                let replaced = options
                    .replacing
                    .and_then(|plugins| plugins.get(&filter.plugin))
                    .cloned();
                let found = match replaced {
                    Some(plugin) => Ok(plugin),
                    None => registry.get(&filter.plugin).await,
                };
                let plugin = match found {
                    Ok(Some(plugin)) => plugin,
                    Ok(None) if options.missing_ok => {
                        stages.push(Stage::Missing {
                            plugin: filter.plugin.clone(),
                        });
                        continue;
                    }
                    Ok(None) => {
                        problems.push(problem(
                            format!("{key}.plugin"),
                            format!("plugin {:?} is missing", filter.plugin),
                        ));
                        continue;
                    }
                    Err(message) => {
                        problems.push(problem(format!("{key}.plugin"), message));
                        continue;
                    }
                };
                let states = registry.states().clone();
                let state = state_settings(filter);
                let handle = tokio::task::spawn_blocking(move || states.scope(&scope, state))
                    .await
                    .map_err(|error| error.to_string())
                    .and_then(|handle| handle);
                let state = match handle {
                    Ok(handle) => handle,
                    Err(message) => {
                        problems.push(problem(
                            format!("{key}.state"),
                            format!("the filter's state could not be read back: {message}"),
                        ));
                        continue;
                    }
                };
                let settings = FilterSettings {
                    state,
                    ..filter_settings(filter)
                };
                if let Some(reused) = previous.and_then(|p| p.reusable(route_name, i, &plugin, &settings)) {
                    stages.push(Stage::Ready(reused));
                    continue;
                }
                match Filter::new(plugin, settings).await {
                    Ok(built) => stages.push(Stage::Ready(Arc::new(built))),
                    Err(error) => problems.push(problem(key, error.to_string())),
                }
            }
            // Which attachments each destination sends is decided here, once per route
            // and destination, from the destination's config.
            let target = |name: &str| Target {
                name: name.into(),
                attachments: config
                    .destinations
                    .get(name)
                    .map_or(AttachmentRule::NONE, DestinationConfig::attachments),
            };
            let failure_target = match &route.on_filter_error {
                FailurePolicy::SendTo(name) => Some(target(name)),
                _ => None,
            };
            routes.insert(
                route_name.clone(),
                Arc::new(Route {
                    name: route_name.as_str().into(),
                    stages,
                    destinations: route.destinations.iter().map(|d| target(d)).collect(),
                    policy: route.on_filter_error.clone(),
                    failure_target,
                }),
            );
        }

        let mut destinations = Vec::new();
        for (name, destination) in &config.destinations {
            if (options.skip)(&format!("destinations.{name}")) {
                continue;
            }
            match Destination::new(name, destination, &[config.server.listen, config.admin.listen]) {
                Ok(mut built) => {
                    built.expiry.routes = config
                        .routes
                        .iter()
                        .filter_map(|(route, settings)| Some((route.clone(), settings.max_age?.0)))
                        .collect();
                    destinations.push(built);
                }
                Err(message) => problems.push(problem(format!("destinations.{name}"), message)),
            }
        }
        if problems.is_empty() {
            Ok(Topology {
                routes,
                destinations,
                config: Arc::new(config.clone()),
            })
        } else {
            Err(problems)
        }
    }

    /// The filter at this place, if it runs this plugin version with these settings.
    fn reusable(
        &self,
        route: &str,
        index: usize,
        plugin: &Arc<Plugin>,
        settings: &FilterSettings,
    ) -> Option<Arc<Filter>> {
        let Stage::Ready(filter) = self.routes.get(route)?.stages.get(index)? else {
            return None;
        };
        (Arc::ptr_eq(filter.plugin(), plugin) && filter.settings() == settings).then(|| filter.clone())
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

    /// Every plugin name the routes use.
    pub fn plugin_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .config
            .routes
            .values()
            .flat_map(|r| r.filters.iter().map(|f| f.plugin.clone()))
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// The routes using a plugin.
    pub fn routes_using(&self, plugin: &str) -> Vec<String> {
        let mut names: Vec<String> = self
            .config
            .routes
            .iter()
            .filter(|(_, route)| route.filters.iter().any(|f| f.plugin == plugin))
            .map(|(name, _)| name.clone())
            .collect();
        names.sort();
        names
    }

    /// A plugin's counters, added up over the running filters that use it.
    pub fn plugin_totals(&self, plugin: &str) -> FilterTotals {
        let mut totals = FilterTotals::default();
        for stage in self.routes.values().flat_map(|route| route.stages.iter()) {
            if let Stage::Ready(filter) = stage
                && filter.plugin().name() == plugin
            {
                totals.add_filter(filter);
            }
        }
        totals
    }
}
