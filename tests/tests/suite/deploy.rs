//! Running Weir where sidecars run (`host/deploy/`): the distribution build, the
//! container image, the systemd unit, the Kubernetes sidecar.
//!
//! No container engine, init system or cluster runs here. Each file is read by the
//! tool that knows its format (hadolint, systemd-analyze, kubernetes-validate) and
//! compared with the config it runs Weir with: ports, probes, paths, users. What can
//! run here does: the distribution layout, `weir --version`, the health check and the
//! probes against a Weir started on the file's own config (re-rooted in a scratch
//! folder, on free ports), the unit's reload command, the Kubernetes sync script
//! against a simulated ConfigMap update.
//!
//! - this module: the `dist` profile, `weir --version`, the layout `dist.sh`
//!   installs, completions and man pages; what the other three share.
//! - `deploy_container`: the Containerfile and its config.
//! - `deploy_systemd`: the unit and its config.
//! - `deploy_kubernetes`: the sidecar example and its ConfigMaps.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use weir_contract::version::Version;
use weir_tests::config::{Destination, Route, Storage};
use weir_tests::{WeirConfig, workspace};

/// The `weir` binary under test.
pub fn weir() -> &'static str {
    env!("CARGO_BIN_EXE_weir")
}

/// A file under `host/deploy/`, as text.
pub fn deploy_file(path: &str) -> String {
    let path = workspace().join("host").join("deploy").join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A fresh scratch folder for one test. Kept short: a Unix socket path must fit in
/// 108 bytes.
pub fn scratch(name: &str) -> PathBuf {
    weir_tests::scratch::folder(&format!("deploy/{name}"))
}

/// Runs a command to its end; its output.
#[track_caller]
pub fn output(command: &mut Command) -> Output {
    command.output().unwrap_or_else(|e| panic!("running {command:?}: {e}"))
}

/// Stdout and stderr of an output, for messages.
pub fn printed(output: &Output) -> String {
    format!(
        "status {}\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The config text `text` loads into, with `env` for its `${NAME}`s; panics listing
/// every problem.
#[track_caller]
pub fn load(text: &str, source: &str, env: &BTreeMap<String, String>) -> weir::config::Config {
    weir::config::load_str(text, source, &|name| env.get(name).cloned()).unwrap_or_else(|problems| {
        let problems: Vec<String> = problems.iter().map(ToString::to_string).collect();
        panic!("{source} does not load:\n{}", problems.join("\n"))
    })
}

/// The `${NAME}`s a config refers to (outside comments).
pub fn variables(text: &str) -> Vec<String> {
    text.lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n")
        .split("${")
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name.to_string()))
        .collect()
}

/// The keys of the config whose values are paths Weir reads or writes.
pub const PATH_KEYS: [(&str, &str); 4] = [
    ("server", "unix_socket"),
    ("plugins", "dir"),
    ("plugins", "cache_dir"),
    ("storage", "path"),
];

/// `text` as it runs here: every absolute path of [`PATH_KEYS`] moved under `root` (as
/// if `root` were the container's or the machine's `/`), both listeners on
/// `127.0.0.1:0`. The folders the deployment would provide are made.
pub fn rooted(text: &str, root: &Path) -> String {
    let mut table: toml::Table = text.parse().unwrap_or_else(|e| panic!("not TOML: {e}"));
    for (section, key) in ["server", "admin"].map(|s| (s, "listen")) {
        table
            .entry(section)
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .unwrap()
            .insert(key.into(), toml::Value::String("127.0.0.1:0".into()));
    }
    for (section, key) in PATH_KEYS {
        let Some(value) = table.get_mut(section).and_then(|s| s.get_mut(key)) else {
            continue;
        };
        let path = value.as_str().expect("a path is a string").to_string();
        let moved = under(root, &path);
        let folder = if (section, key) == ("plugins", "dir") || (section, key) == ("plugins", "cache_dir") {
            moved.clone()
        } else {
            moved.parent().unwrap().to_path_buf()
        };
        std::fs::create_dir_all(folder).unwrap();
        *value = toml::Value::String(moved.display().to_string());
    }
    toml::to_string(&table).unwrap()
}

/// `path` under `root` when it is absolute.
pub fn under(root: &Path, path: &str) -> PathBuf {
    match path.strip_prefix('/') {
        Some(relative) => root.join(relative),
        None => PathBuf::from(path),
    }
}

/// Whether `path` is `folder` or inside it (by components, not by text).
pub fn inside(path: &Path, folder: &Path) -> bool {
    path.starts_with(folder)
}

/// `weir check` on a config file, with `env`: it must pass (plugins compiled, every
/// filter's `init` run with its config).
#[track_caller]
pub fn weir_check_passes(config: &Path, env: &BTreeMap<String, String>) {
    let out = output(
        Command::new(weir())
            .args(["check", "--config"])
            .arg(config)
            .envs(env)
            .env("WEIR_CACHE_DIR", workspace().join("target").join("weir-test-cache")),
    );
    assert!(
        out.status.success(),
        "weir check {}: {}",
        config.display(),
        printed(&out)
    );
}

/// A program on PATH (or where pip puts scripts), or why the test cannot run:
/// [`weir_tests::node::required`] makes that a skip on a developer's machine and a
/// failure in CI.
pub fn tool(test: &str, name: &str, install: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect())
        .unwrap_or_default();
    let scripts = Command::new("python3")
        .args(["-c", "import sysconfig; print(sysconfig.get_path('scripts'))"])
        .output();
    if let Ok(scripts) = scripts {
        dirs.push(PathBuf::from(String::from_utf8_lossy(&scripts.stdout).trim()));
    }
    let found = dirs.into_iter().map(|dir| dir.join(name)).find(|path| path.is_file());
    weir_tests::node::required(
        test,
        found.ok_or_else(|| format!("{name} is not installed ({install})")),
    )
}

