//! Compiled plugin code, cached on disk.
//!
//! Cranelift takes from milliseconds (a small Rust filter) to tens of seconds (a
//! JavaScript engine) to compile a plugin; the cache makes every start after the first
//! load in milliseconds. An entry is named by the SHA-256 of the plugin bytes and the
//! engine's compatibility hash (wasmtime version and settings), so a changed plugin or
//! a new Weir never picks up stale code. Entries are written to a temporary file and
//! renamed into place, so a crash mid-write leaves no half entry behind.
//!
//! An entry is not trusted by its name alone: it ends with a trailer holding the
//! SHA-256 of the plugin it was compiled from and of the compiled code before it, both
//! checked at every load. An entry swapped for another plugin's, or damaged, is
//! compiled afresh rather than run. The folder is created owner-only (0700, entries
//! 0600): loading compiled code runs it, so only Weir's user may write it.
//!
//! A checked entry is mapped, not read: the code stays in the page cache, shared by
//! every Weir on the machine, and only the pages a filter runs are resident. Read into
//! memory, a Python filter (37 MB of compiled code) cost 37 MB of private memory for
//! good, and twice that while it loaded. Mapping asks that an entry never change in
//! place while a Weir uses it: Weir replaces entries by renaming a new file over them
//! (the mapped one lives on, unchanged, until it is unmapped), and the folder is
//! owner-only. The trailer goes at the end because the code must start the file to be
//! mapped as wasmtime lays it out. Where the folder cannot be mapped executable (a
//! `noexec` mount), the code is read into memory instead.

use std::fs;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt, FileExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::{Engine, Module};

/// The tag that starts every entry's trailer; a new layout gets a new tag.
const MAGIC: &[u8] = b"\nweir-compiled-code 2\n";

/// The trailer: the tag, then the plugin's and the code's SHA-256, each 32 bytes.
const TRAILER_LEN: usize = MAGIC.len() + 64;

/// Compiled code the cache holds: a component, or a core module of the JSON ABI.
#[allow(unsafe_code)]
pub(crate) trait Code: Sized + Send {
    fn compile(engine: &Engine, bytes: &[u8]) -> wasmtime::Result<Self>;
    fn serialize(&self) -> wasmtime::Result<Vec<u8>>;
    /// # Safety
    ///
    /// The file must hold code this engine serialized, and must not change while the
    /// code lives (see [`deserialize`]).
    unsafe fn deserialize_file(engine: &Engine, path: &Path) -> wasmtime::Result<Self>;
    /// # Safety
    ///
    /// The bytes must be code this engine serialized (see [`deserialize`]).
    unsafe fn deserialize(engine: &Engine, bytes: &[u8]) -> wasmtime::Result<Self>;
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

