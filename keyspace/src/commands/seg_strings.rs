//! The segment store's native commands (see [`crate::seg`]). Each returns `true` when it served the command
//! from the segment store, `false` when the ordinary handler must run (segments off, a replica, or the key
//! in the tables). Replies, errors, counters, events and AOF records are those of the ordinary handlers.

use super::Ctx;
use crate::Keyspace;
use zedis_kv_pool::KvAllocator;
use zedis_resp::reply;
use zedis_segment::{Replaced, ValueRef};

/// Writes a segment value as a bulk reply.
fn bulk(out: &mut Vec<u8>, value: ValueRef<'_>) {
    match value {
        ValueRef::Bytes(bytes) => reply::bulk(out, bytes),
        ValueRef::Int(n) => reply::bulk_int(out, n),
    }
}

/// GET, and one key of MGET (`missing_null`: a miss replies null either way).
pub fn get<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>, key: &[u8]) -> bool {
    if !ks.seg_serves(ctx.db, key) {
        return false;
    }
    match ks.seg_get(ctx.db, key, ctx.now_ms, ctx.fx, true) {
        Some(value) => bulk(ctx.out, value),
        None => reply::null(ctx.out, ctx.proto),
    }
    true
}

/// How a SET-family command stores and replies.
#[derive(Debug, Clone, Copy, Default)]
pub struct SetMode {
    /// Reply the old value first (SET ... GET).
    pub get: bool,
    /// Only if absent.
    pub nx: bool,
    /// Only if present.
    pub xx: bool,
    /// Keep the old expiry.
    pub keep_ttl: bool,
    /// SETNX: reply 1 / 0 instead of +OK / null.
    pub integer_reply: bool,
}

/// SET (every option), SETEX, PSETEX, SETNX for a key the segment store serves. `expire_ms` is the
/// command's absolute expiry.
pub fn set<A: KvAllocator>(
    ks: &mut Keyspace<A>,
    ctx: &mut Ctx<'_>,
    key: &[u8],
    value: &[u8],
    expire_ms: Option<i64>,
    mode: SetMode,
) -> bool {
    // An expiry already past is the tables' case (stored, then expired by their rules, as Redis 7.0).
    if expire_ms.is_some_and(|when| when <= ctx.now_ms) || !ks.seg_serves(ctx.db, key) {
        return false;
    }
    let (db, now) = (ctx.db, ctx.now_ms);
    if !(mode.get || mode.nx || mode.xx || mode.keep_ttl) {
        // A plain SET needs nothing of the old value: one store lookup instead of a probe and a set.
        match ks.seg_set_replacing(db, key, value, expire_ms, now, ctx.fx) {
            Ok(Some(replaced)) => {
                if replaced != Replaced::Live {
                    ks.note_new_key(db, key);
                }
            }
            Ok(None) => {
                if let Err(oom) = ks.set_string(db, key, value, expire_ms, false, now) {
                    super::reply_oom(ctx, oom);
                    return true;
                }
            }
            Err(oom) => {
                super::reply_oom(ctx, oom);
                return true;
            }
        }
        super::strings::set_effects(ctx, key, value, expire_ms);
        if mode.integer_reply {
            reply::integer(ctx.out, 1);
        } else {
            reply::ok(ctx.out);
        }
        return true;
    }
    let old = if mode.get {
        match ks.seg_get(db, key, now, ctx.fx, true) {
            Some(value) => {
                bulk(ctx.out, value);
                ks.seg_probe(db, key, now, ctx.fx, false)
            }
            None => {
                reply::null(ctx.out, ctx.proto);
                None
            }
        }
    } else {
        ks.seg_probe(db, key, now, ctx.fx, false)
    };
    if (mode.nx && old.is_some()) || (mode.xx && old.is_none()) {
        if mode.integer_reply {
            reply::integer(ctx.out, 0);
        } else if !mode.get {
            reply::null(ctx.out, ctx.proto);
        }
        return true;
    }
    let expire = if mode.keep_ttl {
        old.and_then(|probe| probe.expire_ms)
    } else {
        expire_ms
    };
    match ks.seg_set(db, key, value, expire, now, ctx.fx) {
        Ok(true) if old.is_none() => ks.note_new_key(db, key),
        Ok(true) => {}
        Ok(false) => {
            if let Err(oom) = ks.set_string(db, key, value, expire, false, now) {
                super::reply_oom(ctx, oom);
                return true;
            }
        }
        Err(oom) => {
            super::reply_oom(ctx, oom);
            return true;
        }
    }
    super::strings::set_effects(ctx, key, value, expire_ms);
    if mode.integer_reply {
        reply::integer(ctx.out, 1);
    } else if !mode.get {
        reply::ok(ctx.out);
    }
    true
}

/// One MSET pair without expiry: `Some(outcome)` when the segment store serves `key` (no reply, no
/// effects: the caller records them).
pub fn store<A: KvAllocator>(
    ks: &mut Keyspace<A>,
    ctx: &mut Ctx<'_>,
    key: &[u8],
    value: &[u8],
) -> Option<Result<(), crate::Oom>> {
    if !ks.seg_serves(ctx.db, key) {
        return None;
    }
    Some(
        match ks.seg_set_replacing(ctx.db, key, value, None, ctx.now_ms, ctx.fx) {
            Ok(Some(replaced)) => {
                if replaced != Replaced::Live {
                    ks.note_new_key(ctx.db, key);
                }
                Ok(())
            }
            Ok(None) => ks.set_string(ctx.db, key, value, None, false, ctx.now_ms),
            Err(oom) => Err(oom),
        },
    )
}

/// STRLEN.
pub fn strlen<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) -> bool {
    let key = ctx.argv[1];
    if !ks.seg_serves(ctx.db, key) {
        return false;
    }
    let len = ks.seg_probe(ctx.db, key, ctx.now_ms, ctx.fx, true);
    reply::integer(ctx.out, len.map_or(0, |p| p.len as i64));
    true
}

/// TTL, PTTL, EXPIRETIME, PEXPIRETIME (`name` lowercased).
pub fn ttl<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>, name: &[u8]) -> bool {
    let key = ctx.argv[1];
    if !ks.seg_serves(ctx.db, key) {
        return false;
    }
    let value = match ks.seg_probe(ctx.db, key, ctx.now_ms, ctx.fx, true) {
        None => -2,
        Some(probe) => match probe.expire_ms {
            None => -1,
            Some(when) => match name {
                b"ttl" => ((when - ctx.now_ms).max(0) + 500) / 1000,
                b"pttl" => (when - ctx.now_ms).max(0),
                b"expiretime" => when / 1000,
                _ => when,
            },
        },
    };
    reply::integer(ctx.out, value);
    true
}

/// Whether `key` exists, for EXISTS and TYPE: `Some(found)` when the segment store serves it.
pub fn exists<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>, key: &[u8]) -> Option<bool> {
    if !ks.seg_serves(ctx.db, key) {
        return None;
    }
    Some(
        // Counted as a hit or miss (with its keymiss event), as Redis's LOOKUP_NOTOUCH lookup does.
        ks.seg_probe(ctx.db, key, ctx.now_ms, ctx.fx, true)
            .is_some(),
    )
}
