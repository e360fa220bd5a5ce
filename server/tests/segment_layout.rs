//! `--kv-allocator segment` (issue 25): the item layout's limits seen from a client. An expiry is stored
//! in 6 bytes (up to 2^48 - 1 unix ms); a later one keeps its key in the tables, so every expiry Redis
//! accepts still reads back exactly.

mod common;

use common::Server;

/// A field of INFO allocator (not INFO everything: a debug build's INFO keyspace overflows summing TTLs
/// near i64::MAX, a server bug outside the segment store).
fn info_field(c: &mut redis::Connection, name: &str) -> i64 {
    let info: String = redis::cmd("INFO").arg("allocator").query(c).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("no {name} in INFO"))
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn expiries_beyond_six_bytes_read_back_exactly() {
    let server = Server::start(&["--kv-allocator", "segment", "--save", ""]);
    let mut c = server.conn();
    let max: i64 = (1 << 48) - 1;
    let cases = [
        ("near", 4_000_000_000_000i64),
        ("edge", max),
        ("past-edge", max + 1),
        ("far", i64::MAX / 2),
        ("top", i64::MAX),
    ];
    for (key, at) in cases {
        let _: () = redis::cmd("SET")
            .arg(key)
            .arg("value")
            .arg("PXAT")
            .arg(at)
            .query(&mut c)
            .unwrap();
    }
    // Keys of a short name also take the 31-byte escape path.
    let long = "L".repeat(40);
    let _: () = redis::cmd("SET")
        .arg(&long)
        .arg("v")
        .arg("PXAT")
        .arg(max)
        .query(&mut c)
        .unwrap();
    for (key, at) in cases {
        let got: i64 = redis::cmd("PEXPIRETIME").arg(key).query(&mut c).unwrap();
        assert_eq!(got, at, "{key}");
        let value: String = redis::cmd("GET").arg(key).query(&mut c).unwrap();
        assert_eq!(value, "value");
    }
    let got: i64 = redis::cmd("PEXPIRETIME").arg(&long).query(&mut c).unwrap();
    assert_eq!(got, max);
    // The three that fit are in the store; the others in the tables.
    assert_eq!(info_field(&mut c, "seg_items"), 3);
    let size: i64 = redis::cmd("DBSIZE").query(&mut c).unwrap();
    assert_eq!(size, 6);
}
