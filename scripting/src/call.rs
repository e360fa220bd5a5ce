//! The Rust side of `redis.call`, `redis.pcall` and `redis.acl_check_cmd`: functions made once per Lua
//! state (no per-run closures, so a run leaves little garbage), reaching the running script's host through
//! its [`HostSlot`].

use crate::convert::{as_number, error_table, format_g17, frame_to_lua};
use crate::host::{CallCtx, Host};
use crate::interrupt::HostSlot;
use mlua::{Function, Lua, MultiValue, Table, Value};
use std::rc::Rc;
use zedis_resp::parse_frame;

/// The functions the prelude's `redis.call`/`redis.pcall`/`redis.acl_check_cmd` call during a run.
pub(crate) struct CallFunctions {
    /// `(argv...)` → `is_error, reply`.
    pub call: Function,
    /// `(n, {argv...})` → `is_error, reply`: for thousands of arguments, which a Rust callback cannot
    /// take on Lua's C stack.
    pub call_packed: Function,
    /// `(argv...)` → a boolean, or the error message.
    pub acl: Function,
}

/// Makes the functions; `ctx` gives the running script's [`CallCtx`].
pub(crate) fn create(
    lua: &Lua,
    host: &Rc<HostSlot>,
    ctx: fn(&Lua) -> CallCtx,
) -> mlua::Result<CallFunctions> {
    let slot = host.clone();
    let call = lua.create_function(move |lua, argv: MultiValue| {
        let args = command_args(argv.iter());
        with_host(lua, &slot, |lua, host| {
            redis_call(lua, args, &ctx(lua), host)
        })
    })?;
    let slot = host.clone();
    let call_packed = lua.create_function(move |lua, (n, argv): (usize, Table)| {
        let values = (1..=n).map(|i| argv.raw_get::<Value>(i).unwrap_or(Value::Nil));
        let args = command_args(values);
        with_host(lua, &slot, |lua, host| {
            redis_call(lua, args, &ctx(lua), host)
        })
    })?;
    let slot = host.clone();
    let acl = lua.create_function(move |lua, argv: MultiValue| {
        let owned = match command_args(argv.iter()) {
            Ok(owned) => owned,
            Err(msg) => return Ok(Value::String(lua.create_string(msg)?)),
        };
        let args: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
        let allowed = slot.with(|host| host.acl_check_cmd(&args)).flatten();
        Ok(match allowed {
            Some(allowed) => Value::Boolean(allowed),
            None => {
                Value::String(lua.create_string("Invalid command passed to redis.acl_check_cmd()")?)
            }
        })
    })?;
    Ok(CallFunctions {
        call,
        call_packed,
        acl,
    })
}

/// Runs `f` with the running script's host, or answers the error of a call outside a run.
fn with_host(
    lua: &Lua,
    slot: &HostSlot,
    f: impl FnOnce(&Lua, &mut dyn Host) -> mlua::Result<(bool, Value)>,
) -> mlua::Result<(bool, Value)> {
    match slot.with(|host| f(lua, host)) {
        Some(result) => result,
        None => {
            let msg = b"redis.call/pcall can only be called inside a script invocation";
            Ok((true, Value::Table(error_table(lua, msg)?)))
        }
    }
}

/// `redis.call`/`redis.pcall` core: returns (is_error, value).
fn redis_call(
    lua: &Lua,
    args: Result<Vec<Vec<u8>>, &'static str>,
    ctx: &CallCtx,
    host: &mut dyn Host,
) -> mlua::Result<(bool, Value)> {
    let owned = match args {
        Ok(owned) if owned.is_empty() => {
            let msg = b"Please specify at least one argument for this redis lib call";
            return Ok((true, Value::Table(error_table(lua, msg)?)));
        }
        Ok(owned) => owned,
        Err(msg) => return Ok((true, Value::Table(error_table(lua, msg.as_bytes())?))),
    };
    let args: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
    let bytes = host.call(&args, ctx);
    let frame = match parse_frame(&bytes) {
        Ok(Some((frame, _))) => frame,
        _ => {
            let t = error_table(lua, b"Invalid reply from the command")?;
            return Ok((true, Value::Table(t)));
        }
    };
    let is_err = matches!(frame, zedis_resp::Frame::Error(_));
    Ok((is_err, frame_to_lua(lua, &frame, ctx.protocol)?))
}

/// A command's arguments from Lua values: numbers as `%.17g`, strings as they are.
fn command_args<V: std::borrow::Borrow<Value>>(
    argv: impl Iterator<Item = V>,
) -> Result<Vec<Vec<u8>>, &'static str> {
    let mut owned: Vec<Vec<u8>> = Vec::with_capacity(argv.size_hint().0);
    for v in argv {
        match v.borrow() {
            v @ (Value::Number(_) | Value::Integer(_)) => {
                let mut b = Vec::new();
                format_g17(&mut b, as_number(v).unwrap_or(0.0));
                owned.push(b);
            }
            Value::String(s) => owned.push(s.as_bytes().to_vec()),
            _ => return Err("Lua redis lib command arguments must be strings or integers"),
        }
    }
    Ok(owned)
}
