//! The ping application on the io_uring driver, driven by real clients: redis-cli, redis-benchmark, and raw
//! sockets for the hard cases (many connections, half-closed and reset peers, large replies, a peer that
//! stops reading, more connections than provided buffers).

mod support;

use std::io::{Read, Write};
use std::net::Shutdown;
use std::process::Command;
use std::sync::atomic::Ordering;

use support::{bulk, command, connect, read_n, roundtrip, start, wait_until};
use zedis_netio::DriverConfig;

#[test]
fn redis_cli_ping_and_echo() {
    let Some(server) = start(DriverConfig::default()) else {
        return;
    };
    let port = server.addr.port().to_string();
    let out = Command::new("redis-cli")
        .args(["-p", &port, "PING"])
        .output()
        .expect("redis-cli");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "PONG\n");
    let out = Command::new("redis-cli")
        .args(["-p", &port, "ECHO", "hello world"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello world\n");
    let out = Command::new("redis-cli")
        .args(["-p", &port, "GET", "k"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim_end(),
        "ERR unknown command"
    );
    server.stop().unwrap();
}

#[test]
fn redis_benchmark_pipeline_1_and_16() {
    let Some(server) = start(DriverConfig::default()) else {
        return;
    };
    let port = server.addr.port().to_string();
    let mut enters_before = 0;
    for pipeline in ["1", "16"] {
        let out = Command::new("redis-benchmark")
            .args([
                "-p",
                &port,
                "-t",
                "ping_mbulk",
                "-n",
                "20000",
                "-c",
                "50",
                "-P",
                pipeline,
                "-q",
            ])
            .output()
            .expect("redis-benchmark");
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "-P {pipeline}: {text}");
        assert!(text.contains("PING_MBULK"), "-P {pipeline}: {text}");
        assert!(
            !text.to_lowercase().contains("error"),
            "-P {pipeline}: {text}"
        );
        // Figures for the README (never asserted): enters per request at this pipeline depth.
        std::thread::sleep(std::time::Duration::from_millis(100));
        let enters = server.snapshot().stats.enters;
        eprintln!(
            "-P {pipeline}: {} io_uring_enter for 20000 requests",
            enters - enters_before
        );
        enters_before = enters;
    }
    // Every request reached the application (redis-benchmark also sends a CONFIG GET or two, refused).
    assert!(server.shared.commands.load(Ordering::Relaxed) >= 40_000);
    wait_until("benchmark clients released", || server.snapshot().open == 0);
    let snap = server.snapshot();
    assert_eq!(snap.stats.accepted, snap.released);
    let commands = server.shared.commands.load(Ordering::Relaxed);
    eprintln!(
        "{commands} commands, {} io_uring_enter ({:.3} per command), {} completions",
        snap.stats.enters,
        snap.stats.enters as f64 / commands as f64,
        snap.stats.completions
    );
    server.stop().unwrap();
}

#[test]
fn a_thousand_connections_open_and_close() {
    let Some(server) = start(DriverConfig::default()) else {
        return;
    };
    let mut clients: Vec<_> = (0..1000).map(|_| connect(server.addr)).collect();
    for (i, c) in clients.iter_mut().enumerate() {
        c.write_all(&command(&[b"ECHO", i.to_string().as_bytes()]))
            .unwrap();
    }
    for (i, c) in clients.iter_mut().enumerate() {
        assert_eq!(
            read_n(c, bulk(i.to_string().as_bytes()).len()),
            bulk(i.to_string().as_bytes())
        );
    }
    wait_until("1000 open", || server.snapshot().open == 1000);
    drop(clients);
    wait_until("all released", || server.snapshot().open == 0);
    let snap = server.snapshot();
    assert_eq!(snap.stats.accepted, 1000);
    assert_eq!(snap.stats.refused, 0);
    server.stop().unwrap();
}

#[test]
fn half_closed_peer_gets_its_replies_then_eof() {
    let Some(server) = start(DriverConfig::default()) else {
        return;
    };
    let mut c = connect(server.addr);
    c.write_all(b"PING\r\nECHO abc\r\n*2\r\n$4\r\nPING\r\n$2\r\nhi\r\n")
        .unwrap();
    c.shutdown(Shutdown::Write).unwrap();
    let mut all = Vec::new();
    c.read_to_end(&mut all).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&all),
        "+PONG\r\n$3\r\nabc\r\n$2\r\nhi\r\n"
    );
    wait_until("released", || server.snapshot().open == 0);
    server.stop().unwrap();
}

#[test]
fn reset_peers_are_released_and_others_still_served() {
    let Some(server) = start(DriverConfig::default()) else {
        return;
    };
    // One resets mid-request, one right after asking for a large reply, one while idle.
    let a = connect(server.addr);
    (&a).write_all(b"*2\r\n$4\r\nECHO\r\n$10\r\nabc").unwrap();
    let b = support::connect_small_rcvbuf(server.addr, 4096);
    (&b).write_all(&command(&[b"ECHO", &vec![b'z'; 1 << 20]]))
        .unwrap();
    let idle = connect(server.addr);
    wait_until("3 open", || server.snapshot().open == 3);
    std::thread::sleep(std::time::Duration::from_millis(100));
    for s in [a, b, idle] {
        support::set_linger_zero(&s);
        drop(s);
    }
    wait_until("all released", || server.snapshot().open == 0);
    let mut c = connect(server.addr);
    roundtrip(&mut c, b"PING\r\n", b"+PONG\r\n");
    server.stop().unwrap();
}

