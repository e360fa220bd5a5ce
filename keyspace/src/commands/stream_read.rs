//! XREAD and XREADGROUP, blocking included.
//!
//! When nothing can be served and BLOCK was given, the handler records [`super::BlockOn`] on the stream keys
//! and, in [`super::Effects::block_argv`], the command the server must run again when a key changes: `$`
//! resolved to the id it meant at block time, `COUNT 1000` when no COUNT was given (Redis's
//! `XREAD_BLOCKED_DEFAULT_COUNT`), and a leading [`RETRY_MARK`] argument so the retry behaves as Redis's
//! serving of a blocked reader: XREAD keeps waiting on a key of another type; XREADGROUP answers
//! `-UNBLOCKED the stream key no longer exists` or
//! `-NOGROUP the consumer group this client was blocked on no longer exists`.
//!
//! XREADGROUP is logged to the AOF as Redis propagates it: one `XCLAIM ... FORCE JUSTID LASTID` per entry
//! delivered with `>`, `XGROUP SETID` after a NOACK read, `XGROUP CREATECONSUMER` for a consumer created by
//! a NOACK read; the command itself is never logged.

use super::stream_claim::{claim_record as claim, setid_record};
use super::streams::{parse_id, reply_entry, reply_id, IdForm};
use super::{BlockOn, Ctx, OOM, SYNTAX, WRONGTYPE};
use crate::num::parse_i64_exact;
use crate::types::stream_cg::Nack;
use crate::types::{Stream, StreamId};
use crate::value::object;
use crate::Keyspace;
use zedis_kv_pool::KvAllocator;
use zedis_resp::{reply, Protocol};

/// First argument of a re-run blocked XREADGROUP (a NUL byte keeps clients from sending it by accident).
pub const RETRY_MARK: &[u8] = b"\0blocked-retry";

/// Entries a blocked read returns when no COUNT was given.
const BLOCKED_COUNT_DEFAULT: i64 = 1000;

/// Parsed XREAD/XREADGROUP arguments.
struct ReadArgs<'a> {
    block_ms: Option<i64>,
    count: i64,
    noack: bool,
    group: Option<(&'a [u8], &'a [u8])>,
    streams_at: usize,
    n: usize,
    retry: bool,
}

fn parse_args<'a>(ctx: &mut Ctx<'a>, readgroup: bool) -> Option<ReadArgs<'a>> {
    let argv: &'a [&'a [u8]] = ctx.argv;
    let mut args = ReadArgs {
        block_ms: None,
        count: 0,
        noack: false,
        group: None,
        streams_at: 0,
        n: 0,
        retry: false,
    };
    let mut i = 1;
    if argv.get(1) == Some(&RETRY_MARK) {
        args.retry = true;
        i = 2;
    }
    while i < argv.len() {
        let more = argv.len() - i - 1;
        let opt = argv[i];
        let is = |name: &[u8]| opt.eq_ignore_ascii_case(name);
        if is(b"block") && more > 0 {
            i += 1;
            let Some(ms) = parse_i64_exact(argv[i]) else {
                ctx.error(b"ERR timeout is not an integer or out of range");
                return None;
            };
            if ms < 0 {
                ctx.error(b"ERR timeout is negative");
                return None;
            }
            args.block_ms = Some(ms);
        } else if is(b"count") && more > 0 {
            i += 1;
            args.count = ctx.int_arg(i)?.max(0);
        } else if is(b"streams") && more > 0 {
            args.streams_at = i + 1;
            let rest = argv.len() - args.streams_at;
            if rest % 2 != 0 {
                ctx.error(b"ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.");
                return None;
            }
            args.n = rest / 2;
            break;
        } else if is(b"group") && more >= 2 {
            if !readgroup {
                ctx.error(b"ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.");
                return None;
            }
            args.group = Some((argv[i + 1], argv[i + 2]));
            i += 2;
        } else if is(b"noack") {
            if !readgroup {
                ctx.error(b"ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.");
                return None;
            }
            args.noack = true;
        } else {
            ctx.error(SYNTAX);
            return None;
        }
        i += 1;
    }
    if args.streams_at == 0 {
        ctx.error(SYNTAX);
        return None;
    }
    if readgroup && args.group.is_none() {
        ctx.error(b"ERR Missing GROUP option for XREADGROUP");
        return None;
    }
    Some(args)
}

