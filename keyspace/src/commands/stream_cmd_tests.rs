//! Command-level model test: random XADD/XDEL/XTRIM/XREADGROUP/XACK through the handlers against a BTreeMap
//! model, comparing the exact reply bytes of every command and of XRANGE/XLEN/XPENDING after each step.

use crate::commands::{stream_groups, stream_read, streams, Ctx, Effects, Handler};
use crate::types::StreamId;
use crate::{Keyspace, KeyspaceConfig};
use proptest::prelude::*;
use std::collections::BTreeMap;
use zedis_kv_pool::SystemAlloc;
use zedis_resp::{reply, Protocol};

type A = SystemAlloc;

fn run(ks: &mut Keyspace<A>, handler: Handler<A>, words: &[String], now_ms: i64) -> Vec<u8> {
    let argv: Vec<&[u8]> = words.iter().map(|w| w.as_bytes()).collect();
    let mut fx = Effects::default();
    let mut out = Vec::new();
    let mut ctx = Ctx {
        argv: &argv,
        out: &mut out,
        proto: Protocol::Resp2,
        db: 0,
        now_ms,
        fx: &mut fx,
    };
    handler(ks, &mut ctx);
    out
}

fn words(line: &str) -> Vec<String> {
    line.split_whitespace().map(str::to_string).collect()
}

fn entry_bytes(out: &mut Vec<u8>, id: StreamId, value: &str) {
    reply::array_len(out, 2);
    reply::bulk(out, id.to_string().as_bytes());
    reply::array_len(out, 2);
    reply::bulk(out, b"f");
    reply::bulk(out, value.as_bytes());
}

#[derive(Debug, Clone)]
enum Op {
    Add(u8),
    Del(u8),
    Trim(u8),
    Read(u8, u8),
    Ack(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u8..3).prop_map(Op::Add),
        2 => any::<u8>().prop_map(Op::Del),
        1 => (0u8..30).prop_map(Op::Trim),
        2 => (0u8..2, 1u8..6).prop_map(|(c, n)| Op::Read(c, n)),
        2 => any::<u8>().prop_map(Op::Ack),
    ]
}

