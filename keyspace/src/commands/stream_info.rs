//! XINFO STREAM [FULL [COUNT n]], XINFO GROUPS, XINFO CONSUMERS and XINFO HELP, as Redis 7.0.15 replies them.
//!
//! `radix-tree-keys` is the number of nodes; `radix-tree-nodes` counts them plus the index root (Zedis keeps
//! nodes in a sorted vector, not a radix tree, so there are no inner nodes to report).

use super::stream_groups::{reply_help, subcommand_syntax};
use super::streams::{reply_entry, reply_id};
use super::{Ctx, NO_SUCH_KEY};
use crate::types::stream_cg::{Group, ENTRIES_READ_INVALID};
use crate::types::{Stream, StreamId};
use crate::value::{read_obj, Found};
use crate::Keyspace;
use zedis_kv_pool::KvAllocator;
use zedis_resp::{reply, Protocol};

const XINFO_HELP: &[&str] = &[
    "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CONSUMERS <key> <groupname>",
    "    Show consumers of <groupname>.",
    "GROUPS <key>",
    "    Show the stream consumer groups.",
    "STREAM <key> [FULL [COUNT <count>]",
    "    Show information about the stream.",
    "HELP",
    "    Prints this help.",
];

/// # Format
/// `XINFO STREAM key [FULL [COUNT count]]` / `XINFO GROUPS key` / `XINFO CONSUMERS key group` / `XINFO HELP`
pub fn xinfo<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let argv = ctx.argv;
    let sub = argv[1];
    if sub.eq_ignore_ascii_case(b"help") {
        if argv.len() != 2 {
            return subcommand_syntax(ctx);
        }
        return reply_help(ctx.out, XINFO_HELP);
    }
    if argv.len() < 3 {
        return subcommand_syntax(ctx);
    }
    let stream = match read_obj::<A, Stream<A>>(ks, ctx, argv[2]) {
        Found::WrongType => return,
        Found::Missing => return ctx.error(NO_SUCH_KEY),
        Found::Some(stream) => stream,
    };
    if sub.eq_ignore_ascii_case(b"consumers") && argv.len() == 4 {
        consumers(ctx, stream);
    } else if sub.eq_ignore_ascii_case(b"groups") && argv.len() == 3 {
        reply::array_len(ctx.out, stream.groups.len());
        for group in stream.groups.iter() {
            reply::map_len(ctx.out, ctx.proto, 6);
            reply::bulk(ctx.out, b"name");
            reply::bulk(ctx.out, &group.name);
            reply::bulk(ctx.out, b"consumers");
            reply::integer(ctx.out, group.consumer_count() as i64);
            reply::bulk(ctx.out, b"pending");
            reply::integer(ctx.out, group.pel.len() as i64);
            reply::bulk(ctx.out, b"last-delivered-id");
            reply_id(ctx.out, group.last_id);
            group_counters(ctx.out, ctx.proto, stream, group);
        }
    } else if sub.eq_ignore_ascii_case(b"stream") {
        stream_info(ctx, stream);
    } else {
        subcommand_syntax(ctx);
    }
}

/// `entries-read` and `lag` of a group.
fn group_counters<A: KvAllocator>(
    out: &mut Vec<u8>,
    proto: Protocol,
    stream: &Stream<A>,
    group: &Group<A>,
) {
    reply::bulk(out, b"entries-read");
    if group.entries_read == ENTRIES_READ_INVALID {
        reply::null(out, proto);
    } else {
        reply::integer(out, group.entries_read);
    }
    reply::bulk(out, b"lag");
    match stream.group_lag(group) {
        Some(lag) => reply::integer(out, lag),
        None => reply::null(out, proto),
    }
}

fn consumers<A: KvAllocator>(ctx: &mut Ctx<'_>, stream: &Stream<A>) {
    let (key, name) = (ctx.argv[2], ctx.argv[3]);
    let Some(idx) = stream.find_group(name) else {
        return ctx.error_c_format(&[
            b"NOGROUP No such consumer group '",
            name,
            b"' for key name '",
            key,
            b"'",
        ]);
    };
    let group = &stream.groups[idx];
    let slots = group.consumers_by_name();
    reply::array_len(ctx.out, slots.len());
    for slot in slots {
        let Some(c) = group.consumer(slot) else {
            continue;
        };
        reply::map_len(ctx.out, ctx.proto, 3);
        reply::bulk(ctx.out, b"name");
        reply::bulk(ctx.out, &c.name);
        reply::bulk(ctx.out, b"pending");
        reply::integer(ctx.out, c.pel.len() as i64);
        reply::bulk(ctx.out, b"idle");
        reply::integer(ctx.out, (ctx.now_ms - c.seen_ms).max(0));
    }
}

