//! Ownership transfer of pending entries: XCLAIM and XAUTOCLAIM, with Redis 7.0.15's replies, and their
//! AOF form (every claimed or dropped entry logged as `XCLAIM ... FORCE JUSTID LASTID`, as Redis propagates).

use super::streams::{parse_id, parse_id_quiet, reply_entry, reply_id, IdForm};
use super::{Ctx, OOM, SYNTAX};
use crate::num::parse_i64_exact;
use crate::types::stream_cg::Nack;
use crate::types::{Stream, StreamId};
use crate::value::{read_obj, Found};
use crate::Keyspace;
use zedis_kv_pool::KvAllocator;
use zedis_resp::reply;

/// `XCLAIM key group consumer 0 id TIME ms RETRYCOUNT n FORCE JUSTID LASTID last`: Redis's
/// `streamPropagateXCLAIM`, an idempotent record of one pending entry's state.
pub(crate) fn claim_record(
    key: &[u8],
    group: &[u8],
    consumer: &[u8],
    id: StreamId,
    nack: &Nack,
    last_id: StreamId,
) -> Vec<Vec<u8>> {
    vec![
        b"XCLAIM".to_vec(),
        key.to_vec(),
        group.to_vec(),
        consumer.to_vec(),
        b"0".to_vec(),
        id.to_string().into_bytes(),
        b"TIME".to_vec(),
        nack.delivery_ms.to_string().into_bytes(),
        b"RETRYCOUNT".to_vec(),
        (nack.delivery_count as i64).to_string().into_bytes(),
        b"FORCE".to_vec(),
        b"JUSTID".to_vec(),
        b"LASTID".to_vec(),
        last_id.to_string().into_bytes(),
    ]
}

/// `XGROUP SETID key group last ENTRIESREAD n` (Redis's `streamPropagateGroupID`).
pub(crate) fn setid_record(
    key: &[u8],
    group: &[u8],
    last_id: StreamId,
    entries_read: i64,
) -> Vec<Vec<u8>> {
    vec![
        b"XGROUP".to_vec(),
        b"SETID".to_vec(),
        key.to_vec(),
        group.to_vec(),
        last_id.to_string().into_bytes(),
        b"ENTRIESREAD".to_vec(),
        entries_read.to_string().into_bytes(),
    ]
}

/// An integer option with Redis's custom error text.
fn int_or(ctx: &mut Ctx<'_>, arg: &[u8], error: &[u8]) -> Option<i64> {
    let parsed = parse_i64_exact(arg);
    if parsed.is_none() {
        ctx.error(error);
    }
    parsed
}

fn no_group(ctx: &mut Ctx<'_>) {
    let (key, group) = (ctx.argv[1], ctx.argv[2]);
    ctx.error_c_format(&[
        b"NOGROUP No such key '",
        key,
        b"' or consumer group '",
        group,
        b"'",
    ]);
}

/// The stream and group index for XCLAIM/XAUTOCLAIM, or `None` after replying.
fn stream_and_group<'a, A: KvAllocator>(
    ks: &mut Keyspace<A>,
    ctx: &mut Ctx<'_>,
) -> Option<(&'a mut Stream<A>, usize)> {
    let stream = match read_obj::<A, Stream<A>>(ks, ctx, ctx.argv[1]) {
        Found::WrongType => return None,
        Found::Missing => {
            no_group(ctx);
            return None;
        }
        Found::Some(stream) => stream,
    };
    match stream.find_group(ctx.argv[2]) {
        Some(idx) => Some((stream, idx)),
        None => {
            no_group(ctx);
            None
        }
    }
}

/// The consumer slot for `name`, created (with its event) if missing.
fn claimant<A: KvAllocator>(ctx: &mut Ctx<'_>, stream: &mut Stream<A>, idx: usize) -> Option<u32> {
    let name = ctx.argv[3];
    let group = &mut stream.groups[idx];
    if let Some(slot) = group.find_consumer(name) {
        if let Some(c) = group.consumer_mut(slot) {
            c.seen_ms = ctx.now_ms;
        }
        return Some(slot);
    }
    match group.create_consumer(name, ctx.now_ms) {
        Ok(slot) => {
            ctx.fx.dirty += 1;
            ctx.fx.notify(
                crate::notify::STREAM,
                "xgroup-createconsumer",
                ctx.db,
                ctx.argv[1],
            );
            Some(slot)
        }
        Err(_) => None,
    }
}

