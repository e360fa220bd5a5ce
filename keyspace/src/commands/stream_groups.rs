//! Consumer group administration: XGROUP (CREATE, SETID, DESTROY, CREATECONSUMER, DELCONSUMER, HELP), XACK and
//! XPENDING. Replies and errors are Redis 7.0.15's.

use super::streams::{parse_id, reply_id, IdForm};
use super::{Ctx, OOM, SYNTAX};
use crate::types::stream_cg::{Group, ENTRIES_READ_INVALID};
use crate::types::{Stream, StreamId};
use crate::value::{create, read_obj, write_obj, Found};
use crate::{notify, Keyspace};
use zedis_kv_pool::KvAllocator;
use zedis_resp::reply;

const XGROUP_HELP: &[&str] = &[
    "XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CREATE <key> <groupname> <id|$> [option]",
    "    Create a new consumer group. Options are:",
    "    * MKSTREAM",
    "      Create the empty stream if it does not exist.",
    "    * ENTRIESREAD entries_read",
    "      Set the group's entries_read counter (internal use).",
    "CREATECONSUMER <key> <groupname> <consumer>",
    "    Create a new consumer in the specified group.",
    "DELCONSUMER <key> <groupname> <consumer>",
    "    Remove the specified consumer.",
    "DESTROY <key> <groupname>",
    "    Remove the specified group.",
    "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
    "    Set the current group ID and entries_read counter.",
    "HELP",
    "    Prints this help.",
];

/// Writes a HELP reply (status lines).
pub(crate) fn reply_help(out: &mut Vec<u8>, lines: &[&str]) {
    reply::array_len(out, lines.len());
    for line in lines {
        reply::simple(out, line.as_bytes());
    }
}

/// Redis's `addReplySubcommandSyntaxError`.
pub(crate) fn subcommand_syntax(ctx: &mut Ctx<'_>) {
    // `%.128s` of the subcommand; the command name is an sds printed with `%s`.
    let cmd = super::c_string(ctx.argv[0]).to_ascii_uppercase();
    let sub = super::c_string(ctx.argv[1]);
    let sub = &sub[..sub.len().min(128)];
    ctx.error_c_format(&[
        b"ERR unknown subcommand or wrong number of arguments for '",
        sub,
        b"'. Try ",
        &cmd,
        b" HELP.",
    ]);
}

/// The NOGROUP error of the group-administration commands.
fn no_group(ctx: &mut Ctx<'_>, group: &[u8], key: &[u8]) {
    ctx.error_c_format(&[
        b"NOGROUP No such consumer group '",
        group,
        b"' for key name '",
        key,
        b"'",
    ]);
}

