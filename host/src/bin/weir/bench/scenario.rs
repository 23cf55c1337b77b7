//! The benchmark scenarios: what runs, what is sent, and how.

use std::net::SocketAddr;

use bytes::Bytes;

/// Something that receives the load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// The bare relay.
    Relay,
    /// Weir, with the config the scenario writes.
    Weir,
}

/// The body a scenario sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payload {
    /// The 1 KB object-detection event of seed 000's shape, as JSON.
    ObjectDetection,
    /// Instance segmentation as multipart: predictions, a 100 KB image, four 20 KB masks.
    Segmentation,
}

impl Payload {
    /// The relay scenario that sends the same body: what a scenario with this payload
    /// is reported against.
    pub fn baseline(self) -> &'static str {
        match self {
            Payload::ObjectDetection => "relay",
            Payload::Segmentation => "multipart-relay",
        }
    }
}

/// One scenario.
#[derive(Debug, Clone, Copy)]
pub struct Scenario {
    /// Its name on the command line and in reports.
    pub name: &'static str,
    /// What it shows.
    pub about: &'static str,
    /// What receives the load.
    pub subject: Subject,
    /// What is sent.
    pub payload: Payload,
    /// Weir's routes and destinations (TOML; `{sink}` is the sink's address).
    pub config: &'static str,
    /// Storage kind.
    pub storage: &'static str,
    /// Deliveries each event makes that should reach the sink promptly.
    pub fanout: u64,
    /// A sink path answered slowly (after 2 s).
    pub slow_path: Option<&'static str>,
    /// Open loop at the run's rate instead of closed loop.
    pub open_loop: bool,
    /// Weir instances sharing the load (and a JetStream store, the only one they can
    /// share); the senders alternate between them.
    pub instances: usize,
}

const FILTERS_3: &str = r#"
[routes.bench]
destinations = ["sink"]
filters = [
  { plugin = "class-filter", config = { classes = ["person"], min_confidence = 0.5 } },
  { plugin = "strip-masks" },
  { plugin = "reshape" },
]
[destinations.sink]
url = "http://{sink}/sink"
allow_private = true
"#;

const FILTERS_0: &str = r#"
[routes.bench]
destinations = ["sink"]
[destinations.sink]
url = "http://{sink}/sink"
allow_private = true
"#;

const BATCHED: &str = r#"
[routes.bench]
destinations = ["sink"]
[destinations.sink]
url = "http://{sink}/sink"
allow_private = true
batch = { max_events = 100, max_wait = "50ms" }
"#;

