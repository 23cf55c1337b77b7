//! Guests that try to take over what Weir says: forged log lines, terminal escapes,
//! huge reasons and errors, log floods. What a guest says is bounded, escaped and
//! budgeted; Weir's own lines stay Weir's.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::json;
use weir::plugin::{FilterError, FilterSettings, Outcome};
use weir_tests::config::{Destination, Filter, Plugins, Route, Storage};
use weir_tests::filters::{guest_filter_with, run};
use weir_tests::process::WeirProcess;
use weir_tests::records::SETTLE;
use weir_tests::scratch::folder;
use weir_tests::{WeirConfig, eventually, fixture_event, fixture_path, test_guest_path, workspace};

/// Route `r` through the test guest with `guest` to a `log:` destination named
/// `destination`, on memory storage.
fn guest_route(guest: Filter, destination: &str) -> WeirConfig {
    WeirConfig::new()
        .storage(Storage::memory())
        .plugins(Plugins::new().dir(test_guest_path().parent().unwrap()))
        .route("r", Route::to([destination]).filter(guest))
        .destination(destination, Destination::url("log:"))
}

/// `weir filter` on the test guest in `config`, logs as text (the default) into a
/// pipe, as under a service manager.
fn weir_filter(config: &str, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_weir"))
        .args(["filter", "--plugin"])
        .arg(test_guest_path())
        .args(["--config", config, "--event"])
        .arg(fixture_path("classification.json"))
        .args(extra)
        .env("WEIR_CACHE_DIR", workspace().join("target").join("weir-test-cache"))
        .env("WEIR_LOG", "info")
        .output()
        .unwrap()
}

