//! Weir as a child process (`weir run`, the real binary), for what only a real process shows:
//! signals, exit codes, `kill -9`.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::config::WeirConfig;
use crate::workspace;

/// How many of its last log lines a failed test prints of a Weir it ran.
const LOG_TAIL: usize = 80;

/// Prints the last `count` of `lines` on stderr, naming `what` (a failed test's output
/// shows it).
pub(crate) fn print_tail<'a>(what: &str, lines: impl Iterator<Item = &'a str>, count: usize) {
    let lines: Vec<&str> = lines.collect();
    let tail = &lines[lines.len().saturating_sub(count)..];
    eprintln!("the last {} lines of {what}:\n{}", tail.len(), tail.join("\n"));
}

/// A running `weir run` child.
pub struct WeirProcess {
    /// The child.
    pub child: Child,
    /// Where ingest listens.
    pub ingest: SocketAddr,
    /// Where the admin listener is.
    pub admin: SocketAddr,
    /// Every log line so far (JSON), collected by a reader thread.
    pub log: Arc<Mutex<Vec<String>>>,
    /// Every line Weir printed on stdout so far (the `log:` destination's deliveries).
    pub stdout: Arc<Mutex<Vec<String>>>,
    /// The config file.
    pub config: PathBuf,
}

impl WeirProcess {
    /// Writes `config` to `dir/weir.toml` and starts `binary` (the suite's
    /// `CARGO_BIN_EXE_weir`) on it, waiting until it says it is ready.
    pub fn spawn(binary: &str, dir: &Path, config: &WeirConfig) -> WeirProcess {
        std::fs::create_dir_all(dir).unwrap();
        let path = dir.join("weir.toml");
        std::fs::write(&path, config.to_string()).unwrap();
        WeirProcess::spawn_file(binary, &path)
    }

    /// Starts Weir on an existing config file.
    pub fn spawn_file(binary: &str, path: &Path) -> WeirProcess {
        WeirProcess::start(WeirProcess::command(binary, path))
    }

    /// `binary --log-format json run --config PATH`, in the config file's folder: the
    /// command [`WeirProcess::spawn_file`] starts, for a test to add to (an environment
    /// variable) before [`WeirProcess::start`].
    pub fn command(binary: &str, path: &Path) -> Command {
        let mut command = Command::new(binary);
        command
            .args(["--log-format", "json", "run", "--config"])
            .arg(path)
            .current_dir(path.parent().unwrap());
        command
    }

    /// Starts `command` (a `weir run` of the caller's making, with the suite's cache
    /// folder and `info` logs unless it sets its own) and waits until Weir is ready.
    pub fn start(mut command: Command) -> WeirProcess {
        let has = |command: &Command, name: &str| command.get_envs().any(|(key, _)| key == name);
        if !has(&command, "WEIR_CACHE_DIR") {
            command.env("WEIR_CACHE_DIR", workspace().join("target").join("weir-test-cache"));
        }
        if !has(&command, "WEIR_LOG") {
            command.env("WEIR_LOG", "info");
        }
        let config = command
            .get_args()
            .skip_while(|arg| *arg != "--config")
            .nth(1)
            .map(PathBuf::from)
            .unwrap_or_default();
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting weir");
        let stdout = child.stdout.take().unwrap();
        let printed = Arc::new(Mutex::new(Vec::new()));
        let lines = printed.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                lines.lock().unwrap().push(line);
            }
        });
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let lines = log.clone();
        std::thread::spawn(move || {
            let mut ready_tx = Some(ready_tx);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Ok(entry) = serde_json::from_str::<serde_json::Value>(&line) {
                    let fields = &entry["fields"];
                    if fields["message"]
                        .as_str()
                        .is_some_and(|m| m.starts_with("weir is ready"))
                    {
                        let ingest = fields["ingest"].as_str().unwrap_or_default().parse::<SocketAddr>();
                        let admin = fields["admin"].as_str().unwrap_or_default().parse::<SocketAddr>();
                        if let (Ok(ingest), Ok(admin), Some(tx)) = (ingest, admin, ready_tx.take()) {
                            let _ = tx.send((ingest, admin));
                        }
                    }
                }
                lines.lock().unwrap().push(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok((ingest, admin)) = ready_rx.recv_timeout(Duration::from_millis(100)) {
                return WeirProcess {
                    child,
                    ingest,
                    admin,
                    log,
                    stdout: printed,
                    config,
                };
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "weir exited ({status}) before it was ready:\n{}",
                    log.lock().unwrap().join("\n")
                );
            }
            assert!(
                Instant::now() < deadline,
                "weir was not ready within 60 s:\n{}",
                log.lock().unwrap().join("\n")
            );
        }
    }

    /// Sends a signal to the child.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the child to exit, at most `limit`; its exit code.
    pub fn wait(&mut self, limit: Duration) -> Option<i32> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "weir did not exit within {limit:?}:\n{}",
                    self.log.lock().unwrap().join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// POSTs a JSON event to a route.
    pub async fn post_json(&self, route: &str, body: &str) -> reqwest::Response {
        crate::http_client()
            .post(format!("http://{}/ingest/{route}", self.ingest))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .expect("ingest answers")
    }

    /// The whole `/metrics` text.
    pub async fn metrics(&self) -> String {
        crate::records::metrics(&crate::http_client(), self.admin).await
    }

    /// Whether the child is still running.
    pub fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Every log line so far, one per line.
    pub fn log_text(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// Whether any log line so far contains `text`.
    pub fn logged(&self, text: &str) -> bool {
        self.log.lock().unwrap().iter().any(|line| line.contains(text))
    }
}

impl Drop for WeirProcess {
    /// Kills the child; when a test fails with it running, prints the end of its log
    /// (the failure's output shows it, and a timeout then says what Weir was doing).
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = self.log.lock().unwrap_or_else(|e| e.into_inner());
            print_tail("weir's log", log.iter().map(String::as_str), LOG_TAIL);
        }
    }
}