// The distribution build.

// The build script's own code, so that what the binary reports is tested on the same
// function: `commit_of`, `commit_inputs`, `git_line`.
include!("../../../host/build/commit.rs");

/// The commands `weir --help` lists: every visible subcommand.
const COMMANDS: [&str; 9] = [
    "run", "check", "events", "dead", "bench", "filter", "new", "health", "help",
];

/// The commands that are for packagers or internal, and not listed.
const HIDDEN: [&str; 3] = ["bench-relay", "completions", "man"];

#[test]
fn weir_version_names_the_version_the_commit_and_the_served_contracts() {
    let out = output(Command::new(weir()).arg("--version"));
    assert!(out.status.success(), "{}", printed(&out));
    let line = String::from_utf8(out.stdout).unwrap();
    // The commit the workspace is at, as the build script saw it: the suite was built
    // from this tree, so HEAD (or `unknown` in a tree without git).
    let commit = commit_of(&workspace(), None);
    let served: Vec<String> = Version::SERVED.iter().map(ToString::to_string).collect();
    assert_eq!(
        line.trim_end(),
        format!(
            "weir {} (commit {commit}; filter contracts {})",
            env!("CARGO_PKG_VERSION"),
            served.join(", ")
        )
    );
    assert_eq!(served, ["0.1.0", "0.2.0"]);
    if Path::new(&workspace()).join(".git").exists() {
        assert_ne!(commit, "unknown", "a git checkout has a commit");
        assert_eq!(commit.len(), COMMIT_DIGITS);
    }
}

