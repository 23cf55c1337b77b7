//! The state stores of filters (`weir:filter/state`): one per filter of a route, shared
//! by its instances, kept across hot reloads, and persisted when the route asks.
//!
//! A store is named by its scope, `route/plugin#n` (the n-th use of the plugin in the
//! route's chain), not by the plugin's version: a hot-swapped plugin finds its
//! predecessor's entries, which is what makes a cooldown hold across a swap. The
//! stores live in [`StateStores`], which outlives every topology; a rebuild asks it for
//! the same scopes and gets the same stores.
//!
//! Every operation takes the store's lock for the length of one map operation (no
//! guest code runs under it), so operations are atomic across the filter's instances.
//! Persisted stores record which keys changed; [`StateStores::flush`] hands those
//! changes to a [`StatePersistence`] (the durable outbox), on a timer and at shutdown.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use weir_contract::state::{Change, Entry, Store, StoreLimits};

/// Milliseconds since the Unix epoch: the state store's clock.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Where persisted stores are written and read back from. Implemented by the durable
/// outbox, so state shares its database and its writer.
pub trait StatePersistence: Send + Sync + 'static {
    /// Every persisted entry of a scope.
    fn load(&self, scope: &str) -> Result<Vec<(String, Entry)>, String>;
    /// Writes changes (an entry, or its removal) of several scopes at once.
    fn save(&self, changes: Vec<(String, Vec<Change>)>) -> Result<(), String>;
}

/// How a filter's store is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StateSettings {
    /// Bounds of the store.
    pub limits: StoreLimits,
    /// Written to the durable store, so it survives a restart.
    pub durable: bool,
}

/// One filter's store.
#[derive(Debug)]
pub struct Scope {
    name: String,
    durable: bool,
    store: Mutex<Store>,
}

/// What an instance holds to reach its filter's store.
#[derive(Debug, Clone)]
pub struct StateHandle(Arc<Scope>);

impl StateHandle {
    /// A store of its own, in memory, for filters run outside a route (`weir filter`,
    /// tests).
    pub fn detached() -> Self {
        StateHandle(Arc::new(Scope {
            name: String::new(),
            durable: false,
            store: Mutex::new(Store::new(StoreLimits::default(), false)),
        }))
    }

    /// Runs one operation on the store, under its lock.
    pub fn with<T>(&self, operation: impl FnOnce(&mut Store) -> T) -> T {
        operation(&mut self.0.lock())
    }

    /// The scope's name (`route/plugin#n`).
    pub fn scope(&self) -> &str {
        &self.0.name
    }

    /// Entries and bytes held now.
    pub fn usage(&self) -> (usize, usize) {
        let store = self.0.lock();
        (store.len(), store.bytes())
    }
}

/// Two handles are equal when they reach the same store.
impl PartialEq for StateHandle {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for StateHandle {}

impl Scope {
    fn lock(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Every filter's store, by scope.
#[derive(Default)]
pub struct StateStores {
    scopes: Mutex<HashMap<String, Arc<Scope>>>,
    persistence: Option<Arc<dyn StatePersistence>>,
}

impl std::fmt::Debug for StateStores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateStores").finish_non_exhaustive()
    }
}

impl StateStores {
    /// Stores that can be persisted through `persistence` (none: memory only).
    pub fn new(persistence: Option<Arc<dyn StatePersistence>>) -> Self {
        StateStores {
            scopes: Mutex::new(HashMap::new()),
            persistence,
        }
    }

    /// Whether durable stores can be kept.
    pub fn can_persist(&self) -> bool {
        self.persistence.is_some()
    }

    /// The name of the store of the `occurrence`-th use (from 0) of `plugin` in
    /// `route`'s chain.
    pub fn scope_name(route: &str, plugin: &str, occurrence: usize) -> String {
        format!("{route}/{plugin}#{occurrence}")
    }

    /// The store of a scope, made (and, when durable, read back) on first use; an
    /// existing store takes the new settings. Blocking when it reads back: call off the
    /// reactor.
    pub fn scope(&self, name: &str, settings: StateSettings) -> Result<StateHandle, String> {
        let mut scopes = self.scopes.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(scope) = scopes.get(name)
            && scope.durable == settings.durable
        {
            scope.lock().set_limits(settings.limits, now_ms());
            return Ok(StateHandle(scope.clone()));
        }
        let durable = settings.durable && self.persistence.is_some();
        let mut store = Store::new(settings.limits, durable);
        // A store that was memory-only and becomes durable keeps its entries; they are
        // written out with the next flush.
        if let Some(previous) = scopes.get(name) {
            let now = now_ms();
            let entries: Vec<(String, Entry)> = previous.lock().take_all(now);
            for (key, entry) in entries {
                let ttl = entry.expires_at.map(|at| at.saturating_sub(now));
                let _ = store.set(&key, entry.value, ttl, now);
            }
        } else if let (true, Some(persistence)) = (durable, &self.persistence) {
            store.restore(persistence.load(name)?, now_ms());
        }
        let scope = Arc::new(Scope {
            name: name.to_string(),
            durable,
            store: Mutex::new(store),
        });
        scopes.insert(name.to_string(), scope.clone());
        Ok(StateHandle(scope))
    }

    /// Writes what changed in the durable stores since the last flush. Blocking: call
    /// off the reactor.
    pub fn flush(&self) -> Result<usize, String> {
        let Some(persistence) = &self.persistence else {
            return Ok(0);
        };
        let scopes: Vec<Arc<Scope>> = {
            let scopes = self.scopes.lock().unwrap_or_else(PoisonError::into_inner);
            scopes.values().filter(|scope| scope.durable).cloned().collect()
        };
        let mut changes = Vec::new();
        for scope in scopes {
            let taken = scope.lock().take_changes();
            if !taken.is_empty() {
                changes.push((scope.name.clone(), taken));
            }
        }
        let count = changes.iter().map(|(_, c)| c.len()).sum();
        if count > 0 {
            persistence.save(changes)?;
        }
        Ok(count)
    }
}
