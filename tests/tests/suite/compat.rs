//! Filters built against contract 0.1.0 (committed under `tests/guests/v0.1.0/`, built
//! before 0.2 existed) on this Weir, and the versioning rules of `wit/README.md`.

use std::collections::BTreeMap;
use std::path::Path;

use sha2::{Digest, Sha256};
use weir::plugin::{FilterSettings, Outcome};
use weir_tests::filters::{example_filter, filter, run};
use weir_tests::plugins::example_plugin;
use weir_tests::{FIXTURES, fixture_event, guest_0_1, load, workspace};
use wit_parser::{FunctionKind, Handle, Resolve, Stability, Type, TypeDefKind, TypeOwner, WorldItem, WorldKey};

/// Each example with the configs its own tests use, and some that change nothing.
const CASES: [(&str, &str); 9] = [
    ("class-filter", r#"{"classes":["person","car"],"min_confidence":0.5}"#),
    ("class-filter", r#"{"classes":["person"],"min_confidence":0.9}"#),
    ("class-filter", r#"{"classes":["vehicle","forklift-present"]}"#),
    ("class-filter", "{}"),
    ("strip-masks", "{}"),
    ("reshape", "{}"),
    (
        "reshape",
        r#"{"template":"{feedId} ({task}): {summary}","field":"content","include":["id","status"],"min_confidence":0.5}"#,
    ),
    (
        "route-by-class",
        r#"{"routes":{"person":["security"],"car":["parking"]},"min_confidence":0.5}"#,
    ),
    (
        "route-by-class",
        r#"{"routes":{"forklift-present":["safety"]},"default":["archive"]}"#,
    ),
];

#[tokio::test]
async fn filters_built_against_0_1_give_what_their_0_2_rebuilds_give_on_every_fixture() {
    let mut outcomes = BTreeMap::new();
    for (example, config) in CASES {
        let old = filter(load(example, &guest_0_1(example)), config).await;
        let new = example_filter(example, config).await;
        assert_eq!(old.plugin().contract_version().unwrap().to_string(), "0.1.0");
        assert_eq!(new.plugin().contract_version().unwrap().to_string(), "0.2.0");
        for fixture in FIXTURES {
            let mut event = fixture_event(fixture);
            event.destinations = vec!["archive".into(), "parking".into(), "safety".into(), "security".into()];
            let from_old = run(&old, event.clone()).await.unwrap();
            let from_new = run(&new, event).await.unwrap();
            assert_eq!(from_old, from_new, "{example} {config} on {fixture}");
            let kind = match from_old {
                Outcome::Kept => "kept",
                Outcome::Modified(_) => "modified",
                Outcome::Dropped(_) => "dropped",
            };
            *outcomes.entry(kind).or_insert(0) += 1;
        }
    }
    // The cases cover every outcome.
    assert_eq!(outcomes.len(), 3, "{outcomes:?}");
}

#[tokio::test]
async fn a_0_1_guest_still_reads_the_event_and_edits_it() {
    let guest = load("misbehave-0.1", &guest_0_1("weir-test-guest"));
    let counter = filter(guest.clone(), r#"{"mode":"counter"}"#).await;
    for n in 1..=3 {
        let Outcome::Modified(event) = run(&counter, fixture_event("classification")).await.unwrap() else {
            panic!("the 0.1 guest set no metadata")
        };
        assert_eq!(event.metadata_value("count"), Some(n.to_string().as_str()));
    }
    let reader = filter(guest, r#"{"mode":"read-attachments"}"#).await;
    let event = fixture_event("instance-segmentation");
    let total: usize = event.attachments.iter().map(|a| a.data.len()).sum();
    let Outcome::Modified(out) = run(&reader, event).await.unwrap() else {
        panic!("the 0.1 guest set no metadata")
    };
    assert_eq!(out.metadata_value("bytes"), Some(total.to_string().as_str()));
}

#[tokio::test]
async fn a_0_1_core_module_still_loads_and_answers() {
    let wasm = wat::parse_file(workspace().join("tests/guests/v0.1.0/sample.wat")).unwrap();
    let plugin = std::sync::Arc::new(
        weir::plugin::Plugin::from_bytes(weir_tests::engine(), "sample-0.1", "sample.wat", &wasm).unwrap(),
    );
    let settings = FilterSettings {
        config: r#"{"every": 2}"#.into(),
        max_instances: 1,
        ..FilterSettings::default()
    };
    let sample = weir::plugin::Filter::new(plugin, settings).await.unwrap();
    assert_eq!(sample.plugin().contract_version().unwrap().to_string(), "0.1.0");
    let mut outcomes = Vec::new();
    for _ in 0..4 {
        outcomes.push(run(&sample, fixture_event("classification")).await.unwrap() == Outcome::Kept);
    }
    assert_eq!(outcomes, [true, false, true, false]);
}

#[tokio::test]
async fn the_admin_api_says_which_contract_each_plugin_was_built_for() {
    let plugin = example_plugin("cooldown");
    assert_eq!(plugin.contract_version().unwrap().to_string(), "0.2.0");
}

/// What the policy freezes: a released version's WIT never changes.
const FROZEN: [(&str, &str); 2] = [
    (
        "0.1.0",
        "47e0e1b8d6a56825128a41428a469f9e585b69b1f79b96db9946f18cfef1eaa5",
    ),
    (
        "0.2.0",
        "435acf87f4314d0bd042a7fc2085fc75f47916df9bffaa980ad2e7b2f6702fb2",
    ),
];

#[test]
fn released_contracts_are_frozen() {
    for (version, sha) in FROZEN {
        let path = workspace().join("wit").join(version).join("filter.wit");
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(
            hex(&Sha256::digest(&bytes)),
            sha,
            "{} changed: a released contract never changes; add to wit/filter.wit instead",
            path.display()
        );
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every item of a package: its path (`types/event.keep-predictions`), its shape, and
/// the version that introduced it.
fn items(dir: &Path) -> BTreeMap<String, (String, Option<String>)> {
    let mut resolve = Resolve::default();
    let (package, _) = resolve
        .push_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e:#}", dir.display()));
    let since = |stability: &Stability| match stability {
        Stability::Stable { since, .. } => Some(since.to_string()),
        _ => None,
    };
    let mut items = BTreeMap::new();
    for (name, id) in &resolve.packages[package].interfaces {
        let interface = &resolve.interfaces[*id];
        items.insert(name.to_string(), ("interface".to_string(), since(&interface.stability)));
        for (type_name, type_id) in &interface.types {
            let ty = &resolve.types[*type_id];
            items.insert(
                format!("{name}/{type_name}"),
                (shape(&resolve, &ty.kind), since(&ty.stability)),
            );
        }
        for (function_name, function) in &interface.functions {
            let kind = match function.kind {
                FunctionKind::Constructor(_) => "constructor",
                FunctionKind::Method(_) | FunctionKind::AsyncMethod(_) => "method",
                FunctionKind::Static(_) | FunctionKind::AsyncStatic(_) => "static",
                _ => "func",
            };
            let params: Vec<String> = function
                .params
                .iter()
                .map(|p| format!("{}: {}", p.name, render(&resolve, &p.ty)))
                .collect();
            let result = function.result.map(|t| render(&resolve, &t)).unwrap_or_default();
            items.insert(
                format!("{name}/{function_name}"),
                (
                    format!("{kind}({}) -> {result}", params.join(", ")),
                    since(&function.stability),
                ),
            );
        }
    }
    for (name, id) in &resolve.packages[package].worlds {
        let world = &resolve.worlds[*id];
        for (direction, entries) in [("import", &world.imports), ("export", &world.exports)] {
            for (key, item) in entries {
                let key = match key {
                    WorldKey::Name(name) => name.clone(),
                    WorldKey::Interface(id) => resolve.interfaces[*id].name.clone().unwrap_or_default(),
                };
                let (shape, stability) = match item {
                    WorldItem::Interface { stability, .. } => ("interface".to_string(), stability),
                    WorldItem::Function(function) => {
                        let params: Vec<String> = function
                            .params
                            .iter()
                            .map(|p| format!("{}: {}", p.name, render(&resolve, &p.ty)))
                            .collect();
                        let result = function.result.map(|t| render(&resolve, &t)).unwrap_or_default();
                        (format!("func({}) -> {result}", params.join(", ")), &function.stability)
                    }
                    WorldItem::Type { id, .. } => ("type".to_string(), &resolve.types[*id].stability),
                };
                // A `use` in a world imports types; they carry no gate of their own.
                if matches!(item, WorldItem::Type { .. }) {
                    continue;
                }
                items.insert(format!("{name}:{direction}/{key}"), (shape, since(stability)));
            }
        }
    }
    items
}

fn render(resolve: &Resolve, ty: &Type) -> String {
    match ty {
        Type::Id(id) => {
            let def = &resolve.types[*id];
            match (&def.name, &def.owner) {
                (Some(name), TypeOwner::Interface(owner)) => {
                    format!("{}.{name}", resolve.interfaces[*owner].name.clone().unwrap_or_default())
                }
                (Some(name), _) => name.clone(),
                (None, _) => shape(resolve, &def.kind),
            }
        }
        other => format!("{other:?}").to_lowercase(),
    }
}

fn shape(resolve: &Resolve, kind: &TypeDefKind) -> String {
    let r = |t: &Type| render(resolve, t);
    match kind {
        TypeDefKind::Record(record) => {
            let fields: Vec<String> = record
                .fields
                .iter()
                .map(|f| format!("{}: {}", f.name, r(&f.ty)))
                .collect();
            format!("record {{{}}}", fields.join(", "))
        }
        TypeDefKind::Variant(variant) => {
            let cases: Vec<String> = variant
                .cases
                .iter()
                .map(|c| format!("{}({})", c.name, c.ty.as_ref().map(r).unwrap_or_default()))
                .collect();
            format!("variant {{{}}}", cases.join(", "))
        }
        TypeDefKind::Enum(cases) => {
            let cases: Vec<&str> = cases.cases.iter().map(|c| c.name.as_str()).collect();
            format!("enum {{{}}}", cases.join(", "))
        }
        TypeDefKind::Flags(flags) => {
            let flags: Vec<&str> = flags.flags.iter().map(|f| f.name.as_str()).collect();
            format!("flags {{{}}}", flags.join(", "))
        }
        TypeDefKind::Resource => "resource".into(),
        TypeDefKind::Handle(Handle::Own(id)) => format!("own<{}>", r(&Type::Id(*id))),
        TypeDefKind::Handle(Handle::Borrow(id)) => format!("borrow<{}>", r(&Type::Id(*id))),
        TypeDefKind::Option(t) => format!("option<{}>", r(t)),
        TypeDefKind::List(t) => format!("list<{}>", r(t)),
        TypeDefKind::Tuple(tuple) => {
            let types: Vec<String> = tuple.types.iter().map(r).collect();
            format!("tuple<{}>", types.join(", "))
        }
        TypeDefKind::Result(result) => format!(
            "result<{}, {}>",
            result.ok.as_ref().map(r).unwrap_or_else(|| "_".into()),
            result.err.as_ref().map(r).unwrap_or_else(|| "_".into())
        ),
        TypeDefKind::Type(t) => format!("type = {}", r(t)),
        other => format!("{other:?}"),
    }
}

#[test]
fn the_current_contract_only_adds_to_the_releases_of_its_minor_and_gates_every_item() {
    let current = items(&workspace().join("wit"));
    for (path, (_, since)) in &current {
        assert!(
            since.is_some(),
            "wit/filter.wit: {path} has no @since(version = ...): every item says which release added it"
        );
    }
    let released: Vec<&str> = FROZEN
        .iter()
        .map(|(v, _)| *v)
        .filter(|v| v.starts_with("0.2."))
        .collect();
    assert!(!released.is_empty());
    for version in released {
        let old = items(&workspace().join("wit").join(version));
        for (path, (shape, since)) in &old {
            let Some((now, now_since)) = current.get(path) else {
                panic!("wit/filter.wit: {path} of {version} is gone; a 0.2.x release only adds");
            };
            assert_eq!(
                now, shape,
                "wit/filter.wit: {path} changed since {version}; a 0.2.x release only adds"
            );
            assert_eq!(now_since, since, "wit/filter.wit: the @since of {path} changed");
        }
    }
}
