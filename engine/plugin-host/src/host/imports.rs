//! The `distroduce` imports of a core-module plugin (ABI.md §5) and what they share with the
//! in-guest loop: the random stream and the timestep a batch's cursor names.

use super::{poll_oneoff, FusedSync, StoreData, LOG_LINE_MAX};
use distroduce_abi::{export, import, IMPORT_MODULE};
use distroduce_model::rng::{derive, SplitMix64};
use wasmtime::{Caller, Linker};

/// Reseed the random stream if the in-guest loop has moved on to another call since it was last
/// seeded: the stream of a call is the one the host loop would give it (ABI.md §5), drawn lazily.
fn sync_fused_rng(c: &mut Caller<'_, StoreData>) {
    use distroduce_abi::fused::cursor;
    let Some(f) = c.data().fused else { return };
    let data = f.memory.data(&*c);
    let Some(cur) = data.get(f.cursor..f.cursor + cursor::LEN) else { return };
    let u32_at = |o: usize| u32::from_le_bytes(cur[o..o + 4].try_into().expect("4 bytes"));
    let t = u64::from_le_bytes(cur[cursor::TIMESTEP..cursor::TIMESTEP + 8].try_into().expect("8 bytes"));
    let at = (t, u32_at(cursor::SUBSTEP), u32_at(cursor::POS));
    if f.seeded != Some(at) {
        let seed = derive(&[f.job_seed, at.0, at.1 as u64, at.2 as u64]);
        let d = c.data_mut();
        d.host.rng = SplitMix64(seed);
        if let Some(f) = &mut d.fused {
            f.seeded = Some(at);
        }
    }
}

/// In a call running many timesteps, move `now_ns` and the emit and log limits (counted per
/// timestep in the in-guest loop) to the timestep the cursor names, if it moved on.
fn sync_fused_timestep(c: &mut Caller<'_, StoreData>) {
    let Some(FusedSync { memory, batch: Some(_), .. }) = c.data().fused else { return };
    let (data, d) = memory.data_and_store_mut(c);
    timestep_from_cursor(data, d);
}

/// [`sync_fused_timestep`] with the loop's memory already at hand (`data`): `emit`, called once
/// per message, reads the cursor and the payload through one lookup of the memory.
fn timestep_from_cursor(data: &[u8], d: &mut StoreData) {
    use distroduce_abi::fused::{clock_at, cursor};
    let Some(FusedSync { cursor: at, batch: Some((seen, clock)), .. }) = d.fused else { return };
    let Some(b) = data.get(at + cursor::TIMESTEP..at + cursor::TIMESTEP + 8) else { return };
    let t = u64::from_le_bytes(b.try_into().expect("8 bytes"));
    if t != seen {
        d.host.now_ns = clock_at(clock.0, clock.1, t);
        d.host.emitted.timestep = t;
        d.host.emit_bytes = 0;
        d.host.log_bytes = 0;
        if let Some(f) = &mut d.fused {
            f.batch = Some((t, clock));
        }
    }
}

/// The memory an `emit` or `emit_bytes` call reads the guest's bytes from. In a batch of the
/// in-guest loop the caller is the loop's own instance, whose memory also holds the cursor: one
/// lookup of it serves both reads.
fn emit_memory(c: &mut Caller<'_, StoreData>) -> Option<wasmtime::Memory> {
    match c.data() {
        StoreData { fused: Some(FusedSync { memory, batch: Some(_), .. }), .. } => Some(*memory),
        StoreData { calling_memory: Some(m), .. } => Some(*m),
        _ => c.get_export(export::MEMORY).and_then(|e| e.into_memory()),
    }
}

/// Read `len` bytes at `ptr` of the calling instance's memory.
fn guest_bytes(caller: &mut Caller<'_, StoreData>, ptr: i32, len: i32) -> Option<Vec<u8>> {
    let mem = caller.get_export(export::MEMORY)?.into_memory()?;
    let data = mem.data(&caller);
    data.get(ptr as u32 as usize..(ptr as u32 as usize).checked_add(len as u32 as usize)?).map(<[u8]>::to_vec)
}

