//! The WASM side of the ABI: the `distroduce` imports, the SDK's own exports
//! (`distroduce_abi_version`, `distroduce_alloc`), the call buffers and the panic hook.
//!
//! The input buffer (written by the host after `distroduce_alloc`) and the output buffer (read
//! by the host after a call) are separate, so the host may call several functions on one input.

use crate::fused::{decode_program, Loop, PartsFn, RunLoop};
use crate::native::{Body, Host};
use crate::typed::{TypedFactory, TypedState, TypedUse};
use crate::typed_loop::TypedLoop;
use std::cell::RefCell;
use std::sync::Once;

// The Rust names are prefixed so that they cannot clash with other symbols of the same name
// (libm's `log` in particular); `link_name` gives the import its ABI name.
#[link(wasm_import_module = "distroduce")]
unsafe extern "C" {
    #[link_name = "rng_u64"]
    fn distroduce_rng_u64() -> i64;
    #[link_name = "rng_f64"]
    fn distroduce_rng_f64() -> f64;
    #[link_name = "now_ns"]
    fn distroduce_now_ns() -> i64;
    #[link_name = "log"]
    fn distroduce_log(level: i32, ptr: i32, len: i32);
    #[link_name = "emit"]
    fn distroduce_emit(ptr: i32, len: i32);
    #[link_name = "fail"]
    fn distroduce_fail(ptr: i32, len: i32);
    // Imported only by plugins that call `Ctx::emit_bytes` (see `emit_bytes` below).
    #[link_name = "emit_bytes"]
    fn distroduce_emit_bytes(topic: i32, topic_len: i32, key: i32, key_len: i32, value: i32, value_len: i32);
}

/// The imports, seen through the same trait as the native backend's host.
struct WasmHost;

// SAFETY (all calls below): the imports take plain numbers, or a pointer and length of a live
// slice that the host only reads during the call.
impl Host for WasmHost {
    fn rng_u64(&mut self) -> u64 {
        unsafe { distroduce_rng_u64() as u64 }
    }
    fn rng_f64(&mut self) -> f64 {
        unsafe { distroduce_rng_f64() }
    }
    fn now_ns(&mut self) -> i64 {
        unsafe { distroduce_now_ns() }
    }
    fn log(&mut self, level: i32, msg: &str) {
        unsafe { distroduce_log(level, msg.as_ptr() as i32, msg.len() as i32) }
    }
    fn emit(&mut self, msgpack: &[u8]) {
        unsafe { distroduce_emit(msgpack.as_ptr() as i32, msgpack.len() as i32) }
    }
    fn fail(&mut self, msg: &str) {
        unsafe { distroduce_fail(msg.as_ptr() as i32, msg.len() as i32) }
    }
    fn claim_direct_emit(&mut self) -> bool {
        true
    }
}

thread_local! {
    static INPUT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    static OUTPUT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    /// The in-guest run loop of the current job (ABI.md §10), boxed so its cursor stays put.
    static LOOP: RefCell<Option<Box<dyn RunLoop>>> = const { RefCell::new(None) };
}

/// ABI §1: must return 1.
#[unsafe(no_mangle)]
pub extern "C" fn distroduce_abi_version() -> i32 {
    crate::ABI_VERSION
}

/// ABI §1: a buffer of at least `len` bytes for the next call input. It only ever grows, so a
/// run's calls stop allocating once the largest input has been seen.
#[unsafe(no_mangle)]
pub extern "C" fn distroduce_alloc(len: i32) -> i32 {
    install_panic_hook();
    let Ok(len) = usize::try_from(len) else {
        WasmHost.fail(&format!("distroduce_alloc: negative length {len}"));
        core::arch::wasm32::unreachable();
    };
    INPUT.with_borrow_mut(|buf| {
        if buf.len() < len {
            if buf.try_reserve_exact(len - buf.len()).is_err() {
                WasmHost.fail(&format!("distroduce_alloc: cannot allocate {len} bytes"));
                core::arch::wasm32::unreachable();
            }
            buf.resize(len, 0);
        }
        buf.as_mut_ptr() as i32
    })
}

