//! Roberto Ierusalimschy's `struct` library as Redis bundles it: `struct.pack(fmt, ...)`,
//! `struct.unpack(fmt, s, [pos])`, `struct.size(fmt)`. Each function returns `ok, ...`; the prelude
//! raises on failure.

use crate::convert::as_number;
use mlua::{Lua, MultiValue, Table, Value};

/// Largest integral size (`i32`).
const INT_SIZE_MAX: usize = 32;
/// Native alignment bound (`!` without a number).
const ALIGN_MAX: usize = 8;

struct Header {
    little: bool,
    align: usize,
}

type Fail = String;

/// Reads an optional decimal count after an option.
fn getnum(fmt: &[u8], idx: &mut usize, default: usize) -> Result<usize, Fail> {
    if !fmt.get(*idx).is_some_and(u8::is_ascii_digit) {
        return Ok(default);
    }
    let mut a: usize = 0;
    while let Some(d) = fmt.get(*idx).filter(|d| d.is_ascii_digit()) {
        let digit = usize::from(d - b'0');
        if a > (i32::MAX as usize) / 10 || a * 10 > (i32::MAX as usize) - digit {
            return Err("integral size overflow".into());
        }
        a = a * 10 + digit;
        *idx += 1;
    }
    Ok(a)
}

fn optsize(opt: u8, fmt: &[u8], idx: &mut usize) -> Result<usize, Fail> {
    Ok(match opt {
        b'B' | b'b' => 1,
        b'H' | b'h' => 2,
        b'L' | b'l' | b'T' | b'd' => 8,
        b'f' => 4,
        b'x' => 1,
        b'c' => getnum(fmt, idx, 1)?,
        b'i' | b'I' => {
            let sz = getnum(fmt, idx, 4)?;
            if sz > INT_SIZE_MAX {
                return Err(format!(
                    "integral size {sz} is larger than limit of {INT_SIZE_MAX}"
                ));
            }
            sz
        }
        _ => 0,
    })
}

fn toalign(len: usize, h: &Header, opt: u8, size: usize) -> usize {
    if size == 0 || opt == b'c' {
        return 0;
    }
    let size = size.min(h.align);
    (size - (len & (size - 1))) & (size - 1)
}

fn control(opt: u8, fmt: &[u8], idx: &mut usize, h: &mut Header, func: &str) -> Result<(), Fail> {
    match opt {
        b' ' => {}
        b'>' => h.little = false,
        b'<' => h.little = true,
        b'!' => {
            let a = getnum(fmt, idx, ALIGN_MAX)?;
            if !a.is_power_of_two() {
                return Err(format!("alignment {a} is not a power of 2"));
            }
            h.align = a;
        }
        _ => {
            return Err(format!(
                "bad argument #1 to '{func}' (invalid format option '{}')",
                opt as char
            ));
        }
    }
    Ok(())
}

fn arg_number(args: &[Value], idx: usize, func: &str) -> Result<f64, Fail> {
    let v = args.get(idx).cloned().unwrap_or(Value::Nil);
    if let Some(n) = as_number(&v) {
        return Ok(n);
    }
    if let Value::String(s) = &v {
        if let Some(n) = s.to_str().ok().and_then(|t| t.trim().parse::<f64>().ok()) {
            return Ok(n);
        }
    }
    // b_pack pushes a nil marker after its arguments, so a missing one reads as nil.
    Err(format!(
        "bad argument #{} to '{func}' (number expected, got {})",
        idx + 1,
        v.type_name()
    ))
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Nil => "no value",
        other => other.type_name(),
    }
}

