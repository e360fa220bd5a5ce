//! MIGRATE's client side (`migrateCommand` of Redis 7.0.15): argument parsing with Redis's errors, the
//! cached connections to targets (10 s idle, 64 at most), and one call that sends AUTH / SELECT /
//! RESTORE-ASKING for the keys and reads the target's replies. The server supplies each key's DUMP payload
//! and TTL, then deletes (unless COPY) the keys the target accepted and propagates them as a DEL.
//!
//! # Format
//! `MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE] [AUTH password]
//! [AUTH2 username password] [KEYS key [key ...]]`
//!
//! The I/O is blocking with the command's timeout, as in Redis (the event loop waits for it).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use zedis_util::num::parse_i64_exact;

/// Idle cached connections are closed after this long (`MIGRATE_SOCKET_CACHE_TTL`).
pub const MIGRATE_SOCKET_TTL_MS: u64 = 10_000;
/// Cached connections at most (`MIGRATE_SOCKET_CACHE_ITEMS`).
pub const MIGRATE_SOCKETS_MAX: usize = 64;
/// Longest reply line read from a target (Redis reads into 1 KiB buffers).
const REPLY_LINE_BYTES_MAX: usize = 1024;

/// A parsed MIGRATE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrateRequest<'a> {
    /// Target host.
    pub host: &'a [u8],
    /// Target port, as given.
    pub port: &'a [u8],
    /// Destination db.
    pub db: i64,
    /// Timeout, ms (Redis's 1000 when ≤ 0).
    pub timeout_ms: u64,
    /// COPY: keep the local keys.
    pub copy: bool,
    /// REPLACE: overwrite on the target.
    pub replace: bool,
    /// AUTH / AUTH2: `(username, password)`.
    pub auth: Option<(Option<&'a [u8]>, &'a [u8])>,
    /// The keys: the key argument, or the KEYS list.
    pub keys: Vec<&'a [u8]>,
}

/// Parses MIGRATE's arguments (`argv[0]` is MIGRATE; the table checked arity -6). `Err` is the error
/// reply text.
pub fn parse_migrate<'a>(argv: &[&'a [u8]]) -> Result<MigrateRequest<'a>, &'static str> {
    const SYNTAX: &str = "ERR syntax error";
    let (mut copy, mut replace, mut auth) = (false, false, None);
    let mut keys = vec![argv[3]];
    let mut j = 6;
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        let opt = argv[j].to_ascii_lowercase();
        match opt.as_slice() {
            b"copy" => copy = true,
            b"replace" => replace = true,
            b"auth" if more >= 1 => {
                auth = Some((None, argv[j + 1]));
                j += 1;
            }
            b"auth2" if more >= 2 => {
                auth = Some((Some(argv[j + 1]), argv[j + 2]));
                j += 2;
            }
            b"keys" => {
                if !argv[3].is_empty() {
                    return Err("ERR When using MIGRATE KEYS option, the key argument must be set to the empty string");
                }
                keys = argv[j + 1..].to_vec();
                break;
            }
            _ => return Err(SYNTAX),
        }
        j += 1;
    }
    const NOT_INTEGER: &str = "ERR value is not an integer or out of range";
    let timeout = parse_i64_exact(argv[5]).ok_or(NOT_INTEGER)?;
    let db = parse_i64_exact(argv[4]).ok_or(NOT_INTEGER)?;
    Ok(MigrateRequest {
        host: argv[1],
        port: argv[2],
        db,
        timeout_ms: if timeout <= 0 { 1000 } else { timeout as u64 },
        copy,
        replace,
        auth,
        keys,
    })
}

/// One key to move: its name, its TTL (ms from now, 0 = none; skip keys already expired) and its DUMP
/// payload.
#[derive(Debug, Clone, Copy)]
pub struct MigrateItem<'a> {
    /// Key.
    pub key: &'a [u8],
    /// Remaining TTL, ms (0 = persistent).
    pub ttl_ms: u64,
    /// DUMP payload.
    pub payload: &'a [u8],
}

/// What a MIGRATE did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrateOutcome {
    /// Indices (into the items) the target accepted: unless COPY, delete them here and propagate one
    /// `DEL` of them (Redis rewrites MIGRATE as DEL for the AOF and replicas).
    pub accepted: Vec<usize>,
    /// The whole reply for the client (`+OK`, `+NOKEY`, `-ERR Target instance replied with error: ...`,
    /// `-IOERR ...`).
    pub reply: Vec<u8>,
}