/// Keeps `out` alive until the next call and packs its address and length (ABI §1).
fn publish(out: Vec<u8>) -> i64 {
    OUTPUT.with_borrow_mut(|o| {
        *o = out;
        pack(o)
    })
}

/// The address and length of `out`, packed as ABI §1 asks.
fn pack(out: &[u8]) -> i64 {
    distroduce_abi::pack(out.as_ptr() as u32, out.len() as u32)
}

/// Runs one generated function body on the input the host wrote at `(ptr, len)`. The result is
/// encoded straight into the output buffer, which is reused from call to call.
pub fn run_wasm(ptr: i32, len: i32, body: Body) -> i64 {
    install_panic_hook();
    let result = INPUT.with_borrow(|buf| {
        // Accept any sub-range of the buffer handed out by `distroduce_alloc`, and nothing else:
        // that keeps the slice below within memory Rust knows is initialised.
        let (start, len) = (ptr as u32 as usize, len as u32 as usize);
        let base = buf.as_ptr() as usize;
        let inside = start >= base && start.checked_add(len).is_some_and(|end| end <= base + buf.len());
        if !inside {
            return Err(format!(
                "input ({start:#x}, {len}) is not inside the distroduce_alloc buffer ({base:#x}, {})",
                buf.len()
            ));
        }
        OUTPUT.with_borrow_mut(|out| {
            out.clear();
            body(&buf[start - base..start - base + len], &mut WasmHost, out)?;
            Ok(pack(out))
        })
    });
    match result {
        Ok(packed) => packed,
        Err(msg) => {
            WasmHost.fail(&msg);
            0
        }
    }
}

/// The parts of an `emit` of bytes as they are, without the MessagePack map (ABI §5
/// `emit_bytes`): a load generator calls this millions of times. Only `Ctx::emit_bytes` calls it,
/// so only plugins that use it import `emit_bytes` (the linker drops unused imports), and the
/// others still load on engines without it. Lengths of wasm32 memory always fit; a key length of
/// -1 says there is no key.
pub(crate) fn emit_bytes(topic: &str, key: Option<&str>, value: &[u8]) {
    let (key_ptr, key_len) = key.map_or((0, -1), |k| (k.as_ptr() as i32, k.len() as i32));
    // SAFETY: three live slices that the host only reads during the call.
    unsafe {
        distroduce_emit_bytes(
            topic.as_ptr() as i32,
            topic.len() as i32,
            key_ptr,
            key_len,
            value.as_ptr() as i32,
            value.len() as i32,
        )
    }
}

/// What every `distroduce_describe_*` export returns.
pub fn wasm_describe(bytes: Vec<u8>) -> i64 {
    publish(bytes)
}

static HOOK: Once = Once::new();

/// Forwards the panic message and location to `fail` before the abort traps, so that the engine
/// reports the guest's own words instead of "unreachable executed".
fn install_panic_hook() {
    HOOK.call_once(|| {
        std::panic::set_hook(Box::new(|info| WasmHost.fail(&crate::native::panic_message(info))));
    });
}

/// ABI §10 `distroduce_fused_load`: decode the program the host wrote at `(ptr, len)` (inside the
/// `distroduce_alloc` buffer) and bind it to this plugin's functions.
pub fn fused_load(ptr: i32, len: i32, table: &[(&str, PartsFn)]) -> i32 {
    load_with(ptr, len, |program| Loop::load(program, table).map(|l| Box::new(l) as Box<dyn RunLoop>))
}

