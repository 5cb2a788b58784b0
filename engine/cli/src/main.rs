//! `engine`: a thin command line over the distroduce crates. It parses arguments ([`args`]), sets
//! up logging, runs one subcommand ([`commands`]) and turns the outcome into an exit code in one
//! place ([`exit`]): 0 ok, 1 the run failed (for `verify`: the job's output is wrong), 2 bad input.

mod args;
mod commands;
mod exit;
mod progress;
mod render;
mod scaffold;
mod signals;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    // Commands that only print die quietly on a closed pipe (`engine plugin check x.wasm | head`),
    // as Unix tools do, instead of panicking in `println!`. Not for runs: a network write must
    // never kill the process.
    #[cfg(unix)]
    if cli.cmd.only_prints() {
        // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    // Plugin logs (tracing target `plugin`) need `-v`, whatever their level: a plugin's warnings
    // are its own business, and a hostile plugin must not be able to flood stderr.
    let level = ["warn,plugin=off", "info", "debug", "trace"][cli.verbose.min(3) as usize];
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level)),
        )
        .with_writer(std::io::stderr)
        .init();
    commands::dispatch(cli.cmd).into()
}
