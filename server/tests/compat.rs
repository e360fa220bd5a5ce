//! A byte-exact side-by-side compatibility suite: every script in `tests/compat/*.txt` runs against a
//! `zedis-server` and a real `redis-server` (7.0), and every reply must match byte for byte unless the line
//! asks for a looser comparison.
//!
//! Script syntax, one item per line (`#` starts a comment line, blank lines are skipped):
//! - `CMD arg "quoted arg" 'single'`: sent as a RESP multibulk; one reply frame read from each server.
//!   Double quotes take redis-cli escapes (`\x41`, `\n`, `\r`, `\t`, `\a`, `\b`, `\"`, `\\`).
//! - prefixes (before the command): `?type` compares only the top-level RESP type byte; `?sorted` compares
//!   aggregates as sorted multisets (recursively); `?pairs` compares a flat `[k, v, k, v]` array (or a map)
//!   as a set of pairs; `?error` only requires both replies to be errors; `@noreply` sends without reading.
//! - `@resp3`: sends `HELLO 3`, compares the reply with the `id` value masked (as for every `HELLO` line).
//! - `@sleep N`: sleeps N milliseconds.
//! - `@raw BYTES`: sends escaped raw bytes (same escapes as double quotes, without the quotes) and reads one
//!   reply frame; `@send BYTES` sends without reading; `@read` reads one frame; `@raw-close BYTES` sends and
//!   reads until the server closes the connection, comparing everything received; `@raw-close-rep PREFIX N
//!   UNIT` does the same with PREFIX followed by N copies of UNIT (for size limits).
//!
//! Each script runs on fresh connections after `FLUSHALL`, and ends with a sentinel `ECHO` so stray replies
//! show up as mismatches. All mismatches are collected, then the test fails once listing them all.
//!
//! Env: `COMPAT_SCRIPT=name` runs only `name.txt`; `COMPAT_VS_REDIS=1` compares redis against a second
//! redis (to validate the scripts themselves); `COMPAT_VERBOSE=1` prints every reply pair.

mod common;

use common::reference::RedisProcess;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use zedis_resp::frame::parse_frame;

/// How long one reply may take.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a read did not produce a frame.
#[derive(Debug)]
enum ReadFail {
    Closed(Vec<u8>),
    Timeout(Vec<u8>),
    Io(String),
    Bad(String),
}

impl std::fmt::Display for ReadFail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadFail::Closed(b) => write!(f, "<connection closed; partial {}>", escape(b)),
            ReadFail::Timeout(b) => write!(f, "<timeout; partial {}>", escape(b)),
            ReadFail::Io(e) => write!(f, "<io error {e}>"),
            ReadFail::Bad(e) => write!(f, "<unparsable reply: {e}>"),
        }
    }
}

/// One connection to one server, with its unread input.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    fn open(port: u16) -> std::io::Result<Conn> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(Duration::from_millis(100)))?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream,
            buf: Vec::new(),
        })
    }

    fn send(&mut self, bytes: &[u8]) -> Result<(), ReadFail> {
        self.stream
            .write_all(bytes)
            .map_err(|e| ReadFail::Io(e.to_string()))
    }

    /// Reads more input; `Ok(false)` on EOF.
    fn fill(&mut self, deadline: Instant) -> Result<bool, ReadFail> {
        let mut chunk = [0u8; 16384];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => return Ok(false),
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return Ok(true);
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    if Instant::now() >= deadline {
                        return Err(ReadFail::Timeout(std::mem::take(&mut self.buf)));
                    }
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::ConnectionReset => return Ok(false),
                Err(e) => return Err(ReadFail::Io(e.to_string())),
            }
        }
    }

    /// Reads one complete reply frame and returns its raw bytes.
    fn read_frame(&mut self) -> Result<Vec<u8>, ReadFail> {
        let deadline = Instant::now() + READ_TIMEOUT;
        loop {
            match parse_frame(&self.buf) {
                Ok(Some((_, used))) => return Ok(self.buf.drain(..used).collect()),
                Ok(None) => {}
                Err(e) => return Err(ReadFail::Bad(format!("{e}: {}", escape(&self.buf)))),
            }
            if !self.fill(deadline)? {
                return Err(ReadFail::Closed(std::mem::take(&mut self.buf)));
            }
        }
    }

    /// After a command that must not be answered: waits `wait` for stray input and returns the frame that
    /// arrived, or an empty vector when nothing did.
    fn poll_stray(&mut self, wait: Duration) -> Result<Vec<u8>, ReadFail> {
        let deadline = Instant::now() + wait;
        let _ = self.stream.set_read_timeout(Some(Duration::from_millis(5)));
        let mut chunk = [0u8; 16384];
        while self.buf.is_empty() && Instant::now() < deadline {
            match self.stream.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(ReadFail::Io(e.to_string())),
            }
        }
        let _ = self
            .stream
            .set_read_timeout(Some(Duration::from_millis(100)));
        if self.buf.is_empty() {
            return Ok(Vec::new());
        }
        self.read_frame()
    }

    /// Sends `ECHO token` and discards frames until its echo arrives; returns how many were discarded.
    fn resync(&mut self, token: &str) -> Result<usize, ReadFail> {
        self.send(&encode(&[b"ECHO".to_vec(), token.as_bytes().to_vec()]))?;
        let expected = format!("${}\r\n{token}\r\n", token.len()).into_bytes();
        let mut discarded = 0;
        while self.read_frame()? != expected {
            discarded += 1;
        }
        Ok(discarded)
    }

    /// Reads everything until the server closes the connection.
    fn read_to_close(&mut self) -> Result<Vec<u8>, ReadFail> {
        let deadline = Instant::now() + READ_TIMEOUT;
        while self.fill(deadline)? {}
        Ok(std::mem::take(&mut self.buf))
    }
}

