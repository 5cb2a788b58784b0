//! The native backend: the engine calls a plugin's functions as plain Rust functions, with the
//! same MessagePack input and output as the WASM exports, and provides the host services through
//! [`Host`]. Used for the "WASM vs native" benchmark and for fast unit tests of plugins.
//!
//! Every `#[policy]`/`#[state_update]` generates `__distroduce_native_<export>` (a [`NativeFn`])
//! and `__distroduce_describe_<export>`; a plugin crate lists them once with
//! `distroduce_sdk::native_table!(...)`, which defines `native_functions()` and
//! `native_exports()` in that crate.
//!
//! A panic inside a native call is caught (it needs `panic = "unwind"`, the default) and reported
//! through [`Host::fail`] with the panic message and location, as the WASM backend does before it
//! traps. The message is taken by a panic hook that is installed on the first native call; it
//! chains to the previous hook for every panic outside plugin calls.

use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

/// The host services of ABI §5, as the native backend provides them.
pub trait Host {
    fn rng_u64(&mut self) -> u64;
    fn rng_f64(&mut self) -> f64;
    fn now_ns(&mut self) -> i64;
    fn log(&mut self, level: i32, msg: &str);
    /// One `emit` map (ABI §5), MessagePack-encoded.
    fn emit(&mut self, msgpack: &[u8]);
    fn fail(&mut self, msg: &str);
    /// The `emit` of a binary value (ABI §5 `emit_bytes`): by default its map, encoded and given
    /// to [`Host::emit`]. `false` if a length passes MessagePack's 32 bits (nothing was sent).
    fn emit_bytes(&mut self, topic: &str, key: Option<&str>, value: &[u8]) -> bool {
        EMIT_BUF.with_borrow_mut(|buf| {
            buf.clear();
            let encoded = distroduce_abi::emit::encode_bytes(buf, topic.as_bytes(), key.map(str::as_bytes), value);
            if encoded.is_some() {
                self.emit(buf);
            }
            encoded.is_some()
        })
    }
    /// Whether `Ctx::emit_bytes` may hand this emit to the `emit_bytes` import itself (the WASM
    /// host says yes; a host that counts emits counts it here). Asked once per such emit.
    #[doc(hidden)]
    fn claim_direct_emit(&mut self) -> bool {
        false
    }
}

thread_local! {
    /// The map of the default [`Host::emit_bytes`], reused: a load generator emits millions of
    /// messages.
    static EMIT_BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// A plugin function: input and output MessagePack exactly as the WASM export's. On failure
/// `host.fail()` has been called and the returned bytes (empty) must be ignored.
pub type NativeFn = fn(input: &[u8], host: &mut dyn Host) -> Vec<u8>;

/// A generated function body, shared by both backends: input bytes to output bytes (written to
/// the third argument, empty on entry), or the message to `fail` with.
#[doc(hidden)]
pub type Body = fn(&[u8], &mut dyn Host, &mut Vec<u8>) -> Result<(), String>;

/// The initial capacity of a native call's output: enough for typical results, so that encoding
/// them does not grow the vector several times.
const OUTPUT_CAPACITY: usize = 256;

/// One function of a plugin crate, as listed by `native_table!`.
#[derive(Debug, Clone, Copy)]
pub struct NativeExport {
    /// The export name (the same as the WASM export's).
    pub name: &'static str,
    pub call: NativeFn,
    /// Returns the `distroduce_describe_<name>` map (ABI §2).
    pub describe: fn() -> Vec<u8>,
    /// The body on an input already split into parts (the in-guest run loop's entry).
    pub parts: crate::fused::PartsFn,
}

thread_local! {
    /// True while a native plugin call runs on this thread.
    static IN_CALL: Cell<bool> = const { Cell::new(false) };
    /// The message of a panic inside a native plugin call, taken by the hook.
    static PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

static HOOK: Once = Once::new();

/// `panicked at src/lib.rs:3:5: message`, on one line (std's own text breaks the line).
#[doc(hidden)]
pub fn panic_message(info: &panic::PanicHookInfo<'_>) -> String {
    let msg = info.payload_as_str().unwrap_or("(a panic payload that is not a string)");
    match info.location() {
        Some(at) => format!("panicked at {at}: {msg}"),
        None => format!("panicked: {msg}"),
    }
}

fn install_capture_hook() {
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if IN_CALL.with(Cell::get) {
                PANIC.with(|p| *p.borrow_mut() = Some(panic_message(info)));
            } else {
                previous(info);
            }
        }));
    });
}

/// Runs one generated function body natively; what every `__distroduce_native_*` calls.
#[doc(hidden)]
pub fn run_native(input: &[u8], host: &mut dyn Host, body: Body) -> Vec<u8> {
    install_capture_hook();
    let was_in_call = IN_CALL.with(|c| c.replace(true));
    let mut out = Vec::with_capacity(OUTPUT_CAPACITY);
    let result = panic::catch_unwind(AssertUnwindSafe(|| body(input, &mut *host, &mut out)));
    IN_CALL.with(|c| c.set(was_in_call));
    match result {
        Ok(Ok(())) => out,
        Ok(Err(msg)) => {
            host.fail(&msg);
            Vec::new()
        }
        Err(payload) => {
            let msg = PANIC.with(|p| p.borrow_mut().take()).unwrap_or_else(|| {
                let text = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned());
                format!("panicked: {}", text.as_deref().unwrap_or("(no message)"))
            });
            host.fail(&msg);
            Vec::new()
        }
    }
}

/// A self-contained [`Host`] for tests: a SplitMix64 stream, a fixed clock, and everything the
/// plugin logs, emits or fails with kept in order.
#[derive(Debug, Clone, Default)]
pub struct TestHost {
    pub rng_state: u64,
    pub now_ns: i64,
    pub logs: Vec<(i32, String)>,
    /// Each `emit` map, decoded.
    pub emitted: Vec<crate::Value>,
    pub failures: Vec<String>,
}

impl TestHost {
    pub fn new(seed: u64, now_ns: i64) -> Self {
        TestHost { rng_state: seed, now_ns, ..TestHost::default() }
    }
}

impl Host for TestHost {
    fn rng_u64(&mut self) -> u64 {
        self.rng_state = self.rng_state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng_state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn rng_f64(&mut self) -> f64 {
        (self.rng_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
    fn now_ns(&mut self) -> i64 {
        self.now_ns
    }
    fn log(&mut self, level: i32, msg: &str) {
        self.logs.push((level, msg.to_string()));
    }
    fn emit(&mut self, msgpack: &[u8]) {
        let v = rmp_serde::from_slice(msgpack).unwrap_or_else(|e| crate::Value::Str(format!("undecodable emit: {e}")));
        self.emitted.push(v);
    }
    fn fail(&mut self, msg: &str) {
        self.failures.push(msg.to_string());
    }
}

/// Calls `f` with `input` encoded as the host would (named MessagePack) and decodes its output:
/// `Err` carries the first `fail` message. A convenience for plugin unit tests.
pub fn invoke<I, O>(f: NativeFn, input: &I, host: &mut TestHost) -> Result<O, String>
where
    I: serde::Serialize + ?Sized,
    O: serde::de::DeserializeOwned,
{
    let bytes = rmp_serde::to_vec_named(input).map_err(|e| format!("cannot encode the input: {e}"))?;
    let failed_before = host.failures.len();
    let out = f(&bytes, host);
    if let Some(msg) = host.failures.get(failed_before) {
        return Err(msg.clone());
    }
    rmp_serde::from_slice(&out).map_err(|e| format!("cannot decode the output: {e}"))
}