fn pack(args: &[Value]) -> Result<Vec<u8>, Fail> {
    let fmt = match args.first() {
        Some(Value::String(s)) => s.as_bytes().to_vec(),
        Some(v @ (Value::Number(_) | Value::Integer(_))) => {
            let mut b = Vec::new();
            crate::convert::format_g(&mut b, as_number(v).unwrap_or(0.0), 14);
            b
        }
        other => {
            let got = other.map_or("no value", type_name);
            return Err(format!(
                "bad argument #1 to 'pack' (string expected, got {got})"
            ));
        }
    };
    let mut h = Header {
        little: true,
        align: 1,
    };
    let mut out = Vec::new();
    let (mut idx, mut arg) = (0, 1);
    while idx < fmt.len() {
        let opt = fmt[idx];
        idx += 1;
        let mut size = optsize(opt, &fmt, &mut idx)?;
        let pad = toalign(out.len(), &h, opt, size);
        out.resize(out.len() + pad, 0);
        match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let n = arg_number(args, arg, "pack")?;
                arg += 1;
                let value = if n < 0.0 { n as i64 as u64 } else { n as u64 };
                let bytes: Vec<u8> = (0..size)
                    .map(|k| if k < 8 { (value >> (8 * k)) as u8 } else { 0 })
                    .collect();
                if h.little {
                    out.extend_from_slice(&bytes);
                } else {
                    out.extend(bytes.iter().rev());
                }
            }
            b'x' => out.push(0),
            b'f' | b'd' => {
                let n = arg_number(args, arg, "pack")?;
                arg += 1;
                let bytes = if opt == b'f' {
                    (n as f32).to_le_bytes().to_vec()
                } else {
                    n.to_le_bytes().to_vec()
                };
                if h.little {
                    out.extend_from_slice(&bytes);
                } else {
                    out.extend(bytes.iter().rev());
                }
            }
            b'c' | b's' => {
                let s = match args.get(arg) {
                    Some(Value::String(s)) => s.as_bytes().to_vec(),
                    Some(v @ (Value::Number(_) | Value::Integer(_))) => {
                        let mut b = Vec::new();
                        crate::convert::format_g(&mut b, as_number(v).unwrap_or(0.0), 14);
                        b
                    }
                    other => {
                        let got = other.map_or("nil", Value::type_name);
                        return Err(format!(
                            "bad argument #{} to 'pack' (string expected, got {got})",
                            arg + 1
                        ));
                    }
                };
                arg += 1;
                if size == 0 {
                    size = s.len();
                }
                if s.len() < size {
                    return Err(format!(
                        "bad argument #{} to 'pack' (string too short)",
                        arg + 1
                    ));
                }
                out.extend_from_slice(&s[..size]);
                if opt == b's' {
                    out.push(0);
                }
            }
            _ => control(opt, &fmt, &mut idx, &mut h, "pack")?,
        }
    }
    Ok(out)
}

fn unpack(lua: &Lua, fmt: &[u8], data: &[u8], pos: i64) -> Result<Vec<Value>, Fail> {
    if pos <= 0 {
        return Err("bad argument #3 to 'unpack' (offset must be 1 or greater)".into());
    }
    let mut pos = (pos - 1) as usize;
    let mut h = Header {
        little: true,
        align: 1,
    };
    let mut out: Vec<Value> = Vec::new();
    let short = || "bad argument #2 to 'unpack' (data string too short)".to_string();
    let lua_err = |e: mlua::Error| e.to_string();
    let mut idx = 0;
    while idx < fmt.len() {
        let opt = fmt[idx];
        idx += 1;
        let mut size = optsize(opt, fmt, &mut idx)?;
        pos += toalign(pos, &h, opt, size);
        if size > data.len() || pos > data.len() - size {
            return Err(short());
        }
        match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let bytes = &data[pos..pos + size];
                let mut l: u64 = 0;
                let ordered: Vec<u8> = if h.little {
                    bytes.iter().rev().copied().collect()
                } else {
                    bytes.to_vec()
                };
                for b in ordered {
                    l = (l << 8) | u64::from(b);
                }
                let n = if opt.is_ascii_lowercase() && size > 0 && size < 8 {
                    let shift = 64 - size * 8;
                    (((l << shift) as i64) >> shift) as f64
                } else if opt.is_ascii_lowercase() {
                    l as i64 as f64
                } else {
                    l as f64
                };
                out.push(Value::Number(n));
            }
            b'x' => {}
            b'f' | b'd' => {
                let mut bytes = data[pos..pos + size].to_vec();
                if !h.little {
                    bytes.reverse();
                }
                let n = if opt == b'f' {
                    f64::from(f32::from_le_bytes(
                        bytes[..4].try_into().map_err(|_| short())?,
                    ))
                } else {
                    f64::from_le_bytes(bytes[..8].try_into().map_err(|_| short())?)
                };
                out.push(Value::Number(n));
            }
            b'c' => {
                if size == 0 {
                    let prev = out.last().and_then(as_number);
                    let Some(n) = prev else {
                        return Err("format 'c0' needs a previous size".into());
                    };
                    out.pop();
                    size = n.max(0.0) as usize;
                    if size > data.len() || pos > data.len() - size {
                        return Err(short());
                    }
                }
                out.push(Value::String(
                    lua.create_string(&data[pos..pos + size]).map_err(lua_err)?,
                ));
            }
            b's' => {
                let Some(end) = data[pos..].iter().position(|&b| b == 0) else {
                    return Err("unfinished string in data".into());
                };
                out.push(Value::String(
                    lua.create_string(&data[pos..pos + end]).map_err(lua_err)?,
                ));
                size = end + 1;
            }
            _ => control(opt, fmt, &mut idx, &mut h, "unpack")?,
        }
        pos += size;
    }
    out.push(Value::Number((pos + 1) as f64));
    Ok(out)
}

