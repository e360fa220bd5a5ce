//! One sandboxed Lua 5.1 state with Redis's environment: the EVAL engine and the functions engine each own
//! one, as in Redis.

use crate::call;
use crate::convert::{as_number, format_g17, lua_to_reply, number_to_i64, ReplyStyle};
use crate::flags::ScriptFlags;
use crate::host::{CallCtx, Host, LogLevel};
use crate::interrupt::{HostSlot, Tick};
use crate::libs;
use crate::raw::{RawRunner, Scalar};
pub(crate) use crate::runtime::Registered;
use crate::runtime::{Runtime, LOG_LINES_MAX};
use mlua::{Function, HookTriggers, Lua, LuaOptions, RegistryKey, StdLib, Table, Value};
use sha1::{Digest, Sha1};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use zedis_resp::{reply, Protocol};

/// Instructions between two checks of the kill flag and the time limit (Redis's hook period).
pub const HOOK_INSTRUCTIONS: u32 = 100_000;
/// Runs between two of Redis's explicit GC steps, and the step's size in kilobytes (`LUA_GC_CYCLE_PERIOD`).
const GC_CYCLE_PERIOD: u32 = 50;
/// A run's reply buffer starts this large: one allocation for the usual short reply.
const REPLY_BYTES_INITIAL: usize = 64;

/// Which environment a VM carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VmKind {
    /// EVAL scripts: `KEYS`/`ARGV` globals, `redis.breakpoint`, `redis.debug`, `redis.replicate_commands`.
    Eval,
    /// FUNCTION libraries: `redis.register_function` while loading.
    Function,
}

/// State both VMs share, surviving SCRIPT FLUSH and FUNCTION FLUSH as Redis's process globals do.
#[derive(Clone, Default)]
pub(crate) struct Shared {
    /// The 48-bit state of Redis's `redisLrand48` behind `math.random`.
    pub rand: std::rc::Rc<std::cell::Cell<u64>>,
}

/// `redisLrand48`'s initial state (`X2:X1:X0`).
pub(crate) const RAND48_INITIAL: u64 = 0x1234_ABCD_330E;

/// One step of `lrand48`: returns the next 31-bit value.
fn lrand48(state: &std::cell::Cell<u64>) -> u32 {
    let next = state.get().wrapping_mul(0x5_DEEC_E66D).wrapping_add(0xB) & 0xFFFF_FFFF_FFFF;
    state.set(next);
    (next >> 17) as u32
}

/// The prelude's bytecode without debug information, made once per process.
static PRELUDE_STRIPPED: std::sync::OnceLock<Option<Vec<u8>>> = std::sync::OnceLock::new();

/// Compiles the prelude, stripped of its debug information (it stays in the Lua state for good; its
/// error positions are never shown, as its errors are raised at the script's level). Falls back to the
/// source should stripping fail.
fn load_prelude(lua: &Lua) -> mlua::Result<Function> {
    let source = || {
        lua.load(include_str!("prelude.lua"))
            .set_name("=zedis")
            .into_function()
    };
    let stripped = PRELUDE_STRIPPED.get_or_init(|| {
        let full = source().ok()?.dump(false);
        crate::strip::strip(&full).ok()
    });
    match stripped {
        Some(bytes) => lua
            .load(&bytes[..])
            .set_name("=zedis")
            .set_mode(mlua::ChunkMode::Binary)
            .into_function(),
        None => source(),
    }
}

/// What a script run needs besides its function.
pub(crate) struct RunRequest<'a> {
    pub keys: &'a [&'a [u8]],
    pub args: &'a [&'a [u8]],
    pub protocol: Protocol,
    pub flags: ScriptFlags,
    pub compat_mode: bool,
    pub read_only: bool,
    /// What Redis names the script in error replies: the SHA1 for EVAL, the function name for FCALL.
    pub name: &'a str,
}

