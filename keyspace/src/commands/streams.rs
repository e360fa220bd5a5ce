//! Stream commands: XADD, XRANGE/XREVRANGE, XLEN, XDEL, XTRIM, XSETID, and the helpers the other stream
//! families share (id arguments, entry replies, trimming options).
//!
//! Replies and errors are Redis 7.0.15's (`t_stream.c`). A stream key is never deleted for being empty.
//! XADD with `*`/`<ms>-*` and approximate trimming are logged to the AOF in their deterministic form (the
//! generated id, `MAXLEN = <length>` / `MINID = <first id>`), as Redis rewrites them.

use super::lists::wrong_arity;
use super::{Ctx, OOM, SYNTAX};
use crate::num::parse_i64_exact;
use crate::types::stream::{Entry, Trim};
use crate::types::{Stream, StreamId};
use crate::value::{create, read_obj, write_obj, Found};
use crate::{notify, Keyspace};
use allocator_api2::alloc::Allocator;
use zedis_kv_pool::KvAllocator;
use zedis_resp::reply;

/// Redis's reply to a malformed id.
pub const INVALID_ID: &[u8] = b"ERR Invalid stream ID specified as stream command argument";

/// Longest id argument Redis looks at (its 128-byte parse buffer).
const ID_ARG_BYTES_MAX: usize = 127;

/// How an id argument may be written.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum IdForm {
    /// `-` and `+` accepted (range bounds, XGROUP SETID).
    Loose,
    /// `-`/`+` rejected.
    Strict,
}

/// Parses an id argument as Redis's `streamGenericParseIDOrReply`: `(id, seq_given)`, `seq_given` false
/// for `<ms>` and for `<ms>-*` (only when `allow_star`). Replies the error on failure.
pub fn parse_id(
    ctx: &mut Ctx<'_>,
    arg: &[u8],
    missing_seq: u64,
    form: IdForm,
    allow_star: bool,
) -> Option<(StreamId, bool)> {
    let parsed = parse_id_quiet(arg, missing_seq, form, allow_star);
    if parsed.is_none() {
        ctx.error(INVALID_ID);
    }
    parsed
}

/// [`parse_id`] without a reply.
pub fn parse_id_quiet(
    arg: &[u8],
    missing_seq: u64,
    form: IdForm,
    allow_star: bool,
) -> Option<(StreamId, bool)> {
    if arg.len() > ID_ARG_BYTES_MAX {
        return None;
    }
    match arg {
        b"-" | b"+" if form == IdForm::Strict => None,
        b"-" => Some((StreamId::MIN, true)),
        b"+" => Some((StreamId::MAX, true)),
        _ => {
            if allow_star {
                if let Some(ms) = arg.strip_suffix(b"-*") {
                    return StreamId::parse(ms, 0)
                        .filter(|(_, seq)| !seq)
                        .map(|(id, _)| (id, false));
                }
                // XADD: a bare `<ms>` means `<ms>-0`; only `<ms>-*` leaves the sequence to generate.
                return StreamId::parse(arg, missing_seq).map(|(id, _)| (id, true));
            }
            StreamId::parse(arg, missing_seq)
        }
    }
}

/// Writes an id as a bulk string.
pub fn reply_id(out: &mut Vec<u8>, id: StreamId) {
    reply::bulk(out, id.to_string().as_bytes());
}

/// Writes `[id, [field, value, ...]]`.
pub fn reply_entry<A: Allocator + Copy>(out: &mut Vec<u8>, entry: &Entry<'_, A>) {
    reply::array_len(out, 2);
    reply_id(out, entry.id);
    reply::array_len(out, entry.len() * 2);
    for (field, value) in entry.pairs() {
        reply::bulk(out, field);
        reply::bulk(out, value);
    }
}