/// Replies one claimed entry (its id with JUSTID, else the entry).
fn reply_claimed<A: KvAllocator>(
    out: &mut Vec<u8>,
    stream: &Stream<A>,
    id: StreamId,
    justid: bool,
) {
    if justid {
        return reply_id(out, id);
    }
    if let Some(entry) = stream.range(id, id, false).next() {
        reply_entry(out, &entry);
    }
}

/// # Format
/// `XCLAIM key group consumer min-idle-time id [id ...] [IDLE ms] [TIME unix-ms] [RETRYCOUNT count] [FORCE]
/// [JUSTID] [LASTID lastid]`
pub fn xclaim<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let Some((stream, idx)) = stream_and_group(ks, ctx) else {
        return;
    };
    let argv = ctx.argv;
    let Some(min_idle) = int_or(
        ctx,
        argv[4],
        b"ERR Invalid min-idle-time argument for XCLAIM",
    ) else {
        return;
    };
    let min_idle = min_idle.max(0);
    let mut ids = Vec::new();
    let mut j = 5;
    while j < argv.len() {
        match parse_id_quiet(argv[j], 0, IdForm::Strict, false) {
            Some((id, _)) => ids.push(id),
            None => break,
        }
        j += 1;
    }
    let now = ctx.now_ms;
    let (mut force, mut justid) = (false, false);
    let (mut retrycount, mut delivery): (i64, i64) = (-1, -1);
    let mut last_id = StreamId::MIN;
    while j < argv.len() {
        let more = j + 1 < argv.len();
        let opt = argv[j];
        let is = |name: &[u8]| opt.eq_ignore_ascii_case(name);
        if is(b"force") {
            force = true;
        } else if is(b"justid") {
            justid = true;
        } else if is(b"idle") && more {
            j += 1;
            let Some(idle) = int_or(ctx, argv[j], b"ERR Invalid IDLE option argument for XCLAIM")
            else {
                return;
            };
            delivery = now - idle;
        } else if is(b"time") && more {
            j += 1;
            let Some(time) = int_or(ctx, argv[j], b"ERR Invalid TIME option argument for XCLAIM")
            else {
                return;
            };
            delivery = time;
        } else if is(b"retrycount") && more {
            j += 1;
            let Some(n) = int_or(
                ctx,
                argv[j],
                b"ERR Invalid RETRYCOUNT option argument for XCLAIM",
            ) else {
                return;
            };
            retrycount = n;
        } else if is(b"lastid") && more {
            j += 1;
            let Some((id, _)) = parse_id(ctx, argv[j], 0, IdForm::Strict, false) else {
                return;
            };
            last_id = id;
        } else {
            return ctx.error_c_format(&[b"ERR Unrecognized XCLAIM option '", opt, b"'"]);
        }
        j += 1;
    }
    let mut propagate_last_id = false;
    if last_id > stream.groups[idx].last_id {
        stream.groups[idx].last_id = last_id;
        propagate_last_id = true;
    }
    // While the AOF loads the clock reads 0: the logged TIME is then taken as given.
    let loading = now == 0;
    if delivery < 0 || (delivery > now && !loading) {
        delivery = now;
    }
    let (key, group_name) = (argv[1], argv[2]);
    let mut body = Vec::new();
    let mut n = 0;
    let mut slot = None;
    for id in ids {
        let existing = stream.groups[idx].nack(id).copied();
        if !stream.contains(id) {
            if let Some(nack) = existing {
                let group = &mut stream.groups[idx];
                let owner = group
                    .consumer(nack.consumer)
                    .map(|c| c.name.to_vec())
                    .unwrap_or_default();
                ctx.fx.rewrite(claim_record(
                    key,
                    group_name,
                    &owner,
                    id,
                    &nack,
                    group.last_id,
                ));
                propagate_last_id = false;
                ctx.fx.dirty += 1;
                group.ack(id);
            }
            continue;
        }
        if existing.is_none() && !force {
            continue;
        }
        if let Some(nack) = existing {
            if min_idle > 0 && now - nack.delivery_ms < min_idle {
                continue;
            }
        }
        if slot.is_none() {
            slot = claimant(ctx, stream, idx);
            if slot.is_none() {
                return ctx.error(OOM);
            }
        }
        let Some(owner) = slot else {
            return;
        };
        let count = match existing {
            _ if retrycount >= 0 => retrycount as u64,
            Some(nack) if !justid => nack.delivery_count.wrapping_add(1),
            Some(nack) => nack.delivery_count,
            None if justid => 1,
            None => 2,
        };
        let group = &mut stream.groups[idx];
        if group.assign(id, owner, delivery, count).is_err() {
            return ctx.error(OOM);
        }
        let nack = Nack {
            delivery_ms: delivery,
            delivery_count: count,
            consumer: owner,
        };
        ctx.fx.rewrite(claim_record(
            key,
            group_name,
            argv[3],
            id,
            &nack,
            group.last_id,
        ));
        propagate_last_id = false;
        ctx.fx.dirty += 1;
        reply_claimed(&mut body, stream, id, justid);
        n += 1;
    }
    if propagate_last_id {
        let group = &stream.groups[idx];
        ctx.fx.rewrite(setid_record(
            key,
            group_name,
            group.last_id,
            group.entries_read,
        ));
        ctx.fx.dirty += 1;
    }
    reply::array_len(ctx.out, n);
    ctx.out.extend_from_slice(&body);
}

