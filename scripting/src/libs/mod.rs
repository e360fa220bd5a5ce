//! The Lua libraries Redis bundles, written in Rust: `bit` (LuaBitOp), `cjson` (lua-cjson), `cmsgpack`
//! (lua-cmsgpack) and `struct`.

mod args;
mod bit;
mod cjson;
mod cjson_config;
mod cmsgpack;
mod struct_lib;

use mlua::{Lua, Table};

/// Adds each library table to the primitives table; the prelude moves them into the globals and
/// protects them.
pub(crate) fn install(lua: &Lua, prims: &Table) -> mlua::Result<()> {
    prims.set("bit", bit::create(lua)?)?;
    prims.set("cjson", cjson::create(lua)?)?;
    prims.set(
        "cjson_new",
        lua.create_function(|lua, ()| cjson::create(lua))?,
    )?;
    prims.set("cmsgpack", cmsgpack::create(lua)?)?;
    prims.set("struct", struct_lib::create(lua)?)?;
    Ok(())
}