struct Cached {
    reader: BufReader<TcpStream>,
    last_db: i64,
    last_use_ms: u64,
}

/// The cached connections to MIGRATE targets.
#[derive(Default)]
pub struct Migrator {
    sockets: HashMap<String, Cached>,
}

impl std::fmt::Debug for Migrator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Migrator")
            .field("sockets", &self.sockets.len())
            .finish()
    }
}

enum Failure {
    Connect,
    Write,
    Read { first: bool, timed_out: bool },
}

impl Migrator {
    /// Moves `items` (the request's keys that exist here; none → `+NOKEY`) to the target.
    /// `cluster_mode` sends RESTORE-ASKING (else RESTORE).
    pub fn migrate(
        &mut self,
        req: &MigrateRequest<'_>,
        items: &[MigrateItem<'_>],
        cluster_mode: bool,
        now_ms: u64,
    ) -> MigrateOutcome {
        if items.is_empty() {
            return MigrateOutcome {
                accepted: Vec::new(),
                reply: b"+NOKEY\r\n".to_vec(),
            };
        }
        let name = format!(
            "{}:{}",
            String::from_utf8_lossy(req.host),
            String::from_utf8_lossy(req.port)
        );
        let mut may_retry = true;
        loop {
            match self.attempt(&name, req, items, cluster_mode, now_ms) {
                Ok(outcome) => return outcome,
                Err((failure, accepted)) => {
                    self.sockets.remove(&name);
                    let (retry, text) = match failure {
                        Failure::Connect => {
                            (false, "IOERR error or timeout connecting to the client")
                        }
                        Failure::Write => {
                            (true, "IOERR error or timeout writing to target instance")
                        }
                        Failure::Read { first, timed_out } => (
                            first && !timed_out,
                            "IOERR error or timeout reading to target instance",
                        ),
                    };
                    // Retry once, only when nothing can have been applied (as Redis).
                    if retry && may_retry && accepted.is_empty() {
                        may_retry = false;
                        continue;
                    }
                    let mut reply = Vec::with_capacity(text.len() + 3);
                    reply.push(b'-');
                    reply.extend_from_slice(text.as_bytes());
                    reply.extend_from_slice(b"\r\n");
                    return MigrateOutcome { accepted, reply };
                }
            }
        }
    }

    fn attempt(
        &mut self,
        name: &str,
        req: &MigrateRequest<'_>,
        items: &[MigrateItem<'_>],
        cluster_mode: bool,
        now_ms: u64,
    ) -> Result<MigrateOutcome, (Failure, Vec<usize>)> {
        let timeout = Duration::from_millis(req.timeout_ms);
        // Redis's connect waits for writability only: a refused connection shows as a write error.
        let cs = self.socket(name, timeout, now_ms).map_err(|timed_out| {
            let failure = if timed_out {
                Failure::Connect
            } else {
                Failure::Write
            };
            (failure, Vec::new())
        })?;
        let mut cmd = Vec::new();
        if let Some((user, pass)) = req.auth {
            match user {
                Some(user) => encode(&mut cmd, &[b"AUTH", user, pass]),
                None => encode(&mut cmd, &[b"AUTH", pass]),
            }
        }
        let select = cs.last_db != req.db;
        if select {
            encode(&mut cmd, &[b"SELECT", req.db.to_string().as_bytes()]);
        }
        let restore: &[u8] = if cluster_mode {
            b"RESTORE-ASKING"
        } else {
            b"RESTORE"
        };
        for item in items {
            let ttl = item.ttl_ms.to_string();
            let mut args: Vec<&[u8]> = vec![restore, item.key, ttl.as_bytes(), item.payload];
            if req.replace {
                args.push(b"REPLACE");
            }
            encode(&mut cmd, &args);
        }
        let stream = cs.reader.get_mut();
        if stream.write_all(&cmd).is_err() {
            return Err((Failure::Write, Vec::new()));
        }
        let read_failure = |first: bool, e: std::io::Error| Failure::Read {
            first,
            timed_out: matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock),
        };
        let auth_line = match req.auth {
            Some(_) => {
                Some(read_line(&mut cs.reader).map_err(|e| (read_failure(true, e), Vec::new()))?)
            }
            None => None,
        };
        let select_line = match select {
            true => {
                Some(read_line(&mut cs.reader).map_err(|e| (read_failure(true, e), Vec::new()))?)
            }
            false => None,
        };
        let mut accepted = Vec::new();
        let mut error: Option<Vec<u8>> = None;
        for (i, _) in items.iter().enumerate() {
            let line = match read_line(&mut cs.reader) {
                Ok(line) => line,
                Err(e) => {
                    if error.is_some() {
                        break;
                    }
                    return Err((read_failure(i == 0, e), accepted));
                }
            };
            let failed = [
                auth_line.as_deref(),
                select_line.as_deref(),
                Some(&line[..]),
            ]
            .into_iter()
            .flatten()
            .find(|l| l.first() == Some(&b'-'));
            match failed {
                Some(err) => {
                    cs.last_db = -1;
                    if error.is_none() {
                        let mut reply = b"-ERR Target instance replied with error: ".to_vec();
                        reply.extend(err[1..].iter().map(|&b| {
                            if b == b'\r' || b == b'\n' {
                                b' '
                            } else {
                                b
                            }
                        }));
                        reply.extend_from_slice(b"\r\n");
                        error = Some(reply);
                    }
                }
                None => accepted.push(i),
            }
        }
        cs.last_use_ms = now_ms;
        let reply = match error {
            Some(reply) => reply,
            None => {
                cs.last_db = req.db;
                b"+OK\r\n".to_vec()
            }
        };
        Ok(MigrateOutcome { accepted, reply })
    }

    /// A cached connection to `name`, or a new one (`migrateGetSocket`); `Err(true)` when the connect
    /// timed out, `Err(false)` when it failed otherwise.
    fn socket(&mut self, name: &str, timeout: Duration, now_ms: u64) -> Result<&mut Cached, bool> {
        if !self.sockets.contains_key(name) {
            if self.sockets.len() >= MIGRATE_SOCKETS_MAX {
                if let Some(victim) = self.sockets.keys().next().cloned() {
                    self.sockets.remove(&victim);
                }
            }
            let addr = name
                .to_socket_addrs()
                .ok()
                .and_then(|mut a| a.next())
                .ok_or(false)?;
            let stream = TcpStream::connect_timeout(&addr, timeout)
                .map_err(|e| matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock))?;
            let _ = stream.set_nodelay(true);
            self.sockets.insert(
                name.to_string(),
                Cached {
                    reader: BufReader::new(stream),
                    last_db: -1,
                    last_use_ms: now_ms,
                },
            );
        }
        let cs = self.sockets.get_mut(name).ok_or(false)?;
        let stream = cs.reader.get_ref();
        stream.set_read_timeout(Some(timeout)).map_err(|_| false)?;
        stream.set_write_timeout(Some(timeout)).map_err(|_| false)?;
        Ok(cs)
    }

