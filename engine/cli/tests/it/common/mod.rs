//! Shared helpers for the engine's integration tests: scenario files in temp dirs, prebuilt plugin
//! paths (scripts/build-plugins builds them; scripts/test runs it first) and running the CLI.
#![allow(dead_code)]

pub mod kafka;

use std::path::{Path, PathBuf};
use std::process::Output;

pub fn repo() -> PathBuf {
    // engine/cli -> the repository root.
    Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2).unwrap().to_path_buf()
}

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// A Rust plugin of plugins/, built for wasm into target/wasm as scripts/build-plugins does. The
/// first call of a test process runs the (incremental) build, so a plugin is never older than
/// the SDK it was built from; after scripts/test's own build that takes a second or two.
pub fn plugin(name: &str) -> String {
    let target = if name == "wasi_probe_plugin" { "wasm32-wasip1" } else { "wasm32-unknown-unknown" };
    let p = repo().join("target/wasm").join(target).join("release").join(format!("{name}.wasm"));
    build_rust_plugins();
    assert!(p.is_file(), "{} is missing: run scripts/build-plugins (scripts/test does)", p.display());
    p.display().to_string()
}

/// `scripts/build-plugins` without the other languages, once per test process.
fn build_rust_plugins() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let status = std::process::Command::new(repo().join("scripts/build-plugins"))
            .env("DISTRODUCE_SKIP_LANGS", "1")
            .stdout(std::process::Stdio::null())
            .status()
            .expect("scripts/build-plugins runs");
        assert!(status.success(), "scripts/build-plugins failed");
    });
}

/// Write `yaml` as `<dir>/scenario.yaml` and return its path.
pub fn scenario(dir: &Path, yaml: &str) -> PathBuf {
    let p = dir.join("scenario.yaml");
    std::fs::write(&p, yaml).unwrap();
    p
}

/// Run the `engine` binary.
pub fn engine(args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_engine")).args(args).output().expect("engine binary runs")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The chat model ported to another language (`go`, `as`, `c`, `py`), built by
/// scripts/build-plugins into target/wasm/lang.
pub fn lang_plugin(lang: &str) -> String {
    let p = repo().join("target/wasm/lang").join(format!("chat_{lang}.wasm"));
    assert!(p.is_file(), "{} is missing: run scripts/build-plugins first (scripts/test does)", p.display());
    p.display().to_string()
}

/// Wait for a child started with `process_group(0)`; past `limit`, kill its whole group (JVMs and
/// the interpreters they start) and return None.
pub fn wait_or_kill_group(
    child: &mut std::process::Child,
    limit: std::time::Duration,
) -> Option<std::process::ExitStatus> {
    let started = std::time::Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return Some(s);
        }
        if started.elapsed() > limit {
            // `--` before the negative id: procps' kill reads `-KILL -18801` as `kill(-1, SIGKILL)`
            // (every process on the machine), seen killing CI and the shell that ran it.
            let group = format!("-{}", child.id());
            let _ = std::process::Command::new("kill").args(["-s", "KILL", "--", &group]).status();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// What [`engine_measured`] saw: the output, the wall time and the child's peak resident set.
pub struct Measured {
    pub output: Output,
    pub elapsed: std::time::Duration,
    /// The engine process's peak RSS in bytes: its `VmHWM`, sampled every 5 ms while it runs.
    /// (`wait4`'s `ru_maxrss` would be simpler, but Linux starts it at the parent's RSS when the
    /// child execs, so with many tests running it measures the test process.)
    pub peak_rss: u64,
}

/// `VmHWM` of process `pid`, in bytes, while it runs.
fn vm_hwm(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Run the `engine` binary like [`engine`], and measure its peak RSS and wall time. Stdout and stderr are drained on threads so that a child
/// writing a lot cannot block on a full pipe.
#[cfg(unix)]
#[allow(clippy::zombie_processes)] // reaped by wait4 below
pub fn engine_measured(args: &[&str]) -> Measured {
    use std::io::Read;
    use std::os::unix::process::ExitStatusExt;
    use std::process::Stdio;
    let started = std::time::Instant::now();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_engine"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("engine binary runs");
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            r.read_to_end(&mut v).expect("read the child's output");
            v
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let (pid_u32, done) = (child.id(), std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false)));
    let sampler = {
        let done = done.clone();
        std::thread::spawn(move || {
            let mut peak = 0;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                peak = vm_hwm(pid_u32).unwrap_or(0).max(peak);
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            peak
        })
    };
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value, and wait4 writes it for our own child, which
    // std has not reaped (we never call wait on `child`).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // Wait for the exit without reaping, so that the sampler never reads a reused pid.
    // SAFETY: a zeroed siginfo_t is valid; waitid writes it.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::waitid(libc::P_PID, pid_u32, &mut info, libc::WEXITED | libc::WNOWAIT) };
    assert_eq!(r, 0, "waitid: {}", std::io::Error::last_os_error());
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let peak_rss = sampler.join().unwrap();
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as libc::pid_t, "wait4: {}", std::io::Error::last_os_error());
    let elapsed = started.elapsed();
    let output = Output {
        status: std::process::ExitStatus::from_raw(status),
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    };
    assert!(peak_rss > 0, "no VmHWM sample of the engine process");
    Measured { output, elapsed, peak_rss }
}
