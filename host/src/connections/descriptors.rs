//! The process's file-descriptor limit. Every connection, every delivery in flight and
//! the store hold descriptors; the soft limit is often 1,024 while the hard limit
//! allows far more. Weir raises the soft limit to the hard one at start (allowed
//! without privileges) and fits the listeners' connection caps under what it got.

/// Descriptors kept out of the connection caps: outgoing deliveries, the store, plugin
/// files, the watcher.
pub const RESERVED: u64 = 1024;

/// Raises the soft descriptor limit to the hard limit; returns the soft limit in force
/// afterwards (`None` when it cannot be read).
#[allow(unsafe_code)]
pub fn raise_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `getrlimit` writes the struct we own and reads nothing else of ours.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return None;
    }
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: limit.rlim_max,
            rlim_max: limit.rlim_max,
        };
        // SAFETY: `setrlimit` reads the struct we own.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            limit = raised;
        }
    }
    Some(limit.rlim_cur)
}

/// The connection caps that fit `available` descriptors: the admin listener's as
/// asked (up to half), the ingest listeners' share of the rest. Returns
/// `(ingest_each, admin)` for `ingest_listeners` ingest listeners.
pub fn fit(available: u64, ingest: usize, admin: usize, ingest_listeners: usize) -> (usize, usize) {
    let usable = available.saturating_sub(RESERVED).max(64);
    let admin = (admin as u64).min(usable / 2).max(1);
    let each = ((usable - admin) / ingest_listeners.max(1) as u64).max(1);
    ((ingest as u64).min(each) as usize, admin as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_caps_fit_under_the_limit_and_keep_the_admin_reserve() {
        assert_eq!(fit(1_000_000, 10_000, 128, 1), (10_000, 128));
        assert_eq!(fit(1024 + 1000, 10_000, 128, 1), (872, 128));
        assert_eq!(fit(1024 + 1000, 10_000, 128, 2), (436, 128));
        // A tiny limit still leaves the admin listener some.
        let (ingest, admin) = fit(256, 10_000, 128, 1);
        assert!(ingest >= 1 && (1..=32).contains(&admin), "{ingest} {admin}");
    }

    #[test]
    fn the_soft_limit_is_raised_to_the_hard_one() {
        let soft = raise_limit().unwrap();
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        #[allow(unsafe_code)]
        // SAFETY: as in `raise_limit`.
        unsafe {
            libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
        }
        assert_eq!(soft, limit.rlim_cur);
        assert_eq!(limit.rlim_cur, limit.rlim_max);
    }
}
