//! The plugins Weir has loaded, by name, with what the admin API shows of them.
//!
//! A name resolves to `<plugin folder>/<name>.wasm`, else to the embedded example of that
//! name. The registry keeps the last version that loaded well: a new file that fails to
//! compile, to type-check or to initialise is recorded as the plugin's error and the
//! previous version goes on serving. A plugin whose file is removed is marked missing
//! (routes using it apply their failure policy) until it comes back.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use serde::Serialize;

use super::compiled::Plugin;
use super::engine::PluginEngine;
use super::examples::example;
use super::state::StateStores;

/// Where a plugin name resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginSource {
    /// A file in the plugin folder.
    File(PathBuf),
    /// An embedded example.
    Example(&'static str),
}

impl PluginSource {
    /// How the admin API names the source.
    pub fn describe(&self) -> String {
        match self {
            PluginSource::File(path) => path.display().to_string(),
            PluginSource::Example(name) => format!("(example) {name}"),
        }
    }
}

/// Finds a plugin by name: `<dir>/<name>.wasm` first, then the embedded examples.
pub fn resolve(dir: Option<&Path>, name: &str) -> Option<PluginSource> {
    // Never a path out of the folder, whoever asks (the config refuses such names too).
    if !crate::config::is_plugin_name(name) {
        return None;
    }
    if let Some(dir) = dir {
        let path = dir.join(format!("{name}.wasm"));
        if path.is_file() {
            return Some(PluginSource::File(path));
        }
    }
    example(name).map(|example| PluginSource::Example(example.name))
}

/// Loads one plugin from its source, off the async reactor.
pub async fn load(engine: &PluginEngine, name: &str, source: &PluginSource) -> Result<Plugin, String> {
    let engine = engine.clone();
    let name = name.to_string();
    let source = source.clone();
    let loaded = tokio::task::spawn_blocking(move || match &source {
        PluginSource::File(path) => Plugin::from_file(&engine, &name, path),
        PluginSource::Example(example_name) => {
            let example = example(example_name).expect("resolved from the examples");
            Plugin::from_bytes(&engine, &name, &source.describe(), example.bytes)
        }
    })
    .await;
    match loaded {
        Ok(Ok(plugin)) => Ok(plugin),
        Ok(Err(error)) => Err(error.to_string()),
        Err(join) => Err(format!("loading failed: {join}")),
    }
}

/// One plugin's state.
#[derive(Debug, Clone, Default)]
struct Entry {
    /// The version serving, if any.
    current: Option<Arc<Plugin>>,
    /// Why the last attempt to load a new version failed, and when.
    error: Option<(String, SystemTime)>,
    /// Whether its file was removed (and no example stands in).
    missing: bool,
    /// Versions installed since start.
    versions: u64,
}

/// A plugin as the admin API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct PluginStatus {
    /// Its name.
    pub name: String,
    /// Where the serving version came from.
    pub source: Option<String>,
    /// SHA-256 of the serving version.
    pub hash: Option<String>,
    /// `component` (the `weir:filter` world) or `core-module` (the JSON ABI).
    pub kind: Option<&'static str>,
    /// The contract version the serving version was built against (`0.2.0`).
    pub contract: Option<String>,
    /// When the serving version was loaded.
    pub loaded_at: Option<String>,
    /// Whether the plugin is missing (its file removed).
    pub missing: bool,
    /// The last load failure, if the newest file did not load.
    pub last_error: Option<String>,
    /// When that failure happened.
    pub last_error_at: Option<String>,
    /// Versions loaded since start (1 until a reload).
    pub versions: u64,
}

/// A time as the admin API shows it (RFC 3339, milliseconds).
fn rfc3339(at: SystemTime) -> String {
    humantime::format_rfc3339_millis(at).to_string()
}

/// The loaded plugins.
pub struct PluginRegistry {
    engine: PluginEngine,
    dir: Mutex<Option<PathBuf>>,
    entries: Mutex<BTreeMap<String, Entry>>,
    /// The filters' state stores, which outlive every version of every plugin.
    states: Arc<StateStores>,
}

impl PluginRegistry {
    /// An empty registry reading plugins from `dir` (and the examples), whose filters
    /// keep their state in `states`.
    pub fn new(engine: PluginEngine, dir: Option<PathBuf>, states: Arc<StateStores>) -> Self {
        PluginRegistry {
            engine,
            dir: Mutex::new(dir),
            entries: Mutex::new(BTreeMap::new()),
            states,
        }
    }

