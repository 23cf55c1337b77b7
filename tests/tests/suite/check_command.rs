//! `weir check` on broken configs: every problem listed, each naming the file, the key
//! and what to do (golden files); and the example and default configs pass.

use std::path::Path;
use std::process::Command;

use weir_tests::config::{Destination, Route};
use weir_tests::scratch::folder;
use weir_tests::{WeirConfig, golden, workspace};

/// `weir check` on a file of `tests/configs/` (the default config without one).
fn check(config: Option<&str>) -> (Option<i32>, String, String) {
    check_in(&workspace().join("tests").join("configs"), config, &[])
}

/// `weir check` on a config built in code, written to `NAME.toml` in a folder of its
/// own (so the messages name `NAME.toml`, as they name the files of `tests/configs/`),
/// with these environment variables for its `${VAR}`s.
fn check_built(name: &str, config: &WeirConfig, env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let dir = folder(&format!("check_command/{name}"));
    let file = format!("{name}.toml");
    std::fs::write(dir.join(&file), config.to_string()).unwrap();
    check_in(&dir, Some(&file), env)
}

/// `weir check [--config CONFIG]`, run in `dir` with `env` added: its exit code,
/// stdout and stderr.
fn check_in(dir: &Path, config: Option<&str>, env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_weir"));
    command.arg("check");
    if let Some(config) = config {
        command.args(["--config", config]);
    }
    let out = command
        .current_dir(dir)
        .env("WEIR_CACHE_DIR", workspace().join("target").join("weir-test-cache"))
        .env_remove("WEIR_CONFIG")
        .env_remove("WEIR_TEST_UNSET_TOKEN")
        .env_remove("WEIR_WEBHOOK_URL")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn broken_configs_get_every_problem_listed() {
    for name in ["syntax", "unknown-keys", "references", "plugin-config"] {
        let (code, _, stderr) = check(Some(&format!("{name}.toml")));
        assert_eq!(code, Some(64), "{name}: {stderr}");
        golden(&format!("check/{name}.txt"), &stderr);
    }
}

#[test]
fn the_example_config_and_the_default_config_pass() {
    let example = workspace().join("weir.example.toml");
    let (code, stdout, stderr) = check(Some(example.to_str().unwrap()));
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.ends_with(
            "weir.example.toml: ok: 1 route(s), 3 destination(s), 4 plugin(s); durable storage in .weir/outbox.db\n"
        ),
        "{stdout}"
    );
    let (code, stdout, stderr) = check(None);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        stdout,
        "(default config): ok: 1 route(s), 1 destination(s), 2 plugin(s); durable storage in .weir/outbox.db\n"
    );
}

#[test]
fn a_missing_config_file_is_a_usage_error() {
    let (code, _, stderr) = check(Some("no-such.toml"));
    assert_eq!(code, Some(64));
    assert!(
        stderr.starts_with("error: no-such.toml: cannot read the config file: No such file or directory"),
        "{stderr}"
    );
}

#[test]
fn an_admin_listener_other_machines_can_reach_needs_a_token() {
    let open = WeirConfig::new()
        .admin_listen("0.0.0.0:9090".parse().unwrap())
        .route("cameras", Route::to(["log"]))
        .destination("log", Destination::url("log:"));
    let (code, _, stderr) = check_built("open-admin", &open, &[]);
    assert_eq!(code, Some(64), "{stderr}");
    golden("check/open-admin.txt", &stderr);
    assert!(
        stderr.contains(
            "open-admin.toml: admin.listen: 0.0.0.0:9090 can be reached from other machines, and [admin] token is not set"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("set token = \"${WEIR_ADMIN_TOKEN}\" in [admin]"),
        "{stderr}"
    );

    // The fix the message gives: a token (from the environment, as it says) passes.
    let guarded = open.admin_token("${WEIR_TEST_ADMIN_TOKEN}");
    let token = [("WEIR_TEST_ADMIN_TOKEN", "0123456789abcdef0123456789abcdef")];
    let (code, stdout, stderr) = check_built("guarded-admin", &guarded, &token);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.starts_with("guarded-admin.toml: ok: 1 route(s)"), "{stdout}");
}

#[test]
fn ingest_open_to_other_machines_without_a_token_is_warned_about() {
    let dir = weir_tests::scratch::folder("check-public");
    let path = dir.join("public.toml");
    let config = |token: &str| {
        format!(
            "[server]\nlisten = \"0.0.0.0:18080\"\n{token}[routes.r]\ndestinations = [\"log\"]\n[destinations.log]\nurl = \"log:\"\n"
        )
    };
    std::fs::write(&path, config("")).unwrap();
    let (code, _, stderr) = check(Some(path.to_str().unwrap()));
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("warning: ")
            && stderr.contains("server.listen: ingest listens on 0.0.0.0:18080")
            && stderr.contains("ingest_token"),
        "{stderr}"
    );
    std::fs::write(&path, config("ingest_token = \"a-long-random-token\"\n")).unwrap();
    let (code, _, stderr) = check(Some(path.to_str().unwrap()));
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
}
