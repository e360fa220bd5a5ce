//! The replica's side of the link before the stream flows, sans-IO: [`Handshake`] takes the master's reply
//! lines and says what to send next, [`RdbReceiver`] takes payload bytes and says when the RDB is complete.
//! The event loop (`replica.rs`) moves the bytes.
//!
//! The handshake is Redis 7.0's `syncWithMaster`: `PING` (any reply but an error other than `-NOAUTH`/
//! `-NOPERM`/`-ERR operation not permitted` is fine), optionally `AUTH`, then `REPLCONF listening-port <port>`
//! and `REPLCONF capa eof capa psync2` (errors are only logged, as Redis does), then `PSYNC <replid>
//! <offset>` (`? -1` without a cached master) answered by `+FULLRESYNC <replid> <offset>` or `+CONTINUE
//! [<replid>]`.

/// Longest reply line accepted from a master during the handshake (a longer one is garbage).
pub const LINE_BYTES_MAX: usize = 4096;

/// What the link must do after a reply line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Write these bytes to the master and wait for the next line.
    Send(Vec<u8>),
    /// Wait for the next line.
    Wait,
    /// The master sends an RDB (read it with [`RdbReceiver`]), then the stream from `offset + 1`.
    FullResync {
        /// The master's replication id.
        replid: String,
        /// The offset the RDB corresponds to.
        offset: u64,
    },
    /// The master continues the stream from the offset we asked for; its id may have changed.
    Continue {
        /// The new replication id (`+CONTINUE <replid>`), if given.
        new_replid: Option<String>,
    },
    /// The link failed: log this and retry later.
    Fail(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// PING sent.
    Pong,
    /// AUTH sent.
    Auth,
    /// `REPLCONF listening-port` sent.
    Port,
    /// `REPLCONF ip-address` sent (`replica-announce-ip`).
    IpAddress,
    /// `REPLCONF capa` sent.
    Capa,
    /// PSYNC sent.
    Psync,
    /// FULLRESYNC or CONTINUE received.
    Done,
}

/// The handshake's state.
#[derive(Debug, Clone)]
pub struct Handshake {
    state: State,
    listening_port: u16,
    auth: Option<Vec<u8>>,
    /// What PSYNC asks for: our cached replication id and the next offset we need.
    psync: Option<(String, u64)>,
    /// Append `FAILOVER` to PSYNC (we are a master handing over to this replica).
    failover: bool,
    /// `replica-announce-ip`: sent as `REPLCONF ip-address` after the port.
    announce_ip: Option<Vec<u8>>,
}

/// One command in RESP.
fn command(args: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    zedis_resp::encode_command(&mut out, args);
    out
}

impl Handshake {
    /// A handshake for a connected socket, and the bytes to send first (PING).
    ///
    /// `psync`: the replication id and processed offset to ask to continue from (None: a full sync).
    pub fn start(
        listening_port: u16,
        auth: Option<Vec<u8>>,
        psync: Option<(String, u64)>,
    ) -> (Handshake, Vec<u8>) {
        let hs = Handshake {
            state: State::Pong,
            listening_port,
            auth,
            psync,
            failover: false,
            announce_ip: None,
        };
        (hs, command(&[b"PING"]))
    }

    /// Asks the replica to take over (`PSYNC <replid> <offset> FAILOVER`).
    pub fn with_failover(mut self) -> Handshake {
        self.failover = true;
        self
    }

    /// Announces `ip` to the master (`REPLCONF ip-address`, Redis's `replica-announce-ip`).
    pub fn with_announce_ip(mut self, ip: Vec<u8>) -> Handshake {
        self.announce_ip = Some(ip);
        self
    }

    /// Whether the handshake is still before PSYNC (Redis's `handshake` state in ROLE).
    pub fn before_psync(&self) -> bool {
        matches!(
            self.state,
            State::Pong | State::Auth | State::Port | State::IpAddress | State::Capa
        )
    }

    fn replconf_port(&mut self) -> Step {
        self.state = State::Port;
        let port = self.listening_port.to_string();
        Step::Send(command(&[b"REPLCONF", b"listening-port", port.as_bytes()]))
    }

