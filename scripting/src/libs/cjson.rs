//! lua-cjson 2.1.0 as Redis bundles it (`cjson.encode`, `cjson.decode`, `cjson.null` and the
//! configuration functions of `cjson_config`).

use super::cjson_config::{self, Config, SharedConfig};
use crate::convert::format_g;
use mlua::{LightUserData, Lua, Table, Value};

/// Builds the `cjson` table.
pub(crate) fn create(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    let null = Value::LightUserData(LightUserData(std::ptr::null_mut()));
    t.set("null", null)?;
    t.set("_NAME", "cjson")?;
    t.set("_VERSION", "2.1.0")?;
    let config = SharedConfig::default();
    cjson_config::install(lua, &t, &config)?;
    let encode_config = config.clone();
    t.set(
        "encode",
        lua.create_function(move |lua, v: Value| {
            let mut out = Vec::new();
            match encode(&mut out, &v, 0, &encode_config.get()) {
                Ok(()) => Ok((Value::String(lua.create_string(&out)?), Value::Nil)),
                Err(e) => Ok((Value::Nil, Value::String(lua.create_string(&e)?))),
            }
        })?,
    )?;
    t.set(
        "decode",
        lua.create_function(move |lua, s: mlua::String| {
            let bytes = s.as_bytes();
            let mut d = Decoder {
                lua,
                src: &bytes,
                pos: 0,
                config: config.get(),
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

fn encode(out: &mut Vec<u8>, v: &Value, depth: usize, c: &Config) -> Result<(), String> {
    match v {
        Value::Nil => out.extend_from_slice(b"null"),
        Value::LightUserData(p) if p.0.is_null() => out.extend_from_slice(b"null"),
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Number(n) => encode_number(out, *n, c)?,
        Value::Integer(n) => encode_number(out, *n as f64, c)?,
        Value::String(s) => encode_string(out, &s.as_bytes()),
        Value::Table(t) => {
            if depth + 1 > c.encode_max_depth as usize {
                return Err(format!(
                    "Cannot serialise, excessive nesting ({})",
                    depth + 1
                ));
            }
            encode_table(out, t, depth + 1, c)?;
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

/// A number as lua-cjson's `json_append_number`: NaN and infinities per `encode_invalid_numbers`.
fn encode_number(out: &mut Vec<u8>, n: f64, c: &Config) -> Result<(), String> {
    if n.is_finite() {
        format_g(out, n, c.encode_number_precision as usize);
        return Ok(());
    }
    match c.encode_invalid_numbers {
        0 => return Err("Cannot serialise number: must not be NaN or Inf".into()),
        1 if n.is_nan() => out.extend_from_slice(b"nan"),
        1 => out.extend_from_slice(if n > 0.0 { b"inf" } else { b"-inf" }),
        _ => out.extend_from_slice(b"null"),
    }
    Ok(())
}

fn encode_table(out: &mut Vec<u8>, t: &Table, depth: usize, c: &Config) -> Result<(), String> {
    // Array when every key is a positive integer; sparse arrays beyond lua-cjson's ratio are refused.
    // Two passes holding one pair at a time: a table may have more entries than Lua's stack has slots
    // for references.
    let mut max = 0f64;
    let mut is_array = true;
    let mut count = 0usize;
    for (k, _) in t.pairs::<Value, Value>().filter_map(Result::ok) {
        count += 1;
        match k {
            Value::Number(n) if n >= 1.0 && n.fract() == 0.0 => max = max.max(n),
            Value::Integer(n) if n >= 1 => max = max.max(n as f64),
            _ => {
                is_array = false;
                break;
            }
        }
    }
    let items = count as f64;
    let too_sparse = c.sparse_ratio > 0
        && max > items * f64::from(c.sparse_ratio)
        && max > f64::from(c.sparse_safe);
    if too_sparse && is_array && !c.sparse_convert {
        return Err("Cannot serialise table: excessively sparse array".into());
    }
    if is_array && count > 0 && !too_sparse {
        out.push(b'[');
        for idx in 1..=(max as usize) {
            if idx > 1 {
                out.push(b',');
            }
            let v: Value = t.raw_get(idx).unwrap_or(Value::Nil);
            encode(out, &v, depth, c)?;
        }
        out.push(b']');
        return Ok(());
    }
    out.push(b'{');
    let pairs = t.pairs::<Value, Value>().filter_map(Result::ok);
    for (idx, (k, v)) in pairs.enumerate() {
        if idx > 0 {
            out.push(b',');
        }
        match k {
            Value::String(s) => encode_string(out, &s.as_bytes()),
            Value::Number(n) => {
                let mut key = Vec::new();
                format_g(&mut key, n, c.encode_number_precision as usize);
                encode_string(out, &key);
            }
            Value::Integer(n) => {
                let mut key = Vec::new();
                format_g(&mut key, n as f64, c.encode_number_precision as usize);
                encode_string(out, &key);
            }
            _ => return Err("Cannot serialise table: table key must be a number or string".into()),
        }
        out.push(b':');
        encode(out, &v, depth, c)?;
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
    config: Config,
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
                if depth + 1 > self.config.decode_max_depth as usize {
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
                if depth + 1 > self.config.decode_max_depth as usize {
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
        // lua-cjson's tokenizer: `-` or a digit starts a number (refused when it is an invalid one and
        // decode_invalid_numbers is off); with it on, `+`, inf and nan are numbers too.
        let numeric = matches!(rest.first(), Some(b'-' | b'0'..=b'9'));
        let invalid = is_invalid_number(rest);
        if numeric && invalid && !self.config.decode_invalid_numbers {
            return Err(format!(
                "Expected value but found invalid number at character {}",
                self.pos + 1
            ));
        }
        let accepted = numeric || (invalid && self.config.decode_invalid_numbers);
        if !accepted {
            return Err(self.err("value"));
        }
        match strtod_prefix(rest) {
            Some((n, len)) => {
                self.pos += len;
                Ok(Value::Number(n))
            }
            None => Err(format!(
                "Expected value but found invalid number at character {}",
                self.pos + 1
            )),
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

/// lua-cjson's `json_is_invalid_number`: a leading `+`, hexadecimal, a leading zero, inf or nan.
fn is_invalid_number(s: &[u8]) -> bool {
    let s = match s.first() {
        Some(b'+') => return true,
        Some(b'-') => &s[1..],
        _ => s,
    };
    match s.first() {
        Some(b'0') => matches!(s.get(1), Some(b'x' | b'X' | b'0'..=b'9')),
        Some(c) if *c <= b'9' => false,
        _ => {
            let head = s.get(..3).map(|h| h.to_ascii_lowercase());
            matches!(head.as_deref(), Some(b"inf" | b"nan"))
        }
    }
}

/// The number `strtod` reads at the start of `s` and its length: decimal with exponent, hexadecimal
/// integers, `inf`/`infinity`/`nan`, with an optional sign.
fn strtod_prefix(s: &[u8]) -> Option<(f64, usize)> {
    let (sign, start) = match s.first() {
        Some(b'-') => (-1.0, 1),
        Some(b'+') => (1.0, 1),
        _ => (1.0, 0),
    };
    let rest = &s[start..];
    let starts_with =
        |word: &[u8]| rest.len() >= word.len() && rest[..word.len()].eq_ignore_ascii_case(word);
    if starts_with(b"infinity") {
        return Some((sign * f64::INFINITY, start + 8));
    }
    if starts_with(b"inf") {
        return Some((sign * f64::INFINITY, start + 3));
    }
    if starts_with(b"nan") {
        return Some((f64::NAN, start + 3));
    }
    if rest.len() > 2 && (rest[1] | 0x20) == b'x' && rest[0] == b'0' && rest[2].is_ascii_hexdigit()
    {
        let digits = rest[2..]
            .iter()
            .take_while(|b| b.is_ascii_hexdigit())
            .count();
        let value = rest[2..2 + digits].iter().fold(0f64, |acc, b| {
            acc * 16.0 + f64::from((*b as char).to_digit(16).unwrap_or(0))
        });
        return Some((sign * value, start + 2 + digits));
    }
    let digits = |from: usize| {
        rest[from..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count()
    };
    let int_len = digits(0);
    let mut len = int_len;
    let mut frac_len = 0;
    if rest.get(len) == Some(&b'.') {
        frac_len = digits(len + 1);
        len += 1 + frac_len;
    }
    if int_len + frac_len == 0 {
        return None;
    }
    if matches!(rest.get(len), Some(b'e' | b'E')) {
        let sign_len = usize::from(matches!(rest.get(len + 1), Some(b'+' | b'-')));
        let exp_len = digits(len + 1 + sign_len);
        if exp_len > 0 {
            len += 1 + sign_len + exp_len;
        }
    }
    let text = std::str::from_utf8(&rest[..len]).ok()?;
    let value: f64 = text.parse().ok()?;
    Some((sign * value, start + len))
}