/// Where to read a stream from.
#[derive(Clone, Copy)]
enum From {
    /// Entries after this id.
    After(StreamId),
    /// `>`: entries the group has not delivered.
    New,
}

/// The stream at `key` for a read (no hit/miss counting twice: looked up once per key).
fn stream_at<'s, A: KvAllocator>(
    ks: &mut Keyspace<A>,
    ctx: &mut Ctx<'_>,
    key: &[u8],
) -> Result<Option<&'s mut Stream<A>>, ()> {
    match ks.lookup_read(ctx.db, key, ctx.now_ms, ctx.fx) {
        None => Ok(None),
        Some(entry) => match object::<A, Stream<A>>(entry) {
            Some(stream) => Ok(Some(stream)),
            None => Err(()),
        },
    }
}

/// Resolves each stream's start; `None` after replying an error.
fn resolve<A: KvAllocator>(
    ks: &mut Keyspace<A>,
    ctx: &mut Ctx<'_>,
    args: &ReadArgs<'_>,
) -> Option<Vec<From>> {
    let argv = ctx.argv;
    let mut from = Vec::with_capacity(args.n);
    for i in 0..args.n {
        let key = argv[args.streams_at + i];
        let id_arg = argv[args.streams_at + args.n + i];
        let stream = match stream_at::<A>(ks, ctx, key) {
            Ok(stream) => stream,
            // A blocked XREAD keeps waiting while its key holds another type.
            Err(()) if args.retry && args.group.is_none() => None,
            Err(()) if args.retry => {
                ctx.error(b"UNBLOCKED the stream key no longer exists");
                return None;
            }
            Err(()) => {
                ctx.error(WRONGTYPE);
                return None;
            }
        };
        if let Some((group, _)) = args.group {
            let has_group = stream
                .as_ref()
                .is_some_and(|s| s.find_group(group).is_some());
            if !has_group {
                if args.retry && stream.is_none() {
                    ctx.error(b"UNBLOCKED the stream key no longer exists");
                } else if args.retry {
                    ctx.error(
                        b"NOGROUP the consumer group this client was blocked on no longer exists",
                    );
                } else {
                    ctx.error_c_format(&[
                        b"NOGROUP No such key '",
                        key,
                        b"' or consumer group '",
                        group,
                        b"' in XREADGROUP with GROUP option",
                    ]);
                }
                return None;
            }
        }
        if id_arg == b"$" {
            if args.group.is_some() {
                ctx.error(b"ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.");
                return None;
            }
            from.push(From::After(stream.map_or(StreamId::MIN, |s| s.last_id)));
        } else if id_arg == b">" {
            if args.group.is_none() {
                ctx.error(b"ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.");
                return None;
            }
            from.push(From::New);
        } else {
            let (id, _) = parse_id(ctx, id_arg, 0, IdForm::Strict, false)?;
            from.push(From::After(id));
        }
    }
    Some(from)
}

/// # Format
/// `XREAD [COUNT count] [BLOCK milliseconds] STREAMS key [key ...] id [id ...]`
pub fn xread<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    read_command(ks, ctx, false);
}

/// # Format
/// `XREADGROUP GROUP group consumer [COUNT count] [BLOCK milliseconds] [NOACK] STREAMS key [key ...] id [id ...]`
pub fn xreadgroup<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    read_command(ks, ctx, true);
}

