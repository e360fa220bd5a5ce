//! SSCAN and HSCAN against a real redis-server 7.0.15: the same reply bytes for `intset` sets and `listpack`
//! hashes (whole, cursor 0, whatever the cursor), the same members for paged `hashtable` ones.

use super::super::zsets::zscan_tests::{ours, parse_page, split, Reference, A};
use crate::{Keyspace, KeyspaceConfig};
use std::collections::BTreeSet;

#[test]
fn small_encodings_reply_as_redis_server() {
    let mut redis = Reference::start().expect("a free port and a temp dir");
    let mut ks = Keyspace::<A>::new(1, KeyspaceConfig::default());
    let script = [
        "sadd ints 5 -3 100 7 0 42",
        "sscan ints 0",
        "sscan ints 9",
        "sscan ints 123456789 COUNT 1",
        "sscan ints 0 MATCH 4*",
        "sscan ints 0 COUNT 1 MATCH nothing",
        "sscan nokey 0",
        "sscan ints abc",
        "sscan ints -1",
        "sscan ints 0 COUNT 0",
        "sscan ints 0 MATCH",
        "sscan ints 0 FOO bar",
        "hset h f1 v1 f2 2 long-field-name vvvvvvvvv num 12345",
        "hscan h 0",
        "hscan h 17 COUNT 1",
        "hscan h 0 MATCH f*",
        "hscan h 0 MATCH nothing COUNT 2",
        "hscan nokey 3",
        "hscan h 18446744073709551615",
        "hscan h 18446744073709551616",
        "hscan h 0 COUNT x",
        "hdel h f1",
        "hscan h 5",
        "srem ints 100",
        "sscan ints 5",
    ];
    for line in script {
        let words = split(line);
        assert_eq!(
            String::from_utf8_lossy(&ours(&mut ks, &words)),
            String::from_utf8_lossy(&redis.call(&words)),
            "{line}"
        );
    }
}

/// Every item of a complete SSCAN/HSCAN iteration with COUNT 20, and the first call's cursor.
fn full_scan(
    command: &str,
    key: &str,
    call: &mut dyn FnMut(&[&[u8]]) -> Vec<u8>,
) -> (u64, BTreeSet<Vec<Vec<u8>>>) {
    let (mut cursor, mut items, mut first) = (0u64, BTreeSet::new(), None);
    let per_item = if command == "hscan" { 2 } else { 1 };
    loop {
        let line = format!("{command} {key} {cursor} COUNT 20");
        let (next, page) = parse_page(&call(&split(&line)));
        first.get_or_insert(next);
        items.extend(page.chunks(per_item).map(<[Vec<u8>]>::to_vec));
        cursor = next;
        if cursor == 0 {
            return (first.unwrap_or(0), items);
        }
    }
}

#[test]
fn hashtable_encodings_page_with_the_same_elements_as_redis_server() {
    let mut redis = Reference::start().expect("a free port and a temp dir");
    let mut ks = Keyspace::<A>::new(1, KeyspaceConfig::default());
    let mut both = |line: String| {
        let words = split(&line);
        let (a, b) = (ours(&mut ks, &words), redis.call(&words));
        assert_eq!(a, b, "{line}");
    };
    for n in 0..700 {
        both(format!("sadd strings member:{n}"));
        both(format!("sadd numbers {}", n * 3));
        both(format!("hset fields field:{n} value:{n}"));
    }
    for n in (0..700).step_by(3) {
        both(format!("srem strings member:{n}"));
        both(format!("hdel fields field:{n}"));
    }
    for (command, key, len) in [
        ("sscan", "strings", 466),
        ("sscan", "numbers", 700),
        ("hscan", "fields", 466),
    ] {
        let (our_first, ours_all) = full_scan(command, key, &mut |w| ours(&mut ks, w));
        let (redis_first, redis_all) = full_scan(command, key, &mut |w| redis.call(w));
        assert_ne!(our_first, 0, "{key} pages here");
        assert_ne!(redis_first, 0, "{key} pages in Redis");
        assert_eq!(ours_all.len(), len, "{key}");
        assert_eq!(ours_all, redis_all, "{key}");
    }
}
