//! What a core module may import: WASI preview 1 (closed), `weir.log`,
//! `weir.attachment`, the state store (`weir.state_*`, from contract 0.2), and
//! AssemblyScript's `env.abort`. Each reads and writes the guest's memory through
//! checked slices: a pointer outside the memory is a trap naming the import.

use wasmtime::{Caller, Linker, Memory};
use weir_contract::state::StateError;
use weir_contract::wire::state_codes;

use super::ModuleState;
use crate::plugin::sandbox::{self, LogLevel};
use crate::plugin::state::now_ms;

/// Defines every import a module may use.
pub(crate) fn add_to_linker(linker: &mut Linker<ModuleState>) -> wasmtime::Result<()> {
    wasmtime_wasi::p1::add_to_linker_async(linker, |state| &mut state.wasi)?;
    quiet_sockets(linker)?;
    linker.func_wrap("weir", "log", log)?;
    linker.func_wrap("weir", "attachment", attachment)?;
    linker.func_wrap("weir", "state_get", state_get)?;
    linker.func_wrap("weir", "state_set", state_set)?;
    linker.func_wrap("weir", "state_compare_and_set", state_compare_and_set)?;
    linker.func_wrap("weir", "state_increment", state_increment)?;
    linker.func_wrap("weir", "state_delete", state_delete)?;
    linker.func_wrap("env", "abort", abort)?;
    Ok(())
}

/// WASI's `notsock` errno: the descriptor is not a socket (no module has one).
const ERRNO_NOTSOCK: i32 = 57;

/// Preview 1's socket calls, answered `notsock` without a word. wasmtime-wasi's own
/// versions log a warning at every call: a module calling `sock_accept` in a loop
/// would write hundreds of megabytes of log. A filter has no sockets, so the answer
/// is the same.
fn quiet_sockets(linker: &mut Linker<ModuleState>) -> wasmtime::Result<()> {
    const WASI: &str = "wasi_snapshot_preview1";
    linker.allow_shadowing(true);
    linker.func_wrap(WASI, "sock_accept", |_: i32, _: i32, _: i32| ERRNO_NOTSOCK)?;
    linker.func_wrap(WASI, "sock_recv", |_: i32, _: i32, _: i32, _: i32, _: i32, _: i32| {
        ERRNO_NOTSOCK
    })?;
    linker.func_wrap(WASI, "sock_send", |_: i32, _: i32, _: i32, _: i32, _: i32| {
        ERRNO_NOTSOCK
    })?;
    linker.func_wrap(WASI, "sock_shutdown", |_: i32, _: i32| ERRNO_NOTSOCK)?;
    linker.allow_shadowing(false);
    Ok(())
}

fn exported_memory(caller: &mut Caller<'_, ModuleState>, what: &str) -> wasmtime::Result<Memory> {
    match caller.get_export("memory") {
        Some(wasmtime::Extern::Memory(memory)) => Ok(memory),
        _ => wasmtime::bail!("{what}: the module exports no memory"),
    }
}

/// `len` bytes of the guest's memory at `ptr`, copied out, or an error naming the import.
fn read(caller: &mut Caller<'_, ModuleState>, ptr: i32, len: i32, what: &str) -> wasmtime::Result<Vec<u8>> {
    let memory = exported_memory(caller, what)?;
    let (start, len) = (ptr as u32 as usize, len as u32 as usize);
    match memory.data(&*caller).get(start..start + len) {
        Some(bytes) => Ok(bytes.to_vec()),
        None => wasmtime::bail!("{what}: {len} bytes at {start} are outside the memory"),
    }
}

