//! Argument checks of the Lua C API (`luaL_checknumber`, `luaL_checklstring`, `luaL_optinteger`) for the
//! libraries written in Rust, with their error texts. The function's name in `bad argument #n to '?'` is
//! filled in by the prelude from the call site, as `luaL_argerror` finds it.

use mlua::{MultiValue, Value};

/// `bad argument #n to '?' (msg)`.
pub(crate) fn arg_error(n: usize, msg: &str) -> String {
    format!("bad argument #{n} to '?' ({msg})")
}

/// Lua's name of the type of argument `n` (1-based): `no value` past the last argument.
fn type_name(args: &MultiValue, n: usize) -> &'static str {
    match args.get(n - 1) {
        None => "no value",
        Some(Value::Nil) => "nil",
        Some(Value::Boolean(_)) => "boolean",
        Some(Value::Integer(_) | Value::Number(_)) => "number",
        Some(Value::String(_)) => "string",
        Some(Value::Table(_)) => "table",
        Some(Value::Function(_)) => "function",
        Some(Value::Thread(_)) => "thread",
        Some(_) => "userdata",
    }
}

/// `lua_tonumber`: numbers, and strings holding a decimal or hexadecimal number (spaces around).
pub(crate) fn to_number(v: &Value) -> Option<f64> {
    match v {
        Value::Integer(n) => Some(*n as f64),
        Value::Number(n) => Some(*n),
        Value::String(s) => {
            let s = s.to_str().ok()?;
            let t = s.trim();
            let hex = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X"));
            match hex {
                Some(digits) if !digits.is_empty() => {
                    u64::from_str_radix(digits, 16).ok().map(|n| n as f64)
                }
                _ => t.parse::<f64>().ok(),
            }
        }
        _ => None,
    }
}

/// `luaL_checknumber` on argument `n`.
pub(crate) fn check_number(args: &MultiValue, n: usize) -> Result<f64, String> {
    args.get(n - 1)
        .and_then(to_number)
        .ok_or_else(|| arg_error(n, &format!("number expected, got {}", type_name(args, n))))
}

/// `luaL_optinteger` on argument `n`: nil or absent gives `default`.
pub(crate) fn opt_integer(args: &MultiValue, n: usize, default: i64) -> Result<i64, String> {
    match args.get(n - 1) {
        None | Some(Value::Nil) => Ok(default),
        Some(_) => check_number(args, n).map(|x| x as i64),
    }
}

/// `luaL_checklstring` on argument `n`: strings, and numbers as Lua prints them.
pub(crate) fn check_bytes(args: &MultiValue, n: usize) -> Result<Vec<u8>, String> {
    match args.get(n - 1) {
        Some(Value::String(s)) => Ok(s.as_bytes().to_vec()),
        Some(v @ (Value::Integer(_) | Value::Number(_))) => {
            let mut out = Vec::new();
            crate::convert::format_g(&mut out, to_number(v).unwrap_or(0.0), 14);
            Ok(out)
        }
        _ => Err(arg_error(
            n,
            &format!("string expected, got {}", type_name(args, n)),
        )),
    }
}

/// A Rust library function's outcome as the prelude expects it: `true, values...` or `false, message`.
pub(crate) fn outcome(
    lua: &mlua::Lua,
    result: Result<MultiValue, String>,
) -> mlua::Result<MultiValue> {
    Ok(match result {
        Ok(mut values) => {
            values.push_front(Value::Boolean(true));
            values
        }
        Err(msg) => MultiValue::from_vec(vec![
            Value::Boolean(false),
            Value::String(lua.create_string(&msg)?),
        ]),
    })
}
