//! Deep sanitization of DUMP payloads, checked against a real redis-server 7.0 started with
//! `sanitize-dump-payload yes`: every corrupt payload here (with a valid footer) is refused by both
//! with `ERR Bad data format`, and the odd-but-valid ones Redis accepts are accepted here with the
//! same data.

mod common;

use common::{describe_redis, describe_value, have, Redis, Reply, TempDir};
use zedis_rdb::listpack::ListpackBuilder;
use zedis_rdb::{
    crc64, create_dump_payload, decode_dump_payload, rdb_type as t, Consumer, ConsumerGroup,
    DumpError, EncodingConfig, Limits, PendingEntry, RdbValue, Stream, StreamEntry, StreamId,
};

fn len(out: &mut Vec<u8>, n: usize) {
    if n < 64 {
        out.push(n as u8);
    } else {
        out.extend_from_slice(&[0x40 | (n >> 8) as u8, n as u8]);
    }
}

fn string(out: &mut Vec<u8>, s: &[u8]) {
    len(out, s.len());
    out.extend_from_slice(s);
}

/// `type | body | version 10 | CRC64`.
fn payload(ty: u8, body: &[u8]) -> Vec<u8> {
    let mut p = vec![ty];
    p.extend_from_slice(body);
    sign(p)
}

/// Appends the RDB version and the CRC64 footer.
fn sign(mut p: Vec<u8>) -> Vec<u8> {
    p.extend_from_slice(&10u16.to_le_bytes());
    let crc = crc64(&p);
    p.extend_from_slice(&crc.to_le_bytes());
    p
}

fn lp(items: &[&[u8]]) -> Vec<u8> {
    let mut b = ListpackBuilder::new();
    for i in items {
        b.push_str(i);
    }
    b.finish()
}

/// A body holding one string (a listpack, intset, ...).
fn blob(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    string(&mut out, s);
    out
}

fn intset(width: u32, values: &[i64]) -> Vec<u8> {
    let mut out = width.to_le_bytes().to_vec();
    out.extend_from_slice(&(values.len() as u32).to_le_bytes());
    for v in values {
        out.extend_from_slice(&v.to_le_bytes()[..width as usize]);
    }
    out
}

fn stream_with_orphan_pel() -> RdbValue {
    let id = StreamId { ms: 1, seq: 1 };
    RdbValue::Stream(Box::new(Stream {
        entries: vec![StreamEntry {
            id,
            fields: vec![(b"f".to_vec(), b"v".to_vec())],
        }],
        last_id: id,
        first_id: id,
        max_deleted_id: StreamId::default(),
        entries_added: 1,
        groups: vec![ConsumerGroup {
            name: b"g".to_vec(),
            last_id: id,
            entries_read: 1,
            pending: vec![PendingEntry {
                id,
                delivery_time_ms: 1,
                delivery_count: 1,
            }],
            consumers: vec![Consumer {
                name: b"c".to_vec(),
                seen_time_ms: 1,
                active_time_ms: None,
                pending: vec![],
            }],
        }],
    }))
}