fn read_command<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>, readgroup: bool) {
    let Some(args) = parse_args(ctx, readgroup) else {
        return;
    };
    let Some(from) = resolve(ks, ctx, &args) else {
        return;
    };
    if readgroup {
        // Propagated only through its effects (XCLAIM / XGROUP SETID records).
        ctx.fx.rewritten.get_or_insert_with(Vec::new);
    }
    let mut body = Vec::new();
    let mut served = 0;
    for (i, start) in from.iter().enumerate() {
        let key = ctx.argv[args.streams_at + i];
        let Ok(Some(stream)) = stream_at::<A>(ks, ctx, key) else {
            continue;
        };
        // Redis serves when the last live id is past the start: i.e. some live entry is after it.
        let has_after = |after: StreamId| {
            after < stream.last_id
                && after
                    .incr()
                    .is_some_and(|first| stream.range(first, StreamId::MAX, false).next().is_some())
        };
        let ok = match (start, args.group) {
            // A consumer's history is served even from an empty stream (deleted ids come back as nulls).
            (From::After(_), Some(_)) => true,
            (From::New, Some((group, _))) => stream
                .find_group(group)
                .is_some_and(|g| has_after(stream.groups[g].last_id)),
            (From::After(id), None) => has_after(*id),
            (From::New, None) => false,
        };
        if !ok {
            continue;
        }
        if args.group.is_some() {
            match serve_group(ctx, stream, key, &args, *start, &mut body) {
                Some(n) => served += n,
                None => return ctx.error(OOM),
            }
        } else if let From::After(id) = start {
            served += 1;
            stream_header(&mut body, ctx.proto, key);
            let entries: Vec<_> = match id.incr() {
                Some(first) => stream
                    .range(first, StreamId::MAX, false)
                    .take(limit(args.count))
                    .collect(),
                None => Vec::new(),
            };
            reply::array_len(&mut body, entries.len());
            for entry in &entries {
                reply_entry(&mut body, entry);
            }
        }
    }
    if served > 0 {
        if ctx.proto == Protocol::Resp2 {
            reply::array_len(ctx.out, served);
        } else {
            reply::map_len(ctx.out, ctx.proto, served);
        }
        ctx.out.extend_from_slice(&body);
        return;
    }
    let Some(block_ms) = args.block_ms else {
        return reply::null_array(ctx.out, ctx.proto);
    };
    if !ctx.fx.may_block {
        return reply::null_array(ctx.out, ctx.proto);
    }
    let deadline_ms = if block_ms == 0 {
        None
    } else {
        match ctx.now_ms.checked_add(block_ms) {
            Some(deadline) => Some(deadline),
            None => return ctx.error(b"ERR timeout is out of range"),
        }
    };
    let keys: Vec<Vec<u8>> = (0..args.n)
        .map(|i| ctx.argv[args.streams_at + i].to_vec())
        .collect();
    ctx.fx.block_argv = Some(retry_argv(ctx, &args, &from, block_ms));
    ctx.fx.block = Some(BlockOn { keys, deadline_ms });
}

fn limit(count: i64) -> usize {
    if count <= 0 {
        usize::MAX
    } else {
        count as usize
    }
}

/// `[key, ...]` in RESP2, a map key in RESP3.
fn stream_header(out: &mut Vec<u8>, proto: Protocol, key: &[u8]) {
    if proto == Protocol::Resp2 {
        reply::array_len(out, 2);
    }
    reply::bulk(out, key);
}

/// The command a blocked reader runs again (see the module docs).
fn retry_argv(ctx: &Ctx<'_>, args: &ReadArgs<'_>, from: &[From], block_ms: i64) -> Vec<Vec<u8>> {
    let argv = ctx.argv;
    let mut out: Vec<Vec<u8>> = vec![argv[0].to_vec(), RETRY_MARK.to_vec()];
    if let Some((group, consumer)) = args.group {
        out.extend([b"GROUP".to_vec(), group.to_vec(), consumer.to_vec()]);
        if args.noack {
            out.push(b"NOACK".to_vec());
        }
    }
    let count = if args.count > 0 {
        args.count
    } else {
        BLOCKED_COUNT_DEFAULT
    };
    out.extend([b"COUNT".to_vec(), count.to_string().into_bytes()]);
    out.extend([b"BLOCK".to_vec(), block_ms.to_string().into_bytes()]);
    out.push(b"STREAMS".to_vec());
    out.extend((0..args.n).map(|i| argv[args.streams_at + i].to_vec()));
    out.extend(from.iter().map(|f| match f {
        From::New => b">".to_vec(),
        From::After(id) => id.to_string().into_bytes(),
    }));
    out
}

