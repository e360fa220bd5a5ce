//! The whole keyspace as a minimal list of commands: what an AOF rewrite writes.
//!
//! Per non-empty database a `SELECT n`, then per live key: strings as `SET key value` (with `PXAT ms` when the
//! key has a TTL), collections as `RPUSH` / `SADD` / `HSET` / `ZADD` in batches of [`ITEMS_PER_COMMAND_MAX`] items (Redis's
//! `AOF_REWRITE_ITEMS_PER_CMD`) followed by `PEXPIREAT key ms` when they have a TTL. Keys already expired at
//! `now_ms` are left out. Every command is one Redis 7.0 accepts, so the result loads in Redis as well.
//!
//! The walk only reads the keyspace (it runs in a forked child during BGREWRITEAOF) and reuses one scratch
//! buffer for the arguments of a command.

use crate::entry::{EntryPtr, Kind, Payload};
use crate::types::elem::INT_TEXT_BYTES_MAX;
use crate::types::{Elem, Hash, List, Set, Stream, StreamId, ZSet};
use crate::value::object;
use crate::Keyspace;
use zedis_kv_pool::KvAllocator;

/// Items (list elements, set members, hash field/value pairs) per emitted command.
pub const ITEMS_PER_COMMAND_MAX: usize = 64;

/// Calls `f` with every command of the keyspace's dump, in order (see the module docs).
pub fn for_each_command<A: KvAllocator>(
    ks: &Keyspace<A>,
    now_ms: i64,
    mut f: impl FnMut(&[&[u8]]),
) {
    let mut args = Args::default();
    for idx in 0..ks.db_count() {
        let db = ks.db(idx);
        if db.is_empty() {
            continue;
        }
        args.start(b"SELECT");
        args.push_int(idx as i64);
        args.emit(&mut f);
        db.dict().for_each(|entry| {
            if entry.expire().is_some_and(|when| when <= now_ms) {
                return;
            }
            dump_entry::<A>(entry, &mut args, &mut f);
        });
        // The segment store's plain strings, as `SET key value [PXAT ms]`.
        if let Some(store) = db.seg() {
            store.for_each_live(now_ms, |key, value, expire| {
                args.start(b"SET");
                args.push(key);
                args.push(&value.to_vec());
                if let Some(when) = expire {
                    args.push(b"PXAT");
                    args.push_int(when);
                }
                args.emit(&mut f);
            });
        }
    }
}

fn dump_entry<A: KvAllocator>(entry: EntryPtr, args: &mut Args, f: &mut impl FnMut(&[&[u8]])) {
    let key = entry.key();
    match entry.payload() {
        Payload::Str(bytes) => {
            args.start(b"SET");
            args.push(key);
            args.push(bytes);
        }
        Payload::Int(n) => {
            args.start(b"SET");
            args.push(key);
            args.push_int(n);
        }
        Payload::Object(Kind::List, _) => {
            if let Some(list) = object::<A, List<A>>(entry) {
                batches(b"RPUSH", key, list.iter().map(|e| (e, None)), args, f);
            }
        }
        Payload::Object(Kind::Set, _) => {
            if let Some(set) = object::<A, Set<A>>(entry) {
                batches(b"SADD", key, set.iter().map(|e| (e, None)), args, f);
            }
        }
        Payload::Object(Kind::Hash, _) => {
            if let Some(hash) = object::<A, Hash<A>>(entry) {
                batches(
                    b"HSET",
                    key,
                    hash.iter().map(|(k, v)| (k, Some(v))),
                    args,
                    f,
                );
            }
        }
        Payload::Object(Kind::Stream, _) => {
            if let Some(stream) = object::<A, Stream<A>>(entry) {
                dump_stream(key, stream, args, f);
            }
        }
        Payload::Object(Kind::ZSet, _) => {
            if let Some(zset) = object::<A, ZSet<A>>(entry) {
                zadd_batches(key, zset, args, f);
            }
        }
        Payload::Object(..) => return,
    }
    let expire = entry.expire();
    if entry.kind().is_object() {
        if let Some(when) = expire {
            args.start(b"PEXPIREAT");
            args.push(key);
            args.push_int(when);
            args.emit(f);
        }
    } else {
        if let Some(when) = expire {
            args.push(b"PXAT");
            args.push_int(when);
        }
        args.emit(f);
    }
}