/// Copies up to `buf_len` bytes of `data` to the guest's buffer at `buf_ptr`.
fn write(
    caller: &mut Caller<'_, ModuleState>,
    buf_ptr: i32,
    buf_len: i32,
    data: &[u8],
    what: &str,
) -> wasmtime::Result<()> {
    let copied = data.len().min(buf_len.max(0) as usize);
    let memory = exported_memory(caller, what)?;
    let start = buf_ptr as u32 as usize;
    let Some(buffer) = memory.data_mut(&mut *caller).get_mut(start..start + copied) else {
        wasmtime::bail!("{what}: the buffer at {start} of {copied} bytes is outside the memory");
    };
    buffer.copy_from_slice(&data[..copied]);
    Ok(())
}

/// A state key: UTF-8 text.
fn key(caller: &mut Caller<'_, ModuleState>, ptr: i32, len: i32, what: &str) -> wasmtime::Result<Option<String>> {
    Ok(String::from_utf8(read(caller, ptr, len, what)?).ok())
}

/// A TTL in milliseconds; negative means none.
fn ttl(ms: i64) -> Option<u64> {
    u64::try_from(ms).ok()
}

fn code(error: &StateError) -> i64 {
    match error {
        StateError::TooLarge(_) => state_codes::TOO_LARGE,
        StateError::NotANumber(_) => state_codes::NOT_A_NUMBER,
        StateError::OutOfRange(_) => state_codes::OUT_OF_RANGE,
    }
}

fn log(mut caller: Caller<'_, ModuleState>, level: i32, ptr: i32, len: i32) -> wasmtime::Result<()> {
    let len = (len as u32).min(sandbox::MAX_LOG_MESSAGE as u32 + 4);
    let bytes = read(&mut caller, ptr, len as i32, "weir.log")?;
    let message = String::from_utf8_lossy(&bytes);
    let level = match level {
        ..=0 => LogLevel::Trace,
        1 => LogLevel::Debug,
        2 => LogLevel::Info,
        3 => LogLevel::Warn,
        _ => LogLevel::Error,
    };
    caller.data_mut().sandbox.log(level, &message);
    Ok(())
}

fn attachment(
    mut caller: Caller<'_, ModuleState>,
    name_ptr: i32,
    name_len: i32,
    buf_ptr: i32,
    buf_len: i32,
) -> wasmtime::Result<i64> {
    let name = read(&mut caller, name_ptr, name_len, "weir.attachment")?;
    let Some(event) = caller.data().event.clone() else {
        return Ok(-1);
    };
    let Some(attachment) = std::str::from_utf8(&name).ok().and_then(|name| event.attachment(name)) else {
        return Ok(-1);
    };
    write(&mut caller, buf_ptr, buf_len, &attachment.data, "weir.attachment")?;
    Ok(attachment.data.len() as i64)
}

/// `(key, buf) -> size`: copies up to `buf_len` bytes of the value; the value's size,
/// or `-1` when absent or expired.
fn state_get(
    mut caller: Caller<'_, ModuleState>,
    key_ptr: i32,
    key_len: i32,
    buf_ptr: i32,
    buf_len: i32,
) -> wasmtime::Result<i64> {
    let Some(key) = key(&mut caller, key_ptr, key_len, "weir.state_get")? else {
        return Ok(state_codes::BAD_KEY);
    };
    let value = caller.data().state.with(|store| store.get(&key, now_ms()));
    let Some(value) = value else {
        return Ok(state_codes::ABSENT);
    };
    write(&mut caller, buf_ptr, buf_len, &value, "weir.state_get")?;
    Ok(value.len() as i64)
}

/// `(key, value, ttl_ms) -> 0`, or a negative refusal.
fn state_set(
    mut caller: Caller<'_, ModuleState>,
    key_ptr: i32,
    key_len: i32,
    value_ptr: i32,
    value_len: i32,
    ttl_ms: i64,
) -> wasmtime::Result<i64> {
    let Some(key) = key(&mut caller, key_ptr, key_len, "weir.state_set")? else {
        return Ok(state_codes::BAD_KEY);
    };
    let value = read(&mut caller, value_ptr, value_len, "weir.state_set")?;
    let result = caller
        .data()
        .state
        .with(|store| store.set(&key, value, ttl(ttl_ms), now_ms()));
    Ok(result.map_or_else(|error| code(&error), |()| 0))
}

