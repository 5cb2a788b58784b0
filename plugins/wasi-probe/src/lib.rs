//! A `wasm32-wasip1` plugin that reports, as signals, what the standard library can see through
//! WASI, so that the engine's tests can check that WASI is locked down (no environment, no
//! files) and deterministic (clock and random bytes follow the scenario, not the machine).

use distroduce_sdk::policy;
use serde::Serialize;
use std::io::Write;

/// Everything `probe` observed; the engine's tests assert on each field.
#[derive(Debug, Serialize)]
pub struct Probe {
    /// `std::env::vars().count()`; 0 when no environment is passed.
    pub env_count: i64,
    /// `std::env::args().count()`; 0 when no arguments are passed.
    pub args_count: i64,
    /// `SystemTime::now()` in ns since the Unix epoch; the virtual clock under the engine.
    pub time_ns: i64,
    /// `"ok: N entries"` or `"err: ..."` from `std::fs::read_dir("/")`.
    pub read_dir: String,
    /// `"ok"` or `"err: ..."` from `std::fs::File::open("/etc/passwd")`.
    pub open_passwd: String,
    /// 8 bytes from WASI `random_get`, as 16 hex digits.
    pub random_hex: String,
    /// Whether the line to stderr was written without error.
    pub stderr_ok: bool,
}

/// WASI's own import, declared directly so that the bytes are exactly what the host gives
/// (std only uses it to seed `HashMap`s, and never exposes the bytes).
#[cfg(target_os = "wasi")]
mod wasi {
    #[link(wasm_import_module = "wasi_snapshot_preview1")]
    unsafe extern "C" {
        #[link_name = "random_get"]
        fn wasi_random_get(buf: *mut u8, len: usize) -> u16;
    }

    pub fn random_bytes(buf: &mut [u8]) -> Result<(), String> {
        // SAFETY: the host writes exactly `buf.len()` bytes into the live, writable `buf`.
        match unsafe { wasi_random_get(buf.as_mut_ptr(), buf.len()) } {
            0 => Ok(()),
            errno => Err(format!("random_get failed with errno {errno}")),
        }
    }
}

/// Outside WASI (native unit tests) there is no WASI random source to probe.
#[cfg(not(target_os = "wasi"))]
mod wasi {
    pub fn random_bytes(_: &mut [u8]) -> Result<(), String> {
        Err("not built for WASI".to_string())
    }
}

fn outcome<T>(r: std::io::Result<T>, ok: impl FnOnce(T) -> String) -> String {
    match r {
        Ok(v) => ok(v),
        Err(e) => format!("err: {e}"),
    }
}

#[policy]
pub fn probe() -> Result<Probe, String> {
    let time_ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or_else(|e| -i64::try_from(e.duration().as_nanos()).unwrap_or(i64::MAX));
    let mut bytes = [0u8; 8];
    wasi::random_bytes(&mut bytes)?;
    let stderr_ok = writeln!(std::io::stderr(), "wasi-probe: hello from the guest's stderr").is_ok();
    Ok(Probe {
        env_count: std::env::vars_os().count() as i64,
        args_count: std::env::args_os().count() as i64,
        time_ns,
        read_dir: outcome(std::fs::read_dir("/"), |d| format!("ok: {} entries", d.count())),
        open_passwd: outcome(std::fs::File::open("/etc/passwd"), |_| "ok".to_string()),
        random_hex: bytes.iter().map(|b| format!("{b:02x}")).collect(),
        stderr_ok,
    })
}

distroduce_sdk::native_table!(probe);
