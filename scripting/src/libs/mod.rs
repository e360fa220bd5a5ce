//! The Lua libraries Redis bundles: `bit` (LuaBitOp) and `cjson` (lua-cjson), written in Rust.

mod bit;
mod cjson;

use mlua::{Lua, Table};

/// Adds each library table to the primitives table; the prelude moves them into the globals and
/// protects them.
pub(crate) fn install(lua: &Lua, prims: &Table) -> mlua::Result<()> {
    prims.set("bit", bit::create(lua)?)?;
    prims.set("cjson", cjson::create(lua)?)?;
    Ok(())
}