/// Serves one stream of an XREADGROUP; the number of stream replies written (0 or 1), `None` on OOM.
fn serve_group<A: KvAllocator>(
    ctx: &mut Ctx<'_>,
    stream: &mut Stream<A>,
    key: &[u8],
    args: &ReadArgs<'_>,
    start: From,
    body: &mut Vec<u8>,
) -> Option<usize> {
    let (group_name, consumer_name) = args.group?;
    let idx = stream.find_group(group_name)?;
    ctx.fx.dirty += 1;
    let slot = match stream.groups[idx].find_consumer(consumer_name) {
        Some(slot) => {
            if let Some(c) = stream.groups[idx].consumer_mut(slot) {
                c.seen_ms = ctx.now_ms;
            }
            slot
        }
        None => {
            let slot = stream.groups[idx]
                .create_consumer(consumer_name, ctx.now_ms)
                .ok()?;
            ctx.fx.dirty += 1;
            ctx.fx
                .notify(crate::notify::STREAM, "xgroup-createconsumer", ctx.db, key);
            if args.noack {
                ctx.fx.rewrite(vec![
                    b"XGROUP".to_vec(),
                    b"CREATECONSUMER".to_vec(),
                    key.to_vec(),
                    group_name.to_vec(),
                    consumer_name.to_vec(),
                ]);
            }
            slot
        }
    };
    stream_header(body, ctx.proto, key);
    match start {
        From::After(id) => serve_history(ctx, stream, idx, slot, id, args.count, body),
        From::New => serve_new(ctx, stream, idx, slot, key, args, body)?,
    }
    Some(1)
}

/// XREADGROUP with an id: the consumer's own pending entries after `after`.
#[allow(clippy::too_many_arguments)]
fn serve_history<A: KvAllocator>(
    ctx: &mut Ctx<'_>,
    stream: &mut Stream<A>,
    idx: usize,
    slot: u32,
    after: StreamId,
    count: i64,
    body: &mut Vec<u8>,
) {
    let ids: Vec<StreamId> = match (after.incr(), stream.groups[idx].consumer(slot)) {
        (Some(first), Some(c)) => c
            .pel
            .iter()
            .copied()
            .filter(|&id| id >= first)
            .take(limit(count))
            .collect(),
        _ => Vec::new(),
    };
    reply::array_len(body, ids.len());
    for id in ids {
        let found = match stream.range(id, id, false).next() {
            Some(entry) => {
                reply_entry(body, &entry);
                true
            }
            None => false,
        };
        if !found {
            reply::array_len(body, 2);
            reply_id(body, id);
            reply::null_array(body, ctx.proto);
            continue;
        }
        if let Some(nack) = stream.groups[idx].nack_mut(id) {
            nack.delivery_ms = ctx.now_ms;
            nack.delivery_count = nack.delivery_count.wrapping_add(1);
        }
    }
}

/// XREADGROUP with `>`: entries after the group's last id, added to the PEL unless NOACK.
fn serve_new<A: KvAllocator>(
    ctx: &mut Ctx<'_>,
    stream: &mut Stream<A>,
    idx: usize,
    slot: u32,
    key: &[u8],
    args: &ReadArgs<'_>,
    body: &mut Vec<u8>,
) -> Option<()> {
    let (group_name, consumer_name) = args.group?;
    let first = stream.groups[idx].last_id.incr();
    let ids: Vec<StreamId> = match first {
        Some(first) => {
            let entries: Vec<_> = stream
                .range(first, StreamId::MAX, false)
                .take(limit(args.count))
                .collect();
            reply::array_len(body, entries.len());
            for entry in &entries {
                reply_entry(body, entry);
            }
            entries.iter().map(|e| e.id).collect()
        }
        None => {
            reply::array_len(body, 0);
            Vec::new()
        }
    };
    let mut moved_last = false;
    for id in ids {
        if id > stream.groups[idx].last_id {
            let read = stream.count_read(idx, id);
            let group = &mut stream.groups[idx];
            group.entries_read = read;
            group.last_id = id;
            moved_last = true;
        }
        if !args.noack {
            let group = &mut stream.groups[idx];
            group.assign(id, slot, ctx.now_ms, 1).ok()?;
            let nack = Nack {
                delivery_ms: ctx.now_ms,
                delivery_count: 1,
                consumer: slot,
            };
            ctx.fx.rewrite(claim(
                key,
                group_name,
                consumer_name,
                id,
                &nack,
                group.last_id,
            ));
        }
    }
    if args.noack && moved_last {
        let group = &stream.groups[idx];
        ctx.fx.rewrite(setid_record(
            key,
            group_name,
            group.last_id,
            group.entries_read,
        ));
    }
    Some(())
}
