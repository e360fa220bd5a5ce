//! A script run on the raw Lua C API, as Redis's `luaCallFunction`: one protected call of a C runner that
//! builds `KEYS`/`ARGV`, calls the script under the prelude's error handler, and clears them again, then
//! the script's value read where it lies. No mlua call (each costs a protected call and leaves two C
//! closures of garbage) on the path of a run.

use mlua::ffi::{self, lua_State};
use mlua::{Function, Lua, RegistryKey, Table};
use std::ffi::{c_int, c_void};

/// Stack slots a run needs on the state's own stack (runner, its argument, the value).
const RUN_SLOTS: c_int = 4;

/// The registry entries a run uses, made once per Lua state.
pub(crate) struct RawRunner {
    /// The main Lua state (the one mlua creates; scripts never run on another).
    state: *mut lua_State,
    /// The runner: a C closure whose upvalues are the error handler, the real globals table (`KEYS` and
    /// `ARGV` live there during an EVAL run) and the strings `"KEYS"` and `"ARGV"`.
    runner: RegistryKey,
    gc_step: RegistryKey,
    /// A one-slot table a value is parked in to read it through mlua (tables, errors).
    parking: RegistryKey,
    parking_table: Table,
}

/// What the runner reads from its light userdata argument.
struct RunFrame<'a> {
    function: c_int,
    /// True for EVAL (`KEYS`/`ARGV` set as globals), false for FCALL (passed as arguments).
    as_globals: bool,
    keys: &'a [&'a [u8]],
    args: &'a [&'a [u8]],
    /// The script's `lua_pcall` status, written by the runner.
    status: c_int,
}

/// How a run ended; its value is on the state's stack until [`RawRunner::finish`].
pub(crate) struct RunOutcome {
    /// The stack top before the run.
    base: c_int,
    /// True when the script returned normally.
    pub ok: bool,
}

/// A scalar value the reply is made from without mlua.
pub(crate) enum Scalar<'a> {
    String(&'a [u8]),
    Boolean(bool),
    Number(f64),
    /// Nil, a function, a userdata, a thread: a null reply.
    Other,
}

impl RawRunner {
    /// Makes the runner (holding the handler, the globals and the two names) and the GC step, both kept
    /// in the registry.
    pub fn new(lua: &Lua, handler: Function) -> mlua::Result<RawRunner> {
        let mut state: *mut lua_State = std::ptr::null_mut();
        // SAFETY: only records the state pointer; the closure runs in mlua's protected call.
        unsafe { lua.exec_raw::<()>((), |s| state = s)? };
        let gc_function =
            // SAFETY: pushes a C function in mlua's protected call, with a free slot.
            unsafe { lua.exec_raw::<Function>((), |s| ffi::lua_pushcfunction(s, gc_step))? };
        let names = ("KEYS", "ARGV");
        // SAFETY: the four upvalues are on the stack (mlua's protected call has room for them).
        let runner_function = unsafe {
            lua.exec_raw::<Function>((handler, lua.globals(), names.0, names.1), |s| {
                ffi::lua_pushcclosure(s, runner, 4)
            })?
        };
        let parking_table = lua.create_table_with_capacity(1, 0)?;
        Ok(RawRunner {
            state,
            runner: lua.create_registry_value(runner_function)?,
            gc_step: lua.create_registry_value(gc_function)?,
            parking: lua.create_registry_value(&parking_table)?,
            parking_table,
        })
    }

    /// Runs the registry's function `function` with `keys` and `args` (as the `KEYS`/`ARGV` globals when
    /// `as_globals`, else as its two arguments). The value (result or error) is left on the stack.
    pub fn run(
        &self,
        function: c_int,
        keys: &[&[u8]],
        args: &[&[u8]],
        as_globals: bool,
    ) -> RunOutcome {
        let state = self.state;
        let mut frame = RunFrame {
            function,
            as_globals,
            keys,
            args,
            status: 0,
        };
        // SAFETY: no mlua call is in progress (runs start from Rust); the stack is grown first; the
        // pushes before `lua_pcall` allocate nothing; `frame` outlives the call.
        unsafe {
            let base = ffi::lua_gettop(state);
            if ffi::lua_checkstack(state, RUN_SLOTS) == 0 {
                ffi::lua_pushstring_(state, c"stack overflow".as_ptr());
                return RunOutcome { base, ok: false };
            }
            ffi::lua_rawgeti_(state, ffi::LUA_REGISTRYINDEX, self.runner.id());
            ffi::lua_pushlightuserdata(state, &mut frame as *mut RunFrame as *mut c_void);
            let status = ffi::lua_pcall(state, 1, 1, 0);
            let ok = status == ffi::LUA_OK && frame.status == ffi::LUA_OK;
            RunOutcome { base, ok }
        }
    }

