//! Running Weir: build the topology, bind the listeners, serve, and shut down in
//! event-path order (stop ingest, let accepted requests finish, give deliveries their
//! grace period, stop the admin listener last).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::admin::{self, AdminState, Readiness};
use crate::config::{Config, ConfigError, StorageKind};
use crate::connections::{self, ConnectionLimits, descriptors, tls};
use crate::dispatch::Dispatcher;
use crate::ingest::{self, IngestState};
use crate::metrics::Metrics;
use crate::outbox::Outbox;
use crate::outbox::jetstream::JetStreamOutbox;
use crate::outbox::memory::MemoryOutbox;
use crate::outbox::quota::Quotas;
use crate::outbox::sqlite::SqliteOutbox;
use crate::plugin::registry::PluginRegistry;
use crate::plugin::state::{StatePersistence, StateStores};
use crate::plugin::{EngineSettings, PluginEngine};
use crate::reload::Reloader;
use crate::reload::watch::spawn_watchers;
use crate::topology::{BuildOptions, Topology};

/// Why Weir could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The config (or a plugin it names) is wrong.
    #[error("the config has {} problem(s)", .0.len())]
    Config(Vec<ConfigError>),
    /// A listener could not be bound.
    #[error("cannot listen on {address}: {reason}")]
    Bind {
        /// The address.
        address: String,
        /// The OS error.
        reason: String,
    },
    /// Something else failed.
    #[error("{0}")]
    Other(String),
}

/// A running Weir.
pub struct Server {
    ingest_addr: SocketAddr,
    admin_addr: SocketAddr,
    unix_socket: Option<PathBuf>,
    stop: CancellationToken,
    done: JoinHandle<()>,
}

