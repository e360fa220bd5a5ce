//! lua-cjson 2.1.0 as Redis bundles it (`cjson.encode`, `cjson.decode`, `cjson.null`), default settings.

use crate::convert::format_g;
use mlua::{LightUserData, Lua, Table, Value};

/// Nesting allowed by encode and decode (lua-cjson's default of 1000).
const NESTING_MAX: usize = 1000;

/// Builds the `cjson` table.
pub(crate) fn create(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    let null = Value::LightUserData(LightUserData(std::ptr::null_mut()));
    t.set("null", null)?;
    t.set(
        "encode",
        lua.create_function(|lua, v: Value| {
            let mut out = Vec::new();
            match encode(&mut out, &v, 0) {
                Ok(()) => Ok((Value::String(lua.create_string(&out)?), Value::Nil)),
                Err(e) => Ok((Value::Nil, Value::String(lua.create_string(&e)?))),
            }
        })?,
    )?;
    t.set(
        "decode",
        lua.create_function(|lua, s: mlua::String| {
            let bytes = s.as_bytes();
            let mut d = Decoder {
                lua,
                src: &bytes,
                pos: 0,
            };
            match d.value(0).and_then(|v| {
                d.skip_ws();
                if d.pos < d.src.len() {
                    Err(d.err("the end"))
                } else {
                    Ok(v)
                }
            }) {
                Ok(v) => Ok((v, Value::Nil)),
                Err(e) => Ok((Value::Nil, Value::String(lua.create_string(&e)?))),
            }
        })?,
    )?;
    Ok(t)
}

fn encode(out: &mut Vec<u8>, v: &Value, depth: usize) -> Result<(), String> {
    match v {
        Value::Nil => out.extend_from_slice(b"null"),
        Value::LightUserData(p) if p.0.is_null() => out.extend_from_slice(b"null"),
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Number(n) => {
            if n.is_nan() || n.is_infinite() {
                return Err("Cannot serialise number: must not be NaN or Inf".into());
            }
            format_g(out, *n, 14);
        }
        Value::Integer(n) => format_g(out, *n as f64, 14),
        Value::String(s) => encode_string(out, &s.as_bytes()),
        Value::Table(t) => {
            if depth + 1 > NESTING_MAX {
                return Err(format!(
                    "Cannot serialise, excessive nesting ({})",
                    depth + 1
                ));
            }
            encode_table(out, t, depth + 1)?;
        }
        other => {
            return Err(format!(
                "Cannot serialise {}: type not supported",
                other.type_name()
            ))
        }
    }
    Ok(())
}

fn encode_table(out: &mut Vec<u8>, t: &Table, depth: usize) -> Result<(), String> {
    let pairs: Vec<(Value, Value)> = t.pairs::<Value, Value>().filter_map(Result::ok).collect();
    // Array when every key is a positive integer; sparse arrays beyond lua-cjson's ratio are refused.
    let mut max = 0f64;
    let mut is_array = true;
    for (k, _) in &pairs {
        match k {
            Value::Number(n) if *n >= 1.0 && n.fract() == 0.0 => max = max.max(*n),
            Value::Integer(n) if *n >= 1 => max = max.max(*n as f64),
            _ => {
                is_array = false;
                break;
            }
        }
    }
    if is_array && !pairs.is_empty() {
        if max > 10.0 && max > (pairs.len() * 2) as f64 {
            return Err("Cannot serialise table: excessively sparse array".into());
        }
        out.push(b'[');
        for idx in 1..=(max as usize) {
            if idx > 1 {
                out.push(b',');
            }
            let v: Value = t.raw_get(idx).unwrap_or(Value::Nil);
            encode(out, &v, depth)?;
        }
        out.push(b']');
        return Ok(());
    }
    out.push(b'{');
    for (idx, (k, v)) in pairs.iter().enumerate() {
        if idx > 0 {
            out.push(b',');
        }
        match k {
            Value::String(s) => encode_string(out, &s.as_bytes()),
            Value::Number(n) => {
                let mut key = Vec::new();
                format_g(&mut key, *n, 14);
                encode_string(out, &key);
            }
            Value::Integer(n) => {
                let mut key = Vec::new();
                format_g(&mut key, *n as f64, 14);
                encode_string(out, &key);
            }
            _ => return Err("Cannot serialise table: table key must be a number or string".into()),
        }
        out.push(b':');
        encode(out, v, depth)?;
    }
    out.push(b'}');
    Ok(())
}