#[test]
fn the_commit_comes_from_the_builder_or_git_and_is_unknown_without_a_repository_of_its_own() {
    let dir = scratch("commit");
    let git = |dir: &Path, args: &[&str]| {
        let out = output(
            Command::new("git")
                .arg("-C")
                .arg(dir)
                .args([
                    "-c",
                    "user.name=t",
                    "-c",
                    "user.email=t@t",
                    "-c",
                    "commit.gpgsign=false",
                ])
                .args(args),
        );
        assert!(out.status.success(), "git {args:?}: {}", printed(&out));
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    // A source tarball: no .git anywhere above (the scratch folder is inside this
    // repository, so a copy of the tree elsewhere would see it: give it a repository of
    // its own above, and the source tree a folder below).
    let repository = dir.join("repository");
    std::fs::create_dir_all(repository.join("weir-0.1.0")).unwrap();
    git(&repository, &["init", "-q"]);
    std::fs::write(repository.join("README"), "another project\n").unwrap();
    git(&repository, &["add", "README"]);
    git(&repository, &["commit", "-q", "-m", "another project"]);
    // Unpacked inside another repository: not that repository's commit.
    assert_eq!(commit_of(&repository.join("weir-0.1.0"), None), "unknown");
    // At the top of its own work tree: its HEAD, 12 digits.
    let head = git(&repository, &["rev-parse", "HEAD"]);
    assert_eq!(commit_of(&repository, None), head[..COMMIT_DIGITS]);
    // The builder's word wins (a container build, whose context has no .git), one
    // line of it at most; an empty one does not count.
    assert_eq!(commit_of(&repository, Some("0123456789ab\n".into())), "0123456789ab");
    assert_eq!(commit_of(&repository, Some("abc\ncargo:rustc-env=X=1".into())), "abc");
    assert_eq!(commit_of(&repository, Some(String::new())), head[..COMMIT_DIGITS]);
    // What makes cargo run the build script again after a commit: HEAD and the branch.
    let inputs = commit_inputs(&repository);
    assert!(inputs.iter().any(|p| p.ends_with("HEAD")), "{inputs:?}");
    let branch = git(&repository, &["symbolic-ref", "HEAD"]);
    assert!(inputs.iter().any(|p| p.ends_with(&branch)), "{inputs:?}");
    assert!(inputs.iter().all(|p| p.exists()), "{inputs:?}");
    // No repository at all: `/` is not one.
    assert_eq!(commit_of(Path::new("/"), None), "unknown");
}

#[test]
fn the_dist_profile_is_lto_one_codegen_unit_and_stripped_and_dist_sh_builds_with_it() {
    let manifest: toml::Table = std::fs::read_to_string(workspace().join("Cargo.toml"))
        .unwrap()
        .parse()
        .unwrap();
    let dist = &manifest["profile"]["dist"];
    assert_eq!(dist["inherits"].as_str(), Some("release"));
    assert!(
        matches!(dist["lto"].as_str(), Some("fat")) || dist["lto"].as_bool() == Some(true),
        "{dist}"
    );
    assert_eq!(dist["codegen-units"].as_integer(), Some(1));
    assert_eq!(dist["strip"].as_bool(), Some(true));
    assert_eq!(dist["debug"].as_bool(), Some(false));
    // Unwinding stays: a panicking task must not take the router down.
    assert!(dist.get("panic").is_none(), "{dist}");
    // Only code off the per-event path is optimised for size (the manifest says why).
    assert!(dist.get("opt-level").is_none(), "{dist}");
    let sized = dist
        .get("package")
        .and_then(|p| p.as_table())
        .cloned()
        .unwrap_or_default();
    for per_event in [
        "weir",
        "weir-contract",
        "wasmtime",
        "tokio",
        "hyper",
        "hyper-util",
        "http",
        "bytes",
        "serde_json",
        "memchr",
        "mimalloc",
        "libmimalloc-sys",
        "rustls",
        "ring",
        "async-nats",
    ] {
        assert!(
            !sized.contains_key(per_event),
            "{per_event} runs per event: not optimised for size"
        );
    }
    let script = deploy_file("dist.sh");
    assert!(
        script.contains("cargo build --locked --profile dist -p weir --bin weir"),
        "dist.sh builds with the dist profile"
    );
}

/// Lays out the distribution of the binary under test with `dist.sh` (`WEIR_BIN`: no
/// optimised build here); the folder it made.
fn lay_out(name: &str) -> std::path::PathBuf {
    let out_dir = scratch(name);
    let out = output(
        Command::new("bash")
            .arg(workspace().join("host").join("deploy").join("dist.sh"))
            .arg(&out_dir)
            .env("WEIR_BIN", weir()),
    );
    assert!(out.status.success(), "dist.sh: {}", printed(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("archive: "), "{stdout}");
    out_dir
}

#[test]
fn dist_sh_installs_the_binary_man_pages_completions_and_docs_under_a_prefix() {
    let out_dir = lay_out("layout");
    let trees: Vec<_> = std::fs::read_dir(&out_dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(trees.len(), 1, "{trees:?}");
    let tree = &trees[0];
    let name = tree.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with(&format!("weir-{}-", env!("CARGO_PKG_VERSION"))),
        "{name}"
    );
    let file = |relative: &str| {
        let path = tree.join(relative);
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(!bytes.is_empty(), "{relative} is empty");
        String::from_utf8_lossy(&bytes).into_owned()
    };
    // The binary, executable, the one under test.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(tree.join("bin/weir")).unwrap().permissions().mode();
    assert_eq!(mode & 0o755, 0o755);
    assert_eq!(
        std::fs::read(tree.join("bin/weir")).unwrap(),
        std::fs::read(weir()).unwrap()
    );
    // A man page for weir and each visible command (`man weir-run`); none for the
    // hidden ones.
    assert!(file("share/man/man1/weir.1").starts_with(".ie"));
    for command in COMMANDS.iter().filter(|c| **c != "help") {
        let page = file(&format!("share/man/man1/weir-{command}.1"));
        assert!(page.contains(&format!(".TH weir-{command} 1")), "{command}: {page}");
    }
    for command in HIDDEN {
        assert!(
            !tree.join(format!("share/man/man1/weir-{command}.1")).exists(),
            "{command}"
        );
    }
    assert!(file("share/man/man1/weir-dead-replay.1").contains("\\-\\-destination"));
    // Completions where bash-completion, zsh and fish look for them; each knows every
    // visible command and none of the hidden.
    let completions = [
        file("share/bash-completion/completions/weir"),
        file("share/zsh/site-functions/_weir"),
        file("share/fish/vendor_completions.d/weir.fish"),
    ];
    assert!(completions[1].starts_with("#compdef weir"));
    assert!(completions[2].contains("complete -c weir"));
    for script in &completions {
        for command in COMMANDS {
            assert!(script.contains(command), "{command} missing from\n{script}");
        }
        assert!(!script.contains("bench-relay") && !script.contains("bench_relay"));
    }
    let syntax = output(
        Command::new("bash")
            .arg("-n")
            .arg(tree.join("share/bash-completion/completions/weir")),
    );
    assert!(syntax.status.success(), "{}", printed(&syntax));
    // What the README's systemd steps install from the archive.
    assert_eq!(file("share/doc/weir/weir.service"), deploy_file("systemd/weir.service"));
    assert_eq!(
        file("share/doc/weir/weir.systemd.toml"),
        deploy_file("systemd/weir.toml")
    );
    assert!(file("share/doc/weir/weir.example.toml").contains("[server]"));
    // The archive holds the same tree, owned by root.
    let archive = out_dir.join(format!("{name}.tar.gz"));
    let listing = output(Command::new("tar").arg("-tvzf").arg(&archive));
    assert!(listing.status.success(), "{}", printed(&listing));
    let listing = String::from_utf8(listing.stdout).unwrap();
    for path in [
        "bin/weir",
        "share/man/man1/weir-run.1",
        "share/bash-completion/completions/weir",
        "share/zsh/site-functions/_weir",
        "share/fish/vendor_completions.d/weir.fish",
        "share/doc/weir/weir.service",
    ] {
        let line = listing
            .lines()
            .find(|line| line.ends_with(&format!("{name}/{path}")))
            .unwrap_or_else(|| panic!("{path} is not in the archive:\n{listing}"));
        assert!(line.contains(" 0/0 "), "{line}");
    }
}

#[test]
fn weir_man_prints_the_page_and_weir_completions_refuses_an_unknown_shell() {
    let out = output(Command::new(weir()).arg("man"));
    assert!(out.status.success(), "{}", printed(&out));
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(page.contains(".TH weir 1"), "{page}");
    assert!(page.contains(&format!("weir {}", env!("CARGO_PKG_VERSION"))), "{page}");
    for command in COMMANDS.iter().filter(|c| **c != "help") {
        assert!(page.contains(&format!("weir\\-{command}(1)")), "{command}: {page}");
    }
    let out = output(Command::new(weir()).args(["completions", "tcsh"]));
    assert_eq!(out.status.code(), Some(2), "{}", printed(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bash"));
    // Hidden from the help, which lists the others.
    let help = output(Command::new(weir()).arg("--help"));
    let help = String::from_utf8(help.stdout).unwrap();
    for command in HIDDEN {
        assert!(!help.contains(&format!("  {command} ")), "{command} in\n{help}");
    }
    assert!(help.contains("  health "), "{help}");
}

// Multi-threaded: the receiver answers while the test waits on `weir health`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weir_health_exits_0_when_alive_or_ready_and_1_otherwise() {
    let dir = scratch("health");
    let config = WeirConfig::new()
        .storage(Storage::memory())
        .route("r", Route::to(["log"]))
        .destination("log", Destination::url("log:"));
    let running = weir_tests::process::WeirProcess::spawn(weir(), &dir, &config);
    let health = |args: &[&str], admin: &str| {
        output(
            Command::new(weir())
                .arg("health")
                .args(args)
                .env("WEIR_ADMIN_URL", admin),
        )
    };
    let admin = format!("http://{}", running.admin);
    // Alive, and ready: 0, with the answer.
    let out = health(&[], &admin);
    assert!(out.status.success(), "{}", printed(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("/healthz"),
        "{}",
        printed(&out)
    );
    let out = health(&["--ready"], &admin);
    assert!(out.status.success(), "{}", printed(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("ready"),
        "{}",
        printed(&out)
    );
    // --admin wins over $WEIR_ADMIN_URL.
    let out = health(&["--admin", &admin], "http://127.0.0.1:9");
    assert!(out.status.success(), "{}", printed(&out));
    // Not ready (503): 1, with the status.
    let unready = weir_tests::receiver::Receiver::scripted(vec![], weir_tests::receiver::Answer::Status(503)).await;
    let out = health(&["--ready"], &format!("http://{}", unready.addr));
    assert_eq!(out.status.code(), Some(1), "{}", printed(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("503"),
        "{}",
        printed(&out)
    );
    // Nothing listening: 1, naming where it looked.
    drop(running);
    let out = health(&[], &admin);
    assert_eq!(out.status.code(), Some(1), "{}", printed(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&admin),
        "{}",
        printed(&out)
    );
}
