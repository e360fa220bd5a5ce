//! SLOWLOG against a real redis-server: the same commands logged there and in [`SlowLog`] give the same
//! SLOWLOG GET/LEN/HELP bytes and the same errors (times and durations copied from Redis's entries).

mod common;

use common::{frame_of, int, items};
use zedis_observe::SlowLog;
use zedis_resp::{Frame, Protocol};

/// The commands sent, as owned argvs.
fn workload() -> Vec<Vec<Vec<u8>>> {
    let mut cmds: Vec<Vec<Vec<u8>>> = vec![vec![
        b"CLIENT".to_vec(),
        b"SETNAME".to_vec(),
        b"tester".to_vec(),
    ]];
    cmds.push(vec![b"SET".to_vec(), b"key".to_vec(), vec![b'v'; 200]]);
    cmds.push(vec![b"SET".to_vec(), vec![b'k'; 129], b"x".to_vec()]);
    let mut rpush = vec![b"RPUSH".to_vec(), b"list".to_vec()];
    rpush.extend((0..38).map(|i| format!("e{i}").into_bytes()));
    cmds.push(rpush);
    let mut exact = vec![b"RPUSH".to_vec(), b"list".to_vec()];
    exact.extend((0..30).map(|i| format!("f{i}").into_bytes()));
    cmds.push(exact);
    cmds.push(vec![b"ECHO".to_vec(), b"bin\x00\r\nary".to_vec()]);
    cmds.push(vec![b"GET".to_vec(), b"key".to_vec()]);
    cmds.push(vec![b"INCR".to_vec(), b"counter".to_vec()]);
    cmds
}

/// The (time, duration) of Redis's entry `id` in a SLOWLOG GET -1 reply.
fn timing(get_all: &Frame, id: i64) -> (i64, i64) {
    for entry in items(get_all) {
        let fields = items(entry);
        if int(&fields[0]) == id {
            return (int(&fields[1]), int(&fields[2]));
        }
    }
    panic!("no entry {id}");
}

#[test]
fn slowlog_get_len_match_redis() {
    let redis = reference_or_skip!("--slowlog-log-slower-than", "0", "--slowlog-max-len", "6");
    let mut client = redis.client();
    let peer = client.local_addr();
    let cmds = workload();
    for cmd in &cmds {
        let args: Vec<&[u8]> = cmd.iter().map(Vec::as_slice).collect();
        client.send(&args);
        client.read_raw();
    }
    let (redis_all_bytes, redis_all) = {
        client.send(&[b"SLOWLOG", b"GET", b"-1"]);
        client.read_raw()
    };

    // Ours: the same commands, with Redis's clock readings for the entries it kept.
    let mut ours = SlowLog::new(0, 6);
    let mut name: &[u8] = b"";
    for (id, cmd) in cmds.iter().enumerate() {
        let args: Vec<&[u8]> = cmd.iter().map(Vec::as_slice).collect();
        if id == 0 {
            name = b"tester";
        }
        let (time, duration) = if id + 6 >= cmds.len() {
            timing(&redis_all, id as i64)
        } else {
            (0, 0)
        };
        ours.push_if_needed(&args, duration, peer.as_bytes(), name, time);
    }
    let mut out = Vec::new();
    ours.reply_get(&mut out, Some(b"-1")).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out),
        String::from_utf8_lossy(&redis_all_bytes)
    );

    let mut out = Vec::new();
    ours.reply_get(&mut out, Some(b"2")).unwrap();
    let redis_two = client.raw(&["SLOWLOG", "GET", "2"]);
    // Redis logged its own SLOWLOG GET -1 meanwhile: compare the entries after it.
    let redis_two_frame = frame_of(&redis_two);
    let ours_frame = frame_of(&out);
    assert_eq!(items(&redis_two_frame)[1], items(&ours_frame)[0]);

    // LEN: Redis now holds 6 (its SLOWLOG GETs pushed older ones out); so does ours after two more pushes.
    ours.push_if_needed(&[b"SLOWLOG", b"GET", b"-1"], 0, peer.as_bytes(), name, 0);
    ours.push_if_needed(&[b"SLOWLOG", b"GET", b"2"], 0, peer.as_bytes(), name, 0);
    let mut out = Vec::new();
    ours.reply_len(&mut out);
    assert_eq!(out, client.raw(&["SLOWLOG", "LEN"]));
}

#[test]
fn slowlog_command_replies_match_redis() {
    let redis = reference_or_skip!();
    let mut client = redis.client();
    let mut ours = SlowLog::default();
    for args in [
        &["SLOWLOG", "HELP"][..],
        &["SLOWLOG", "GET", "-2"],
        &["SLOWLOG", "GET", "abc"],
        &["SLOWLOG", "GET", "0"],
        &["SLOWLOG", "RESET"],
        &["SLOWLOG", "LEN"],
        &["SLOWLOG", "GET"],
    ] {
        let expected = client.raw(args);
        let sub: Vec<&[u8]> = args[1..].iter().map(|a| a.as_bytes()).collect();
        let mut out = Vec::new();
        ours.command(&mut out, Protocol::Resp2, &sub);
        assert_eq!(
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(&expected),
            "{args:?}"
        );
    }
}