/// Parsed `MAXLEN|MINID [=|~] threshold [LIMIT n]` (Redis's `streamAddTrimArgs`).
pub struct TrimArgs {
    /// The strategy, if any.
    pub how: Option<Trim>,
    /// `~` given.
    pub approx: bool,
    /// Entries the trim may remove (0 = no cap).
    pub limit: u64,
    /// Index of the threshold argument (rewritten for the AOF after an approximate trim).
    pub threshold_idx: usize,
    /// XADD only: NOMKSTREAM given.
    pub no_mkstream: bool,
    /// XADD only: index of the id argument.
    pub id_idx: usize,
    /// XADD only: the id given and whether its sequence part was (`None`: `*`, or no id at all).
    pub id: Option<(StreamId, bool)>,
    /// Index of the `LIMIT` option, if given (dropped from the AOF form, which trims exactly).
    pub limit_idx: Option<usize>,
}

/// Parses XADD/XTRIM options from `argv[2..]` as Redis's `streamParseAddOrTrimArgsOrReply`; replies on error.
pub fn parse_trim_args(ctx: &mut Ctx<'_>, xadd: bool, node_entries_max: usize) -> Option<TrimArgs> {
    let argv = ctx.argv;
    let mut args = TrimArgs {
        how: None,
        approx: false,
        limit: 0,
        threshold_idx: 0,
        no_mkstream: false,
        id_idx: argv.len(),
        id: None,
        limit_idx: None,
    };
    let mut limit_given = false;
    let mut i = 2;
    while i < argv.len() {
        let more = argv.len() - 1 - i;
        // Redis compares options as C strings (`strcasecmp`, `opt[0] == '*' && opt[1] == '\0'`).
        let opt = super::c_string(argv[i]);
        if xadd && opt == b"*" {
            break;
        }
        let is_maxlen = opt.eq_ignore_ascii_case(b"maxlen");
        if (is_maxlen || opt.eq_ignore_ascii_case(b"minid")) && more > 0 {
            if args.how.is_some() {
                ctx.error(b"ERR syntax error, MAXLEN and MINID options at the same time are not compatible");
                return None;
            }
            args.approx = false;
            let next = super::c_string(argv[i + 1]);
            if more >= 2 && (next == b"~" || next == b"=") {
                args.approx = next == b"~";
                i += 1;
            }
            let threshold = argv[i + 1];
            if is_maxlen {
                let Some(max) = parse_i64_exact(threshold) else {
                    ctx.error(super::NOT_INTEGER);
                    return None;
                };
                if max < 0 {
                    ctx.error(b"ERR The MAXLEN argument must be >= 0.");
                    return None;
                }
                args.how = Some(Trim::MaxLen(max as u64));
            } else {
                let (min, _) = parse_id(ctx, threshold, 0, IdForm::Strict, false)?;
                args.how = Some(Trim::MinId(min));
            }
            i += 1;
            args.threshold_idx = i;
        } else if opt.eq_ignore_ascii_case(b"limit") && more > 0 {
            let Some(limit) = parse_i64_exact(argv[i + 1]) else {
                ctx.error(super::NOT_INTEGER);
                return None;
            };
            if limit < 0 {
                ctx.error(b"ERR The LIMIT argument must be >= 0.");
                return None;
            }
            args.limit = limit as u64;
            limit_given = true;
            args.limit_idx = Some(i);
            i += 1;
        } else if xadd && opt.eq_ignore_ascii_case(b"nomkstream") {
            args.no_mkstream = true;
        } else if xadd {
            // Here it is the id or a syntax error: Redis parses it before any other check.
            args.id = Some(parse_id(ctx, argv[i], 0, IdForm::Strict, true)?);
            break;
        } else {
            ctx.error(SYNTAX);
            return None;
        }
        i += 1;
    }
    args.id_idx = i;
    if args.limit > 0 && args.how.is_none() {
        ctx.error(b"ERR syntax error, LIMIT cannot be used without specifying a trimming strategy");
        return None;
    }
    if !xadd && args.how.is_none() {
        ctx.error(b"ERR syntax error, XTRIM must be called with a trimming strategy");
        return None;
    }
    if limit_given {
        if !args.approx {
            ctx.error(b"ERR syntax error, LIMIT cannot be used without the special ~ option");
            return None;
        }
    } else if args.approx {
        args.limit = (100 * node_entries_max as u64).clamp(1, 1_000_000);
        if node_entries_max == 0 {
            args.limit = 10_000;
        }
    }
    Some(args)
}