/// Every scenario, in run order.
pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "relay",
        about: "bare hyper relay to the sink: the machine's limit for this job",
        subject: Subject::Relay,
        payload: Payload::ObjectDetection,
        config: "",
        storage: "",
        fanout: 1,
        slow_path: None,
        open_loop: false,
        instances: 1,
    },
    Scenario {
        name: "filters-0",
        about: "Weir, no filter, one JSON destination, memory storage",
        subject: Subject::Weir,
        payload: Payload::ObjectDetection,
        config: FILTERS_0,
        storage: "memory",
        fanout: 1,
        slow_path: None,
        open_loop: false,
        instances: 1,
    },
    Scenario {
        name: "batched",
        about: "filters-0 with batches of up to 100 events (50 ms to gather), one JSON array per request",
        subject: Subject::Weir,
        payload: Payload::ObjectDetection,
        config: BATCHED,
        storage: "memory",
        fanout: 1,
        slow_path: None,
        open_loop: false,
        instances: 1,
    },
    Scenario {
        name: "filters-3",
        about: "class-filter (keeps a third of the objects), strip-masks, reshape; memory storage",
        subject: Subject::Weir,
        payload: Payload::ObjectDetection,
        config: FILTERS_3,
        storage: "memory",
        fanout: 1,
        slow_path: None,
        open_loop: false,
        instances: 1,
    },
    Scenario {
        name: "durable",
        about: "filters-3 with durable storage (SQLite, fsync per group commit)",
        subject: Subject::Weir,
        payload: Payload::ObjectDetection,
        config: FILTERS_3,
        storage: "durable",
        fanout: 1,
        slow_path: None,
        open_loop: false,
        instances: 1,
    },
    Scenario {
        name: "jetstream",
        about: "filters-3 with JetStream storage: one instance, one local nats-server (file storage)",
        subject: Subject::Weir,
        payload: Payload::ObjectDetection,
        config: FILTERS_3,
        storage: "jetstream",
        fanout: 1,
        slow_path: None,
        open_loop: false,
        instances: 1,
    },
    Scenario {
        name: "jetstream-2",
        about: "jetstream with two instances sharing the stream, the senders alternating between them",
        subject: Subject::Weir,
        payload: Payload::ObjectDetection,
        config: FILTERS_3,
        storage: "jetstream",
        fanout: 1,
        slow_path: None,
        open_loop: false,
        instances: 2,
    },
    Scenario {
        name: "multipart-relay",
        about: "the bare relay forwarding multipart's whole body (image and masks): multipart's baseline",
        subject: Subject::Relay,
        payload: Payload::Segmentation,
        config: "",
        storage: "",
        fanout: 1,
        slow_path: None,
        open_loop: false,
        instances: 1,
    },
    Scenario {
        name: "multipart",
        about: "instance segmentation, 100 KB image + 4 x 20 KB masks; masks stripped, image forwarded as multipart",
        subject: Subject::Weir,
        payload: Payload::Segmentation,
        config: r#"
[routes.bench]
destinations = ["sink"]
filters = [{ plugin = "strip-masks" }]
[destinations.sink]
url = "http://{sink}/sink"
allow_private = true
format = "multipart"
include_image = true
"#,
        storage: "memory",
        fanout: 1,
        slow_path: None,
        open_loop: false,
        instances: 1,
    },
    Scenario {
        name: "fanout-4",
        about: "one route, four destinations",
        subject: Subject::Weir,
        payload: Payload::ObjectDetection,
        config: r#"
[routes.bench]
destinations = ["a", "b", "c", "d"]
[destinations.a]
url = "http://{sink}/a"
allow_private = true
[destinations.b]
url = "http://{sink}/b"
allow_private = true
[destinations.c]
url = "http://{sink}/c"
allow_private = true
[destinations.d]
url = "http://{sink}/d"
allow_private = true
"#,
        storage: "memory",
        fanout: 4,
        slow_path: None,
        open_loop: false,
        instances: 1,
    },
    Scenario {
        name: "fast-pair",
        about: "two destinations, both fast: the baseline of slow-receiver",
        subject: Subject::Weir,
        payload: Payload::ObjectDetection,
        config: r#"
[routes.bench]
destinations = ["fast", "other"]
[destinations.fast]
url = "http://{sink}/fast"
allow_private = true
[destinations.other]
url = "http://{sink}/other"
allow_private = true
"#,
        storage: "memory",
        fanout: 2,
        slow_path: None,
        open_loop: true,
        instances: 1,
    },
    Scenario {
        name: "slow-receiver",
        about: "two destinations, one answering after 2 s: ingest and the fast one must not move",
        subject: Subject::Weir,
        payload: Payload::ObjectDetection,
        config: r#"
[routes.bench]
destinations = ["fast", "slow"]
[destinations.fast]
url = "http://{sink}/fast"
allow_private = true
[destinations.slow]
url = "http://{sink}/slow"
allow_private = true
circuit_breaker = { failures = 0 }
"#,
        storage: "memory",
        fanout: 1,
        slow_path: Some("/slow"),
        open_loop: true,
        instances: 1,
    },
    Scenario {
        name: "hot-swap",
        about: "a plugin file replaced mid-run: time to the first event served by the new version, throughput around it",
        subject: Subject::Weir,
        payload: Payload::ObjectDetection,
        config: r#"
[plugins]
dir = "{plugins}"
[routes.bench]
destinations = ["sink"]
filters = [{ plugin = "v" }]
[destinations.sink]
url = "http://{sink}/sink"
allow_private = true
"#,
        storage: "memory",
        fanout: 1,
        slow_path: None,
        open_loop: false,
        instances: 1,
    },
    Scenario {
        name: "latency-relay",
        about: "the relay at a fixed rate: its send-to-arrival latency",
        subject: Subject::Relay,
        payload: Payload::ObjectDetection,
        config: "",
        storage: "",
        fanout: 1,
        slow_path: None,
        open_loop: true,
        instances: 1,
    },
    Scenario {
        name: "latency-filters-3",
        about: "filters-3 at a fixed rate: send-to-arrival latency (the added latency is this minus latency-relay)",
        subject: Subject::Weir,
        payload: Payload::ObjectDetection,
        config: FILTERS_3,
        storage: "memory",
        fanout: 1,
        slow_path: None,
        open_loop: true,
        instances: 1,
    },
];

/// The scenario of this name.
pub fn find(name: &str) -> Option<&'static Scenario> {
    SCENARIOS.iter().find(|s| s.name == name)
}

/// The full Weir config of a scenario.
pub fn weir_config(scenario: &Scenario, sink: SocketAddr, dir: &std::path::Path, nats: Option<&str>) -> String {
    let store = dir.join("outbox.db");
    let shared = nats.map_or_else(String::new, |url| {
        format!("jetstream = {{ servers = [\"{url}\"], name = \"bench\" }}\n")
    });
    format!(
        "[server]\nlisten = \"127.0.0.1:0\"\nmax_body = \"8MiB\"\n[admin]\nlisten = \"127.0.0.1:0\"\n[storage]\nkind = \"{}\"\npath = \"{}\"\n{shared}{}",
        scenario.storage,
        store.display(),
        scenario
            .config
            .replace("{sink}", &sink.to_string())
            .replace("{plugins}", &dir.join("plugins").display().to_string())
    )
}

/// A scenario's request body and content type.
pub fn payload(payload: Payload) -> (String, Bytes) {
    const OBJECTS: &str = include_str!("../../../../../tests/fixtures/object-detection.json");
    const SEGMENTS: &str = include_str!("../../../../../tests/fixtures/instance-segmentation.json");
    match payload {
        Payload::ObjectDetection => ("application/json".into(), Bytes::from_static(OBJECTS.as_bytes())),
        Payload::Segmentation => {
            let boundary = "weir-bench-boundary";
            let mut body = Vec::new();
            let mut part = |name: &str, content_type: &str, data: &[u8]| {
                body.extend_from_slice(
                    format!(
                        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: {content_type}\r\n\r\n"
                    )
                    .as_bytes(),
                );
                body.extend_from_slice(data);
                body.extend_from_slice(b"\r\n");
            };
            let noise = |len: usize, seed: u64| {
                let mut rng = fastrand::Rng::with_seed(seed);
                (0..len).map(|_| rng.u8(..)).collect::<Vec<u8>>()
            };
            part("predictions.json", "application/json", SEGMENTS.as_bytes());
            part("image.jpeg", "image/jpeg", &noise(100 * 1024, 1));
            for i in 0..4 {
                part(&format!("mask_{i:04}.png"), "image/png", &noise(20 * 1024, 2 + i));
            }
            body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
            (format!("multipart/form-data; boundary={boundary}"), Bytes::from(body))
        }
    }
}
