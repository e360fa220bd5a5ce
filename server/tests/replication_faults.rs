//! Zedis as a replica of a scripted master (a plain socket in the test): the exact handshake it sends, and
//! what it does with garbage, a truncated RDB and a link that goes down (log, retry, old data kept), then a
//! good sync with a stream and GETACK. Also `redis-cli --replica` against Zedis as a master.

mod common;

use common::fake_master::{accept, handshake, read_command, sync};
use common::{cmd, err, Server};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

/// An RDB produced by a real Zedis through SYNC (`$<len>` and the payload).
fn rdb_with(keys: &[(&str, &str)]) -> Vec<u8> {
    let source = Server::start(&[]);
    let mut conn = source.conn();
    for (k, v) in keys {
        cmd(&mut conn, &["SET", k, v]).unwrap();
    }
    let synced = sync(source.port);
    let mut out = synced.header.into_bytes();
    out.extend_from_slice(&synced.payload);
    out
}

fn info(conn: &mut redis::Connection, name: &str) -> String {
    let text: String = redis::cmd("INFO").arg("replication").query(conn).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or("")
        .to_string()
}

#[test]
fn garbage_and_truncated_rdb_are_retried_then_a_good_sync_streams() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let master_port = listener.local_addr().unwrap().port();
    let rdb = rdb_with(&[("from", "master"), ("other", "key")]);
    let zedis = Server::start(&["--replica-serve-stale-data", "no"]);
    let mut conn = zedis.conn();
    cmd(&mut conn, &["SET", "local", "before"]).unwrap();
    cmd(
        &mut conn,
        &["REPLICAOF", "127.0.0.1", &master_port.to_string()],
    )
    .unwrap();
    let id = "0123456789abcdef0123456789abcdef01234567";

    // 1. Garbage instead of a PSYNC reply: the link is dropped and retried.
    let (mut reader, mut writer) = accept(&listener);
    let psync = handshake(&mut reader, &mut writer, zedis.port);
    assert_eq!(psync.len(), 3, "PSYNC <replid> <offset>");
    writer.write_all(b"this is not redis\r\n").unwrap();
    assert_eq!(info(&mut conn, "master_link_status"), "down");
    assert!(err(&mut conn, &["GET", "local"]).starts_with("MASTERDOWN Link with MASTER is down"));

    // 2. A truncated RDB, then the connection closes: retried, the old dataset stays.
    let (mut reader, mut writer) = accept(&listener);
    handshake(&mut reader, &mut writer, zedis.port);
    writer
        .write_all(format!("+FULLRESYNC {id} 100\r\n$1000\r\nREDIS0010").as_bytes())
        .unwrap();
    drop(writer);
    drop(reader);

    // 3. A good full sync in the `$<len>` form, with the stream right behind the payload.
    let (mut reader, mut writer) = accept(&listener);
    handshake(&mut reader, &mut writer, zedis.port);
    cmd(
        &mut conn,
        &["CONFIG", "SET", "replica-serve-stale-data", "yes"],
    )
    .unwrap();
    assert_eq!(
        cmd(&mut conn, &["GET", "local"]).unwrap(),
        redis::Value::BulkString(b"before".to_vec()),
        "a failed transfer keeps the old data"
    );
    // A WATCH of a key the master's dataset replaces.
    let mut watcher = zedis.conn();
    cmd(&mut watcher, &["WATCH", "local"]).unwrap();
    let mut bytes = format!("+FULLRESYNC {id} 100\r\n").into_bytes();
    bytes.extend_from_slice(&rdb);
    let stream =
        b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$6\r\nstream\r\n$2\r\nok\r\n";
    bytes.extend_from_slice(stream);
    writer.write_all(&bytes).unwrap();
    // The replica acknowledges at once with the offset it loaded at, then the stream's bytes.
    assert_eq!(read_command(&mut reader), ["REPLCONF", "ACK", "100"]);
    writer
        .write_all(b"*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n")
        .unwrap();
    let expected = (100 + stream.len()).to_string();
    loop {
        let ack = read_command(&mut reader);
        assert_eq!(&ack[..2], ["REPLCONF", "ACK"]);
        if ack[2] == expected {
            break;
        }
    }
    assert_eq!(info(&mut conn, "master_link_status"), "up");
    assert_eq!(info(&mut conn, "master_replid"), id);
    let value = |conn: &mut redis::Connection, key: &str| cmd(conn, &["GET", key]).unwrap();
    assert_eq!(
        value(&mut conn, "from"),
        redis::Value::BulkString(b"master".to_vec())
    );
    assert_eq!(
        value(&mut conn, "stream"),
        redis::Value::BulkString(b"ok".to_vec())
    );
    assert_eq!(
        value(&mut conn, "local"),
        redis::Value::Nil,
        "replaced by the master's data"
    );
    cmd(&mut watcher, &["MULTI"]).unwrap();
    cmd(&mut watcher, &["GET", "from"]).unwrap();
    assert_eq!(
        cmd(&mut watcher, &["EXEC"]).unwrap(),
        redis::Value::Nil,
        "the full sync touched the watched key"
    );

    // 4. The link breaks: reconnect and ask to continue from the offset reached.
    drop(writer);
    drop(reader);
    let (mut reader, mut writer) = accept(&listener);
    let psync = handshake(&mut reader, &mut writer, zedis.port);
    let next = (100 + stream.len() + 37 + 1).to_string();
    assert_eq!(psync, ["PSYNC", id, &next]);
    writer
        .write_all(format!("+CONTINUE {id}\r\n").as_bytes())
        .unwrap();
    writer
        .write_all(b"*3\r\n$3\r\nSET\r\n$9\r\ncontinued\r\n$3\r\nyes\r\n")
        .unwrap();
    assert_eq!(read_command(&mut reader)[..2], ["REPLCONF", "ACK"]);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while value(&mut conn, "continued") == redis::Value::Nil {
        assert!(
            std::time::Instant::now() < deadline,
            "continued stream applied"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        value(&mut conn, "from"),
        redis::Value::BulkString(b"master".to_vec())
    );
}