    /// From the cron: closes connections idle for [`MIGRATE_SOCKET_TTL_MS`].
    pub fn cron(&mut self, now_ms: u64) {
        self.sockets
            .retain(|_, cs| now_ms.saturating_sub(cs.last_use_ms) <= MIGRATE_SOCKET_TTL_MS);
    }

    /// Open cached connections.
    pub fn cached(&self) -> usize {
        self.sockets.len()
    }

    /// Heap bytes (read buffers and names), for the budget.
    pub fn bytes(&self) -> usize {
        self.sockets
            .iter()
            .map(|(name, cs)| {
                name.capacity() + cs.reader.capacity() + std::mem::size_of::<Cached>()
            })
            .sum()
    }
}

/// A RESP command.
fn encode(out: &mut Vec<u8>, args: &[&[u8]]) {
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

/// One reply line without its CRLF (`syncReadLine`), at most [`REPLY_LINE_BYTES_MAX`] bytes kept.
fn read_line(reader: &mut BufReader<TcpStream>) -> std::io::Result<Vec<u8>> {
    let mut line = Vec::new();
    let n = reader
        .by_ref()
        .take(REPLY_LINE_BYTES_MAX as u64 * 64)
        .read_until(b'\n', &mut line)?;
    if n == 0 || line.last() != Some(&b'\n') {
        return Err(ErrorKind::UnexpectedEof.into());
    }
    line.pop();
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    line.truncate(REPLY_LINE_BYTES_MAX);
    Ok(line)
}