fn encode_string(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for &b in s {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' => out.extend_from_slice(b"\\/"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            8 => out.extend_from_slice(b"\\b"),
            12 => out.extend_from_slice(b"\\f"),
            0..=31 | 127 => out.extend_from_slice(format!("\\u{b:04x}").as_bytes()),
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

struct Decoder<'a> {
    lua: &'a Lua,
    src: &'a [u8],
    pos: usize,
}

impl Decoder<'_> {
    /// lua-cjson's "Expected X but found <token> at character N", naming the token at the position.
    fn err(&self, expected: &str) -> String {
        let rest = &self.src[self.pos.min(self.src.len())..];
        let found = match rest.first() {
            None => "T_END",
            Some(b'{') => "T_OBJ_BEGIN",
            Some(b'}') => "T_OBJ_END",
            Some(b'[') => "T_ARR_BEGIN",
            Some(b']') => "T_ARR_END",
            Some(b'"') => "T_STRING",
            Some(b':') => "T_COLON",
            Some(b',') => "T_COMMA",
            Some(b'-' | b'0'..=b'9') => "T_NUMBER",
            Some(_) if rest.starts_with(b"true") || rest.starts_with(b"false") => "T_BOOLEAN",
            Some(_) if rest.starts_with(b"null") => "T_NULL",
            Some(_) => "invalid token",
        };
        format!(
            "Expected {expected} but found {found} at character {}",
            self.pos + 1
        )
    }

    fn skip_ws(&mut self) {
        while self
            .src
            .get(self.pos)
            .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        {
            self.pos += 1;
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, String> {
        self.skip_ws();
        let lua = self.lua;
        let lua_err = |e: mlua::Error| e.to_string();
        match self.src.get(self.pos) {
            Some(b'{') => {
                if depth + 1 > NESTING_MAX {
                    return Err(format!(
                        "Found too many nested data structures ({}) at character {}",
                        depth + 1,
                        self.pos + 1
                    ));
                }
                self.pos += 1;
                let t = lua.create_table().map_err(lua_err)?;
                self.skip_ws();
                if self.src.get(self.pos) == Some(&b'}') {
                    self.pos += 1;
                    return Ok(Value::Table(t));
                }
                loop {
                    self.skip_ws();
                    if self.src.get(self.pos) != Some(&b'"') {
                        return Err(self.err("object key string"));
                    }
                    let key = self.string()?;
                    self.skip_ws();
                    if self.src.get(self.pos) != Some(&b':') {
                        return Err(self.err("colon"));
                    }
                    self.pos += 1;
                    let v = self.value(depth + 1)?;
                    t.raw_set(lua.create_string(&key).map_err(lua_err)?, v)
                        .map_err(lua_err)?;
                    self.skip_ws();
                    match self.src.get(self.pos) {
                        Some(b',') => self.pos += 1,
                        Some(b'}') => {
                            self.pos += 1;
                            return Ok(Value::Table(t));
                        }
                        _ => return Err(self.err("comma or object end")),
                    }
                }
            }
            Some(b'[') => {
                if depth + 1 > NESTING_MAX {
                    return Err(format!(
                        "Found too many nested data structures ({}) at character {}",
                        depth + 1,
                        self.pos + 1
                    ));
                }
                self.pos += 1;
                let t = lua.create_table().map_err(lua_err)?;
                self.skip_ws();
                if self.src.get(self.pos) == Some(&b']') {
                    self.pos += 1;
                    return Ok(Value::Table(t));
                }
                let mut idx = 1;
                loop {
                    let v = self.value(depth + 1)?;
                    t.raw_set(idx, v).map_err(lua_err)?;
                    idx += 1;
                    self.skip_ws();
                    match self.src.get(self.pos) {
                        Some(b',') => self.pos += 1,
                        Some(b']') => {
                            self.pos += 1;
                            return Ok(Value::Table(t));
                        }
                        _ => return Err(self.err("comma or array end")),
                    }
                }
            }
            Some(b'"') => {
                let s = self.string()?;
                Ok(Value::String(lua.create_string(&s).map_err(lua_err)?))
            }
            Some(_) => self.literal(),
            None => Err(self.err("value")),
        }
    }

    fn literal(&mut self) -> Result<Value, String> {
        let rest = &self.src[self.pos..];
        for (word, value) in [
            (&b"true"[..], Value::Boolean(true)),
            (b"false", Value::Boolean(false)),
            (
                b"null",
                Value::LightUserData(LightUserData(std::ptr::null_mut())),
            ),
        ] {
            if rest.starts_with(word) {
                self.pos += word.len();
                return Ok(value);
            }
        }
        let len = rest
            .iter()
            .position(|b| !matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
            .unwrap_or(rest.len());
        let text = std::str::from_utf8(&rest[..len]).unwrap_or("");
        match text.parse::<f64>() {
            Ok(n) if len > 0 => {
                self.pos += len;
                Ok(Value::Number(n))
            }
            _ => Err(self.err("value")),
        }
    }

    fn string(&mut self) -> Result<Vec<u8>, String> {
        let start = self.pos;
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            let Some(&b) = self.src.get(self.pos) else {
                self.pos = start;
                return Err(format!(
                    "Expected value but found invalid string at character {}",
                    start + 1
                ));
            };
            self.pos += 1;
            match b {
                b'"' => return Ok(out),
                b'\\' => {
                    let Some(&e) = self.src.get(self.pos) else {
                        continue;
                    };
                    self.pos += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'u' => {
                            let hex = self
                                .src
                                .get(self.pos..self.pos + 4)
                                .and_then(|h| std::str::from_utf8(h).ok());
                            let code = hex.and_then(|h| u32::from_str_radix(h, 16).ok());
                            let Some(code) = code else {
                                return Err(format!("Expected value but found invalid unicode escape code at character {}", start + 1));
                            };
                            self.pos += 4;
                            let c = char::from_u32(code).unwrap_or('\u{fffd}');
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                        }
                        other => out.push(other),
                    }
                }
                _ => out.push(b),
            }
        }
    }
}