#[test]
fn redis_cli_replica_reads_the_stream() {
    let zedis = Server::start(&[]);
    let mut conn = zedis.conn();
    cmd(&mut conn, &["SET", "a", "1"]).unwrap();
    let Ok(mut child) = std::process::Command::new("redis-cli")
        .args(["-p", &zedis.port.to_string(), "--replica"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
    else {
        return;
    };
    let stdout = child.stdout.take().unwrap();
    // A watchdog ends redis-cli if the write never shows up, so the read below cannot hang.
    let pid = child.id();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(60));
        let _ = std::process::Command::new("kill")
            .arg(pid.to_string())
            .status();
    });
    // Keep writing until the replica shows one of the writes (the first may come before its SYNC).
    let port = zedis.port;
    std::thread::spawn(move || {
        let Ok(client) = redis::Client::open(format!("redis://127.0.0.1:{port}/")) else {
            return;
        };
        let Ok(mut conn) = client.get_connection() else {
            return;
        };
        for _ in 0..100 {
            if cmd(&mut conn, &["SET", "b", "2"]).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    });
    let mut seen = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        let found = line.eq_ignore_ascii_case("\"SET\",\"b\",\"2\"");
        seen.push(line);
        if found {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        seen.iter()
            .any(|l| l.eq_ignore_ascii_case("\"SET\",\"b\",\"2\"")),
        "{seen:?}"
    );
}

#[test]
fn a_stalled_replica_is_cut_at_the_replica_output_limit() {
    let zedis = Server::start(&["--client-output-buffer-limit", "replica 1mb 0 0"]);
    let mut conn = zedis.conn();
    // A replica that syncs and then never reads.
    let mut stalled = TcpStream::connect(("127.0.0.1", zedis.port)).unwrap();
    stalled
        .write_all(b"REPLCONF listening-port 1\r\nPSYNC ? -1\r\n")
        .unwrap();
    let connected = |conn: &mut redis::Connection| info(conn, "connected_slaves");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while connected(&mut conn) != "1" {
        assert!(std::time::Instant::now() < deadline, "replica attached");
        std::thread::sleep(Duration::from_millis(20));
    }
    let value = "x".repeat(100 * 1024);
    for i in 0..400 {
        cmd(&mut conn, &["SET", &format!("k{i}"), &value]).unwrap();
        if connected(&mut conn) == "0" {
            break;
        }
    }
    assert_eq!(connected(&mut conn), "0", "the stalled replica was dropped");
    let text: String = redis::cmd("INFO").arg("stats").query(&mut conn).unwrap();
    assert!(
        text.contains("client_output_buffer_limit_disconnections:1"),
        "{text}"
    );
    drop(stalled);
}

/// Reads the stream until `marker` (a command's last argument) has arrived; drops PINGs (the master's
/// timer sends them) and returns how many there were.
fn stream_until(reader: &mut BufReader<TcpStream>, marker: &str) -> (Vec<Vec<String>>, u64) {
    let (mut commands, mut pings) = (Vec::new(), 0);
    loop {
        let command = read_command(reader);
        let done = command.last().is_some_and(|a| a == marker);
        if command == ["PING"] {
            pings += 1;
        } else {
            commands.push(command);
        }
        if done {
            return (commands, pings);
        }
    }
}

