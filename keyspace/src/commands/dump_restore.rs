//! DUMP and RESTORE: a key's value as a Redis 7.0 DUMP payload (RDB object, RDB version, CRC64) and back.
//!
//! Payloads are byte-identical to redis-server's wherever Redis is deterministic and interchangeable with
//! it both ways; RESTORE sanitizes the payload deeply (Redis's `sanitize-dump-payload yes`), so a corrupt
//! one is refused with Redis's error and nothing is stored.

use super::{reply_oom, Ctx, NOT_INTEGER, SYNTAX};
use crate::persist::rdb::{apply_clock, encoding_config, entry_value, store_value, BuildError};
use crate::{notify, Keyspace};
use zedis_kv_pool::KvAllocator;
use zedis_rdb::{create_dump_payload, decode_dump_payload, Limits};
use zedis_resp::reply;

/// `-BUSYKEY` (RESTORE without REPLACE onto an existing key).
pub const BUSYKEY: &[u8] = b"BUSYKEY Target key name already exists.";

/// # Format
/// `DUMP key`
pub fn dump<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let Some(entry) = ks.lookup_read(ctx.db, ctx.argv[1], ctx.now_ms, ctx.fx) else {
        return reply::null(ctx.out, ctx.proto);
    };
    let Some(value) = entry_value::<A>(entry) else {
        return reply::null(ctx.out, ctx.proto);
    };
    let payload = create_dump_payload(&value, &encoding_config(&ks.config));
    reply::bulk(ctx.out, &payload);
}

/// # Format
/// `RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]`
pub fn restore<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let key = ctx.argv[1];
    let (mut replace, mut absttl) = (false, false);
    let (mut idle, mut freq): (Option<u64>, Option<u8>) = (None, None);
    let mut j = 4;
    while j < ctx.argv.len() {
        let arg = ctx.argv[j];
        let more = j + 1 < ctx.argv.len();
        if arg.eq_ignore_ascii_case(b"replace") {
            replace = true;
        } else if arg.eq_ignore_ascii_case(b"absttl") {
            absttl = true;
        } else if arg.eq_ignore_ascii_case(b"idletime") && more && freq.is_none() {
            let Some(n) = crate::num::parse_i64_exact(ctx.argv[j + 1]) else {
                return ctx.error(NOT_INTEGER);
            };
            if n < 0 {
                return ctx.error(b"ERR Invalid IDLETIME value, must be >= 0");
            }
            idle = Some(n as u64);
            j += 1;
        } else if arg.eq_ignore_ascii_case(b"freq") && more && idle.is_none() {
            let Some(n) = crate::num::parse_i64_exact(ctx.argv[j + 1]) else {
                return ctx.error(NOT_INTEGER);
            };
            let Ok(n) = u8::try_from(n) else {
                return ctx.error(b"ERR Invalid FREQ value, must be >= 0 and <= 255");
            };
            freq = Some(n);
            j += 1;
        } else {
            return ctx.error(SYNTAX);
        }
        j += 1;
    }
    let exists = ks.lookup(ctx.db, key, ctx.now_ms, ctx.fx).is_some();
    if !replace && exists {
        return ctx.error(BUSYKEY);
    }
    let Some(ttl) = crate::num::parse_i64_exact(ctx.argv[2]) else {
        return ctx.error(NOT_INTEGER);
    };
    if ttl < 0 {
        return ctx.error(b"ERR Invalid TTL value, must be >= 0");
    }
    let limits = Limits {
        string_bytes_max: ks.config.string_bytes_max as u64,
        ..Limits::default()
    };
    let value = match decode_dump_payload(ctx.argv[3], limits) {
        Ok(value) => value,
        Err(e) => return ctx.error(e.to_string().as_bytes()),
    };
    let when = match ttl {
        0 => None,
        t if absttl => Some(t),
        t => Some(t.saturating_add(ctx.now_ms)),
    };
    if when.is_some_and(|w| w <= ctx.now_ms) {
        if exists {
            ks.db_mut(ctx.db).remove(key);
            ctx.fx.changed(notify::GENERIC, "del", ctx.db, key);
            ctx.fx.rewrite(vec![b"DEL".to_vec(), key.to_vec()]);
        }
        return reply::ok(ctx.out);
    }
    let entry = match store_value(ks, ctx.db, key, &value, when, ctx.now_ms) {
        Ok(entry) => entry,
        Err(BuildError::BadFormat) => return ctx.error(b"ERR Bad data format"),
        Err(BuildError::Oom) => return reply_oom(ctx, crate::Oom),
    };
    apply_clock(ks, entry, idle, freq, ctx.now_ms);
    if let (Some(when), false) = (when, absttl) {
        let mut argv: Vec<Vec<u8>> = ctx.argv.iter().map(|a| a.to_vec()).collect();
        argv[2] = when.to_string().into_bytes();
        argv.push(b"ABSTTL".to_vec());
        ctx.fx.rewrite(argv);
    }
    ctx.fx.changed(notify::GENERIC, "restore", ctx.db, key);
    reply::ok(ctx.out);
}
