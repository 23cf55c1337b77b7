//! Core-module filters (`wit/core-module.md`): the WAT example end to end, and small
//! hand-written modules for every part of the ABI and every way to break it.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::{Value, json};
use weir::event::{Attachment, Event};
use weir::plugin::{Filter, FilterError, FilterSettings, LoadError, Misbehavior, Outcome, Plugin};
use weir_tests::config::{Destination, Filter as RouteFilter, Plugins, Route, Storage};
use weir_tests::filters::{misbehavior, modified, run};
use weir_tests::receiver::Receiver;
use weir_tests::records::SETTLE;
use weir_tests::router::start_file;
use weir_tests::scratch::plugins_folder;
use weir_tests::{WeirConfig, engine, eventually, fixture, workspace};

/// The example, assembled from its source as a user would with `wat2wasm`.
fn sample_wasm() -> Vec<u8> {
    wat::parse_file(
        workspace()
            .join("plugins")
            .join("wat")
            .join("sample")
            .join("sample.wat"),
    )
    .unwrap()
}

fn plugin(name: &str, wasm: &[u8]) -> Result<Arc<Plugin>, LoadError> {
    Plugin::from_bytes(engine(), name, &format!("{name}.wasm"), wasm).map(Arc::new)
}

async fn filter(wasm: &[u8], settings: FilterSettings) -> Filter {
    Filter::new(plugin("m", wasm).unwrap(), settings)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

fn settings(config: &str) -> FilterSettings {
    FilterSettings {
        config: config.into(),
        max_instances: 1,
        ..FilterSettings::default()
    }
}

/// A module with the ABI's scaffolding (memory, an allocator placing every input at
/// 32 KiB, `$packed`, the `weir` imports) around `body`.
fn module(body: &str) -> Vec<u8> {
    wat::parse_str(format!(
        r#"(module
            (import "weir" "log" (func $log (param i32 i32 i32)))
            (import "weir" "attachment" (func $attachment (param i32 i32 i32 i32) (result i64)))
            (memory (export "memory") 1)
            (func (export "weir_alloc") (param $len i32) (result i32) (i32.const 32768))
            (func $packed (param $ptr i32) (param $len i32) (result i64)
              (i64.or (i64.shl (i64.extend_i32_u (local.get $ptr)) (i64.const 32))
                      (i64.extend_i32_u (local.get $len))))
            {body})"#
    ))
    .unwrap()
}

/// A module whose filter always answers `verdict`.
fn answering(verdict: &str) -> Vec<u8> {
    let escaped = verdict.replace('\\', "\\\\").replace('"', "\\\"");
    module(&format!(
        r#"(data (i32.const 1024) "{escaped}")
           (func (export "weir_filter") (param i32 i32) (result i64)
             (call $packed (i32.const 1024) (i32.const {})))"#,
        verdict.len()
    ))
}

/// The object-detection fixture, bound for `a` and `b`, without attachments.
fn event() -> Event {
    let mut event = Event::new("e-1", "test", fixture("object-detection.json"));
    event.destinations = vec!["a".into(), "b".into()];
    event
}