/// Trims `stream` per `args`; after an approximate trim, records the deterministic argv for the AOF.
/// Returns the number of entries removed.
fn apply_trim<A: KvAllocator>(
    ctx: &mut Ctx<'_>,
    stream: &mut Stream<A>,
    args: &TrimArgs,
    argv: &mut [Vec<u8>],
) -> u64 {
    let Some(how) = args.how else {
        return 0;
    };
    let removed = stream.trim(how, args.approx, args.limit);
    if removed > 0 {
        ctx.fx.notify(notify::STREAM, "xtrim", ctx.db, ctx.argv[1]);
    }
    if args.approx {
        argv[args.threshold_idx - 1] = b"=".to_vec();
        argv[args.threshold_idx] = match how {
            Trim::MaxLen(_) => stream.len().to_string().into_bytes(),
            Trim::MinId(_) => stream.first_id().to_string().into_bytes(),
        };
    }
    removed
}

/// Removes `LIMIT n` from an approximate trim's AOF form: it trims exactly (`=`) to the length or first id
/// reached, and Redis 7.0 refuses LIMIT without `~` from a client (it ignores it only when loading).
fn drop_limit(args: &TrimArgs, logged: &mut Vec<Vec<u8>>) {
    if let (true, Some(at)) = (args.approx, args.limit_idx) {
        logged.drain(at..at + 2);
    }
}

/// # Format
/// `XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]] <*|id> field value [field value ...]`
pub fn xadd<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let limits = ks.config.stream_limits;
    let Some(args) = parse_trim_args(ctx, true, limits.node_entries_max) else {
        return;
    };
    let argv = ctx.argv;
    let field_pos = args.id_idx + 1;
    if argv.len() < field_pos || (argv.len() - field_pos) < 2 || (argv.len() - field_pos) % 2 == 1 {
        return wrong_arity(ctx);
    }
    let given = args.id;
    if let Some((id, true)) = given {
        if id.is_zero() {
            return ctx.error(b"ERR The ID specified in XADD must be greater than 0-0");
        }
    }
    let key = argv[1];
    let (stream, created) = match write_obj::<A, Stream<A>>(ks, ctx, key) {
        Found::WrongType => return,
        Found::Some(stream) => (stream, false),
        Found::Missing if args.no_mkstream => return reply::null(ctx.out, ctx.proto),
        Found::Missing => match create::<A, Stream<A>>(ks, ctx, key) {
            Some(stream) => (stream, true),
            None => return,
        },
    };
    if stream.last_id == StreamId::MAX {
        return ctx
            .error(b"ERR The stream has exhausted the last possible ID, unable to add more items");
    }
    let id = match given {
        None => stream.next_auto_id(ctx.now_ms.max(0) as u64),
        Some((id, true)) => Some(id),
        Some((id, false)) if id.ms == stream.last_id.ms => {
            stream.last_id.incr().filter(|n| n.ms == id.ms)
        }
        Some((id, false)) => Some(id),
    };
    let Some(id) = id.filter(|&id| id > stream.last_id) else {
        return ctx.error(
            b"ERR The ID specified in XADD is equal or smaller than the target stream top item",
        );
    };
    if stream.append(id, &argv[field_pos..], &limits).is_err() {
        // A stream created for this entry does not stay behind empty.
        if created {
            ks.db_mut(ctx.db).remove(key);
        }
        return ctx.error(OOM);
    }
    reply_id(ctx.out, id);
    ctx.fx.changed(notify::STREAM, "xadd", ctx.db, key);
    // The argv is logged as received unless the id was generated or an approximate trim must be pinned.
    let rewrite = !matches!(given, Some((_, true))) || args.approx;
    let mut logged: Vec<Vec<u8>> = if rewrite {
        argv.iter().map(|a| a.to_vec()).collect()
    } else {
        Vec::new()
    };
    apply_trim(ctx, stream, &args, &mut logged);
    if rewrite {
        logged[args.id_idx] = id.to_string().into_bytes();
        drop_limit(&args, &mut logged);
        ctx.fx.rewrite(logged);
    }
}

