//! Property tests without sockets: `TlsStream` over in-memory pipes that hand out bytes in random chunk sizes
//! and say `WouldBlock` when empty. Any split of a real exchange completes the handshake and delivers the
//! same plaintext both ways; arbitrary bytes in place of a ClientHello never panic and never yield plaintext;
//! the directive parsers never panic on arbitrary text; the session cache agrees with a simple model.

mod common;

use common::pki::Pki;
use proptest::prelude::*;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{self, ErrorKind, Read, Write};
use std::rc::Rc;
use std::sync::{Arc, OnceLock};
use zedis_tls::rustls::pki_types::ServerName;
use zedis_tls::rustls::server::StoresServerSessions;
use zedis_tls::{SessionCache, StreamLimits, TlsConfigs, TlsSettings, TlsStream};

type Pipe = Rc<RefCell<VecDeque<u8>>>;

/// One end: reads from `rx` at most the next chunk size, writes to `tx` at most the next chunk size.
struct End {
    rx: Pipe,
    tx: Pipe,
    sizes: Vec<usize>,
    turn: usize,
    eof: bool,
}

impl End {
    fn next_size(&mut self) -> usize {
        self.turn += 1;
        self.sizes[self.turn % self.sizes.len()]
    }
}

impl Read for End {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut rx = self.rx.borrow_mut();
        if rx.is_empty() {
            return if self.eof {
                Ok(0)
            } else {
                Err(ErrorKind::WouldBlock.into())
            };
        }
        let n = buf.len().min(rx.len()).min(self.next_size_of());
        for (slot, byte) in buf.iter_mut().zip(rx.drain(..n)) {
            *slot = byte;
        }
        Ok(n)
    }
}

impl End {
    fn next_size_of(&self) -> usize {
        self.sizes[self.turn % self.sizes.len()]
    }
}