/// A Lua state with Redis's sandbox.
pub(crate) struct Vm {
    lua: Lua,
    module: Table,
    env: Table,
    kind: VmKind,
    killed: Arc<AtomicBool>,
    calls_since_gc: u32,
    /// Whether the last run's error reply came from a command's error (Redis's
    /// `ignore_error_stats_update`): the server counted it already.
    error_counted: bool,
    /// The heap bound given to Lua; past half of it a run ends with a full collection.
    memory_bytes_max: usize,
    /// The per-run state the primitives, the hook and `redis.call` share.
    runtime: Rc<Runtime>,
    /// The raw C-API run.
    raw: RawRunner,
}

impl Vm {
    /// Builds the state, its libraries and its sandbox, with the heap bounded by `memory_bytes_max`.
    pub fn new(
        kind: VmKind,
        memory_bytes_max: usize,
        killed: Arc<AtomicBool>,
        shared: Shared,
    ) -> mlua::Result<Vm> {
        // SAFETY: the debug library is loaded only so the error handler can capture `debug.getinfo`; the
        // prelude removes it from the globals before any user code runs.
        let lua = unsafe {
            Lua::unsafe_new_with(
                StdLib::TABLE | StdLib::STRING | StdLib::MATH | StdLib::DEBUG,
                LuaOptions::new(),
            )
        };
        let host_slot = Rc::new(HostSlot::default());
        let runtime = Rc::new(Runtime::new(host_slot.clone()));
        let globals = lua.globals();
        let dbg: Table = globals.get("debug")?;
        let prims = Self::primitives(&lua, &killed, &shared, &runtime)?;
        let prelude = load_prelude(&lua)?;
        let kind_name = if kind == VmKind::Eval {
            "eval"
        } else {
            "function"
        };
        let module: Table = prelude.call((globals.clone(), dbg, prims, kind_name))?;
        let env: Table = module.get("env")?;
        let tick = Rc::new(Tick {
            killed: killed.clone(),
            module: module.clone(),
            host: host_slot,
        });
        let hook_tick = tick.clone();
        let hook_runtime = runtime.clone();
        lua.set_hook(
            HookTriggers::new().every_nth_instruction(HOOK_INSTRUCTIONS),
            move |_, _| {
                let rt = &hook_runtime;
                if hook_tick.check(rt.elapsed(), rt.load_timeout.get())? {
                    return Err(mlua::Error::runtime(
                        "Script killed by user with SCRIPT KILL...",
                    ));
                }
                Ok(mlua::VmState::Continue)
            },
        );
        // Coroutines do not run mlua's hook: the prelude installs a Lua count hook on each one that calls
        // this, and raises the kill error itself.
        let coroutine_tick = tick.clone();
        let coroutine_runtime = runtime.clone();
        let install: Function = module.get("install_tick")?;
        install.call::<()>(lua.create_function(move |_, ()| {
            let rt = &coroutine_runtime;
            coroutine_tick.check(rt.elapsed(), rt.load_timeout.get())
        })?)?;
        let raw = RawRunner::new(&lua, module.get("handler")?)?;
        // The prelude's main chunk and its temporaries are garbage now: start from the live set.
        lua.gc_collect()?;
        lua.set_memory_limit(memory_bytes_max)?;
        Ok(Vm {
            lua,
            module,
            env,
            kind,
            killed,
            calls_since_gc: 0,
            error_counted: false,
            memory_bytes_max,
            runtime,
            raw,
        })
    }