/// A stream as Redis's `rewriteStreamObject` writes it: its entries as XADDs (or the `XADD MAXLEN 0` trick
/// for an empty stream), XSETID with its counters, then per group XGROUP CREATE, and per consumer its
/// pending entries as `XCLAIM ... FORCE` (or XGROUP CREATECONSUMER when it has none).
fn dump_stream<A: KvAllocator>(
    key: &[u8],
    stream: &Stream<A>,
    args: &mut Args,
    f: &mut impl FnMut(&[&[u8]]),
) {
    let push_id = |args: &mut Args, id: StreamId| args.push(id.to_string().as_bytes());
    if stream.is_empty() {
        args.start(b"XADD");
        args.push(key);
        for arg in [&b"MAXLEN"[..], b"0", b"0-1", b"x", b"y"] {
            args.push(arg);
        }
        args.emit(f);
    }
    for entry in stream.range(StreamId::MIN, StreamId::MAX, false) {
        args.start(b"XADD");
        args.push(key);
        push_id(args, entry.id);
        for (field, value) in entry.pairs() {
            args.push(field);
            args.push(value);
        }
        args.emit(f);
    }
    args.start(b"XSETID");
    args.push(key);
    push_id(args, stream.last_id);
    args.push(b"ENTRIESADDED");
    args.push_int(stream.entries_added as i64);
    args.push(b"MAXDELETEDID");
    push_id(args, stream.max_deleted_id);
    args.emit(f);
    for group in stream.groups.iter() {
        args.start(b"XGROUP");
        args.push(b"CREATE");
        args.push(key);
        args.push(&group.name);
        push_id(args, group.last_id);
        args.push(b"ENTRIESREAD");
        args.push_int(group.entries_read);
        args.emit(f);
        for slot in group.consumers_by_name() {
            let Some(consumer) = group.consumer(slot) else {
                continue;
            };
            if consumer.pel.is_empty() {
                args.start(b"XGROUP");
                args.push(b"CREATECONSUMER");
                args.push(key);
                args.push(&group.name);
                args.push(&consumer.name);
                args.emit(f);
            }
            for &id in consumer.pel.iter() {
                let Some(nack) = group.nack(id) else {
                    continue;
                };
                args.start(b"XCLAIM");
                args.push(key);
                args.push(&group.name);
                args.push(&consumer.name);
                args.push(b"0");
                push_id(args, id);
                args.push(b"TIME");
                args.push_int(nack.delivery_ms);
                args.push(b"RETRYCOUNT");
                args.push_int(nack.delivery_count as i64);
                args.push(b"JUSTID");
                args.push(b"FORCE");
                args.emit(f);
            }
        }
    }
}

/// Emits `name key item...` commands of at most [`ITEMS_PER_COMMAND_MAX`] items each.
fn batches<'a>(
    name: &[u8],
    key: &[u8],
    items: impl Iterator<Item = (Elem<'a>, Option<Elem<'a>>)>,
    args: &mut Args,
    f: &mut impl FnMut(&[&[u8]]),
) {
    let mut in_batch = 0;
    for (first, second) in items {
        if in_batch == 0 {
            args.start(name);
            args.push(key);
        }
        args.push_elem(first);
        if let Some(second) = second {
            args.push_elem(second);
        }
        in_batch += 1;
        if in_batch == ITEMS_PER_COMMAND_MAX {
            args.emit(f);
            in_batch = 0;
        }
    }
    if in_batch > 0 {
        args.emit(f);
    }
}

/// Emits `ZADD key score member ...` commands of at most [`ITEMS_PER_COMMAND_MAX`] pairs each, scores
/// in Redis's `d2string` form (exact round trip).
fn zadd_batches<A: KvAllocator>(
    key: &[u8],
    zset: &ZSet<A>,
    args: &mut Args,
    f: &mut impl FnMut(&[&[u8]]),
) {
    let mut in_batch = 0;
    let mut text = Vec::new();
    for (member, score) in zset.iter() {
        if in_batch == 0 {
            args.start(b"ZADD");
            args.push(key);
        }
        text.clear();
        crate::commands::zsets::d2string(&mut text, score);
        args.push(&text);
        args.push_elem(member);
        in_batch += 1;
        if in_batch == ITEMS_PER_COMMAND_MAX {
            args.emit(f);
            in_batch = 0;
        }
    }
    if in_batch > 0 {
        args.emit(f);
    }
}