fn size(fmt: &[u8]) -> Result<usize, Fail> {
    let mut h = Header {
        little: true,
        align: 1,
    };
    let (mut pos, mut idx) = (0, 0);
    while idx < fmt.len() {
        let opt = fmt[idx];
        idx += 1;
        let size = optsize(opt, fmt, &mut idx)?;
        pos += toalign(pos, &h, opt, size);
        if opt == b's' {
            return Err("bad argument #1 to 'size' (option 's' has no fixed size)".into());
        } else if opt == b'c' && size == 0 {
            return Err("bad argument #1 to 'size' (option 'c0' has no fixed size)".into());
        }
        if !opt.is_ascii_alphanumeric() {
            control(opt, fmt, &mut idx, &mut h, "size")?;
        }
        pos += size;
    }
    Ok(pos)
}

fn result(lua: &Lua, r: Result<Vec<Value>, Fail>) -> mlua::Result<MultiValue> {
    match r {
        Ok(mut values) => {
            values.insert(0, Value::Boolean(true));
            Ok(MultiValue::from_vec(values))
        }
        Err(e) => Ok(MultiValue::from_vec(vec![
            Value::Boolean(false),
            Value::String(lua.create_string(&e)?),
        ])),
    }
}

/// Builds the `struct` table.
pub(crate) fn create(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.set(
        "pack",
        lua.create_function(|lua, args: MultiValue| {
            let args: Vec<Value> = args.into_iter().collect();
            let r = pack(&args).and_then(|b| {
                lua.create_string(&b)
                    .map(|s| vec![Value::String(s)])
                    .map_err(|e| e.to_string())
            });
            result(lua, r)
        })?,
    )?;
    t.set(
        "unpack",
        lua.create_function(|lua, (fmt, data, pos): (Value, Value, Option<i64>)| {
            let r = match (&fmt, &data) {
                (Value::String(f), Value::String(d)) => {
                    unpack(lua, &f.as_bytes(), &d.as_bytes(), pos.unwrap_or(1))
                }
                (Value::String(_), other) => Err(format!(
                    "bad argument #2 to 'unpack' (string expected, got {})",
                    type_name(other)
                )),
                (other, _) => Err(format!(
                    "bad argument #1 to 'unpack' (string expected, got {})",
                    type_name(other)
                )),
            };
            result(lua, r)
        })?,
    )?;
    t.set(
        "size",
        lua.create_function(|lua, fmt: Value| {
            let r = match &fmt {
                Value::String(f) => size(&f.as_bytes()).map(|n| vec![Value::Number(n as f64)]),
                other => Err(format!(
                    "bad argument #1 to 'size' (string expected, got {})",
                    type_name(other)
                )),
            };
            result(lua, r)
        })?,
    )?;
    Ok(t)
}