    /// The run's value when it is not a table (read without mlua).
    pub fn scalar(&self, _: &RunOutcome) -> Option<Scalar<'_>> {
        let state = self.state;
        // SAFETY: the value is on top of the stack until `finish`; string bytes stay valid that long.
        unsafe {
            Some(match ffi::lua_type(state, -1) {
                ffi::LUA_TTABLE => return None,
                ffi::LUA_TSTRING => {
                    let mut len = 0usize;
                    let ptr = ffi::lua_tolstring(state, -1, &mut len);
                    Scalar::String(std::slice::from_raw_parts(ptr as *const u8, len))
                }
                ffi::LUA_TBOOLEAN => Scalar::Boolean(ffi::lua_toboolean(state, -1) != 0),
                ffi::LUA_TNUMBER => Scalar::Number(ffi::lua_tonumber(state, -1)),
                _ => Scalar::Other,
            })
        }
    }

    /// The run's value as an mlua value (for tables and errors).
    pub fn value(&self, _: &RunOutcome) -> mlua::Value {
        let state = self.state;
        // SAFETY: the parking table has an array slot, so storing into it allocates nothing.
        unsafe {
            ffi::lua_rawgeti_(state, ffi::LUA_REGISTRYINDEX, self.parking.id());
            ffi::lua_pushvalue(state, -2);
            ffi::lua_rawseti_(state, -2, 1);
            ffi::lua_pop(state, 1);
        }
        let value = self.parking_table.raw_get::<mlua::Value>(1);
        // SAFETY: as above; storing nil allocates nothing either.
        unsafe {
            ffi::lua_rawgeti_(state, ffi::LUA_REGISTRYINDEX, self.parking.id());
            ffi::lua_pushnil(state);
            ffi::lua_rawseti_(state, -2, 1);
            ffi::lua_pop(state, 1);
        }
        value.unwrap_or(mlua::Value::Nil)
    }

    /// Drops the run's value from the stack.
    pub fn finish(&self, outcome: RunOutcome) {
        // SAFETY: restores the stack top of before the run.
        unsafe { ffi::lua_settop(self.state, outcome.base) }
    }

    /// Redis's periodic `lua_gc(LUA_GCSTEP, kbytes)`, in a protected call (a collection may fail to shrink
    /// the string table at the heap limit); errors are ignored.
    pub fn gc_step(&self, kbytes: c_int) {
        let state = self.state;
        // SAFETY: as in `run`; the step's size travels as a light userdata's address.
        unsafe {
            let base = ffi::lua_gettop(state);
            if ffi::lua_checkstack(state, 2) == 0 {
                return;
            }
            ffi::lua_rawgeti_(state, ffi::LUA_REGISTRYINDEX, self.gc_step.id());
            ffi::lua_pushlightuserdata(state, kbytes as usize as *mut c_void);
            ffi::lua_pcall(state, 1, 0, 0);
            ffi::lua_settop(state, base);
        }
    }
}

/// Pushes an array of byte strings (Redis's `luaCreateArray`).
unsafe fn push_array(state: *mut lua_State, items: &[&[u8]]) {
    // SAFETY: called from `runner` with free slots; memory errors unwind to the run's protected call.
    unsafe {
        ffi::lua_createtable(state, c_int::try_from(items.len()).unwrap_or(0), 0);
        for (idx, item) in items.iter().enumerate() {
            crate::push::push_bytes(state, item);
            ffi::lua_rawseti_(state, -2, c_int::try_from(idx + 1).unwrap_or(c_int::MAX));
        }
    }
}

/// The runner's upvalues.
const HANDLER: c_int = ffi::lua_upvalueindex(1);
const GLOBALS: c_int = ffi::lua_upvalueindex(2);
const KEYS_NAME: c_int = ffi::lua_upvalueindex(3);
const ARGV_NAME: c_int = ffi::lua_upvalueindex(4);

/// The run itself, under the outer protected call: stack `[handler, function, keys?, args?]`, the script
/// called with the handler as its error function, then `KEYS`/`ARGV` cleared. Returns the value.
unsafe extern "C-unwind" fn runner(state: *mut lua_State) -> c_int {
    // SAFETY: the light userdata is the `RunFrame` of `RawRunner::run`, alive during this call; at most
    // five of the LUA_MINSTACK slots are used; no Rust value with a destructor lives on this frame.
    unsafe {
        let frame = &mut *(ffi::lua_touserdata(state, 1) as *mut RunFrame);
        ffi::lua_settop(state, 0);
        ffi::lua_pushvalue(state, HANDLER);
        ffi::lua_rawgeti_(state, ffi::LUA_REGISTRYINDEX, frame.function);
        let nargs = if frame.as_globals {
            ffi::lua_pushvalue(state, GLOBALS);
            push_array(state, frame.keys);
            set_global_at(state, 3, KEYS_NAME);
            push_array(state, frame.args);
            set_global_at(state, 3, ARGV_NAME);
            ffi::lua_settop(state, 2);
            0
        } else {
            push_array(state, frame.keys);
            push_array(state, frame.args);
            2
        };
        frame.status = ffi::lua_pcall(state, nargs, 1, 1);
        if frame.as_globals {
            ffi::lua_pushvalue(state, GLOBALS);
            ffi::lua_insert(state, 2);
            // Stack: handler, globals, value.
            ffi::lua_pushnil(state);
            set_global_at(state, 2, KEYS_NAME);
            ffi::lua_pushnil(state);
            set_global_at(state, 2, ARGV_NAME);
        }
        1
    }
}

/// Sets `t[name] = <top>` for the table at stack index `table`, popping the value.
unsafe fn set_global_at(state: *mut lua_State, table: c_int, name: c_int) {
    // SAFETY: the caller has the value on top and a free slot.
    unsafe {
        ffi::lua_pushvalue(state, name);
        ffi::lua_insert(state, -2);
        ffi::lua_rawset(state, table);
    }
}

/// `lua_gc(LUA_GCSTEP, <light userdata's address>)`.
unsafe extern "C-unwind" fn gc_step(state: *mut lua_State) -> c_int {
    // SAFETY: called by `RawRunner::gc_step` with the step size as its argument.
    unsafe {
        let kbytes = ffi::lua_touserdata(state, 1) as usize as c_int;
        ffi::lua_gc(state, ffi::LUA_GCSTEP, kbytes);
        0
    }
}