#[test]
fn protocol_error_is_answered_then_closed() {
    let Some(server) = start(DriverConfig::default()) else {
        return;
    };
    let mut c = connect(server.addr);
    c.write_all(b"*1\r\n$x\r\n").unwrap();
    let mut all = Vec::new();
    c.read_to_end(&mut all).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&all),
        "-ERR Protocol error: invalid bulk length\r\n"
    );
    server.stop().unwrap();
}

#[test]
fn large_replies_go_out_in_partial_sends() {
    let Some(server) = start(DriverConfig::default()) else {
        return;
    };
    let mut c = support::connect_small_rcvbuf(server.addr, 4096);
    let payloads: Vec<Vec<u8>> = (0..4u8)
        .map(|i| {
            (0..1 << 20)
                .map(|j| b'a' + ((j + i as usize) % 26) as u8)
                .collect()
        })
        .collect();
    let mut req = Vec::new();
    for p in &payloads {
        req.extend_from_slice(&command(&[b"ECHO", p]));
    }
    let writer = {
        let mut w = c.try_clone().unwrap();
        std::thread::spawn(move || w.write_all(&req).unwrap())
    };
    for p in &payloads {
        // Read slowly at first so the socket stays full.
        std::thread::sleep(std::time::Duration::from_millis(20));
        let expected = bulk(p);
        assert!(
            read_n(&mut c, expected.len()) == expected,
            "reply bytes differ"
        );
    }
    writer.join().unwrap();
    roundtrip(&mut c, b"PING\r\n", b"+PONG\r\n");
    wait_until("a tick published the figures", || {
        server.snapshot().stats.bytes_sent >= 4 << 20
    });
    let snap = server.snapshot();
    assert!(snap.stats.partial_sends > 0, "{:?}", snap.stats);
    server.stop().unwrap();
}

#[test]
fn a_peer_that_stops_reading_is_bounded_then_closed() {
    let limit = 1 << 20;
    let Some(server) = start(DriverConfig {
        output_bytes_max: limit,
        ..Default::default()
    }) else {
        return;
    };
    let c = support::connect_small_rcvbuf(server.addr, 4096);
    let one = command(&[b"ECHO", &vec![b'q'; 64 * 1024]]);
    // 32 MiB of replies asked for, none read: the server must stop queuing at the limit and close.
    let mut failed = false;
    for _ in 0..512 {
        if (&c).write_all(&one).is_err() {
            failed = true;
            break;
        }
    }
    wait_until("closed at the output limit", || {
        server.snapshot().output_limit_closes == 1
    });
    wait_until("released", || server.snapshot().open == 0);
    let snap = server.snapshot();
    assert!(
        snap.stats.queued_bytes_peak <= limit,
        "{} > {limit}",
        snap.stats.queued_bytes_peak
    );
    assert!(snap.queued_peak <= limit);
    // The client sees the end: EOF or reset once what was sent is read.
    let mut sink = Vec::new();
    let read = (&c).read_to_end(&mut sink);
    assert!(
        failed || read.is_err() || sink.len() <= limit + one.len(),
        "{} bytes",
        sink.len()
    );
    server.stop().unwrap();
}

#[test]
fn more_connections_than_buffers_lose_no_data() {
    let config = DriverConfig {
        buffers_count: 4,
        buffer_bytes: 64,
        ..Default::default()
    };
    let Some(server) = start(config) else { return };
    let mut clients: Vec<_> = (0..40).map(|_| connect(server.addr)).collect();
    let mut expected = Vec::new();
    for (i, c) in clients.iter_mut().enumerate() {
        let mut req = Vec::new();
        let mut rep = Vec::new();
        for j in 0..50 {
            let arg = format!("{i}-{j}-{}", "x".repeat(100));
            req.extend_from_slice(&command(&[b"ECHO", arg.as_bytes()]));
            rep.extend_from_slice(&bulk(arg.as_bytes()));
        }
        c.write_all(&req).unwrap();
        expected.push(rep);
    }
    for (c, rep) in clients.iter_mut().zip(&expected) {
        assert!(read_n(c, rep.len()) == *rep, "reply bytes differ");
    }
    wait_until("figures", || {
        server.snapshot().stats.bytes_received >= 40 * 50 * 100
    });
    let snap = server.snapshot();
    assert!(
        snap.stats.recv_starved > 0,
        "the pool never ran dry: {:?}",
        snap.stats
    );
    assert_eq!(snap.pool_bytes, 4096 + 4 * 64);
    server.stop().unwrap();
}

#[test]
fn without_defer_taskrun_or_batch_wait_it_serves_the_same() {
    let config = DriverConfig {
        defer_taskrun: false,
        batch_wait_usec: 0,
        ..Default::default()
    };
    let Some(server) = start(config) else { return };
    let mut clients: Vec<_> = (0..20).map(|_| connect(server.addr)).collect();
    for round in 0..20 {
        for (i, c) in clients.iter_mut().enumerate() {
            let arg = format!("{round}:{i}");
            roundtrip(
                c,
                &command(&[b"ECHO", arg.as_bytes()]),
                &bulk(arg.as_bytes()),
            );
        }
    }
    drop(clients);
    wait_until("all released", || server.snapshot().open == 0);
    server.stop().unwrap();
}