proptest! {
    #[test]
    fn commands_match_model(ops in proptest::collection::vec(op(), 1..120)) {
        let mut config = KeyspaceConfig::default();
        config.stream_limits.node_entries_max = 4;
        let mut ks = Keyspace::<A>::new(1, config);
        let mut model: BTreeMap<StreamId, String> = BTreeMap::new();
        let mut pel: BTreeMap<StreamId, (usize, i64)> = BTreeMap::new();
        let mut group_last = StreamId::MIN;
        let mut last = StreamId::MIN;
        let mut now = 1_000i64;
        prop_assert_eq!(run(&mut ks, stream_groups::xgroup, &words("XGROUP CREATE s g $ MKSTREAM"), now), b"+OK\r\n".to_vec());
        for (step, op) in ops.into_iter().enumerate() {
            match op {
                Op::Add(tick) => {
                    now += i64::from(tick);
                    let value = format!("v{step}");
                    let got = run(&mut ks, streams::xadd, &words(&format!("XADD s * f {value}")), now);
                    let id = if now as u64 > last.ms { StreamId::new(now as u64, 0) } else { last.incr().unwrap() };
                    let mut want = Vec::new();
                    reply::bulk(&mut want, id.to_string().as_bytes());
                    prop_assert_eq!(got, want);
                    model.insert(id, value);
                    last = id;
                }
                Op::Del(n) => {
                    let id = model.keys().nth(usize::from(n) % (model.len() + 1)).copied().unwrap_or(StreamId::new(7, 7));
                    let got = run(&mut ks, streams::xdel, &words(&format!("XDEL s {id}")), now);
                    let want = format!(":{}\r\n", u8::from(model.remove(&id).is_some()));
                    prop_assert_eq!(got, want.into_bytes());
                }
                Op::Trim(n) => {
                    let got = run(&mut ks, streams::xtrim, &words(&format!("XTRIM s MAXLEN = {n}")), now);
                    let mut removed = 0;
                    while model.len() > usize::from(n) {
                        model.pop_first();
                        removed += 1;
                    }
                    prop_assert_eq!(got, format!(":{removed}\r\n").into_bytes());
                }
                Op::Read(consumer, count) => {
                    let line = format!("XREADGROUP GROUP g c{consumer} COUNT {count} STREAMS s >");
                    let got = run(&mut ks, stream_read::xreadgroup, &words(&line), now);
                    let start = group_last.incr().unwrap();
                    let new: Vec<(StreamId, String)> = model.range(start..).take(usize::from(count)).map(|(k, v)| (*k, v.clone())).collect();
                    let mut want = Vec::new();
                    if new.is_empty() {
                        reply::null_array(&mut want, Protocol::Resp2);
                    } else {
                        reply::array_len(&mut want, 1);
                        reply::array_len(&mut want, 2);
                        reply::bulk(&mut want, b"s");
                        reply::array_len(&mut want, new.len());
                        for (id, value) in &new {
                            entry_bytes(&mut want, *id, value);
                            pel.insert(*id, (usize::from(consumer), now));
                            group_last = *id;
                        }
                    }
                    prop_assert_eq!(got, want);
                }
                Op::Ack(n) => {
                    let id = pel.keys().nth(usize::from(n) % (pel.len() + 1)).copied().unwrap_or(StreamId::new(9, 9));
                    let got = run(&mut ks, stream_groups::xack, &words(&format!("XACK s g {id}")), now);
                    let want = format!(":{}\r\n", u8::from(pel.remove(&id).is_some()));
                    prop_assert_eq!(got, want.into_bytes());
                }
            }
            let got = run(&mut ks, streams::xrange, &words("XRANGE s - +"), now);
            let mut want = Vec::new();
            reply::array_len(&mut want, model.len());
            for (id, value) in &model {
                entry_bytes(&mut want, *id, value);
            }
            prop_assert_eq!(got, want);
            let got = run(&mut ks, streams::xlen, &words("XLEN s"), now);
            prop_assert_eq!(got, format!(":{}\r\n", model.len()).into_bytes());
            let got = run(&mut ks, stream_groups::xpending, &words("XPENDING s g - + 1000"), now);
            let mut want = Vec::new();
            reply::array_len(&mut want, pel.len());
            for (id, (consumer, delivered_ms)) in &pel {
                reply::array_len(&mut want, 4);
                reply::bulk(&mut want, id.to_string().as_bytes());
                reply::bulk(&mut want, format!("c{consumer}").as_bytes());
                reply::integer(&mut want, now - delivered_ms);
                reply::integer(&mut want, 1);
            }
            prop_assert_eq!(got, want);
        }
    }
}

/// Words the no-panic test builds commands from: options, ids (edge values included), names.
const VOCABULARY: &[&str] = &[
    "s",
    "g",
    "c",
    "*",
    "$",
    ">",
    "0",
    "1-1",
    "-",
    "+",
    "(1-0",
    "(0-0",
    "MAXLEN",
    "MINID",
    "~",
    "=",
    "LIMIT",
    "COUNT",
    "BLOCK",
    "STREAMS",
    "GROUP",
    "NOACK",
    "JUSTID",
    "FORCE",
    "IDLE",
    "TIME",
    "RETRYCOUNT",
    "LASTID",
    "FULL",
    "CREATE",
    "SETID",
    "DESTROY",
    "CREATECONSUMER",
    "DELCONSUMER",
    "MKSTREAM",
    "ENTRIESREAD",
    "ENTRIESADDED",
    "MAXDELETEDID",
    "-1",
    "18446744073709551615-18446744073709551615",
    "(18446744073709551615",
    "x",
    "NOMKSTREAM",
    "HELP",
    "STREAM",
    "GROUPS",
    "CONSUMERS",
    "99999999999999999999",
    "5",
    "1-*",
    "0-0",
    "\u{0}blocked-retry",
];

