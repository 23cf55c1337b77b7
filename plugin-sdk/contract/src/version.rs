//! Versions of the contract, as filters declare them and Weir serves them.

use std::fmt;

/// A contract version (`0.2.0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    /// Major.
    pub major: u8,
    /// Minor: with major 0, a new minor is a new, incompatible contract.
    pub minor: u8,
    /// Patch: releases that only add.
    pub patch: u8,
}

impl Version {
    /// The first contract.
    pub const V0_1_0: Version = Version::new(0, 1, 0);
    /// Edits as calls, an open task, the state store.
    pub const V0_2_0: Version = Version::new(0, 2, 0);
    /// The version new filters are built against.
    pub const CURRENT: Version = Version::V0_2_0;
    /// Every version Weir serves, oldest first.
    pub const SERVED: [Version; 2] = [Version::V0_1_0, Version::V0_2_0];

    /// A version from its parts.
    pub const fn new(major: u8, minor: u8, patch: u8) -> Self {
        Version { major, minor, patch }
    }

    /// Reads `0.2.0`.
    pub fn parse(text: &str) -> Option<Version> {
        let mut parts = text.split('.').map(|part| part.parse::<u8>().ok());
        let version = Version::new(parts.next()??, parts.next()??, parts.next()??);
        parts.next().is_none().then_some(version)
    }

    /// The version as the core-module ABI's `weir_abi_version` export returns it:
    /// `major << 16 | minor << 8 | patch`.
    pub const fn to_abi(self) -> u32 {
        (self.major as u32) << 16 | (self.minor as u32) << 8 | self.patch as u32
    }

    /// The version a `weir_abi_version` export returned.
    pub fn from_abi(value: u32) -> Option<Version> {
        if value >> 24 != 0 {
            return None;
        }
        Some(Version::new((value >> 16) as u8, (value >> 8) as u8, value as u8))
    }

    /// Whether Weir serves filters built against this version: one of the served
    /// contracts, or a later patch of one (a release that only adds, whose additions
    /// such a filter may not use on this Weir; a filter that needs them fails to load
    /// naming what is missing).
    pub fn is_served(self) -> bool {
        Version::SERVED
            .iter()
            .any(|served| served.major == self.major && served.minor == self.minor)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_read_and_pack() {
        assert_eq!(Version::parse("0.2.0"), Some(Version::V0_2_0));
        assert_eq!(Version::parse("0.2"), None);
        assert_eq!(Version::parse("0.2.0.1"), None);
        assert_eq!(Version::V0_2_0.to_abi(), 0x200);
        assert_eq!(Version::from_abi(0x0201), Some(Version::new(0, 2, 1)));
        assert!(Version::new(0, 2, 7).is_served());
        assert!(!Version::new(0, 3, 0).is_served());
    }
}
