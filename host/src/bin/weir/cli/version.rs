//! What `weir --version` says: the version, the commit it was built from (`unknown`
//! when built without git, as from a source tarball), and the filter contracts it
//! serves, so that a bug report or a fleet inventory names the exact build.

use std::sync::LazyLock;

use weir_contract::version::Version;

/// The commit, set by the build script (host/build/commit.rs).
const COMMIT: &str = env!("WEIR_BUILD_COMMIT");

/// The line, after `weir `: `0.1.0 (commit 1a2b3c4d5e6f; filter contracts 0.1.0, 0.2.0)`.
static LINE: LazyLock<String> = LazyLock::new(|| line(env!("CARGO_PKG_VERSION"), COMMIT, &Version::SERVED));

/// The version line clap prints for `--version` and `-V`.
pub fn version() -> &'static str {
    LINE.as_str()
}

fn line(version: &str, commit: &str, served: &[Version]) -> String {
    let served: Vec<String> = served.iter().map(ToString::to_string).collect();
    format!("{version} (commit {commit}; filter contracts {})", served.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_names_the_version_the_commit_and_every_served_contract() {
        assert_eq!(
            line("1.2.3", "abcdef012345", &[Version::new(0, 1, 0), Version::new(0, 2, 0)]),
            "1.2.3 (commit abcdef012345; filter contracts 0.1.0, 0.2.0)"
        );
    }
}