    fn replconf_capa(&mut self) -> Step {
        self.state = State::Capa;
        Step::Send(command(&[b"REPLCONF", b"capa", b"eof", b"capa", b"psync2"]))
    }

    fn psync(&mut self) -> Step {
        self.state = State::Psync;
        match &self.psync {
            Some((replid, processed)) => {
                let next = (processed + 1).to_string();
                let mut args: Vec<&[u8]> = vec![b"PSYNC", replid.as_bytes(), next.as_bytes()];
                if self.failover {
                    args.push(b"FAILOVER");
                }
                Step::Send(command(&args))
            }
            None => Step::Send(command(&[b"PSYNC", b"?", b"-1"])),
        }
    }

    /// Takes one reply line (without its CRLF) and says what to do.
    pub fn on_line(&mut self, line: &[u8]) -> Step {
        let text = String::from_utf8_lossy(line).into_owned();
        match self.state {
            State::Pong => {
                // Redis accepts -NOAUTH etc. here only to report them; any other error is fatal.
                if line.starts_with(b"-")
                    && !line.starts_with(b"-NOAUTH")
                    && !line.starts_with(b"-NOPERM")
                    && !line.starts_with(b"-ERR operation not permitted")
                {
                    return Step::Fail(format!("Error reply to PING from master: '{text}'"));
                }
                match self.auth.clone() {
                    Some(pass) => {
                        self.state = State::Auth;
                        Step::Send(command(&[b"AUTH", &pass]))
                    }
                    None => self.replconf_port(),
                }
            }
            State::Auth => {
                if line.starts_with(b"-") {
                    return Step::Fail(format!("Unable to AUTH to MASTER: {text}"));
                }
                self.replconf_port()
            }
            State::Port => {
                if line.starts_with(b"-") {
                    zedis_deploy::notice!(
                        "(Non critical) Master does not understand REPLCONF listening-port: {text}"
                    );
                }
                match self.announce_ip.clone() {
                    Some(ip) => {
                        self.state = State::IpAddress;
                        Step::Send(command(&[b"REPLCONF", b"ip-address", &ip]))
                    }
                    None => self.replconf_capa(),
                }
            }
            State::IpAddress => {
                if line.starts_with(b"-") {
                    zedis_deploy::notice!(
                        "(Non critical) Master does not understand REPLCONF ip-address: {text}"
                    );
                }
                self.replconf_capa()
            }
            State::Capa => {
                if line.starts_with(b"-") {
                    zedis_deploy::notice!(
                        "(Non critical) Master does not understand REPLCONF capa: {text}"
                    );
                }
                self.psync()
            }
            State::Psync => self.on_psync_reply(line, &text),
            State::Done => Step::Fail(format!("Unexpected reply after PSYNC: '{text}'")),
        }
    }

    fn on_psync_reply(&mut self, line: &[u8], text: &str) -> Step {
        // A master preparing the payload sends newlines to keep the link alive.
        if line.is_empty() {
            return Step::Wait;
        }
        if let Some(rest) = text.strip_prefix("+FULLRESYNC") {
            let mut parts = rest.split_whitespace();
            let (Some(replid), Some(offset)) = (parts.next(), parts.next()) else {
                return Step::Fail(format!(
                    "Master replied with wrong +FULLRESYNC syntax: '{text}'"
                ));
            };
            let Ok(offset) = offset.parse::<u64>() else {
                return Step::Fail(format!(
                    "Master replied with wrong +FULLRESYNC syntax: '{text}'"
                ));
            };
            if replid.len() != 40 {
                return Step::Fail(format!(
                    "Master replied with wrong +FULLRESYNC syntax: '{text}'"
                ));
            }
            self.state = State::Done;
            return Step::FullResync {
                replid: replid.to_string(),
                offset,
            };
        }
        if let Some(rest) = text.strip_prefix("+CONTINUE") {
            if self.psync.is_none() {
                return Step::Fail("Master accepted a PSYNC we did not ask for".into());
            }
            let new_replid = rest.trim();
            self.state = State::Done;
            return Step::Continue {
                new_replid: (new_replid.len() == 40).then(|| new_replid.to_string()),
            };
        }
        Step::Fail(format!("Unexpected reply to PSYNC from master: {text}"))
    }
}

