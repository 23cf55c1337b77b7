//! A real browser for the console's tests: Debian's `chromium`, headless, driven
//! through its `chromedriver` (WebDriver) with fantoccini.
//!
//! Each test starts its own chromedriver on a free port with a new, empty profile, and
//! stops both when the [`Browser`] is dropped (also when the test fails): chromedriver
//! runs in a process group of its own, which the browser it starts joins, and the whole
//! group is ended, so that a failed test leaves no browser behind. Without
//! chromium or chromedriver the test is skipped, visibly, or fails under
//! `WEIR_REQUIRE_TOOLCHAINS` (`.ci/run` installs both and sets it).

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use weir_tests::node::required;
use weir_tests::workspace;

/// How long the browser may take to start, and chromedriver to answer.
const START: Duration = Duration::from_secs(60);

/// How long the suite waits for the page to show something: long, because the suite
/// runs browsers side by side with every other test on two cores.
pub const SHOW: Duration = Duration::from_secs(60);

/// The flags that make chromium work here: headless, as root, with nothing of its own
/// reaching out to the network.
const FLAGS: [&str; 12] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,1000",
    // The page's own timers (its live updates) run at full rate on a busy machine.
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
];

/// A browser session and the chromedriver serving it.
pub struct Browser {
    /// The WebDriver session.
    pub client: Client,
    driver: Child,
    profile: PathBuf,
    /// Whether the session ended cleanly (the browser quit): then chromedriver alone
    /// is left to stop.
    closed: bool,
}

impl Drop for Browser {
    fn drop(&mut self) {
        if self.closed {
            let _ = self.driver.kill();
            let _ = self.driver.wait();
        } else {
            stop(&mut self.driver);
        }
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// Ends chromedriver's process group (chromedriver and the browser it started), and
/// reaps chromedriver.
fn stop(driver: &mut Child) {
    let group = format!("-{}", driver.id());
    let ended = Command::new("kill")
        .args(["-KILL", "--", &group])
        .stderr(Stdio::null())
        .status();
    if !ended.is_ok_and(|status| status.success()) {
        let _ = driver.kill();
    }
    let _ = driver.wait();
}

/// Where `name` is on the `PATH`, when it runs.
fn program(name: &str) -> Result<PathBuf, String> {
    let missing = || {
        format!(
            "{name} is not installed (apt-get install chromium chromium-driver), so the console cannot be tested in a browser"
        )
    };
    let path = std::env::var_os("PATH").ok_or_else(missing)?;
    let found = std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .ok_or_else(missing)?;
    match Command::new(&found).arg("--version").output() {
        Ok(out) if out.status.success() => Ok(found),
        _ => Err(missing()),
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port")
}

/// The screen a page is laid out for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    /// A laptop's window ([`FLAGS`]: 1280 × 1000).
    Laptop,
    /// A phone's, by Chromium's mobile emulation: 390 × 844 CSS pixels at 3 device
    /// pixels each (a recent iPhone's; Android phones are as wide or wider), touch, and
    /// the page laid out as a phone lays it out (its `viewport` meta tag honoured).
    Phone,
}

/// A phone's width in CSS pixels ([`Screen::Phone`]).
pub const PHONE_WIDTH: u32 = 390;

/// A browser on a laptop's screen, or `None` when the test `test` is skipped
/// (chromium missing).
pub async fn open(test: &str) -> Option<Browser> {
    open_on(test, Screen::Laptop).await
}

/// A browser on `screen`, or `None` when the test `test` is skipped (chromium missing).
pub async fn open_on(test: &str, screen: Screen) -> Option<Browser> {
    let available = program("chromium").and_then(|chromium| Ok((chromium, program("chromedriver")?)));
    let (chromium, chromedriver) = required(test, available)?;
    let port = free_port();
    let driver = Command::new(chromedriver)
        .arg(format!("--port={port}"))
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting chromedriver");
    let profile = workspace()
        .join("target")
        .join("test-scratch")
        .join("chromium")
        .join(format!("{}-{port}", std::process::id()));
    let _ = std::fs::remove_dir_all(&profile);
    std::fs::create_dir_all(&profile).unwrap();
    // The guard owns chromedriver from here: a failure below still stops it.
    let mut guard = Guard(Some(driver), profile.clone());
    let mut args: Vec<String> = FLAGS.iter().map(|f| f.to_string()).collect();
    args.push(format!("--user-data-dir={}", profile.display()));
    let mut options = serde_json::json!({ "binary": chromium, "args": args });
    if screen == Screen::Phone {
        options["mobileEmulation"] = serde_json::json!({
            "deviceMetrics": { "width": PHONE_WIDTH, "height": 844, "pixelRatio": 3.0, "touch": true, "mobile": true }
        });
    }
    let mut capabilities = serde_json::Map::new();
    capabilities.insert("goog:chromeOptions".into(), options);
    let url = format!("http://127.0.0.1:{port}");
    let client = weir_tests::eventually("chromedriver to start a browser", START, async || {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        ClientBuilder::new(connector)
            .capabilities(capabilities.clone())
            .connect(&url)
            .await
            .ok()
    })
    .await;
    let driver = guard.0.take().expect("the guard holds chromedriver");
    Some(Browser {
        client,
        driver,
        profile,
        closed: false,
    })
}

/// Stops chromedriver if the browser never started.
struct Guard(Option<Child>, PathBuf);

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(mut driver) = self.0.take() {
            stop(&mut driver);
            let _ = std::fs::remove_dir_all(&self.1);
        }
    }
}

impl Browser {
    /// Goes to `url`.
    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("loading {url}: {e}"));
    }

    /// The text of the element `css`, once it exists (bounded: [`SHOW`]).
    pub async fn text(&self, css: &str) -> String {
        let element = self
            .client
            .wait()
            .at_most(SHOW)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css} on the page: {e}"));
        element.text().await.unwrap_or_default()
    }

    /// The text of `css` once `check` holds for it (bounded: [`SHOW`]); the failure
    /// says the last text seen.
    pub async fn text_when(&self, css: &str, what: &str, check: impl Fn(&str) -> bool) -> String {
        let deadline = tokio::time::Instant::now() + SHOW;
        let mut last = None;
        loop {
            if let Ok(element) = self.client.find(Locator::Css(css)).await
                && let Ok(text) = element.text().await
            {
                if check(&text) {
                    return text;
                }
                last = Some(text);
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out after {SHOW:?} waiting for {what}; {css} last showed {last:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Clicks the element `css`.
    pub async fn click(&self, css: &str) {
        let element = self
            .client
            .wait()
            .at_most(SHOW)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css} to click: {e}"));
        element.click().await.unwrap_or_else(|e| panic!("clicking {css}: {e}"));
    }

    /// Runs `script` in the page (a function body: `return ...`) and gives its result.
    pub async fn script(&self, script: &str) -> serde_json::Value {
        self.client
            .execute(script, Vec::new())
            .await
            .unwrap_or_else(|e| panic!("running {script:?}: {e}"))
    }

    /// Whether the page has an element `css` now.
    pub async fn has(&self, css: &str) -> bool {
        self.client.find(Locator::Css(css)).await.is_ok()
    }

    /// The page's path.
    pub async fn path(&self) -> String {
        self.client
            .current_url()
            .await
            .map(|url| url.path().to_string())
            .unwrap_or_default()
    }

    /// Ends the session (the browser quits); dropping it then stops chromedriver.
    pub async fn close(mut self) {
        self.closed = self.client.clone().close().await.is_ok();
    }
}
