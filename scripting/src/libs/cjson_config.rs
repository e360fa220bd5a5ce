//! lua-cjson's per-state settings and their configuration functions (`cjson.encode_max_depth`, ...), as
//! Redis 7.0 bundles it: the settings persist across scripts until the Lua state is recreated (SCRIPT
//! FLUSH / FUNCTION FLUSH), and each function returns the current value(s).

use mlua::{Lua, MultiValue, Table, Value};
use std::cell::Cell;
use std::rc::Rc;

/// The settings of one `cjson` instance (lua-cjson's `json_config_t`, its defaults).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Config {
    /// Encode excessively sparse arrays as objects instead of failing.
    pub sparse_convert: bool,
    /// 0: always allow sparse arrays; otherwise the max index may be at most `ratio` × items.
    pub sparse_ratio: i32,
    /// Arrays whose max index is at most this are always arrays.
    pub sparse_safe: i32,
    /// Nesting allowed by `encode`.
    pub encode_max_depth: i32,
    /// Nesting allowed by `decode`.
    pub decode_max_depth: i32,
    /// NaN/Inf in `encode`: 0 refuse, 1 encode as `nan`/`inf`, 2 encode as `null`.
    pub encode_invalid_numbers: u8,
    /// Accept `inf`, `nan`, hexadecimal and `+` numbers in `decode`.
    pub decode_invalid_numbers: bool,
    /// Reuse the encode buffer (only reported: Rust allocates per call).
    pub encode_keep_buffer: bool,
    /// Significant digits of encoded numbers (1 to 14).
    pub encode_number_precision: i32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            sparse_convert: false,
            sparse_ratio: 2,
            sparse_safe: 10,
            encode_max_depth: 1000,
            decode_max_depth: 1000,
            encode_invalid_numbers: 0,
            decode_invalid_numbers: true,
            encode_keep_buffer: true,
            encode_number_precision: 14,
        }
    }
}

/// The settings shared by a `cjson` table's functions.
pub(crate) type SharedConfig = Rc<Cell<Config>>;

/// A configuration function's outcome: the values to return, or the argument error to raise.
type Outcome = Result<Vec<Value>, String>;

/// `bad argument #n to 'name' (msg)`, as `luaL_argerror`.
fn arg_error(n: usize, name: &str, msg: &str) -> String {
    format!("bad argument #{n} to '{name}' ({msg})")
}

/// `json_arg_init`: at most `count` arguments.
fn check_count(args: &MultiValue, count: usize, name: &str) -> Result<(), String> {
    if args.len() > count {
        return Err(arg_error(count + 1, name, "found too many arguments"));
    }
    Ok(())
}

/// A Lua value as `lua_tonumber` sees it (numbers and numeric strings).
fn to_number(v: &Value) -> Option<f64> {
    match v {
        Value::Integer(n) => Some(*n as f64),
        Value::Number(n) => Some(*n),
        Value::String(s) => s.to_str().ok()?.trim().parse::<f64>().ok(),
        _ => None,
    }
}

/// `json_integer_option`: nil keeps the setting; the range error names argument 1, as lua-cjson does.
fn integer_option(
    v: Option<&Value>,
    idx: usize,
    name: &str,
    setting: &mut i32,
    (min, max): (i32, i32),
) -> Result<Value, String> {
    if let Some(v) = v.filter(|v| !v.is_nil()) {
        let Some(n) = to_number(v) else {
            let msg = format!("number expected, got {}", lua_type_name(v));
            return Err(arg_error(idx, name, &msg));
        };
        let n = n as i64;
        if n < i64::from(min) || n > i64::from(max) {
            let msg = format!("expected integer between {min} and {max}");
            return Err(arg_error(1, name, &msg));
        }
        *setting = n as i32;
    }
    Ok(Value::Integer(i64::from(*setting)))
}

/// `json_enum_option` over `off`/`on` (plus `null` for encode_invalid_numbers): a boolean sets 0 or 1.
fn enum_option(
    lua: &Lua,
    v: Option<&Value>,
    name: &str,
    setting: &mut u8,
    options: &[&str],
) -> Result<Value, String> {
    match v {
        None | Some(Value::Nil) => {}
        Some(Value::Boolean(b)) => *setting = u8::from(*b),
        Some(v) => {
            let text = match v {
                Value::String(s) => s.as_bytes().to_vec(),
                Value::Integer(_) | Value::Number(_) => {
                    let mut out = Vec::new();
                    crate::convert::format_g(&mut out, to_number(v).unwrap_or(0.0), 14);
                    out
                }
                other => {
                    let msg = format!("string expected, got {}", lua_type_name(other));
                    return Err(arg_error(1, name, &msg));
                }
            };
            let Some(pos) = options.iter().position(|o| o.as_bytes() == text) else {
                let msg = format!("invalid option '{}'", String::from_utf8_lossy(&text));
                return Err(arg_error(1, name, &msg));
            };
            *setting = pos as u8;
        }
    }
    Ok(match *setting {
        0 => Value::Boolean(false),
        1 => Value::Boolean(true),
        n => Value::String(
            lua.create_string(options[usize::from(n)])
                .map_err(|e| e.to_string())?,
        ),
    })
}

