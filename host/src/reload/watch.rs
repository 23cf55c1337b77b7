//! Watching the plugin folder and the config file, and SIGHUP.
//!
//! Editors and `cp` write a file in several steps (truncate, write in chunks, rename),
//! so events are debounced: a file is reloaded once it has been quiet for [`QUIET`].
//! A file caught half-written anyway fails to compile and is retried when the writing
//! finishes (its next event), while the last good version keeps serving.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use notify::{EventKind, RecursiveMode, Watcher};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::Reloader;

/// How long a file must be quiet before it is reloaded.
pub const QUIET: Duration = Duration::from_millis(100);

/// File events waiting for the debouncer; past this, events are dropped and a full
/// rescan is done instead.
const EVENT_QUEUE: usize = 1024;

/// What changed.
#[derive(Debug)]
enum Change {
    Path(PathBuf),
    /// Events were dropped: look at everything.
    Rescan,
}

/// Starts watching the plugin folder and the config file; the returned task runs until
/// `stop` is cancelled (and owns the watcher, which stops with it).
pub fn spawn_watchers(
    reloader: Arc<Reloader>,
    plugin_dir: Option<PathBuf>,
    stop: CancellationToken,
) -> Result<JoinHandle<()>, String> {
    let (tx, rx) = mpsc::channel(EVENT_QUEUE);
    let overflow = tx.clone();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else {
            let _ = overflow.try_send(Change::Rescan);
            return;
        };
        if matches!(event.kind, EventKind::Access(_)) {
            return;
        }
        for path in event.paths {
            if tx.try_send(Change::Path(path)).is_err() {
                let _ = overflow.try_send(Change::Rescan);
            }
        }
    })
    .map_err(|error| format!("cannot watch files: {error}"))?;
    if let Some(dir) = &plugin_dir {
        watcher
            .watch(dir, RecursiveMode::NonRecursive)
            .map_err(|error| format!("cannot watch the plugin folder {}: {error}", dir.display()))?;
    }
    let config_dir = reloader.config_path.as_ref().and_then(|p| {
        p.parent()
            .map(|d| if d.as_os_str().is_empty() { Path::new(".") } else { d })
            .map(Path::to_path_buf)
    });
    if let Some(dir) = &config_dir {
        // The folder, not the file: editors replace a file by renaming a new one onto it.
        if plugin_dir.as_deref() != Some(dir.as_path()) {
            watcher
                .watch(dir, RecursiveMode::NonRecursive)
                .map_err(|error| format!("cannot watch the config folder {}: {error}", dir.display()))?;
        }
    }
    // Registered here, before Weir says it is ready, not in the task: a SIGHUP sent
    // right after "ready" must reload, not meet the default action (exit).
    let hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    Ok(tokio::spawn(debounce(reloader, watcher, rx, hangup, stop)))
}

async fn debounce(
    reloader: Arc<Reloader>,
    watcher: notify::RecommendedWatcher,
    mut changes: mpsc::Receiver<Change>,
    mut hangup: Option<tokio::signal::unix::Signal>,
    stop: CancellationToken,
) {
    let _watcher = watcher;
    let config_name = reloader
        .config_path
        .as_ref()
        .and_then(|p| p.file_name().map(|n| n.to_os_string()));
    let mut waiting: HashMap<PathBuf, Instant> = HashMap::new();
    let mut config_due: Option<Instant> = None;
    let mut rescan = false;
    loop {
        let next = waiting.values().copied().chain(config_due).min().map(|at| at + QUIET);
        tokio::select! {
            _ = stop.cancelled() => return,
            change = changes.recv() => match change {
                Some(Change::Path(path)) => {
                    let is_config = config_name.is_some() && path.file_name() == config_name.as_deref();
                    if is_config {
                        config_due = Some(Instant::now());
                    } else if path.extension().is_some_and(|e| e == "wasm") {
                        waiting.insert(path, Instant::now());
                    }
                }
                Some(Change::Rescan) => rescan = true,
                None => return,
            },
            _ = async { match hangup.as_mut() { Some(signal) => { signal.recv().await; } None => std::future::pending().await } } => {
                tracing::info!("received SIGHUP: reloading the config");
                config_due = Some(Instant::now() - QUIET);
            }
            _ = sleep_until(next) => {}
        }
        let now = Instant::now();
        if config_due.is_some_and(|at| now >= at + QUIET) {
            config_due = None;
            let _ = reloader.config_changed().await;
        }
        let quiet: Vec<PathBuf> = waiting
            .iter()
            .filter(|(_, at)| now >= **at + QUIET)
            .map(|(p, _)| p.clone())
            .collect();
        let mut names = BTreeSet::new();
        for path in quiet {
            waiting.remove(&path);
            if let Some(stem) = path.file_stem() {
                names.insert(stem.to_string_lossy().into_owned());
            }
        }
        if rescan {
            rescan = false;
            names.extend(reloader.topology.load().plugin_names());
        }
        if !names.is_empty() {
            reloader.plugins_changed(names).await;
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}
