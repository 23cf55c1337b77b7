//! A filter that misbehaves on demand, for Weir's test suite.
//!
//! The config's `mode` picks the behaviour, and an event's metadata entry `mode`
//! overrides it for that event; every mode is one way a real plugin can go wrong (or a
//! probe of the host, like `counter`).

use serde::Deserialize;
use weir_plugin_sdk::{Changes, Error, Event, Filter, Verdict};

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
    /// Allocates without bound in `filter`.
    GrowMemory,
    /// Panics in `filter`.
    Panic,
    /// Panics in `init`.
    PanicInit,
    /// Returns predictions that are not JSON.
    BadJson,
    /// Removes an attachment that is not there.
    BadAttachment,
    /// Routes to a destination the event is not bound for.
    BadDestination,
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
            Mode::PanicInit => panic!("misbehave: panic in init as asked"),
            _ => Ok(Misbehave { config, seen: 0 }),
        }
    }

    fn filter(&mut self, event: &Event<'_>) -> Result<Verdict, Error> {
        self.seen += 1;
        let mode = event
            .metadata_value("mode")
            .and_then(|mode| serde_json::from_value(serde_json::Value::String(mode)).ok())
            .unwrap_or(self.config.mode);
        Ok(match mode {
            Mode::Pass | Mode::LoopInit | Mode::PanicInit => Verdict::Keep,
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
            Mode::BadJson => Changes::new().predictions("{not json").into(),
            Mode::BadAttachment => Changes::new().remove_attachment("no-such-file.png").into(),
            Mode::BadDestination => Changes::new().route_to(["nowhere"]).into(),
            Mode::Decline => return Err(Error::msg("declined as asked")),
            Mode::Counter => Changes::new().set_metadata("count", self.seen.to_string()).into(),
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
                Changes::new()
                    .set_metadata("files", said.join("; "))
                    .set_metadata("files_read", read.to_string())
                    .into()
            }
            Mode::ReadEnv => {
                let names: Vec<String> = std::env::vars_os()
                    .map(|(name, _)| name.to_string_lossy().into_owned())
                    .collect();
                Changes::new()
                    .set_metadata("env", names.join(","))
                    .set_metadata("args", std::env::args_os().count().to_string())
                    .into()
            }
            Mode::Connect => {
                let addr = event.metadata_value("addr").unwrap_or_default();
                let said = match std::net::TcpStream::connect(addr.as_str()) {
                    Ok(_) => "connected".to_string(),
                    Err(error) => format!("error: {error}"),
                };
                Changes::new().set_metadata("network", said).into()
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
                Changes::new().set_metadata("bytes", total.to_string()).into()
            }
        })
    }
}

weir_plugin_sdk::export_filter!(Misbehave);
