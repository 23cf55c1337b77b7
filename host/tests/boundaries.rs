//! The design's module rules, kept by a test: each `use crate::...` (or `crate::` path)
//! in a module of the runtime library must name a module that module may reach.
//!
//! - `event`, `config`, `text` and `flood` reach nothing: every other module converts from them
//!   or uses them.
//! - `plugin` (the Wasm runtime) knows nothing of HTTP or storage: never `ingest`,
//!   `dispatch`, `outbox`.
//! - `dispatch` (delivery) knows nothing of Wasm: never `plugin`.
//! - `ingest` never reaches `dispatch`: a sender can never wait on a receiver. It holds
//!   only the enqueue side of the outbox (`outbox::Enqueue`), which the compiler keeps.
//! - `outbox` (storage) knows nothing of the stages around it: never `ingest`,
//!   `pipeline`, `plugin`, `dispatch`.
//! - The command line and the benchmark harness are the binary's (`src/bin/weir`),
//!   not modules of the library.
//! - Inside `plugin`, each guest ABI (`component/`, `module/`) stands on the shared
//!   parts (sandbox, cache, state, errors, outcome) and never reaches the other ABI;
//!   the shared parts reach neither.

use std::path::{Path, PathBuf};

/// (module, modules it must not reach). `*` means every other module of the crate.
const RULES: &[(&str, &[&str])] = &[
    ("event", &["*"]),
    ("config", &["*"]),
    ("text", &["*"]),
    ("flood", &["*"]),
    (
        "plugin",
        &[
            "ingest", "dispatch", "outbox", "pipeline", "topology", "reload", "admin", "server",
        ],
    ),
    (
        "dispatch",
        &["plugin", "ingest", "pipeline", "reload", "admin", "server"],
    ),
    ("ingest", &["dispatch", "plugin", "reload", "admin", "server"]),
    (
        "outbox",
        &[
            "ingest", "pipeline", "plugin", "dispatch", "topology", "reload", "admin", "server",
        ],
    ),
    (
        "pipeline",
        &["ingest", "dispatch", "outbox", "reload", "admin", "server"],
    ),
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The `.rs` files of a module (a file, or a folder).
fn files(module: &str) -> Vec<PathBuf> {
    let file = src().join(format!("{module}.rs"));
    if file.is_file() {
        return vec![file];
    }
    let mut found = Vec::new();
    let mut folders = vec![src().join(module)];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap_or_else(|e| panic!("{}: {e}", folder.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                found.push(path);
            }
        }
    }
    found
}

/// The modules a file reaches with `crate::` paths, outside comments, with the line.
fn reached(path: &Path) -> Vec<(String, usize, String)> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut reached = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or_default();
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            let name: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            // `use crate::{a, b}` names several.
            if name.is_empty() && after.starts_with('{') {
                let group = after[1..].split('}').next().unwrap_or_default();
                for item in group.split(',') {
                    let item: String = item
                        .trim()
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    reached.push((item, n + 1, line.trim().to_string()));
                }
            } else {
                reached.push((name, n + 1, line.trim().to_string()));
            }
            rest = after;
        }
    }
    reached
}

fn modules() -> Vec<String> {
    std::fs::read_dir(src())
        .unwrap()
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let name = path.file_stem()?.to_str()?.to_string();
            (name != "lib" && name != "bin" && (path.is_dir() || path.extension().is_some_and(|e| e == "rs")))
                .then_some(name)
        })
        .collect()
}

#[test]
fn no_module_reaches_what_the_design_forbids() {
    let all = modules();
    let mut broken = Vec::new();
    for (module, forbidden) in RULES {
        assert!(all.iter().any(|m| m == module), "no module {module} in src/");
        for file in files(module) {
            for (target, line, text) in reached(&file) {
                let denied = if forbidden == &["*"] {
                    target != *module && all.contains(&target)
                } else {
                    forbidden.contains(&target.as_str())
                };
                if denied {
                    broken.push(format!(
                        "{}:{line}: {module} reaches {target}: {text}",
                        file.strip_prefix(src()).unwrap().display()
                    ));
                }
            }
        }
    }
    assert!(broken.is_empty(), "module rules broken:\n{}", broken.join("\n"));
}

/// The plugin runtime's layers: the shared parts below (sandbox, cache, state, errors,
/// the outcome, the log), each guest ABI above them (`component/`, `module/`), and the
/// engine, the compiled plugin, the instance, the pool and the registry above both,
/// choosing between the two.
const ABIS: [&str; 2] = ["component", "module"];
const ABOVE: [&str; 5] = ["engine", "compiled", "instance", "filter", "registry"];
/// The shared parts, and whether each may use the sandbox.
const BELOW: [(&str, bool); 6] = [
    ("sandbox", true),
    ("error", true),
    ("outcome", true),
    ("cache", false),
    ("state", false),
    ("log", false),
];

