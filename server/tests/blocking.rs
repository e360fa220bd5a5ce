//! Blocking list commands with several connections: first blocked first served, timeouts, disconnects.

mod common;

use common::Server;
use std::time::{Duration, Instant};

#[test]
fn push_serves_the_oldest_waiter_first() {
    let server = Server::start(&[]);
    let mut first = server.raw();
    first.send(b"BLPOP q 0\r\n");
    std::thread::sleep(Duration::from_millis(200));
    let mut second = server.raw();
    second.send(b"BLPOP q 0\r\n");
    std::thread::sleep(Duration::from_millis(200));
    let mut pusher = server.raw();
    pusher.roundtrip("RPUSH q a\r\n", ":1\r\n");
    first.expect("*2\r\n$1\r\nq\r\n$1\r\na\r\n");
    pusher.roundtrip("RPUSH q b c\r\n", ":2\r\n");
    second.expect("*2\r\n$1\r\nq\r\n$1\r\nb\r\n");
    pusher.roundtrip("LRANGE q 0 -1\r\n", "*1\r\n$1\r\nc\r\n");
}

#[test]
fn timeouts_reply_null_in_both_protocols() {
    let server = Server::start(&[]);
    let mut raw = server.raw();
    let started = Instant::now();
    raw.roundtrip("BLPOP none 0.2\r\n", "*-1\r\n");
    assert!(started.elapsed() >= Duration::from_millis(190));
    raw.roundtrip("BLMOVE none dst LEFT RIGHT 0.1\r\n", "*-1\r\n");
    raw.roundtrip("BLMPOP 0.1 2 a b LEFT COUNT 3\r\n", "*-1\r\n");
    raw.roundtrip("BLPOP none -1\r\n", "-ERR timeout is negative\r\n");
    raw.roundtrip(
        "BLPOP none abc\r\n",
        "-ERR timeout is not a float or out of range\r\n",
    );
    let mut hello = String::new();
    raw.send(b"HELLO 3\r\n");
    while !hello.ends_with("*0\r\n") {
        hello.push_str(&raw.read_exact_len(1));
    }
    raw.roundtrip("BRPOP none 0.1\r\n", "_\r\n");
}

#[test]
fn blmove_chains_wake_the_next_waiter() {
    let server = Server::start(&[]);
    let mut mover = server.raw();
    mover.send(b"BLMOVE src mid RIGHT LEFT 0\r\n");
    std::thread::sleep(Duration::from_millis(150));
    let mut popper = server.raw();
    popper.send(b"BRPOP mid 0\r\n");
    std::thread::sleep(Duration::from_millis(150));
    let mut pusher = server.raw();
    pusher.roundtrip("LPUSH src x\r\n", ":1\r\n");
    mover.expect("$1\r\nx\r\n");
    popper.expect("*2\r\n$3\r\nmid\r\n$1\r\nx\r\n");
    pusher.roundtrip("EXISTS src mid\r\n", ":0\r\n");
}

#[test]
fn pipelined_commands_wait_for_the_blocked_one() {
    let server = Server::start(&[]);
    let mut raw = server.raw();
    raw.send(b"BLPOP q 0\r\nPING\r\n");
    std::thread::sleep(Duration::from_millis(200));
    let mut pusher = server.raw();
    pusher.roundtrip("RPUSH q v\r\n", ":1\r\n");
    raw.expect("*2\r\n$1\r\nq\r\n$1\r\nv\r\n+PONG\r\n");
}

#[test]
fn a_disconnected_waiter_takes_nothing() {
    let server = Server::start(&[]);
    let mut gone = server.raw();
    gone.send(b"BLPOP q 0\r\n");
    std::thread::sleep(Duration::from_millis(150));
    drop(gone);
    std::thread::sleep(Duration::from_millis(150));
    let mut c = server.conn();
    let blocked: String = redis::cmd("INFO").arg("clients").query(&mut c).unwrap();
    assert!(blocked.contains("blocked_clients:0"), "{blocked}");
    let _: i64 = redis::cmd("RPUSH")
        .arg("q")
        .arg("kept")
        .query(&mut c)
        .unwrap();
    let v: Vec<String> = redis::cmd("LRANGE")
        .arg("q")
        .arg(0)
        .arg(-1)
        .query(&mut c)
        .unwrap();
    assert_eq!(v, ["kept"]);
}

#[test]
fn redis_crate_blpop_with_data_and_with_wait() {
    let server = Server::start(&[]);
    let mut c = server.conn();
    let _: i64 = redis::cmd("RPUSH").arg("l").arg("1").query(&mut c).unwrap();
    let got: (String, String) = redis::cmd("BLPOP").arg("l").arg(1).query(&mut c).unwrap();
    assert_eq!(got, ("l".into(), "1".into()));
    let port = server.port;
    let waiter = std::thread::spawn(move || {
        let mut c = redis::Client::open(format!("redis://127.0.0.1:{port}/"))
            .unwrap()
            .get_connection()
            .unwrap();
        let got: (String, Vec<String>) = redis::cmd("BLMPOP")
            .arg(10)
            .arg(1)
            .arg("m")
            .arg("LEFT")
            .arg("COUNT")
            .arg(5)
            .query(&mut c)
            .unwrap();
        got
    });
    std::thread::sleep(Duration::from_millis(200));
    let _: i64 = redis::cmd("RPUSH")
        .arg("m")
        .arg("a")
        .arg("b")
        .query(&mut c)
        .unwrap();
    assert_eq!(
        waiter.join().unwrap(),
        ("m".to_string(), vec!["a".to_string(), "b".to_string()])
    );
}

#[test]
fn a_key_ready_only_inside_a_transaction_wakes_no_one() {
    let server = Server::start(&[]);
    let mut waiter = server.raw();
    waiter.send(b"BLPOP l 0\r\n");
    std::thread::sleep(Duration::from_millis(200));
    let mut writer = server.raw();
    writer.roundtrip("MULTI\r\n", "+OK\r\n");
    writer.roundtrip("LPUSH l x\r\n", "+QUEUED\r\n");
    writer.roundtrip("DEL l\r\n", "+QUEUED\r\n");
    writer.roundtrip("SET l foo\r\n", "+QUEUED\r\n");
    writer.roundtrip("EXEC\r\n", "*3\r\n:1\r\n:1\r\n+OK\r\n");
    // The key now holds a string: the waiter stays blocked (no WRONGTYPE), then a real push serves it.
    writer.roundtrip("DEL l\r\n", ":1\r\n");
    writer.roundtrip("LPUSH l y\r\n", ":1\r\n");
    waiter.expect("*2\r\n$1\r\nl\r\n$1\r\ny\r\n");
}