/// How two replies are compared.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    Exact,
    Type,
    Sorted,
    Pairs,
    Error,
}

/// What one script line does.
#[derive(Debug)]
enum Step {
    Command {
        mode: Mode,
        noreply: bool,
        args: Vec<Vec<u8>>,
    },
    Resp3,
    Sleep(u64),
    Raw {
        bytes: Vec<u8>,
        read: bool,
    },
    Read,
    RawClose(Vec<u8>),
}

/// Unescapes redis-cli double-quote escapes in `s` (used for `@raw` payloads).
fn unescape(s: &str) -> Result<Vec<u8>, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 1 < bytes.len() {
            let (b, used) = escape_char(&bytes[i + 1..])?;
            out.push(b);
            i += 1 + used;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Ok(out)
}

/// Decodes the escape after a backslash: the byte and how many input bytes it used.
fn escape_char(rest: &[u8]) -> Result<(u8, usize), String> {
    Ok(match rest[0] {
        b'n' => (b'\n', 1),
        b'r' => (b'\r', 1),
        b't' => (b'\t', 1),
        b'a' => (7, 1),
        b'b' => (8, 1),
        b'0' => (0, 1),
        b'x' => {
            let hex = rest.get(1..3).ok_or("short \\x escape")?;
            let text = std::str::from_utf8(hex).map_err(|e| e.to_string())?;
            (
                u8::from_str_radix(text, 16).map_err(|e| format!("bad \\x escape: {e}"))?,
                3,
            )
        }
        other => (other, 1),
    })
}

/// Splits a command line like redis-cli does (`sdssplitargs`).
fn split_args(line: &str) -> Result<Vec<Vec<u8>>, String> {
    let b = line.as_bytes();
    let mut args = Vec::new();
    let mut i = 0;
    loop {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= b.len() {
            return Ok(args);
        }
        let mut cur = Vec::new();
        let quote = match b[i] {
            q @ (b'"' | b'\'') => {
                i += 1;
                Some(q)
            }
            _ => None,
        };
        loop {
            match quote {
                None => {
                    if i >= b.len() || b[i].is_ascii_whitespace() {
                        break;
                    }
                    cur.push(b[i]);
                    i += 1;
                }
                Some(q) => {
                    if i >= b.len() {
                        return Err("unbalanced quotes".into());
                    }
                    if b[i] == q {
                        i += 1;
                        if i < b.len() && !b[i].is_ascii_whitespace() {
                            return Err("closing quote must be followed by a space".into());
                        }
                        break;
                    }
                    if b[i] == b'\\' && i + 1 < b.len() {
                        if q == b'"' {
                            let (c, used) = escape_char(&b[i + 1..])?;
                            cur.push(c);
                            i += 1 + used;
                        } else if b[i + 1] == b'\'' {
                            cur.push(b'\'');
                            i += 2;
                        } else {
                            cur.push(b'\\');
                            i += 1;
                        }
                    } else {
                        cur.push(b[i]);
                        i += 1;
                    }
                }
            }
        }
        args.push(cur);
    }
}

