//! The systemd unit (`host/deploy/systemd/`): verified by `systemd-analyze verify`,
//! its sandbox compared with the paths its config writes, its reload command run on a
//! real Weir. (No systemd runs here: the unit is never started.)

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use weir_tests::process::WeirProcess;
use weir_tests::receiver::Receiver;

use crate::deploy::{deploy_file, inside, load, output, printed, rooted, scratch, tool, weir, weir_check_passes};

/// The unit's settings: (section, key) -> every value given, in order.
fn unit() -> BTreeMap<(String, String), Vec<String>> {
    let mut settings: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    let mut section = String::new();
    for line in deploy_file("systemd/weir.service").lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_string();
            continue;
        }
        let (key, value) = line.split_once('=').unwrap_or_else(|| panic!("not KEY=VALUE: {line}"));
        settings
            .entry((section.clone(), key.trim().to_string()))
            .or_default()
            .push(value.trim().to_string());
    }
    settings
}

/// The one value of a `[Service]` key.
#[track_caller]
fn service(settings: &BTreeMap<(String, String), Vec<String>>, key: &str) -> String {
    let values = settings
        .get(&("Service".to_string(), key.to_string()))
        .unwrap_or_else(|| panic!("[Service] has no {key}"));
    assert_eq!(values.len(), 1, "{key} = {values:?}");
    values[0].clone()
}

fn config_text() -> String {
    deploy_file("systemd/weir.toml")
}

#[test]
fn the_unit_is_sandboxed_writes_only_its_own_folders_and_reloads_with_sighup() {
    let settings = unit();
    let get = |key: &str| service(&settings, key);
    assert_eq!(get("DynamicUser"), "yes");
    assert_eq!(get("ProtectSystem"), "strict");
    assert_eq!(get("NoNewPrivileges"), "yes");
    assert_eq!(get("CapabilityBoundingSet"), "");
    // Weir compiles plugins to machine code: writable-and-executable memory it needs.
    assert!(!settings.contains_key(&("Service".into(), "MemoryDenyWriteExecute".into())));
    let nofile: u64 = get("LimitNOFILE").parse().unwrap();
    assert!(nofile >= 65536, "{nofile}");
    assert_eq!(get("ExecReload"), "/bin/kill -HUP $MAINPID");
    assert_eq!(get("KillSignal"), "SIGTERM");

    // The config is in the ConfigurationDirectory; what Weir writes is in the folders
    // systemd makes writable for the dynamic user: ProtectSystem=strict makes the
    // rest read-only.
    let start: Vec<String> = get("ExecStart").split_whitespace().map(String::from).collect();
    assert_eq!(start[..3], ["/usr/local/bin/weir", "run", "--config"]);
    let config_path = PathBuf::from(&start[3]);
    let folder = |key: &str, base: &str| Path::new(base).join(get(key));
    let configuration = folder("ConfigurationDirectory", "/etc");
    let state = folder("StateDirectory", "/var/lib");
    let cache = folder("CacheDirectory", "/var/cache");
    let runtime = folder("RuntimeDirectory", "/run");
    assert!(inside(&config_path, &configuration), "{}", config_path.display());
    let config = load(&config_text(), "systemd/weir.toml", &BTreeMap::new());
    assert!(
        inside(&config.storage.path, &state),
        "{}",
        config.storage.path.display()
    );
    assert!(inside(config.plugins.cache_dir.as_ref().unwrap(), &cache));
    assert!(inside(config.plugins.dir.as_ref().unwrap(), &configuration));
    // The socket the config's comment offers goes in the RuntimeDirectory.
    let socket = config_text()
        .lines()
        .find_map(|line| {
            line.strip_prefix("# unix_socket = \"")?
                .strip_suffix('"')
                .map(PathBuf::from)
        })
        .expect("the config shows where a Unix socket goes");
    assert!(inside(&socket, &runtime), "{}", socket.display());
    assert!(inside(Path::new(&get("WorkingDirectory")), &state));
    // Next to the inference service on the same machine: loopback only.
    assert!(config.server.listen.ip().is_loopback() && config.admin.listen.ip().is_loopback());
    // systemctl stop waits for the drain.
    let stop = humantime::parse_duration(&get("TimeoutStopSec")).unwrap();
    assert!(
        stop > config.server.shutdown_grace.0 + Duration::from_secs(5),
        "{stop:?}"
    );
    assert_eq!(
        settings[&("Install".to_string(), "WantedBy".to_string())],
        ["multi-user.target"]
    );
}

