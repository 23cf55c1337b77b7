//! `weir filter`: run one filter on one event, without a router, and show what it did.
//!
//! This is the plugin author's loop: build, run on a sample event, read the verdict,
//! the output and the time taken. Every bad input is a one-line error and exit code
//! 64 (wrong invocation) or 65 (bad data); a failing filter exits 1.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Args;
use serde_json::{Value, json};

use crate::process::{EXIT_DATA, EXIT_USAGE};
use weir::event::{Attachment, Event, Task};
use weir::plugin::cache::{CacheOutcome, user_cache_dir};
use weir::plugin::examples::example;
use weir::plugin::filter::{DEFAULT_MEMORY, DEFAULT_TIMEOUT};
use weir::plugin::{EngineSettings, Filter, FilterSettings, Outcome, Plugin, PluginEngine};

/// Arguments of `weir filter`.
#[derive(Debug, Args)]
pub struct FilterArgs {
    /// The plugin: a `.wasm` component or core module, or the name of an example
    /// plugin (see `plugins/`).
    #[arg(long, value_name = "PATH.wasm")]
    plugin: String,
    /// The filter's config, as JSON text (or @FILE to read it from a file).
    #[arg(long, value_name = "JSON", default_value = "{}")]
    config: String,
    /// The predictions document of the event (a `predictions.json`).
    #[arg(long, value_name = "EVENT.json")]
    event: PathBuf,
    /// An attachment, as NAME=PATH (`image.jpeg=frame.jpg`); repeatable. The MIME type
    /// is guessed from the name.
    #[arg(long, value_name = "NAME=PATH")]
    attachment: Vec<String>,
    /// A metadata entry, as KEY=VALUE; repeatable.
    #[arg(long, value_name = "KEY=VALUE")]
    metadata: Vec<String>,
    /// A destination the event is bound for; repeatable (route filters narrow these).
    #[arg(long, value_name = "NAME")]
    destination: Vec<String>,
    /// The model's task; recognised from the predictions when not given.
    #[arg(long, value_name = "KIND")]
    task: Option<String>,
    /// The event id.
    #[arg(long, default_value = "sample-event")]
    id: String,
    /// The route name.
    #[arg(long, default_value = "sample")]
    route: String,
    /// Deadline of the call, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = DEFAULT_TIMEOUT.as_millis() as u64)]
    timeout_ms: u64,
    /// Memory cap of the instance, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = DEFAULT_MEMORY >> 20)]
    memory_mib: u64,
    /// Run the filter this many times on the same warm instance and report the mean.
    #[arg(long, default_value_t = 1)]
    repeat: u32,
    /// Print the result as one JSON object.
    #[arg(long)]
    json: bool,
    /// Do not use the compiled-code cache.
    #[arg(long)]
    no_cache: bool,
}

/// A one-line failure and its exit code.
struct Failure {
    code: u8,
    message: String,
}

fn usage(message: impl Into<String>) -> Failure {
    Failure {
        code: EXIT_USAGE,
        message: message.into(),
    }
}

fn data(message: impl Into<String>) -> Failure {
    Failure {
        code: EXIT_DATA,
        message: message.into(),
    }
}

/// Runs `weir filter`.
pub fn run(args: FilterArgs) -> ExitCode {
    crate::process::block_on(crate::process::Threads::One, async {
        match filter(args).await {
            Ok(code) => code,
            Err(failure) => {
                eprintln!("error: {}", weir::text::escape_controls(&failure.message));
                ExitCode::from(failure.code)
            }
        }
    })
}