fn stream_info<A: KvAllocator>(ctx: &mut Ctx<'_>, stream: &Stream<A>) {
    let argv = ctx.argv;
    let opts = &argv[3..];
    let mut count: i64 = 10;
    let full = !opts.is_empty();
    if full {
        if (opts.len() != 1 && opts.len() != 3) || !opts[0].eq_ignore_ascii_case(b"full") {
            return subcommand_syntax(ctx);
        }
        if opts.len() == 3 {
            if !opts[1].eq_ignore_ascii_case(b"count") {
                return subcommand_syntax(ctx);
            }
            let Some(n) = ctx.int_arg(5) else {
                return;
            };
            count = if n < 0 { 10 } else { n };
        }
    }
    let out = &mut *ctx.out;
    let proto = ctx.proto;
    reply::map_len(out, proto, if full { 9 } else { 10 });
    reply::bulk(out, b"length");
    reply::integer(out, stream.len() as i64);
    reply::bulk(out, b"radix-tree-keys");
    reply::integer(out, stream.node_count() as i64);
    reply::bulk(out, b"radix-tree-nodes");
    reply::integer(out, stream.node_count() as i64 + 1);
    reply::bulk(out, b"last-generated-id");
    reply_id(out, stream.last_id);
    reply::bulk(out, b"max-deleted-entry-id");
    reply_id(out, stream.max_deleted_id);
    reply::bulk(out, b"entries-added");
    reply::integer(out, stream.entries_added as i64);
    reply::bulk(out, b"recorded-first-entry-id");
    reply_id(out, stream.first_id());
    if !full {
        reply::bulk(out, b"groups");
        reply::integer(out, stream.groups.len() as i64);
        reply::bulk(out, b"first-entry");
        match stream.first_entry() {
            Some(entry) => reply_entry(out, &entry),
            None => reply::null(out, proto),
        }
        reply::bulk(out, b"last-entry");
        match stream.last_entry() {
            Some(entry) => reply_entry(out, &entry),
            None => reply::null(out, proto),
        }
        return;
    }
    let limit = if count == 0 {
        usize::MAX
    } else {
        count as usize
    };
    reply::bulk(out, b"entries");
    let entries: Vec<_> = stream
        .range(StreamId::MIN, StreamId::MAX, false)
        .take(limit)
        .collect();
    reply::array_len(out, entries.len());
    for entry in &entries {
        reply_entry(out, entry);
    }
    reply::bulk(out, b"groups");
    reply::array_len(out, stream.groups.len());
    for group in stream.groups.iter() {
        full_group(out, proto, stream, group, limit);
    }
}

fn full_group<A: KvAllocator>(
    out: &mut Vec<u8>,
    proto: Protocol,
    stream: &Stream<A>,
    group: &Group<A>,
    limit: usize,
) {
    reply::map_len(out, proto, 7);
    reply::bulk(out, b"name");
    reply::bulk(out, &group.name);
    reply::bulk(out, b"last-delivered-id");
    reply_id(out, group.last_id);
    group_counters(out, proto, stream, group);
    reply::bulk(out, b"pel-count");
    reply::integer(out, group.pel.len() as i64);
    reply::bulk(out, b"pending");
    let shown = group.pel.len().min(limit);
    reply::array_len(out, shown);
    for (id, nack) in group.pel.iter().take(shown) {
        reply::array_len(out, 4);
        reply_id(out, *id);
        let owner = group
            .consumer(nack.consumer)
            .map_or(&[][..], |c| &c.name[..]);
        reply::bulk(out, owner);
        reply::integer(out, nack.delivery_ms);
        reply::integer(out, nack.delivery_count as i64);
    }
    reply::bulk(out, b"consumers");
    let slots = group.consumers_by_name();
    reply::array_len(out, slots.len());
    for slot in slots {
        let Some(c) = group.consumer(slot) else {
            continue;
        };
        reply::map_len(out, proto, 4);
        reply::bulk(out, b"name");
        reply::bulk(out, &c.name);
        reply::bulk(out, b"seen-time");
        reply::integer(out, c.seen_ms);
        reply::bulk(out, b"pel-count");
        reply::integer(out, c.pel.len() as i64);
        reply::bulk(out, b"pending");
        let shown = c.pel.len().min(limit);
        reply::array_len(out, shown);
        for id in c.pel.iter().take(shown) {
            let nack = group.nack(*id).copied();
            reply::array_len(out, 3);
            reply_id(out, *id);
            reply::integer(out, nack.map_or(0, |n| n.delivery_ms));
            reply::integer(out, nack.map_or(0, |n| n.delivery_count as i64));
        }
    }
}
