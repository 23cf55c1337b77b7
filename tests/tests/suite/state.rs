//! State that outlives one event (`weir:filter/state`), through the `cooldown` example:
//! notify once per camera and class, across instances, hot swaps and restarts.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use weir::config::StateKind;
use weir_tests::config::{Destination, Filter, Plugins, Route, Storage};
use weir_tests::receiver::Receiver;
use weir_tests::records::SETTLE;
use weir_tests::router::{Weir, start, start_file};
use weir_tests::scratch::{folder, plugins_folder};
use weir_tests::{WeirConfig, eventually, example_path};

/// Route `cameras` through `filter` to `hook`, on `storage`.
fn route(hook: &Receiver, filter: Filter, storage: Storage) -> WeirConfig {
    WeirConfig::new()
        .storage(storage)
        .route("cameras", Route::to(["hook"]).filter(filter))
        .destination("hook", Destination::url(hook.url()))
}

/// The cooldown example (or a plugin file of the same code, `plugin`) keyed on
/// `key`, cooling down for `seconds`.
fn cooldown(plugin: &str, seconds: u64, key: &[&str]) -> Filter {
    Filter::plugin(plugin).config(json!({ "seconds": seconds, "key": key }))
}

fn frame(camera: &str, class: &str) -> String {
    format!(r#"{{"camera":"{camera}","predictions":[{{"class":"{class}","confidence":0.95}}]}}"#)
}

/// Posts a frame; whether Weir accepted it (rather than the cooldown dropping it).
async fn accepted(weir: &Weir, camera: &str, class: &str) -> bool {
    let response = weir.post_json("cameras", &frame(camera, class)).await;
    assert_eq!(response.status(), 202);
    let answer: Value = response.json().await.unwrap();
    match answer["status"].as_str() {
        Some("accepted") => true,
        Some("dropped") => {
            let reason = answer["reason"].as_str().unwrap_or_default();
            assert!(reason.contains(": cooling down: "), "{reason}");
            false
        }
        other => panic!("unexpected answer {other:?}: {answer}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_frames_of_a_person_in_two_seconds_notify_two_or_three_times() {
    let mut hook = Receiver::ok().await;
    let filter = cooldown("cooldown", 1, &["field.camera", "class"]);
    let weir = start(&route(&hook, filter, Storage::memory())).await;
    let started = Instant::now();
    let mut passed = 0;
    for i in 0..100u32 {
        // One frame every 20 ms, on schedule whatever each request took: the test's
        // load, paced on purpose (the cooldown is about time between frames).
        let due = started + Duration::from_millis(20) * i;
        tokio::time::sleep_until(due.into()).await;
        passed += u32::from(accepted(&weir, "dock-3", "person").await);
    }
    let took = started.elapsed();
    // The frames span about two seconds, so a 1 s cooldown lets through one at the
    // start and one or two more; were the state per instance or lost, it would be more.
    let expected = if took < Duration::from_millis(2500) {
        2..=3
    } else {
        2..=4
    };
    assert!(expected.contains(&passed), "{passed} of 100 frames passed in {took:?}");
    for _ in 0..passed {
        let delivery = hook.next().await;
        assert_eq!(delivery.header("x-weir-meta-cooldown-key"), "dock-3/person");
    }
    weir.stop().await;
}

#[tokio::test]
async fn two_cameras_do_not_suppress_each_other() {
    let hook = Receiver::ok().await;
    let filter = cooldown("cooldown", 600, &["field.camera", "class"]);
    let weir = start(&route(&hook, filter, Storage::memory())).await;
    let mut passed = Vec::new();
    for _ in 0..5 {
        for camera in ["dock-3", "dock-4"] {
            if accepted(&weir, camera, "person").await {
                passed.push(camera);
            }
        }
    }
    assert_eq!(passed, ["dock-3", "dock-4"]);
    // Another class on a camera already notified is news too.
    assert!(accepted(&weir, "dock-3", "car").await);
    weir.stop().await;
}

/// The cooldown example with a custom section appended: a new version of the same
/// filter (another hash), as a rebuild would make.
fn cooldown_variant(n: u8) -> Vec<u8> {
    let mut bytes = std::fs::read(example_path("cooldown")).unwrap();
    let name = b"weir-test-version";
    let payload = [n; 8];
    bytes.push(0); // a custom section
    bytes.push((1 + name.len() + payload.len()) as u8);
    bytes.push(name.len() as u8);
    bytes.extend_from_slice(name);
    bytes.extend_from_slice(&payload);
    bytes
}

async fn versions_of(weir: &Weir, plugin: &str) -> u64 {
    let status = weir.plugin(plugin).await;
    // The admin API says which contract the plugin was built for.
    assert_eq!(status["contract"], "0.2.0", "{status}");
    status["versions"].as_u64().unwrap_or(0)
}

#[tokio::test]
async fn the_cooldown_holds_across_a_hot_swap_of_the_plugin() {
    let dir = plugins_folder("state/hot-swap");
    let hook = Receiver::ok().await;
    let plugin = dir.join("plugins").join("notify.wasm");
    std::fs::write(&plugin, cooldown_variant(1)).unwrap();
    let config = route(
        &hook,
        cooldown("notify", 600, &["field.camera", "class"]),
        Storage::memory(),
    )
    .plugins(Plugins::new().dir(&dir.join("plugins")));
    let weir = start_file(&dir.join("weir.toml"), &config).await;
    assert!(accepted(&weir, "dock-3", "person").await);
    assert!(!accepted(&weir, "dock-3", "person").await);

    std::fs::write(&plugin, cooldown_variant(2)).unwrap();
    eventually("the new version to be loaded", SETTLE, async || {
        (versions_of(&weir, "notify").await >= 2).then_some(())
    })
    .await;
    // The new version finds the old one's state: still cooling down.
    assert!(!accepted(&weir, "dock-3", "person").await);
    assert!(accepted(&weir, "dock-4", "person").await);
    weir.stop().await;
}

fn durable_config(hook: &Receiver, store: &Path, state: StateKind) -> WeirConfig {
    route(
        hook,
        cooldown("cooldown", 600, &["field.camera"]).state(state),
        Storage::durable().path(store),
    )
}

#[tokio::test]
async fn durable_state_survives_a_restart_and_memory_state_does_not() {
    let dir = folder("state/restart");
    let hook = Receiver::ok().await;
    for (state, kind, after_restart) in [
        ("durable", StateKind::Durable, false),
        ("memory", StateKind::Memory, true),
    ] {
        let store = dir.join(format!("{state}.db"));
        let weir = start(&durable_config(&hook, &store, kind)).await;
        assert!(accepted(&weir, "dock-3", "person").await);
        assert!(!accepted(&weir, "dock-3", "person").await);
        weir.stop().await;

        let weir = start(&durable_config(&hook, &store, kind)).await;
        assert_eq!(
            accepted(&weir, "dock-3", "person").await,
            after_restart,
            "state = {state:?} after a restart"
        );
        weir.stop().await;
    }
}

#[tokio::test]
async fn durable_state_needs_durable_storage() {
    let hook = Receiver::ok().await;
    let config = route(
        &hook,
        Filter::plugin("cooldown").state(StateKind::Durable),
        Storage::memory(),
    );
    let Err(weir::server::StartError::Config(problems)) = weir_tests::router::try_start(&config).await else {
        panic!("a durable state on memory storage was accepted")
    };
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert!(
        text.iter()
            .any(|p| p.contains("routes.cameras.filters[0].state") && p.contains("needs [storage] kind = \"durable\"")),
        "{text:?}"
    );
}
