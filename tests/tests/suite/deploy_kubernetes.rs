//! The Kubernetes sidecar example (`host/deploy/kubernetes/sidecar.yaml`): validated
//! against the Kubernetes schemas, its probes, mounts and shutdown compared with the
//! config it mounts, its probes run on a Weir with that config, and its sync script run
//! against a ConfigMap folder updated the way the kubelet updates one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use sha2::{Digest, Sha256};
use weir_tests::process::WeirProcess;
use weir_tests::records::{SETTLE, plugin_status};
use weir_tests::{eventually, example_path, workspace};

use crate::deploy::{inside, load, output, printed, rooted, scratch, tool, weir, weir_check_passes};

const EXAMPLE: &str = "kubernetes/sidecar.yaml";

/// The example's objects.
fn objects() -> Vec<Value> {
    serde_saphyr::from_multiple::<Value>(&crate::deploy::deploy_file(EXAMPLE))
        .unwrap_or_else(|e| panic!("{EXAMPLE}: {e}"))
}

/// The object of this kind and name.
#[track_caller]
fn object<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in {EXAMPLE}"))
}

/// The pod of the Deployment.
fn pod(objects: &[Value]) -> &Value {
    &object(objects, "Deployment", "inference")["spec"]["template"]["spec"]
}

/// A container (or init container) of the pod, by name.
#[track_caller]
fn container<'a>(pod: &'a Value, name: &str) -> &'a Value {
    ["containers", "initContainers"]
        .iter()
        .filter_map(|list| pod[list].as_array())
        .flatten()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no container {name}"))
}

/// A container's mount holding `path`: (volume, mount path, read-only).
#[track_caller]
fn mount_of(container: &Value, path: &Path) -> (String, PathBuf, bool) {
    container["volumeMounts"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            (
                m["name"].as_str().unwrap().to_string(),
                PathBuf::from(m["mountPath"].as_str().unwrap()),
                m["readOnly"].as_bool().unwrap_or(false),
            )
        })
        .filter(|(_, at, _)| inside(path, at))
        .max_by_key(|(_, at, _)| at.components().count())
        .unwrap_or_else(|| panic!("{} is in no volume of {}", path.display(), container["name"]))
}

/// Where a container mounts a volume.
#[track_caller]
fn mount_path(container: &Value, volume: &str) -> PathBuf {
    container["volumeMounts"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| m["name"] == volume)
        .map(|m| PathBuf::from(m["mountPath"].as_str().unwrap()))
        .unwrap_or_else(|| panic!("{} does not mount {volume}", container["name"]))
}

/// A volume of the pod, by name.
#[track_caller]
fn volume<'a>(pod: &'a Value, name: &str) -> &'a Value {
    pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == name)
        .unwrap_or_else(|| panic!("no volume {name}"))
}