async fn filter(args: FilterArgs) -> Result<ExitCode, Failure> {
    let event = read_event(&args)?;
    let config = read_config(&args.config)?;

    let settings = EngineSettings {
        cache_dir: if args.no_cache { None } else { user_cache_dir() },
        ..EngineSettings::default()
    };
    let engine = PluginEngine::new(&settings).map_err(|error| Failure {
        code: 1,
        message: format!("cannot start the plugin engine: {error:#}"),
    })?;
    let plugin = Arc::new(load_plugin(&engine, &args.plugin).await?);

    let started = Instant::now();
    let filter_settings = FilterSettings {
        config,
        timeout: Duration::from_millis(args.timeout_ms),
        memory: args.memory_mib << 20,
        max_instances: 1,
        ..FilterSettings::default()
    };
    let filter = Filter::new(plugin.clone(), filter_settings)
        .await
        .map_err(|error| data(error.to_string()))?;
    let init_time = started.elapsed();

    let event = Arc::new(event);
    let mut call_times = Vec::new();
    let mut result = None;
    for _ in 0..args.repeat.max(1) {
        let started = Instant::now();
        let outcome = filter.run(&event).await;
        call_times.push(started.elapsed());
        result = Some(outcome);
    }
    let call_time = call_times.iter().sum::<Duration>() / call_times.len() as u32;
    let timings = Timings {
        plugin: describe_plugin(&plugin),
        memory: filter.stats().peak_memory.load(std::sync::atomic::Ordering::Relaxed),
        load: plugin.load_time(),
        cached: plugin.cache_outcome() == CacheOutcome::Hit,
        init: init_time,
        call: call_time,
        calls: call_times.len(),
    };
    let Some(result) = result else { unreachable_repeat() };
    match result {
        Ok(outcome) => {
            print_outcome(&args, &event, &outcome, &timings);
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => {
            if args.json {
                let out = json!({
                    "verdict": "error",
                    "kind": error.kind(),
                    "error": error.to_string(),
                    "retryable": matches!(error, weir::plugin::FilterError::Declined { retryable: true, .. }),
                    "plugin": timings.plugin,
                    "time": timings.to_json(),
                    "peak_rss_bytes": peak_rss(),
                });
                crate::process::out!("{out}");
            } else {
                let said = weir::text::escape_controls(&error.to_string()).into_owned();
                crate::process::out!("verdict: error ({})\n{said}", error.kind());
                crate::process::out!("time:    {}", timings.describe());
                crate::process::out!("plugin:  {}", plugin_line(&timings.plugin));
            }
            Ok(ExitCode::FAILURE)
        }
    }
}

fn unreachable_repeat() -> ! {
    // `repeat.max(1)` runs the loop at least once.
    panic!("the filter ran zero times")
}

struct Timings {
    /// Which plugin ran: kind and contract version.
    plugin: Value,
    /// The instance's linear memory after the calls, in bytes.
    memory: u64,
    load: Duration,
    cached: bool,
    init: Duration,
    call: Duration,
    calls: usize,
}

impl Timings {
    fn describe(&self) -> String {
        let cache = if self.cached { " (compiled code from cache)" } else { "" };
        let calls = if self.calls > 1 {
            format!(" (mean of {})", self.calls)
        } else {
            String::new()
        };
        format!(
            "load {}{cache}, instantiate + init {}, filter {}{calls}",
            human(self.load),
            human(self.init),
            human(self.call)
        )
    }

    fn to_json(&self) -> Value {
        json!({
            "load_us": self.load.as_micros() as u64,
            "cached": self.cached,
            "init_us": self.init.as_micros() as u64,
            "filter_us": self.call.as_secs_f64() * 1e6,
            "runs": self.calls,
        })
    }
}

fn human(duration: Duration) -> String {
    let micros = duration.as_secs_f64() * 1e6;
    if micros < 1000.0 {
        format!("{micros:.1} µs")
    } else if micros < 1e6 {
        format!("{:.2} ms", micros / 1e3)
    } else {
        format!("{:.2} s", micros / 1e6)
    }
}

fn print_outcome(args: &FilterArgs, input: &Arc<Event>, outcome: &Outcome, timings: &Timings) {
    let (verdict, reason, output) = match outcome {
        Outcome::Kept => ("keep", None, Some(input.as_ref())),
        Outcome::Modified(event) => ("modify", None, Some(event.as_ref())),
        Outcome::Dropped(reason) => ("drop", Some(reason.as_str()), None),
    };
    if args.json {
        let out = json!({
            "verdict": verdict,
            "reason": reason,
            "event": output.map(event_json),
            "plugin": timings.plugin,
            "time": timings.to_json(),
            "instance_memory_bytes": timings.memory,
            "peak_rss_bytes": peak_rss(),
        });
        crate::process::out!("{out}");
        return;
    }
    match reason {
        // Shown on a terminal: a guest's reason cannot move the cursor or clear it.
        Some(reason) => crate::process::out!("verdict: drop ({})", weir::text::escape_controls(reason)),
        None => crate::process::out!("verdict: {verdict}"),
    }
    crate::process::out!("time:    {}", timings.describe());
    crate::process::out!("plugin:  {}", plugin_line(&timings.plugin));
    if let Some(event) = output {
        let pretty = serde_json::to_string_pretty(&event_json(event)).unwrap_or_default();
        crate::process::out!("event:\n{pretty}");
    }
}

/// The plugin as the output names it: its name, kind and contract version.
fn describe_plugin(plugin: &Plugin) -> Value {
    json!({
        "name": plugin.name(),
        "kind": plugin.kind(),
        "contract": plugin.contract_version().map(|v| v.to_string()),
    })
}

fn plugin_line(plugin: &Value) -> String {
    format!(
        "{} ({}, contract {})",
        plugin["name"].as_str().unwrap_or_default(),
        plugin["kind"].as_str().unwrap_or_default(),
        plugin["contract"].as_str().unwrap_or("unknown")
    )
}

/// This process's peak resident memory (Linux `VmHWM`), for plugin authors watching
/// what their filter costs; `None` where the kernel does not say.
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The event as the CLI shows it: the envelope, with the predictions parsed.
fn event_json(event: &Event) -> Value {
    let predictions: Value = serde_json::from_str(&event.predictions).unwrap_or(Value::Null);
    json!({
        "id": event.id,
        "route": event.route,
        "task": event.task.as_str(),
        "metadata": event.metadata.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>(),
        "destinations": event.destinations,
        "attachments": event.attachments.iter().map(|a| json!({
            "name": a.name, "content_type": a.content_type, "size": a.data.len(),
        })).collect::<Vec<_>>(),
        "predictions": predictions,
    })
}

async fn load_plugin(engine: &PluginEngine, spec: &str) -> Result<Plugin, Failure> {
    let path = Path::new(spec);
    let engine = engine.clone();
    let spec = spec.to_string();
    let load = if path.is_file() {
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let path = path.to_path_buf();
        tokio::task::spawn_blocking(move || Plugin::from_file(&engine, &name, &path)).await
    } else if let Some(example) = example(&spec) {
        tokio::task::spawn_blocking(move || {
            Plugin::from_bytes(
                &engine,
                example.name,
                &format!("(example) {}", example.name),
                example.bytes,
            )
        })
        .await
    } else {
        return Err(usage(format!(
            "{spec}: no such file, and not the name of an example plugin ({})",
            weir::plugin::examples::names()
        )));
    };
    match load {
        Ok(Ok(plugin)) => Ok(plugin),
        Ok(Err(error)) => Err(data(error.to_string())),
        Err(join) => Err(Failure {
            code: 1,
            message: format!("loading the plugin failed: {join}"),
        }),
    }
}

fn read_config(config: &str) -> Result<String, Failure> {
    let text = match config.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|error| usage(format!("{path}: cannot read the config file: {error}")))?,
        None => config.to_string(),
    };
    serde_json::from_str::<Value>(&text).map_err(|error| usage(format!("--config is not valid JSON: {error}")))?;
    Ok(text)
}