/// How the payload's end is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Framing {
    /// Waiting for the `$` line.
    Header,
    /// `$<len>`: this many bytes.
    Length(u64),
    /// `$EOF:<40 bytes>`: until those 40 bytes end the data.
    Eof([u8; 40]),
}

/// Why a payload is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// The line before the payload is not `$<len>` or `$EOF:<mark>`.
    #[error("Bad protocol from MASTER, the first byte is not '$' (we received '{0}'), are you sure the host and port are right?")]
    BadHeader(String),
    /// The declared payload is larger than we accept.
    #[error("MASTER announced an RDB of {0} bytes, more than the {1} bytes allowed")]
    TooLarge(u64, u64),
}

/// Collects the RDB payload that follows `+FULLRESYNC`.
#[derive(Debug)]
pub struct RdbReceiver {
    framing: Framing,
    /// The payload so far (with an EOF mark, possibly the mark itself at the end).
    pub data: Vec<u8>,
    bytes_max: u64,
}

/// What [`RdbReceiver::feed`] found.
#[derive(Debug, PartialEq, Eq)]
pub struct Fed {
    /// Input bytes used (the rest belongs to the stream).
    pub consumed: usize,
    /// The payload is complete (`data` holds exactly the RDB).
    pub complete: bool,
}

impl RdbReceiver {
    /// A receiver refusing payloads over `bytes_max`.
    pub fn new(bytes_max: u64) -> RdbReceiver {
        RdbReceiver {
            framing: Framing::Header,
            data: Vec::new(),
            bytes_max,
        }
    }

    /// The announced size as Redis's `repl_transfer_size`: -1 before the `$` line, 0 with an EOF mark.
    pub fn total_bytes(&self) -> i64 {
        match self.framing {
            Framing::Header => -1,
            Framing::Length(len) => len as i64,
            Framing::Eof(_) => 0,
        }
    }

    /// The payload's framing (`Header` until the `$` line was read).
    pub fn framing(&self) -> &Framing {
        &self.framing
    }

    /// Reads only the `$` line (skipping keepalive newlines) from `input`; returns the bytes used. The
    /// payload itself is left to the caller (a diskless load reads it from the socket).
    pub fn feed_header(&mut self, input: &[u8]) -> Result<usize, PayloadError> {
        let mut consumed = 0;
        while self.framing == Framing::Header {
            let rest = &input[consumed..];
            let Some(nl) = rest.iter().position(|&b| b == b'\n') else {
                if rest.len() > LINE_BYTES_MAX {
                    return Err(PayloadError::BadHeader(lossy_prefix(rest)));
                }
                break;
            };
            let line = rest[..nl].strip_suffix(b"\r").unwrap_or(&rest[..nl]);
            consumed += nl + 1;
            if !line.is_empty() {
                self.framing = parse_header(line, self.bytes_max)?;
            }
        }
        Ok(consumed)
    }

    /// Takes bytes from the master.
    pub fn feed(&mut self, input: &[u8]) -> Result<Fed, PayloadError> {
        let mut consumed = 0;
        if self.framing == Framing::Header {
            loop {
                let rest = &input[consumed..];
                let Some(nl) = rest.iter().position(|&b| b == b'\n') else {
                    if rest.len() > LINE_BYTES_MAX {
                        return Err(PayloadError::BadHeader(lossy_prefix(rest)));
                    }
                    return Ok(Fed {
                        consumed,
                        complete: false,
                    });
                };
                let line = rest[..nl].strip_suffix(b"\r").unwrap_or(&rest[..nl]);
                consumed += nl + 1;
                // Keepalive newlines before the payload.
                if line.is_empty() {
                    continue;
                }
                self.framing = parse_header(line, self.bytes_max)?;
                break;
            }
        }
        let rest = &input[consumed..];
        match self.framing {
            Framing::Length(len) => {
                let want = (len - self.data.len() as u64).min(rest.len() as u64) as usize;
                self.data.extend_from_slice(&rest[..want]);
                Ok(Fed {
                    consumed: consumed + want,
                    complete: self.data.len() as u64 == len,
                })
            }
            Framing::Eof(mark) => {
                self.data.extend_from_slice(rest);
                if self.data.len() as u64 > self.bytes_max + 40 {
                    return Err(PayloadError::TooLarge(
                        self.data.len() as u64,
                        self.bytes_max,
                    ));
                }
                let complete = self.data.len() >= 40 && self.data.ends_with(&mark);
                if complete {
                    self.data.truncate(self.data.len() - 40);
                }
                Ok(Fed {
                    consumed: input.len(),
                    complete,
                })
            }
            Framing::Header => Ok(Fed {
                consumed,
                complete: false,
            }),
        }
    }
}