#[tokio::test]
async fn the_sample_example_keeps_one_event_in_every_n() {
    let sample = filter(&sample_wasm(), settings(r#"{"every": 3}"#)).await;
    let mut kept = Vec::new();
    for _ in 0..7 {
        match run(&sample, event()).await.unwrap() {
            Outcome::Kept => kept.push(true),
            Outcome::Dropped(reason) => {
                assert_eq!(reason, "sampled out");
                kept.push(false);
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(kept, [true, false, false, true, false, false, true]);

    // No number: keep everything.
    let all = filter(&sample_wasm(), settings("{}")).await;
    for _ in 0..3 {
        assert_eq!(run(&all, event()).await.unwrap(), Outcome::Kept);
    }
}

#[tokio::test]
async fn the_sample_example_refuses_a_zero_with_its_message() {
    let plugin = plugin("sample", &sample_wasm()).unwrap();
    let error = Filter::new(plugin, settings(r#"{"every": 0}"#)).await.err().unwrap();
    let text = error.to_string();
    assert!(matches!(error, LoadError::Init { .. }), "{error:?}");
    assert!(
        text.contains(r#"the plugin refused its config: the config must be {"every": N}"#),
        "{text}"
    );
}

#[tokio::test]
async fn the_sample_example_serves_a_route_from_the_plugin_folder() {
    let dir = plugins_folder("core-module");
    std::fs::write(dir.join("plugins").join("sample.wasm"), sample_wasm()).unwrap();
    let mut hook = Receiver::ok().await;
    let config = WeirConfig::new()
        .storage(Storage::memory())
        .plugins(Plugins::new().dir(&dir.join("plugins")))
        .route(
            "cameras",
            Route::to(["hook"]).filter(RouteFilter::plugin("sample").config(json!({ "every": 2 }))),
        )
        .destination("hook", Destination::url(hook.url()));
    let weir = start_file(&dir.join("weir.toml"), &config).await;
    let mut statuses = Vec::new();
    for n in 0..4 {
        let answer: Value = weir
            .post_json("cameras", &format!(r#"{{"n":{n},"predictions":[]}}"#))
            .await
            .json()
            .await
            .unwrap();
        statuses.push(answer["status"].as_str().unwrap().to_string());
    }
    assert_eq!(statuses, ["accepted", "dropped", "accepted", "dropped"]);
    let mut delivered = vec![
        hook.next().await.json()["n"].clone(),
        hook.next().await.json()["n"].clone(),
    ];
    delivered.sort_by_key(|n| n.as_u64());
    assert_eq!(delivered, [json!(0), json!(2)]);
    let sample = weir.plugin("sample").await;
    assert_eq!((sample["calls"].as_u64(), sample["drops"].as_u64()), (Some(4), Some(2)));
    assert_eq!(sample["kind"], "core-module");

    // Replaced in the folder by a module that drops everything: live without a restart.
    std::fs::write(
        dir.join("plugins").join("sample.wasm"),
        answering(r#"{"verdict":"drop","reason":"version two"}"#),
    )
    .unwrap();
    eventually("the new version to be loaded", SETTLE, async || {
        (weir.plugin("sample").await["versions"].as_u64() == Some(2)).then_some(())
    })
    .await;
    let answer: Value = weir
        .post_json("cameras", r#"{"predictions":[]}"#)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (answer["status"].as_str(), answer["reason"].as_str()),
        (Some("dropped"), Some("sample: version two"))
    );
    weir.stop().await;
}

#[tokio::test]
async fn the_module_reads_the_event_as_documented() {
    // The filter answers `{"verdict":"modify","predictions":<its input>}`: the prefix is
    // copied in front of the input, the `}` after it, so the event it read comes back
    // as the new predictions.
    let prefix = r#"{"verdict":"modify","predictions":"#;
    let mirror = module(&format!(
        r#"(data (i32.const 1024) "{}")
           (func (export "weir_filter") (param $ptr i32) (param $len i32) (result i64)
             (memory.copy (i32.sub (local.get $ptr) (i32.const {n})) (i32.const 1024) (i32.const {n}))
             (i32.store8 (i32.add (local.get $ptr) (local.get $len)) (i32.const 125))
             (call $packed (i32.sub (local.get $ptr) (i32.const {n}))
                           (i32.add (local.get $len) (i32.const {m}))))"#,
        prefix.replace('"', "\\\""),
        n = prefix.len(),
        m = prefix.len() + 1
    ));
    let mirror = filter(&mirror, settings("{}")).await;
    let mut input = event();
    input.set_metadata("camera", "dock-3");
    input.attachments.push(Attachment {
        name: "image.jpeg".into(),
        content_type: "image/jpeg".into(),
        data: bytes::Bytes::from_static(b"0123456789"),
    });
    let predictions: Value = serde_json::from_str(&input.predictions).unwrap();
    let seen = modified(run(&mirror, input.clone()).await);
    let seen: Value = serde_json::from_str(&seen.predictions).unwrap();
    assert_eq!(
        seen,
        json!({
            "id": input.id,
            "route": input.route,
            "task": input.task.as_str(),
            "metadata": { "camera": "dock-3" },
            "predictions": predictions,
            "attachments": [{ "name": "image.jpeg", "content_type": "image/jpeg", "size": 10 }],
            "destinations": ["a", "b"],
        })
    );
}

#[tokio::test]
async fn every_change_of_a_modify_verdict_is_applied() {
    let verdict = r#"{"verdict":"modify","keep_predictions":[0],"set_metadata":{"by":"wat"},"remove_metadata":["mode"],"destinations":["b"]}"#;
    let changes = filter(&answering(verdict), settings("{}")).await;
    let mut input = event();
    input.set_metadata("mode", "x");
    let out = modified(run(&changes, input).await);
    let predictions: Value = serde_json::from_str(&out.predictions).unwrap();
    assert_eq!(predictions["predictions"].as_array().unwrap().len(), 1);
    assert_eq!(out.metadata, [("by".to_string(), "wat".to_string())]);
    assert_eq!(out.destinations, ["b"]);

    let replace = filter(
        &answering(r#"{"verdict":"modify","predictions":{"predictions":[]}}"#),
        settings("{}"),
    )
    .await;
    assert_eq!(
        modified(run(&replace, event()).await).predictions.as_str(),
        r#"{"predictions":[]}"#
    );

    // Changes are checked as a component's are: no routing outside the event's set.
    let astray = filter(
        &answering(r#"{"verdict":"modify","destinations":["elsewhere"]}"#),
        settings("{}"),
    )
    .await;
    assert!(matches!(
        misbehavior(run(&astray, event()).await),
        Misbehavior::InvalidOutput(_)
    ));
}

#[tokio::test]
async fn an_error_verdict_declines_the_event_and_keeps_the_instance() {
    let declining = filter(
        &answering(r#"{"verdict":"error","message":"cannot read it"}"#),
        settings("{}"),
    )
    .await;
    for _ in 0..2 {
        match run(&declining, event()).await {
            Err(FilterError::Declined { message, .. }) => assert_eq!(message, "cannot read it"),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(declining.stats().instances.load(Ordering::Relaxed), 1);
}

#[tokio::test]
async fn attachment_bytes_come_on_request() {
    // Copies the first 4 bytes of image.jpeg into the reason of a drop verdict, after
    // checking the full size the host reports.
    let reader = module(
        r#"(data (i32.const 1024) "{\"verdict\":\"drop\",\"reason\":\"????\"}")
           (data (i32.const 2048) "image.jpeg")
           (data (i32.const 3072) "{\"verdict\":\"error\",\"message\":\"unexpected size\"}")
           (data (i32.const 4096) "{\"verdict\":\"keep\"}")
           (func (export "weir_filter") (param i32 i32) (result i64)
             (local $size i64)
             (local.set $size (call $attachment (i32.const 2048) (i32.const 10) (i32.const 1052) (i32.const 4)))
             (if (i64.eq (local.get $size) (i64.const -1))
               (then (return (call $packed (i32.const 4096) (i32.const 18)))))
             (if (i64.ne (local.get $size) (i64.const 10))
               (then (return (call $packed (i32.const 3072) (i32.const 47)))))
             (call $packed (i32.const 1024) (i32.const 34)))"#,
    );
    let reader = filter(&reader, settings("{}")).await;
    let mut input = event();
    input.attachments.push(Attachment {
        name: "image.jpeg".into(),
        content_type: "image/jpeg".into(),
        data: bytes::Bytes::from_static(b"abcdefghij"),
    });
    assert_eq!(run(&reader, input).await.unwrap(), Outcome::Dropped("abcd".into()));
    // No such attachment: -1.
    assert_eq!(run(&reader, event()).await.unwrap(), Outcome::Kept);
}

#[tokio::test]
async fn broken_verdicts_are_misbehaviour_named_by_the_abi() {
    for (verdict, says) in [
        ("not json", "not valid"),
        (
            r#"{"verdict":"maybe"}"#,
            r#"must be "keep", "drop", "modify" or "error""#,
        ),
        (r#"{"verdict":"drop","predictions":[]}"#, "changes need"),
    ] {
        let broken = filter(&answering(verdict), settings("{}")).await;
        match misbehavior(run(&broken, event()).await) {
            Misbehavior::Abi(message) => assert!(message.contains(says), "{verdict}: {message}"),
            other => panic!("{verdict}: {other:?}"),
        }
    }
    let outside = module(
        r#"(func (export "weir_filter") (param i32 i32) (result i64)
             (call $packed (i32.const 65000) (i32.const 1000)))"#,
    );
    let outside = filter(&outside, settings("{}")).await;
    match misbehavior(run(&outside, event()).await) {
        Misbehavior::Abi(message) => assert!(message.contains("outside the memory"), "{message}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn traps_loops_and_memory_bombs_are_stopped_and_the_next_event_served() {
    let trap = filter(
        &module(r#"(func (export "weir_filter") (param i32 i32) (result i64) unreachable)"#),
        settings("{}"),
    )
    .await;
    assert!(matches!(misbehavior(run(&trap, event()).await), Misbehavior::Trap(_)));
    assert!(matches!(misbehavior(run(&trap, event()).await), Misbehavior::Trap(_)));
    assert_eq!(
        trap.stats().instances.load(Ordering::Relaxed),
        2,
        "each trap discards its instance"
    );

    let timeout = Duration::from_millis(100);
    let looping = filter(
        &module(r#"(func (export "weir_filter") (param i32 i32) (result i64) (loop $l (br $l)) (i64.const 0))"#),
        FilterSettings {
            timeout,
            ..settings("{}")
        },
    )
    .await;
    assert_eq!(
        misbehavior(run(&looping, event()).await),
        Misbehavior::Deadline(timeout)
    );

    let bomb = filter(
        &module(
            r#"(func (export "weir_filter") (param i32 i32) (result i64)
                 (if (i32.eq (memory.grow (i32.const 2000)) (i32.const -1)) (then unreachable))
                 (i64.const 0))"#,
        ),
        FilterSettings {
            memory: 32 << 20,
            ..settings("{}")
        },
    )
    .await;
    match misbehavior(run(&bomb, event()).await) {
        Misbehavior::Memory { limit, requested } => {
            assert_eq!(limit, 32 << 20);
            assert!(requested > limit);
        }
        other => panic!("{other:?}"),
    }

    // AssemblyScript's abort: its message (UTF-16, length before it) in the trap.
    let abort = wat::parse_str(
        r#"(module
            (import "env" "abort" (func $abort (param i32 i32 i32 i32)))
            (memory (export "memory") 1)
            (data (i32.const 96) "\08\00\00\00b\00o\00o\00m\00")
            (data (i32.const 124) "\08\00\00\00f\00.\00t\00s\00")
            (func (export "weir_alloc") (param i32) (result i32) (i32.const 32768))
            (func (export "weir_filter") (param i32 i32) (result i64)
              (call $abort (i32.const 100) (i32.const 128) (i32.const 3) (i32.const 5))
              (i64.const 0)))"#,
    )
    .unwrap();
    let abort = filter(&abort, settings("{}")).await;
    match misbehavior(run(&abort, event()).await) {
        Misbehavior::Trap(message) => assert!(message.contains("abort: boom at f.ts:3:5"), "{message}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_reactor_is_started_once_before_its_init() {
    // `_initialize` adds 1; `weir_init` refuses unless it ran exactly once before; the
    // filter keeps events only while that still holds.
    let reactor = module(
        r#"(global $started (mut i32) (i32.const 0))
           (data (i32.const 1024) "{\"verdict\":\"keep\"}")
           (data (i32.const 2048) "{\"verdict\":\"drop\",\"reason\":\"not started once\"}")
           (data (i32.const 3072) "_initialize did not run first")
           (func (export "_initialize") (global.set $started (i32.add (global.get $started) (i32.const 1))))
           (func (export "weir_init") (param i32 i32) (result i64)
             (if (result i64) (i32.eq (global.get $started) (i32.const 1))
               (then (i64.const 0))
               (else (call $packed (i32.const 3072) (i32.const 29)))))
           (func (export "weir_filter") (param i32 i32) (result i64)
             (if (result i64) (i32.eq (global.get $started) (i32.const 1))
               (then (call $packed (i32.const 1024) (i32.const 18)))
               (else (call $packed (i32.const 2048) (i32.const 46)))))"#,
    );
    let reactor = filter(&reactor, settings("{}")).await;
    for _ in 0..3 {
        assert_eq!(run(&reactor, event()).await.unwrap(), Outcome::Kept);
    }
}

#[tokio::test]
async fn wasi_preview1_is_there_and_closed() {
    // Prints to stdout (captured for the log) and asks for an environment variable
    // count: the write succeeds, the environment is empty.
    let wasi = wat::parse_str(
        r#"(module
            (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
            (import "wasi_snapshot_preview1" "environ_sizes_get" (func $environ (param i32 i32) (result i32)))
            (memory (export "memory") 1)
            (data (i32.const 64) "hello from wasi\n")
            (data (i32.const 1024) "{\"verdict\":\"keep\"}")
            (data (i32.const 2048) "{\"verdict\":\"error\",\"message\":\"wasi said no\"}")
            (func (export "weir_alloc") (param i32) (result i32) (i32.const 32768))
            (func (export "weir_filter") (param i32 i32) (result i64)
              (i32.store (i32.const 0) (i32.const 64))
              (i32.store (i32.const 4) (i32.const 16))
              (if (i32.or
                    (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))
                    (i32.or (call $environ (i32.const 16) (i32.const 20)) (i32.load (i32.const 16))))
                (then (return (i64.or (i64.shl (i64.const 2048) (i64.const 32)) (i64.const 44)))))
              (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const 18))))"#,
    )
    .unwrap();
    let wasi = filter(&wasi, settings("{}")).await;
    assert_eq!(run(&wasi, event()).await.unwrap(), Outcome::Kept);
}

#[test]
fn modules_that_do_not_follow_the_abi_are_refused_with_what_is_missing() {
    let refused = |wat: &str| {
        let error = plugin("m", &wat::parse_str(wat).unwrap()).err().unwrap();
        assert!(matches!(error, LoadError::WrongAbi { .. }), "{error:?}");
        let text = error.to_string();
        assert!(text.contains("wit/core-module.md"), "{text}");
        text
    };
    assert!(refused("(module)").contains("does not export its memory as `memory`"));
    assert!(
        refused(
            r#"(module (memory (export "memory") 1) (func (export "weir_alloc") (param i32) (result i32) i32.const 0))"#
        )
        .contains("does not export `weir_filter`")
    );
    let mistyped = refused(
        r#"(module (memory (export "memory") 1)
             (func (export "weir_alloc") (param i32) (result i32) i32.const 0)
             (func (export "weir_filter") (param i32 i32) (result i32) i32.const 0))"#,
    );
    assert!(
        mistyped.contains("`weir_filter` must be a func (i32, i32) -> (i64)"),
        "{mistyped}"
    );
    let foreign = refused(
        r#"(module (import "env" "random" (func))
             (memory (export "memory") 1)
             (func (export "weir_alloc") (param i32) (result i32) i32.const 0)
             (func (export "weir_filter") (param i32 i32) (result i64) i64.const 0))"#,
    );
    assert!(foreign.contains("env") && foreign.contains("random"), "{foreign}");
}

/// Every number under a `confidence` key in a document.
fn confidences(value: &Value, found: &mut Vec<f64>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value.as_f64()) {
                    ("confidence", Some(number)) => found.push(number),
                    _ => confidences(value, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| confidences(item, found)),
        _ => {}
    }
}

#[tokio::test]
async fn the_assemblyscript_filter_keeps_events_with_a_confident_prediction() {
    let Some(wasm) = weir_tests::node::required(
        "the_assemblyscript_filter_keeps_events_with_a_confident_prediction",
        weir_tests::node::min_confidence_as(),
    ) else {
        return;
    };
    let plugin = weir_tests::load("min-confidence-as", &wasm);
    assert_eq!(plugin.kind(), "core-module");
    let mut checked = 0;
    for stem in [
        "object-detection",
        "classification",
        "multilabel-classification",
        "instance-segmentation",
        "semantic-segmentation",
    ] {
        let event = Event::new("e-1", "test", fixture(&format!("{stem}.json")));
        let mut found = Vec::new();
        confidences(&serde_json::from_str(&event.predictions).unwrap(), &mut found);
        let Some(best) = found.into_iter().reduce(f64::max) else {
            continue;
        };
        // Just under the best score keeps the event; just over it drops it.
        for (threshold, kept) in [(best - 0.001, true), (best + 0.001, false)] {
            if !(0.0..=1.0).contains(&threshold) {
                continue;
            }
            let config = format!(r#"{{"min_confidence": {threshold}}}"#);
            let filter = filter(&std::fs::read(&wasm).unwrap(), settings(&config)).await;
            let expected = if kept {
                Outcome::Kept
            } else {
                Outcome::Dropped("no prediction is confident enough".into())
            };
            assert_eq!(
                run(&filter, event.clone()).await.unwrap(),
                expected,
                "{stem} at {threshold}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 6, "only {checked} cases had confidences");

    let refused = Filter::new(plugin, settings(r#"{"min_confidence": 7}"#))
        .await
        .err()
        .unwrap();
    assert!(
        refused
            .to_string()
            .contains("min_confidence must be a number from 0 to 1"),
        "{refused}"
    );
}

/// A module of contract 0.2: the scaffolding of [`module`] with `weir_abi_version`
/// answering 0x200.
fn module_0_2(body: &str) -> Vec<u8> {
    module(&format!(
        r#"(func (export "weir_abi_version") (result i32) (i32.const 0x200))
           {body}"#
    ))
}

/// A 0.2 module whose filter always answers `verdict`.
fn answering_0_2(verdict: &str) -> Vec<u8> {
    let escaped = verdict.replace('\\', "\\\\").replace('"', "\\\"");
    module_0_2(&format!(
        r#"(data (i32.const 1024) "{escaped}")
           (func (export "weir_filter") (param i32 i32) (result i64)
             (call $packed (i32.const 1024) (i32.const {})))"#,
        verdict.len()
    ))
}

#[tokio::test]
async fn a_0_2_module_reads_the_task_and_the_prediction_list_weir_read() {
    // The filter answers `{"verdict":"keep","edits":[{"set_predictions":<its input>}]}`,
    // so the event it read comes back as the new predictions.
    let prefix = r#"{"verdict":"keep","edits":[{"set_predictions":"#;
    let mirror = module_0_2(&format!(
        r#"(data (i32.const 1024) "{}")
           (func (export "weir_filter") (param $ptr i32) (param $len i32) (result i64)
             (memory.copy (i32.sub (local.get $ptr) (i32.const {n})) (i32.const 1024) (i32.const {n}))
             (i32.store8 (i32.add (local.get $ptr) (local.get $len)) (i32.const 125))
             (i32.store8 (i32.add (i32.add (local.get $ptr) (local.get $len)) (i32.const 1)) (i32.const 93))
             (i32.store8 (i32.add (i32.add (local.get $ptr) (local.get $len)) (i32.const 2)) (i32.const 125))
             (call $packed (i32.sub (local.get $ptr) (i32.const {n}))
                           (i32.add (local.get $len) (i32.const {m}))))"#,
        prefix.replace('"', "\\\""),
        n = prefix.len(),
        m = prefix.len() + 3
    ));
    let mirror = filter(&mirror, settings("{}")).await;
    assert_eq!(
        mirror.plugin().contract_version().map(|v| v.to_string()).as_deref(),
        Some("0.2.0")
    );
    let mut input = event();
    input.predictions =
        r#"{"task":"pose-estimation","predictions":[{"label":"person","score":0.9,"box":[1,2,3,4]},{"class":"dog"}]}"#
            .into();
    input.task = weir::event::Task::parse("pose-estimation").unwrap();
    let seen = modified(run(&mirror, input.clone()).await);
    let seen: Value = serde_json::from_str(&seen.predictions).unwrap();
    assert_eq!(seen["task"], "pose-estimation");
    assert_eq!(
        seen["prediction_list"],
        json!([
            {"index": 0, "class": "person", "confidence": 0.9,
             "bbox": {"x": 1.0, "y": 2.0, "width": 3.0, "height": 4.0},
             "json": {"label": "person", "score": 0.9, "box": [1, 2, 3, 4]}},
            {"index": 1, "class": "dog", "json": {"class": "dog"}},
        ])
    );
}

#[tokio::test]
async fn a_0_2_modules_edits_apply_in_order_and_a_refused_one_is_misbehaviour() {
    let verdict = r#"{"verdict":"keep","edits":[{"keep_predictions":[0,2]},{"keep_predictions":[1]},{"set_metadata":{"key":"by","value":"wat"}},{"remove_metadata":"mode"},{"narrow_destinations":["b"]}]}"#;
    let edits = filter(&answering_0_2(verdict), settings("{}")).await;
    let mut input = event();
    input.set_metadata("mode", "x");
    let out = modified(run(&edits, input).await);
    let predictions: Value = serde_json::from_str(&out.predictions).unwrap();
    // [0, 2] kept person 0.97 and car 0.88; then [1] kept the car.
    assert_eq!(predictions["predictions"][0]["class"], "car");
    assert_eq!(predictions["predictions"].as_array().unwrap().len(), 1);
    assert_eq!(out.metadata, [("by".to_string(), "wat".to_string())]);
    assert_eq!(out.destinations, ["b"]);

    let astray = filter(
        &answering_0_2(r#"{"verdict":"keep","edits":[{"narrow_destinations":["elsewhere"]}]}"#),
        settings("{}"),
    )
    .await;
    assert!(matches!(
        misbehavior(run(&astray, event()).await),
        Misbehavior::InvalidOutput(_)
    ));
    // The 0.1 shape is not 0.2's.
    let old = filter(
        &answering_0_2(r#"{"verdict":"modify","destinations":["a"]}"#),
        settings("{}"),
    )
    .await;
    assert!(matches!(misbehavior(run(&old, event()).await), Misbehavior::Abi(_)));
}

#[tokio::test]
async fn a_retryable_error_of_a_module_says_so() {
    let declining = filter(
        &answering_0_2(r#"{"verdict":"error","message":"busy","retryable":true}"#),
        settings("{}"),
    )
    .await;
    match run(&declining, event()).await {
        Err(FilterError::Declined {
            message,
            retryable: true,
            ..
        }) => assert_eq!(message, "busy"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn the_sample_example_counts_in_state_shared_by_its_instances() {
    // A fresh instance for every event: the count is not in any instance.
    let sample = filter(
        &sample_wasm(),
        FilterSettings {
            policy: weir::plugin::InstancePolicy::Fresh,
            ..settings(r#"{"every": 3}"#)
        },
    )
    .await;
    let mut kept = Vec::new();
    for i in 0..7 {
        if run(&sample, event()).await.unwrap() == Outcome::Kept {
            kept.push(i);
        }
    }
    assert_eq!(kept, [0, 3, 6]);
    assert_eq!(sample.settings().state.usage().0, 1);
}

#[tokio::test]
async fn a_module_naming_a_contract_weir_does_not_serve_is_refused() {
    let future = module(
        r#"(func (export "weir_abi_version") (result i32) (i32.const 0x300))
           (func (export "weir_filter") (param i32 i32) (result i64) (i64.const 0))"#,
    );
    let Err(error) = Filter::new(plugin("future", &future).unwrap(), settings("{}")).await else {
        panic!("a 0.3 module was accepted")
    };
    assert!(
        error
            .to_string()
            .contains("weir_abi_version returned 0x300, not a contract version this Weir serves"),
        "{error}"
    );
    // A module without the export speaks 0.1.
    let old = filter(&answering(r#"{"verdict":"keep"}"#), settings("{}")).await;
    assert_eq!(
        old.plugin().contract_version().map(|v| v.to_string()).as_deref(),
        Some("0.1.0")
    );
}