impl Server {
    /// Builds everything the config describes and starts serving. With `config_path`,
    /// the file is watched and reloaded on change (and on SIGHUP); the plugin folder is
    /// watched either way.
    pub async fn start(config: Config, source: &str, config_path: Option<PathBuf>) -> Result<Server, StartError> {
        // reqwest is built without a default TLS provider; choose ring, once.
        crate::install_tls_provider();

        // Read before anything is started: unusable TLS files refuse the start.
        let tls = tls_files(&config)
            .map(tls::acceptor)
            .transpose()
            .map_err(|error| StartError::Other(format!("server.tls_cert: {error}")))?;
        let settings = EngineSettings {
            compile_in_background: true,
            ..EngineSettings::from_config(&config.plugins)
        };
        let engine = PluginEngine::new(&settings)
            .map_err(|error| StartError::Other(format!("cannot start the plugin engine: {error:#}")))?;
        let storage = &config.storage;
        let mut shared = None;
        let (outbox, durable): (Arc<dyn Outbox>, Option<Arc<SqliteOutbox>>) = match storage.kind {
            StorageKind::Memory => (
                Arc::new(MemoryOutbox::new(storage.max_pending, storage.max_bytes.0)),
                None,
            ),
            StorageKind::Jetstream => {
                let store = Arc::new(JetStreamOutbox::open(storage).await.map_err(StartError::Other)?);
                shared = Some(store.clone());
                (store, None)
            }
            StorageKind::Durable => {
                let (path, max_pending, max_bytes) = (storage.path.clone(), storage.max_pending, storage.max_bytes.0);
                let opened = tokio::task::spawn_blocking(move || SqliteOutbox::open(&path, max_pending, max_bytes))
                    .await
                    .map_err(|error| StartError::Other(error.to_string()))?
                    .map_err(|error| StartError::Other(format!("cannot open the durable store: {error}")))?;
                let store = Arc::new(opened);
                (store.clone(), Some(store))
            }
        };
        // Filters' state is written where the events are, when they are written at all.
        let persistence = durable
            .clone()
            .map(|store| Arc::new(DurableState(store)) as Arc<dyn StatePersistence>);
        let states = Arc::new(StateStores::new(persistence));
        let registry = Arc::new(PluginRegistry::new(engine, config.plugins.dir.clone(), states.clone()));
        let topology = Topology::build(&config, source, &registry, None, BuildOptions::default())
            .await
            .map_err(StartError::Config)?;
        outbox.set_quotas(Quotas::from_config(&config));
        let metrics = Arc::new(Metrics::new());
        let dispatcher = Arc::new(Dispatcher::new(outbox.clone(), metrics.clone()).map_err(StartError::Other)?);
        dispatcher.apply(&topology.destinations);
        let topology = Arc::new(ArcSwap::from_pointee(topology));
        let reloader = Arc::new(Reloader::new(
            config_path,
            registry.clone(),
            topology.clone(),
            dispatcher.clone(),
            outbox.clone(),
        ));

        let bind = |address: SocketAddr| async move {
            TcpListener::bind(address).await.map_err(|error| StartError::Bind {
                address: address.to_string(),
                reason: error.to_string(),
            })
        };
        let ingest_listener = bind(config.server.listen).await?;
        let admin_listener = bind(config.admin.listen).await?;
        let unix_listener = match &config.server.unix_socket {
            Some(path) => Some(bind_unix(path)?),
            None => None,
        };
        let ingest_addr = ingest_listener
            .local_addr()
            .map_err(|e| StartError::Other(e.to_string()))?;
        let admin_addr = admin_listener
            .local_addr()
            .map_err(|e| StartError::Other(e.to_string()))?;

        dispatcher.set_own_listeners(vec![ingest_addr, admin_addr]);
        let ready = Readiness::default();
        let ingest_router = ingest::router(IngestState {
            topology: topology.clone(),
            outbox: outbox.clone(),
            metrics: metrics.clone(),
        });
        let admin_router = admin::router(AdminState {
            ready: ready.clone(),
            outbox: outbox.clone(),
            dispatcher: dispatcher.clone(),
            reloader: reloader.clone(),
            metrics: metrics.clone(),
        });

        let stop = CancellationToken::new();
        let sweeper = durable.clone().map(|store| {
            let (retention, bytes) = (config.storage.retention.0, config.storage.retention_bytes.0);
            tokio::spawn(sweep(store, retention, bytes, stop.clone()))
        });
        let state_flusher = states
            .can_persist()
            .then(|| tokio::spawn(flush_state(states.clone(), stop.clone())));
        let watchers = spawn_watchers(reloader, config.plugins.dir.clone(), stop.clone()).map_err(StartError::Other)?;
        let stop_ingest = CancellationToken::new();
        let stop_admin = CancellationToken::new();
        let (ingest_limits, admin_limits) = connection_limits(&config, unix_listener.is_some());
        let (tls, cert_watcher) = match tls {
            Some((acceptor, cert)) => (Some(acceptor), Some(tokio::spawn(tls::watch(cert, stop.clone())))),
            None => (None, None),
        };
        let mut ingest_servers = Vec::new();
        ingest_servers.push(tokio::spawn(connections::serve(
            ingest_listener,
            ingest_router.clone(),
            ingest_limits,
            tls,
            metrics.clone(),
            stop_ingest.clone(),
        )));
        if let Some(listener) = unix_listener {
            ingest_servers.push(tokio::spawn(connections::serve(
                listener,
                ingest_router,
                ConnectionLimits {
                    listener: "ingest-unix",
                    ..ingest_limits
                },
                None,
                metrics.clone(),
                stop_ingest.clone(),
            )));
        }
        let admin_server = tokio::spawn(connections::serve(
            admin_listener,
            admin_router,
            admin_limits,
            None,
            metrics,
            stop_admin.clone(),
        ));
        ready.set(true);

        let grace = config.server.shutdown_grace.0;
        let drain = config.storage.kind == StorageKind::Memory;
        let unix_socket = config.server.unix_socket.clone();
        let socket_to_remove = unix_socket.clone();
        let stop_signal = stop.clone();
        let done = tokio::spawn(async move {
            stop_signal.cancelled().await;
            tracing::info!("shutting down: no new events; finishing the ones accepted");
            ready.set(false);
            stop_ingest.cancel();
            for server in ingest_servers {
                let _ = server.await;
            }
            tracing::info!(
                grace_ms = grace.as_millis() as u64,
                "ingest stopped; giving deliveries their grace period"
            );
            let finished = dispatcher.shutdown(grace, drain).await;
            let pending = outbox.pending();
            if pending > 0 && drain {
                tracing::error!(
                    pending,
                    "{pending} deliveries were not made before the grace period ended; with in-memory storage they are lost"
                );
            } else if !finished {
                tracing::warn!(
                    pending,
                    "attempts still in flight at the end of the grace period were cut off"
                );
            }
            stop_admin.cancel();
            let _ = admin_server.await;
            if let Some(sweeper) = sweeper {
                let _ = sweeper.await;
            }
            if let Some(flusher) = state_flusher {
                let _ = flusher.await;
            }
            if let Some(watcher) = cert_watcher {
                let _ = watcher.await;
            }
            // Last: every attempt record and state change is committed before Weir says
            // it stopped.
            if let Some(store) = durable {
                let _ = tokio::task::spawn_blocking(move || store.close()).await;
            }
            if let Some(store) = shared {
                store.close().await;
            }
            let _ = watchers.await;
            if let Some(path) = socket_to_remove {
                let _ = std::fs::remove_file(path);
            }
            drop(topology);
            tracing::info!("stopped");
        });
        Ok(Server {
            ingest_addr,
            admin_addr,
            unix_socket,
            stop,
            done,
        })
    }

    /// The ingest listener's address.
    pub fn ingest_addr(&self) -> SocketAddr {
        self.ingest_addr
    }

    /// The admin listener's address.
    pub fn admin_addr(&self) -> SocketAddr {
        self.admin_addr
    }