/// Each layer (a file or folder of `src/plugin/`) and the plugin modules it must not
/// reach.
fn plugin_layers() -> Vec<(&'static str, Vec<&'static str>)> {
    let mut layers = Vec::new();
    for abi in ABIS {
        let other = ABIS.iter().copied().filter(|a| *a != abi);
        layers.push((abi, other.chain(ABOVE).collect()));
    }
    for (part, may_use_sandbox) in BELOW {
        let sandbox = (!may_use_sandbox).then_some("sandbox");
        layers.push((part, ABIS.into_iter().chain(ABOVE).chain(sandbox).collect()));
    }
    layers
}

/// The plugin modules a file of `src/plugin/` reaches: `super::x` from a file of the
/// folder, `super::super::x` from one of its subfolders, `crate::plugin::x` anywhere.
fn reached_in_plugin(path: &Path) -> Vec<(String, usize, String)> {
    let depth = path.strip_prefix(src().join("plugin")).unwrap().components().count();
    plugin_paths(&std::fs::read_to_string(path).unwrap(), depth)
}

/// The plugin modules `text` reaches, from a file `depth` levels below `src/plugin/`.
fn plugin_paths(text: &str, depth: usize) -> Vec<(String, usize, String)> {
    let prefixes = [if depth == 1 { "super::" } else { "super::super::" }, "crate::plugin::"];
    let mut reached = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or_default();
        for prefix in prefixes {
            for (at, _) in code.match_indices(prefix) {
                // `super::super::x` also contains `super::x`: count each path once.
                let after = &code[at + prefix.len()..];
                if prefix == "super::" && (code[..at].ends_with("super::") || after.starts_with("super::")) {
                    continue;
                }
                let names: Vec<&str> = match after.strip_prefix('{') {
                    Some(group) => group.split('}').next().unwrap_or_default().split(',').collect(),
                    None => vec![after],
                };
                for name in names {
                    let name: String = name
                        .trim()
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    reached.push((name, n + 1, line.trim().to_string()));
                }
            }
        }
    }
    reached
}

#[test]
fn the_plugin_runtime_keeps_its_layers() {
    let mut broken = Vec::new();
    for (layer, forbidden) in plugin_layers() {
        let file = src().join("plugin").join(format!("{layer}.rs"));
        let files = if file.is_file() {
            vec![file]
        } else {
            files(&format!("plugin/{layer}"))
        };
        assert!(!files.is_empty(), "no plugin/{layer} in src/");
        for file in files {
            for (target, line, text) in reached_in_plugin(&file) {
                if forbidden.contains(&target.as_str()) {
                    broken.push(format!(
                        "{}:{line}: plugin::{layer} reaches {target}: {text}",
                        file.strip_prefix(src()).unwrap().display()
                    ));
                }
            }
        }
    }
    assert!(broken.is_empty(), "plugin layers broken:\n{}", broken.join("\n"));
}

#[test]
fn the_command_line_and_the_bench_harness_are_the_binarys() {
    for module in ["cli", "bench"] {
        assert!(!src().join(module).exists(), "src/{module} belongs in src/bin/weir/");
    }
    let lib = std::fs::read_to_string(src().join("lib.rs")).unwrap();
    for module in ["cli", "bench"] {
        assert!(!lib.contains(&format!("mod {module};")), "lib.rs declares {module}");
    }
}

#[test]
fn the_rule_check_sees_a_forbidden_edge() {
    // The check itself: a line reaching a forbidden module is found, a comment is not.
    let dir = std::env::temp_dir().join(format!("weir-boundaries-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("x.rs");
    std::fs::write(
        &file,
        "use crate::dispatch::Lane;\n// crate::outbox in a comment\nuse crate::{event, outbox::Records};\n",
    )
    .unwrap();
    let found: Vec<String> = reached(&file).into_iter().map(|(m, _, _)| m).collect();
    assert_eq!(found, ["dispatch", "event", "outbox"]);
    let plugin =
        |text: &str, depth| -> Vec<String> { plugin_paths(text, depth).into_iter().map(|(m, _, _)| m).collect() };
    let text = "use super::super::module::X;\nuse super::{sandbox, error};\n// super::engine\nuse crate::plugin::{engine, cache};\n";
    assert_eq!(plugin(text, 2), ["module", "engine", "cache"]);
    assert_eq!(plugin(text, 1), ["sandbox", "error", "engine", "cache"]);
    std::fs::remove_dir_all(&dir).unwrap();
}
