//! Conversions between RESP replies and Lua values, as Redis's `script_lua.c` does them.

use mlua::{Lua, Table, Value};
use zedis_resp::{reply, Frame, Protocol};

/// C's `printf("%.17g")` (how Redis turns a Lua number argument into a command argument) and
/// `printf("%.<precision>g")`: the one formatter of `zedis_util::double`.
pub use zedis_resp::reply::{format_double_g17 as format_g17, format_g};

/// A Lua number, whichever way mlua represents it (integral numbers arrive as `Value::Integer`).
pub fn as_number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => Some(*n),
        Value::Integer(n) => Some(*n as f64),
        _ => None,
    }
}

/// Builds Redis's error table `{err = "CODE msg"}` from `msg` (`-CODE msg` keeps its code, otherwise `ERR`).
pub fn error_table(lua: &Lua, msg: &[u8]) -> mlua::Result<Table> {
    let (code, text) = error_parts(msg);
    let mut full = code.to_vec();
    full.push(b' ');
    full.extend_from_slice(text);
    let t = lua.create_table()?;
    t.raw_set("err", lua.create_string(&full)?)?;
    Ok(t)
}

/// The code and the text of an error table's `err` (Redis's `luaPushErrorBuff`): `-CODE msg` keeps its
/// code, anything else gets `ERR`; the text is trimmed of CR and LF at both ends.
pub(crate) fn error_parts(msg: &[u8]) -> (&[u8], &[u8]) {
    let (code, text): (&[u8], &[u8]) = match msg.strip_prefix(b"-") {
        Some(rest) => match rest.iter().position(|&b| b == b' ') {
            Some(space) => (&rest[..space], &rest[space + 1..]),
            None => (b"ERR", rest),
        },
        None => (b"ERR", msg),
    };
    (code, trim_crlf(text))
}

/// `text` without the CR and LF bytes at its start and end.
pub(crate) fn trim_crlf(text: &[u8]) -> &[u8] {
    let is_crlf = |b: &u8| *b == b'\r' || *b == b'\n';
    let start = text.iter().position(|b| !is_crlf(b)).unwrap_or(text.len());
    let end = text
        .iter()
        .rposition(|b| !is_crlf(b))
        .map_or(start, |e| e + 1);
    &text[start..end.max(start)]
}

/// Converts a command's reply into the Lua value `redis.call` returns (`protocol` is the one the reply was
/// encoded in: a RESP2 null is `false`, a RESP3 null is `nil`).
pub fn frame_to_lua(lua: &Lua, frame: &Frame, protocol: Protocol) -> mlua::Result<Value> {
    let single = |key: &str, v: Value| -> mlua::Result<Value> {
        let t = lua.create_table()?;
        t.raw_set(key, v)?;
        Ok(Value::Table(t))
    };
    Ok(match frame {
        Frame::Simple(s) => single("ok", Value::String(lua.create_string(s)?))?,
        Frame::Error(e) => {
            let mut msg = b"-".to_vec();
            msg.extend_from_slice(e);
            let t = error_table(lua, &msg)?;
            t.raw_set("ignore_error_stats_update", true)?;
            Value::Table(t)
        }
        Frame::Integer(n) => Value::Number(*n as f64),
        Frame::Bulk(b) => Value::String(lua.create_string(b)?),
        Frame::Null if protocol == Protocol::Resp3 => Value::Nil,
        Frame::Null | Frame::NullArray => Value::Boolean(false),
        Frame::Array(items) | Frame::Push(items) => {
            let t = lua.create_table_with_capacity(items.len(), 0)?;
            for (idx, item) in items.iter().enumerate() {
                t.raw_set(idx + 1, frame_to_lua(lua, item, protocol)?)?;
            }
            Value::Table(t)
        }
        Frame::Map(pairs) => {
            let t = lua.create_table()?;
            for (k, v) in pairs {
                let key = frame_to_lua(lua, k, protocol)?;
                if !key.is_nil() {
                    t.raw_set(key, frame_to_lua(lua, v, protocol)?)?;
                }
            }
            single("map", Value::Table(t))?
        }
        Frame::Set(items) => {
            let t = lua.create_table()?;
            for item in items {
                let key = frame_to_lua(lua, item, protocol)?;
                if !key.is_nil() {
                    t.raw_set(key, true)?;
                }
            }
            single("set", Value::Table(t))?
        }
        Frame::Double(d) => single("double", Value::Number(*d))?,
        Frame::Boolean(b) => Value::Boolean(*b),
        Frame::BigNumber(digits) => {
            single("big_number", Value::String(lua.create_string(digits)?))?
        }
        Frame::Verbatim { format, text } => {
            let inner = lua.create_table()?;
            inner.raw_set("string", lua.create_string(text)?)?;
            inner.raw_set("format", lua.create_string(format)?)?;
            single("verbatim_string", Value::Table(inner))?
        }
        #[allow(unreachable_patterns)]
        _ => Value::Boolean(false),
    })
}

/// How a script's return value is encoded.
#[derive(Debug, Clone, Copy)]
pub struct ReplyStyle {
    /// The caller's protocol.
    pub caller: Protocol,
    /// The script's `redis.setresp` protocol, which decides how booleans are replied.
    pub script: Protocol,
}

