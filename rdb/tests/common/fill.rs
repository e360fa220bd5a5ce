//! Every type and encoding redis-server 7.0 writes, in one dataset (for the interop and digest tests).

use super::Client;

/// A function library `fill` loads.
pub const LIBRARY: &str =
    "#!lua name=rdblib\nredis.register_function('rdbfn', function(keys, args) return 42 end)";

/// Fills redis with every type and encoding. Keys starting with `d:` are ones whose DUMP Redis
/// produces deterministically (no hash-table iteration order, no tombstones).
pub fn fill(c: &mut Client) {
    c.ok(&["SET", "d:str", "hello world"]);
    c.ok(&["SET", "d:int", "12345"]);
    c.ok(&["SET", "d:neg", "-7"]);
    c.ok(&["SET", "d:i64", "12345678901234"]);
    c.ok(&["SET", "d:notint", "0123"]);
    c.ok(&["SET", "d:empty", ""]);
    c.ok(&["SET", "d:lzf", &"abcabcabd".repeat(40)]);
    let text: String = (0..3000)
        .map(|i| format!("line {} of a somewhat compressible text\n", i % 97))
        .collect();
    c.ok(&["SET", "d:lzf_long", &text]);
    let noise: String = (0..300u32)
        .map(|i| char::from(b'!' + ((i.wrapping_mul(2_654_435_761) >> 7) % 90) as u8))
        .collect();
    c.ok(&["SET", "d:incompressible", &noise]);
    c.ok(&["SET", "d:large", &"z".repeat(200_000)]);
    c.ok(&["PFADD", "d:hll", "a", "b", "c", "d"]);
    c.ok(&["SETBIT", "d:bits", "1000", "1"]);
    c.ok(&["SET", "d:ttl", "v"]);
    c.ok(&["PEXPIREAT", "d:ttl", "4102444800123"]);

    c.ok(&[
        "RPUSH",
        "d:list",
        "a",
        "1",
        "-200",
        "70000",
        "12345678901",
        "hello",
        "",
    ]);
    for i in 0..3000 {
        c.ok(&[
            "RPUSH",
            "d:biglist",
            &format!("element-{i}"),
            &i.to_string(),
        ]);
    }
    for i in 0..5 {
        c.ok(&["RPUSH", "d:fatlist", &format!("{i}").repeat(5000)]);
    }

    c.ok(&["SADD", "d:intset", "1", "2", "3", "-5", "100000"]);
    c.ok(&["SADD", "d:intset64", "1", "9000000000"]);
    c.ok(&["SADD", "ht:set", "a", "b", "c", "1"]);
    for i in 0..600 {
        c.ok(&["SADD", "ht:bigintset", &i.to_string()]);
    }

    c.ok(&["HSET", "d:hash", "f1", "v1", "f2", "2", "num", "-3000"]);
    for i in 0..200 {
        c.ok(&[
            "HSET",
            "ht:bighash",
            &format!("field{i}"),
            &format!("value{i}"),
        ]);
    }
    c.ok(&["HSET", "ht:longvalue", "f", &"x".repeat(100)]);

    c.ok(&[
        "ZADD", "d:zset", "1.5", "a", "2", "b", "-inf", "c", "inf", "d", "0.1", "e", "1e300", "f",
    ]);
    for i in 0..200 {
        c.ok(&[
            "ZADD",
            "d:bigzset",
            &format!("{}", i as f64 * 0.25),
            &format!("member{i}"),
        ]);
    }

    for i in 1..=250 {
        if i % 3 == 0 {
            c.ok(&[
                "XADD",
                "d:stream",
                &format!("{i}-1"),
                "a",
                &i.to_string(),
                "b",
                "x",
            ]);
        } else {
            c.ok(&[
                "XADD",
                "d:stream",
                &format!("{i}-1"),
                "other",
                &"y".repeat(i % 40),
            ]);
        }
    }
    c.ok(&["XGROUP", "CREATE", "d:stream", "g1", "0"]);
    c.ok(&["XGROUP", "CREATE", "d:stream", "g0", "$"]);
    c.ok(&[
        "XREADGROUP",
        "GROUP",
        "g1",
        "alice",
        "COUNT",
        "5",
        "STREAMS",
        "d:stream",
        ">",
    ]);
    c.ok(&[
        "XREADGROUP",
        "GROUP",
        "g1",
        "bob",
        "COUNT",
        "3",
        "STREAMS",
        "d:stream",
        ">",
    ]);
    c.ok(&["XACK", "d:stream", "g1", "2-1"]);
    c.ok(&["XGROUP", "CREATECONSUMER", "d:stream", "g1", "carol"]);

    c.ok(&["XADD", "x:deleted", "1-1", "f", "v"]);
    c.ok(&["XADD", "x:deleted", "2-1", "f", "w"]);
    c.ok(&["XADD", "x:deleted", "3-1", "g", "z"]);
    c.ok(&["XDEL", "x:deleted", "2-1"]);
    c.ok(&["XADD", "x:emptied", "5-5", "f", "v"]);
    c.ok(&["XDEL", "x:emptied", "5-5"]);

    c.ok(&["FUNCTION", "LOAD", LIBRARY]);
    c.ok(&["SELECT", "2"]);
    c.ok(&["SET", "db2key", "in db 2"]);
    c.ok(&["SELECT", "0"]);
}