    fn primitives(
        lua: &Lua,
        killed: &Arc<AtomicBool>,
        shared: &Shared,
        runtime: &Rc<Runtime>,
    ) -> mlua::Result<Table> {
        let prims = lua.create_table()?;
        let calls = call::create(lua, runtime)?;
        prims.set("call", calls.call)?;
        prims.set("pcall", calls.pcall)?;
        prims.set("acl", calls.acl)?;
        let rand = shared.rand.clone();
        prims.set(
            "rand",
            lua.create_function(move |_, ()| {
                let r = lrand48(&rand) % (i32::MAX as u32);
                Ok(f64::from(r) / f64::from(i32::MAX))
            })?,
        )?;
        let seed = shared.rand.clone();
        prims.set(
            "srand",
            lua.create_function(move |_, v: f64| {
                seed.set((u64::from(v as i64 as u32) << 16) | 0x330E);
                Ok(())
            })?,
        )?;
        prims.set(
            "sha1hex",
            lua.create_function(|lua, s: mlua::String| lua.create_string(sha1_hex(&s.as_bytes())))?,
        )?;
        let k = killed.clone();
        prims.set(
            "killed",
            lua.create_function(move |_, ()| Ok(k.load(Ordering::SeqCst)))?,
        )?;
        let rt = runtime.clone();
        prims.set(
            "log",
            lua.create_function(move |_, (level, msg): (u8, mlua::String)| {
                let level = match level {
                    0 => LogLevel::Debug,
                    1 => LogLevel::Verbose,
                    2 => LogLevel::Notice,
                    _ => LogLevel::Warning,
                };
                let mut logs = rt.logs.borrow_mut();
                if logs.len() < LOG_LINES_MAX {
                    logs.push((level, msg.as_bytes().to_vec()));
                }
                Ok(())
            })?,
        )?;
        let rt = runtime.clone();
        prims.set(
            "setresp",
            lua.create_function(move |_, v: u8| {
                rt.script_protocol.set(if v == 3 {
                    Protocol::Resp3
                } else {
                    Protocol::Resp2
                });
                Ok(())
            })?,
        )?;
        let rt = runtime.clone();
        prims.set(
            "set_repl",
            lua.create_function(move |_, v: u8| {
                rt.repl_flags.set(v);
                Ok(())
            })?,
        )?;
        let rt = runtime.clone();
        prims.set(
            "register",
            lua.create_function(
                move |_, (name, desc, cb, flags): (String, Option<String>, Function, u8)| {
                    let mut registered = rt.registered.borrow_mut();
                    let Some(list) = registered.as_mut() else {
                        return Ok(Some(
                            "redis.register_function can only be called on FUNCTION LOAD command"
                                .to_string(),
                        ));
                    };
                    if !valid_name(name.as_bytes()) {
                        return Ok(Some(NAME_ERROR.to_string()));
                    }
                    if list.iter().any(|f| f.name.eq_ignore_ascii_case(&name)) {
                        return Ok(Some("Function already exists in the library".to_string()));
                    }
                    list.push(Registered {
                        name,
                        description: desc,
                        callback: cb,
                        flags: ScriptFlags(flags),
                    });
                    Ok(None)
                },
            )?,
        )?;
        prims.set(
            "cwrap",
            lua.create_function(|lua, f: Function| c_wrap(lua, f))?,
        )?;
        libs::install(lua, &prims)?;
        Ok(prims)
    }

    /// Compiles `code` under the chunk name (`@user_script` or `@user_function`) in the sandbox.
    pub fn compile(&self, chunk_name: &str, code: &[u8]) -> Result<Function, String> {
        if code.first() == Some(&0x1b) {
            // Never load bytecode: Redis's Lua parses every chunk as text, failing on the ESC byte.
            let name = chunk_name.trim_start_matches('@');
            return Err(format!("{name}:1: unexpected symbol near 'char(27)'"));
        }
        self.lua
            .load(code)
            .set_name(chunk_name)
            .set_mode(mlua::ChunkMode::Text)
            .set_environment(self.env.clone())
            .into_function()
            .map_err(|e| match e {
                mlua::Error::SyntaxError { message, .. } => message,
                other => other.to_string(),
            })
    }

    /// Whether the last run's reply is an error the server already counted in its error stats (a
    /// command's error raised by `redis.call` or returned from `redis.pcall`).
    pub fn error_counted(&self) -> bool {
        self.error_counted
    }

    /// Forgets the last run's error (a script refused before running).
    pub fn reset_error_counted(&mut self) {
        self.error_counted = false;
    }

    /// Bytes of Lua heap in use.
    pub fn used_memory_bytes(&self) -> usize {
        self.lua.used_memory()
    }