/// The weir-config ConfigMap's weir.toml.
fn config_text(objects: &[Value]) -> String {
    object(objects, "ConfigMap", "weir-config")["data"]["weir.toml"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The sync script.
fn sync_script(objects: &[Value]) -> String {
    object(objects, "ConfigMap", "weir-files-sync")["data"]["sync.sh"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The default the sync script gives a variable (`into=${WEIR_SYNC_INTO:-/etc/weir}`).
#[track_caller]
fn script_default(script: &str, variable: &str) -> PathBuf {
    let marker = format!("${{{variable}:-");
    let start = script
        .find(&marker)
        .unwrap_or_else(|| panic!("the script has no {variable}"))
        + marker.len();
    PathBuf::from(&script[start..start + script[start..].find('}').unwrap()])
}

/// Values for the weir container's environment (from the Secret): a URL and a
/// signing secret that parse.
fn secrets(weir: &Value) -> BTreeMap<String, String> {
    weir["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let name = e["name"].as_str().unwrap().to_string();
            let value = if name.contains("SECRET") {
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_string()
            } else {
                "http://127.0.0.1:9/detections".to_string()
            };
            (name, value)
        })
        .collect()
}

/// A probe's command with its `--admin URL`, and that URL.
#[track_caller]
fn probe<'a>(weir: &'a Value, which: &str) -> (Vec<String>, url::Url, &'a Value) {
    let probe = &weir[which];
    let command: Vec<String> = serde_json::from_value(probe["exec"]["command"].clone())
        .unwrap_or_else(|e| panic!("{which} runs a command: {e}"));
    let at = command.iter().position(|a| a == "--admin").expect("--admin URL");
    let url = command[at + 1].parse().unwrap();
    (command, url, probe)
}

#[test]
fn the_example_passes_the_kubernetes_schemas_of_1_30_and_1_37() {
    let Some(validate) = tool(
        "deploy_kubernetes::the_example_passes_the_kubernetes_schemas_of_1_30_and_1_37",
        "kubernetes-validate",
        "pip install kubernetes-validate",
    ) else {
        return;
    };
    let path = workspace().join("host").join("deploy").join(EXAMPLE);
    // 1.30: the oldest the example supports (the preStop `sleep` action).
    for version in ["1.30.0", "1.37.0"] {
        let out = output(
            Command::new(&validate)
                .args(["--strict", "--quiet", "-k", version])
                .arg(&path),
        );
        assert!(
            out.status.success() && out.stdout.is_empty(),
            "{version}: {}",
            printed(&out)
        );
    }
}

#[test]
fn the_sidecar_probes_mounts_and_shutdown_match_the_config_it_mounts() {
    let objects = objects();
    let pod = pod(&objects);
    let weir = container(pod, "weir");
    let text = config_text(&objects);
    let env = secrets(weir);
    for name in crate::deploy::variables(&text) {
        assert!(
            env.contains_key(&name),
            "${{{name}}} is not in the weir container's env"
        );
    }
    let config = load(&text, "weir-config weir.toml", &env);

    // The config file: where the image's WEIR_CONFIG says, in a read-only folder
    // that the sync containers fill from the ConfigMaps.
    let args: Vec<String> = serde_json::from_value(weir["args"].clone()).unwrap();
    let at = args.iter().position(|a| a == "--config").unwrap();
    let config_path = PathBuf::from(&args[at + 1]);
    let containerfile = crate::deploy::deploy_file("container/Containerfile");
    assert!(containerfile.contains(&format!("WEIR_CONFIG={}", config_path.display())));
    let (files, files_at, read_only) = mount_of(weir, &config_path);
    assert!(read_only, "Weir only reads its config");
    assert!(volume(pod, &files)["emptyDir"].is_object());
    let plugins = config.plugins.dir.clone().unwrap();
    assert_eq!(
        mount_of(weir, &plugins).0,
        files,
        "the plugin folder is filled by the sync"
    );
    let script = sync_script(&objects);
    for (name, once) in [("weir-files", true), ("weir-files-sync", false)] {
        let sync = container(pod, name);
        let command: Vec<String> = serde_json::from_value(sync["command"].clone()).unwrap();
        let script_path = PathBuf::from(&command[1]);
        assert_eq!(command[0], "sh");
        assert_eq!(
            command.get(2).map(String::as_str) == Some("--once"),
            once,
            "{command:?}"
        );
        let (script_volume, _, _) = mount_of(sync, &script_path);
        assert_eq!(volume(pod, &script_volume)["configMap"]["name"], "weir-files-sync");
        // Where the script writes is the folder Weir reads, file for file.
        let into = script_default(&script, "WEIR_SYNC_INTO");
        assert_eq!(mount_path(sync, &files), into);
        assert_eq!(
            into.join("weir.toml"),
            into.join(config_path.strip_prefix(&files_at).unwrap())
        );
        assert_eq!(
            into.join("plugins"),
            into.join(plugins.strip_prefix(&files_at).unwrap())
        );
        // ...and where it reads are the ConfigMaps.
        for (variable, config_map) in [
            ("WEIR_SYNC_CONFIG", "weir-config"),
            ("WEIR_SYNC_PLUGINS", "weir-plugins"),
        ] {
            let (source, _, read_only) = mount_of(sync, &script_default(&script, variable));
            assert!(read_only);
            assert_eq!(volume(pod, &source)["configMap"]["name"], config_map);
        }
    }
    assert_eq!(volume(pod, "plugin-source")["configMap"]["optional"], true);

    // What Weir writes is on writable emptyDirs: the root file system is read-only.
    let socket = config.server.unix_socket.clone().expect("a Unix socket");
    for path in [
        &config.storage.path,
        config.plugins.cache_dir.as_ref().unwrap(),
        &socket,
        &PathBuf::from("/tmp"),
    ] {
        let (name, _, read_only) = mount_of(weir, path);
        assert!(!read_only, "{}", path.display());
        assert!(volume(pod, &name)["emptyDir"].is_object(), "{name}");
    }

    // The inference container reaches ingest over the pod's loopback or the socket.
    let inference = container(pod, "inference");
    let inference_env: BTreeMap<String, String> = inference["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["name"].as_str().unwrap().into(), e["value"].as_str().unwrap().into()))
        .collect();
    let ingest: url::Url = inference_env["WEIR_INGEST_URL"].parse().unwrap();
    assert!(config.server.listen.ip().is_loopback());
    assert_eq!(ingest.host_str(), Some(config.server.listen.ip().to_string().as_str()));
    assert_eq!(ingest.port(), Some(config.server.listen.port()));
    let route = ingest.path().strip_prefix("/ingest/").unwrap();
    assert!(config.routes.contains_key(route), "{route}");
    let (socket_volume, weir_at, _) = mount_of(weir, &socket);
    let inference_at = mount_path(inference, &socket_volume);
    assert_eq!(
        PathBuf::from(&inference_env["WEIR_INGEST_SOCKET"]),
        inference_at.join(socket.strip_prefix(&weir_at).unwrap())
    );

    // Probes: `weir health` (the image's binary) on the config's admin listener, ready
    // for startup and readiness, alive for liveness, within the probe's timeout.
    assert!(containerfile.contains("ENTRYPOINT [\"/usr/local/bin/weir\"]"));
    for (which, ready) in [
        ("startupProbe", true),
        ("readinessProbe", true),
        ("livenessProbe", false),
    ] {
        let (command, url, probe) = probe(weir, which);
        assert_eq!(command[..2], ["/usr/local/bin/weir", "health"], "{which}");
        assert_eq!(command.contains(&"--ready".to_string()), ready, "{which}");
        assert_eq!(
            url.host_str(),
            Some(config.admin.listen.ip().to_string().as_str()),
            "{which}"
        );
        assert_eq!(url.port(), Some(config.admin.listen.port()), "{which}");
        let own = command.iter().position(|a| a == "--timeout").unwrap();
        let own = humantime::parse_duration(&command[own + 1]).unwrap();
        assert!(
            own < Duration::from_secs(probe["timeoutSeconds"].as_u64().unwrap()),
            "{which}"
        );
    }

    // Shutdown: the preStop wait, then SIGTERM and shutdown_grace, within the grace
    // period the pod gives.
    let pre_stop = weir["lifecycle"]["preStop"]["sleep"]["seconds"].as_u64().unwrap();
    let grace = pod["terminationGracePeriodSeconds"].as_u64().unwrap();
    let needed = Duration::from_secs(pre_stop) + config.server.shutdown_grace.0;
    assert!(Duration::from_secs(grace) > needed, "{grace} s <= {needed:?}");

    // The image's user, not root, on a read-only root.
    let uid: u64 = containerfile
        .lines()
        .find_map(|l| l.strip_prefix("USER "))
        .and_then(|u| u.split(':').next()?.parse().ok())
        .unwrap();
    for name in ["weir", "weir-files", "weir-files-sync"] {
        let security = &container(pod, name)["securityContext"];
        assert_eq!(security["runAsUser"].as_u64(), Some(uid), "{name}");
        assert_eq!(security["runAsNonRoot"], true, "{name}");
        assert_eq!(security["readOnlyRootFilesystem"], true, "{name}");
        assert_eq!(security["allowPrivilegeEscalation"], false, "{name}");
    }
}

#[test]
fn the_sidecar_config_passes_weir_check_and_its_probes_pass_on_a_running_weir() {
    let objects = objects();
    let weir_container = container(pod(&objects), "weir");
    let env = secrets(weir_container);
    let root = scratch("k8s");
    let config = root.join("weir.toml");
    std::fs::write(&config, rooted(&config_text(&objects), &root)).unwrap();
    weir_check_passes(&config, &env);

    let mut command = WeirProcess::command(weir(), &config);
    command.envs(&env);
    let running = WeirProcess::start(command);
    for which in ["startupProbe", "readinessProbe", "livenessProbe"] {
        let (mut command, _, _) = probe(weir_container, which);
        let at = command.iter().position(|a| a == "--admin").unwrap();
        command[at + 1] = format!("http://{}", running.admin);
        let out = output(Command::new(weir()).args(&command[1..]));
        assert!(out.status.success(), "{which}: {}", printed(&out));
    }
    // The socket, in the folder the inference container shares.
    use std::os::unix::fs::FileTypeExt;
    let socket = root.join("run/weir/ingest.sock");
    assert!(
        std::fs::metadata(&socket).is_ok_and(|m| m.file_type().is_socket()),
        "{}",
        socket.display()
    );
}

/// A folder updated the way the kubelet updates a ConfigMap volume: the files live in
/// a timestamped folder, `..data` links to it, each visible name links into `..data`;
/// an update writes a new timestamped folder and swaps `..data` with a rename.
struct ConfigMapVolume {
    dir: PathBuf,
    updates: u32,
}

impl ConfigMapVolume {
    fn new(dir: PathBuf, files: &[(&str, Vec<u8>)]) -> ConfigMapVolume {
        std::fs::create_dir_all(&dir).unwrap();
        let mut volume = ConfigMapVolume { dir, updates: 0 };
        volume.update(files);
        volume
    }

    fn update(&mut self, files: &[(&str, Vec<u8>)]) {
        use std::os::unix::fs::symlink;
        self.updates += 1;
        let stamp = format!("..2026_01_01_00_00_{:02}.000000001", self.updates);
        std::fs::create_dir(self.dir.join(&stamp)).unwrap();
        for (name, bytes) in files {
            std::fs::write(self.dir.join(&stamp).join(name), bytes).unwrap();
        }
        let old = std::fs::read_link(self.dir.join("..data")).ok();
        symlink(&stamp, self.dir.join("..data_tmp")).unwrap();
        std::fs::rename(self.dir.join("..data_tmp"), self.dir.join("..data")).unwrap();
        for (name, _) in files {
            let visible = self.dir.join(name);
            if std::fs::symlink_metadata(&visible).is_err() {
                symlink(Path::new("..data").join(name), &visible).unwrap();
            }
        }
        for entry in std::fs::read_dir(&self.dir).unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !name.starts_with("..") && !files.iter().any(|(f, _)| *f == name) {
                std::fs::remove_file(entry.path()).unwrap();
            }
        }
        if let Some(old) = old {
            std::fs::remove_dir_all(self.dir.join(old)).unwrap();
        }
    }
}

/// A child process killed when the test ends, however it ends.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configmap_update_reaches_weir_through_the_sync_container() {
    let objects = objects();
    let env = secrets(container(pod(&objects), "weir"));
    let root = scratch("k8s-sync");
    // The ConfigMaps: the example's config (re-rooted, with a route on a plugin of the
    // plugin ConfigMap), and that plugin.
    let config_version = |extra: &str| {
        let text = format!(
            "{}\n[routes.v]\nfilters = [{{ plugin = \"v\" }}]\ndestinations = [\"webhook\"]\n{extra}",
            config_text(&objects)
        );
        vec![("weir.toml", rooted(&text, &root).into_bytes())]
    };
    let plugin = |example: &str| vec![("v.wasm", std::fs::read(example_path(example)).unwrap())];
    let mut config_map = ConfigMapVolume::new(root.join("sources/config"), &config_version(""));
    let mut plugin_map = ConfigMapVolume::new(root.join("sources/plugins"), &plugin("strip-masks"));
    let script = root.join("sync.sh");
    std::fs::write(&script, sync_script(&objects)).unwrap();
    let into = root.join("etc/weir");
    let sync = |args: &[&str]| {
        let mut command = Command::new("sh");
        command
            .arg(&script)
            .args(args)
            .env("WEIR_SYNC_CONFIG", root.join("sources/config"))
            .env("WEIR_SYNC_PLUGINS", root.join("sources/plugins"))
            .env("WEIR_SYNC_INTO", &into)
            .env("WEIR_SYNC_PERIOD", "0.1");
        command
    };

    // The init container, then Weir on what it copied, then the sync container.
    let out = output(&mut sync(&["--once"]));
    assert!(out.status.success(), "{}", printed(&out));
    let mut command = WeirProcess::command(weir(), &into.join("weir.toml"));
    command.envs(&env).current_dir(&root);
    let running = WeirProcess::start(command);
    let mut looping = Killed(sync(&[]).stdout(Stdio::null()).spawn().unwrap());

    let client = weir_tests::http_client();
    let v_status = async || plugin_status(&client, running.admin, "v").await;
    let plugin_hash = async || -> Option<String> { v_status().await["hash"].as_str().map(String::from) };
    let sha256 = |example: &str| hex::encode(Sha256::digest(std::fs::read(example_path(example)).unwrap()));
    assert_eq!(plugin_hash().await, Some(sha256("strip-masks")));

    // A new version of the plugin in its ConfigMap: Weir serves it.
    plugin_map.update(&plugin("class-filter"));
    let wanted = sha256("class-filter");
    eventually("the plugin's new version", SETTLE, async || {
        (plugin_hash().await.as_deref() == Some(wanted.as_str())).then_some(())
    })
    .await;
    // Loaded whole, at the first try: the sync never shows Weir a half-written file.
    let status = v_status().await;
    assert_eq!(status["last_error"], Value::Null, "{status}");
    assert_eq!(status["versions"], 2, "{status}");

    // A new route in the config's ConfigMap: Weir serves it.
    let late = "[routes.late]\ndestinations = [\"webhook\"]\n";
    config_map.update(&config_version(late));
    let ingest = format!("http://{}/ingest/late", running.ingest);
    eventually("the new route", SETTLE, async || {
        let status = client
            .post(&ingest)
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .ok()?
            .status();
        (status != 404).then_some(())
    })
    .await;

    // SIGTERM (pod deletion) ends the sync container at once, not at the grace period.
    let _ = Command::new("kill")
        .args(["-TERM", &looping.0.id().to_string()])
        .status();
    let status = eventually(
        "the sync loop to end at SIGTERM (it ignores SIGTERM)",
        Duration::from_secs(5),
        async || looping.0.try_wait().unwrap(),
    )
    .await;
    assert!(status.success(), "{status}");
}
