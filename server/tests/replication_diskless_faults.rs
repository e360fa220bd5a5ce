//! Zedis as a replica loading diskless (`repl-diskless-load`) from a scripted master (a plain socket in the
//! test): corrupt, truncated and badly-marked payloads in both framings are refused with a log line and
//! retried; `swapdb` restores the data it held, `on-empty-db` keeps nothing half-loaded; then a good payload
//! with the stream right behind its EOF mark.

mod common;

use common::fake_master::{accept_and_handshake, read_command, sync};
use common::replication::{dataset, info_field, wait_for};
use common::{cmd, Server, TempDir};
use redis::Value;
use std::io::Write;
use std::net::TcpListener;

/// The text of a log file (empty while it does not exist).
fn log_text(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// Writes `n` plain keys through one pipeline.
fn fill(conn: &mut redis::Connection, n: usize) {
    let mut pipe = redis::pipe();
    for i in 0..n {
        pipe.cmd("SET")
            .arg(format!("bulk:{i}"))
            .arg(format!("value {i}"))
            .ignore();
    }
    pipe.query::<()>(conn).unwrap();
}

/// The RDB payload of a real Zedis holding `keys` (through SYNC).
fn rdb_payload(keys: usize) -> Vec<u8> {
    let source = Server::start(&[]);
    let mut conn = source.conn();
    fill(&mut conn, keys);
    cmd(&mut conn, &["SET", "from", "master"]).unwrap();
    sync(source.port).payload
}

const ID: &str = "0123456789abcdef0123456789abcdef01234567";
const MARK: &str = "markmarkmarkmarkmarkmarkmarkmarkmarkmark";

/// Sends a full resync whose payload (EOF framing) is `payload`; then closes the link.
fn send_eof_payload(listener: &TcpListener, port: u16, payload: &[u8], stream_after: &[u8]) {
    let (_reader, mut writer) = accept_and_handshake(listener, port);
    let mut bytes = format!("+FULLRESYNC {ID} 100\r\n$EOF:{MARK}\r\n").into_bytes();
    bytes.extend_from_slice(payload);
    bytes.extend_from_slice(MARK.as_bytes());
    bytes.extend_from_slice(stream_after);
    writer.write_all(&bytes).unwrap();
}

fn get(conn: &mut redis::Connection, key: &str) -> Value {
    cmd(conn, &["GET", key]).unwrap()
}

#[test]
fn corrupt_and_truncated_streams_are_refused_and_swapdb_restores_the_data() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let master_port = listener.local_addr().unwrap().port().to_string();
    let payload = rdb_payload(2000);
    let dir = TempDir::new("diskless-bad");
    let log = dir.0.join("replica.log");
    let zedis = Server::start(&[
        "--repl-diskless-load",
        "swapdb",
        "--logfile",
        log.to_str().unwrap(),
    ]);
    let mut conn = zedis.conn();
    cmd(&mut conn, &["SET", "local", "before"]).unwrap();
    cmd(&mut conn, &["RPUSH", "local:list", "a", "b"]).unwrap();
    cmd(&mut conn, &["REPLICAOF", "127.0.0.1", &master_port]).unwrap();
    let before = dataset(&mut conn);

    // 1. A corrupt payload (the checksum's last byte flipped: every key parses, then the check fails).
    let mut corrupt = payload.clone();
    *corrupt.last_mut().unwrap() ^= 0x55;
    send_eof_payload(&listener, zedis.port, &corrupt, b"");
    // 2. A payload cut in half, then the EOF mark.
    send_eof_payload(&listener, zedis.port, &payload[..payload.len() / 2], b"");
    // 3. `$<len>` framing, half the bytes, then the master goes away.
    {
        let (_reader, mut writer) = accept_and_handshake(&listener, zedis.port);
        let mut bytes = format!("+FULLRESYNC {ID} 100\r\n${}\r\n", payload.len()).into_bytes();
        bytes.extend_from_slice(&payload[..payload.len() / 2]);
        writer.write_all(&bytes).unwrap();
    }
    // 4. A broken EOF mark after a good RDB.
    {
        let (_reader, mut writer) = accept_and_handshake(&listener, zedis.port);
        let mut bytes = format!("+FULLRESYNC {ID} 100\r\n$EOF:{MARK}\r\n").into_bytes();
        bytes.extend_from_slice(&payload);
        bytes.extend_from_slice(&MARK.as_bytes()[..39]);
        bytes.push(b'!');
        writer.write_all(&bytes).unwrap();
    }
    // Each refusal was retried (the next accept came) and left the old data in place.
    let (mut reader, mut writer) = accept_and_handshake(&listener, zedis.port);
    assert_eq!(dataset(&mut conn), before, "swapdb restored the dataset");
    assert_eq!(
        info_field(&mut conn, "replication", "master_link_status").as_deref(),
        Some("down")
    );
    let text = log_text(&log);
    assert!(
        text.matches("Failed trying to load the MASTER synchronization DB from socket")
            .count()
            >= 3,
        "{text}"
    );
    assert!(
        text.contains("Replication stream EOF marker is broken"),
        "{text}"
    );

    // 5. A good payload, the stream right behind the mark.
    let mut bytes = format!("+FULLRESYNC {ID} 100\r\n$EOF:{MARK}\r\n").into_bytes();
    bytes.extend_from_slice(&payload);
    bytes.extend_from_slice(MARK.as_bytes());
    bytes.extend_from_slice(b"*3\r\n$3\r\nSET\r\n$6\r\nstream\r\n$2\r\nok\r\n");
    writer.write_all(&bytes).unwrap();
    assert_eq!(read_command(&mut reader), ["REPLCONF", "ACK", "100"]);
    wait_for("the stream after the payload", || {
        get(&mut conn, "stream") == Value::BulkString(b"ok".to_vec())
    });
    assert_eq!(
        get(&mut conn, "from"),
        Value::BulkString(b"master".to_vec())
    );
    assert_eq!(get(&mut conn, "local"), Value::Nil);
    assert_eq!(cmd(&mut conn, &["DBSIZE"]).unwrap(), Value::Int(2002));
}

#[test]
fn on_empty_db_never_keeps_half_loaded_data() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let master_port = listener.local_addr().unwrap().port().to_string();
    let payload = rdb_payload(2000);
    let zedis = Server::start(&["--repl-diskless-load", "on-empty-db"]);
    let mut conn = zedis.conn();
    cmd(&mut conn, &["REPLICAOF", "127.0.0.1", &master_port]).unwrap();
    let mut corrupt = payload.clone();
    *corrupt.last_mut().unwrap() ^= 0x55;
    send_eof_payload(&listener, zedis.port, &corrupt, b"");
    // The retry shows the refusal is over.
    let (_reader, _writer) = accept_and_handshake(&listener, zedis.port);
    assert_eq!(cmd(&mut conn, &["DBSIZE"]).unwrap(), Value::Int(0));
}