    /// Runs a library's top-level code, returning the functions it registered or Redis's error text
    /// (without the leading `ERR `).
    pub fn load_library(
        &mut self,
        chunk: &Function,
        timeout: Duration,
    ) -> Result<Vec<Registered>, String> {
        self.runtime.begin(Some(timeout));
        *self.runtime.registered.borrow_mut() = Some(Vec::new());
        let call = |on: bool| -> mlua::Result<()> {
            let f: Function = self.module.get("load_mode")?;
            f.call::<()>(on)
        };
        let outcome = call(true).and_then(|()| {
            let load: Function = self.module.get("load")?;
            load.call::<Option<String>>(chunk.clone())
        });
        let _ = call(false);
        let registered = self.runtime.registered.borrow_mut().take();
        self.clear_kill();
        match outcome {
            Ok(None) => Ok(registered.unwrap_or_default()),
            Ok(Some(e)) => Err(format!("Error registering functions: {e}")),
            Err(e) => Err(format!("Error registering functions: ERR {e}")),
        }
    }

    /// Keeps a compiled script or a registered function in the registry, for [`Vm::run`].
    pub fn register(&self, f: Function) -> Result<RegistryKey, String> {
        self.lua.create_registry_value(f).map_err(|e| e.to_string())
    }

    /// Clears the kill request after a run (the prelude's mirror only when it may be set: each mlua call
    /// leaves a little garbage).
    fn clear_kill(&self) {
        if self.killed.swap(false, Ordering::SeqCst) {
            let _ = self.module.raw_set("killed", false);
        }
    }

    /// Runs a compiled script or function (kept by [`Vm::register`]) and returns its reply in
    /// `req.protocol`.
    pub fn run(&mut self, f: &RegistryKey, req: &RunRequest<'_>, host: &mut dyn Host) -> Vec<u8> {
        let rt = &self.runtime;
        rt.begin(None);
        rt.ctx.set(CallCtx {
            protocol: Protocol::Resp2,
            flags: req.flags,
            compat_mode: req.compat_mode,
            read_only: req.read_only,
            repl_flags: 3,
        });
        let outcome = self.run_with_host(f, req, host);
        let mut out = Vec::with_capacity(REPLY_BYTES_INITIAL);
        let protocol = rt.script_protocol.get();
        let logs = std::mem::take(&mut *rt.logs.borrow_mut());
        for (level, line) in logs {
            host.log(level, &line);
        }
        self.error_counted = false;
        let style = ReplyStyle {
            caller: req.protocol,
            script: protocol,
        };
        match self.raw.scalar(&outcome).filter(|_| outcome.ok) {
            Some(scalar) => scalar_reply(&mut out, scalar, style),
            None => {
                let value = self.raw.value(&outcome);
                if let Value::Table(t) = &value {
                    self.error_counted = t
                        .raw_get::<bool>("ignore_error_stats_update")
                        .unwrap_or(false);
                }
                if outcome.ok {
                    lua_to_reply(&mut out, &value, style);
                } else {
                    error_reply(&mut out, &value, req.name);
                }
            }
        }
        self.raw.finish(outcome);
        self.clear_kill();
        self.calls_since_gc += 1;
        if self.lua.used_memory() > self.memory_bytes_max / 2 {
            // A script that ran out of memory leaves its garbage behind: free it now, so the next
            // script (or compile) is not refused.
            self.calls_since_gc = 0;
            // mlua's collect itself needs a little memory: lift the bound for it.
            let _ = self.lua.set_memory_limit(usize::MAX);
            let _ = self.lua.gc_collect();
            let _ = self.lua.set_memory_limit(self.memory_bytes_max);
        } else if self.calls_since_gc >= GC_CYCLE_PERIOD {
            self.calls_since_gc = 0;
            self.raw.gc_step(GC_CYCLE_PERIOD as std::ffi::c_int);
        }
        out
    }
}

impl Vm {
    /// The raw run, with `host` reachable from `redis.call` and the hook for its length.
    fn run_with_host(
        &self,
        f: &RegistryKey,
        req: &RunRequest<'_>,
        host: &mut dyn Host,
    ) -> crate::raw::RunOutcome {
        let host_cell = RefCell::new(host);
        let _host_reachable = self.runtime.host.install(&host_cell);
        let as_globals = self.kind == VmKind::Eval;
        self.raw.run(f.id(), req.keys, req.args, as_globals)
    }
}