/// `distroduce_fused_load` of a plugin with a typed state (ABI.md §11): the typed loop if every
/// function of the program has a typed form and the state struct fits the scenario, else (with
/// the reason logged at debug level) the MessagePack loop of [`fused_load`].
pub fn fused_load_typed<S: TypedState>(
    ptr: i32,
    len: i32,
    table: &[(&str, PartsFn)],
    typed: &[(&str, TypedFactory<S>)],
) -> i32 {
    load_with(ptr, len, |program| {
        let p = decode_program(program)?;
        match TypedLoop::<S>::build(&p, typed) {
            Ok(l) => Ok(Box::new(l) as Box<dyn RunLoop>),
            Err(why) => {
                WasmHost.log(1, &format!("typed loop not used, running the MessagePack loop: {why}"));
                Loop::build(p, table).map(|l| Box::new(l) as Box<dyn RunLoop>)
            }
        }
    })
}

/// `distroduce_fused_load` of a plugin with a typed state and a direct table (ABI.md §11, what
/// `native_table!(state = S; ...)` generates): as [`fused_load_typed`], the typed loop calling
/// the functions through `make`'s `enum` (`make(i, params, args)` makes a use of `names[i]`).
pub fn fused_load_direct<S: TypedState, D: TypedUse<S> + 'static>(
    ptr: i32,
    len: i32,
    table: &[(&str, PartsFn)],
    names: &[&str],
    make: impl Fn(usize, &[u8], Option<&[u8]>) -> Result<D, String>,
) -> i32 {
    load_with(ptr, len, |program| {
        let p = decode_program(program)?;
        match TypedLoop::<S, D>::build_direct(&p, names, make) {
            Ok(l) => Ok(Box::new(l) as Box<dyn RunLoop>),
            Err(why) => {
                WasmHost.log(1, &format!("typed loop not used, running the MessagePack loop: {why}"));
                Loop::build(p, table).map(|l| Box::new(l) as Box<dyn RunLoop>)
            }
        }
    })
}

fn load_with(ptr: i32, len: i32, load: impl FnOnce(&[u8]) -> Result<Box<dyn RunLoop>, String>) -> i32 {
    use distroduce_abi::fused::status;
    install_panic_hook();
    let loaded = INPUT.with_borrow(|buf| {
        let (start, len) = (ptr as u32 as usize, len as u32 as usize);
        let base = buf.as_ptr() as usize;
        if start < base || start.checked_add(len).is_none_or(|end| end > base + buf.len()) {
            return Err("the program is not inside the distroduce_alloc buffer".to_string());
        }
        load(&buf[start - base..start - base + len])
    });
    match loaded {
        Ok(l) => {
            LOOP.with_borrow_mut(|slot| *slot = Some(l));
            status::OK as i32
        }
        Err(msg) => {
            WasmHost.fail(&msg);
            status::BAD_PROGRAM as i32
        }
    }
}

/// ABI §10 `distroduce_fused_run`: one timestep of the loaded program.
pub fn fused_run(timestep: i64, time_ns: i64) -> i32 {
    with_loop(|l| {
        l.clear_output();
        l.step(timestep as u64, time_ns, &mut WasmHost)
    })
}

/// ABI §10 `distroduce_fused_run_many`: `n` timesteps from `t0` in one call.
pub fn fused_run_many(t0: i64, n: i32, start_ns: i64, step_ns: i64) -> i32 {
    with_loop(|l| l.run_many(t0 as u64, n.max(0) as u32, (start_ns, step_ns), &mut WasmHost))
}

fn with_loop(run: impl FnOnce(&mut dyn RunLoop) -> u32) -> i32 {
    use distroduce_abi::fused::status;
    LOOP.with_borrow_mut(|slot| match slot {
        Some(l) => run(l.as_mut()) as i32,
        None => {
            WasmHost.fail("the in-guest loop was run before a successful distroduce_fused_load");
            status::BAD_PROGRAM as i32
        }
    })
}

/// ABI §10 `distroduce_fused_cursor`: the cursor's address, 0 before a program is loaded.
pub fn fused_cursor() -> i32 {
    LOOP.with_borrow(|slot| slot.as_ref().map_or(0, |l| l.cursor() as *const _ as usize as i32))
}
