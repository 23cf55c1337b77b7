//! Compiled plugin code, cached on disk.
//!
//! Cranelift takes from milliseconds (a small Rust filter) to tens of seconds (a
//! JavaScript engine) to compile a plugin; the cache makes every start after the first
//! load in milliseconds. An entry is named by the SHA-256 of the plugin bytes and the
//! engine's compatibility hash (wasmtime version and settings), so a changed plugin or
//! a new Weir never picks up stale code. Entries are written to a temporary file and
//! renamed into place, so a crash mid-write leaves no half entry behind.

use std::fs;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};

use wasmtime::component::Component;
use wasmtime::{Engine, Module};

/// Compiled code the cache holds: a component, or a core module of the JSON ABI.
#[allow(unsafe_code)]
pub(crate) trait Code: Sized {
    fn compile(engine: &Engine, bytes: &[u8]) -> wasmtime::Result<Self>;
    fn serialize(&self) -> wasmtime::Result<Vec<u8>>;
    /// # Safety
    ///
    /// The file must hold code this engine serialized (see [`deserialize`]).
    unsafe fn deserialize_file(engine: &Engine, path: &Path) -> wasmtime::Result<Self>;
}

/// `Code` for a wasmtime type with the same-named inherent methods.
macro_rules! code {
    ($type:ty) => {
        #[allow(unsafe_code)]
        impl Code for $type {
            fn compile(engine: &Engine, bytes: &[u8]) -> wasmtime::Result<Self> {
                <$type>::new(engine, bytes)
            }

            fn serialize(&self) -> wasmtime::Result<Vec<u8>> {
                <$type>::serialize(self)
            }

            unsafe fn deserialize_file(engine: &Engine, path: &Path) -> wasmtime::Result<Self> {
                // SAFETY: passed on to the caller.
                unsafe { <$type>::deserialize_file(engine, path) }
            }
        }
    };
}

code!(Component);
code!(Module);

/// Where compiled code came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    /// Loaded from the cache.
    Hit,
    /// Compiled now, and stored for next time.
    Compiled,
    /// Compiled now; the cache is disabled or could not be written.
    CompiledUncached,
}

/// The on-disk cache of compiled plugins.
#[derive(Debug)]
pub struct CodeCache {
    dir: Option<PathBuf>,
    engine_hash: String,
}

impl CodeCache {
    pub(crate) fn new(dir: Option<PathBuf>, engine: &Engine) -> Self {
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        CodeCache {
            dir,
            engine_hash: format!("{:016x}", hasher.finish()),
        }
    }

    /// The cache folder, if caching is on.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    fn entry(&self, content_hash: &str) -> Option<PathBuf> {
        let dir = self.dir.as_ref()?;
        Some(dir.join(format!("{content_hash}-{}.cwasm", self.engine_hash)))
    }

    /// The compiled code for these bytes: from the cache, or compiled (and then
    /// cached). Blocking and possibly slow: call it off the async reactor.
    pub(crate) fn load_or_compile<C: Code>(
        &self,
        engine: &Engine,
        bytes: &[u8],
        content_hash: &str,
    ) -> wasmtime::Result<(C, CacheOutcome)> {
        let entry = self.entry(content_hash);
        if let Some(path) = entry.as_deref().filter(|path| path.exists()) {
            match deserialize(engine, path) {
                Ok(component) => return Ok((component, CacheOutcome::Hit)),
                Err(error) => {
                    tracing::warn!(path = %path.display(), %error, "ignoring unreadable compiled-code cache entry");
                }
            }
        }
        let component = C::compile(engine, bytes)?;
        let Some(path) = entry else {
            return Ok((component, CacheOutcome::CompiledUncached));
        };
        match store(&component, &path) {
            Ok(()) => Ok((component, CacheOutcome::Compiled)),
            Err(error) => {
                tracing::warn!(path = %path.display(), %error, "could not write compiled-code cache entry");
                Ok((component, CacheOutcome::CompiledUncached))
            }
        }
    }
}

/// Loads a cache entry.
#[allow(unsafe_code)]
fn deserialize<C: Code>(engine: &Engine, path: &Path) -> wasmtime::Result<C> {
    // SAFETY: `deserialize_file` trusts the file to be code this engine compiled. Only
    // Weir writes the cache folder, always through `store` (temporary file + rename, so
    // never a partial entry), and the entry name pins the engine's compatibility hash.
    // The folder must not be writable by anyone Weir does not trust, like the plugin
    // folder itself.
    unsafe { C::deserialize_file(engine, path) }
}

fn store<C: Code>(component: &C, path: &Path) -> std::io::Result<()> {
    let bytes = component.serialize().map_err(std::io::Error::other)?;
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    fs::write(&tmp, bytes)?;
    fs::rename(&tmp, path)
}

/// The per-user cache folder: `$WEIR_CACHE_DIR`, else `$XDG_CACHE_HOME/weir`, else
/// `~/.cache/weir`; `None` when none can be told.
pub fn user_cache_dir() -> Option<PathBuf> {
    let var = |name: &str| {
        std::env::var_os(name)
            .filter(|value| !value.is_empty())
            .map(PathBuf::from)
    };
    var("WEIR_CACHE_DIR")
        .or_else(|| var("XDG_CACHE_HOME").map(|dir| dir.join("weir")))
        .or_else(|| var("HOME").map(|home| home.join(".cache").join("weir")))
}
