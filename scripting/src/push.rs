//! Command replies pushed straight onto the Lua stack with the C API, as Redis's `redisProtocolToLuaType`
//! does: the same values [`crate::convert::frame_to_lua`] builds through mlua (tables made and filled in
//! the same order), without a protected call per value.
//!
//! Every function here may raise a Lua error (out of memory) and must be called from a C function running
//! under a protected call, with no Rust value that has a destructor on the frames in between.

use crate::convert::trim_crlf;
use mlua::ffi::{self, lua_State};
use std::ffi::{c_char, c_int, CStr};
use zedis_resp::{Frame, Protocol};

/// Stack slots one level of [`push_frame`] uses beyond the value it leaves.
const SLOTS_PER_LEVEL: c_int = 4;

/// Pushes a byte string.
///
/// # Safety
/// `state` is a live Lua state with a free stack slot, inside a protected call.
pub(crate) unsafe fn push_bytes(state: *mut lua_State, bytes: &[u8]) {
    // SAFETY: the pointer and length describe `bytes`; Lua copies them.
    unsafe { ffi::lua_pushlstring_(state, bytes.as_ptr() as *const c_char, bytes.len()) }
}

/// Sets `t[key] = <top>` on the table just below the top, popping the value.
unsafe fn set_field(state: *mut lua_State, key: &CStr) {
    // SAFETY: the caller left the table at -2 and the value at -1; one more slot was checked.
    unsafe {
        ffi::lua_pushstring_(state, key.as_ptr());
        ffi::lua_insert(state, -2);
        ffi::lua_rawset(state, -3);
    }
}

/// Pushes `{[key] = <top>}` in place of the value on top (mlua's `single` in `frame_to_lua`).
unsafe fn wrap_single(state: *mut lua_State, key: &CStr) {
    // SAFETY: the value is on top; the caller checked SLOTS_PER_LEVEL free slots.
    unsafe {
        ffi::lua_createtable(state, 0, 0);
        ffi::lua_insert(state, -2);
        set_field(state, key);
    }
}

/// Pushes Redis's error table `{err = "CODE text"}`, with `ignore_error_stats_update = true` when the
/// error came from a command (the server counted it).
///
/// # Safety
/// As [`push_bytes`], with three free slots.
pub(crate) unsafe fn push_error(state: *mut lua_State, code: &[u8], text: &[u8], counted: bool) {
    // SAFETY: three slots are free (table, key, value); the concatenation pops its operands.
    unsafe {
        ffi::lua_createtable(state, 0, 0);
        push_bytes(state, code);
        push_bytes(state, b" ");
        push_bytes(state, text);
        ffi::lua_concat(state, 3);
        set_field(state, c"err");
        if counted {
            ffi::lua_pushboolean(state, 1);
            set_field(state, c"ignore_error_stats_update");
        }
    }
}

