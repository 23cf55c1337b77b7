//! `weir filter`: the plugin author's command, run as a real process.

use std::process::{Command, Output};

use serde_json::Value;
use weir_tests::{example_path, fixture_path, test_guest_path};

fn weir(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_weir"))
        .args(args)
        .env(
            "WEIR_CACHE_DIR",
            weir_tests::workspace().join("target").join("weir-test-cache"),
        )
        .env("WEIR_LOG", "warn")
        .output()
        .expect("running weir")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn prints_the_verdict_the_output_and_the_time() {
    let plugin = example_path("class-filter");
    let event = fixture_path("instance-segmentation.json");
    let mask = fixture_path("instance-segmentation.mask_0003.png");
    let out = weir(&[
        "filter",
        "--plugin",
        plugin.to_str().unwrap(),
        "--config",
        r#"{"classes":["person"],"min_confidence":0.5}"#,
        "--event",
        event.to_str().unwrap(),
        "--attachment",
        &format!("mask_0003.png={}", mask.display()),
        "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result["verdict"], "modify");
    assert_eq!(result["event"]["task"], "instance-segmentation");
    assert_eq!(result["event"]["attachments"], Value::Array(vec![]));
    assert_eq!(
        result["event"]["predictions"]["predictions"].as_array().unwrap().len(),
        2
    );
    assert!(result["time"]["filter_us"].as_f64().unwrap() > 0.0);
    assert_eq!(
        result["plugin"],
        serde_json::json!({ "name": "class_filter", "kind": "component", "contract": "0.2.0" })
    );

    // A filter built against contract 0.1.0 says so.
    let old = weir_tests::guest_0_1("class-filter");
    let out = weir(&[
        "filter",
        "--plugin",
        old.to_str().unwrap(),
        "--event",
        event.to_str().unwrap(),
        "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result["plugin"]["contract"], "0.1.0");

    // The human form, on an embedded example by name, with a drop.
    let event = fixture_path("classification.json");
    let out = weir(&[
        "filter",
        "--plugin",
        "class-filter",
        "--config",
        r#"{"classes":["cat"]}"#,
        "--event",
        event.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("verdict: drop (no prediction of cat at confidence >= 0)\ntime:    load "),
        "{text}"
    );
    assert!(
        text.contains("\nplugin:  class-filter (component, contract 0.2.0)\n"),
        "{text}"
    );
}

#[test]
fn a_failing_filter_exits_1_with_the_error() {
    let plugin = test_guest_path();
    let event = fixture_path("object-detection.json");
    let out = weir(&[
        "filter",
        "--plugin",
        plugin.to_str().unwrap(),
        "--config",
        r#"{"mode":"panic"}"#,
        "--event",
        event.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("verdict: error (trap)\nplugin weir_test_guest trapped"),
        "{text}"
    );
}

#[test]
fn bad_input_gets_one_line_and_exit_code_64_or_65() {
    let scratch = weir_tests::workspace().join("target").join("test-scratch");
    std::fs::create_dir_all(&scratch).unwrap();
    let not_wasm = scratch.join("cli-not-wasm.wasm");
    std::fs::write(&not_wasm, "hello").unwrap();
    let bad_event = scratch.join("cli-bad-event.json");
    std::fs::write(&bad_event, "{\"predictions\": [").unwrap();
    let empty_component = scratch.join("cli-empty-component.wasm");
    std::fs::write(&empty_component, wat::parse_str("(component)").unwrap()).unwrap();

    let plugin = example_path("class-filter");
    let plugin = plugin.to_str().unwrap();
    let event = fixture_path("object-detection.json");
    let event = event.to_str().unwrap();
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (
            vec!["--plugin", "/no/such.wasm", "--event", event],
            64,
            "/no/such.wasm: no such file",
        ),
        (
            vec!["--plugin", plugin, "--event", "/no/such.json"],
            64,
            "/no/such.json: cannot read the event",
        ),
        (
            vec!["--plugin", plugin, "--event", event, "--config", "{nope"],
            64,
            "--config is not valid JSON",
        ),
        (
            vec!["--plugin", plugin, "--event", event, "--task", "weather/rain"],
            64,
            "--task: \"weather/rain\" is not a task name",
        ),
        (
            vec!["--plugin", plugin, "--event", event, "--attachment", "x"],
            64,
            "--attachment \"x\" is not NAME=PATH",
        ),
        (
            vec!["--plugin", not_wasm.to_str().unwrap(), "--event", event],
            65,
            "not a WebAssembly file",
        ),
        (
            vec!["--plugin", empty_component.to_str().unwrap(), "--event", event],
            65,
            "does not implement the weir:filter world",
        ),
        (
            vec!["--plugin", plugin, "--event", bad_event.to_str().unwrap()],
            65,
            "the event is not valid JSON",
        ),
        (
            vec![
                "--plugin",
                plugin,
                "--event",
                event,
                "--config",
                r#"{"min_confidence":3}"#,
            ],
            65,
            "min_confidence must be between 0 and 1",
        ),
    ];
    for (args, code, message) in cases {
        let mut full = vec!["filter"];
        full.extend(&args);
        let out = weir(&full);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("error: ") && err.contains(message), "{args:?}: {err}");
    }
}

#[test]
fn metadata_given_with_metadata_reaches_the_filter() {
    // The README's OnlyMyCamera filter (the test guest's only-camera mode), run as the
    // README runs it: --config, --event, --metadata camera=..., --attachment.
    let plugin = test_guest_path();
    let event = fixture_path("object-detection.json");
    let image = fixture_path("image.jpeg");
    let run = |camera: Option<&str>| {
        let mut args = vec![
            "filter".to_string(),
            "--plugin".into(),
            plugin.display().to_string(),
            "--config".into(),
            r#"{"mode":"only-camera","camera":"dock-3"}"#.into(),
            "--event".into(),
            event.display().to_string(),
            "--attachment".into(),
            format!("image.jpeg={}", image.display()),
            "--json".into(),
        ];
        if let Some(camera) = camera {
            args.extend(["--metadata".into(), format!("camera={camera}")]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = weir(&args);
        assert!(out.status.success(), "{}", stderr(&out));
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let kept = run(Some("dock-3"));
    assert_eq!(kept["verdict"], "keep", "{kept}");
    assert_eq!(kept["event"]["metadata"], serde_json::json!([["camera", "dock-3"]]));
    assert_eq!(kept["event"]["attachments"][0]["name"], "image.jpeg", "{kept}");
    let dropped = run(Some("gate-1"));
    assert_eq!(dropped["verdict"], "drop", "{dropped}");
    assert_eq!(dropped["reason"], "another camera", "{dropped}");
    let without = run(None);
    assert_eq!(without["verdict"], "drop", "{without}");
}
