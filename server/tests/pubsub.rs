//! Pub/Sub through real clients: the `redis` crate's pub/sub API and raw sockets (RESP2 and RESP3).

mod common;

use common::{cmd, Server};
use redis::Value;
use std::time::Duration;

fn info_field(c: &mut redis::Connection, name: &str) -> i64 {
    let info: String = redis::cmd("INFO").query(c).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("INFO lacks {name}"))
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn messages_reach_channel_and_pattern_subscribers() {
    let server = Server::start(&[]);
    let mut sub_conn = server.conn();
    let mut pubsub = sub_conn.as_pubsub();
    pubsub.subscribe("news").unwrap();
    pubsub.psubscribe("ne*").unwrap();
    pubsub
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut publisher = server.conn();
    let receivers: i64 = redis::cmd("PUBLISH")
        .arg("news")
        .arg("hello")
        .query(&mut publisher)
        .unwrap();
    assert_eq!(receivers, 2);
    let first = pubsub.get_message().unwrap();
    assert_eq!(first.get_channel_name(), "news");
    assert_eq!(first.get_payload::<String>().unwrap(), "hello");
    let second = pubsub.get_message().unwrap();
    assert_eq!(second.get_pattern::<String>().unwrap(), "ne*");
    assert_eq!(second.get_payload::<String>().unwrap(), "hello");
    let numsub: Vec<Value> = redis::cmd("PUBSUB")
        .arg("NUMSUB")
        .arg("news")
        .arg("none")
        .query(&mut publisher)
        .unwrap();
    assert_eq!(numsub[1], Value::Int(1));
    assert_eq!(numsub[3], Value::Int(0));
    assert_eq!(
        cmd(&mut publisher, &["PUBSUB", "NUMPAT"]).unwrap(),
        Value::Int(1)
    );
    assert_eq!(info_field(&mut publisher, "pubsub_channels"), 1);
}

