//! `weir check` on broken configs: every problem listed, each naming the file, the key
//! and what to do (golden files); and the example and default configs pass.

use std::process::Command;

use weir_tests::{golden, workspace};

fn check(config: Option<&str>) -> (Option<i32>, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_weir"));
    command.arg("check");
    if let Some(config) = config {
        command.args(["--config", config]);
    }
    let out = command
        .current_dir(workspace().join("tests").join("configs"))
        .env("WEIR_CACHE_DIR", workspace().join("target").join("weir-test-cache"))
        .env_remove("WEIR_CONFIG")
        .env_remove("WEIR_TEST_UNSET_TOKEN")
        .env_remove("WEIR_WEBHOOK_URL")
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