/// Payloads whose footer is fine but whose object is corrupt, each named.
fn corrupt_payloads() -> Vec<(&'static str, Vec<u8>)> {
    let good = lp(&[b"f", b"1", b"g", b"2"]);
    let mut wrong_count = good.clone();
    wrong_count[4] = 5;
    let mut wrong_backlen = good.clone();
    wrong_backlen[8] ^= 0x01; // the first entry's backlen (0x81 'f' | 2)
    let mut wrong_total = good.clone();
    wrong_total[0] += 1;
    let mut no_terminator = good.clone();
    *no_terminator.last_mut().expect("byte") = 0xFE;
    let mut bad_quicklist_container = vec![1, 3];
    bad_quicklist_container.extend(blob(&lp(&[b"a"])));
    let mut bad_quicklist_node = vec![1, 2];
    bad_quicklist_node.extend(blob(&wrong_count));
    let mut empty_quicklist_node = vec![1, 2];
    empty_quicklist_node.extend(blob(&lp(&[])));
    let mut nan_zset = vec![1];
    string(&mut nan_zset, b"m");
    nan_zset.extend_from_slice(&f64::NAN.to_le_bytes());
    let mut dup_hash = vec![2];
    for s in [&b"f"[..], b"1", b"f", b"2"] {
        string(&mut dup_hash, s);
    }
    let mut dup_set = vec![2];
    for s in [&b"a"[..], b"a"] {
        string(&mut dup_set, s);
    }
    let mut bad_lzf = vec![0xC3, 4, 40];
    bad_lzf.extend_from_slice(&[0x01, b'a', b'b', 0xE0]);
    let mut zl = vec![16, 0, 0, 0, 12, 0, 0, 0, 2, 0, 0, 1, b'a', 9, 0xF6, 0xFF];
    zl[0] = zl.len() as u8;
    vec![
        (
            "hash listpack with a duplicate field",
            payload(t::HASH_LISTPACK, &blob(&lp(&[b"f", b"1", b"f", b"2"]))),
        ),
        (
            "hash listpack with an odd count",
            payload(t::HASH_LISTPACK, &blob(&lp(&[b"f", b"1", b"g"]))),
        ),
        (
            "listpack count differs from its entries",
            payload(t::HASH_LISTPACK, &blob(&wrong_count)),
        ),
        (
            "listpack entry with a wrong backlen",
            payload(t::HASH_LISTPACK, &blob(&wrong_backlen)),
        ),
        (
            "listpack header size differs from the blob",
            payload(t::HASH_LISTPACK, &blob(&wrong_total)),
        ),
        (
            "listpack without its 0xFF end",
            payload(t::HASH_LISTPACK, &blob(&no_terminator)),
        ),
        (
            "empty hash listpack",
            payload(t::HASH_LISTPACK, &blob(&lp(&[]))),
        ),
        (
            "sorted set listpack with a duplicate member",
            payload(t::ZSET_LISTPACK, &blob(&lp(&[b"m", b"1", b"m", b"2"]))),
        ),
        (
            "intset not sorted",
            payload(t::SET_INTSET, &blob(&intset(2, &[2, 1]))),
        ),
        (
            "intset with a duplicate",
            payload(t::SET_INTSET, &blob(&intset(4, &[1, 1]))),
        ),
        (
            "intset of width 3",
            payload(t::SET_INTSET, &blob(&intset(3, &[1, 2]))),
        ),
        (
            "empty intset",
            payload(t::SET_INTSET, &blob(&intset(2, &[]))),
        ),
        (
            "intset length beyond its bytes",
            payload(t::SET_INTSET, &blob(&intset(2, &[1, 2])[..10])),
        ),
        (
            "quicklist node of an unknown container",
            payload(t::LIST_QUICKLIST_2, &bad_quicklist_container),
        ),
        (
            "quicklist node with a corrupt listpack",
            payload(t::LIST_QUICKLIST_2, &bad_quicklist_node),
        ),
        (
            "list of one empty quicklist node",
            payload(t::LIST_QUICKLIST_2, &empty_quicklist_node),
        ),
        (
            "ziplist entry with a wrong prevlen",
            payload(t::LIST_ZIPLIST, &blob(&zl)),
        ),
        ("sorted set with a NaN score", payload(t::ZSET_2, &nan_zset)),
        ("hash with a duplicate field", payload(t::HASH, &dup_hash)),
        ("set with a duplicate member", payload(t::SET, &dup_set)),
        (
            "LZF string shorter than declared",
            payload(t::STRING, &bad_lzf),
        ),
        (
            "stream PEL entry owned by no consumer",
            create_dump_payload(&stream_with_orphan_pel(), &EncodingConfig::default()),
        ),
        ("unknown object type", payload(30, &[0])),
        ("empty object", sign(Vec::new())),
    ]
}

#[test]
fn corrupt_payloads_are_refused_like_redis() {
    let cases = corrupt_payloads();
    for (name, p) in &cases {
        assert_eq!(
            decode_dump_payload(p, Limits::default()),
            Err(DumpError::BadFormat),
            "{name}"
        );
    }
    if !have("redis-server") {
        return;
    }
    let dir = TempDir::new("sanitize");
    let redis = Redis::start(&dir.0, "dump.rdb", &["--sanitize-dump-payload", "yes"]);
    let mut c = redis.client();
    for (name, p) in &cases {
        assert_eq!(
            c.cmd_bytes(&[b"RESTORE", b"k", b"0", p]),
            Reply::Error(DumpError::BadFormat.to_string()),
            "redis-server on {name}"
        );
    }
}

