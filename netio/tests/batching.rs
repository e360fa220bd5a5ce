//! The wait strategy of a turn (`batch_wait_usec` with `expect_replies`): a turn that answered N requests
//! waits for N more completions besides its sends. These check that it never costs a reply: peers that
//! stop after their answer (the turn then waits for input that never comes), a lone peer left talking,
//! pushes to idle peers, and the same without DEFER_TASKRUN (the cooperative task-run ring).

mod support;

use std::io::Write;

use support::{bulk, command, connect, read_n, roundtrip, start, wait_until};
use zedis_netio::DriverConfig;

/// Every peer is answered once, then all but one go quiet; the last one keeps going alone, then pipelines.
fn quiet_peers_and_a_lone_talker(config: DriverConfig) {
    let Some(server) = start(config) else { return };
    let mut clients: Vec<_> = (0..30).map(|_| connect(server.addr)).collect();
    // All at once, so one turn answers many of them and then expects as many requests back.
    for (i, c) in clients.iter_mut().enumerate() {
        c.write_all(&command(&[b"ECHO", format!("first:{i}").as_bytes()]))
            .unwrap();
    }
    for (i, c) in clients.iter_mut().enumerate() {
        let expected = bulk(format!("first:{i}").as_bytes());
        assert_eq!(read_n(c, expected.len()), expected, "client {i}");
    }
    let lone = &mut clients[7];
    for round in 0..300 {
        let arg = format!("alone:{round}");
        roundtrip(
            lone,
            &command(&[b"ECHO", arg.as_bytes()]),
            &bulk(arg.as_bytes()),
        );
    }
    let mut batch = Vec::new();
    let mut expected = Vec::new();
    for n in 0..64 {
        let arg = format!("piped:{n}");
        batch.extend_from_slice(&command(&[b"ECHO", arg.as_bytes()]));
        expected.extend_from_slice(&bulk(arg.as_bytes()));
    }
    lone.write_all(&batch).unwrap();
    assert_eq!(read_n(lone, expected.len()), expected);
    // The quiet ones still work.
    for c in clients.iter_mut().step_by(5) {
        roundtrip(c, &command(&[b"PING"]), b"+PONG\r\n");
    }
    drop(clients);
    wait_until("all released", || server.snapshot().open == 0);
    server.stop().unwrap();
}

#[test]
fn expecting_replies_never_holds_a_reply_back() {
    quiet_peers_and_a_lone_talker(DriverConfig {
        batch_wait_usec: 500,
        expect_replies: true,
        ..Default::default()
    });
}

#[test]
fn expecting_replies_without_defer_taskrun() {
    quiet_peers_and_a_lone_talker(DriverConfig {
        batch_wait_usec: 500,
        expect_replies: true,
        defer_taskrun: false,
        ..Default::default()
    });
}

#[test]
fn waiting_for_one_completion_serves_the_same() {
    quiet_peers_and_a_lone_talker(DriverConfig {
        expect_replies: false,
        ..Default::default()
    });
}