/// # Format
/// `XGROUP CREATE|SETID|DESTROY|CREATECONSUMER|DELCONSUMER|HELP ...`
pub fn xgroup<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let argv = ctx.argv;
    let sub = argv[1];
    let is = |name: &[u8]| sub.eq_ignore_ascii_case(name);
    if argv.len() == 2 && is(b"help") {
        return reply_help(ctx.out, XGROUP_HELP);
    }
    if argv.len() < 4 {
        return subcommand_syntax(ctx);
    }
    let (create_sub, setid_sub) = (is(b"create"), is(b"setid"));
    let mut mkstream = false;
    let mut entries_read = ENTRIES_READ_INVALID;
    let mut i = 5;
    while i < argv.len() {
        if create_sub && argv[i].eq_ignore_ascii_case(b"mkstream") {
            mkstream = true;
            i += 1;
        } else if (create_sub || setid_sub)
            && argv[i].eq_ignore_ascii_case(b"entriesread")
            && i + 1 < argv.len()
        {
            let Some(n) = ctx.int_arg(i + 1) else {
                return;
            };
            if n < 0 && n != ENTRIES_READ_INVALID {
                return ctx.error(b"ERR value for ENTRIESREAD must be positive or -1");
            }
            entries_read = n;
            i += 2;
        } else {
            return subcommand_syntax(ctx);
        }
    }
    let (key, name) = (argv[2], argv[3]);
    let found = write_obj::<A, Stream<A>>(ks, ctx, key);
    let stream = match found {
        Found::WrongType => return,
        Found::Some(stream) => Some(stream),
        Found::Missing => None,
    };
    if stream.is_none() && !mkstream {
        return ctx.error(b"ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.");
    }
    let group_idx = stream.as_ref().and_then(|s| s.find_group(name));
    if !mkstream
        && group_idx.is_none()
        && (setid_sub || is(b"createconsumer") || is(b"delconsumer"))
    {
        return no_group(ctx, name, key);
    }
    if create_sub && (5..=8).contains(&argv.len()) {
        group_create(ks, ctx, stream, entries_read);
    } else if setid_sub && (argv.len() == 5 || argv.len() == 7) {
        let (Some(stream), Some(idx)) = (stream, group_idx) else {
            return subcommand_syntax(ctx);
        };
        let id = if argv[4] == b"$" {
            stream.last_id
        } else {
            let Some((id, _)) = parse_id(ctx, argv[4], 0, IdForm::Loose, false) else {
                return;
            };
            id
        };
        let group = &mut stream.groups[idx];
        group.last_id = id;
        group.entries_read = entries_read;
        reply::ok(ctx.out);
        ctx.fx.dirty += 1;
        ctx.fx.notify(notify::STREAM, "xgroup-setid", ctx.db, key);
    } else if is(b"destroy") && argv.len() == 4 {
        match (stream, group_idx) {
            (Some(stream), Some(idx)) => {
                stream.groups.remove(idx);
                reply::integer(ctx.out, 1);
                ctx.fx.dirty += 1;
                ctx.fx.touch(ctx.db, key);
                ctx.fx.notify(notify::STREAM, "xgroup-destroy", ctx.db, key);
            }
            _ => reply::integer(ctx.out, 0),
        }
    } else if is(b"createconsumer") && argv.len() == 5 {
        let (Some(stream), Some(idx)) = (stream, group_idx) else {
            return subcommand_syntax(ctx);
        };
        let group = &mut stream.groups[idx];
        if group.find_consumer(argv[4]).is_some() {
            return reply::integer(ctx.out, 0);
        }
        if group.create_consumer(argv[4], ctx.now_ms).is_err() {
            return ctx.error(OOM);
        }
        reply::integer(ctx.out, 1);
        ctx.fx.dirty += 1;
        ctx.fx
            .notify(notify::STREAM, "xgroup-createconsumer", ctx.db, key);
    } else if is(b"delconsumer") && argv.len() == 5 {
        let (Some(stream), Some(idx)) = (stream, group_idx) else {
            return subcommand_syntax(ctx);
        };
        let group = &mut stream.groups[idx];
        let pending = match group.find_consumer(argv[4]) {
            Some(slot) => {
                let pending = group.delete_consumer(slot);
                ctx.fx.dirty += 1;
                ctx.fx
                    .notify(notify::STREAM, "xgroup-delconsumer", ctx.db, key);
                pending
            }
            None => 0,
        };
        reply::integer(ctx.out, pending as i64);
    } else {
        subcommand_syntax(ctx);
    }
}

/// XGROUP CREATE once the options are parsed.
fn group_create<A: KvAllocator>(
    ks: &mut Keyspace<A>,
    ctx: &mut Ctx<'_>,
    stream: Option<&mut Stream<A>>,
    entries_read: i64,
) {
    let argv = ctx.argv;
    let (key, name) = (argv[2], argv[3]);
    let id = if argv[4] == b"$" {
        stream.as_ref().map_or(StreamId::MIN, |s| s.last_id)
    } else {
        let Some((id, _)) = parse_id(ctx, argv[4], 0, IdForm::Strict, false) else {
            return;
        };
        id
    };
    let stream = match stream {
        Some(stream) => stream,
        None => match create::<A, Stream<A>>(ks, ctx, key) {
            Some(stream) => {
                ctx.fx.touch(ctx.db, key);
                stream
            }
            None => return,
        },
    };
    if stream.find_group(name).is_some() {
        return ctx.error(b"BUSYGROUP Consumer Group name already exists");
    }
    if stream.create_group(name, id, entries_read).is_err() {
        return ctx.error(OOM);
    }
    reply::ok(ctx.out);
    ctx.fx.dirty += 1;
    ctx.fx.notify(notify::STREAM, "xgroup-create", ctx.db, key);
}

/// # Format
/// `XACK key group id [id ...]`
pub fn xack<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let argv = ctx.argv;
    let stream = match read_obj::<A, Stream<A>>(ks, ctx, argv[1]) {
        Found::WrongType => return,
        Found::Missing => return reply::integer(ctx.out, 0),
        Found::Some(stream) => stream,
    };
    let Some(idx) = stream.find_group(argv[2]) else {
        return reply::integer(ctx.out, 0);
    };
    let mut ids = Vec::with_capacity(argv.len() - 3);
    for &arg in &argv[3..] {
        let Some((id, _)) = parse_id(ctx, arg, 0, IdForm::Strict, false) else {
            return;
        };
        ids.push(id);
    }
    let group = &mut stream.groups[idx];
    let acked = ids.into_iter().filter(|&id| group.ack(id)).count();
    ctx.fx.dirty += acked as u64;
    reply::integer(ctx.out, acked as i64);
}