/// One command's arguments, concatenated in a reused buffer.
#[derive(Default)]
struct Args {
    data: Vec<u8>,
    /// End offset of each argument in `data`; non-decreasing.
    ends: Vec<usize>,
}

impl Args {
    fn start(&mut self, name: &[u8]) {
        self.data.clear();
        self.ends.clear();
        self.push(name);
    }

    fn push(&mut self, arg: &[u8]) {
        self.data.extend_from_slice(arg);
        self.ends.push(self.data.len());
    }

    fn push_int(&mut self, n: i64) {
        let mut text = itoa::Buffer::new();
        self.push(text.format(n).as_bytes());
    }

    fn push_elem(&mut self, elem: Elem<'_>) {
        let mut buf = [0u8; INT_TEXT_BYTES_MAX];
        self.push(elem.to_bytes(&mut buf));
    }

    fn emit(&self, f: &mut impl FnMut(&[&[u8]])) {
        let mut start = 0;
        let argv: Vec<&[u8]> = self
            .ends
            .iter()
            .map(|&end| {
                let arg = &self.data[start..end];
                start = end;
                arg
            })
            .collect();
        f(&argv);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::{Ctx, Effects};
    use zedis_kv_pool::SystemAlloc;
    use zedis_resp::Protocol;

    fn run(ks: &mut Keyspace<SystemAlloc>, db: usize, args: &[&[u8]]) {
        let table: &[(&[u8], crate::commands::Handler<SystemAlloc>)] = &[
            (b"SET", crate::commands::strings::set),
            (b"RPUSH", crate::commands::lists::push),
            (b"SADD", crate::commands::sets::sadd),
            (b"HSET", crate::commands::hashes::hset),
            (b"PEXPIREAT", crate::commands::expire::expire),
            (b"ZADD", crate::commands::zsets::zadd),
        ];
        let handler = table
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(args[0]))
            .map(|(_, h)| *h)
            .expect("handler");
        let mut out = Vec::new();
        let mut fx = Effects::default();
        let mut ctx = Ctx {
            argv: args,
            out: &mut out,
            proto: Protocol::Resp2,
            db,
            now_ms: 1_000,
            fx: &mut fx,
        };
        handler(ks, &mut ctx);
        assert!(!out.starts_with(b"-"), "{}", String::from_utf8_lossy(&out));
    }

    fn dump(ks: &Keyspace<SystemAlloc>, now_ms: i64) -> Vec<Vec<Vec<u8>>> {
        let mut commands = Vec::new();
        for_each_command(ks, now_ms, |argv| {
            commands.push(argv.iter().map(|a| a.to_vec()).collect())
        });
        commands
    }

    /// Replays a dump into a fresh keyspace, tracking SELECT.
    fn replay(commands: &[Vec<Vec<u8>>]) -> Keyspace<SystemAlloc> {
        let mut ks = Keyspace::new(16, Default::default());
        let mut db = 0;
        for command in commands {
            let argv: Vec<&[u8]> = command.iter().map(|a| a.as_slice()).collect();
            if argv[0] == b"SELECT" {
                db = std::str::from_utf8(argv[1]).unwrap().parse().unwrap();
                continue;
            }
            run(&mut ks, db, &argv);
        }
        ks
    }

    /// Per (db, key): each command name with its items, sets and hashes sorted (their iteration order depends
    /// on how the table was built).
    fn canonical(commands: &[Vec<Vec<u8>>]) -> Vec<(usize, Vec<u8>, Vec<Vec<u8>>)> {
        let mut db = 0;
        let mut keys: std::collections::BTreeMap<(usize, Vec<u8>), Vec<Vec<u8>>> =
            Default::default();
        for c in commands {
            if c[0] == b"SELECT" {
                db = std::str::from_utf8(&c[1]).unwrap().parse().unwrap();
                continue;
            }
            let items = keys.entry((db, c[1].clone())).or_default();
            match c[0].as_slice() {
                b"SADD" => items.extend(c[2..].iter().cloned()),
                b"HSET" => items.extend(c[2..].chunks(2).map(|p| p.concat())),
                _ => items.extend(c.iter().cloned()),
            }
        }
        keys.into_iter()
            .map(|((db, key), mut items)| {
                items.sort();
                (db, key, items)
            })
            .collect()
    }