/// # Format
/// `XAUTOCLAIM key group consumer min-idle-time start [COUNT count] [JUSTID]`
pub fn xautoclaim<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let argv = ctx.argv;
    let Some(min_idle) = int_or(
        ctx,
        argv[4],
        b"ERR Invalid min-idle-time argument for XAUTOCLAIM",
    ) else {
        return;
    };
    let min_idle = min_idle.max(0);
    let Some(start) = super::stream_groups::pel_bound(ctx, argv[5], true) else {
        return;
    };
    let mut count: i64 = 100;
    let mut justid = false;
    let mut j = 6;
    while j < argv.len() {
        let more = j + 1 < argv.len();
        if argv[j].eq_ignore_ascii_case(b"count") && more {
            let max = i64::MAX / 16;
            match parse_i64_exact(argv[j + 1]) {
                Some(n) if (1..=max).contains(&n) => count = n,
                // Redis's getRangeLongFromObjectOrReply gives its message for both failures.
                _ => return ctx.error(b"ERR COUNT must be > 0"),
            }
            j += 1;
        } else if argv[j].eq_ignore_ascii_case(b"justid") {
            justid = true;
        } else {
            return ctx.error(SYNTAX);
        }
        j += 1;
    }
    let Some((stream, idx)) = stream_and_group(ks, ctx) else {
        return;
    };
    let (key, group_name) = (argv[1], argv[2]);
    let now = ctx.now_ms;
    let pending: Vec<(StreamId, Nack)> = stream.groups[idx]
        .pel
        .iter()
        .filter(|(id, _)| *id >= start)
        .copied()
        .collect();
    let mut attempts = count.saturating_mul(10);
    let mut pos = 0;
    let mut deleted = Vec::new();
    let mut body = Vec::new();
    let mut n = 0;
    let mut slot = None;
    while attempts > 0 && count > 0 && pos < pending.len() {
        attempts -= 1;
        let (id, nack) = pending[pos];
        pos += 1;
        if !stream.contains(id) {
            let group = &mut stream.groups[idx];
            let owner = group
                .consumer(nack.consumer)
                .map(|c| c.name.to_vec())
                .unwrap_or_default();
            ctx.fx.rewrite(claim_record(
                key,
                group_name,
                &owner,
                id,
                &nack,
                group.last_id,
            ));
            ctx.fx.dirty += 1;
            group.ack(id);
            deleted.push(id);
            count -= 1;
            continue;
        }
        if min_idle > 0 && now - nack.delivery_ms < min_idle {
            continue;
        }
        if slot.is_none() {
            slot = claimant(ctx, stream, idx);
        }
        let Some(owner) = slot else {
            return ctx.error(OOM);
        };
        let delivery_count = nack.delivery_count.wrapping_add(u64::from(!justid));
        let group = &mut stream.groups[idx];
        if group.assign(id, owner, now, delivery_count).is_err() {
            return ctx.error(OOM);
        }
        let claimed = Nack {
            delivery_ms: now,
            delivery_count,
            consumer: owner,
        };
        ctx.fx.rewrite(claim_record(
            key,
            group_name,
            argv[3],
            id,
            &claimed,
            group.last_id,
        ));
        ctx.fx.dirty += 1;
        reply_claimed(&mut body, stream, id, justid);
        n += 1;
        count -= 1;
    }
    let next = pending.get(pos).map_or(StreamId::MIN, |(id, _)| *id);
    reply::array_len(ctx.out, 3);
    reply_id(ctx.out, next);
    reply::array_len(ctx.out, n);
    ctx.out.extend_from_slice(&body);
    reply::array_len(ctx.out, deleted.len());
    for id in deleted {
        reply_id(ctx.out, id);
    }
}
