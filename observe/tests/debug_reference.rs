//! DEBUG against a real redis-server: HELP, the errors of every argument rule, PROTOCOL's replies in RESP2 and
//! RESP3, OBJECT's line, POPULATE's names, and the `enable-debug-command` refusal, byte for byte.

mod common;

use common::debug_model::model_reply;
use common::{bulk, RedisProcess};
use zedis_observe::debug::{self, ClientPeer, DebugRequest, ProtectedAction, ProtocolType};
use zedis_observe::debug_reply::{self, ObjectInfo, QuicklistInfo};
use zedis_resp::{Frame, Protocol};

/// Sends `argv` and reads replies until `len` bytes came (a push or attribute reply is several frames).
fn reply_bytes(client: &mut common::Client, argv: &[&[u8]], len: usize) -> Vec<u8> {
    client.send(argv);
    let mut all = Vec::new();
    while all.len() < len {
        all.extend_from_slice(&client.read_raw().0);
    }
    all
}

fn check(client: &mut common::Client, argv: &[&[u8]], proto: Protocol) {
    let ours = model_reply(argv, proto).expect("a state-free request");
    let theirs = reply_bytes(client, argv, ours.len());
    assert_eq!(
        String::from_utf8_lossy(&ours),
        String::from_utf8_lossy(&theirs),
        "argv {:?}",
        argv.iter()
            .map(|a| String::from_utf8_lossy(a))
            .collect::<Vec<_>>()
    );
}

#[test]
fn help_and_errors_match_redis() {
    let redis = reference_or_skip!();
    let mut client = redis.client();
    let long = vec![b'x'; 300];
    let cases: Vec<Vec<&[u8]>> = vec![
        vec![b"DEBUG", b"HELP"],
        vec![b"debug", b"help"],
        vec![b"debug", b"help", b"extra"],
        vec![b"debug", b"nosuch"],
        vec![b"debug", b"stringmatch-len"],
        vec![b"debug", b"jmap-is-ours"],
        vec![b"debug", &long],
        vec![b"debug", b"bad\r\nname"],
        vec![b"debug", b"object"],
        vec![b"debug", b"object", b"a", b"b"],
        vec![b"debug", b"object", b"missing"],
        vec![b"debug", b"listpack", b"missing"],
        vec![b"debug", b"quicklist", b"missing", b"1"],
        vec![b"debug", b"quicklist"],
        vec![b"debug", b"digest", b"x"],
        vec![b"debug", b"digest-value"],
        vec![b"debug", b"digest-value", b"m1", b"m2"],
        vec![b"debug", b"reload", b"merge", b"bogus"],
        vec![b"debug", b"sleep"],
        vec![b"debug", b"sleep", b"0"],
        vec![b"debug", b"sleep", b"abc"],
        vec![b"debug", b"sleep", b"-5"],
        vec![b"debug", b"set-active-expire", b"1"],
        vec![b"debug", b"set-active-expire"],
        vec![b"debug", b"quicklist-packed-threshold", b"100"],
        vec![b"debug", b"quicklist-packed-threshold", b"1kb"],
        vec![b"debug", b"quicklist-packed-threshold", b"4gb"],
        vec![b"debug", b"quicklist-packed-threshold", b"-1"],
        vec![b"debug", b"quicklist-packed-threshold", b"12x"],
        vec![b"debug", b"quicklist-packed-threshold", b""],
        vec![b"debug", b"quicklist-packed-threshold", b"0"],
        vec![b"debug", b"protocol", b"nope"],
        vec![b"debug", b"protocol"],
        vec![b"debug", b"populate", b"-1"],
        vec![b"debug", b"populate", b"abc"],
        vec![b"debug", b"populate", b"1", b"p", b"-3"],
        vec![b"debug", b"populate", b"1", b"p", b"3", b"4"],
        vec![b"debug", b"error", b"CUSTOM failure\nhere"],
        vec![b"debug", b"log", b"hello from the test"],
        vec![b"debug", b"change-repl-id"],
        vec![b"debug", b"change-repl-id", b"x"],
        vec![b"debug", b"stringmatch-test"],
        vec![b"debug", b"set-disable-deny-scripts", b"0"],
        vec![b"debug", b"set-skip-checksum-validation", b"0"],
        vec![b"debug", b"replybuffer", b"peak-reset-time", b"never"],
        vec![b"debug", b"replybuffer", b"peak-reset-time", b"reset"],
        vec![b"debug", b"replybuffer", b"peak-reset-time", b"x"],
        vec![b"debug", b"replybuffer", b"peak-reset-time", b"100"],
        vec![b"debug", b"replybuffer", b"resizing", b"1"],
        vec![b"debug", b"replybuffer", b"other", b"1"],
        vec![b"debug", b"replybuffer", b"resizing"],
        vec![b"debug", b"clusterlink", b"x", b"to", b"id"],
    ];
    for argv in &cases {
        check(&mut client, argv, Protocol::Resp2);
    }
}

