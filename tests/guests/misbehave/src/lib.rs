//! A filter that misbehaves on demand, for Weir's test suite.
//!
//! The config's `mode` picks the behaviour, and an event's metadata entry `mode`
//! overrides it for that event; every mode is one way a real plugin can go wrong (or a
//! probe of the host, like `counter`).

use serde::Deserialize;
use weir_plugin_sdk::{Error, Event, Filter, Verdict};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub mode: Mode,
    /// For `slow`: how long to spin, in milliseconds.
    #[serde(default)]
    pub millis: u64,
    /// For `only-camera`: the camera whose events are kept.
    #[serde(default)]
    pub camera: Option<String>,
    /// For `huge-reason` and `huge-error`: how long the text is, in bytes.
    #[serde(default)]
    pub bytes: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Keeps every event.
    Pass,
    /// Spins forever in `filter`.
    Loop,
    /// Spins forever in `init`.
    LoopInit,
    /// Logs "slow: started", spins for `millis`, then keeps the event.
    Slow,
    /// Sleeps `millis` through WASI (no guest code runs meanwhile), then keeps the event.
    Sleep,
    /// Sleeps `millis` through WASI in `init`.
    SleepInit,
    /// Allocates without bound in `filter`.
    GrowMemory,
    /// Panics in `filter`.
    Panic,
    /// Panics in `init`.
    PanicInit,
    /// Sets predictions that are not JSON, and passes the refusal on as its error.
    BadJson,
    /// Removes an attachment that is not there, and passes the refusal on.
    BadAttachment,
    /// Routes to a destination the event is not bound for, and passes the refusal on.
    BadDestination,
    /// Makes every kind of refused edit, ignores the refusals, and keeps the event with
    /// their kinds in metadata `refused`: a refused edit changes nothing.
    Refusals,
    /// Returns a retryable error.
    DeclineRetryable,
    /// Claims the state key `claim:<camera metadata>` for `millis` ms and drops the
    /// event when another event of the camera claimed it first; counts the events that
    /// got through in state and in metadata `passed`.
    Claim,
    /// Returns an error from `filter`.
    Decline,
    /// Counts the events this instance saw, in metadata `count`.
    Counter,
    /// Prints 100 KiB to stdout and logs 100 messages, then keeps the event.
    Chatty,
    /// Reads every attachment and records their total size in metadata `bytes`.
    ReadAttachments,
    /// Fails every second event with a panic, starting with the first.
    PanicEveryOther,
    /// Tries to read files (`/`, `.`, `/etc/passwd`); says what it got in metadata
    /// `files` and how many reads succeeded in `files_read`.
    ReadFiles,
    /// Lists its environment variables and arguments in metadata `env` and `args`.
    ReadEnv,
    /// Connects over TCP to the address in metadata `addr`; says what happened in
    /// metadata `network`.
    Connect,
    /// Tries to forge Weir's log lines: logs, prints and drops with text holding a
    /// newline, then a line in Weir's format, and a terminal escape sequence.
    Forge,
    /// Drops the event with a reason of `bytes` bytes.
    HugeReason,
    /// Allocates `bytes` bytes, writes every page, frees them and keeps the event: a
    /// one-off spike that leaves the instance's memory grown.
    Spike,
    /// Declines the event with a message of `bytes` bytes.
    HugeError,
    /// The README's example filter: keeps events whose metadata `camera` is the
    /// config's `camera`, drops the others with "another camera".
    OnlyCamera,
}

pub struct Misbehave {
    config: Config,
    seen: u64,
}

fn spin_forever() -> ! {
    let mut x: u64 = 0;
    loop {
        x = std::hint::black_box(x.wrapping_add(1));
    }
}

impl Filter for Misbehave {
    type Config = Config;

    fn new(config: Config) -> Result<Self, Error> {
        match config.mode {
            Mode::LoopInit => spin_forever(),
            Mode::SleepInit => {
                std::thread::sleep(std::time::Duration::from_millis(config.millis));
                Ok(Misbehave { config, seen: 0 })
            }
            Mode::PanicInit => panic!("misbehave: panic in init as asked"),
            _ => Ok(Misbehave { config, seen: 0 }),
        }
    }

