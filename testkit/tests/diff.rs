//! The differential runner against real servers (two redis-servers stand in for the pair, so what it must
//! accept and what it must report are known), and the normalisations and PRNG on their own.

use zedis_testkit::diff::{agree, argv, Generator, Norm, Op, Reply, Rng, Run, Tolerance};
use zedis_testkit::{have, Frame, RedisServer};

fn two_servers() -> Option<(RedisServer, RedisServer)> {
    if !have("redis-server") {
        return None;
    }
    let start = || RedisServer::builder().start().expect("redis-server starts");
    Some((start(), start()))
}

/// Cycles through a fixed list of commands; one in four inside MULTI.
struct Script {
    rng: Rng,
    ops: Vec<(Vec<Vec<u8>>, Norm)>,
    at: usize,
    multi: [bool; 2],
}

impl Generator for Script {
    fn next(&mut self, _conn: usize) -> Op {
        let (args, norm) = self.ops[self.at % self.ops.len()].clone();
        self.at += 1;
        Op::new(args, norm)
    }
    fn set_multi(&mut self, conn: usize, in_multi: bool) {
        self.multi[conn] = in_multi;
    }
    fn rng(&mut self) -> &mut Rng {
        &mut self.rng
    }
}

fn script(ops: &[(&[&[u8]], Norm)]) -> Script {
    Script {
        rng: Rng::new(7),
        ops: ops.iter().map(|(a, n)| (argv(a), *n)).collect(),
        at: 0,
        multi: [false; 2],
    }
}

#[test]
fn equal_servers_run_without_divergence_and_count_replies() {
    let Some((a, b)) = two_servers() else { return };
    let mut run = Run::new(1, a.port, b.port);
    let mut gen = script(&[
        (&[b"SADD", b"s", b"x", b"y", b"z"], Norm::Exact),
        (&[b"SMEMBERS", b"s"], Norm::Multiset),
        (&[b"MULTI"], Norm::Exact),
        (&[b"INCR", b"n"], Norm::Exact),
        (&[b"SRANDMEMBER", b"s"], Norm::Shape),
        (&[b"EXEC"], Norm::Exec),
        (&[b"GET", b"nope", b"extra"], Norm::Exact),
    ]);
    run.drive(&mut gen, 700);
    assert_eq!(run.replies, 701, "FLUSHALL and every op");
    // The arity error each time, plus EXEC/DISCARD errors where MULTI went to the other pair.
    assert!(run.errors >= 100 && run.errors < 400, "{}", run.errors);
    assert_eq!(gen.at, 700);
}

#[test]
fn a_reply_that_differs_is_reported_with_the_seed_and_the_command() {
    let Some((a, b)) = two_servers() else { return };
    let mut run = Run::new(5, a.port, b.port);
    run.step(1, 0, &argv(&[b"SET", b"k", b"v"]), Norm::Exact);
    let failed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run.step(2, 1, &argv(&[b"CONFIG", b"GET", b"port"]), Norm::Exact);
    }));
    let message = failed.expect_err("the ports differ");
    let text = message
        .downcast_ref::<String>()
        .expect("a formatted message");
    assert!(
        text.starts_with("differential mismatch: ZEDIS_FUZZ_SEED=5 op #2\n"),
        "{text}"
    );
    // Pair 1 speaks RESP3 (a map); each side shows its own port.
    for (side, port) in [("zedis", a.port), ("redis", b.port)] {
        let shown = format!(
            "{side}: %1\\x0d\\x0a$4\\x0d\\x0aport\\x0d\\x0a${}\\x0d\\x0a{port}\\x0d\\x0a\n",
            port.to_string().len()
        );
        assert!(text.contains(&shown), "{shown} in {text}");
    }
    assert!(
        text.contains("#1 conn0: \"SET\" \"k\" \"v\""),
        "the history: {text}"
    );
}

/// Accepts every divergence and counts them.
struct AcceptAll(usize);

impl Tolerance for AcceptAll {
    fn accepts(
        &mut self,
        _: &[Vec<u8>],
        z: &Reply,
        r: &Reply,
        agree: &dyn Fn(&[u8], &[u8]) -> bool,
    ) -> bool {
        assert!(
            !agree(&z.0, &r.0),
            "the runner asks only about replies that differ"
        );
        self.0 += 1;
        true
    }
}

#[test]
fn a_tolerance_can_accept_a_divergence() {
    let Some((a, b)) = two_servers() else { return };
    let mut run = Run::with_tolerance(5, a.port, b.port, AcceptAll(0));
    run.step(1, 0, &argv(&[b"CONFIG", b"GET", b"port"]), Norm::Exact);
    run.step(2, 1, &argv(&[b"PING"]), Norm::Exact);
    assert_eq!(run.tolerance.0, 1);
}

fn bulks(items: &[&[u8]]) -> Frame {
    Frame::Array(items.iter().map(|b| Frame::Bulk(b.to_vec())).collect())
}