fn lossy_prefix(bytes: &[u8]) -> String {
    String::from_utf8_lossy(&bytes[..bytes.len().min(64)]).into_owned()
}

fn parse_header(line: &[u8], bytes_max: u64) -> Result<Framing, PayloadError> {
    if line.first() == Some(&b'-') {
        return Err(PayloadError::BadHeader(lossy_prefix(line)));
    }
    let Some(rest) = line.strip_prefix(b"$") else {
        return Err(PayloadError::BadHeader(lossy_prefix(line)));
    };
    if let Some(mark) = rest.strip_prefix(b"EOF:") {
        let mark: [u8; 40] = mark
            .try_into()
            .map_err(|_| PayloadError::BadHeader(lossy_prefix(line)))?;
        return Ok(Framing::Eof(mark));
    }
    let len = std::str::from_utf8(rest)
        .ok()
        .and_then(|t| t.parse::<u64>().ok())
        .ok_or_else(|| PayloadError::BadHeader(lossy_prefix(line)))?;
    if len > bytes_max {
        return Err(PayloadError::TooLarge(len, bytes_max));
    }
    Ok(Framing::Length(len))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sent(step: Step) -> String {
        match step {
            Step::Send(bytes) => String::from_utf8(bytes).unwrap(),
            other => panic!("expected Send, got {other:?}"),
        }
    }

    #[test]
    fn redis_7_handshake_order() {
        let (mut hs, first) = Handshake::start(6380, None, None);
        assert_eq!(first, b"*1\r\n$4\r\nPING\r\n");
        assert_eq!(
            sent(hs.on_line(b"+PONG")),
            "*3\r\n$8\r\nREPLCONF\r\n$14\r\nlistening-port\r\n$4\r\n6380\r\n"
        );
        assert_eq!(
            sent(hs.on_line(b"+OK")),
            "*5\r\n$8\r\nREPLCONF\r\n$4\r\ncapa\r\n$3\r\neof\r\n$4\r\ncapa\r\n$6\r\npsync2\r\n"
        );
        assert_eq!(
            sent(hs.on_line(b"+OK")),
            "*3\r\n$5\r\nPSYNC\r\n$1\r\n?\r\n$2\r\n-1\r\n"
        );
        assert_eq!(hs.on_line(b""), Step::Wait);
        let id = "a".repeat(40);
        assert_eq!(
            hs.on_line(format!("+FULLRESYNC {id} 1234").as_bytes()),
            Step::FullResync {
                replid: id,
                offset: 1234
            }
        );
        assert!(!hs.before_psync());
    }

    #[test]
    fn announce_ip_follows_the_port_as_in_redis() {
        let (hs, _) = Handshake::start(7000, None, None);
        let mut hs = hs.with_announce_ip(b"10.0.0.9".to_vec());
        hs.on_line(b"+PONG");
        assert_eq!(
            sent(hs.on_line(b"+OK")),
            "*3\r\n$8\r\nREPLCONF\r\n$10\r\nip-address\r\n$8\r\n10.0.0.9\r\n"
        );
        assert!(hs.before_psync());
        // A master that does not know it is not fatal.
        assert!(sent(hs.on_line(b"-ERR unknown")).contains("capa"));
    }

    #[test]
    fn psync_asks_for_the_next_byte_and_accepts_continue() {
        let id = "b".repeat(40);
        let (mut hs, _) = Handshake::start(1, Some(b"pw".to_vec()), Some((id.clone(), 99)));
        assert_eq!(
            sent(hs.on_line(b"-NOAUTH Authentication required.")),
            "*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n"
        );
        hs.on_line(b"+OK");
        hs.on_line(b"-ERR unknown");
        assert_eq!(
            sent(hs.on_line(b"+OK")),
            format!("*3\r\n$5\r\nPSYNC\r\n$40\r\n{id}\r\n$3\r\n100\r\n")
        );
        let new = "c".repeat(40);
        assert_eq!(
            hs.on_line(format!("+CONTINUE {new}").as_bytes()),
            Step::Continue {
                new_replid: Some(new)
            }
        );
    }

    #[test]
    fn errors_fail_the_link() {
        let (mut hs, _) = Handshake::start(1, None, None);
        assert!(matches!(hs.on_line(b"-ERR nope"), Step::Fail(_)));
        let (mut hs, _) = Handshake::start(1, None, None);
        hs.on_line(b"+PONG");
        hs.on_line(b"+OK");
        hs.on_line(b"+OK");
        assert!(matches!(hs.on_line(b"+FULLRESYNC short 1"), Step::Fail(_)));
        assert!(matches!(hs.on_line(b"garbage"), Step::Fail(_)));
    }

    #[test]
    fn payload_with_length_leaves_the_stream() {
        let mut r = RdbReceiver::new(1 << 20);
        let fed = r.feed(b"\n\n$5\r\nREDIS*1\r\n").unwrap();
        assert_eq!(
            fed,
            Fed {
                consumed: 11,
                complete: true
            }
        );
        assert_eq!(r.data, b"REDIS");
        assert!(matches!(
            RdbReceiver::new(4).feed(b"$5\r\n"),
            Err(PayloadError::TooLarge(5, 4))
        ));
        assert!(matches!(
            RdbReceiver::new(4).feed(b"+OK\r\n"),
            Err(PayloadError::BadHeader(_))
        ));
    }

    #[test]
    fn payload_with_eof_mark() {
        let mark = "m".repeat(40);
        let mut r = RdbReceiver::new(1 << 20);
        let header = format!("$EOF:{mark}\r\nREDIS0010");
        assert!(!r.feed(header.as_bytes()).unwrap().complete);
        assert!(r.feed(format!("xyz{mark}").as_bytes()).unwrap().complete);
        assert_eq!(r.data, b"REDIS0010xyz");
    }

    proptest! {
        /// Any split of the input gives the same payload and the same stream tail.
        #[test]
        fn any_split_gives_the_same_payload(payload in proptest::collection::vec(any::<u8>(), 0..300),
                                            tail in proptest::collection::vec(any::<u8>(), 0..50),
                                            cuts in proptest::collection::vec(0usize..400, 0..6)) {
            let mut input = format!("$_{}\r\n", payload.len()).replace('_', "").into_bytes();
            input.extend_from_slice(&payload);
            input.extend_from_slice(&tail);
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(input.len())).collect();
            cuts.push(input.len());
            cuts.sort_unstable();
            let mut r = RdbReceiver::new(1 << 20);
            let (mut buf, mut at, mut rest) = (Vec::new(), 0, None);
            for cut in cuts {
                buf.extend_from_slice(&input[at..cut]);
                at = cut;
                let fed = r.feed(&buf).unwrap();
                buf.drain(..fed.consumed);
                if fed.complete {
                    rest = Some(buf.clone());
                    break;
                }
            }
            let mut rest = rest.expect("complete");
            rest.extend_from_slice(&input[at..]);
            prop_assert_eq!(&r.data, &payload);
            prop_assert_eq!(rest, tail);
        }

        /// Arbitrary reply lines never panic.
        #[test]
        fn arbitrary_lines_never_panic(lines in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..60), 0..8)) {
            let (mut hs, _) = Handshake::start(1, None, None);
            for line in &lines {
                let _ = hs.on_line(line);
            }
            let mut r = RdbReceiver::new(100);
            for line in &lines {
                let _ = r.feed(line);
            }
        }
    }
}