/// Appends the reply for a Lua value as Redis's `luaReplyToRedisReply`, iteratively (no Rust recursion).
pub fn lua_to_reply(out: &mut Vec<u8>, value: &Value, style: ReplyStyle) {
    // Each pending value carries the Lua stack slots Redis would be using when converting it, so the
    // "reached lua stack limit" error lands at the same depth as in Redis.
    let mut pending: Vec<(Value, usize)> = vec![(value.clone(), REPLY_ROOT_SLOTS)];
    while let Some((v, slots)) = pending.pop() {
        if slots + 4 > LUA_STACK_SLOTS_MAX {
            reply::error(out, b"ERR reached lua stack limit");
            continue;
        }
        let Value::Table(t) = v else {
            scalar_to_reply(out, &v, style);
            continue;
        };
        let first = pending.len();
        table_to_reply(out, &t, style, slots, &mut pending);
        // Children were pushed in order; reverse them so they pop in order.
        pending[first..].reverse();
    }
}

/// Lua stack slots in use when Redis converts a script's result (the error handler and the result).
const REPLY_ROOT_SLOTS: usize = 2;
/// Lua's `LUAI_MAXCSTACK`: `lua_checkstack` fails past it.
const LUA_STACK_SLOTS_MAX: usize = 8000;

fn scalar_to_reply(out: &mut Vec<u8>, value: &Value, style: ReplyStyle) {
    let p = style.caller;
    match value {
        Value::String(s) => reply::bulk(out, &s.as_bytes()),
        Value::Boolean(b) => {
            if style.script == Protocol::Resp2 {
                if *b {
                    reply::integer(out, 1);
                } else {
                    reply::null(out, p);
                }
            } else {
                reply::boolean(out, p, *b);
            }
        }
        Value::Number(n) => reply::integer(out, number_to_i64(*n)),
        Value::Integer(n) => reply::integer(out, *n),
        _ => reply::null(out, p),
    }
}

/// C's `(long long)` cast as x86-64 performs it: out-of-range and NaN become `i64::MIN`.
pub fn number_to_i64(n: f64) -> i64 {
    if n.is_nan() || !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&n) {
        i64::MIN
    } else {
        n as i64
    }
}

fn field(t: &Table, key: &str) -> Value {
    t.raw_get(key).unwrap_or(Value::Nil)
}

/// Writes a table's reply header (or the whole reply for the single-field forms) and queues its children.
fn table_to_reply(
    out: &mut Vec<u8>,
    t: &Table,
    style: ReplyStyle,
    slots: usize,
    pending: &mut Vec<(Value, usize)>,
) {
    let p = style.caller;
    if let Value::String(e) = field(t, "err") {
        reply::error(out, &e.as_bytes());
        return;
    }
    if let Value::String(s) = field(t, "ok") {
        reply::simple(out, &s.as_bytes());
        return;
    }
    if as_number(&field(t, "double")).is_some() {
        // Read the number itself: mlua turns a subnormal (1e-320) into `Integer(0)` in its `Value`.
        let d: f64 = t.raw_get("double").unwrap_or(0.0);
        reply::double(out, p, d);
        return;
    }
    if let Value::String(s) = field(t, "big_number") {
        let mut digits = s.as_bytes().to_vec();
        for b in digits.iter_mut().filter(|b| **b == b'\r' || **b == b'\n') {
            *b = b' ';
        }
        reply::big_number(out, p, &digits);
        return;
    }
    if let Value::Table(v) = field(t, "verbatim_string") {
        if let (Value::String(f), Value::String(s)) = (field(&v, "format"), field(&v, "string")) {
            let f = f.as_bytes();
            let mut format = [0u8; 3];
            for (dst, src) in format.iter_mut().zip(f.iter()) {
                *dst = *src;
            }
            reply::verbatim(out, p, &format, &s.as_bytes());
            return;
        }
    }
    if let Value::Table(m) = field(t, "map") {
        let mut count = 0;
        for (k, v) in m.pairs::<Value, Value>().filter_map(Result::ok) {
            pending.push((k, slots + 4));
            pending.push((v, slots + 3));
            count += 1;
        }
        reply::map_len(out, p, count);
        return;
    }
    if let Value::Table(s) = field(t, "set") {
        let mut count = 0;
        for (k, _) in s.pairs::<Value, Value>().filter_map(Result::ok) {
            pending.push((k, slots + 3));
            count += 1;
        }
        reply::set_len(out, p, count);
        return;
    }
    let mut count = 0;
    loop {
        let v: Value = t.raw_get(count + 1).unwrap_or(Value::Nil);
        if v.is_nil() {
            break;
        }
        pending.push((v, slots + 1));
        count += 1;
    }
    reply::array_len(out, count);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g17(d: f64) -> String {
        let mut out = Vec::new();
        format_g17(&mut out, d);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn g17_matches_printf() {
        assert_eq!(g17(5.0), "5");
        assert_eq!(g17(1.5), "1.5");
        assert_eq!(g17(0.1), "0.10000000000000001");
        assert_eq!(g17(1e17), "1e+17");
        assert_eq!(g17(123456789012345678.0), "1.2345678901234568e+17");
        assert_eq!(g17(1e-5), "1.0000000000000001e-05");
        assert_eq!(g17(-3.25), "-3.25");
        assert_eq!(g17(0.0001), "0.0001");
    }

    #[test]
    fn error_table_codes() {
        let lua = Lua::new();
        let get = |m: &[u8]| -> String { error_table(&lua, m).unwrap().raw_get("err").unwrap() };
        assert_eq!(get(b"-WRONGTYPE bad"), "WRONGTYPE bad");
        assert_eq!(get(b"-NOSPACE"), "ERR NOSPACE");
        assert_eq!(get(b"plain text\r\n"), "ERR plain text");
    }
}
