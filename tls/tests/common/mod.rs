//! Shared test helpers: PKI generation, a test RESP responder over `zedis_tls`, and a blocking rustls client
//! built on `TlsStream`. External programs (redis-server, openssl) are started with `zedis-testkit`.
#![allow(dead_code)]

pub mod pki;
pub mod resp_server;

use pki::Pki;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;
use zedis_tls::rustls::pki_types::ServerName;
use zedis_tls::rustls::{ClientConfig, ClientConnection};
use zedis_tls::{StreamLimits, TlsStream};

/// Wide margin for anything a loaded machine does.
pub const WAIT: Duration = Duration::from_secs(30);

/// Connects a blocking socket with a read timeout and wraps it as a TLS client.
pub fn tls_client(port: u16, config: Arc<ClientConfig>, name: &str) -> TlsStream<TcpStream> {
    let sock = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    sock.set_read_timeout(Some(WAIT)).unwrap();
    let name = ServerName::try_from(name.to_owned()).expect("server name");
    TlsStream::connect(sock, config, name, StreamLimits::default()).expect("client stream")
}

/// Sends `request` and reads until `expected_len` bytes arrived (or an error: returned as text).
pub fn roundtrip(
    stream: &mut TlsStream<TcpStream>,
    request: &[u8],
    expected_len: usize,
) -> Result<Vec<u8>, String> {
    if stream.is_handshaking() {
        stream.handshake().map_err(|e| e.to_string())?;
    }
    let mut sent = 0;
    while sent < request.len() {
        sent += stream
            .write_plain(&request[sent..])
            .map_err(|e| e.to_string())?;
    }
    stream.flush().map_err(|e| e.to_string())?;
    let mut reply = vec![0u8; expected_len];
    let mut got = 0;
    while got < expected_len {
        match stream.read_plain(&mut reply[got..]) {
            Ok(0) => return Err(format!("closed after {got} bytes")),
            Ok(n) => got += n,
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(reply)
}

/// Reads a raw socket until EOF or error; true if it ended within `timeout` (a closed connection).
pub fn closes_within(sock: &mut TcpStream, timeout: Duration) -> bool {
    sock.set_read_timeout(Some(timeout)).unwrap();
    let mut buf = [0u8; 4096];
    loop {
        match sock.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                return false
            }
            Err(_) => return true,
        }
    }
}

/// Writes all of `data` to a raw socket, ignoring a peer that already closed.
pub fn send_raw(sock: &mut TcpStream, data: &[u8]) {
    let _ = sock.write_all(data);
}

/// A real ClientHello as a rustls client with `pki`'s settings would send it.
pub fn client_hello(pki: &Pki) -> Vec<u8> {
    let config = pki.settings("no").build_client().unwrap();
    let mut conn =
        ClientConnection::new(config, ServerName::try_from("localhost").unwrap()).unwrap();
    let mut hello = Vec::new();
    while conn.wants_write() {
        conn.write_tls(&mut hello).unwrap();
    }
    hello
}
