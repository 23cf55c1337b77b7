//! Guests that misbehave, each with its named outcome: the instance is discarded, the
//! error says what happened, and the next event on the same filter is served.

use std::sync::atomic::Ordering;
use std::time::Duration;

use weir::event::Event;
use weir::plugin::{FilterError, FilterSettings, LoadError, Misbehavior, Outcome};
use weir_contract::EditError;
use weir_tests::filters::{filter, guest_filter, guest_filter_with, misbehavior, modified, run, with_meta};
use weir_tests::{fixture_event, guest_0_1, load, test_guest_path};

/// Log messages a guest may write per call (`MAX_LOGS_PER_CALL` in
/// host/src/plugin/sandbox.rs).
const MAX_LOGS_PER_CALL: usize = 32;

/// Bytes of a guest's stdout kept per call (`OUTPUT_CAP` in host/src/plugin/stdio.rs).
const OUTPUT_CAP: usize = 4096;

fn event(mode: &str) -> Event {
    with_meta(fixture_event("object-detection"), "mode", mode)
}

#[tokio::test]
async fn an_infinite_loop_is_stopped_at_its_deadline_and_the_next_event_succeeds() {
    let timeout = Duration::from_millis(200);
    let filter = guest_filter_with(FilterSettings {
        config: r#"{"mode":"pass"}"#.into(),
        timeout,
        ..FilterSettings::default()
    })
    .await;
    // The guest never returns by itself: only the deadline can end the call, and the
    // outcome names it (how long it took is for benchmarks, not tests).
    let outcome = run(&filter, event("loop")).await;
    assert_eq!(misbehavior(outcome), Misbehavior::Deadline(timeout));
    assert_eq!(run(&filter, event("pass")).await.unwrap(), Outcome::Kept);
    // The looping instance was thrown away and a new one made.
    assert_eq!(filter.stats().instances.load(Ordering::Relaxed), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_looping_guest_yields_the_reactor_to_other_tasks() {
    let filter = guest_filter_with(FilterSettings {
        config: r#"{"mode":"loop"}"#.into(),
        timeout: Duration::from_secs(60),
        ..FilterSettings::default()
    })
    .await;
    // On a one-thread runtime, a task that needs the reactor five times must finish
    // while the guest spins: if the guest held the thread, only its 60 s deadline would
    // end the race, and the guest would win it.
    let ticks = async {
        for _ in 0..5 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::select! {
        () = ticks => {}
        outcome = run(&filter, fixture_event("classification")) => {
            panic!("the reactor was starved until the guest's deadline: {outcome:?}")
        }
    }
    // The guest's call was abandoned mid-loop; the filter serves the next event.
    let outcome = run(&filter, with_meta(fixture_event("classification"), "mode", "pass")).await;
    assert_eq!(outcome.unwrap(), Outcome::Kept);
}

#[tokio::test]
async fn a_memory_bomb_hits_its_cap_and_the_next_event_succeeds() {
    let filter = guest_filter_with(FilterSettings {
        config: r#"{"mode":"pass"}"#.into(),
        memory: 32 << 20,
        // Filling 32 MiB takes a loaded machine longer than the default deadline; the
        // deadline is not what this test is about.
        timeout: Duration::from_secs(10),
        ..FilterSettings::default()
    })
    .await;
    match misbehavior(run(&filter, event("grow-memory")).await) {
        Misbehavior::Memory { limit, requested } => {
            assert_eq!(limit, 32 << 20);
            assert!(requested > limit);
        }
        other => panic!("expected a memory error, got {other:?}"),
    }
    assert_eq!(run(&filter, event("pass")).await.unwrap(), Outcome::Kept);
}

#[tokio::test]
async fn a_panic_is_a_trap_that_carries_the_panic_message() {
    let filter = guest_filter(r#"{"mode":"pass"}"#).await;
    match misbehavior(run(&filter, event("panic")).await) {
        Misbehavior::Trap(message) => {
            assert!(message.contains("misbehave: panic in filter as asked"), "{message}");
        }
        other => panic!("expected a trap, got {other:?}"),
    }
    assert_eq!(run(&filter, event("pass")).await.unwrap(), Outcome::Kept);
}

#[tokio::test]
async fn invalid_output_of_a_0_1_filter_is_refused_with_its_reason() {
    // Contract 0.1 returned changes in the verdict: an invalid one is misbehaviour.
    let filter = filter(
        load("misbehave-0.1", &guest_0_1("weir-test-guest")),
        r#"{"mode":"pass"}"#,
    )
    .await;
    let mut bound = event("bad-destination");
    bound.destinations = vec!["slack".into()];
    let cases = [
        (event("bad-json"), "predictions that are not valid JSON"),
        (event("bad-attachment"), "removed attachment \"no-such-file.png\""),
        (
            bound,
            "routed the event to \"nowhere\", which is not one of its destinations (slack)",
        ),
    ];
    for (event, expected) in cases {
        match misbehavior(run(&filter, event).await) {
            Misbehavior::InvalidOutput(invalid) => {
                assert!(invalid.to_string().contains(expected), "{invalid}");
                if expected.contains("JSON") {
                    assert!(matches!(invalid, EditError::InvalidJson(_)));
                }
            }
            other => panic!("expected invalid output, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_declined_event_keeps_the_instance() {
    let filter = guest_filter(r#"{"mode":"counter"}"#).await;
    run(&filter, fixture_event("classification")).await.unwrap();
    match run(&filter, event("decline")).await {
        Err(FilterError::Declined {
            message,
            plugin,
            retryable: false,
        }) => {
            assert_eq!(message, "declined as asked");
            assert_eq!(plugin, "misbehave");
        }
        other => panic!("expected a declined event, got {other:?}"),
    }
    let after = run(&filter, fixture_event("classification")).await;
    let Ok(Outcome::Modified(event)) = after else {
        panic!("{after:?}")
    };
    // Same instance: it has now seen three events.
    assert_eq!(event.metadata_value("count"), Some("3"));
}

#[tokio::test]
async fn a_panic_in_init_fails_loading_with_the_panic_message() {
    let plugin = load("misbehave", &test_guest_path());
    let settings = FilterSettings {
        config: r#"{"mode":"panic-init"}"#.into(),
        ..FilterSettings::default()
    };
    let Err(error) = weir::plugin::Filter::new(plugin, settings).await else {
        panic!("init succeeded")
    };
    let message = error.to_string();
    assert!(matches!(error, LoadError::Init { .. }), "{error:?}");
    assert!(message.contains("weir_test_guest.wasm"), "{message}");
    assert!(message.contains("misbehave: panic in init as asked"), "{message}");
}

#[tokio::test]
async fn a_loop_in_init_fails_loading_at_the_deadline() {
    let plugin = load("misbehave", &test_guest_path());
    let settings = FilterSettings {
        config: r#"{"mode":"loop-init"}"#.into(),
        timeout: Duration::from_millis(100),
        ..FilterSettings::default()
    };
    let Err(error) = weir::plugin::Filter::new(plugin, settings).await else {
        panic!("init succeeded")
    };
    // A start gets at least `MIN_START_DEADLINE` (1 s), more than the 100 ms of a call.
    assert!(
        error.to_string().contains("ran past its deadline of 1000 ms"),
        "{error}"
    );
}

#[tokio::test]
async fn a_refused_config_fails_loading_with_the_plugin_message() {
    let plugin = load("misbehave", &test_guest_path());
    let settings = FilterSettings {
        config: r#"{"mode":"sing"}"#.into(),
        ..FilterSettings::default()
    };
    let Err(error) = weir::plugin::Filter::new(plugin, settings).await else {
        panic!("init succeeded")
    };
    let message = error.to_string();
    assert!(
        message.contains("refused its config: invalid config: unknown variant `sing`"),
        "{message}"
    );
}

#[test]
fn a_chatty_guest_is_capped_and_keeps_working() {
    // Weir's own log, from a child process: 100 messages and 100 KiB of stdout per call.
    let guest = test_guest_path();
    let event = weir_tests::fixture_path("classification.json");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_weir"))
        .args(["--log-format", "json", "filter", "--plugin"])
        .arg(&guest)
        .args(["--config", r#"{"mode":"chatty"}"#, "--event"])
        .arg(&event)
        .args(["--repeat", "2", "--json"])
        .env(
            "WEIR_CACHE_DIR",
            weir_tests::workspace().join("target").join("weir-test-cache"),
        )
        .env("WEIR_LOG", "info")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}{stderr}");
    let result: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(result["verdict"], "keep", "{stdout}");
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let message = |line: &serde_json::Value| line["fields"]["message"].as_str().unwrap_or_default().to_string();
    // Two calls: 32 messages each reach the log, the other 68 are counted once a call
    // (34 lines a call, within the plugin's budget of 100 lines a second).
    let kept = lines
        .iter()
        .filter(|l| message(l).starts_with("chatty message "))
        .count();
    assert_eq!(kept, 2 * MAX_LOGS_PER_CALL, "{stderr}");
    let suppressed: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| message(l).starts_with("plugin logged more than 32 messages in one call"))
        .collect();
    assert_eq!(suppressed.len(), 2, "{stderr}");
    assert!(suppressed.iter().all(|l| l["fields"]["suppressed"] == 68), "{stderr}");
    // Its stdout: the first 4 KiB of each call, and how much was cut.
    let printed: Vec<String> = lines
        .iter()
        .filter(|l| l["fields"]["stream"] == "stdout")
        .map(message)
        .collect();
    assert_eq!(printed.len(), 2, "{stderr}");
    for text in printed {
        assert_eq!(
            text,
            format!(
                "{} [... {} more bytes discarded]",
                "x".repeat(OUTPUT_CAP),
                100 * 1024 - OUTPUT_CAP
            )
        );
    }
}

#[test]
fn repeated_memory_bombs_leave_the_host_memory_bounded() {
    let guest = test_guest_path();
    let event = weir_tests::fixture_path("object-detection.json");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_weir"))
        .args([
            "filter",
            "--plugin",
            guest.to_str().unwrap(),
            "--config",
            r#"{"mode":"grow-memory"}"#,
            "--event",
            event.to_str().unwrap(),
            "--memory-mib",
            "32",
            // Long enough that only the memory cap can stop the bomb.
            "--timeout-ms",
            "10000",
            "--repeat",
            "20",
            "--json",
        ])
        .env(
            "WEIR_CACHE_DIR",
            weir_tests::workspace().join("target").join("weir-test-cache"),
        )
        .env("WEIR_LOG", "error")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let result: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(result["kind"], "memory", "{stdout}");
    assert_eq!(result["time"]["runs"], 20);
    // Twenty guests each tried to take gigabytes (the pool allows 4 GiB per memory);
    // capped at 32 MiB and freed after each, the process stays small. (Uncapped, one
    // such guest takes over 1 GiB.)
    let peak = result["peak_rss_bytes"]
        .as_u64()
        .expect("peak RSS is reported on Linux");
    assert!(peak < 200 << 20, "peak RSS {} MiB", peak >> 20);
}

#[tokio::test]
async fn a_refused_edit_is_told_to_the_filter_at_the_call_and_changes_nothing() {
    let filter = guest_filter(r#"{"mode":"refusals"}"#).await;
    let mut event = fixture_event("object-detection");
    event.destinations = vec!["slack".into()];
    let out = modified(run(&filter, event.clone()).await);
    assert_eq!(
        out.metadata_value("refused"),
        Some("invalid-json,no-such-attachment,no-such-destination,no-such-prediction,too-large")
    );
    assert_eq!(out.predictions, event.predictions);
    assert_eq!(out.attachments, event.attachments);
    assert_eq!(out.destinations, event.destinations);
}

#[tokio::test]
async fn a_refusal_passed_on_by_the_filter_is_a_declined_event() {
    let filter = guest_filter(r#"{"mode":"bad-json"}"#).await;
    match run(&filter, fixture_event("classification")).await {
        Err(FilterError::Declined {
            message,
            retryable: false,
            ..
        }) => assert!(message.contains("not valid JSON"), "{message}"),
        other => panic!("expected a declined event, got {other:?}"),
    }
    let retry = guest_filter(r#"{"mode":"decline-retryable"}"#).await;
    match run(&retry, fixture_event("classification")).await {
        Err(FilterError::Declined {
            message,
            retryable: true,
            ..
        }) => assert_eq!(message, "try me again later"),
        other => panic!("expected a retryable error, got {other:?}"),
    }
}

/// A sleep far longer than the test is allowed to take: if the deadline did not end
/// it, the test fails by its own bound rather than by a timing assertion.
const LONG_SLEEP_MS: u64 = 600_000;

/// Runs `work`, failing the test if it is not over within `limit` (the deadline did not
/// hold).
async fn within<T>(limit: Duration, work: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(limit, work)
        .await
        .expect("the guest's sleep was not ended by its deadline")
}

#[tokio::test]
async fn a_guest_sleeping_in_wasi_is_stopped_at_its_deadline_in_filter_and_in_init() {
    let filter = guest_filter_with(FilterSettings {
        config: format!(r#"{{"mode":"pass","millis":{LONG_SLEEP_MS}}}"#),
        timeout: Duration::from_millis(100),
        ..FilterSettings::default()
    })
    .await;
    let outcome = within(Duration::from_secs(30), run(&filter, event("sleep"))).await;
    assert!(matches!(misbehavior(outcome), Misbehavior::Deadline(_)));
    // The sleeping instance was thrown away; the filter serves the next event.
    assert_eq!(run(&filter, event("pass")).await.unwrap(), Outcome::Kept);

    let settings = FilterSettings {
        config: format!(r#"{{"mode":"sleep-init","millis":{LONG_SLEEP_MS}}}"#),
        timeout: Duration::from_millis(100),
        ..FilterSettings::default()
    };
    let loaded = within(
        Duration::from_secs(30),
        weir::plugin::Filter::new(load("misbehave", &test_guest_path()), settings),
    )
    .await;
    let Err(error) = loaded else { panic!("init succeeded") };
    // A start gets at least `MIN_START_DEADLINE` (1 s), more than the 100 ms of a call.
    assert!(
        error.to_string().contains("ran past its deadline of 1000 ms"),
        "{error}"
    );
}

#[tokio::test]
async fn a_core_module_sleeping_in_poll_oneoff_is_stopped_at_its_deadline() {
    // weir_filter asks WASI preview 1 to wait ten minutes on the monotonic clock.
    let sleeper = wat::parse_str(
        r#"(module
            (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
            (memory (export "memory") 1)
            (func (export "weir_alloc") (param i32) (result i32) (i32.const 4096))
            (func (export "weir_filter") (param i32 i32) (result i64)
              ;; a clock subscription at 0: userdata, tag 0 (clock), monotonic (1),
              ;; 600 s in nanoseconds, relative
              (i64.store (i32.const 0) (i64.const 1))
              (i32.store8 (i32.const 8) (i32.const 0))
              (i32.store (i32.const 16) (i32.const 1))
              (i64.store (i32.const 24) (i64.const 600000000000))
              (i64.store (i32.const 32) (i64.const 0))
              (i32.store16 (i32.const 40) (i32.const 0))
              (drop (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128)))
              (unreachable)))"#,
    )
    .unwrap();
    let plugin = std::sync::Arc::new(
        weir::plugin::Plugin::from_bytes(weir_tests::engine(), "sleeper", "sleeper.wasm", &sleeper).unwrap(),
    );
    let settings = FilterSettings {
        timeout: Duration::from_millis(100),
        ..FilterSettings::default()
    };
    let filter = weir::plugin::Filter::new(plugin, settings).await.unwrap();
    let outcome = within(Duration::from_secs(30), run(&filter, fixture_event("classification"))).await;
    let misbehavior = misbehavior(outcome);
    assert!(matches!(misbehavior, Misbehavior::Deadline(_)), "{misbehavior:?}");
}
