//! Zedis as a replica loading diskless (`repl-diskless-load`) from a scripted master (a plain socket in the
//! test): corrupt, truncated and badly-marked payloads in both framings are refused with a log line and
//! retried; `swapdb` restores the data it held, `on-empty-db` keeps nothing half-loaded; then a good payload
//! with the stream right behind its EOF mark.

mod common;

use common::replication::{dataset, info_field, wait_for};
use common::{cmd, Server, TempDir};
use redis::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

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

/// Reads one RESP multibulk command.
fn read_command(reader: &mut BufReader<TcpStream>) -> Vec<String> {
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let count: usize = line.trim().trim_start_matches('*').parse().unwrap();
    let mut args = Vec::new();
    for _ in 0..count {
        line.clear();
        reader.read_line(&mut line).unwrap();
        let len: usize = line.trim().trim_start_matches('$').parse().unwrap();
        let mut buf = vec![0u8; len + 2];
        reader.read_exact(&mut buf).unwrap();
        buf.truncate(len);
        args.push(String::from_utf8_lossy(&buf).into_owned());
    }
    args
}

/// Accepts the replica's next connection and answers its handshake up to PSYNC (connections that do not
/// start with PING are dropped: another test's server may probe this port).
fn accept_and_handshake(listener: &TcpListener) -> (BufReader<TcpStream>, TcpStream) {
    listener.set_nonblocking(true).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let mut stream = match listener.accept() {
            Ok((stream, _)) => stream,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                assert!(std::time::Instant::now() < deadline, "no replica connected");
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
            Err(e) => panic!("accept: {e}"),
        };
        stream.set_nonblocking(false).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut line = String::new();
        if reader.read_line(&mut line).is_err() || line != "*1\r\n" {
            continue;
        }
        let mut rest = [0u8; 10];
        if reader.read_exact(&mut rest).is_err() || &rest != b"$4\r\nPING\r\n" {
            continue;
        }
        stream.write_all(b"+PONG\r\n").unwrap();
        assert_eq!(
            read_command(&mut reader)[..2],
            ["REPLCONF", "listening-port"]
        );
        stream.write_all(b"+OK\r\n").unwrap();
        assert_eq!(read_command(&mut reader)[..2], ["REPLCONF", "capa"]);
        stream.write_all(b"+OK\r\n").unwrap();
        assert_eq!(read_command(&mut reader)[0], "PSYNC");
        return (reader, stream);
    }
}

/// The RDB payload of a real Zedis holding `keys` (through SYNC).
fn rdb_payload(keys: usize) -> Vec<u8> {
    let source = Server::start(&[]);
    let mut conn = source.conn();
    fill(&mut conn, keys);
    cmd(&mut conn, &["SET", "from", "master"]).unwrap();
    let mut stream = TcpStream::connect(("127.0.0.1", source.port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    stream.write_all(b"SYNC\r\n").unwrap();
    let mut reader = BufReader::new(stream);
    let mut header = String::new();
    while header.trim().is_empty() {
        header.clear();
        reader.read_line(&mut header).unwrap();
    }
    let len: usize = header.trim().trim_start_matches('$').parse().unwrap();
    let mut payload = vec![0u8; len];
    reader.read_exact(&mut payload).unwrap();
    payload
}

const ID: &str = "0123456789abcdef0123456789abcdef01234567";
const MARK: &str = "markmarkmarkmarkmarkmarkmarkmarkmarkmark";

/// Sends a full resync whose payload (EOF framing) is `payload`; then closes the link.
fn send_eof_payload(listener: &TcpListener, payload: &[u8], stream_after: &[u8]) {
    let (_reader, mut writer) = accept_and_handshake(listener);
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
    send_eof_payload(&listener, &corrupt, b"");
    // 2. A payload cut in half, then the EOF mark.
    send_eof_payload(&listener, &payload[..payload.len() / 2], b"");
    // 3. `$<len>` framing, half the bytes, then the master goes away.
    {
        let (_reader, mut writer) = accept_and_handshake(&listener);
        let mut bytes = format!("+FULLRESYNC {ID} 100\r\n${}\r\n", payload.len()).into_bytes();
        bytes.extend_from_slice(&payload[..payload.len() / 2]);
        writer.write_all(&bytes).unwrap();
    }
    // 4. A broken EOF mark after a good RDB.
    {
        let (_reader, mut writer) = accept_and_handshake(&listener);
        let mut bytes = format!("+FULLRESYNC {ID} 100\r\n$EOF:{MARK}\r\n").into_bytes();
        bytes.extend_from_slice(&payload);
        bytes.extend_from_slice(&MARK.as_bytes()[..39]);
        bytes.push(b'!');
        writer.write_all(&bytes).unwrap();
    }
    // Each refusal was retried (the next accept came) and left the old data in place.
    let (mut reader, mut writer) = accept_and_handshake(&listener);
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
    send_eof_payload(&listener, &corrupt, b"");
    // The retry shows the refusal is over.
    let (_reader, _writer) = accept_and_handshake(&listener);
    assert_eq!(cmd(&mut conn, &["DBSIZE"]).unwrap(), Value::Int(0));
}
