//! lua-cmsgpack 0.4.0 as Redis bundles it: `cmsgpack.pack(...)`, `unpack(s)`, `unpack_one(s, [offset])`,
//! `unpack_limit(s, limit, [offset])`. Each function returns `ok, ...` and the prelude raises on failure.

use super::args::{check_bytes, check_number, opt_integer};
use crate::convert::as_number;
use mlua::{Lua, MultiValue, Table, Value};

/// Tables nested deeper than this are packed as nil (the library's guard against cycles).
const NESTING_MAX: usize = 16;
/// Unpack nesting bound, protecting the Rust stack (the C library is bounded by the Lua stack).
const UNPACK_DEPTH_MAX: usize = 1000;

/// Builds the `cmsgpack` table.
pub(crate) fn create(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.set(
        "pack",
        lua.create_function(|lua, args: MultiValue| {
            if args.is_empty() {
                return fail(
                    lua,
                    "bad argument #0 to '?' (MessagePack pack needs input.)",
                );
            }
            let mut out = Vec::new();
            for v in args.iter() {
                encode(&mut out, v, 0);
            }
            Ok(MultiValue::from_vec(vec![
                Value::Boolean(true),
                Value::String(lua.create_string(&out)?),
            ]))
        })?,
    )?;
    t.set(
        "unpack",
        lua.create_function(|lua, args: MultiValue| match check_bytes(&args, 1) {
            Ok(s) => unpack(lua, &s, 0, 0),
            Err(msg) => fail(lua, &msg),
        })?,
    )?;
    t.set(
        "unpack_one",
        lua.create_function(|lua, args: MultiValue| {
            let parsed = check_bytes(&args, 1).and_then(|s| Ok((s, opt_integer(&args, 2, 0)?)));
            match parsed {
                Ok((s, offset)) => unpack(lua, &s, 1, offset),
                Err(msg) => fail(lua, &msg),
            }
        })?,
    )?;
    t.set(
        "unpack_limit",
        lua.create_function(|lua, args: MultiValue| {
            let parsed = check_bytes(&args, 1).and_then(|s| {
                let limit = check_number(&args, 2)? as i64;
                Ok((s, limit, opt_integer(&args, 3, 0)?))
            });
            match parsed {
                Ok((s, limit, offset)) => unpack(lua, &s, limit, offset),
                Err(msg) => fail(lua, &msg),
            }
        })?,
    )?;
    t.set("_NAME", "cmsgpack")?;
    t.set("_VERSION", "lua-cmsgpack 0.4.0")?;
    t.set("_COPYRIGHT", "Copyright (C) 2012, Salvatore Sanfilippo")?;
    t.set("_DESCRIPTION", "MessagePack C implementation for Lua")?;
    Ok(t)
}

fn fail(lua: &Lua, msg: &str) -> mlua::Result<MultiValue> {
    Ok(MultiValue::from_vec(vec![
        Value::Boolean(false),
        Value::String(lua.create_string(msg)?),
    ]))
}