/// Payloads that look odd but that Redis 7.0 accepts (with sanitization on).
fn odd_payloads() -> Vec<(&'static str, Vec<u8>)> {
    let value = create_dump_payload(
        &RdbValue::String(b"hello".to_vec()),
        &EncodingConfig::default(),
    );
    let body = &value[..value.len() - 10];
    let mut trailing = body.to_vec();
    trailing.extend_from_slice(b"xyz");
    let mut unknown_count = lp(&[b"f", b"1"]);
    unknown_count[4..6].copy_from_slice(&[0xFF, 0xFF]);
    // A ziplist whose second entry stores its small prevlen in the 5-byte form.
    let mut zl = vec![
        0, 0, 0, 0, 13, 0, 0, 0, 2, 0, 0, 1, b'a', 0xFE, 3, 0, 0, 0, 0xF6, 0xFF,
    ];
    zl[0] = zl.len() as u8;
    // A hash listpack [f, 200] whose 200 is a 16-bit integer entry (F1 C8 00) with its backlen 3
    // written as 0x83: read backwards, the high bit carries into the entry's last byte, 0.
    let mut lp_backlen = vec![
        14, 0, 0, 0, 2, 0, 0x81, b'f', 2, 0xF1, 0xC8, 0x00, 0x83, 0xFF,
    ];
    lp_backlen[0] = lp_backlen.len() as u8;
    let mut set_count_encoded = vec![0xC3];
    for m in [&b"a"[..], b"b", b"c"] {
        string(&mut set_count_encoded, m);
    }
    let zipmap = [254, 1, b'a', 1, 0, b'b', 0xFF, 0x00, 0xFF];
    let mut text_double = vec![1];
    string(&mut text_double, b"m");
    text_double.extend_from_slice(&[4, b'1', b'.', b'5', b'x']);
    vec![
        (
            "zipmap of unknown count, bytes after its end",
            payload(t::HASH_ZIPMAP, &blob(&zipmap)),
        ),
        (
            "text-double score with trailing garbage (sscanf)",
            payload(t::ZSET, &text_double),
        ),
        (
            "LZF string declaring 0 bytes, any data",
            payload(t::STRING, &[0xC3, 4, 0, 1, 2, 3, 4]),
        ),
        (
            "a count in the string-encoding form (0xC3 reads as 3)",
            payload(t::SET, &set_count_encoded),
        ),
        (
            "listpack backlen in a long form",
            payload(t::HASH_LISTPACK, &blob(&lp_backlen)),
        ),
        (
            "sorted set listpack scores that are not numbers",
            payload(
                t::ZSET_LISTPACK,
                &blob(&lp(&[b"m", b"1.X", b"n", b"-in", b"o", b" 0x1p3"])),
            ),
        ),
        ("bytes between the object and the footer", sign(trailing)),
        (
            "a string running into the footer",
            sign(body[..body.len() - 2].to_vec()),
        ),
        (
            "listpack count 65535 (unknown)",
            payload(t::HASH_LISTPACK, &blob(&unknown_count)),
        ),
        (
            "ziplist prevlen in the long form",
            payload(t::LIST_ZIPLIST, &blob(&zl)),
        ),
    ]
}

#[test]
fn odd_payloads_redis_accepts_are_accepted() {
    let cases = odd_payloads();
    let decoded: Vec<RdbValue> = cases
        .iter()
        .map(|(name, p)| {
            decode_dump_payload(p, Limits::default()).unwrap_or_else(|e| panic!("{name}: {e}"))
        })
        .collect();
    if !have("redis-server") {
        return;
    }
    let dir = TempDir::new("sanitize-odd");
    let redis = Redis::start(&dir.0, "dump.rdb", &["--sanitize-dump-payload", "yes"]);
    let mut c = redis.client();
    for ((name, p), value) in cases.iter().zip(&decoded) {
        c.ok(&["DEL", "k"]);
        assert_eq!(
            c.cmd_bytes(&[b"RESTORE", b"k", b"0", p]),
            Reply::Status("OK".into()),
            "redis-server on {name}"
        );
        assert_eq!(describe_redis(&mut c, "k"), describe_value(value), "{name}");
    }
}