#[test]
fn the_unit_passes_systemd_analyze_verify() {
    let Some(analyze) = tool(
        "deploy_systemd::the_unit_passes_systemd_analyze_verify",
        "systemd-analyze",
        "apt-get install systemd",
    ) else {
        return;
    };
    // The unit as installed, but for where the binary is: /usr/local/bin/weir is not
    // on this machine, and verify checks that ExecStart's program exists.
    let dir = scratch("systemd-verify");
    let unit = dir.join("weir.service");
    std::fs::write(
        &unit,
        deploy_file("systemd/weir.service").replace("/usr/local/bin/weir", weir()),
    )
    .unwrap();
    // Documentation= names man pages that `man` would look for: the ones the
    // distribution installs, generated here.
    let man = dir.join("man");
    let out = output(Command::new(weir()).args(["man", "--dir"]).arg(man.join("man1")));
    assert!(out.status.success(), "{}", printed(&out));
    for page in deploy_file("systemd/weir.service")
        .lines()
        .filter_map(|l| l.strip_prefix("Documentation="))
        .flat_map(|l| l.split_whitespace())
    {
        let name = page.strip_prefix("man:").unwrap().replace("(1)", ".1");
        assert!(man.join("man1").join(&name).exists(), "{page}");
    }
    let out = output(
        Command::new(&analyze)
            .args(["verify", "--man=no"])
            .arg(&unit)
            .env("SYSTEMD_LOG_LEVEL", "notice"),
    );
    // Unknown keys and bad values are warnings on stderr with exit 0: any output fails.
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "systemd-analyze verify: {}",
        printed(&out)
    );
    // systemd's own measure of the sandbox (0 is shut tight, 10 wide open; in tenths
    // here): 2.8 with systemd 252. Losing DynamicUser, the empty capability set or the
    // address families takes it past 3.0.
    let out = output(
        Command::new(&analyze)
            .args(["security", "--offline=yes", "--threshold=30", "--no-pager"])
            .arg(&unit),
    );
    assert!(out.status.success(), "systemd-analyze security: {}", printed(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_unit_config_passes_weir_check_and_its_reload_command_reloads_weir() {
    let root = scratch("systemd");
    // The config file systemd starts Weir with, under a scratch root; a link in
    // another folder, so that only the reload command (not the file watcher) can make
    // Weir see a change.
    let real = root.join("elsewhere").join("weir.toml");
    std::fs::create_dir_all(real.parent().unwrap()).unwrap();
    let mut hook = Receiver::ok().await;
    let hook_url = hook.url().to_string();
    // The unit's config with its route named `route` and delivering to `hook`.
    let version = |route: &str| {
        let text = config_text()
            .replace("[routes.demo]", &format!("[routes.{route}]"))
            .replace("url = \"log:\"", &format!("url = \"{hook_url}\"\nallow_private = true"));
        rooted(&text, &root)
    };
    std::fs::write(&real, version("demo")).unwrap();
    let config = root.join("etc").join("weir").join("weir.toml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(&real, &config).unwrap();
    weir_check_passes(&config, &BTreeMap::new());

    let weir_process = WeirProcess::spawn_file(weir(), &config);
    let client = weir_tests::http_client();
    let post = async |route: &str| {
        client
            .post(format!("http://{}/ingest/{route}", weir_process.ingest))
            .header("content-type", "application/json")
            .body(r#"{"predictions":[{"class":"person","confidence":0.9}]}"#)
            .send()
            .await
            .unwrap()
            .status()
    };
    assert_eq!(post("yard").await, 404);
    std::fs::write(&real, version("yard")).unwrap();
    // `systemctl reload weir`: the unit's ExecReload, with $MAINPID.
    let reload = service(&unit(), "ExecReload").replace("$MAINPID", &weir_process.child.id().to_string());
    let words: Vec<&str> = reload.split_whitespace().collect();
    let out = output(Command::new(words[0]).args(&words[1..]));
    assert!(out.status.success(), "{reload}: {}", printed(&out));
    weir_tests::eventually("the reloaded route", Duration::from_secs(30), async || {
        (post("yard").await == 202).then_some(())
    })
    .await;
    assert_eq!(post("demo").await, 404);
    hook.next().await;
    assert!(weir_process.logged("received SIGHUP"), "{}", weir_process.log_text());
}