/// Register the `distroduce` imports and WASI p1.
pub fn add_imports(linker: &mut Linker<StoreData>) -> wasmtime::Result<()> {
    linker.func_wrap(IMPORT_MODULE, import::RNG_U64, |mut c: Caller<'_, StoreData>| {
        sync_fused_rng(&mut c);
        c.data_mut().host.rng.next_u64() as i64
    })?;
    linker.func_wrap(IMPORT_MODULE, import::RNG_F64, |mut c: Caller<'_, StoreData>| {
        sync_fused_rng(&mut c);
        c.data_mut().host.rng.next_f64()
    })?;
    linker.func_wrap(IMPORT_MODULE, import::NOW_NS, |mut c: Caller<'_, StoreData>| {
        sync_fused_timestep(&mut c);
        c.data().host.now_ns
    })?;
    linker.func_wrap(
        IMPORT_MODULE,
        import::LOG,
        |mut c: Caller<'_, StoreData>, level: i32, ptr: i32, len: i32| -> wasmtime::Result<()> {
            sync_fused_timestep(&mut c);
            // Only the part of the line that is kept is copied out of the guest.
            let (start, full) = (ptr as u32 as usize, len as u32 as usize);
            let kept = c.get_export(export::MEMORY).and_then(|e| e.into_memory()).and_then(|m| {
                let data = m.data(&c);
                data.get(start..start.checked_add(full)?)?;
                Some(data[start..start + full.min(LOG_LINE_MAX + 4)].to_vec())
            });
            let host = &mut c.data_mut().host;
            match kept {
                Some(msg) => host.log_limited(level, &String::from_utf8_lossy(&msg), full)?,
                None => host.log_limited(level, "<log: pointer out of bounds>", 0)?,
            }
            Ok(())
        },
    )?;
    linker.func_wrap(
        IMPORT_MODULE,
        import::EMIT,
        |mut c: Caller<'_, StoreData>, ptr: i32, len: i32| -> wasmtime::Result<()> {
            let Some(mem) = emit_memory(&mut c) else {
                sync_fused_timestep(&mut c);
                c.data_mut().host.fail("emit: the plugin exports no memory");
                return Ok(());
            };
            let (data, store) = mem.data_and_store_mut(&mut c);
            timestep_from_cursor(data, store);
            let range = ptr as u32 as usize..(ptr as u32 as usize).saturating_add(len as u32 as usize);
            match data.get(range) {
                Some(b) => store.host.emit(b)?,
                None => store.host.fail("emit: message pointer out of bounds"),
            }
            Ok(())
        },
    )?;
    linker.func_wrap(
        IMPORT_MODULE,
        import::EMIT_BYTES,
        |mut c: Caller<'_, StoreData>,
         topic: i32,
         topic_len: i32,
         key: i32,
         key_len: i32,
         value: i32,
         value_len: i32|
         -> wasmtime::Result<()> {
            let Some(mem) = emit_memory(&mut c) else {
                sync_fused_timestep(&mut c);
                c.data_mut().host.fail("emit_bytes: the plugin exports no memory");
                return Ok(());
            };
            let (data, store) = mem.data_and_store_mut(&mut c);
            timestep_from_cursor(data, store);
            let at = |ptr: i32, len: i32| {
                data.get(ptr as u32 as usize..(ptr as u32 as usize).saturating_add(len as u32 as usize))
            };
            let key = if key_len == -1 { Some(None) } else { at(key, key_len).map(Some) };
            match (at(topic, topic_len), key, at(value, value_len)) {
                (Some(t), Some(k), Some(v)) => store.host.emit_bytes(t, k, v)?,
                _ => store.host.fail("emit_bytes: pointer out of bounds"),
            }
            Ok(())
        },
    )?;
    linker.func_wrap(IMPORT_MODULE, import::FAIL, |mut c: Caller<'_, StoreData>, ptr: i32, len: i32| {
        let msg = guest_bytes(&mut c, ptr, len).unwrap_or_else(|| b"<fail: pointer out of bounds>".to_vec());
        c.data_mut().host.fail(&String::from_utf8_lossy(&msg));
    })?;
    wasmtime_wasi::p1::add_to_linker_sync(linker, |d: &mut StoreData| &mut d.wasi)?;
    linker.allow_shadowing(true);
    linker.func_wrap("wasi_snapshot_preview1", "poll_oneoff", poll_oneoff)?;
    linker.allow_shadowing(false);
    Ok(())
}
