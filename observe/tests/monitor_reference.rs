//! MONITOR lines against a real redis-server: for commands with awkward bytes, a script's `redis.call` and
//! MULTI/EXEC, [`push_monitor_line`] with Redis's timestamp and the same origin gives Redis's exact line.

mod common;

use zedis_observe::monitor::{push_monitor_line, MonitorOrigin};

/// The µs timestamp at the start of a MONITOR line.
fn timestamp_us(line: &[u8]) -> i64 {
    let text = String::from_utf8_lossy(&line[1..]);
    let stamp = text.split(' ').next().unwrap();
    let (secs, micros) = stamp.split_once('.').unwrap();
    secs.parse::<i64>().unwrap() * 1_000_000 + micros.parse::<i64>().unwrap()
}

#[test]
fn monitor_lines_match_redis() {
    let redis = reference_or_skip!();
    let mut monitor = redis.client();
    assert_eq!(monitor.raw(&["MONITOR"]), b"+OK\r\n");
    let mut client = redis.client();
    let peer = client.local_addr();
    let mut expected: Vec<(usize, MonitorOrigin<'_>, Vec<Vec<u8>>)> = Vec::new();

    let odd: Vec<u8> = b"a\"b\\c\n\r\t\x07\x08\x00\x7f\xc3\xa9 end".to_vec();
    let cmds: Vec<Vec<Vec<u8>>> = vec![
        vec![b"SET".to_vec(), b"key".to_vec(), odd.clone()],
        vec![b"INCRBY".to_vec(), b"n".to_vec(), b"12345".to_vec()],
        vec![b"SELECT".to_vec(), b"2".to_vec()],
        vec![b"GET".to_vec(), odd.clone()],
    ];
    let mut db = 0;
    for cmd in &cmds {
        let args: Vec<&[u8]> = cmd.iter().map(Vec::as_slice).collect();
        client.send(&args);
        client.read_raw();
        // Redis feeds monitors after the command ran: SELECT already shows its new db.
        if cmd[0] == b"SELECT" {
            db = 2;
        }
        expected.push((db, MonitorOrigin::Peer(peer.as_bytes()), cmd.clone()));
    }
    // A script: the EVAL from the client, then its command from "lua".
    client.raw(&[
        "EVAL",
        "return redis.call('set', KEYS[1], ARGV[1])",
        "1",
        "k",
        "v\x01",
    ]);
    let eval: Vec<Vec<u8>> = [
        "EVAL",
        "return redis.call('set', KEYS[1], ARGV[1])",
        "1",
        "k",
        "v\x01",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    expected.push((2, MonitorOrigin::Peer(peer.as_bytes()), eval));
    expected.push((
        2,
        MonitorOrigin::Script,
        vec![b"set".to_vec(), b"k".to_vec(), b"v\x01".to_vec()],
    ));
    // MULTI/EXEC: each command as it runs.
    for cmd in [&["MULTI"][..], &["PING"], &["EXEC"]] {
        client.raw(cmd);
        expected.push((
            2,
            MonitorOrigin::Peer(peer.as_bytes()),
            cmd.iter().map(|s| s.as_bytes().to_vec()).collect(),
        ));
    }

    for (db, origin, argv) in &expected {
        let (line, _) = monitor.read_raw();
        let args: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
        let mut ours = Vec::new();
        push_monitor_line(&mut ours, timestamp_us(&line), *db, *origin, &args);
        assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&line)
        );
    }
}
