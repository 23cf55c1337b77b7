//! A plugin: one compiled WebAssembly file, checked against its contract (a component
//! of the `weir:filter` world, or a core module of the JSON ABI), ready to be
//! instantiated cheaply any number of times.

use std::fmt;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use sha2::{Digest, Sha256};
use weir_contract::Version;

use super::cache::CacheOutcome;
use super::component::ComponentPre;
use super::engine::{EngineInner, PluginEngine};
use super::error::LoadError;
use super::log::PluginLog;
use super::module::ModulePre;

/// A compiled plugin. Cheap to share (`Arc<Plugin>`); instances of it are made by a
/// [`super::Filter`].
pub struct Plugin {
    name: Arc<str>,
    source: String,
    hash: String,
    size: usize,
    loaded_at: SystemTime,
    load_time: Duration,
    cache: CacheOutcome,
    /// The contract version it was built against: known at load for a component (from
    /// its imports), at its first instance for a core module (`weir_abi_version`).
    version: OnceLock<Version>,
    log: Arc<PluginLog>,
    pub(crate) code: Code,
    pub(crate) engine: Arc<EngineInner>,
}

/// A plugin's code, linked and ready to instantiate.
pub(crate) enum Code {
    /// A component of the `weir:filter` world.
    Component(ComponentPre),
    /// A core module of the JSON ABI.
    Module(ModulePre),
}

impl fmt::Debug for Plugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Plugin")
            .field("name", &self.name)
            .field("source", &self.source)
            .field("hash", &self.hash)
            .finish_non_exhaustive()
    }
}

/// What kind of WebAssembly binary some bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BinaryKind {
    Component,
    CoreModule,
    NotWasm,
}

fn binary_kind(bytes: &[u8]) -> BinaryKind {
    // The preamble is `\0asm`, a 16-bit version, and a 16-bit layer: 0 for core
    // modules, 1 for components.
    match bytes.get(..8) {
        Some([0, b'a', b's', b'm', _, _, 1, 0]) => BinaryKind::Component,
        Some([0, b'a', b's', b'm', _, _, 0, 0]) => BinaryKind::CoreModule,
        _ => BinaryKind::NotWasm,
    }
}

impl Plugin {
    /// Reads, compiles (or fetches from the cache) and type-checks a plugin file.
    ///
    /// Blocking, and slow on a cache miss: call it off the async reactor.
    pub fn from_file(engine: &PluginEngine, name: &str, path: &Path) -> Result<Plugin, LoadError> {
        let read_error = |error: std::io::Error| LoadError::Read {
            path: path.display().to_string(),
            reason: error.to_string(),
        };
        // Compiling takes time and memory in proportion to the file: a file past the
        // limit is refused before it is read whole.
        let size = std::fs::metadata(path).map_err(read_error)?.len();
        let limit = engine.inner.max_plugin_size;
        if size > limit {
            return Err(LoadError::Limit {
                path: path.display().to_string(),
                reason: format!(
                    "the file is {size} bytes, more than plugins.max_plugin_size ({limit} bytes); raise the limit if this plugin is trusted"
                ),
            });
        }
        let bytes = std::fs::read(path).map_err(read_error)?;
        Plugin::from_bytes(engine, name, &path.display().to_string(), &bytes)
    }

    /// Compiles (or fetches from the cache) and type-checks a plugin from its bytes;
    /// `source` names where they came from in messages.
    ///
    /// Blocking, and slow on a cache miss: call it off the async reactor.
    pub fn from_bytes(engine: &PluginEngine, name: &str, source: &str, bytes: &[u8]) -> Result<Plugin, LoadError> {
        let started = Instant::now();
        let path = source.to_string();
        let kind = binary_kind(bytes);
        if kind == BinaryKind::NotWasm {
            return Err(LoadError::NotWasm { path });
        }
        let hash = hex::encode(Sha256::digest(bytes));
        let inner = &engine.inner;
        let compile_error = |error: wasmtime::Error| LoadError::Compile {
            path: path.clone(),
            reason: format!("{error:#}"),
        };
        let version = OnceLock::new();
        let (code, cache) = if kind == BinaryKind::Component {
            let (component, cache) = inner
                .cache
                .load_or_compile(&inner.engine, bytes, &hash)
                .map_err(compile_error)?;
            let (pre, built_for) = ComponentPre::new(&inner.engine, &inner.linker, &component).map_err(|reason| {
                LoadError::WrongWorld {
                    path: path.clone(),
                    reason,
                }
            })?;
            let _ = version.set(built_for);
            (Code::Component(pre), cache)
        } else {
            let (module, cache) = inner
                .cache
                .load_or_compile(&inner.engine, bytes, &hash)
                .map_err(compile_error)?;
            let pre = ModulePre::new(&inner.module_linker, &module).map_err(|reason| LoadError::WrongAbi {
                path: path.clone(),
                reason,
            })?;
            (Code::Module(pre), cache)
        };
        let name: Arc<str> = name.into();
        Ok(Plugin {
            log: Arc::new(PluginLog::new(name.clone())),
            name,
            source: path,
            hash,
            size: bytes.len(),
            loaded_at: SystemTime::now(),
            load_time: started.elapsed(),
            cache,
            version,
            code,
            engine: inner.clone(),
        })
    }

    /// The plugin's name (its file stem).
    pub fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn name_arc(&self) -> Arc<str> {
        self.name.clone()
    }

    /// The budget of everything the plugin causes to be logged ([`PluginLog`]).
    pub fn log(&self) -> &Arc<PluginLog> {
        &self.log
    }

    /// `component` (the `weir:filter` world) or `core-module` (the JSON ABI of
    /// `wit/core-module.md`).
    pub fn kind(&self) -> &'static str {
        match self.code {
            Code::Component(_) => "component",
            Code::Module(_) => "core-module",
        }
    }

    /// The contract version it was built against, once known (a core module tells it
    /// when its first instance starts).
    pub fn contract_version(&self) -> Option<Version> {
        self.version.get().copied()
    }

    /// Records the version a core module's instance told.
    pub(crate) fn learned_version(&self, version: Version) {
        let _ = self.version.set(version);
    }

    /// Where it was loaded from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// SHA-256 of the file, hex.
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// Size of the file in bytes.
    pub fn size(&self) -> usize {
        self.size
    }

    /// When it was loaded.
    pub fn loaded_at(&self) -> SystemTime {
        self.loaded_at
    }

    /// How long compiling (or fetching from the cache) and checking took.
    pub fn load_time(&self) -> Duration {
        self.load_time
    }

    /// Whether the compiled code came from the cache.
    pub fn cache_outcome(&self) -> CacheOutcome {
        self.cache
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_components_from_core_modules_and_other_files() {
        assert_eq!(binary_kind(b"\0asm\x0d\0\x01\0rest"), BinaryKind::Component);
        assert_eq!(binary_kind(b"\0asm\x01\0\0\0rest"), BinaryKind::CoreModule);
        assert_eq!(binary_kind(b"\0asm"), BinaryKind::NotWasm);
        assert_eq!(binary_kind(b"#!/bin/sh\n"), BinaryKind::NotWasm);
    }
}
