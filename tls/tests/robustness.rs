//! Hostile and broken peers against the test responder on `zedis_tls`: garbage instead of a ClientHello,
//! oversized declared lengths, clients that stall mid-handshake, large replies through small send buffers,
//! and a configuration reload while connections are open. (Memory under many handshakes: `memory.rs`.)

mod common;

use common::pki::Pki;
use common::resp_server::RespServer;
use common::{client_hello, closes_within, roundtrip, send_raw, tls_client, WAIT};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;
use zedis_tls::StreamLimits;

fn limits(handshake_timeout: Duration) -> StreamLimits {
    StreamLimits {
        handshake_timeout,
        ..StreamLimits::default()
    }
}

fn serve(pki: &Pki, handshake_timeout: Duration) -> RespServer {
    let configs = pki.settings("no").build().expect("build");
    RespServer::start(configs.server, limits(handshake_timeout))
}

fn still_serves(server: &RespServer, pki: &Pki) {
    let mut client = tls_client(
        server.port,
        pki.settings("no").build_client().unwrap(),
        "localhost",
    );
    assert_eq!(
        roundtrip(&mut client, b"PING\r\n", 7).unwrap(),
        b"+PONG\r\n"
    );
}

#[test]
fn garbage_instead_of_client_hello_is_closed() {
    let pki = Pki::new("garbage");
    let server = serve(&pki, Duration::from_secs(60));
    let garbage: [&[u8]; 4] = [
        b"*1\r\n$4\r\nPING\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        // A handshake record whose handshake message declares 16 MiB.
        &[
            0x16, 0x03, 0x01, 0x00, 0x08, 0x01, 0xff, 0xff, 0xff, 0x03, 0x03, 0x00, 0x00,
        ],
        // A record header declaring 65535 bytes (over TLS's record limit).
        &[0x16, 0x03, 0x03, 0xff, 0xff, 0x00, 0x00, 0x00],
    ];
    for bytes in garbage {
        let mut sock = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
        send_raw(&mut sock, bytes);
        assert!(closes_within(&mut sock, WAIT), "not closed after {bytes:?}");
    }
    // Pseudo-random bytes (a fixed xorshift stream), in one piece.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let noise: Vec<u8> = (0..8192)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let mut sock = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    send_raw(&mut sock, &noise);
    assert!(closes_within(&mut sock, WAIT));
    let stats = server.wait_for(WAIT, |s| s.closed_protocol + s.closed_eof >= 5);
    assert_eq!(stats.closed_protocol + stats.closed_eof, 5, "{stats:?}");
    assert_eq!(stats.commands, 0);
    still_serves(&server, &pki);
}

#[test]
fn stalled_handshakes_are_closed_after_the_deadline() {
    let pki = Pki::new("stall");
    // Short enough to wait out, long enough for the real handshake at the end on a loaded machine.
    let server = serve(&pki, Duration::from_secs(2));
    let hello = client_hello(&pki);
    // One sends nothing, one half a ClientHello, one a whole ClientHello and then never answers.
    let mut silent = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    let mut half = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    send_raw(&mut half, &hello[..hello.len() / 2]);
    let mut mute = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    send_raw(&mut mute, &hello);
    // The timer closes them; the deadline is short, the wait wide.
    for sock in [&mut silent, &mut half, &mut mute] {
        assert!(closes_within(sock, WAIT));
    }
    let stats = server.wait_for(WAIT, |s| s.closed_timeout >= 3 && s.open == 0);
    assert_eq!(stats.closed_timeout, 3, "{stats:?}");
    assert_eq!(stats.open, 0);
    still_serves(&server, &pki);
}

#[test]
fn finished_handshakes_are_not_timed_out() {
    let pki = Pki::new("idle");
    let server = serve(&pki, Duration::from_secs(2));
    let mut client = tls_client(
        server.port,
        pki.settings("no").build_client().unwrap(),
        "localhost",
    );
    assert_eq!(
        roundtrip(&mut client, b"PING\r\n", 7).unwrap(),
        b"+PONG\r\n"
    );
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        roundtrip(&mut client, b"PING\r\n", 7).unwrap(),
        b"+PONG\r\n"
    );
    assert_eq!(server.stats().closed_timeout, 0);
}

#[test]
fn reload_gives_new_connections_the_new_config() {
    let first = Pki::new("first");
    let second = Pki::new("second");
    let server = serve(&first, Duration::from_secs(60));
    let trusts_first = first.settings("no").build_client().unwrap();
    let trusts_second = second.settings("no").build_client().unwrap();
    let mut old = tls_client(server.port, trusts_first.clone(), "localhost");
    assert_eq!(roundtrip(&mut old, b"PING\r\n", 7).unwrap(), b"+PONG\r\n");
    // CONFIG SET tls-cert-file/tls-key-file: build afresh, swap the Arc.
    let mut settings = first.settings("no");
    settings
        .set("tls-cert-file", second.server_cert.to_str().unwrap())
        .unwrap();
    settings
        .set("tls-key-file", second.server_key.to_str().unwrap())
        .unwrap();
    *server.config.lock().unwrap() = Arc::clone(&settings.build().unwrap().server);
    let mut new = tls_client(server.port, trusts_second, "localhost");
    assert_eq!(roundtrip(&mut new, b"PING\r\n", 7).unwrap(), b"+PONG\r\n");
    let mut stale = tls_client(server.port, trusts_first, "localhost");
    assert!(roundtrip(&mut stale, b"PING\r\n", 7).is_err());
    // The connection opened before the reload keeps working.
    assert_eq!(
        roundtrip(&mut old, b"ECHO still\r\n", 11).unwrap(),
        b"$5\r\nstill\r\n"
    );
}

#[test]
fn large_replies_flow_through_bounded_send_buffers() {
    let pki = Pki::new("large");
    let configs = pki.settings("no").build().unwrap();
    let server = RespServer::start(
        configs.server,
        StreamLimits {
            send_buffer_bytes_max: 16 * 1024,
            ..StreamLimits::default()
        },
    );
    let mut client = tls_client(
        server.port,
        pki.settings("no").build_client().unwrap(),
        "localhost",
    );
    // 1 MiB echoed back: the responder writes it through a 16 KiB send buffer, relying on WouldBlock and
    // writable events exactly as the server will.
    let payload: Vec<u8> = (0..1024 * 1024).map(|i| b'a' + (i % 26) as u8).collect();
    let mut request = format!("*2\r\n$4\r\nECHO\r\n${}\r\n", payload.len()).into_bytes();
    request.extend_from_slice(&payload);
    request.extend_from_slice(b"\r\n");
    let header = format!("${}\r\n", payload.len());
    let reply = roundtrip(&mut client, &request, header.len() + payload.len() + 2).unwrap();
    assert_eq!(&reply[..header.len()], header.as_bytes());
    assert!(reply[header.len()..header.len() + payload.len()] == payload[..]);
}