#[test]
fn the_stream_matches_redis_record_for_record() {
    let Some(redis) = common::reference::RedisProcess::start(&["--repl-diskless-sync", "no"])
    else {
        return;
    };
    let zedis = Server::start(&[]);
    let script2 = "redis.call('SET', KEYS[1], 'a'); redis.call('INCR', KEYS[2]); return 1";
    let script1 = "return redis.call('SET', KEYS[1], 'b')";
    let commands: Vec<Vec<&str>> = vec![
        vec!["SET", "s", "v"],
        vec!["APPEND", "s", "w"],
        vec!["INCR", "n"],
        vec!["INCRBYFLOAT", "f", "1.5"],
        vec!["HINCRBYFLOAT", "h", "x", "2.5"],
        vec!["RPUSH", "l", "a", "b", "c"],
        vec!["LPOP", "l"],
        vec!["LMOVE", "l", "l2", "LEFT", "RIGHT"],
        vec!["BLPOP", "l", "0"],
        vec!["HSET", "h", "f", "v"],
        vec!["ZADD", "z", "1", "a", "2", "b"],
        vec!["ZINCRBY", "z", "1", "a"],
        vec!["SADD", "set", "m1", "m2"],
        vec!["SREM", "set", "m1", "nope"],
        vec!["DEL", "nothing"],
        vec!["SET", "gd", "x"],
        vec!["GETDEL", "gd"],
        vec!["DEL", "s"],
        vec!["SELECT", "2"],
        vec!["SET", "in2", "x"],
        vec!["SELECT", "0"],
        vec!["MULTI"],
        vec!["INCR", "tx"],
        vec!["INCR", "tx"],
        vec!["EXEC"],
        vec!["MULTI"],
        vec!["INCR", "tx1"],
        vec!["EXEC"],
        vec!["EVAL", script2, "2", "e1", "e2"],
        vec!["EVAL", script1, "1", "e3"],
        vec!["XADD", "st", "5-1", "a", "b"],
        vec!["XGROUP", "CREATE", "st", "g", "0"],
        vec!["RENAME", "n", "n2"],
        vec!["SET", "end", "marker-end"],
    ];
    let mut streams = Vec::new();
    for port in [redis.port, zedis.port] {
        let mut reader = sync(port).reader;
        let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap();
        let mut conn = client.get_connection().unwrap();
        for c in &commands {
            let _ = cmd(&mut conn, c);
        }
        let (stream, pings) = stream_until(&mut reader, "marker-end");
        // master_repl_offset counts every byte of the stream, SELECTs included, as Redis counts it.
        let text: String = redis::cmd("INFO")
            .arg("replication")
            .query(&mut conn)
            .unwrap();
        let offset: u64 = text
            .lines()
            .find_map(|l| l.strip_prefix("master_repl_offset:"))
            .unwrap()
            .parse()
            .unwrap();
        streams.push((
            stream,
            offset - pings * b"*1\r\n$4\r\nPING\r\n".len() as u64,
        ));
    }
    assert_eq!(streams[1].0, streams[0].0, "zedis vs redis-server");
    assert_eq!(streams[1].1, streams[0].1, "master_repl_offset");
}

#[test]
fn an_rdb_larger_than_the_replica_limit_still_syncs() {
    let zedis = Server::start(&["--client-output-buffer-limit", "replica 1mb 0 0"]);
    let mut conn = zedis.conn();
    // Values LZF cannot shrink (the RDB compresses strings).
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    for i in 0..64 {
        let value: String = (0..64 * 1024)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                char::from(b'!' + (seed % 90) as u8)
            })
            .collect();
        cmd(&mut conn, &["SET", &format!("big{i}"), &value]).unwrap();
    }
    // A raw replica that reads the whole payload: 4 MB through a 1 MB limit.
    let mut reader = sync(zedis.port).reader;
    cmd(&mut conn, &["SET", "after", "sync-marker"]).unwrap();
    let (stream, _) = stream_until(&mut reader, "sync-marker");
    assert_eq!(stream.last().unwrap(), &["SET", "after", "sync-marker"]);
    assert_eq!(info(&mut conn, "connected_slaves"), "1");
}

#[test]
fn a_replica_that_causes_a_reply_is_dropped() {
    let zedis = Server::start(&[]);
    let mut conn = zedis.conn();
    let mut reader = sync(zedis.port).reader;
    assert_eq!(info(&mut conn, "connected_slaves"), "1");
    // An ACK is never answered; a PING would be, and that ends the link (as Redis does).
    let mut writer = reader.get_ref().try_clone().unwrap();
    writer.write_all(b"REPLCONF ACK 0\r\n").unwrap();
    cmd(&mut conn, &["SET", "k", "still-a-replica"]).unwrap();
    let (stream, _) = stream_until(&mut reader, "still-a-replica");
    assert_eq!(stream.last().unwrap(), &["SET", "k", "still-a-replica"]);
    writer.write_all(b"PING\r\n").unwrap();
    let mut rest = Vec::new();
    let _ = reader.read_to_end(&mut rest);
    assert!(
        !String::from_utf8_lossy(&rest).contains("PONG"),
        "no reply on the link"
    );
    assert_eq!(info(&mut conn, "connected_slaves"), "0");
}

#[test]
fn replicas_get_a_ping_every_period_and_it_counts_in_the_offset() {
    let zedis = Server::start(&["--repl-ping-replica-period", "1"]);
    let mut conn = zedis.conn();
    let mut reader = sync(zedis.port).reader;
    let offset =
        |conn: &mut redis::Connection| -> u64 { info(conn, "master_repl_offset").parse().unwrap() };
    let before = offset(&mut conn);
    // The first PING read may already be counted in `before` (sent just before it was read), so three are
    // read: at least two of them came after it.
    for _ in 0..3 {
        assert_eq!(read_command(&mut reader), ["PING"]);
    }
    // Each PING is 14 bytes of stream (no SELECT before it).
    assert!(offset(&mut conn) >= before + 28);
}