/// `(key, expected, value, ttl_ms) -> 1` when set, `0` when the value was not
/// `expected`, or a negative refusal. A length of `-1` means none (expected: absent;
/// value: delete).
#[allow(clippy::too_many_arguments)]
fn state_compare_and_set(
    mut caller: Caller<'_, ModuleState>,
    key_ptr: i32,
    key_len: i32,
    expected_ptr: i32,
    expected_len: i32,
    value_ptr: i32,
    value_len: i32,
    ttl_ms: i64,
) -> wasmtime::Result<i64> {
    let what = "weir.state_compare_and_set";
    let Some(key) = key(&mut caller, key_ptr, key_len, what)? else {
        return Ok(state_codes::BAD_KEY);
    };
    let expected = match expected_len {
        ..0 => None,
        len => Some(read(&mut caller, expected_ptr, len, what)?),
    };
    let value = match value_len {
        ..0 => None,
        len => Some(read(&mut caller, value_ptr, len, what)?),
    };
    let result = caller
        .data()
        .state
        .with(|store| store.compare_and_set(&key, expected.as_deref(), value, ttl(ttl_ms), now_ms()));
    Ok(result.map_or_else(|error| code(&error), i64::from))
}

/// `(key, delta, ttl_ms, out_ptr) -> 0`, the sum written as a little-endian i64 at
/// `out_ptr`, or a negative refusal.
fn state_increment(
    mut caller: Caller<'_, ModuleState>,
    key_ptr: i32,
    key_len: i32,
    delta: i64,
    ttl_ms: i64,
    out_ptr: i32,
) -> wasmtime::Result<i64> {
    let Some(key) = key(&mut caller, key_ptr, key_len, "weir.state_increment")? else {
        return Ok(state_codes::BAD_KEY);
    };
    let result = caller
        .data()
        .state
        .with(|store| store.increment(&key, delta, ttl(ttl_ms), now_ms()));
    match result {
        Ok(sum) => {
            write(&mut caller, out_ptr, 8, &sum.to_le_bytes(), "weir.state_increment")?;
            Ok(0)
        }
        Err(error) => Ok(code(&error)),
    }
}

/// `(key) -> 1` when a live entry was deleted, else `0`.
fn state_delete(mut caller: Caller<'_, ModuleState>, key_ptr: i32, key_len: i32) -> wasmtime::Result<i64> {
    let Some(key) = key(&mut caller, key_ptr, key_len, "weir.state_delete")? else {
        return Ok(state_codes::BAD_KEY);
    };
    Ok(i64::from(
        caller.data().state.with(|store| store.delete(&key, now_ms())),
    ))
}

fn abort(mut caller: Caller<'_, ModuleState>, message: i32, file: i32, line: i32, column: i32) -> wasmtime::Result<()> {
    let message = assemblyscript_string(&mut caller, message);
    let file = assemblyscript_string(&mut caller, file);
    wasmtime::bail!("abort: {message} at {file}:{line}:{column}")
}

/// An AssemblyScript string (UTF-16, its byte length in the 4 bytes before it), or
/// `?` when it cannot be read: only used to word a trap.
fn assemblyscript_string(caller: &mut Caller<'_, ModuleState>, ptr: i32) -> String {
    let Ok(memory) = exported_memory(caller, "env.abort") else {
        return "?".into();
    };
    let data = memory.data(&*caller);
    let start = ptr as u32 as usize;
    let Some(length) = start.checked_sub(4).and_then(|at| data.get(at..start)) else {
        return "?".into();
    };
    let length = u32::from_le_bytes(length.try_into().expect("four bytes")) as usize;
    let Some(bytes) = data.get(start..start + length.min(4096)) else {
        return "?".into();
    };
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
        .collect();
    String::from_utf16_lossy(&units)
}
