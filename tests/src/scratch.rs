//! Scratch space under `target/test-scratch/`: a folder of its own for each test that
//! needs files (plugin folders, config files, sockets, stores), emptied when the test
//! starts and left behind afterwards, for a look after a failure.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::workspace;

/// `target/test-scratch/NAME` (`NAME` may have folders: `reload/replace`), fresh and
/// empty. Each test names its own, so tests running at once never share one.
pub fn folder(name: &str) -> PathBuf {
    let dir = workspace().join("target").join("test-scratch").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
    dir
}

/// A fresh [`folder`] with an empty `plugins/` folder in it, for a test that installs
/// plugin files (`[plugins] dir = "…/plugins"`).
pub fn plugins_folder(name: &str) -> PathBuf {
    let dir = folder(name);
    std::fs::create_dir_all(dir.join("plugins")).unwrap();
    dir
}

/// A fresh database path for one test's durable store (its folder is not created:
/// Weir creates it).
pub fn scratch_store() -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = workspace()
        .join("target")
        .join("test-scratch")
        .join("stores")
        .join(format!("{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir.join("outbox.db")
}
