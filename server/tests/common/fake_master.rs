//! Both ends of a replication link driven by hand, for the replication fault tests: a scripted master (a
//! plain listener in the test that accepts Zedis's replica connection, checks its handshake and writes what
//! a master would: [`accept`], [`handshake`], [`accept_and_handshake`]) and a raw replica of Zedis
//! ([`sync`]: SYNC, the payload read, the socket left at the stream). [`read_command`] reads one command
//! either way.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// How long a test waits for the replica to connect, and for any read on a link (wide: the machine is
/// loaded and the replica retries with a backoff of up to 8 s).
const WAIT: Duration = Duration::from_secs(60);

/// Reads one RESP multibulk command.
///
/// # Panics
/// On anything else, or a closed link.
pub fn read_command(reader: &mut BufReader<TcpStream>) -> Vec<String> {
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

/// Accepts the replica's next connection, past its PING (not answered yet). Connections that do not start
/// with PING are dropped: a concurrently starting test server that lost a port race may probe the listener.
///
/// # Panics
/// When no replica connects within a minute.
pub fn accept(listener: &TcpListener) -> (BufReader<TcpStream>, TcpStream) {
    listener.set_nonblocking(true).unwrap();
    let deadline = Instant::now() + WAIT;
    loop {
        let stream = match listener.accept() {
            Ok((stream, _)) => stream,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                assert!(Instant::now() < deadline, "no replica connected");
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
            Err(e) => panic!("accept: {e}"),
        };
        stream.set_nonblocking(false).unwrap();
        stream.set_read_timeout(Some(WAIT)).unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut line = String::new();
        if reader.read_line(&mut line).is_err() || line != "*1\r\n" {
            continue;
        }
        let mut rest = [0u8; 10];
        if reader.read_exact(&mut rest).is_ok() && &rest == b"$4\r\nPING\r\n" {
            return (reader, stream);
        }
    }
}

/// Answers the PING and runs the rest of the handshake up to PSYNC, checking each command is what Redis
/// 7.0 sends for a replica listening on `port`; returns PSYNC's args.
pub fn handshake(
    reader: &mut BufReader<TcpStream>,
    writer: &mut TcpStream,
    port: u16,
) -> Vec<String> {
    writer.write_all(b"+PONG\r\n").unwrap();
    assert_eq!(
        read_command(reader),
        ["REPLCONF", "listening-port", &port.to_string()]
    );
    writer.write_all(b"+OK\r\n").unwrap();
    assert_eq!(
        read_command(reader),
        ["REPLCONF", "capa", "eof", "capa", "psync2"]
    );
    writer.write_all(b"+OK\r\n").unwrap();
    let psync = read_command(reader);
    assert_eq!(psync[0], "PSYNC");
    psync
}

/// [`accept`] then [`handshake`]: the link is ready for the PSYNC reply.
pub fn accept_and_handshake(
    listener: &TcpListener,
    port: u16,
) -> (BufReader<TcpStream>, TcpStream) {
    let (mut reader, mut writer) = accept(listener);
    handshake(&mut reader, &mut writer, port);
    (reader, writer)
}

/// A raw replica of the server on a port, attached with SYNC.
pub struct Synced {
    /// The `$<len>\r\n` line before the payload.
    pub header: String,
    /// The RDB payload.
    pub payload: Vec<u8>,
    /// The link, positioned at the replication stream.
    pub reader: BufReader<TcpStream>,
}

/// Attaches a raw replica to the server on `port` with SYNC and reads its RDB payload.
pub fn sync(port: u16) -> Synced {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    stream.write_all(b"SYNC\r\n").unwrap();
    let mut reader = BufReader::new(stream);
    let mut header = String::new();
    // Newlines keep the link alive while the master makes the payload.
    while header.trim().is_empty() {
        header.clear();
        reader.read_line(&mut header).unwrap();
    }
    let len: usize = header.trim().trim_start_matches('$').parse().unwrap();
    let mut payload = vec![0u8; len];
    reader.read_exact(&mut payload).unwrap();
    Synced {
        header,
        payload,
        reader,
    }
}