/// Pushes the Lua value of a command's reply (`protocol` is the one the reply was encoded in: a RESP2
/// null is `false`, a RESP3 null is `nil`).
///
/// # Safety
/// As [`push_bytes`].
pub(crate) unsafe fn push_frame(state: *mut lua_State, frame: &Frame, protocol: Protocol) {
    // SAFETY: every push below fits in the slots checked here; nested frames check their own.
    unsafe {
        if ffi::lua_checkstack(state, SLOTS_PER_LEVEL) == 0 {
            ffi::lua_pushstring_(state, c"reached lua stack limit".as_ptr());
            ffi::lua_error(state);
        }
        match frame {
            Frame::Simple(s) => {
                push_bytes(state, s);
                wrap_single(state, c"ok");
            }
            Frame::Error(e) => {
                // As `error_table` of `-<e>`: the code is the first word.
                let (code, text) = match e.iter().position(|&b| b == b' ') {
                    Some(space) => (&e[..space], &e[space + 1..]),
                    None => (&b"ERR"[..], &e[..]),
                };
                push_error(state, code, trim_crlf(text), true);
            }
            Frame::Integer(n) => ffi::lua_pushnumber(state, *n as f64),
            Frame::Bulk(b) => push_bytes(state, b),
            Frame::Null if protocol == Protocol::Resp3 => ffi::lua_pushnil(state),
            Frame::Null | Frame::NullArray => ffi::lua_pushboolean(state, 0),
            Frame::Array(items) | Frame::Push(items) => {
                ffi::lua_createtable(state, c_int::try_from(items.len()).unwrap_or(c_int::MAX), 0);
                for (idx, item) in items.iter().enumerate() {
                    push_frame(state, item, protocol);
                    ffi::lua_rawseti_(state, -2, c_int::try_from(idx + 1).unwrap_or(c_int::MAX));
                }
            }
            Frame::Map(pairs) => {
                ffi::lua_createtable(state, 0, 0);
                for (k, v) in pairs {
                    push_frame(state, k, protocol);
                    if ffi::lua_type(state, -1) == ffi::LUA_TNIL {
                        ffi::lua_pop(state, 1);
                        continue;
                    }
                    push_frame(state, v, protocol);
                    ffi::lua_rawset(state, -3);
                }
                wrap_single(state, c"map");
            }
            Frame::Set(items) => {
                ffi::lua_createtable(state, 0, 0);
                for item in items {
                    push_frame(state, item, protocol);
                    if ffi::lua_type(state, -1) == ffi::LUA_TNIL {
                        ffi::lua_pop(state, 1);
                        continue;
                    }
                    ffi::lua_pushboolean(state, 1);
                    ffi::lua_rawset(state, -3);
                }
                wrap_single(state, c"set");
            }
            Frame::Double(d) => {
                ffi::lua_pushnumber(state, *d);
                wrap_single(state, c"double");
            }
            Frame::Boolean(b) => ffi::lua_pushboolean(state, c_int::from(*b)),
            Frame::BigNumber(digits) => {
                push_bytes(state, digits);
                wrap_single(state, c"big_number");
            }
            Frame::Verbatim { format, text } => {
                ffi::lua_createtable(state, 0, 0);
                push_bytes(state, text);
                set_field(state, c"string");
                push_bytes(state, format);
                set_field(state, c"format");
                wrap_single(state, c"verbatim_string");
            }
            #[allow(unreachable_patterns)]
            _ => ffi::lua_pushboolean(state, 0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::{as_number, frame_to_lua};
    use mlua::{Lua, Value};
    use proptest::prelude::*;

    /// Two Lua values are the same, tables field by field in `pairs` order (the same construction
    /// order gives the same order) unless their keys are tables.
    fn same(a: &Value, b: &Value) -> bool {
        match (a, b) {
            (Value::Table(x), Value::Table(y)) => {
                let xs: Vec<(Value, Value)> = x.pairs().map(Result::unwrap).collect();
                let ys: Vec<(Value, Value)> = y.pairs().map(Result::unwrap).collect();
                if xs.len() != ys.len() {
                    return false;
                }
                if xs.iter().all(|(k, _)| !k.is_table()) {
                    return xs
                        .iter()
                        .zip(&ys)
                        .all(|((k1, v1), (k2, v2))| same(k1, k2) && same(v1, v2));
                }
                // Table keys iterate in address order: match them as a multiset.
                let mut used = vec![false; ys.len()];
                xs.iter().all(|(k1, v1)| {
                    let found = ys
                        .iter()
                        .enumerate()
                        .position(|(i, (k2, v2))| !used[i] && same(k1, k2) && same(v1, v2));
                    found.map(|i| used[i] = true).is_some()
                })
            }
            (Value::String(x), Value::String(y)) => x.as_bytes() == y.as_bytes(),
            (Value::Number(_) | Value::Integer(_), Value::Number(_) | Value::Integer(_)) => {
                let (x, y) = (as_number(a).unwrap_or(0.0), as_number(b).unwrap_or(1.0));
                x.to_bits() == y.to_bits() || x == y
            }
            (Value::Boolean(x), Value::Boolean(y)) => x == y,
            (Value::Nil, Value::Nil) => true,
            _ => false,
        }
    }

    fn raw(lua: &Lua, frame: &Frame, protocol: Protocol) -> Value {
        // SAFETY: push_frame runs in mlua's protected call and leaves one value.
        unsafe {
            lua.exec_raw::<Value>((), |state| push_frame(state, frame, protocol))
                .unwrap()
        }
    }

    fn leaf() -> impl Strategy<Value = Frame> {
        let text = prop::collection::vec(
            prop_oneof![
                any::<u8>(),
                Just(b' '),
                Just(b'\r'),
                Just(b'\n'),
                Just(b'-')
            ],
            0..12,
        );
        prop_oneof![
            text.clone().prop_map(Frame::Simple),
            text.clone().prop_map(Frame::Error),
            any::<i64>().prop_map(Frame::Integer),
            text.clone().prop_map(Frame::Bulk),
            Just(Frame::Null),
            Just(Frame::NullArray),
            any::<f64>().prop_map(Frame::Double),
            any::<bool>().prop_map(Frame::Boolean),
            prop::collection::vec(b'0'..=b'9', 1..30).prop_map(Frame::BigNumber),
            (any::<[u8; 3]>(), text).prop_map(|(format, text)| Frame::Verbatim { format, text }),
        ]
    }

    fn frame_strategy() -> impl Strategy<Value = Frame> {
        leaf().prop_recursive(4, 48, 6, |inner| {
            let pairs = prop::collection::vec((inner.clone(), inner.clone()), 0..4);
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Frame::Array),
                prop::collection::vec(inner.clone(), 0..6).prop_map(Frame::Set),
                prop::collection::vec(inner.clone(), 0..6).prop_map(Frame::Push),
                pairs.clone().prop_map(Frame::Map),
                (pairs, inner).prop_map(|(attributes, data)| Frame::Attribute {
                    attributes,
                    data: Box::new(data)
                }),
            ]
        })
    }

    proptest! {
        #[test]
        fn raw_push_builds_what_frame_to_lua_builds(frame in frame_strategy(), resp3 in any::<bool>()) {
            let lua = Lua::new();
            let protocol = if resp3 { Protocol::Resp3 } else { Protocol::Resp2 };
            let want = frame_to_lua(&lua, &frame, protocol).unwrap();
            let got = raw(&lua, &frame, protocol);
            prop_assert!(same(&want, &got), "{frame:?}: {want:?} vs {got:?}");
        }
    }

    #[test]
    fn error_replies_keep_their_code_and_lose_crlf() {
        let lua = Lua::new();
        for (e, want) in [
            (&b"WRONGTYPE bad"[..], "WRONGTYPE bad"),
            (b"NOSPACE", "ERR NOSPACE"),
            (b"ERR \r\ntext\r\n", "ERR text"),
            (b"", "ERR "),
        ] {
            let Value::Table(t) = raw(&lua, &Frame::Error(e.to_vec()), Protocol::Resp2) else {
                panic!("not a table");
            };
            assert_eq!(t.raw_get::<String>("err").unwrap(), want);
            assert!(t.raw_get::<bool>("ignore_error_stats_update").unwrap());
        }
    }
}
