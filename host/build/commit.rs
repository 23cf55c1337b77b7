// The commit Weir is built from, for `weir --version`.
//
// `$WEIR_COMMIT` when the builder gives it (the container build, whose context has no
// .git; a packager building from a tarball who knows the commit); else git's HEAD when
// the workspace is the top of a git work tree; else `unknown`: a source tarball has no
// .git, and one unpacked inside another repository (a home folder under git, say) must
// not report that repository's commit.
//
// Written with full paths and no `use`, so that both the build script and the test
// suite (tests/tests/suite/deploy.rs) can `include!` it.

/// How many hex digits of the commit are reported: enough to be unique in any
/// repository of this size for a long time, short enough for a log line.
const COMMIT_DIGITS: usize = 12;

/// The commit `workspace` is at, as `COMMIT_DIGITS` hex digits, or `unknown`; `given`
/// (the builder's `$WEIR_COMMIT`) wins when it is not empty.
fn commit_of(workspace: &std::path::Path, given: Option<String>) -> String {
    // One line at most: the value goes into a `cargo:` directive.
    let given = given.and_then(|g| g.lines().next().map(|line| line.trim().to_string()));
    if let Some(given) = given.filter(|g| !g.is_empty()) {
        return given;
    }
    let top = git_line(workspace, &["rev-parse", "--show-toplevel"]);
    let same = |a: &std::path::Path, b: &std::path::Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    match top {
        Some(top) if same(std::path::Path::new(&top), workspace) => {
            git_line(workspace, &["rev-parse", &format!("--short={COMMIT_DIGITS}"), "HEAD"])
                .unwrap_or_else(|| "unknown".to_string())
        }
        _ => "unknown".to_string(),
    }
}

/// The files whose change means another commit (HEAD, the branch it names, the packed
/// refs), for `cargo:rerun-if-changed`: only those that exist, since cargo reruns a
/// build script every time for a path that does not.
fn commit_inputs(workspace: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut names = vec!["HEAD".to_string(), "packed-refs".to_string()];
    if let Some(branch) = git_line(workspace, &["symbolic-ref", "-q", "HEAD"]) {
        names.push(branch);
    }
    names
        .iter()
        .filter_map(|name| git_line(workspace, &["rev-parse", "--git-path", name]))
        .map(|path| workspace.join(path))
        .filter(|path| path.exists())
        .collect()
}

/// The first line git prints for `args` run in `dir`, if git is there and succeeds.
fn git_line(dir: &std::path::Path, args: &[&str]) -> Option<String> {
    let output = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8(output.stdout).ok()?;
    let line = text.lines().next()?.trim();
    (!line.is_empty()).then(|| line.to_string())
}
