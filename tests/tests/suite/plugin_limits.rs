//! What all plugins share, bounded: instances, memory, compilation. Running out is
//! backpressure (503 with Retry-After), never a verdict on an event; what the config
//! asks for must fit at load.

use std::time::Duration;

use serde_json::json;
use weir::config::FailurePolicy;
use weir::plugin::{EngineSettings, FilterSettings, LoadError, Misbehavior, Outcome, Plugin, PluginEngine};
use weir_tests::config::{Destination, Filter, Plugins, Route, Storage};
use weir_tests::filters::run;
use weir_tests::receiver::Receiver;
use weir_tests::scratch::folder;
use weir_tests::{WeirConfig, example_path, fixture_event, test_guest_path};

/// Route `r` through the test guest with `guest` to `destination`, on memory storage.
fn guest_route(plugins: Plugins, guest: Filter, destination: Destination) -> WeirConfig {
    WeirConfig::new()
        .storage(Storage::memory())
        .plugins(plugins.dir(test_guest_path().parent().unwrap()))
        .route(
            "r",
            Route::to(["hook"]).filter(guest).on_filter_error(FailurePolicy::Pass),
        )
        .destination("hook", destination)
}

#[tokio::test]
async fn every_instance_busy_is_a_503_with_retry_after_and_never_a_pass() {
    // One instance, held 1.5 s by the first event; the route's policy would pass the
    // event on without the filter if a busy filter were a failure.
    let mut hook = Receiver::ok().await;
    let slow = Filter::plugin("weir_test_guest")
        .config(json!({ "mode": "slow", "millis": 1500 }))
        .timeout(Duration::from_secs(10))
        .max_instances(1);
    let weir = weir_tests::router::start(&guest_route(
        Plugins::new().instance_wait(Duration::from_millis(200)),
        slow,
        Destination::url(hook.url()),
    ))
    .await;
    let client = weir.client.clone();
    let url = weir.ingest_url("r");
    let first = tokio::spawn(async move {
        client
            .post(url)
            .header("content-type", "application/json")
            .header("idempotency-key", "first")
            .body(r#"{"n":1}"#)
            .send()
            .await
            .unwrap()
            .status()
    });
    weir_tests::eventually(
        "the first event to hold the instance",
        Duration::from_secs(30),
        async || {
            let plugins = weir.admin_json("/admin/plugins").await;
            (plugins["plugins"][0]["calls"] == 1).then_some(())
        },
    )
    .await;
    let second = weir
        .client
        .post(weir.ingest_url("r"))
        .header("content-type", "application/json")
        .header("idempotency-key", "second")
        .body(r#"{"n":2}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), 503);
    assert_eq!(second.headers()["retry-after"], "1");
    let error: serde_json::Value = second.json().await.unwrap();
    let message = error["error"].as_str().unwrap();
    assert!(
        message.contains("busy") && message.contains("send the event again"),
        "{message}"
    );
    assert_eq!(first.await.unwrap(), 202);
    assert_eq!(hook.next().await.json()["n"], 1);
    // The busy event was never stored, so never delivered.
    let record = weir
        .client
        .get(weir.admin_url("/admin/events/second"))
        .send()
        .await
        .unwrap();
    assert_eq!(record.status(), 404);
    weir.stop().await;
}

#[test]
fn the_filters_instances_and_memory_must_fit_the_engine_at_load() {
    let config = |plugins: &str, filters: &str| {
        format!(
            "[plugins]\n{plugins}\n[routes.a]\nfilters = [{filters}]\ndestinations = [\"log\"]\n[routes.b]\nfilters = [{filters}]\ndestinations = [\"log\"]\n[destinations.log]\nurl = \"log:\"\n"
        )
    };
    let problems = |text: String| -> Vec<String> {
        match weir::config::load_str(&text, "weir.toml", &|_| None) {
            Ok(_) => Vec::new(),
            Err(problems) => problems.iter().map(ToString::to_string).collect(),
        }
    };
    let fits = problems(config(
        "max_instances = 4\nmemory_budget = \"256MiB\"",
        "{ plugin = \"class-filter\", max_instances = 2, memory = \"64MiB\" }",
    ));
    assert!(fits.is_empty(), "{fits:?}");

    let too_many = problems(config(
        "max_instances = 3",
        "{ plugin = \"class-filter\", max_instances = 2 }",
    ));
    assert!(
        too_many.iter().any(|p| p.contains("plugins.max_instances")
            && p.contains("may run 4 instances at once")
            && p.contains("max_instances = 3")),
        "{too_many:?}"
    );

    let too_big = problems(config(
        "memory_budget = \"256MiB\"",
        "{ plugin = \"class-filter\", max_instances = 2, memory = \"128MiB\" }",
    ));
    assert!(
        too_big.iter().any(|p| p.contains("plugins.memory_budget")
            && p.contains("may use 512MiB of memory at once")
            && p.contains("256MiB")),
        "{too_big:?}"
    );
}

#[test]
fn a_plugin_file_past_max_plugin_size_is_refused_before_it_is_compiled() {
    let engine = PluginEngine::new(&EngineSettings {
        max_plugin_size: 64 << 10,
        ..EngineSettings::default()
    })
    .unwrap();
    let path = example_path("class-filter");
    let size = std::fs::metadata(&path).unwrap().len();
    assert!(size > 64 << 10, "the example is {size} bytes");
    let error = Plugin::from_file(&engine, "class-filter", &path).unwrap_err();
    assert!(matches!(error, LoadError::Limit { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains(&format!(
            "the file is {size} bytes, more than plugins.max_plugin_size (65536 bytes)"
        )),
        "{message}"
    );
}

#[tokio::test]
async fn a_growth_past_the_memory_budget_is_refused_and_the_memory_comes_back() {
    let engine = PluginEngine::new(&EngineSettings {
        memory_budget: 48 << 20,
        ..EngineSettings::default()
    })
    .unwrap();
    let plugin = std::sync::Arc::new(Plugin::from_file(&engine, "misbehave", &test_guest_path()).unwrap());
    let settings = |bytes: usize| FilterSettings {
        config: format!(r#"{{"mode":"spike","bytes":{bytes}}}"#),
        memory: 128 << 20,
        max_instances: 1,
        timeout: Duration::from_secs(10),
        ..FilterSettings::default()
    };
    {
        let filter = weir::plugin::Filter::new(plugin.clone(), settings(64 << 20))
            .await
            .unwrap();
        assert!(engine.memory_in_use() > 0);
        let outcome = run(&filter, fixture_event("classification")).await;
        let Err(weir::plugin::FilterError::Misbehaved { misbehavior, .. }) = outcome else {
            panic!("a 64 MiB spike within a 48 MiB budget: {outcome:?}")
        };
        assert!(matches!(misbehavior, Misbehavior::Budget { .. }), "{misbehavior:?}");
        assert!(
            misbehavior.to_string().contains("plugins.memory_budget (48.0 MiB)"),
            "{misbehavior}"
        );
        // Within the budget, the same filter works.
        let small = weir::plugin::Filter::new(plugin.clone(), settings(8 << 20))
            .await
            .unwrap();
        assert!(matches!(
            run(&small, fixture_event("classification")).await,
            Ok(Outcome::Modified(_))
        ));
    }
    // Every instance is gone: all of their memory is back in the budget.
    assert_eq!(engine.memory_in_use(), 0);
}

/// Resident memory of a process, in bytes.
fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|line| line.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
}

#[tokio::test]
async fn an_instance_grown_by_one_big_event_is_retired_and_its_memory_given_back() {
    let spike = Filter::plugin("weir_test_guest")
        .config(json!({ "mode": "spike", "bytes": 268435456 }))
        .memory(512 << 20)
        .timeout(Duration::from_secs(20))
        .max_instances(1);
    let weir = weir_tests::process::WeirProcess::spawn(
        env!("CARGO_BIN_EXE_weir"),
        &folder("spike"),
        &guest_route(Plugins::new(), spike, Destination::url("log:")),
    );
    let before = rss(weir.child.id());
    let answer = weir.post_json("r", "{}").await;
    assert_eq!(answer.status(), 202);
    // 256 MiB were written by the guest; a warm instance kept would hold them.
    let after = rss(weir.child.id());
    assert!(
        after < before + (64 << 20),
        "resident memory went from {} MiB to {} MiB",
        before >> 20,
        after >> 20
    );
}
