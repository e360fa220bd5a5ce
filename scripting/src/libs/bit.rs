//! LuaBitOp 1.0.2 (`bit.*`): 32-bit operations on Lua numbers.

use super::args::{check_number, outcome};
use mlua::{Lua, MultiValue, Table, Value};

/// LuaBitOp's number normalisation: round half to even, keep the low 32 bits, as a signed value.
fn tobit(n: f64) -> i32 {
    if !n.is_finite() {
        return 0;
    }
    n.round_ties_even().rem_euclid(4_294_967_296.0) as u32 as i32
}

/// A `bit` function over its checked arguments.
type BitFn = fn(&MultiValue) -> Result<i32, String>;

/// Folds `op` over one or more numbers (band, bor, bxor).
fn fold(args: &MultiValue, op: fn(i32, i32) -> i32) -> Result<i32, String> {
    let mut acc = tobit(check_number(args, 1)?);
    for n in 2..=args.len() {
        acc = op(acc, tobit(check_number(args, n)?));
    }
    Ok(acc)
}

/// A shift or rotation of argument 1 by argument 2 (mod 32).
fn shift(args: &MultiValue, op: fn(i32, u32) -> i32) -> Result<i32, String> {
    let n = tobit(check_number(args, 1)?);
    let s = tobit(check_number(args, 2)?);
    Ok(op(n, (s & 31) as u32))
}

const FUNCTIONS: &[(&str, BitFn)] = &[
    ("tobit", |a| Ok(tobit(check_number(a, 1)?))),
    ("bnot", |a| Ok(!tobit(check_number(a, 1)?))),
    ("bswap", |a| Ok(tobit(check_number(a, 1)?).swap_bytes())),
    ("band", |a| fold(a, |x, y| x & y)),
    ("bor", |a| fold(a, |x, y| x | y)),
    ("bxor", |a| fold(a, |x, y| x ^ y)),
    ("lshift", |a| shift(a, |x, s| ((x as u32) << s) as i32)),
    ("rshift", |a| shift(a, |x, s| ((x as u32) >> s) as i32)),
    ("arshift", |a| shift(a, |x, s| x >> s)),
    ("rol", |a| shift(a, |x, s| (x as u32).rotate_left(s) as i32)),
    ("ror", |a| {
        shift(a, |x, s| (x as u32).rotate_right(s) as i32)
    }),
];

/// `bit.tohex(x [, n])`: `n` hexadecimal digits (8 by default), upper case when `n` is negative.
fn tohex(args: &MultiValue) -> Result<String, String> {
    let value = tobit(check_number(args, 1)?) as u32;
    let mut count = if args.len() < 2 {
        8
    } else {
        tobit(check_number(args, 2)?)
    };
    let upper = count < 0;
    if upper {
        count = count.wrapping_neg();
    }
    let count = count.clamp(0, 8) as usize;
    let full = if upper {
        format!("{value:08X}")
    } else {
        format!("{value:08x}")
    };
    Ok(full[8 - count..].to_string())
}

/// Builds the `bit` table. Each function returns `true, result` or `false, message` (the prelude
/// raises the message as LuaBitOp's argument errors).
pub(crate) fn create(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    for &(name, f) in FUNCTIONS {
        let function = lua.create_function(move |lua, args: MultiValue| {
            let result = f(&args).map(|n| MultiValue::from_vec(vec![Value::Integer(i64::from(n))]));
            outcome(lua, result)
        })?;
        t.set(name, function)?;
    }
    let hex = lua.create_function(|lua, args: MultiValue| {
        let result = tohex(&args).and_then(|s| {
            let s = lua.create_string(&s).map_err(|e| e.to_string())?;
            Ok(MultiValue::from_vec(vec![Value::String(s)]))
        });
        outcome(lua, result)
    })?;
    t.set("tohex", hex)?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::tobit;

    #[test]
    fn normalises_like_luabitop() {
        assert_eq!(tobit(4_294_967_295.0), -1);
        assert_eq!(tobit(2_147_483_648.0), i32::MIN);
        assert_eq!(tobit(-1.0), -1);
        assert_eq!(tobit(2.5), 2);
        assert_eq!(tobit(3.5), 4);
    }
}