#[test]
fn a_guest_cannot_forge_a_log_line_or_drive_the_terminal() {
    // The guest logs, prints and drops with "ok\n2030-01-01T00:00:00Z  INFO weir:
    // FORGED-...\x1b[2J".
    let out = weir_filter(r#"{"mode":"forge"}"#, &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}{stderr}");
    for (stream, text) in [("stdout", &stdout), ("stderr", &stderr)] {
        assert!(
            !text.lines().any(|line| line.starts_with("2030-01-01")),
            "a forged line reached {stream}:\n{text}"
        );
        assert!(
            !text.contains('\u{1b}'),
            "an escape sequence reached {stream} (a pipe gets no colours either):\n{text:?}"
        );
    }
    // Still there to read, escaped.
    assert!(
        stderr.contains(r"ok\n2030-01-01T00:00:00Z  INFO weir: FORGED-LOG"),
        "{stderr}"
    );
    assert!(stderr.contains("FORGED-STDOUT"), "{stderr}");
    assert!(
        stdout.contains(r"verdict: drop (ok\n2030-01-01T00:00:00Z  INFO weir: FORGED-DROP"),
        "{stdout}"
    );
}

#[tokio::test]
async fn a_huge_drop_reason_or_error_is_cut_and_says_so() {
    let ten_mib = 10 << 20;
    // Ten MiB take a while to write: a deadline that leaves the time.
    let filter = |config: String| {
        guest_filter_with(FilterSettings {
            config,
            timeout: Duration::from_secs(10),
            ..FilterSettings::default()
        })
    };
    let outcome = run(
        &filter(format!(r#"{{"mode":"huge-reason","bytes":{ten_mib}}}"#)).await,
        fixture_event("classification"),
    )
    .await;
    let Ok(Outcome::Dropped(reason)) = outcome else {
        panic!("not dropped: {outcome:?}")
    };
    assert!(reason.len() < 1100, "a reason of {} bytes", reason.len());
    assert!(reason.ends_with(" [cut: 10485760 bytes in all, 1024 kept]"), "{reason}");

    let outcome = run(
        &filter(format!(r#"{{"mode":"huge-error","bytes":{ten_mib}}}"#)).await,
        fixture_event("classification"),
    )
    .await;
    let Err(FilterError::Declined { message, .. }) = outcome else {
        panic!("not declined: {outcome:?}")
    };
    assert!(
        message.ends_with(" [cut: 10485760 bytes in all, 1024 kept]"),
        "{message}"
    );
}

#[tokio::test]
async fn a_huge_drop_reason_reaches_the_sender_cut() {
    let huge_reason = Filter::plugin("weir_test_guest")
        .config(json!({ "mode": "huge-reason", "bytes": 5000000 }))
        .timeout(Duration::from_secs(10));
    let weir = weir_tests::router::start(&guest_route(huge_reason, "log")).await;
    let answer = weir.post_json("r", "{}").await;
    assert_eq!(answer.status(), 202);
    let body = answer.text().await.unwrap();
    assert!(body.len() < 2000, "an answer of {} bytes", body.len());
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    let reason = answer["reason"].as_str().unwrap();
    assert!(reason.starts_with("weir_test_guest: rrrr"), "{reason}");
    assert!(reason.ends_with("[cut: 5000000 bytes in all, 1024 kept]"), "{reason}");
    weir.stop().await;
}

/// The plugin's log lines (and summaries of suppressed ones) in a JSON log.
fn plugin_lines(log: &[String], plugin: &str) -> usize {
    log.iter()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|line| line["fields"]["plugin"] == plugin || line["span"]["plugin"] == plugin)
        .count()
}

#[tokio::test]
async fn a_plugin_flooding_the_log_is_held_to_its_budget_per_second_and_counted() {
    // Each event: 100 log calls (32 reach the budget, the per-call cap counts the rest)
    // and 100 KiB of stdout.
    let chatty = Filter::plugin("weir_test_guest").config(json!({ "mode": "chatty" }));
    let weir = WeirProcess::spawn(
        env!("CARGO_BIN_EXE_weir"),
        &folder("log-flood"),
        &guest_route(chatty, "none"),
    );
    let started = Instant::now();
    let before = plugin_lines(&weir.log.lock().unwrap(), "weir_test_guest");
    for _ in 0..60 {
        let answer = weir.post_json("r", "{}").await;
        assert_eq!(answer.status(), 202);
    }
    let seconds = started.elapsed().as_secs() + 1;
    // 60 events caused 60 x 34 lines; the budget is 100 a second (and 64 KiB).
    let written = plugin_lines(&weir.log.lock().unwrap(), "weir_test_guest") - before;
    assert!(
        written as u64 <= 100 * (seconds + 1),
        "{written} lines from the plugin in {seconds} s:\n{}",
        weir.log_text()
    );
    let metrics = weir.metrics().await;
    let suppressed = weir_tests::records::metric(
        &metrics,
        r#"weir_plugin_log_suppressed_total{plugin="weir_test_guest"}"#,
    )
    .unwrap_or_else(|| panic!("no suppressed-lines counter:\n{metrics}"));
    assert!(suppressed > 0, "{metrics}");
    // The next second's first line says how many were suppressed: events until that
    // second comes and its line is in the log.
    eventually("a line saying how many were suppressed", SETTLE, async || {
        if weir.logged("line(s) were suppressed") {
            return Some(());
        }
        weir.post_json("r", "{}").await;
        None
    })
    .await;
}

#[test]
fn a_core_module_calling_unimplemented_wasi_in_a_loop_writes_no_log() {
    // 100,000 calls of sock_accept, each of which wasmtime-wasi would log.
    let module = wat::parse_str(
        r#"(module
            (import "wasi_snapshot_preview1" "sock_accept" (func $accept (param i32 i32 i32) (result i32)))
            (memory (export "memory") 1)
            (data (i32.const 1024) "{\"verdict\":\"keep\"}")
            (func (export "weir_alloc") (param i32) (result i32) (i32.const 4096))
            (func (export "weir_filter") (param i32 i32) (result i64)
              (local $n i32)
              (loop $again
                (drop (call $accept (i32.const 3) (i32.const 0) (i32.const 0)))
                (local.set $n (i32.add (local.get $n) (i32.const 1)))
                (br_if $again (i32.lt_u (local.get $n) (i32.const 100000))))
              ;; the verdict at 1024, 18 bytes
              (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const 18))))"#,
    )
    .unwrap();
    let path = folder("sock-accept").join("accepter.wasm");
    std::fs::write(&path, module).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_weir"))
        .args(["filter", "--plugin"])
        .arg(&path)
        .args(["--event"])
        .arg(fixture_path("classification.json"))
        .args(["--timeout-ms", "10000"])
        .env("WEIR_CACHE_DIR", workspace().join("target").join("weir-test-cache"))
        .env("WEIR_LOG", "info")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("verdict: keep"), "{stdout}");
    assert!(
        stderr.len() < 4096,
        "{} bytes of log:\n{}",
        stderr.len(),
        &stderr[..4096]
    );
}