/// Every stream handler with its name and Redis's minimum argument count.
fn handlers() -> Vec<(Handler<A>, &'static str, usize)> {
    use crate::commands::{stream_claim, stream_info};
    vec![
        (streams::xadd, "XADD", 5),
        (streams::xrange, "XRANGE", 4),
        (streams::xrevrange, "XREVRANGE", 4),
        (streams::xlen, "XLEN", 2),
        (streams::xdel, "XDEL", 3),
        (streams::xtrim, "XTRIM", 4),
        (streams::xsetid, "XSETID", 3),
        (stream_read::xread, "XREAD", 4),
        (stream_read::xreadgroup, "XREADGROUP", 7),
        (stream_groups::xgroup, "XGROUP", 2),
        (stream_groups::xack, "XACK", 4),
        (stream_groups::xpending, "XPENDING", 3),
        (stream_claim::xclaim, "XCLAIM", 6),
        (stream_claim::xautoclaim, "XAUTOCLAIM", 6),
        (stream_info::xinfo, "XINFO", 2),
    ]
}

proptest! {
    #[test]
    fn random_arguments_never_panic(
        commands in proptest::collection::vec(
            (0usize..15, proptest::collection::vec(0usize..VOCABULARY.len(), 0..12), any::<bool>()),
            1..60,
        )
    ) {
        let mut ks = Keyspace::<A>::new(1, KeyspaceConfig::default());
        let table = handlers();
        run(&mut ks, streams::xadd, &words("XADD s 1-1 f v"), 5);
        run(&mut ks, stream_groups::xgroup, &words("XGROUP CREATE s g 0"), 5);
        for (which, picks, may_block) in commands {
            let (handler, name, arity) = table[which];
            let mut argv = vec![name.to_string()];
            argv.extend(picks.iter().map(|&i| VOCABULARY[i].to_string()));
            while argv.len() < arity {
                argv.push("s".to_string());
            }
            let argv_bytes: Vec<&[u8]> = argv.iter().map(|w| w.as_bytes()).collect();
            let mut fx = Effects { may_block, ..Effects::default() };
            let mut out = Vec::new();
            let mut ctx = Ctx { argv: &argv_bytes, out: &mut out, proto: Protocol::Resp3, db: 0, now_ms: 10, fx: &mut fx };
            handler(&mut ks, &mut ctx);
            // Exactly one reply unless the command blocked.
            prop_assert!(!out.is_empty() || fx.block.is_some(), "{:?} gave no reply", argv);
        }
    }
}

#[test]
fn xadd_parses_the_id_before_the_arity_check() {
    // Redis 7.0.15 parses the id inside `streamParseAddOrTrimArgsOrReply`, before the field count.
    let mut ks = Keyspace::<A>::new(1, KeyspaceConfig::default());
    let invalid_id = b"-ERR Invalid stream ID specified as stream command argument\r\n".to_vec();
    assert_eq!(
        run(&mut ks, streams::xadd, &words("XADD x -1 f v LIMIT"), 5),
        invalid_id
    );
    assert_eq!(
        run(&mut ks, streams::xadd, &words("XADD x MAXLEN 1 abc f"), 5),
        invalid_id
    );
    let arity = b"-ERR wrong number of arguments for 'xadd' command\r\n".to_vec();
    assert_eq!(
        run(&mut ks, streams::xadd, &words("XADD x 1-1 f v LIMIT"), 5),
        arity
    );
    assert_eq!(
        run(&mut ks, streams::xadd, &words("XADD x MAXLEN 1"), 5),
        arity
    );
    // `*` and option names are compared as C strings: "*\0junk" is `*`.
    let auto = run(
        &mut ks,
        streams::xadd,
        &[
            "XADD".into(),
            "x".into(),
            "*\0junk".into(),
            "f".into(),
            "v".into(),
        ],
        5,
    );
    assert_eq!(auto, b"$3\r\n5-0\r\n");
    let out = run(&mut ks, streams::xadd, &words("XADD x 7 f v"), 5);
    assert_eq!(out, b"$3\r\n7-0\r\n");
}
