//! `client-query-buffer-limit`: a client whose *unprocessed* input passes the limit is closed, as Redis does
//! (7.0.15 `readQueryFromClient`: the check is on the query buffer after each read, and each read is processed
//! before the next, so a long pipeline of small commands never reaches it).

use std::io::{Read, Write};
use std::time::Duration;
use zedis_reliability::{Kind, Raw, ServerProcess, TempDir};

const LIMIT: &str = "1mb";

/// Sends `request` from a thread while reading replies; returns how many reply bytes arrived before the server
/// closed the connection or `expected` bytes were read.
fn pipelined(server: &ServerProcess, request: Vec<u8>, expected: usize) -> usize {
    let raw = server.raw();
    let mut reader = raw.stream.try_clone().unwrap();
    reader
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut writer = raw.stream;
    let sender = std::thread::spawn(move || {
        let _ = writer.write_all(&request);
        writer
    });
    let mut got = 0;
    let mut buf = vec![0u8; 1 << 20];
    while got < expected {
        match reader.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
    }
    drop(sender.join());
    got
}

/// (a 900 KB SET under the limit answered, a 1.5 MB SET over the limit closed with no reply).
fn big_arguments(kind: Kind) -> (String, bool) {
    let dir = TempDir::new("qbuf-big");
    let server =
        ServerProcess::start(kind, dir.path(), &["--client-query-buffer-limit", LIMIT]).unwrap();
    let value = "v".repeat(900 * 1024);
    let mut raw = server.raw();
    let under = raw.call(&format!(
        "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n${}\r\n{value}\r\n",
        value.len()
    ));
    let mut raw = server.raw();
    let mut request = format!("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n${}\r\n", 1536 * 1024).into_bytes();
    request.extend(std::iter::repeat_n(b'v', 1536 * 1024));
    let _ = raw.send(&request);
    let over_closed = raw.closed_within(Duration::from_secs(30));
    (under, over_closed)
}

#[test]
fn arguments_past_the_query_buffer_limit_close_the_client_as_redis() {
    for kind in Kind::available() {
        let (under, over_closed) = big_arguments(kind);
        assert_eq!(under, "+OK\r\n", "{}: under the limit", kind.name());
        assert!(over_closed, "{}: over the limit", kind.name());
    }
}

/// Zedis (at this commit) reads up to several chunks per readable event into the query buffer and checks the
/// limit before parsing any of it (`read_client` in server/src/server/net.rs), so 1 MB of small pipelined
/// commands already in the socket closes the client ("Closing client that reached max query buffer length")
/// although no single command is large. Redis serves every reply.
#[test]
fn long_pipeline_of_small_commands_is_not_a_big_query() {
    for kind in Kind::available() {
        let dir = TempDir::new("qbuf-pipe");
        let server =
            ServerProcess::start(kind, dir.path(), &["--client-query-buffer-limit", LIMIT])
                .unwrap();
        let count = 700_000; // 4.2 MB of PING
        let got = pipelined(&server, b"PING\r\n".repeat(count), 7 * count);
        assert_eq!(got, 7 * count, "{}: replies received", kind.name());
        // Still usable.
        let mut raw: Raw = server.raw();
        assert_eq!(raw.call("PING\r\n"), "+PONG\r\n");
    }
}