/// # Format
/// `XTRIM key MAXLEN|MINID [=|~] threshold [LIMIT count]`
pub fn xtrim<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let limits = ks.config.stream_limits;
    let Some(args) = parse_trim_args(ctx, false, limits.node_entries_max) else {
        return;
    };
    let key = ctx.argv[1];
    let stream = match write_obj::<A, Stream<A>>(ks, ctx, key) {
        Found::WrongType => return,
        Found::Missing => return reply::integer(ctx.out, 0),
        Found::Some(stream) => stream,
    };
    let mut logged: Vec<Vec<u8>> = ctx.argv.iter().map(|a| a.to_vec()).collect();
    let removed = apply_trim(ctx, stream, &args, &mut logged);
    drop_limit(&args, &mut logged);
    if removed > 0 {
        ctx.fx.dirty += removed;
        ctx.fx.touch(ctx.db, key);
        ctx.fx.rewrite(logged);
    }
    reply::integer(ctx.out, removed as i64);
}

/// A range bound as `streamParseIntervalIDOrReply` reads it (`(` = exclusive).
fn range_bound(ctx: &mut Ctx<'_>, arg: &[u8], missing_seq: u64) -> Option<(StreamId, bool)> {
    if arg.len() > 1 && arg[0] == b'(' {
        let (id, _) = parse_id(ctx, &arg[1..], missing_seq, IdForm::Strict, false)?;
        Some((id, true))
    } else {
        let (id, _) = parse_id(ctx, arg, missing_seq, IdForm::Loose, false)?;
        Some((id, false))
    }
}

/// XRANGE (`rev` false) and XREVRANGE.
fn range_command<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>, rev: bool) {
    let argv = ctx.argv;
    let (start_arg, end_arg) = if rev {
        (argv[3], argv[2])
    } else {
        (argv[2], argv[3])
    };
    let Some((mut start, start_ex)) = range_bound(ctx, start_arg, 0) else {
        return;
    };
    if start_ex {
        match start.incr() {
            Some(next) => start = next,
            None => return ctx.error(b"ERR invalid start ID for the interval"),
        }
    }
    let Some((mut end, end_ex)) = range_bound(ctx, end_arg, u64::MAX) else {
        return;
    };
    if end_ex {
        match end.decr() {
            Some(prev) => end = prev,
            None => return ctx.error(b"ERR invalid end ID for the interval"),
        }
    }
    let mut count: i64 = -1;
    let mut j = 4;
    while j < argv.len() {
        if argv[j].eq_ignore_ascii_case(b"count") && j + 1 < argv.len() {
            let Some(n) = ctx.int_arg(j + 1) else {
                return;
            };
            count = n.max(0);
            j += 2;
        } else {
            return ctx.error(SYNTAX);
        }
    }
    let stream = match read_obj::<A, Stream<A>>(ks, ctx, argv[1]) {
        Found::WrongType => return,
        Found::Missing => return reply::array_len(ctx.out, 0),
        Found::Some(stream) => stream,
    };
    if count == 0 {
        return reply::null_array(ctx.out, ctx.proto);
    }
    let limit = if count < 0 {
        usize::MAX
    } else {
        count as usize
    };
    let mut body = Vec::new();
    let mut n = 0;
    for entry in stream.range(start, end, rev).take(limit) {
        reply_entry(&mut body, &entry);
        n += 1;
    }
    reply::array_len(ctx.out, n);
    ctx.out.extend_from_slice(&body);
}