impl Write for End {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = buf.len().min(self.next_size());
        self.tx.borrow_mut().extend(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn pair(sizes: Vec<usize>) -> (End, End) {
    let (a, b): (Pipe, Pipe) = Default::default();
    let client = End {
        rx: a.clone(),
        tx: b.clone(),
        sizes: sizes.clone(),
        turn: 0,
        eof: false,
    };
    let server = End {
        rx: b,
        tx: a,
        sizes,
        turn: 1,
        eof: false,
    };
    (client, server)
}

fn configs() -> &'static (TlsConfigs, Arc<zedis_tls::rustls::ClientConfig>) {
    static CONFIGS: OnceLock<(TlsConfigs, Arc<zedis_tls::rustls::ClientConfig>)> = OnceLock::new();
    CONFIGS.get_or_init(|| {
        // The PKI's files are read at build time; the temp dir may go afterwards.
        let pki = Pki::new("model");
        let server = pki.settings("optional").build().unwrap();
        let mut client = pki.settings("no");
        client
            .set("tls-client-cert-file", pki.client_cert.to_str().unwrap())
            .unwrap();
        client
            .set("tls-client-key-file", pki.client_key.to_str().unwrap())
            .unwrap();
        (server, client.build_client().unwrap())
    })
}

/// Moves `data` through `from.write_plain` and `to.read_plain`, pumping both, until all arrived.
fn transfer(from: &mut TlsStream<End>, to: &mut TlsStream<End>, data: &[u8]) -> Vec<u8> {
    let mut sent = 0;
    let mut got = Vec::new();
    let mut buf = [0u8; 700];
    for _ in 0..100_000 {
        if sent < data.len() {
            match from.write_plain(&data[sent..]) {
                Ok(n) => sent += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => panic!("write: {e}"),
            }
        }
        match from.flush() {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(e) => panic!("flush: {e}"),
        }
        // Both sides read: the receiver collects, the sender only drives its handshake.
        got.extend(drain(to, &mut buf));
        assert!(
            drain(from, &mut buf).is_empty(),
            "no data flows the other way"
        );
        if got.len() == data.len() && sent == data.len() {
            return got;
        }
    }
    panic!("transfer did not finish: sent {sent}, got {}", got.len());
}

/// Reads until `WouldBlock`; returns what arrived.
fn drain(stream: &mut TlsStream<End>, buf: &mut [u8]) -> Vec<u8> {
    let mut got = Vec::new();
    loop {
        match stream.read_plain(buf) {
            Ok(0) => panic!("unexpected end of stream"),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::WouldBlock => return got,
            Err(e) => panic!("read: {e}"),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn any_split_completes_and_delivers_the_same_bytes(
        sizes in prop::collection::vec(1usize..3000, 1..8),
        request in prop::collection::vec(any::<u8>(), 1..40_000),
        reply in prop::collection::vec(any::<u8>(), 1..40_000),
    ) {
        let (configs, client_config) = configs();
        let (client_end, server_end) = pair(sizes);
        let name = ServerName::try_from("localhost").unwrap();
        let mut client = TlsStream::connect(client_end, client_config.clone(), name, StreamLimits::default()).unwrap();
        let mut server = TlsStream::accept(server_end, configs.server.clone(), StreamLimits::default()).unwrap();
        prop_assert_eq!(transfer(&mut client, &mut server, &request), request);
        prop_assert!(!server.is_handshaking());
        prop_assert_eq!(server.peer_certificates().map(|c| c.len()), Some(1));
        prop_assert_eq!(transfer(&mut server, &mut client, &reply), reply);
        prop_assert!(server.bytes() >= zedis_tls::CONNECTION_BYTES_BASE);
    }

    #[test]
    fn arbitrary_bytes_never_panic_nor_yield_plaintext(
        chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..2000), 1..12),
        tls_prefix in any::<bool>(),
    ) {
        let (configs, _) = configs();
        let (peer, server_end) = pair(vec![usize::MAX]);
        let mut server = TlsStream::accept(server_end, configs.server.clone(), StreamLimits::default()).unwrap();
        let mut buf = [0u8; 4096];
        for (i, chunk) in chunks.iter().enumerate() {
            if i == 0 && tls_prefix {
                // Look like a handshake record so the fuzz reaches past the record header.
                peer.tx.borrow_mut().extend([0x16, 0x03, 0x01, (chunk.len() >> 8) as u8, chunk.len() as u8]);
            }
            peer.tx.borrow_mut().extend(chunk);
            match server.read_plain(&mut buf) {
                Ok(0) => break,
                Ok(n) => prop_assert!(false, "{} bytes of plaintext from garbage", n),
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(_) => break,
            }
        }
        prop_assert!(server.bytes() < 200 * 1024);
    }

    #[test]
    fn directive_parsers_never_panic(name in "tls-[a-z-]{0,24}", value in ".{0,60}") {
        let mut settings = TlsSettings::default();
        let _ = settings.set(&name, &value);
        for directive in ["tls-protocols", "tls-ciphers", "tls-ciphersuites"] {
            let mut s = TlsSettings::default();
            s.set(directive, &value).unwrap();
            // No files configured: the build stops at the first refusal, whichever it is, without panicking.
            let _ = s.build();
        }
    }

    #[test]
    fn session_cache_agrees_with_a_model(
        ops in prop::collection::vec((0u8..3, 0u8..16, 0usize..64), 1..200),
        size in 1u32..8,
    ) {
        let cache = SessionCache::new(size, 300);
        // Model: insertion-ordered live entries, oldest dropped beyond `size`.
        let mut model: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        for (op, key, len) in ops {
            let key = vec![key];
            match op {
                0 => {
                    model.retain(|(k, _)| *k != key);
                    if model.len() >= size as usize {
                        model.remove(0);
                    }
                    model.push((key.clone(), vec![len as u8; len]));
                    prop_assert!(cache.put(key, vec![len as u8; len]));
                }
                1 => {
                    let want = model.iter().find(|(k, _)| *k == key).map(|(_, v)| v.clone());
                    prop_assert_eq!(cache.get(&key), want);
                }
                _ => {
                    let at = model.iter().position(|(k, _)| *k == key);
                    let want = at.map(|i| model.remove(i).1);
                    prop_assert_eq!(cache.take(&key), want);
                }
            }
            prop_assert_eq!(cache.len(), model.len());
        }
    }
}