/// The reply of a script's non-table value, as [`lua_to_reply`] makes it.
fn scalar_reply(out: &mut Vec<u8>, value: Scalar<'_>, style: ReplyStyle) {
    match value {
        Scalar::String(s) => reply::bulk(out, s),
        Scalar::Boolean(b) => {
            if style.script == Protocol::Resp2 {
                if b {
                    reply::integer(out, 1);
                } else {
                    reply::null(out, style.caller);
                }
            } else {
                reply::boolean(out, style.caller, b);
            }
        }
        Scalar::Number(n) => reply::integer(out, number_to_i64(n)),
        Scalar::Other => reply::null(out, style.caller),
    }
}

/// The error reply of a failed run: `-<err> script: <name>, on <source>:<line>.`
fn error_reply(out: &mut Vec<u8>, value: &Value, name: &str) {
    let mut msg: Vec<u8> = Vec::new();
    match value {
        Value::Table(t) => {
            match t.get::<Value>("err") {
                Ok(Value::String(s)) => msg.extend_from_slice(&s.as_bytes()),
                Ok(v @ (Value::Number(_) | Value::Integer(_))) => {
                    format_g17(&mut msg, as_number(&v).unwrap_or(0.0))
                }
                _ => msg.extend_from_slice(b"(null)"),
            }
            let source = t.get::<Option<mlua::String>>("source").ok().flatten();
            let line = t.get::<Value>("line").ok().as_ref().and_then(as_number);
            if let (Some(source), Some(line)) = (source, line) {
                msg.extend_from_slice(format!(" script: {name}, on ").as_bytes());
                msg.extend_from_slice(&source.as_bytes());
                msg.extend_from_slice(format!(":{}.", line as i64).as_bytes());
            }
        }
        Value::String(s) => {
            msg.extend_from_slice(format!("ERR Error running script {name}, ").as_bytes());
            let bytes = s.as_bytes();
            msg.extend_from_slice(&bytes[..bytes.len().min(100)]);
        }
        _ => msg.extend_from_slice(
            format!("ERR Error running script {name}, execution failure").as_bytes(),
        ),
    }
    reply::error(out, &msg);
}

/// Calls its upvalue with its arguments, propagating errors untouched: a C frame, so a script's
/// `return redis.call(...)` (a tail call) keeps the script's frame for the error handler, as Redis's C API
/// functions do.
unsafe extern "C-unwind" fn trampoline(state: *mut mlua::ffi::lua_State) -> std::ffi::c_int {
    // SAFETY: called by Lua with a valid state; a C function has LUA_MINSTACK free slots, and this frame
    // owns nothing that a longjmp past it would leak.
    unsafe {
        let nargs = mlua::ffi::lua_gettop(state);
        mlua::ffi::lua_pushvalue(state, mlua::ffi::lua_upvalueindex(1));
        mlua::ffi::lua_insert(state, 1);
        mlua::ffi::lua_call(state, nargs, mlua::ffi::LUA_MULTRET);
        mlua::ffi::lua_gettop(state)
    }
}

/// Wraps a Lua function in [`trampoline`].
fn c_wrap(lua: &Lua, f: Function) -> mlua::Result<Function> {
    // SAFETY: the closure runs in mlua's protected call with `f` on the stack top; it replaces `f` by a
    // C closure holding it as its only upvalue.
    unsafe {
        lua.exec_raw::<Function>(f, |state| {
            mlua::ffi::lua_pushcclosure(state, trampoline, 1);
        })
    }
}

/// Lowercase hex SHA1 of `data`.
pub fn sha1_hex(data: &[u8]) -> String {
    let digest = Sha1::digest(data);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Redis's error for a bad library or function name.
pub const NAME_ERROR: &str =
    "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long";

/// Letters, digits and underscores, at least one.
pub fn valid_name(name: &[u8]) -> bool {
    !name.is_empty() && name.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_')
}