/// Parses one non-comment script line.
fn parse_line(line: &str) -> Result<Step, String> {
    let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
    match word {
        "@resp3" => return Ok(Step::Resp3),
        "@sleep" => {
            return rest
                .trim()
                .parse()
                .map(Step::Sleep)
                .map_err(|e| format!("@sleep: {e}"))
        }
        "@raw" => {
            return Ok(Step::Raw {
                bytes: unescape(rest)?,
                read: true,
            })
        }
        "@send" => {
            return Ok(Step::Raw {
                bytes: unescape(rest)?,
                read: false,
            })
        }
        "@read" => return Ok(Step::Read),
        "@raw-close" => return Ok(Step::RawClose(unescape(rest)?)),
        "@raw-close-rep" => {
            let mut words = rest.split_whitespace();
            let (Some(prefix), Some(count), Some(unit)) =
                (words.next(), words.next(), words.next())
            else {
                return Err("@raw-close-rep PREFIX COUNT UNIT".into());
            };
            let count: usize = count
                .parse()
                .map_err(|e| format!("@raw-close-rep count: {e}"))?;
            let mut bytes = unescape(prefix)?;
            bytes.extend(unescape(unit)?.repeat(count));
            return Ok(Step::RawClose(bytes));
        }
        _ => {}
    }
    let mut mode = Mode::Exact;
    let mut noreply = false;
    let mut text = line;
    loop {
        let (word, rest) = text.split_once(' ').unwrap_or((text, ""));
        match word {
            "?type" => mode = Mode::Type,
            "?sorted" => mode = Mode::Sorted,
            "?pairs" => mode = Mode::Pairs,
            "?error" => mode = Mode::Error,
            "@noreply" => noreply = true,
            w if w.starts_with('?') || w.starts_with('@') => {
                return Err(format!("unknown directive {w}"))
            }
            _ => break,
        }
        text = rest.trim_start();
    }
    let args = split_args(text)?;
    if args.is_empty() {
        return Err("empty command".into());
    }
    Ok(Step::Command {
        mode,
        noreply,
        args,
    })
}