            unsafe fn deserialize(engine: &Engine, bytes: &[u8]) -> wasmtime::Result<Self> {
                // SAFETY: passed on to the caller.
                unsafe { <$type>::deserialize(engine, bytes) }
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
    /// Held while a plugin compiles: one compile at a time.
    compiling: Mutex<()>,
    /// Compile at a lower priority (Weir is serving events).
    background: bool,
}

impl CodeCache {
    /// The cache in `dir` (created owner-only); without one, or when the folder cannot
    /// be made private, plugins are compiled at every load.
    pub(crate) fn new(dir: Option<PathBuf>, engine: &Engine, background: bool) -> Self {
        let dir = dir.filter(|dir| match private_dir(dir) {
            Ok(()) => true,
            Err(error) => {
                tracing::warn!(path = %dir.display(), %error, "compiled-code cache disabled: plugins are compiled at every load");
                false
            }
        });
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        CodeCache {
            dir,
            engine_hash: format!("{:016x}", hasher.finish()),
            compiling: Mutex::new(()),
            background,
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
            match deserialize(engine, path, content_hash) {
                Ok(component) => return Ok((component, CacheOutcome::Hit)),
                Err(error) => {
                    tracing::warn!(path = %path.display(), %error, "ignoring compiled-code cache entry; compiling the plugin again");
                }
            }
        }
        let component = self.compile(engine, bytes)?;
        let Some(path) = entry else {
            return Ok((component, CacheOutcome::CompiledUncached));
        };
        match store(&component, &path, content_hash) {
            Ok(()) => Ok((component, CacheOutcome::Compiled)),
            Err(error) => {
                tracing::warn!(path = %path.display(), %error, "could not write compiled-code cache entry");
                Ok((component, CacheOutcome::CompiledUncached))
            }
        }
    }
}

impl CodeCache {
    /// Compiles a plugin, one at a time in the process. When Weir is serving
    /// (`background`), on one thread (the engine has parallel compilation off) running
    /// at a lower priority, so that a plugin compiling during a hot reload (a big one
    /// takes seconds and hundreds of MiB) leaves the cores to the routes serving
    /// events; the commands that only compile and run a plugin use every core.
    fn compile<C: Code + Send>(&self, engine: &Engine, bytes: &[u8]) -> wasmtime::Result<C> {
        let _one_at_a_time = self.compiling.lock().unwrap_or_else(PoisonError::into_inner);
        std::thread::scope(|scope| {
            let compiler = std::thread::Builder::new()
                .name("weir-compile".into())
                .spawn_scoped(scope, || {
                    if self.background {
                        lower_priority();
                    }
                    C::compile(engine, bytes)
                })?;
            compiler
                .join()
                .unwrap_or_else(|_| Err(wasmtime::format_err!("the compiler panicked")))
        })
    }
}

/// Niceness of the compiler thread: below the threads serving events.
const COMPILE_NICENESS: libc::c_int = 10;

/// Lowers the calling thread's scheduling priority (Linux schedules threads, so this is
/// the thread's own niceness). Best effort: where it is refused, the compile runs at
/// normal priority.
#[allow(unsafe_code)]
fn lower_priority() {
    // SAFETY: `setpriority` on the calling thread's id reads no memory of ours.
    unsafe {
        let thread = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, thread as libc::id_t, COMPILE_NICENESS);
    }
}

/// Loads the cache entry of the plugin whose SHA-256 is `content_hash` (hex), once its
/// trailer proves it was compiled from exactly that plugin and is whole.
#[allow(unsafe_code)]
fn deserialize<C: Code>(engine: &Engine, path: &Path, content_hash: &str) -> wasmtime::Result<C> {
    let file = fs::File::open(path)?;
    let len = file.metadata()?.len();
    let Some(code_len) = len.checked_sub(TRAILER_LEN as u64) else {
        wasmtime::bail!("not an entry of this Weir's cache");
    };
    let mut trailer = [0; TRAILER_LEN];
    file.read_exact_at(&mut trailer, code_len)?;
    let (magic, sums) = trailer.split_at(MAGIC.len());
    let (of_source, of_code) = sums.split_at(32);
    if magic != MAGIC {
        wasmtime::bail!("not an entry of this Weir's cache");
    }
    if hex::encode(of_source) != content_hash {
        wasmtime::bail!("compiled from another plugin than this one");
    }
    // Read in pieces: the code is mapped below, not held in memory.
    let mut digest = Sha256::new();
    let mut piece = vec![0; 256 << 10];
    let mut at = 0;
    while at < code_len {
        let n = piece.len().min((code_len - at) as usize);
        file.read_exact_at(&mut piece[..n], at)?;
        digest.update(&piece[..n]);
        at += n as u64;
    }
    if of_code != digest.finalize().as_slice() {
        wasmtime::bail!("damaged: its code does not match its checksum");
    }
    // SAFETY: `deserialize_file` trusts the file to hold code this engine compiled, and
    // to stay as it is while the code lives. It holds what `store` wrote for this very
    // plugin (both checksums match), under a name that pins the engine's compatibility
    // hash, in a folder only Weir's user may write; and Weir never writes an entry in
    // place (`store` renames a new file over it), so the file mapped is the one checked
    // or, renamed over since, another compile of the same plugin by the same engine.
    match unsafe { C::deserialize_file(engine, path) } {
        Ok(code) => Ok(code),
        // A cache folder on a file system mounted `noexec` cannot be mapped executable;
        // the code is then read into memory, as it is checked.
        Err(error) => {
            tracing::debug!(path = %path.display(), %error, "compiled code not mapped; reading it instead");
            let mut code = vec![0; code_len as usize];
            file.read_exact_at(&mut code, 0)?;
            if of_code != Sha256::digest(&code).as_slice() {
                wasmtime::bail!("damaged: its code does not match its checksum");
            }
            // SAFETY: `deserialize` trusts the bytes to be code this engine compiled:
            // the bytes checked just now, of the entry described above.
            unsafe { C::deserialize(engine, &code) }
        }
    }
}