    /// The Unix socket, if any.
    pub fn unix_socket(&self) -> Option<&PathBuf> {
        self.unix_socket.as_ref()
    }

    /// Starts a graceful shutdown.
    pub fn shutdown(&self) {
        self.stop.cancel();
    }

    /// Waits until the server has stopped.
    pub async fn wait(self) {
        let _ = self.done.await;
    }

    /// Shuts down and waits, for at most `limit`.
    pub async fn stop(self, limit: Duration) {
        self.shutdown();
        let _ = tokio::time::timeout(limit, self.done).await;
    }
}

/// How often changes to filters' durable state are written: a crash loses at most this
/// much of it (state is a filter's memory, not an accepted event).
const STATE_FLUSH_EVERY: Duration = Duration::from_millis(200);

/// Writes filters' durable state until stopped, and once more at the end.
async fn flush_state(states: Arc<StateStores>, stop: CancellationToken) {
    loop {
        let stopping = tokio::select! {
            _ = tokio::time::sleep(STATE_FLUSH_EVERY) => false,
            _ = stop.cancelled() => true,
        };
        let flushing = states.clone();
        match tokio::task::spawn_blocking(move || flushing.flush()).await {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => tracing::warn!(%error, "could not write filters' durable state; will try again"),
            Err(error) => tracing::warn!(%error, "writing filters' durable state failed"),
        }
        if stopping {
            return;
        }
    }
}

/// Filters' state, persisted in the durable outbox's database.
struct DurableState(Arc<SqliteOutbox>);

impl StatePersistence for DurableState {
    fn load(&self, scope: &str) -> Result<Vec<(String, weir_contract::state::Entry)>, String> {
        self.0.load_state(scope).map_err(|error| error.to_string())
    }

    fn save(&self, changes: Vec<(String, Vec<weir_contract::state::Change>)>) -> Result<(), String> {
        self.0.save_state(changes).map(drop).map_err(|error| error.to_string())
    }
}

/// How often the durable store forgets delivered records older than the retention (or
/// past its byte bound): the store may exceed the bound by what arrives in between.
const SWEEP_EVERY: Duration = Duration::from_secs(15);

/// Removes expired records from the durable store until stopped.
async fn sweep(store: Arc<SqliteOutbox>, retention: Duration, max_bytes: u64, stop: CancellationToken) {
    let every = SWEEP_EVERY.min(retention / 4).max(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.cancelled() => return,
        }
        let before = std::time::SystemTime::now() - retention;
        match store.expire(before, max_bytes).await {
            Ok(0) => {}
            Ok(expired) => tracing::debug!(expired, "forgot delivered records past their retention"),
            Err(error) => tracing::warn!(%error, "could not remove expired records"),
        }
    }
}

fn bind_unix(path: &PathBuf) -> Result<tokio::net::UnixListener, StartError> {
    use std::os::unix::fs::FileTypeExt;
    // A socket file left by a previous run that died would block the bind.
    if let Ok(meta) = std::fs::symlink_metadata(path)
        && meta.file_type().is_socket()
    {
        let _ = std::fs::remove_file(path);
    }
    tokio::net::UnixListener::bind(path).map_err(|error| StartError::Bind {
        address: path.display().to_string(),
        reason: error.to_string(),
    })
}

/// The ingest listener's TLS files, when it serves HTTPS.
pub fn tls_files(config: &Config) -> Option<tls::TlsFiles> {
    match (&config.server.tls_cert, &config.server.tls_key) {
        (Some(cert), Some(key)) => Some(tls::TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
        }),
        _ => None,
    }
}

/// The ingest and admin listeners' connection limits, with the caps fitted under the
/// process's descriptor limit (raised to its hard limit first).
fn connection_limits(config: &Config, unix_socket: bool) -> (ConnectionLimits, ConnectionLimits) {
    let server = &config.server;
    let listeners = if unix_socket { 2 } else { 1 };
    let (ingest_cap, admin_cap) = match descriptors::raise_limit() {
        Some(available) => {
            let fitted = descriptors::fit(
                available,
                server.max_connections,
                config.admin.max_connections,
                listeners,
            );
            if fitted != (server.max_connections, config.admin.max_connections) {
                tracing::warn!(
                    descriptors = available,
                    ingest = fitted.0,
                    admin = fitted.1,
                    "the file-descriptor limit is too low for the configured connection caps; lowered them to fit (raise the hard limit, e.g. LimitNOFILE=)"
                );
            }
            fitted
        }
        None => (server.max_connections, config.admin.max_connections),
    };
    let ingest = ConnectionLimits {
        listener: "ingest",
        max_connections: ingest_cap,
        header_timeout: server.header_timeout.0,
        max_header_bytes: server.max_header_bytes.0 as usize,
        max_headers: server.max_headers,
    };
    let admin = ConnectionLimits {
        listener: "admin",
        max_connections: admin_cap,
        ..ingest
    };
    (ingest, admin)
}