#[test]
fn protocol_replies_match_redis_in_resp2_and_resp3() {
    let redis = reference_or_skip!();
    let mut client = redis.client();
    for proto in [Protocol::Resp2, Protocol::Resp3] {
        if proto == Protocol::Resp3 {
            client.cmd(&["HELLO", "3"]);
        }
        for (name, _) in ProtocolType::ALL {
            let upper = name.to_ascii_uppercase();
            check(
                &mut client,
                &[b"DEBUG", b"PROTOCOL", upper.as_bytes()],
                proto,
            );
        }
    }
}

/// The value of `field:` in DEBUG OBJECT's line.
fn field<'a>(line: &'a str, name: &str) -> &'a str {
    line.split(' ')
        .find_map(|part| part.strip_prefix(name).and_then(|p| p.strip_prefix(':')))
        .unwrap_or_else(|| panic!("no {name} in {line}"))
}

#[test]
fn object_line_matches_redis() {
    let redis = reference_or_skip!("--list-max-listpack-size", "4");
    let mut client = redis.client();
    client.cmd(&["SET", "int", "12"]);
    client.cmd(&["SET", "str", "hello"]);
    client.cmd(&["SET", "raw", &"r".repeat(100)]);
    client.cmd(&["HSET", "hash", "f", "v"]);
    let items: Vec<String> = (0..9).map(|i| format!("item{i}")).collect();
    let mut rpush = vec!["RPUSH", "list"];
    rpush.extend(items.iter().map(String::as_str));
    client.cmd(&rpush);
    for key in ["int", "str", "raw", "hash", "list"] {
        let raw = client.raw(&["DEBUG", "OBJECT", key]);
        let line = std::str::from_utf8(&raw[1..raw.len() - 2]).unwrap();
        let quicklist = line.contains("ql_nodes").then(|| {
            let nodes: u64 = field(line, "ql_nodes").parse().unwrap();
            let avg: f64 = field(line, "ql_avg_node").parse().unwrap();
            QuicklistInfo {
                nodes,
                elements: (avg * nodes as f64).round() as u64,
                fill: field(line, "ql_listpack_max").parse().unwrap(),
                compressed: field(line, "ql_compressed") == "1",
                uncompressed_bytes: field(line, "ql_uncompressed_size").parse().unwrap(),
            }
        });
        let address = line["Value at:0x".len()..].split(' ').next().unwrap();
        let info = ObjectInfo {
            address: usize::from_str_radix(address, 16).unwrap(),
            refcount: field(line, "refcount").parse().unwrap(),
            encoding: field(line, "encoding"),
            serialized_len: field(line, "serializedlength").parse().unwrap(),
            lru: field(line, "lru").parse().unwrap(),
            lru_seconds_idle: field(line, "lru_seconds_idle").parse().unwrap(),
            quicklist,
        };
        let mut ours = Vec::new();
        debug_reply::reply_object(&mut ours, &info);
        assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&raw)
        );
        if key == "int" {
            assert_eq!(info.refcount, debug_reply::SHARED_REFCOUNT);
        }
        if key == "list" {
            assert_eq!(info.quicklist.unwrap().elements, 9);
        }
    }
    check(
        &mut client,
        &[b"DEBUG", b"OBJECT", b"nokey"],
        Protocol::Resp2,
    );
}

#[test]
fn populate_names_match_redis() {
    let redis = reference_or_skip!();
    let mut client = redis.client();
    let long_prefix = "p".repeat(200);
    for argv in [
        vec!["DEBUG", "POPULATE", "3"],
        vec!["DEBUG", "POPULATE", "2", "pre", "12"],
        vec!["DEBUG", "POPULATE", "2", "tiny", "3"],
        vec!["DEBUG", "POPULATE", "1", &long_prefix],
    ] {
        let args: Vec<&[u8]> = argv.iter().map(|a| a.as_bytes()).collect();
        let Ok(DebugRequest::Populate {
            count,
            prefix,
            size,
        }) = debug::parse(&args)
        else {
            panic!("populate parses")
        };
        assert_eq!(client.raw(&argv), b"+OK\r\n");
        for n in 0..count {
            let key = debug_reply::populate_key(prefix, n);
            let value = client.call(&[b"GET", &key]);
            assert_eq!(
                bulk(&value),
                debug_reply::populate_value(n, size),
                "{argv:?}"
            );
        }
    }
    let keys = client.cmd(&["DBSIZE"]);
    assert_eq!(keys, Frame::Integer(3 + 2 + 2 + 1));
}

#[test]
fn enable_debug_command_refusal_matches_redis() {
    let loopback = ClientPeer::Tcp("127.0.0.1".parse().unwrap());
    for (setting, allowed) in [("no", false), ("local", true), ("yes", true)] {
        let Some(redis) = RedisProcess::start(&["--enable-debug-command", setting]) else {
            eprintln!("redis-server not available: skipped");
            return;
        };
        let config = ProtectedAction::parse(setting.as_bytes()).unwrap();
        assert_eq!(config.allows(loopback), allowed, "{setting}");
        let mut client = redis.client();
        let theirs = client.raw(&["DEBUG", "CHANGE-REPL-ID"]);
        let ours = match debug::check_debug_allowed(config, loopback) {
            Ok(()) => b"+OK\r\n".to_vec(),
            Err(e) => format!("-{e}\r\n").into_bytes(),
        };
        assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&theirs)
        );
    }
}