fn store<C: Code>(component: &C, path: &Path, content_hash: &str) -> std::io::Result<()> {
    let of_source = hex::decode(content_hash).map_err(std::io::Error::other)?;
    let code = component.serialize().map_err(std::io::Error::other)?;
    if let Some(dir) = path.parent() {
        private_dir(dir)?;
    }
    // A name of this write's own: two threads (or processes) compiling the same plugin
    // at once must not write into one temporary file, or the entry renamed into place
    // could hold parts of both.
    static WRITES: AtomicU64 = AtomicU64::new(0);
    let tmp = path.with_extension(format!(
        "tmp{}-{}",
        std::process::id(),
        WRITES.fetch_add(1, Ordering::Relaxed)
    ));
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    file.write_all(&code)?;
    file.write_all(MAGIC)?;
    file.write_all(&of_source)?;
    file.write_all(&Sha256::digest(&code))?;
    drop(file);
    fs::rename(&tmp, path)
}

/// Creates the cache folder owner-only, or makes an existing one so; refuses a folder
/// that others may write and that cannot be made private.
fn private_dir(dir: &Path) -> std::io::Result<()> {
    fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    let mode = fs::metadata(dir)?.permissions().mode();
    if mode & 0o077 != 0 {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(|error| {
            std::io::Error::other(format!(
                "the cache folder {} is open to other users (mode {:o}) and cannot be made private: {error}",
                dir.display(),
                mode & 0o777
            ))
        })?;
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Code that cannot be mapped, as on a `noexec` mount: loads only from bytes read.
    #[derive(Debug, PartialEq)]
    struct Unmappable(Vec<u8>);

    #[allow(unsafe_code)]
    impl Code for Unmappable {
        fn compile(_: &Engine, bytes: &[u8]) -> wasmtime::Result<Self> {
            Ok(Unmappable(bytes.iter().rev().copied().collect()))
        }
        fn serialize(&self) -> wasmtime::Result<Vec<u8>> {
            Ok(self.0.clone())
        }
        unsafe fn deserialize_file(_: &Engine, _: &Path) -> wasmtime::Result<Self> {
            wasmtime::bail!("failed to mmap: Permission denied (os error 13)")
        }
        unsafe fn deserialize(_: &Engine, bytes: &[u8]) -> wasmtime::Result<Self> {
            Ok(Unmappable(bytes.to_vec()))
        }
    }

    #[test]
    fn code_that_cannot_be_mapped_is_read_checked_and_loaded() {
        let dir = std::env::temp_dir().join(format!("weir-cache-test-{}-unmappable", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let engine = Engine::default();
        let cache = CodeCache::new(Some(dir.clone()), &engine, false);
        let source = b"the plugin's bytes";
        let hash = hex::encode(Sha256::digest(source));

        let (compiled, outcome) = cache.load_or_compile::<Unmappable>(&engine, source, &hash).unwrap();
        assert_eq!(outcome, CacheOutcome::Compiled);
        let (loaded, outcome) = cache.load_or_compile::<Unmappable>(&engine, source, &hash).unwrap();
        assert_eq!(
            outcome,
            CacheOutcome::Hit,
            "read from the entry though it cannot be mapped"
        );
        assert_eq!(loaded, compiled);

        // A damaged entry read this way is refused as a mapped one is: compiled again.
        let entry = cache.entry(&hash).unwrap();
        let mut bytes = fs::read(&entry).unwrap();
        bytes[0] ^= 1;
        fs::write(&entry, bytes).unwrap();
        let (again, outcome) = cache.load_or_compile::<Unmappable>(&engine, source, &hash).unwrap();
        assert_eq!(outcome, CacheOutcome::Compiled);
        assert_eq!(again, compiled);
        let _ = fs::remove_dir_all(&dir);
    }
}