#[test]
fn raw_replies_match_redis_in_resp2() {
    let server = Server::start(&[]);
    let mut raw = server.raw();
    raw.roundtrip(
        "SUBSCRIBE a b\r\n",
        "*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n",
    );
    raw.roundtrip(
        "PSUBSCRIBE p*\r\n",
        "*3\r\n$10\r\npsubscribe\r\n$2\r\np*\r\n:3\r\n",
    );
    raw.roundtrip(
        "GET x\r\n",
        "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n",
    );
    raw.roundtrip("PING\r\n", "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
    raw.roundtrip(
        "UNSUBSCRIBE\r\n",
        "*3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:2\r\n*3\r\n$11\r\nunsubscribe\r\n$1\r\nb\r\n:1\r\n",
    );
    raw.roundtrip(
        "PUNSUBSCRIBE\r\n",
        "*3\r\n$12\r\npunsubscribe\r\n$2\r\np*\r\n:0\r\n",
    );
    raw.roundtrip(
        "UNSUBSCRIBE\r\n",
        "*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n",
    );
    raw.roundtrip("PING\r\n", "+PONG\r\n");
    raw.roundtrip(
        "SSUBSCRIBE s1\r\n",
        "*3\r\n$10\r\nssubscribe\r\n$2\r\ns1\r\n:1\r\n",
    );
    let mut other = server.raw();
    other.roundtrip("SPUBLISH s1 hi\r\n", ":1\r\n");
    assert_eq!(
        raw.read_exact_len(34),
        "*3\r\n$8\r\nsmessage\r\n$2\r\ns1\r\n$2\r\nhi\r\n"
    );
}

#[test]
fn resp3_pushes_and_ordinary_commands_while_subscribed() {
    let server = Server::start(&[]);
    let mut raw = server.raw();
    raw.send(b"HELLO 3\r\n");
    let mut hello = String::new();
    while !hello.ends_with("$7\r\nmodules\r\n*0\r\n") {
        hello.push_str(&raw.read_exact_len(1));
    }
    assert!(hello.starts_with("%7\r\n"), "{hello}");
    raw.roundtrip(
        "SUBSCRIBE c\r\n",
        ">3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n",
    );
    raw.roundtrip("SET k v\r\nGET k\r\n", "+OK\r\n$1\r\nv\r\n");
    let mut other = server.raw();
    other.roundtrip("PUBLISH c m\r\n", ":1\r\n");
    assert_eq!(
        raw.read_exact_len(31),
        ">3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nm\r\n"
    );
}

#[test]
fn keyspace_notifications_are_published() {
    let server = Server::start(&["--notify-keyspace-events", "KEA"]);
    let mut sub_conn = server.conn();
    let mut pubsub = sub_conn.as_pubsub();
    pubsub.psubscribe("__key*@0__:*").unwrap();
    pubsub
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut c = server.conn();
    let _: () = redis::cmd("SET").arg("k").arg("v").query(&mut c).unwrap();
    let _: i64 = redis::cmd("DEL").arg("k").query(&mut c).unwrap();
    let mut got = Vec::new();
    for _ in 0..4 {
        let msg = pubsub.get_message().unwrap();
        got.push(format!(
            "{} {}",
            msg.get_channel_name(),
            msg.get_payload::<String>().unwrap()
        ));
    }
    assert_eq!(
        got,
        [
            "__keyspace@0__:k set",
            "__keyevent@0__:set k",
            "__keyspace@0__:k del",
            "__keyevent@0__:del k"
        ]
    );
}

#[test]
fn subscriber_limit_refuses_extra_subscribers() {
    let server = Server::start(&["--pubsub-max-subscribers-per-channel", "1"]);
    let mut a = server.raw();
    a.roundtrip(
        "SUBSCRIBE c\r\n",
        "*3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n",
    );
    let mut b = server.raw();
    b.roundtrip(
        "SUBSCRIBE c\r\n",
        "-ERR maximum subscribers per channel reached\r\n",
    );
}

#[test]
fn subscribe_disconnect_cycles_leave_nothing_behind() {
    let server = Server::start(&[]);
    let mut c = server.conn();
    let before = info_field(&mut c, "used_memory_pubsub");
    for i in 0..2000 {
        let mut raw = server.raw();
        raw.send(
            format!(
                "SUBSCRIBE chan{} shared\r\nPSUBSCRIBE p{}*\r\n",
                i % 7,
                i % 5
            )
            .as_bytes(),
        );
        let _ = raw.read_exact_len(10);
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let numsub: Vec<Value> = redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg("shared")
            .query(&mut c)
            .unwrap();
        let patterns = info_field(&mut c, "pubsub_patterns");
        if numsub[1] == Value::Int(0) && patterns == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "subscriptions left: {numsub:?}, {patterns} patterns"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(info_field(&mut c, "used_memory_pubsub"), before);
}

#[test]
fn slow_subscriber_is_disconnected_and_others_are_served() {
    let server = Server::start(&[
        "--client-output-buffer-limit",
        "pubsub",
        "1mb",
        "512kb",
        "1",
    ]);
    let mut slow = server.raw();
    slow.roundtrip(
        "SUBSCRIBE firehose\r\n",
        "*3\r\n$9\r\nsubscribe\r\n$8\r\nfirehose\r\n:1\r\n",
    );
    let mut c = server.conn();
    let payload = "x".repeat(256 * 1024);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    // The slow subscriber never reads; once kernel buffers are full its queue passes the hard limit.
    loop {
        let receivers: i64 = redis::cmd("PUBLISH")
            .arg("firehose")
            .arg(&payload)
            .query(&mut c)
            .unwrap();
        if receivers == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "subscriber never disconnected"
        );
    }
    assert!(info_field(&mut c, "client_output_buffer_limit_disconnections") >= 1);
    assert_eq!(
        cmd(&mut c, &["PING"]).unwrap(),
        Value::SimpleString("PONG".into())
    );
    assert!(info_field(&mut c, "used_memory_pubsub") < 4 << 20);
}

#[test]
fn subscription_confirmations_ignore_client_reply_off_and_new_key_events() {
    let server = Server::start(&[]);
    let mut admin = server.raw();
    admin.roundtrip("CONFIG SET notify-keyspace-events En\r\n", "+OK\r\n");
    let mut sub = server.raw();
    // CLIENT REPLY OFF silences its own reply, but subscription confirmations and messages are pushes.
    sub.send(b"CLIENT REPLY OFF\r\nPSUBSCRIBE *\r\n");
    sub.expect("*3\r\n$10\r\npsubscribe\r\n$1\r\n*\r\n:1\r\n");
    admin.roundtrip("SET foo bar\r\n", "+OK\r\n");
    admin.roundtrip("SET foo baz\r\n", "+OK\r\n");
    admin.roundtrip("SET bar bar\r\n", "+OK\r\n");
    // Only new keys make a `new` event (a second SET of foo does not).
    sub.expect("*4\r\n$8\r\npmessage\r\n$1\r\n*\r\n$18\r\n__keyevent@0__:new\r\n$3\r\nfoo\r\n");
    sub.expect("*4\r\n$8\r\npmessage\r\n$1\r\n*\r\n$18\r\n__keyevent@0__:new\r\n$3\r\nbar\r\n");
}
