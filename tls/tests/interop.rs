//! TLS interop through real programs: `redis-cli --tls` and `openssl s_client` against the test RESP responder
//! running on `zedis_tls`, a rustls client built on `TlsStream`, the three `tls-auth-clients` modes, wrong CAs,
//! and the client configuration against a real `redis-server` built with TLS.

mod common;

use common::pki::Pki;
use common::resp_server::RespServer;
use common::{roundtrip, tls_client, WAIT};
use std::path::Path;
use std::process::Command;
use zedis_testkit::{run_with_input as run, RedisServer};
use zedis_tls::StreamLimits;

fn serve(pki: &Pki, auth_clients: &str) -> RespServer {
    let configs = pki.settings(auth_clients).build().expect("build");
    RespServer::start(configs.server, StreamLimits::default())
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// A real redis-server serving TLS only (`--port 0 --tls-port P`) with `args`, its files in the PKI's
/// directory, killed by PID on drop.
fn start_redis(pki: &Pki, args: &[&str]) -> RedisServer {
    RedisServer::builder()
        .dir(&pki.dir.0)
        .port_in_args()
        .args(&["--tls-port", "{port}", "--port", "0"])
        .args(args)
        .start()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// `redis-cli --tls` with the given extra arguments, sending PING; returns (stdout, stderr).
fn redis_cli_ping(port: u16, ca: &Path, extra: &[&str]) -> (String, String) {
    let out = run(
        Command::new("redis-cli")
            .args([
                "--tls",
                "--cacert",
                p(ca),
                "-h",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .args(extra)
            .arg("PING"),
        b"",
        WAIT,
    );
    (out.stdout, out.stderr)
}

#[test]
fn redis_cli_tls_ping_with_client_certificate() {
    let pki = Pki::new("cli");
    let server = serve(&pki, "yes");
    let (out, err) = redis_cli_ping(
        server.port,
        &pki.ca,
        &["--cert", p(&pki.client_cert), "--key", p(&pki.client_key)],
    );
    assert_eq!(out.trim(), "PONG", "stderr: {err}");
    // The responder saw one command over TLS; the client closed cleanly afterwards.
    let stats = server.wait_for(WAIT, |s| s.closed_eof + s.closed_protocol >= 1);
    assert_eq!(stats.commands, 1);
    assert_eq!(stats.closed_protocol, 0);
}

#[test]
fn auth_clients_yes_refuses_a_client_without_certificate() {
    let pki = Pki::new("yes");
    let server = serve(&pki, "yes");
    let (out, _) = redis_cli_ping(server.port, &pki.ca, &[]);
    assert_ne!(out.trim(), "PONG");
    let stats = server.wait_for(WAIT, |s| s.closed_protocol >= 1);
    assert_eq!(stats.commands, 0);
    assert!(stats.closed_protocol >= 1, "{stats:?}");
}

#[test]
fn auth_clients_optional_and_no() {
    let pki = Pki::new("opt");
    let cert_args = ["--cert", p(&pki.client_cert), "--key", p(&pki.client_key)];
    let optional = serve(&pki, "optional");
    assert_eq!(redis_cli_ping(optional.port, &pki.ca, &[]).0.trim(), "PONG");
    assert_eq!(
        redis_cli_ping(optional.port, &pki.ca, &cert_args).0.trim(),
        "PONG"
    );

    // Identity: with a certificate the stream exposes it; without, none.
    let client_config = pki.settings("optional").build_client().unwrap();
    let mut with_cert = tls_client(optional.port, client_config, "localhost");
    assert_eq!(
        roundtrip(&mut with_cert, b"PEERCERTS\r\n", 4).unwrap(),
        b":1\r\n"
    );
    let mut anonymous_settings = pki.settings("no");
    anonymous_settings.set("tls-cert-file", "").unwrap();
    anonymous_settings.set("tls-key-file", "").unwrap();
    let anonymous = anonymous_settings.build_client().unwrap();
    let mut without = tls_client(optional.port, anonymous.clone(), "localhost");
    assert_eq!(
        roundtrip(&mut without, b"PEERCERTS\r\n", 4).unwrap(),
        b":0\r\n"
    );

    let none = serve(&pki, "no");
    assert_eq!(redis_cli_ping(none.port, &pki.ca, &[]).0.trim(), "PONG");
    // With tls-auth-clients no the server asks for nothing, so even a client holding one sends none.
    let mut holder = tls_client(
        none.port,
        pki.settings("no").build_client().unwrap(),
        "localhost",
    );
    assert_eq!(
        roundtrip(&mut holder, b"PEERCERTS\r\n", 4).unwrap(),
        b":0\r\n"
    );
}

#[test]
fn wrong_ca_is_refused_both_ways() {
    let pki = Pki::new("right");
    let other = Pki::new("wrong");
    let server = serve(&pki, "yes");
    // A client certificate from another CA.
    let (out, _) = redis_cli_ping(
        server.port,
        &pki.ca,
        &[
            "--cert",
            p(&other.client_cert),
            "--key",
            p(&other.client_key),
        ],
    );
    assert_ne!(out.trim(), "PONG");
    // A client trusting another CA refuses our server.
    let (out, err) = redis_cli_ping(
        server.port,
        &other.ca,
        &["--cert", p(&pki.client_cert), "--key", p(&pki.client_key)],
    );
    assert_ne!(out.trim(), "PONG");
    assert!(!err.is_empty() || !out.is_empty());
    // And our rustls client with the other CA fails the handshake with a certificate error.
    let mut wrong = tls_client(
        server.port,
        other.settings("yes").build_client().unwrap(),
        "localhost",
    );
    let e = roundtrip(&mut wrong, b"PING\r\n", 7).unwrap_err();
    assert!(e.contains("certificate"), "{e}");
    let stats = server.wait_for(WAIT, |s| s.closed_protocol >= 3);
    assert!(stats.closed_protocol >= 3, "{stats:?}");
    assert_eq!(stats.commands, 0);
}

#[test]
fn openssl_s_client_ping_and_quit() {
    let pki = Pki::new("sclient");
    let server = serve(&pki, "yes");
    let out = run(
        Command::new("openssl").args([
            "s_client",
            "-connect",
            &format!("127.0.0.1:{}", server.port),
            "-CAfile",
            p(&pki.ca),
            "-cert",
            p(&pki.client_cert),
            "-key",
            p(&pki.client_key),
            "-verify_return_error",
            "-ign_eof",
        ]),
        b"PING\r\nECHO hello\r\nQUIT\r\n",
        WAIT,
    );
    assert!(
        out.stdout.contains("+PONG\r\n$5\r\nhello\r\n+OK\r\n"),
        "stdout: {}\nstderr: {}",
        out.stdout,
        out.stderr
    );
    assert!(
        out.stdout.contains("Verify return code: 0 (ok)"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("TLSv1.3"), "{}", out.stdout);
}

#[test]
fn protocol_and_cipher_directives_reach_the_wire() {
    let pki = Pki::new("ciphers");
    let mut settings = pki.settings("no");
    settings.set("tls-protocols", "TLSv1.2").unwrap();
    settings
        .set("tls-ciphers", "ECDHE-ECDSA-CHACHA20-POLY1305")
        .unwrap();
    let server = RespServer::start(settings.build().unwrap().server, StreamLimits::default());
    let s_client = |extra: &[&str]| {
        run(
            Command::new("openssl")
                .args([
                    "s_client",
                    "-connect",
                    &format!("127.0.0.1:{}", server.port),
                    "-CAfile",
                    p(&pki.ca),
                ])
                .args(extra),
            b"PING\r\n",
            WAIT,
        )
    };
    let out = s_client(&["-tls1_2"]);
    assert!(
        out.stdout
            .contains("Cipher is ECDHE-ECDSA-CHACHA20-POLY1305"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("TLSv1.2"), "{}", out.stdout);
    // TLSv1.3 is off: a TLSv1.3-only client is refused.
    let out = s_client(&["-tls1_3"]);
    assert!(!out.stdout.contains("Cipher is TLS_"), "{}", out.stdout);
    // A TLSv1.2 client offering only other suites is refused.
    let out = s_client(&["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"]);
    assert!(!out.stdout.contains("Cipher is ECDHE"), "{}", out.stdout);
}

#[test]
fn session_caching_resumes_when_on() {
    let pki = Pki::new("sessions");
    let reused = |caching: &str| {
        let mut settings = pki.settings("no");
        settings.set("tls-session-caching", caching).unwrap();
        let configs = settings.build().unwrap();
        let server = RespServer::start(configs.server.clone(), StreamLimits::default());
        let out = run(
            Command::new("openssl").args([
                "s_client",
                "-connect",
                &format!("127.0.0.1:{}", server.port),
                "-CAfile",
                p(&pki.ca),
                "-tls1_2",
                "-reconnect",
            ]),
            b"",
            WAIT,
        );
        (
            out.stdout.matches("Reused, TLSv1.2").count(),
            configs.bytes(),
        )
    };
    let (on, cache_bytes) = reused("yes");
    assert!(on >= 4, "resumed {on} times");
    assert!(cache_bytes > 0, "the session cache reports its memory");
    let (off, no_cache_bytes) = reused("no");
    assert_eq!(off, 0);
    assert_eq!(no_cache_bytes, 0);
}

#[test]
fn client_config_talks_to_real_redis_server_over_tls() {
    let pki = Pki::new("redis");
    let redis = start_redis(
        &pki,
        &[
            "--tls-cert-file",
            p(&pki.server_cert),
            "--tls-key-file",
            p(&pki.server_key),
            "--tls-ca-cert-file",
            p(&pki.ca),
        ],
    );
    let port = redis.port;
    // tls-auth-clients yes on redis-server: our client presents tls-client-cert-file.
    let mut settings = pki.settings("yes");
    settings
        .set("tls-client-cert-file", p(&pki.client_cert))
        .unwrap();
    settings
        .set("tls-client-key-file", p(&pki.client_key))
        .unwrap();
    settings.set("tls-replication", "yes").unwrap();
    let config = settings
        .build()
        .unwrap()
        .client
        .expect("client config with a CA");
    let mut stream = tls_client(port, config.clone(), "localhost");
    assert_eq!(
        roundtrip(&mut stream, b"*1\r\n$4\r\nPING\r\n", 7).unwrap(),
        b"+PONG\r\n"
    );
    assert_eq!(stream.protocol_name(), Some("TLSv1.3"));
    // Like Redis, links check the chain, not the name: a name the certificate lacks still connects.
    let mut by_other_name = tls_client(port, config, "replica.invalid");
    assert_eq!(
        roundtrip(&mut by_other_name, b"PING\r\n", 7).unwrap(),
        b"+PONG\r\n"
    );
    // Without a client certificate redis-server (tls-auth-clients yes) refuses.
    let mut anonymous = pki.settings("no");
    anonymous.set("tls-cert-file", "").unwrap();
    anonymous.set("tls-key-file", "").unwrap();
    let mut refused = tls_client(port, anonymous.build_client().unwrap(), "localhost");
    assert!(roundtrip(&mut refused, b"PING\r\n", 7).is_err());
}

/// An outgoing link as replication will drive it: a non-blocking mio socket still connecting, the handshake
/// advanced by `TlsStream::handshake` on poll events, then plaintext through `Transport`.
#[test]
fn nonblocking_outgoing_link_to_real_redis_server() {
    use mio::{Events, Interest, Poll, Token};
    use std::io::ErrorKind;
    use std::time::Instant;
    use zedis_tls::rustls::pki_types::ServerName;
    use zedis_tls::{TlsStream, Transport};

    let pki = Pki::new("link");
    let redis = start_redis(
        &pki,
        &[
            "--tls-cert-file",
            p(&pki.server_cert),
            "--tls-key-file",
            p(&pki.server_key),
            "--tls-ca-cert-file",
            p(&pki.ca),
            "--tls-auth-clients",
            "optional",
        ],
    );
    let port = redis.port;
    let mut settings = pki.settings("no");
    settings.set("tls-replication", "yes").unwrap();
    let config = settings.build().unwrap().client.unwrap();

    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let sock = mio::net::TcpStream::connect(format!("127.0.0.1:{port}").parse().unwrap()).unwrap();
    let name = ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into());
    let tls = TlsStream::connect(sock, config, name, StreamLimits::default()).unwrap();
    let mut link = Transport::Tls(Box::new(tls));
    poll.registry()
        .register(&mut link, Token(0), Interest::READABLE | Interest::WRITABLE)
        .unwrap();
    let deadline = Instant::now() + WAIT;
    let Transport::Tls(stream) = &mut link else {
        unreachable!()
    };
    loop {
        assert!(Instant::now() < deadline, "handshake did not finish");
        match stream.handshake() {
            Ok(()) => break,
            Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::NotConnected => {}
            Err(e) => panic!("handshake: {e}"),
        }
        poll.poll(&mut events, Some(std::time::Duration::from_millis(100)))
            .unwrap();
    }
    assert_eq!(stream.protocol_name(), Some("TLSv1.3"));
    assert!(stream
        .cipher_suite_name()
        .is_some_and(|n| n.starts_with("TLS13_")));
    let request = b"*1\r\n$4\r\nPING\r\n";
    let mut sent = 0;
    let mut reply = Vec::new();
    let mut buf = [0u8; 64];
    while reply.len() < 7 {
        assert!(Instant::now() < deadline, "no reply: {reply:?}");
        if sent < request.len() {
            match link.write_plain(&request[sent..]) {
                Ok(n) => sent += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => panic!("write: {e}"),
            }
        }
        match link.read_plain(&mut buf) {
            Ok(0) => panic!("closed"),
            Ok(n) => reply.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                poll.poll(&mut events, Some(std::time::Duration::from_millis(100)))
                    .unwrap();
            }
            Err(e) => panic!("read: {e}"),
        }
    }
    assert_eq!(reply, b"+PONG\r\n");
    assert!(!link.wants_write());
    link.close();
}

#[test]
fn redis_cli_tls_many_commands_from_stdin() {
    let pki = Pki::new("stdin");
    let server = serve(&pki, "optional");
    let mut input = String::new();
    for i in 0..500 {
        input.push_str(&format!("PING\nECHO message-{i}\n"));
    }
    let out = run(
        Command::new("redis-cli").args([
            "--tls",
            "--cacert",
            p(&pki.ca),
            "-h",
            "127.0.0.1",
            "-p",
            &server.port.to_string(),
        ]),
        input.as_bytes(),
        WAIT,
    );
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 1000, "stderr: {}", out.stderr);
    for (i, pair) in lines.chunks(2).enumerate() {
        assert_eq!(pair[0], "PONG");
        assert_eq!(pair[1], format!("message-{i}"));
    }
}

#[test]
fn prefer_server_ciphers_picks_the_server_order() {
    let pki = Pki::new("prefer");
    let chosen = |prefer: &str| {
        let mut settings = pki.settings("no");
        settings.set("tls-prefer-server-ciphers", prefer).unwrap();
        settings
            .set(
                "tls-ciphersuites",
                "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256",
            )
            .unwrap();
        let server = RespServer::start(settings.build().unwrap().server, StreamLimits::default());
        let out = run(
            Command::new("openssl").args([
                "s_client",
                "-connect",
                &format!("127.0.0.1:{}", server.port),
                "-CAfile",
                p(&pki.ca),
                "-ciphersuites",
                "TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384",
            ]),
            b"",
            WAIT,
        );
        out.stdout
            .lines()
            .find_map(|l| l.split("Cipher is ").nth(1).map(str::to_owned))
            .unwrap_or_else(|| panic!("no cipher line in {}", out.stdout))
    };
    assert_eq!(chosen("no"), "TLS_CHACHA20_POLY1305_SHA256");
    assert_eq!(chosen("yes"), "TLS_AES_256_GCM_SHA384");
}

#[test]
fn session_cache_timeout_ends_resumption() {
    let pki = Pki::new("timeout");
    let resumed_after = |timeout_s: &str, pause: std::time::Duration| {
        let mut settings = pki.settings("no");
        settings
            .set("tls-session-cache-timeout", timeout_s)
            .unwrap();
        let server = RespServer::start(settings.build().unwrap().server, StreamLimits::default());
        let session = pki.dir.join(&format!("session-{timeout_s}.pem"));
        let connect = |extra: [&str; 2]| {
            run(
                Command::new("openssl")
                    .args([
                        "s_client",
                        "-connect",
                        &format!("127.0.0.1:{}", server.port),
                    ])
                    .args(["-CAfile", p(&pki.ca), "-tls1_2"])
                    .args(extra),
                b"",
                WAIT,
            )
            .stdout
        };
        let first = connect(["-sess_out", p(&session)]);
        assert!(first.contains("New, TLSv1.2"), "{first}");
        std::thread::sleep(pause);
        connect(["-sess_in", p(&session)]).contains("Reused, TLSv1.2")
    };
    assert!(resumed_after("300", std::time::Duration::ZERO));
    // Sessions older than tls-session-cache-timeout are not resumed (1 s timeout, 3 s pause).
    assert!(!resumed_after("1", std::time::Duration::from_secs(3)));
}

/// An error written at accept, before the handshake (the server's maxclients refusal), reaches a TLS client
/// after the handshake, and the connection closes only then.
#[test]
fn error_written_before_the_handshake_arrives_after_it() {
    let pki = Pki::new("reject");
    let server = RespServer::start_rejecting(pki.settings("no").build().unwrap().server);
    let out = run(
        Command::new("openssl").args([
            "s_client",
            "-connect",
            &format!("127.0.0.1:{}", server.port),
            "-CAfile",
            p(&pki.ca),
            "-ign_eof",
        ]),
        b"",
        WAIT,
    );
    assert!(
        out.stdout
            .contains("-ERR max number of clients reached\r\n"),
        "{}",
        out.stdout
    );
    let mut client = tls_client(
        server.port,
        pki.settings("no").build_client().unwrap(),
        "localhost",
    );
    let reply = roundtrip(&mut client, b"", 36).unwrap();
    assert_eq!(reply, b"-ERR max number of clients reached\r\n");
    let stats = server.wait_for(WAIT, |s| s.closed_eof >= 2);
    assert_eq!(stats.closed_eof, 2, "{stats:?}");
}
