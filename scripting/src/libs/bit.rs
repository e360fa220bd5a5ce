//! LuaBitOp 1.0.2 (`bit.*`): 32-bit operations on Lua numbers.

use mlua::{Lua, Table, Variadic};

/// LuaBitOp's number normalisation: round half to even, keep the low 32 bits, as a signed value.
fn tobit(n: f64) -> i32 {
    if !n.is_finite() {
        return 0;
    }
    n.round_ties_even().rem_euclid(4_294_967_296.0) as u32 as i32
}

/// Builds the `bit` table.
pub(crate) fn create(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.set("tobit", lua.create_function(|_, n: f64| Ok(tobit(n)))?)?;
    t.set("bnot", lua.create_function(|_, n: f64| Ok(!tobit(n)))?)?;
    t.set(
        "bswap",
        lua.create_function(|_, n: f64| Ok(tobit(n).swap_bytes()))?,
    )?;
    let fold = |lua: &Lua, op: fn(i32, i32) -> i32| {
        lua.create_function(move |_, (first, rest): (f64, Variadic<f64>)| {
            Ok(rest.iter().fold(tobit(first), |acc, n| op(acc, tobit(*n))))
        })
    };
    t.set("band", fold(lua, |a, b| a & b)?)?;
    t.set("bor", fold(lua, |a, b| a | b)?)?;
    t.set("bxor", fold(lua, |a, b| a ^ b)?)?;
    let shift = |lua: &Lua, op: fn(i32, u32) -> i32| {
        lua.create_function(move |_, (n, s): (f64, f64)| Ok(op(tobit(n), (tobit(s) & 31) as u32)))
    };
    t.set("lshift", shift(lua, |a, s| ((a as u32) << s) as i32)?)?;
    t.set("rshift", shift(lua, |a, s| ((a as u32) >> s) as i32)?)?;
    t.set("arshift", shift(lua, |a, s| a >> s)?)?;
    t.set("rol", shift(lua, |a, s| (a as u32).rotate_left(s) as i32)?)?;
    t.set("ror", shift(lua, |a, s| (a as u32).rotate_right(s) as i32)?)?;
    t.set(
        "tohex",
        lua.create_function(|_, (n, digits): (f64, Option<f64>)| {
            let mut count = digits.map_or(8, tobit);
            let upper = count < 0;
            if upper {
                count = count.wrapping_neg();
            }
            let count = count.clamp(0, 8) as usize;
            let value = tobit(n) as u32;
            let full = if upper {
                format!("{value:08X}")
            } else {
                format!("{value:08x}")
            };
            Ok(full[8 - count..].to_string())
        })?,
    )?;
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