    #[test]
    fn dump_replays_to_the_same_dump() {
        let mut ks: Keyspace<SystemAlloc> = Keyspace::new(16, Default::default());
        run(&mut ks, 0, &[b"SET", b"s", b"hello"]);
        run(&mut ks, 0, &[b"SET", b"n", b"-42"]);
        run(&mut ks, 3, &[b"SET", b"ttl", b"v", b"PXAT", b"99999"]);
        run(&mut ks, 3, &[b"SET", b"gone", b"v", b"PXAT", b"1500"]);
        let members: Vec<Vec<u8>> = (0..150).map(|i| format!("m{i}").into_bytes()).collect();
        let mut argv: Vec<&[u8]> = vec![b"RPUSH", b"list"];
        argv.extend(members.iter().map(|m| m.as_slice()));
        run(&mut ks, 0, &argv);
        argv[0] = b"SADD";
        argv[1] = b"set";
        run(&mut ks, 0, &argv);
        run(&mut ks, 0, &[b"SADD", b"ints", b"1", b"2", b"3"]);
        run(&mut ks, 1, &[b"HSET", b"h", b"f", b"1", b"g", b"x"]);
        run(&mut ks, 1, &[b"PEXPIREAT", b"h", b"77777"]);

        let commands = dump(&ks, 2_000);
        assert!(commands.iter().all(|c| c[1] != b"gone"));
        let rpush: Vec<_> = commands.iter().filter(|c| c[0] == b"RPUSH").collect();
        assert_eq!(rpush.len(), 3, "150 elements in batches of 64");
        assert_eq!(rpush[0][2], b"m0");
        assert!(commands.contains(&vec![
            b"SET".to_vec(),
            b"ttl".to_vec(),
            b"v".to_vec(),
            b"PXAT".to_vec(),
            b"99999".to_vec()
        ]));
        assert!(commands.contains(&vec![
            b"PEXPIREAT".to_vec(),
            b"h".to_vec(),
            b"77777".to_vec()
        ]));

        let copy = replay(&commands);
        assert_eq!(canonical(&dump(&copy, 2_000)), canonical(&commands));
        assert_eq!(copy.total_keys(), 7);
    }

    #[test]
    fn sorted_sets_dump_as_exact_zadd_batches() {
        let mut ks: Keyspace<SystemAlloc> = Keyspace::new(16, Default::default());
        let pairs: Vec<(String, String)> = (0..100)
            .map(|i| (format!("{}", f64::from(i) / 3.0), format!("m{i}")))
            .collect();
        let mut argv: Vec<&[u8]> = vec![b"ZADD", b"z"];
        for (score, member) in &pairs {
            argv.push(score.as_bytes());
            argv.push(member.as_bytes());
        }
        run(&mut ks, 0, &argv);
        run(
            &mut ks,
            0,
            &[
                b"ZADD", b"small", b"-inf", b"a", b"1e300", b"b", b"-0", b"c",
            ],
        );
        let commands = dump(&ks, 2_000);
        let zadds: Vec<_> = commands.iter().filter(|c| c[0] == b"ZADD").collect();
        assert_eq!(
            zadds.len(),
            3,
            "100 pairs in batches of 64, plus the small set"
        );
        let small = zadds.iter().find(|c| c[1] == b"small").unwrap();
        assert_eq!(
            small[2..],
            [
                b"-inf".to_vec(),
                b"a".to_vec(),
                b"0".to_vec(),
                b"c".to_vec(),
                b"1.0000000000000001e+300".to_vec(),
                b"b".to_vec()
            ]
        );
        let copy = replay(&commands);
        let mut again = dump(&copy, 2_000);
        let mut expected = commands.clone();
        again.sort();
        expected.sort();
        assert_eq!(again, expected, "scores round-trip exactly");
    }
}