/// Escapes bytes for a readable report.
fn escape(bytes: &[u8]) -> String {
    let mut out = String::from("\"");
    for &b in bytes {
        match b {
            b'\r' => out.push_str("\\r"),
            b'\n' => out.push_str("\\n"),
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('"');
    if out.len() > 2000 {
        let cut = (1900..)
            .find(|&i| out.is_char_boundary(i))
            .unwrap_or(out.len());
        format!("{}... ({} bytes)", &out[..cut], bytes.len())
    } else {
        out
    }
}

/// Splits an aggregate reply into its header line and its elements' raw bytes.
fn elements(frame: &[u8]) -> Option<(&[u8], Vec<&[u8]>)> {
    if !matches!(frame.first(), Some(b'*' | b'~' | b'%' | b'>')) {
        return None;
    }
    let header_end = frame.windows(2).position(|w| w == b"\r\n")? + 2;
    let mut elems = Vec::new();
    let mut pos = header_end;
    while pos < frame.len() {
        let (_, used) = parse_frame(&frame[pos..]).ok()??;
        elems.push(&frame[pos..pos + used]);
        pos += used;
    }
    Some((&frame[..header_end], elems))
}

/// The canonical sorted form of a frame: aggregates' elements normalized and sorted, recursively.
fn canonical_sorted(frame: &[u8]) -> Vec<u8> {
    match elements(frame) {
        None => frame.to_vec(),
        Some((header, elems)) => {
            let mut parts: Vec<Vec<u8>> = elems.iter().map(|e| canonical_sorted(e)).collect();
            parts.sort();
            let mut out = header.to_vec();
            for p in parts {
                out.extend_from_slice(&p);
            }
            out
        }
    }
}

/// The canonical form of a flat key/value array or map: pairs sorted by bytes.
fn canonical_pairs(frame: &[u8]) -> Vec<u8> {
    match elements(frame) {
        Some((header, elems)) if elems.len() % 2 == 0 => {
            let mut pairs: Vec<Vec<u8>> = elems.chunks(2).map(|c| [c[0], c[1]].concat()).collect();
            pairs.sort();
            let mut out = header.to_vec();
            for p in pairs {
                out.extend_from_slice(&p);
            }
            out
        }
        _ => frame.to_vec(),
    }
}

/// Replaces the value after an `id` key in a HELLO reply with `:0`.
fn mask_hello_id(frame: &[u8]) -> Vec<u8> {
    let Some((header, elems)) = elements(frame) else {
        return frame.to_vec();
    };
    let mut out = header.to_vec();
    let mut mask_next = false;
    for e in elems {
        if mask_next && e.first() == Some(&b':') {
            out.extend_from_slice(b":0\r\n");
        } else {
            out.extend_from_slice(e);
        }
        mask_next = e == b"$2\r\nid\r\n" || e == b"+id\r\n";
    }
    out
}

/// Whether the step sends HELLO (whose reply carries the connection id, masked before comparing).
fn is_hello(step: &Step) -> bool {
    match step {
        Step::Resp3 => true,
        Step::Command {
            mode: Mode::Exact,
            args,
            ..
        } => args[0].eq_ignore_ascii_case(b"hello"),
        _ => false,
    }
}

/// Whether two replies match under `mode`.
fn matches(mode: Mode, a: &[u8], b: &[u8]) -> bool {
    match mode {
        Mode::Exact => a == b,
        Mode::Type => a.first() == b.first(),
        Mode::Sorted => canonical_sorted(a) == canonical_sorted(b),
        Mode::Pairs => canonical_pairs(a) == canonical_pairs(b),
        Mode::Error => {
            matches!(a.first(), Some(b'-' | b'!')) && matches!(b.first(), Some(b'-' | b'!'))
        }
    }
}

/// Encodes a command as a RESP multibulk.
fn encode(args: &[Vec<u8>]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// The connections of one script run: `[reference, candidate]`.
struct Pair {
    conns: [Conn; 2],
}

/// What a step produced on both sides.
enum Outcome {
    /// Nothing to compare.
    Nothing,
    /// Both replies.
    Replies(Result<Vec<u8>, ReadFail>, Result<Vec<u8>, ReadFail>),
}

impl Pair {
    fn send_both(&mut self, bytes: &[u8]) -> [Result<(), ReadFail>; 2] {
        let [a, b] = &mut self.conns;
        [a.send(bytes), b.send(bytes)]
    }

    fn read_both(&mut self) -> (Result<Vec<u8>, ReadFail>, Result<Vec<u8>, ReadFail>) {
        let [a, b] = &mut self.conns;
        (a.read_frame(), b.read_frame())
    }

    fn run(&mut self, step: &Step) -> Outcome {
        let (bytes, read) = match step {
            Step::Sleep(ms) => {
                std::thread::sleep(Duration::from_millis(*ms));
                return Outcome::Nothing;
            }
            Step::Read => {
                let (a, b) = self.read_both();
                return Outcome::Replies(a, b);
            }
            Step::Resp3 => (encode(&[b"HELLO".to_vec(), b"3".to_vec()]), true),
            Step::Command { noreply, args, .. } => (encode(args), !noreply),
            Step::Raw { bytes, read } => (bytes.clone(), *read),
            Step::RawClose(bytes) => {
                let sent = self.send_both(bytes);
                let [a, b] = &mut self.conns;
                let ra = sent[0]
                    .as_ref()
                    .map_err(|e| ReadFail::Io(e.to_string()))
                    .and_then(|_| a.read_to_close());
                let rb = sent[1]
                    .as_ref()
                    .map_err(|e| ReadFail::Io(e.to_string()))
                    .and_then(|_| b.read_to_close());
                return Outcome::Replies(ra, rb);
            }
        };
        let [sa, sb] = self.send_both(&bytes);
        if !read {
            if matches!(step, Step::Raw { .. }) {
                return match (sa, sb) {
                    (Ok(()), Ok(())) => Outcome::Nothing,
                    (a, b) => Outcome::Replies(a.map(|_| Vec::new()), b.map(|_| Vec::new())),
                };
            }
            // `@noreply`: any reply that arrives anyway is a mismatch against the empty one.
            let [a, b] = &mut self.conns;
            let wait = Duration::from_millis(30);
            return Outcome::Replies(
                sa.and_then(|_| a.poll_stray(wait)),
                sb.and_then(|_| b.poll_stray(wait)),
            );
        }
        let (a, b) = self.read_both();
        Outcome::Replies(sa.and(a), sb.and(b))
    }
}

/// One reported difference.
struct Mismatch {
    script: String,
    line: usize,
    text: String,
    reference: String,
    candidate: String,
}

/// Runs one script; appends its mismatches. Returns an error text when it could not run at all.
fn run_script(
    ports: [u16; 2],
    name: &str,
    text: &str,
    out: &mut Vec<Mismatch>,
) -> Result<(), String> {
    let mut pair = Pair {
        conns: [
            Conn::open(ports[0]).map_err(|e| e.to_string())?,
            Conn::open(ports[1]).map_err(|e| e.to_string())?,
        ],
    };
    let flush = Step::Command {
        mode: Mode::Exact,
        noreply: false,
        args: vec![b"FLUSHALL".to_vec()],
    };
    let mut steps: Vec<(usize, &str, Step)> = vec![(0, "FLUSHALL", flush)];
    for (n, raw_line) in text.lines().enumerate() {
        let line = raw_line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let step = parse_line(line).map_err(|e| format!("{name}:{}: {e}", n + 1))?;
        steps.push((n + 1, line, step));
    }
    let sentinel = Step::Command {
        mode: Mode::Exact,
        noreply: false,
        args: vec![b"ECHO".to_vec(), b"__end_of_script__".to_vec()],
    };
    steps.push((0, "ECHO __end_of_script__ (sentinel)", sentinel));
    for (line, text, step) in &steps {
        let Outcome::Replies(a, b) = pair.run(step) else {
            continue;
        };
        if std::env::var_os("COMPAT_VERBOSE").is_some() {
            let brief = |r: &Result<Vec<u8>, ReadFail>| match r {
                Ok(bytes) => escape(bytes),
                Err(e) => e.to_string(),
            };
            eprintln!(
                "{name}:{line}: {text}\n    redis: {}\n    zedis: {}",
                brief(&a),
                brief(&b)
            );
        }
        let mode = match step {
            Step::Command { mode, .. } => *mode,
            _ => Mode::Exact,
        };
        let ok = match (&a, &b) {
            (Ok(x), Ok(y)) if is_hello(step) => mask_hello_id(x) == mask_hello_id(y),
            (Ok(x), Ok(y)) => matches(mode, x, y),
            _ => false,
        };
        if !ok {
            let show = |r: &Result<Vec<u8>, ReadFail>| match r {
                Ok(bytes) if bytes.is_empty() => "<no reply>".to_string(),
                Ok(bytes) => escape(bytes),
                Err(e) => e.to_string(),
            };
            out.push(Mismatch {
                script: name.to_string(),
                line: *line,
                text: text.to_string(),
                reference: show(&a),
                candidate: show(&b),
            });
        }
        let mut failed = a.is_err() || b.is_err();
        let is_read = matches!(
            step,
            Step::Command { noreply: false, .. } | Step::Resp3 | Step::Raw { read: true, .. }
        );
        if !ok && !failed && is_read {
            // Realign both streams so one extra or missing reply does not shift every later comparison.
            let token = format!("__resync_{line}__");
            let [ca, cb] = &mut pair.conns;
            match (ca.resync(&token), cb.resync(&token)) {
                (Ok(0), Ok(0)) => {}
                (Ok(x), Ok(y)) => out.push(Mismatch {
                    script: name.to_string(),
                    line: *line,
                    text: format!("(resync after the mismatch above: discarded {x} extra frame(s) from redis, {y} from zedis)"),
                    reference: String::new(),
                    candidate: String::new(),
                }),
                _ => failed = true,
            }
        }
        if failed {
            out.push(Mismatch {
                script: name.to_string(),
                line: *line,
                text: "(a connection failed or desynced: both reconnected; connection state such as SELECT is lost)"
                    .into(),
                reference: String::new(),
                candidate: String::new(),
            });
        }
        if failed || matches!(step, Step::RawClose(_)) {
            // Continue on fresh connections (after `@raw-close` both servers closed as expected).
            pair.conns = [
                Conn::open(ports[0]).map_err(|e| e.to_string())?,
                Conn::open(ports[1]).map_err(|e| e.to_string())?,
            ];
        }
    }
    Ok(())
}

fn scripts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("compat")
}

#[test]
fn compat_with_redis() {
    let probe = Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !matches!(probe, Ok(s) if s.success()) {
        eprintln!("compat: redis-server is not on PATH; skipping the side-by-side suite");
        return;
    }
    let reference = RedisProcess::start(&[]).expect("start redis-server");
    let vs_redis = std::env::var("COMPAT_VS_REDIS").is_ok_and(|v| v == "1");
    let (_zedis, _second, candidate_port) = if vs_redis {
        let second = RedisProcess::start(&[]).expect("start second redis-server");
        let port = second.port;
        (None, Some(second), port)
    } else {
        let zedis = common::Server::start(&["--save", "", "--appendonly", "no"]);
        let port = zedis.port;
        (Some(zedis), None, port)
    };
    let only = std::env::var("COMPAT_SCRIPT").ok();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(scripts_dir())
        .expect("tests/compat directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .filter(|p| {
            only.as_deref()
                .is_none_or(|o| p.file_stem().is_some_and(|s| s == o))
        })
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no compat scripts found");
    let mut mismatches = Vec::new();
    let mut errors = Vec::new();
    for path in &paths {
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let text = std::fs::read_to_string(path).expect("read script");
        if let Err(e) = run_script(
            [reference.port, candidate_port],
            &name,
            &text,
            &mut mismatches,
        ) {
            errors.push(format!("{name}: {e}"));
        }
    }
    // Known differences are a ratchet: listed ones are reported but do not fail the run; a new mismatch
    // fails it, and so does a listed one that no longer differs (remove it from the list).
    let known_text =
        std::fs::read_to_string(scripts_dir().join("known-diffs.txt")).unwrap_or_default();
    let known: std::collections::BTreeSet<String> = known_text
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    let mut report = String::new();
    let mut seen = std::collections::BTreeSet::new();
    let mut known_hits = 0;
    for m in &mismatches {
        let at = format!("{}:{}", m.script, m.line);
        seen.insert(at.clone());
        if known.contains(&at) {
            known_hits += 1;
            continue;
        }
        report.push_str(&format!("{at}: {}\n", m.text));
        if !m.reference.is_empty() || !m.candidate.is_empty() {
            report.push_str(&format!(
                "    redis: {}\n    zedis: {}\n",
                m.reference, m.candidate
            ));
        }
    }
    for at in known.difference(&seen) {
        report.push_str(&format!(
            "{at}: listed in known-diffs.txt but now matches Redis: remove it\n"
        ));
    }
    for e in &errors {
        report.push_str(&format!("script error: {e}\n"));
    }
    eprintln!(
        "compat: {} scripts, {} mismatches ({} known, listed in server/tests/compat/known-diffs.txt)",
        paths.len(),
        mismatches.len(),
        known_hits
    );
    assert!(
        report.is_empty(),
        "unexpected compatibility differences:\n{report}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_args_like_redis_cli() {
        let args = split_args(r#"SET "a b\x41\n" 'c\'d' e"#).unwrap();
        assert_eq!(
            args,
            vec![
                b"SET".to_vec(),
                b"a bA\n".to_vec(),
                b"c'd".to_vec(),
                b"e".to_vec()
            ]
        );
        assert!(split_args(r#"SET "a"#).is_err());
        assert_eq!(
            split_args(r#"SET """#).unwrap(),
            vec![b"SET".to_vec(), Vec::new()]
        );
    }

    #[test]
    fn sorted_and_pairs_canonical_forms() {
        let a = b"*2\r\n$1\r\n0\r\n*2\r\n$1\r\nb\r\n$1\r\na\r\n";
        let b = b"*2\r\n$1\r\n0\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n";
        assert!(matches(Mode::Sorted, a, b));
        assert!(!matches(Mode::Exact, a, b));
        let p = b"*4\r\n$1\r\nk\r\n$1\r\nv\r\n$1\r\na\r\n$1\r\nz\r\n";
        let q = b"*4\r\n$1\r\na\r\n$1\r\nz\r\n$1\r\nk\r\n$1\r\nv\r\n";
        assert!(matches(Mode::Pairs, p, q));
        let hello = b"%2\r\n$2\r\nid\r\n:7\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n";
        assert_eq!(
            mask_hello_id(hello),
            b"%2\r\n$2\r\nid\r\n:0\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n"
        );
    }
}