/// A PEL range bound (XPENDING), `(` exclusive.
pub(crate) fn pel_bound(ctx: &mut Ctx<'_>, arg: &[u8], start: bool) -> Option<StreamId> {
    let missing_seq = if start { 0 } else { u64::MAX };
    let exclusive = arg.len() > 1 && arg[0] == b'(';
    let form = if exclusive {
        IdForm::Strict
    } else {
        IdForm::Loose
    };
    let text = if exclusive { &arg[1..] } else { arg };
    let (id, _) = parse_id(ctx, text, missing_seq, form, false)?;
    if !exclusive {
        return Some(id);
    }
    let stepped = if start { id.incr() } else { id.decr() };
    if stepped.is_none() {
        let which = if start { "start" } else { "end" };
        ctx.error(format!("ERR invalid {which} ID for the interval").as_bytes());
    }
    stepped
}

/// # Format
/// `XPENDING key group [[IDLE min-idle-time] start end count [consumer]]`
pub fn xpending<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let argv = ctx.argv;
    let summary = argv.len() == 3;
    if !summary && !(6..=9).contains(&argv.len()) {
        return ctx.error(SYNTAX);
    }
    let mut range = (StreamId::MIN, StreamId::MAX, 0i64, 0i64, None::<&[u8]>);
    if !summary {
        let mut at = 3;
        if argv[3].eq_ignore_ascii_case(b"idle") {
            let Some(idle) = ctx.int_arg(4) else {
                return;
            };
            if argv.len() < 8 {
                return ctx.error(SYNTAX);
            }
            range.3 = idle;
            at = 5;
        }
        let Some(count) = ctx.int_arg(at + 2) else {
            return;
        };
        range.2 = count.max(0);
        let Some(start) = pel_bound(ctx, argv[at], true) else {
            return;
        };
        let Some(end) = pel_bound(ctx, argv[at + 1], false) else {
            return;
        };
        range.0 = start;
        range.1 = end;
        range.4 = argv.get(at + 3).copied();
    }
    let found = read_obj::<A, Stream<A>>(ks, ctx, argv[1]);
    let stream = match found {
        Found::WrongType => return,
        Found::Some(stream) => Some(stream),
        Found::Missing => None,
    };
    let Some(group) = stream.and_then(|s| s.find_group(argv[2]).map(|i| &s.groups[i])) else {
        return ctx.error_c_format(&[
            b"NOGROUP No such key '",
            argv[1],
            b"' or consumer group '",
            argv[2],
            b"'",
        ]);
    };
    if summary {
        return pending_summary(ctx, group);
    }
    let (start, end, mut count, min_idle, consumer) = range;
    // Both PELs are sorted: start at the first id >= start, stop past end.
    let ids: &[StreamId] = match consumer {
        None => &[],
        Some(name) => match group.find_consumer(name).and_then(|s| group.consumer(s)) {
            None => return reply::array_len(ctx.out, 0),
            Some(c) => &c.pel[c.pel.partition_point(|id| *id < start)..],
        },
    };
    let from_group = &group.pel[group.pel.partition_point(|(id, _)| *id < start)..];
    let ids: Box<dyn Iterator<Item = StreamId> + '_> = match consumer {
        None => Box::new(from_group.iter().map(|(id, _)| *id)),
        Some(_) => Box::new(ids.iter().copied()),
    };
    let ids = ids.take_while(|id| *id <= end);
    let mut body = Vec::new();
    let mut n = 0;
    for id in ids {
        if count == 0 {
            break;
        }
        let Some(nack) = group.nack(id) else {
            continue;
        };
        if min_idle != 0 && ctx.now_ms - nack.delivery_ms < min_idle {
            continue;
        }
        count -= 1;
        n += 1;
        reply::array_len(&mut body, 4);
        reply_id(&mut body, id);
        let name = group
            .consumer(nack.consumer)
            .map_or(&[][..], |c| &c.name[..]);
        reply::bulk(&mut body, name);
        reply::integer(&mut body, (ctx.now_ms - nack.delivery_ms).max(0));
        reply::integer(&mut body, nack.delivery_count as i64);
    }
    reply::array_len(ctx.out, n);
    ctx.out.extend_from_slice(&body);
}

/// XPENDING's summary form.
fn pending_summary<A: KvAllocator>(ctx: &mut Ctx<'_>, group: &Group<A>) {
    reply::array_len(ctx.out, 4);
    reply::integer(ctx.out, group.pel.len() as i64);
    let (Some(first), Some(last)) = (group.pel.first(), group.pel.last()) else {
        reply::null(ctx.out, ctx.proto);
        reply::null(ctx.out, ctx.proto);
        return reply::null_array(ctx.out, ctx.proto);
    };
    reply_id(ctx.out, first.0);
    reply_id(ctx.out, last.0);
    let owners: Vec<u32> = group
        .consumers_by_name()
        .into_iter()
        .filter(|&s| group.consumer(s).is_some_and(|c| !c.pel.is_empty()))
        .collect();
    reply::array_len(ctx.out, owners.len());
    for slot in owners {
        if let Some(c) = group.consumer(slot) {
            reply::array_len(ctx.out, 2);
            reply::bulk(ctx.out, &c.name);
            reply::bulk_int(ctx.out, c.pel.len() as i64);
        }
    }
}
