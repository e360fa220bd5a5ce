//! The Rust side of `redis.call`, `redis.pcall` and `redis.acl_check_cmd`, made once per Lua state.
//!
//! `redis.call` and `redis.pcall` are C functions on the raw Lua API, as Redis's `luaRedisCallCommand`:
//! the arguments are read from the Lua stack where they lie (numbers formatted as `%.17g` into a reused
//! buffer), the command runs through the running script's [`Host`], and its reply is pushed straight
//! onto the stack (`push`). They are C frames, so a script's `return redis.call(...)` (a tail call)
//! keeps the script's frame for the error handler, and an error they raise points at the script's line.
//! `redis.acl_check_cmd` is rare and stays an mlua function.

use crate::convert::format_g17;
use crate::host::Host;
use crate::push::{push_error, push_frame};
use crate::runtime::{recycle, CallBuffers, Runtime};
use mlua::ffi::{self, lua_State};
use mlua::{Function, Lua, MultiValue, Value};
use std::ffi::c_int;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use zedis_resp::{parse_frame, Frame, Protocol};

/// The functions the prelude installs as `redis.call`, `redis.pcall` and (behind its argument check)
/// `redis.acl_check_cmd`.
pub(crate) struct CallFunctions {
    /// `redis.call(argv...)`: the reply, or raises the error table.
    pub call: Function,
    /// `redis.pcall(argv...)`: the reply or the error table.
    pub pcall: Function,
    /// `(argv...)` → a boolean, or the error message.
    pub acl: Function,
}

/// Makes the functions. The C functions hold a pointer to `runtime`, which the Lua state keeps alive (in
/// its app data) as long as they can be called.
pub(crate) fn create(lua: &Lua, runtime: &Rc<Runtime>) -> mlua::Result<CallFunctions> {
    lua.set_app_data(runtime.clone());
    let ptr = Rc::as_ptr(runtime) as *mut std::ffi::c_void;
    let c_function = |f: ffi::lua_CFunction| -> mlua::Result<Function> {
        // SAFETY: runs in mlua's protected call with a free slot; the closure gets the runtime as its
        // only upvalue.
        unsafe {
            lua.exec_raw::<Function>((), |state| {
                ffi::lua_pushlightuserdata(state, ptr);
                ffi::lua_pushcclosure(state, f, 1);
            })
        }
    };
    let rt = runtime.clone();
    let acl = lua.create_function(move |lua, argv: MultiValue| {
        if !rt.host.is_installed() {
            let msg = "redis.acl_check_cmd can only be called inside a script invocation";
            return Ok(Value::String(lua.create_string(msg)?));
        }
        let owned = match owned_args(argv.iter()) {
            Ok(owned) => owned,
            Err(msg) => return Ok(Value::String(lua.create_string(msg)?)),
        };
        let args: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
        let allowed = rt.host.with(|host| host.acl_check_cmd(&args)).flatten();
        Ok(match allowed {
            Some(allowed) => Value::Boolean(allowed),
            None => {
                Value::String(lua.create_string("Invalid command passed to redis.acl_check_cmd()")?)
            }
        })
    })?;
    Ok(CallFunctions {
        call: c_function(redis_call::<true>)?,
        pcall: c_function(redis_call::<false>)?,
        acl,
    })
}

/// Arguments whose buffers `redis.call` keeps between commands; a larger command's are freed after it.
const ARGS_KEPT_MAX: usize = 1024;

/// Redis's error for an argument that is neither a string nor a number.
const BAD_ARGUMENT: &[u8] = b"Lua redis lib command arguments must be strings or integers";