#[test]
fn normalisations_accept_only_what_they_document() {
    let (ab, ba) = (bulks(&[b"a", b"b"]), bulks(&[b"b", b"a"]));
    assert!(agree(Norm::Multiset, &ab, &ba, &[]));
    assert!(!agree(Norm::Exact, &ab, &ba, &[]));
    assert!(!agree(Norm::Multiset, &ab, &bulks(&[b"a", b"a"]), &[]));
    assert!(
        !agree(Norm::Multiset, &ab, &Frame::Set(ab_items()), &[]),
        "an array never equals a set"
    );
    let (kv, vk) = (
        bulks(&[b"k1", b"v1", b"k2", b"v2"]),
        bulks(&[b"k2", b"v2", b"k1", b"v1"]),
    );
    assert!(agree(Norm::Pairs, &kv, &vk, &[]));
    assert!(!agree(
        Norm::Pairs,
        &kv,
        &bulks(&[b"k1", b"v2", b"k2", b"v1"]),
        &[]
    ));
    assert!(agree(Norm::Shape, &bulks(&[b"x"]), &bulks(&[b"y"]), &[]));
    assert!(agree(
        Norm::Shape,
        &Frame::Double(1.5),
        &Frame::Double(2.0),
        &[]
    ));
    assert!(!agree(
        Norm::Shape,
        &bulks(&[b"x"]),
        &bulks(&[b"x", b"y"]),
        &[]
    ));
    let scan =
        |cursor: &[u8], items: Frame| Frame::Array(vec![Frame::Bulk(cursor.to_vec()), items]);
    assert!(agree(
        Norm::Scan,
        &scan(b"0", ab.clone()),
        &scan(b"0", ba.clone()),
        &[]
    ));
    assert!(!agree(
        Norm::Scan,
        &scan(b"0", ab.clone()),
        &scan(b"1", ba),
        &[]
    ));
    assert!(agree(
        Norm::ScanPairs,
        &scan(b"0", kv.clone()),
        &scan(b"0", vk),
        &[]
    ));
    assert!(agree(
        Norm::Within(2),
        &Frame::Integer(10),
        &Frame::Integer(12),
        &[]
    ));
    assert!(!agree(
        Norm::Within(2),
        &Frame::Integer(10),
        &Frame::Integer(13),
        &[]
    ));
    assert!(!agree(
        Norm::Within(2),
        &Frame::Integer(-1),
        &Frame::Integer(-2),
        &[]
    ));
    assert!(agree(
        Norm::Flag,
        &Frame::Integer(0),
        &Frame::Integer(1),
        &[]
    ));
    assert!(!agree(
        Norm::Flag,
        &Frame::Integer(0),
        &Frame::Integer(2),
        &[]
    ));
    let pending = |idle: i64| {
        Frame::Array(vec![Frame::Array(vec![
            Frame::Bulk(b"1-0".to_vec()),
            Frame::Bulk(b"c".to_vec()),
            Frame::Integer(idle),
            Frame::Integer(1),
        ])])
    };
    assert!(agree(Norm::Pending, &pending(5), &pending(900), &[]));
    assert!(!agree(Norm::Exact, &pending(5), &pending(900), &[]));
    let exec = |a: Frame, b: Frame| Frame::Array(vec![a, b]);
    let queued = [Norm::Multiset, Norm::Exact];
    assert!(agree(
        Norm::Exec,
        &exec(ab.clone(), Frame::Integer(1)),
        &exec(ab_rev(), Frame::Integer(1)),
        &queued
    ));
    assert!(!agree(
        Norm::Exec,
        &exec(ab.clone(), Frame::Integer(1)),
        &exec(ab, Frame::Integer(2)),
        &queued
    ));
}

fn ab_items() -> Vec<Frame> {
    vec![Frame::Bulk(b"a".to_vec()), Frame::Bulk(b"b".to_vec())]
}

fn ab_rev() -> Frame {
    bulks(&[b"b", b"a"])
}

#[test]
fn the_prng_is_reproducible_from_its_seed() {
    let draw = |seed| {
        let mut rng = Rng::new(seed);
        (0..32).map(|_| rng.next_u64()).collect::<Vec<_>>()
    };
    assert_eq!(draw(42), draw(42));
    assert_ne!(draw(42), draw(43));
    let mut rng = Rng::new(1);
    assert!((0..1000).all(|_| rng.below(3) < 3));
    let hits = (0..10_000).filter(|_| rng.chance(50)).count();
    // `from_state` is the plain xorshift64* stream from that state (what older tests fixed their data to).
    let mut plain = 42u64;
    let mut from_state = Rng::from_state(42);
    for _ in 0..8 {
        plain ^= plain >> 12;
        plain ^= plain << 25;
        plain ^= plain >> 27;
        assert_eq!(
            from_state.next_u64(),
            plain.wrapping_mul(0x2545_F491_4F6C_DD1D)
        );
    }
    assert!((4000..6000).contains(&hits), "{hits}");
}
