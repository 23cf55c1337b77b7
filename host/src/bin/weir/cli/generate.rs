//! `weir completions SHELL` and `weir man`: shell completions and man pages generated
//! from this command line's own definition, so they never drift from it. The
//! distribution build (host/deploy/dist.sh) writes them where packages install them.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory};

/// Arguments of `weir completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

/// Arguments of `weir man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write `weir.1` and a page per command (`weir-run.1`, ...) into this folder,
    /// instead of `weir.1` alone on stdout.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

/// Prints the completion script of a shell.
pub fn completions(args: CompletionsArgs) -> ExitCode {
    let mut command = without_hidden_commands(super::Cli::command());
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "weir", &mut script);
    write_stdout(&script)
}

/// Prints the man page, or writes every page into a folder.
pub fn man(args: ManArgs) -> ExitCode {
    let command = super::Cli::command();
    match args.dir {
        Some(dir) => {
            let written = std::fs::create_dir_all(&dir).and_then(|()| clap_mangen::generate_to(command, &dir));
            match written {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    eprintln!("error: cannot write the man pages into {}: {error}", dir.display());
                    ExitCode::FAILURE
                }
            }
        }
        None => {
            let mut page = Vec::new();
            match clap_mangen::Man::new(command).render(&mut page) {
                Ok(()) => write_stdout(&page),
                Err(error) => {
                    eprintln!("error: cannot render the man page: {error}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// The command line without its hidden commands: clap_complete's scripts would offer
/// them (`bench-relay`, `completions`, `man`), unlike the help and the man pages.
fn without_hidden_commands(full: clap::Command) -> clap::Command {
    clap::Command::new("weir")
        .version(super::version::version())
        .args(full.get_arguments().cloned())
        .subcommands(full.get_subcommands().filter(|command| !command.is_hide_set()).cloned())
}

/// Writes bytes to stdout; a reader that went away (`| head`) ends it quietly.
fn write_stdout(bytes: &[u8]) -> ExitCode {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: cannot write to stdout: {error}");
            ExitCode::FAILURE
        }
    }
}