/// What running the command left to do on the Lua side.
enum Outcome {
    /// No script is running: raised by `redis.call` and `redis.pcall` alike.
    NotInRun,
    /// An `ERR` error table with this text (raised by `redis.call`).
    Error(&'static [u8]),
    /// The reply is in [`Runtime::reply`], encoded in this protocol.
    Reply(Protocol),
    /// The host panicked: a plain error the handler turns into `ERR <text>`.
    Panicked,
}

/// `redis.call` (`RAISE`) and `redis.pcall`.
unsafe extern "C-unwind" fn redis_call<const RAISE: bool>(state: *mut lua_State) -> c_int {
    // SAFETY: the upvalue is the runtime the Lua state keeps alive (see `create`); this C function has
    // LUA_MINSTACK free slots; no Rust value with a destructor is alive when a Lua error is raised.
    unsafe {
        let runtime = &*(ffi::lua_touserdata(state, ffi::lua_upvalueindex(1)) as *const Runtime);
        let argc = ffi::lua_gettop(state);
        let outcome = run_command(state, runtime, argc);
        // The arguments are done with: the reply gets the whole C stack (thousands of arguments may
        // fill it up to LUAI_MAXCSTACK).
        ffi::lua_settop(state, 0);
        let is_err = match outcome {
            Outcome::NotInRun => {
                let text = b"redis.call/pcall can only be called inside a script invocation";
                push_error(state, b"ERR", text, false);
                ffi::lua_error(state);
            }
            Outcome::Panicked => {
                ffi::lua_pushstring_(state, c"a command of the script panicked".as_ptr());
                ffi::lua_error(state);
            }
            Outcome::Error(text) => {
                push_error(state, b"ERR", text, false);
                true
            }
            Outcome::Reply(protocol) => {
                // The reply stays in the runtime while it is pushed: a Lua error (out of memory) then
                // skips no destructor, and the next command replaces it.
                let reply = (*runtime.reply.as_ptr()).as_ref();
                match reply {
                    Some(frame) => {
                        push_frame(state, frame, protocol);
                        matches!(frame, Frame::Error(_))
                    }
                    None => {
                        ffi::lua_pushnil(state);
                        false
                    }
                }
            }
        };
        if let Ok(mut slot) = runtime.reply.try_borrow_mut() {
            *slot = None;
        }
        if RAISE && is_err {
            ffi::lua_error(state);
        }
        1
    }
}

/// Reads the arguments, runs the command through the host and parses its reply into
/// [`Runtime::reply`]. Calls no Lua function that can raise an error.
///
/// # Safety
/// `state` is the calling C function's state with `argc` arguments.
unsafe fn run_command(state: *mut lua_State, runtime: &Runtime, argc: c_int) -> Outcome {
    if !runtime.host.is_installed() {
        return Outcome::NotInRun;
    }
    let Ok(mut buffers) = runtime.call_buffers.try_borrow_mut() else {
        return Outcome::Error(b"redis.call/pcall can only be called inside a script invocation");
    };
    let buffers = &mut *buffers;
    buffers.numbers.clear();
    buffers.ranges.clear();
    for idx in 1..=argc {
        // SAFETY: `idx` is an argument's index.
        match unsafe { ffi::lua_type(state, idx) } {
            ffi::LUA_TSTRING => {}
            ffi::LUA_TNUMBER => {
                let start = buffers.numbers.len();
                // SAFETY: as above; reading a number never raises.
                format_g17(&mut buffers.numbers, unsafe {
                    ffi::lua_tonumber(state, idx)
                });
                buffers.ranges.push((start, buffers.numbers.len()));
            }
            _ => return Outcome::Error(BAD_ARGUMENT),
        }
    }
    if argc == 0 {
        return Outcome::Error(b"Please specify at least one argument for this redis lib call");
    }
    let mut argv: Vec<&[u8]> = recycle(std::mem::take(&mut buffers.argv));
    let mut numbers = buffers.ranges.iter();
    for idx in 1..=argc {
        // SAFETY: a string argument's bytes stay on the Lua stack (unchanged: strings are not converted)
        // until this C function returns, after `argv` is emptied.
        if unsafe { ffi::lua_type(state, idx) } == ffi::LUA_TSTRING {
            let mut len = 0usize;
            let ptr = unsafe { ffi::lua_tolstring(state, idx, &mut len) };
            argv.push(unsafe { std::slice::from_raw_parts(ptr as *const u8, len) });
        } else if let Some(&(start, end)) = numbers.next() {
            argv.push(&buffers.numbers[start..end]);
        }
    }
    let ctx = runtime.call_ctx();
    let result = catch_unwind(AssertUnwindSafe(|| {
        runtime
            .host
            .with(|host: &mut dyn Host| host.call(&argv, &ctx))
    }));
    buffers.argv = recycle(argv);
    if buffers.argv.capacity() > ARGS_KEPT_MAX {
        // A rare huge command does not pin its argument vector for the life of the Lua state.
        *buffers = CallBuffers::default();
    }
    let bytes = match result {
        Err(_) => return Outcome::Panicked,
        Ok(None) => {
            return Outcome::Error(
                b"redis.call/pcall can only be called inside a script invocation",
            )
        }
        Ok(Some(bytes)) => bytes,
    };
    let Ok(Some((frame, _))) = parse_frame(&bytes) else {
        return Outcome::Error(b"Invalid reply from the command");
    };
    let Ok(mut slot) = runtime.reply.try_borrow_mut() else {
        return Outcome::Error(b"Invalid reply from the command");
    };
    *slot = Some(frame);
    Outcome::Reply(ctx.protocol)
}

/// A command's arguments from Lua values: numbers as `%.17g`, strings as they are.
fn owned_args<V: std::borrow::Borrow<Value>>(
    argv: impl Iterator<Item = V>,
) -> Result<Vec<Vec<u8>>, &'static str> {
    let mut owned: Vec<Vec<u8>> = Vec::with_capacity(argv.size_hint().0);
    for v in argv {
        match v.borrow() {
            v @ (Value::Number(_) | Value::Integer(_)) => {
                let mut b = Vec::new();
                format_g17(&mut b, crate::convert::as_number(v).unwrap_or(0.0));
                owned.push(b);
            }
            Value::String(s) => owned.push(s.as_bytes().to_vec()),
            _ => return Err("Lua redis lib command arguments must be strings or integers"),
        }
    }
    Ok(owned)
}