    fn filter(&mut self, event: &mut Event<'_>) -> Result<Verdict, Error> {
        self.seen += 1;
        let mode = event
            .metadata_value("mode")
            .and_then(|mode| serde_json::from_value(serde_json::Value::String(mode)).ok())
            .unwrap_or(self.config.mode);
        Ok(match mode {
            Mode::Pass | Mode::LoopInit | Mode::PanicInit | Mode::SleepInit => Verdict::Keep,
            Mode::Sleep => {
                std::thread::sleep(std::time::Duration::from_millis(self.config.millis));
                Verdict::Keep
            }
            Mode::Loop => spin_forever(),
            Mode::Slow => {
                weir_plugin_sdk::log::info("slow: started");
                let until = std::time::Instant::now() + std::time::Duration::from_millis(self.config.millis);
                while std::time::Instant::now() < until {
                    std::hint::spin_loop();
                }
                Verdict::Keep
            }
            Mode::GrowMemory => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            Mode::Panic => panic!("misbehave: panic in filter as asked"),
            Mode::PanicEveryOther => {
                if self.seen % 2 == 1 {
                    panic!("misbehave: panic on odd event");
                }
                Verdict::Keep
            }
            Mode::BadJson => {
                event.set_predictions("{not json")?;
                Verdict::Keep
            }
            Mode::BadAttachment => {
                event.remove_attachment("no-such-file.png")?;
                Verdict::Keep
            }
            Mode::BadDestination => {
                event.narrow_destinations(["nowhere"])?;
                Verdict::Keep
            }
            Mode::Refusals => {
                let refused: Vec<String> = [
                    event.set_predictions("{not json"),
                    event.remove_attachment("no-such-file.png"),
                    event.narrow_destinations(["nowhere"]),
                    event.keep_predictions([1000]),
                    event.set_metadata("big", "x".repeat(1 << 20)),
                ]
                .into_iter()
                .filter_map(Result::err)
                .map(|refused| refused.kind)
                .collect();
                event.set_metadata("refused", refused.join(","))?;
                Verdict::Keep
            }
            Mode::Decline => return Err(Error::msg("declined as asked")),
            Mode::DeclineRetryable => return Err(Error::retryable("try me again later")),
            Mode::Claim => {
                let camera = event.metadata_value("camera").unwrap_or_default();
                let ttl = std::time::Duration::from_millis(self.config.millis);
                if !weir_plugin_sdk::state::claim(&format!("claim:{camera}"), ttl)? {
                    return Ok(Verdict::drop("claimed by an earlier event"));
                }
                let passed = weir_plugin_sdk::state::increment(&format!("passed:{camera}"), 1, None)?;
                event.set_metadata("passed", passed.to_string())?;
                Verdict::Keep
            }
            Mode::Counter => {
                event.set_metadata("count", self.seen.to_string())?;
                Verdict::Keep
            }
            Mode::Forge => {
                let forged = |what: &str| format!("ok\n2030-01-01T00:00:00Z  INFO weir: FORGED-{what}\u{1b}[2J");
                weir_plugin_sdk::log::info(&forged("LOG"));
                println!("{}", forged("STDOUT"));
                Verdict::drop(forged("DROP"))
            }
            Mode::HugeReason => Verdict::drop("r".repeat(self.config.bytes)),
            Mode::Spike => {
                let spike = std::hint::black_box(vec![1u8; self.config.bytes]);
                event.set_metadata("spike", spike.iter().step_by(4096).count().to_string())?;
                drop(spike);
                Verdict::Keep
            }
            Mode::HugeError => return Err(Error::msg("e".repeat(self.config.bytes))),
            Mode::Chatty => {
                for i in 0..100 {
                    weir_plugin_sdk::log::info(&format!("chatty message {i}"));
                }
                print!("{}", "x".repeat(100 * 1024));
                Verdict::Keep
            }
            Mode::ReadFiles => {
                let attempts = [
                    ("read_dir /", std::fs::read_dir("/").map(|entries| entries.count())),
                    ("read_dir .", std::fs::read_dir(".").map(|entries| entries.count())),
                    (
                        "read /etc/passwd",
                        std::fs::read("/etc/passwd").map(|bytes| bytes.len()),
                    ),
                ];
                let read = attempts.iter().filter(|(_, result)| result.is_ok()).count();
                let said: Vec<String> = attempts
                    .iter()
                    .map(|(what, result)| match result {
                        Ok(n) => format!("{what}: ok ({n})"),
                        Err(error) => format!("{what}: {error}"),
                    })
                    .collect();
                event.set_metadata("files", said.join("; "))?;
                event.set_metadata("files_read", read.to_string())?;
                Verdict::Keep
            }
            Mode::ReadEnv => {
                let names: Vec<String> = std::env::vars_os()
                    .map(|(name, _)| name.to_string_lossy().into_owned())
                    .collect();
                event.set_metadata("env", names.join(","))?;
                event.set_metadata("args", std::env::args_os().count().to_string())?;
                Verdict::Keep
            }
            Mode::Connect => {
                let addr = event.metadata_value("addr").unwrap_or_default();
                let said = match std::net::TcpStream::connect(addr.as_str()) {
                    Ok(_) => "connected".to_string(),
                    Err(error) => format!("error: {error}"),
                };
                event.set_metadata("network", said)?;
                Verdict::Keep
            }
            Mode::OnlyCamera => match event.metadata_value("camera") {
                Some(camera) if Some(&camera) == self.config.camera.as_ref() => Verdict::Keep,
                _ => Verdict::drop("another camera"),
            },
            Mode::ReadAttachments => {
                let total: usize = event
                    .attachments()
                    .iter()
                    .filter_map(|a| event.attachment_bytes(&a.name))
                    .map(|bytes| bytes.len())
                    .sum();
                event.set_metadata("bytes", total.to_string())?;
                Verdict::Keep
            }
        })
    }
}

weir_plugin_sdk::export_filter!(Misbehave);