fn read_event(args: &FilterArgs) -> Result<Event, Failure> {
    let path = &args.event;
    let text = std::fs::read_to_string(path)
        .map_err(|error| usage(format!("{}: cannot read the event: {error}", path.display())))?;
    if let Err(error) = serde_json::from_str::<Value>(&text) {
        return Err(data(format!(
            "{}: the event is not valid JSON: {error}",
            path.display()
        )));
    }
    let mut event = Event::new(args.id.clone(), args.route.clone(), text);
    if let Some(task) = &args.task {
        event.task = Task::parse(task).map_err(|invalid| usage(format!("--task: {invalid}")))?;
    }
    for entry in &args.metadata {
        let (key, value) = entry
            .split_once('=')
            .ok_or_else(|| usage(format!("--metadata {entry:?} is not KEY=VALUE")))?;
        event.set_metadata(key, value);
    }
    for spec in &args.attachment {
        let (name, file) = spec
            .split_once('=')
            .ok_or_else(|| usage(format!("--attachment {spec:?} is not NAME=PATH")))?;
        let bytes =
            std::fs::read(file).map_err(|error| usage(format!("{file}: cannot read the attachment: {error}")))?;
        if event.attachment(name).is_some() {
            return Err(usage(format!("--attachment {name} is given twice")));
        }
        event.attachments.push(Attachment {
            name: name.to_string(),
            content_type: weir::event::content_type_of(name).to_string(),
            data: Bytes::from(bytes),
        });
    }
    event.destinations = args.destination.iter().map(|d| d.as_str().into()).collect();
    Ok(event)
}
