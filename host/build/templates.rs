// The projects `weir new NAME --lang LANG` writes, embedded in the binary: for each
// language, its template (`plugin-sdk/<language>/template/`, `{{name}}` replaced) and
// the SDK the template builds with, vendored into the project's `weir-sdk/`, so that a
// new project builds with one command anywhere, without this repository.

/// The languages, each with where its SDK comes from: (folder under plugin-sdk/ whose
/// files are vendored, the path they take under weir-sdk/).
const LANGUAGES: [(&str, &[(&str, &str)]); 10] = [
    // The Rust SDK and the contract crate it builds on, with standalone manifests (in
    // the template) instead of the workspace's.
    // Laid out as in this repository (plugin-sdk/rust, plugin-sdk/contract, wit), so the
    // SDK finds the WIT where it looks for it (`../../wit`).
    (
        "rust",
        &[
            ("rust", "plugin-sdk/rust"),
            ("contract", "plugin-sdk/contract"),
            ("../wit/filter.wit", "wit"),
        ],
    ),
    ("python", &[("python", "")]),
    ("javascript", &[("javascript", "")]),
    ("typescript", &[("javascript", "")]),
    ("go", &[("go", "")]),
    ("zig", &[("zig", "")]),
    ("c", &[("c", "")]),
    ("cpp", &[("cpp", ""), ("c", "")]),
    ("assemblyscript", &[("assemblyscript", "")]),
    ("wat", &[]),
];

/// What is never vendored: the template itself, tests, installed packages, the
/// repository's own scripts and manifests that need the workspace.
const LEFT_OUT: [&str; 11] = [
    "template",
    "test",
    "tests",
    "node_modules",
    ".gitignore",
    "__pycache__",
    "package-lock.json",
    "Cargo.toml",
    "target",
    "build",
    "dist",
];

/// Every file under `dir`, in name order; with `vendoring`, leaving out [`LEFT_OUT`].
fn files_under(dir: &Path, vendoring: bool, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|entry| entry.file_name());
    for entry in entries {
        let name = entry.file_name();
        if vendoring && LEFT_OUT.iter().any(|left| name == *left) {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, vendoring, out);
        } else {
            out.push(path);
        }
    }
}

/// Writes `templates.rs` in OUT_DIR: `LANGUAGES: &[(language, &[ProjectFile])]`.
fn write_templates(workspace: &Path, out_dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let sdks = workspace.join("plugin-sdk");
    let mut table = String::from("/// Every language's project files.\n");
    table.push_str("pub const LANGUAGES: &[(&str, &[ProjectFile])] = &[\n");
    for (language, sources) in LANGUAGES {
        table.push_str(&format!("    ({language:?}, &[\n"));
        let mut entry = |path: &Path, target: String, template: bool| {
            let executable = std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0);
            table.push_str(&format!(
                "        ProjectFile {{ path: {target:?}, bytes: include_bytes!({:?}), template: {template}, executable: {executable} }},\n",
                path.display().to_string()
            ));
            println!("cargo:rerun-if-changed={}", path.display());
        };
        let template = sdks.join(language).join("template");
        let mut files = Vec::new();
        files_under(&template, false, &mut files);
        for file in &files {
            let relative = file.strip_prefix(&template).unwrap().display().to_string();
            entry(file, relative, true);
        }
        for (folder, under) in sources {
            let root = sdks.join(folder);
            let mut files = Vec::new();
            if root.is_dir() {
                files_under(&root, true, &mut files);
            } else if root.is_file() {
                files.push(root.clone());
            }
            for file in &files {
                let relative = match file.strip_prefix(&root) {
                    Ok(relative) if !relative.as_os_str().is_empty() => relative.display().to_string(),
                    _ => file.file_name().unwrap().to_string_lossy().into_owned(),
                };
                let target = if under.is_empty() {
                    format!("weir-sdk/{relative}")
                } else {
                    format!("weir-sdk/{under}/{relative}")
                };
                entry(file, target, false);
            }
        }
        table.push_str("    ]),\n");
    }
    table.push_str("];\n");
    std::fs::write(out_dir.join("templates.rs"), table).expect("writing the templates table");
    println!("cargo:rerun-if-changed={}", sdks.display());
}
