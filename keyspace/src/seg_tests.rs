//! Differential model test of [`crate::seg`]: random string/key command sequences (with time passing,
//! TTLs expiring, keys promoted by non-native commands) run against a keyspace with segment stores and one
//! without; every reply, the effects (dirty count, DEL propagation, events) and the final contents agree.

use crate::commands::{self, Ctx, Effects, Handler};
use crate::Keyspace;
use proptest::prelude::*;
use zedis_kv_pool::SystemAlloc;
use zedis_resp::Protocol;
use zedis_segment::SegConfig;

type A = SystemAlloc;

fn handler(name: &str) -> Handler<A> {
    use commands::{expire, keys, strings};
    match name {
        "GET" => strings::get,
        "SET" => strings::set,
        "SETNX" => strings::setnx,
        "PSETEX" => strings::setex,
        "GETDEL" => strings::getdel,
        "GETEX" => strings::getex,
        "MGET" => strings::mget,
        "MSET" => strings::mset,
        "INCR" => strings::incr,
        "APPEND" => strings::append,
        "STRLEN" => strings::strlen,
        "DEL" => keys::del,
        "EXISTS" => keys::exists,
        "TYPE" => keys::type_,
        "RENAME" => keys::rename,
        "OBJECT" => keys::object,
        "DBSIZE" => keys::dbsize,
        "KEYS" => keys::keys,
        "PEXPIRE" => expire::expire,
        "PTTL" => expire::ttl,
        "PERSIST" => expire::persist,
        _ => unreachable!("{name}"),
    }
}

/// Reply bytes and the effects worth comparing.
fn run(ks: &mut Keyspace<A>, argv: &[Vec<u8>], now_ms: i64) -> (Vec<u8>, String) {
    let args: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
    let name = String::from_utf8_lossy(args[0]).to_ascii_uppercase();
    let mut out = Vec::new();
    let mut fx = Effects {
        notify_flags: u32::MAX,
        track_touched: true,
        ..Effects::default()
    };
    let mut ctx = Ctx {
        argv: &args,
        out: &mut out,
        proto: Protocol::Resp2,
        db: 0,
        now_ms,
        fx: &mut fx,
    };
    handler(&name)(ks, &mut ctx);
    let mut events: Vec<String> = fx
        .events
        .iter()
        .map(|e| format!("{}:{}", e.name, String::from_utf8_lossy(&e.key)))
        .collect();
    events.sort();
    let mut expired = fx.expired.clone();
    expired.sort();
    (
        out,
        format!(
            "dirty={} expired={expired:?} events={events:?} rewritten={:?}",
            fx.dirty, fx.rewritten
        ),
    )
}

fn op() -> impl Strategy<Value = Vec<Vec<u8>>> {
    let key = (0..6u8).prop_map(|k| format!("k{k}").into_bytes());
    let value = prop_oneof![
        (0..1000i64).prop_map(|n| n.to_string().into_bytes()),
        "[a-z]{0,12}".prop_map(String::into_bytes),
    ];
    let ms = (1..400i64).prop_map(|n| n.to_string().into_bytes());
    let b = |s: &str| s.as_bytes().to_vec();
    prop_oneof![
        4 => (key.clone(), value.clone()).prop_map(move |(k, v)| vec![b("SET"), k, v]),
        3 => (key.clone(), value.clone(), ms.clone()).prop_map(move |(k, v, t)| vec![b("SET"), k, v, b("PX"), t]),
        1 => (key.clone(), value.clone(), prop_oneof![Just("NX"), Just("XX"), Just("GET"), Just("KEEPTTL")])
            .prop_map(move |(k, v, o)| vec![b("SET"), k, v, b(o)]),
        1 => (key.clone(), value.clone()).prop_map(move |(k, v)| vec![b("SETNX"), k, v]),
        1 => (key.clone(), ms.clone(), value.clone()).prop_map(move |(k, t, v)| vec![b("PSETEX"), k, t, v]),
        4 => key.clone().prop_map(move |k| vec![b("GET"), k]),
        1 => (key.clone(), key.clone()).prop_map(move |(a, c)| vec![b("MGET"), a, c]),
        1 => (key.clone(), value.clone(), key.clone(), value.clone()).prop_map(move |(a, x, c, y)| vec![b("MSET"), a, x, c, y]),
        1 => key.clone().prop_map(move |k| vec![b("GETDEL"), k]),
        1 => (key.clone(), ms.clone()).prop_map(move |(k, t)| vec![b("GETEX"), k, b("PX"), t]),
        1 => key.clone().prop_map(move |k| vec![b("INCR"), k]),
        1 => (key.clone(), value.clone()).prop_map(move |(k, v)| vec![b("APPEND"), k, v]),
        1 => key.clone().prop_map(move |k| vec![b("STRLEN"), k]),
        2 => key.clone().prop_map(move |k| vec![b("DEL"), k]),
        2 => (key.clone(), key.clone()).prop_map(move |(a, c)| vec![b("EXISTS"), a, c]),
        1 => key.clone().prop_map(move |k| vec![b("TYPE"), k]),
        1 => (key.clone(), key.clone()).prop_map(move |(a, c)| vec![b("RENAME"), a, c]),
        1 => key.clone().prop_map(move |k| vec![b("OBJECT"), b("ENCODING"), k]),
        1 => (key.clone(), ms.clone()).prop_map(move |(k, t)| vec![b("PEXPIRE"), k, t]),
        2 => key.clone().prop_map(move |k| vec![b("PTTL"), k]),
        1 => key.clone().prop_map(move |k| vec![b("PERSIST"), k]),
        1 => Just(vec![b("DBSIZE")]),
    ]
}

/// KEYS * sorted (the two keyspaces list in different orders).
fn sorted_keys(ks: &mut Keyspace<A>, now_ms: i64) -> Vec<Vec<u8>> {
    let mut keys = Vec::new();
    crate::commands::seg_scan::keys(ks, 0, b"*", true, now_ms, &mut keys);
    ks.db(0).dict().for_each(|e| {
        if e.expire().is_none_or(|w| w > now_ms) {
            keys.push(e.key().to_vec());
        }
    });
    keys.sort();
    keys
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn segment_keyspace_matches_the_tables(ops in prop::collection::vec((op(), 0..150i64), 1..120)) {
        let mut plain: Keyspace<A> = Keyspace::new(1, Default::default());
        let mut seg: Keyspace<A> = Keyspace::new(1, Default::default());
        seg.enable_segments(SegConfig { segment_bytes: 4096, hash_power: 4, ..SegConfig::default() });
        let mut now = 1_000_000i64;
        for (argv, advance) in &ops {
            now += advance;
            let a = run(&mut plain, argv, now);
            let b = run(&mut seg, argv, now);
            prop_assert_eq!(
                (String::from_utf8_lossy(&a.0), &a.1),
                (String::from_utf8_lossy(&b.0), &b.1),
                "after {:?}", String::from_utf8_lossy(&argv.concat())
            );
            prop_assert_eq!(plain.db(0).len(), seg.db(0).len());
        }
        prop_assert_eq!(sorted_keys(&mut plain, now), sorted_keys(&mut seg, now));
        if let Some(store) = seg.db(0).seg() {
            prop_assert_eq!(store.verify(), Ok(()));
        }
    }
}