/// Lua's name of a value's type, as error messages print it.
fn lua_type_name(v: &Value) -> &'static str {
    match v {
        Value::Nil => "no value",
        Value::Boolean(_) => "boolean",
        Value::Integer(_) | Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Table(_) => "table",
        Value::Function(_) => "function",
        Value::Thread(_) => "thread",
        _ => "userdata",
    }
}

const BOOL_OPTIONS: &[&str] = &["off", "on"];
const INVALID_NUMBER_OPTIONS: &[&str] = &["off", "on", "null"];

/// Runs one configuration function on `config`.
fn configure(lua: &Lua, name: &str, args: &MultiValue, config: &SharedConfig) -> Outcome {
    let mut c = config.get();
    let arg = |i: usize| args.get(i);
    let out = match name {
        "encode_sparse_array" => {
            check_count(args, 3, name)?;
            let mut convert = u8::from(c.sparse_convert);
            let a = enum_option(lua, arg(0), name, &mut convert, BOOL_OPTIONS)?;
            c.sparse_convert = convert == 1;
            let b = integer_option(arg(1), 2, name, &mut c.sparse_ratio, (0, i32::MAX))?;
            let d = integer_option(arg(2), 3, name, &mut c.sparse_safe, (0, i32::MAX))?;
            vec![a, b, d]
        }
        "encode_max_depth" | "decode_max_depth" => {
            check_count(args, 1, name)?;
            let setting = if name == "encode_max_depth" {
                &mut c.encode_max_depth
            } else {
                &mut c.decode_max_depth
            };
            vec![integer_option(arg(0), 1, name, setting, (1, i32::MAX))?]
        }
        "encode_number_precision" => {
            check_count(args, 1, name)?;
            let setting = &mut c.encode_number_precision;
            vec![integer_option(arg(0), 1, name, setting, (1, 14))?]
        }
        "encode_keep_buffer" | "decode_invalid_numbers" => {
            check_count(args, 1, name)?;
            let mut v = u8::from(if name == "encode_keep_buffer" {
                c.encode_keep_buffer
            } else {
                c.decode_invalid_numbers
            });
            let r = enum_option(lua, arg(0), name, &mut v, BOOL_OPTIONS)?;
            if name == "encode_keep_buffer" {
                c.encode_keep_buffer = v == 1;
            } else {
                c.decode_invalid_numbers = v == 1;
            }
            vec![r]
        }
        _ => {
            check_count(args, 1, name)?;
            let setting = &mut c.encode_invalid_numbers;
            vec![enum_option(
                lua,
                arg(0),
                name,
                setting,
                INVALID_NUMBER_OPTIONS,
            )?]
        }
    };
    config.set(c);
    Ok(out)
}

/// The names of lua-cjson's configuration functions.
pub(crate) const FUNCTIONS: &[&str] = &[
    "encode_sparse_array",
    "encode_max_depth",
    "decode_max_depth",
    "encode_number_precision",
    "encode_keep_buffer",
    "encode_invalid_numbers",
    "decode_invalid_numbers",
];

/// Adds the configuration functions to `t`. Each returns `true, values...` or `false, message` (the
/// prelude raises the message at the script's position, as `luaL_argerror` does).
pub(crate) fn install(lua: &Lua, t: &Table, config: &SharedConfig) -> mlua::Result<()> {
    for &name in FUNCTIONS {
        let config = config.clone();
        let f = lua.create_function(move |lua, args: MultiValue| {
            let mut out = Vec::with_capacity(4);
            match configure(lua, name, &args, &config) {
                Ok(values) => {
                    out.push(Value::Boolean(true));
                    out.extend(values);
                }
                Err(msg) => {
                    out.push(Value::Boolean(false));
                    out.push(Value::String(lua.create_string(&msg)?));
                }
            }
            Ok(MultiValue::from_vec(out))
        })?;
        t.set(name, f)?;
    }
    Ok(())
}