    /// The filters' state stores.
    pub fn states(&self) -> &Arc<StateStores> {
        &self.states
    }

    fn entries(&self) -> MutexGuard<'_, BTreeMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The plugin folder.
    pub fn dir(&self) -> Option<PathBuf> {
        self.dir.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Changes the plugin folder (a config reload).
    pub fn set_dir(&self, dir: Option<PathBuf>) {
        *self.dir.lock().unwrap_or_else(PoisonError::into_inner) = dir;
    }

    /// The engine.
    pub fn engine(&self) -> &PluginEngine {
        &self.engine
    }

    /// The serving version of a plugin, loading it the first time it is asked for.
    /// `Ok(None)` when the plugin is known but missing.
    pub async fn get(&self, name: &str) -> Result<Option<Arc<Plugin>>, String> {
        if let Some(entry) = self.entries().get(name)
            && (entry.current.is_some() || entry.missing)
        {
            return Ok(entry.current.clone());
        }
        let dir = self.dir();
        let Some(source) = resolve(dir.as_deref(), name) else {
            let place = match &dir {
                Some(dir) => format!("there is no {name}.wasm in {}", dir.display()),
                None => "no plugin folder is configured ([plugins] dir)".to_string(),
            };
            return Err(format!(
                "no plugin named {name:?}: {place}, and it is not an example ({})",
                super::examples::names()
            ));
        };
        let plugin = Arc::new(load(&self.engine, name, &source).await?);
        let mut entries = self.entries();
        let entry = entries.entry(name.to_string()).or_default();
        entry.current = Some(plugin.clone());
        entry.versions += 1;
        Ok(Some(plugin))
    }

    /// Loads a new version of a plugin (its file changed); returns it without making it
    /// current: the caller builds a topology with it, and installs it with
    /// [`PluginRegistry::install`] once that topology serves, or records why not with
    /// [`PluginRegistry::failed`].
    /// `Ok(None)` means the plugin is now missing (its file was removed and no example
    /// stands in).
    pub async fn load_new(&self, name: &str) -> Result<Option<Arc<Plugin>>, String> {
        let dir = self.dir();
        match resolve(dir.as_deref(), name) {
            Some(source) => Ok(Some(Arc::new(load(&self.engine, name, &source).await?))),
            None => Ok(None),
        }
    }

    /// Makes a version current (or marks the plugin missing, with `None`), once the
    /// topology running it serves; whether it counted as a new version.
    pub fn install(&self, name: &str, plugin: Option<Arc<Plugin>>) -> bool {
        let mut entries = self.entries();
        let entry = entries.entry(name.to_string()).or_default();
        entry.missing = plugin.is_none();
        let new_version = match (&entry.current, &plugin) {
            (Some(old), Some(new)) => !Arc::ptr_eq(old, new),
            (None, Some(_)) => true,
            _ => false,
        };
        if new_version {
            entry.versions += 1;
        }
        entry.current = plugin;
        entry.error = None;
        new_version
    }

    /// Records why a new version of a plugin was refused; the current one stays.
    pub fn failed(&self, name: &str, error: String) {
        self.entries().entry(name.to_string()).or_default().error = Some((error, SystemTime::now()));
    }

    /// Whether the registry knows this plugin (some route used it).
    pub fn knows(&self, name: &str) -> bool {
        self.entries().contains_key(name)
    }

    /// Forgets plugins no route uses any more.
    pub fn retain(&self, used: &[String]) {
        self.entries().retain(|name, _| used.contains(name));
    }

    /// Every plugin's state.
    pub fn status(&self) -> Vec<PluginStatus> {
        self.entries()
            .iter()
            .map(|(name, entry)| PluginStatus {
                name: name.clone(),
                source: entry.current.as_ref().map(|p| p.source().to_string()),
                hash: entry.current.as_ref().map(|p| p.hash().to_string()),
                kind: entry.current.as_ref().map(|p| p.kind()),
                contract: entry
                    .current
                    .as_ref()
                    .and_then(|p| p.contract_version())
                    .map(|v| v.to_string()),
                loaded_at: entry.current.as_ref().map(|p| rfc3339(p.loaded_at())),
                missing: entry.missing,
                last_error: entry.error.as_ref().map(|(e, _)| e.clone()),
                last_error_at: entry.error.as_ref().map(|(_, at)| rfc3339(*at)),
                versions: entry.versions,
            })
            .collect()
    }
}
