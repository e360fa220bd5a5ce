//! The test application both ping servers run: PING and ECHO over RESP, parsed with `zedis-resp` as the
//! server parses (a query buffer, `RequestParser` at its start, consumed bytes dropped).

use zedis_resp::{reply, ParserLimits, RequestParser};

/// A query buffer may not grow past this (the peer is closed, as with `client-query-buffer-limit`).
pub const QUERY_BYTES_MAX: usize = 64 * 1024 * 1024;

/// One connection's protocol state.
pub struct Session {
    query: Vec<u8>,
    parser: RequestParser,
    /// Replies produced and not yet handed to the I/O layer.
    pub out: Vec<u8>,
    /// A protocol error was answered: close once the reply is sent.
    pub close_after_reply: bool,
}

impl Default for Session {
    fn default() -> Self {
        Self {
            query: Vec::new(),
            parser: RequestParser::new(ParserLimits::default()),
            out: Vec::new(),
            close_after_reply: false,
        }
    }
}

impl Session {
    /// Appends received bytes and runs every complete command; returns how many ran, or `None` when the query
    /// buffer limit was passed (close the connection).
    pub fn input(&mut self, bytes: &[u8]) -> Option<u64> {
        if self.close_after_reply {
            return Some(0);
        }
        if self.query.len() + bytes.len() > QUERY_BYTES_MAX {
            return None;
        }
        self.query.extend_from_slice(bytes);
        let mut pos = 0;
        let mut ran = 0;
        while pos < self.query.len() {
            match self.parser.parse(&mut self.query[pos..]) {
                Ok(None) => break,
                Ok(Some(consumed)) => {
                    let base = pos;
                    pos += consumed;
                    let spans = self.parser.args();
                    if spans.is_empty() {
                        continue;
                    }
                    let data = &self.query[base..];
                    let argv: Vec<&[u8]> = spans.iter().map(|s| &data[s.clone()]).collect();
                    execute(&argv, &mut self.out);
                    ran += 1;
                }
                Err(err) => {
                    reply::error(&mut self.out, err.reply_text().as_bytes());
                    self.close_after_reply = true;
                    pos = self.query.len();
                    break;
                }
            }
        }
        self.query.drain(..pos);
        Some(ran)
    }
}

/// PING [message], ECHO message; anything else gets Redis's unknown-command error.
fn execute(argv: &[&[u8]], out: &mut Vec<u8>) {
    let name = argv[0];
    if name.eq_ignore_ascii_case(b"PING") && argv.len() <= 2 {
        match argv.get(1) {
            None => reply::simple(out, b"PONG"),
            Some(msg) => reply::bulk(out, msg),
        }
    } else if name.eq_ignore_ascii_case(b"ECHO") && argv.len() == 2 {
        reply::bulk(out, argv[1]);
    } else if name.eq_ignore_ascii_case(b"PING") || name.eq_ignore_ascii_case(b"ECHO") {
        let lower = String::from_utf8_lossy(name).to_ascii_lowercase();
        reply::error(
            out,
            format!("ERR wrong number of arguments for '{lower}' command").as_bytes(),
        );
    } else {
        reply::error(out, b"ERR unknown command");
    }
}