/// # Format
/// `XRANGE key start end [COUNT count]`
pub fn xrange<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    range_command(ks, ctx, false);
}

/// # Format
/// `XREVRANGE key end start [COUNT count]`
pub fn xrevrange<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    range_command(ks, ctx, true);
}

/// # Format
/// `XLEN key`
pub fn xlen<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    match read_obj::<A, Stream<A>>(ks, ctx, ctx.argv[1]) {
        Found::WrongType => {}
        Found::Missing => reply::integer(ctx.out, 0),
        Found::Some(stream) => reply::integer(ctx.out, stream.len() as i64),
    }
}

/// # Format
/// `XDEL key id [id ...]`
pub fn xdel<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let key = ctx.argv[1];
    let stream = match write_obj::<A, Stream<A>>(ks, ctx, key) {
        Found::WrongType => return,
        Found::Missing => return reply::integer(ctx.out, 0),
        Found::Some(stream) => stream,
    };
    let mut ids = Vec::with_capacity(ctx.argv.len() - 2);
    for &arg in &ctx.argv[2..] {
        let Some((id, _)) = parse_id(ctx, arg, 0, IdForm::Strict, false) else {
            return;
        };
        ids.push(id);
    }
    let deleted = ids.into_iter().filter(|&id| stream.delete(id)).count();
    if deleted > 0 {
        ctx.fx.touch(ctx.db, key);
        ctx.fx.notify(notify::STREAM, "xdel", ctx.db, key);
        ctx.fx.dirty += deleted as u64;
    }
    reply::integer(ctx.out, deleted as i64);
}

/// # Format
/// `XSETID key last-id [ENTRIESADDED entries-added] [MAXDELETEDID max-deleted-id]`
pub fn xsetid<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let argv = ctx.argv;
    let Some((id, _)) = parse_id(ctx, argv[2], 0, IdForm::Strict, false) else {
        return;
    };
    let mut entries_added: Option<u64> = None;
    let mut max_deleted = StreamId::MIN;
    let mut i = 3;
    while i < argv.len() {
        let more = i + 1 < argv.len();
        if argv[i].eq_ignore_ascii_case(b"entriesadded") && more {
            let Some(n) = ctx.int_arg(i + 1) else {
                return;
            };
            if n < 0 {
                return ctx.error(b"ERR entries_added must be positive");
            }
            entries_added = Some(n as u64);
        } else if argv[i].eq_ignore_ascii_case(b"maxdeletedid") && more {
            let Some((max, _)) = parse_id(ctx, argv[i + 1], 0, IdForm::Strict, false) else {
                return;
            };
            if id < max {
                return ctx.error(b"ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id");
            }
            max_deleted = max;
        } else {
            return ctx.error(SYNTAX);
        }
        i += 2;
    }
    let key = argv[1];
    let stream = match write_obj::<A, Stream<A>>(ks, ctx, key) {
        Found::WrongType => return,
        Found::Missing => return ctx.error(super::NO_SUCH_KEY),
        Found::Some(stream) => stream,
    };
    if let Some(last) = stream.last_entry() {
        if id < last.id {
            return ctx.error(
                b"ERR The ID specified in XSETID is smaller than the target stream top item",
            );
        }
        if entries_added.is_some_and(|n| stream.len() > n) {
            return ctx.error(b"ERR The entries_added specified in XSETID is smaller than the target stream length");
        }
    }
    stream.last_id = id;
    if let Some(n) = entries_added {
        stream.entries_added = n;
    }
    if !max_deleted.is_zero() {
        stream.max_deleted_id = max_deleted;
    }
    reply::ok(ctx.out);
    // Redis does not signal the key as modified here (WATCH is not invalidated).
    ctx.fx.dirty += 1;
    ctx.fx.notify(notify::STREAM, "xsetid", ctx.db, key);
}

#[cfg(test)]
#[path = "stream_cmd_tests.rs"]
mod tests;