fn encode(out: &mut Vec<u8>, v: &Value, level: usize) {
    match v {
        Value::String(s) => encode_bytes(out, &s.as_bytes()),
        Value::Boolean(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Number(_) | Value::Integer(_) => {
            let n = as_number(v).unwrap_or(0.0);
            if n.is_finite() && (n as i64) as f64 == n {
                encode_int(out, n as i64);
            } else {
                encode_double(out, n);
            }
        }
        Value::Table(t) if level < NESTING_MAX => encode_table(out, t, level),
        _ => out.push(0xc0),
    }
}

fn encode_bytes(out: &mut Vec<u8>, s: &[u8]) {
    let len = s.len();
    if len < 32 {
        out.push(0xa0 | len as u8);
    } else if len <= 0xff {
        out.extend_from_slice(&[0xd9, len as u8]);
    } else if len <= 0xffff {
        out.push(0xda);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0xdb);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
    out.extend_from_slice(s);
}

fn encode_double(out: &mut Vec<u8>, d: f64) {
    let f = d as f32;
    if f64::from(f) == d {
        out.push(0xca);
        out.extend_from_slice(&f.to_be_bytes());
    } else {
        out.push(0xcb);
        out.extend_from_slice(&d.to_be_bytes());
    }
}

fn encode_int(out: &mut Vec<u8>, n: i64) {
    if n >= 0 {
        if n <= 127 {
            out.push(n as u8);
        } else if n <= 0xff {
            out.extend_from_slice(&[0xcc, n as u8]);
        } else if n <= 0xffff {
            out.push(0xcd);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        } else if n <= 0xffff_ffff {
            out.push(0xce);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        } else {
            out.push(0xcf);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    } else if n >= -32 {
        out.push(n as i8 as u8);
    } else if n >= -128 {
        out.extend_from_slice(&[0xd0, n as i8 as u8]);
    } else if n >= -32768 {
        out.push(0xd1);
        out.extend_from_slice(&(n as i16).to_be_bytes());
    } else if n >= -2_147_483_648 {
        out.push(0xd2);
        out.extend_from_slice(&(n as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn encode_len(out: &mut Vec<u8>, n: usize, fix: u8, op16: u8) {
    if n <= 15 {
        out.push(fix | n as u8);
    } else if n <= 0xffff {
        out.push(op16);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(op16 + 1);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
}

/// Encodes a table as lua-cmsgpack does: an array when its keys are exactly 1..n, a map otherwise. Two
/// passes over the table, holding one pair at a time (a table may have more entries than Lua's stack
/// has slots for references).
fn encode_table(out: &mut Vec<u8>, t: &Table, level: usize) {
    let (mut count, mut max, mut is_array) = (0usize, 0f64, true);
    for (k, _) in t.pairs::<Value, Value>().filter_map(Result::ok) {
        count += 1;
        match as_number(&k) {
            Some(n) if n > 0.0 && n <= f64::from(i32::MAX) && n.fract() == 0.0 => max = max.max(n),
            _ => is_array = false,
        }
    }
    if is_array && max as usize == count {
        encode_len(out, count, 0x90, 0xdc);
        for idx in 1..=count {
            let v: Value = t.raw_get(idx).unwrap_or(Value::Nil);
            encode(out, &v, level + 1);
        }
    } else {
        encode_len(out, count, 0x80, 0xde);
        for (k, v) in t.pairs::<Value, Value>().filter_map(Result::ok) {
            encode(out, &k, level + 1);
            encode(out, &v, level + 1);
        }
    }
}

enum DecodeError {
    Eof,
    BadFormat,
    Lua(mlua::Error),
}

impl From<mlua::Error> for DecodeError {
    fn from(e: mlua::Error) -> Self {
        DecodeError::Lua(e)
    }
}

struct Cursor<'a> {
    lua: &'a Lua,
    buf: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], DecodeError> {
        let end = self.pos.checked_add(n).ok_or(DecodeError::Eof)?;
        let s = self.buf.get(self.pos..end).ok_or(DecodeError::Eof)?;
        self.pos = end;
        Ok(s)
    }

    fn be(&mut self, n: usize) -> Result<u64, DecodeError> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }

    fn value(&mut self, depth: usize) -> Result<Value, DecodeError> {
        if depth > UNPACK_DEPTH_MAX {
            return Err(DecodeError::BadFormat);
        }
        let first = self.take(1)?[0];
        let lua = self.lua;
        let num = |n: f64| Ok(Value::Number(n));
        match first {
            0xcc => num(self.be(1)? as f64),
            0xd0 => num(f64::from(self.be(1)? as u8 as i8)),
            0xcd => num(self.be(2)? as f64),
            0xd1 => num(f64::from(self.be(2)? as u16 as i16)),
            0xce => num(self.be(4)? as f64),
            0xd2 => num(f64::from(self.be(4)? as u32 as i32)),
            0xcf => num(self.be(8)? as f64),
            0xd3 => num(self.be(8)? as i64 as f64),
            0xc0 => Ok(Value::Nil),
            0xc3 => Ok(Value::Boolean(true)),
            0xc2 => Ok(Value::Boolean(false)),
            0xca => num(f64::from(f32::from_bits(self.be(4)? as u32))),
            0xcb => num(f64::from_bits(self.be(8)?)),
            0xd9..=0xdb => {
                let len = self.be(1 << (first - 0xd9))? as usize;
                Ok(Value::String(lua.create_string(self.take(len)?)?))
            }
            0xdc | 0xdd => {
                let len = self.be(if first == 0xdc { 2 } else { 4 })? as usize;
                self.array(len, depth)
            }
            0xde | 0xdf => {
                let len = self.be(if first == 0xde { 2 } else { 4 })? as usize;
                self.map(len, depth)
            }
            b if b & 0x80 == 0 => num(f64::from(b)),
            b if b & 0xe0 == 0xe0 => num(f64::from(b as i8)),
            b if b & 0xe0 == 0xa0 => Ok(Value::String(
                lua.create_string(self.take(usize::from(b & 0x1f))?)?,
            )),
            b if b & 0xf0 == 0x90 => self.array(usize::from(b & 0xf), depth),
            b if b & 0xf0 == 0x80 => self.map(usize::from(b & 0xf), depth),
            _ => Err(DecodeError::BadFormat),
        }
    }

    fn array(&mut self, len: usize, depth: usize) -> Result<Value, DecodeError> {
        let t = self.lua.create_table()?;
        for idx in 1..=len {
            let v = self.value(depth + 1)?;
            t.raw_set(idx, v)?;
        }
        Ok(Value::Table(t))
    }

    fn map(&mut self, len: usize, depth: usize) -> Result<Value, DecodeError> {
        let t = self.lua.create_table()?;
        for _ in 0..len {
            let k = self.value(depth + 1)?;
            let v = self.value(depth + 1)?;
            if k.is_nil() {
                return Err(DecodeError::Lua(mlua::Error::runtime("table index is nil")));
            }
            t.raw_set(k, v)?;
        }
        Ok(Value::Table(t))
    }
}

fn unpack(lua: &Lua, buf: &[u8], limit: i64, offset: i64) -> mlua::Result<MultiValue> {
    if offset < 0 || limit < 0 {
        let msg = format!(
            "Invalid request to unpack with offset of {offset} and limit of {}.",
            buf.len()
        );
        return fail(lua, &msg);
    }
    if offset as u64 > buf.len() as u64 {
        return fail(
            lua,
            &format!(
                "Start offset {offset} greater than input length {}.",
                buf.len()
            ),
        );
    }
    let decode_all = limit == 0 && offset == 0;
    let limit = if decode_all {
        i64::from(i32::MAX)
    } else {
        limit
    };
    let mut cur = Cursor {
        lua,
        buf,
        pos: offset as usize,
    };
    let mut values = vec![Value::Boolean(true)];
    let mut count = 0;
    while cur.pos < buf.len() && count < limit {
        match cur.value(0) {
            Ok(v) => values.push(v),
            Err(DecodeError::Eof) => return fail(lua, "Missing bytes in input."),
            Err(DecodeError::BadFormat) => return fail(lua, "Bad data format in input."),
            Err(DecodeError::Lua(e)) => return fail(lua, &e.to_string()),
        }
        count += 1;
    }
    if !decode_all {
        let next = if cur.pos == buf.len() {
            -1
        } else {
            cur.pos as i64
        };
        values.insert(1, Value::Number(next as f64));
    }
    Ok(MultiValue::from_vec(values))
}
