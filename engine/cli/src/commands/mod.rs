//! One file per subcommand. Each turns its flags into the library's arguments, calls the library,
//! prints, and says how it ended ([`Exit`]).

mod bench;
#[cfg(feature = "emr")]
pub mod emr;
mod import;
mod merge;
mod plugin;
mod run;
mod validate;
mod verify;

use crate::args::{Cmd, ImportCmd, PluginCmd, RunFlags};
use crate::exit::Exit;
use distroduce::{KafkaTarget, RunArgs};

pub fn dispatch(cmd: Cmd) -> Exit {
    match cmd {
        Cmd::Run { flags, write_messages, summary_json, shard } => {
            let mut args = run_args(flags);
            args.write_messages = write_messages;
            args.shard = shard;
            run::run(args, summary_json)
        }
        Cmd::Merge { out, shards } => merge::merge(&shards, &out),
        Cmd::Bench { flags, max_rate, .. } if max_rate.find_max_rate => bench::max_rate(run_args(flags), max_rate),
        Cmd::Bench { flags, axes, repeat, .. } => bench::bench(run_args(flags), axes, repeat),
        Cmd::Plugin(PluginCmd::Check { file, json }) => plugin::check(&file, json),
        Cmd::Plugin(PluginCmd::New { lang, name, dir, sdk }) => {
            plugin::new(crate::scaffold::NewPlugin { lang, name, dir, sdk })
        }
        Cmd::Import(ImportCmd::Cadcad { path, out, runs, timesteps, python, force, no_build, read_timeout }) => {
            let mut req = distroduce::import::ImportRequest::new(path);
            (req.out, req.runs, req.timesteps, req.python, req.force, req.build) =
                (out, runs, timesteps, python, force, !no_build);
            req.read_timeout = std::time::Duration::from_secs(read_timeout);
            import::cadcad(&req)
        }
        Cmd::Validate { scenario, plugins, schema_registry } => {
            validate::validate(&scenario, &plugins, schema_registry.as_deref())
        }
        Cmd::Schema => validate::schema(),
        Cmd::Verify(f) => verify::verify(f),
        #[cfg(feature = "emr")]
        Cmd::Emr { cmd } => emr::run(cmd),
        #[cfg(not(feature = "emr"))]
        Cmd::Emr { .. } => {
            eprintln!("error: this engine was built without EMR support");
            eprintln!("  hint: `bin/engine emr ...` builds it, or `cargo install --path engine/cli --features emr`");
            Exit::BadInput
        }
    }
}

/// `run` and `bench` flags as the library's [`RunArgs`].
fn run_args(f: RunFlags) -> RunArgs {
    let mut args = RunArgs::new(f.scenario);
    if let Some(t) = f.threads {
        args.threads = usize::from(t);
    }
    args.out = f.out;
    args.formats = f.format;
    args.kafka = match (f.brokers, f.kafka.as_str()) {
        (_, "none") => KafkaTarget::None,
        (Some(b), _) => KafkaTarget::Brokers(b),
        _ => KafkaTarget::Auto,
    };
    args.runs = f.runs;
    args.timesteps = f.timesteps;
    args.seed = f.seed;
    args.semantics = f.semantics;
    args.data_plane = f.data_plane;
    args.flush_timeout = f.flush_timeout;
    args.record_window = f.record_window.saturating_mul(1 << 20);
    args.plugins = f.plugins;
    args.metrics_addr = f.metrics_addr;
    args.metrics_allow_remote = f.metrics_allow_remote;
    args.schema_registry = f.schema_registry;
    args
}
