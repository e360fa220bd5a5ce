//! A client-side RESP3 value ([`Frame`]): decode any reply, encode any value; for tests and the bench harness,
//! not the server hot path (it allocates per value).

use memchr::memchr;

use crate::double::format_double_g17;

/// How deeply aggregates may nest in [`parse_frame`] input, so hostile input cannot overflow the stack.
pub const FRAME_DEPTH_MAX: usize = 128;

/// One RESP2/RESP3 value.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// `+text`: must not contain `\r` or `\n`.
    Simple(Vec<u8>),
    /// `-CODE text` or the RESP3 blob error `!len`; encoded as a blob error when it contains `\r` or `\n`.
    Error(Vec<u8>),
    /// `:n`.
    Integer(i64),
    /// `$len` bulk string.
    Bulk(Vec<u8>),
    /// RESP3 `_`, or a RESP2 `$-1` null bulk; encoded as `_`.
    Null,
    /// RESP2 `*-1`.
    NullArray,
    /// `*n`.
    Array(Vec<Frame>),
    /// RESP3 `%n`.
    Map(Vec<(Frame, Frame)>),
    /// RESP3 `~n`.
    Set(Vec<Frame>),
    /// RESP3 `>n` (pub/sub messages, invalidations).
    Push(Vec<Frame>),
    /// RESP3 `,d`; encoded with `%.17g`, which round-trips every finite value.
    Double(f64),
    /// RESP3 `#t` / `#f`.
    Boolean(bool),
    /// RESP3 `(digits`: an optional `-` then ASCII digits.
    BigNumber(Vec<u8>),
    /// RESP3 `=len\r\nfmt:text`.
    Verbatim {
        /// The three-byte format, `txt` or `mkd`.
        format: [u8; 3],
        /// The text after `fmt:`.
        text: Vec<u8>,
    },
    /// RESP3 `|n`: an attribute map and the value it annotates.
    Attribute {
        /// The attribute pairs.
        attributes: Vec<(Frame, Frame)>,
        /// The annotated reply.
        data: Box<Frame>,
    },
}

/// Why bytes are not a valid RESP3 value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The first byte of a value is not a RESP type byte.
    #[error("invalid type byte {0:#04x}")]
    InvalidType(u8),
    /// A line is not terminated by CRLF, or a bulk is not followed by CRLF.
    #[error("missing CRLF")]
    MissingCrlf,
    /// A length is not a non-negative integer (or -1 where null is allowed).
    #[error("invalid length")]
    InvalidLength,
    /// An integer, double, boolean or big number is malformed.
    #[error("invalid number")]
    InvalidNumber,
    /// A verbatim string shorter than 4 bytes or without `:` after its format.
    #[error("invalid verbatim string")]
    InvalidVerbatim,
    /// Aggregates nested deeper than [`FRAME_DEPTH_MAX`].
    #[error("nesting deeper than {FRAME_DEPTH_MAX}")]
    TooDeep,
    /// Streamed strings and aggregates (`$?`, `*?`), which Redis never sends.
    #[error("streamed types are not supported")]
    Streamed,
}

/// Internal outcome: incomplete input is not an error but must unwind like one.
enum Fail {
    Incomplete,
    Invalid(FrameError),
}

impl From<FrameError> for Fail {
    fn from(error: FrameError) -> Self {
        Fail::Invalid(error)
    }
}

/// Decodes one value at the start of `buf`: `Ok(None)` when incomplete, else the value and its length in bytes.
///
/// ```
/// use zedis_resp::frame::{parse_frame, Frame};
/// let (frame, used) = parse_frame(b"*2\r\n:1\r\n$1\r\nx\r\n+extra").unwrap().unwrap();
/// assert_eq!(frame, Frame::Array(vec![Frame::Integer(1), Frame::Bulk(b"x".to_vec())]));
/// assert_eq!(used, 15);
/// assert_eq!(parse_frame(b"$5\r\nab"), Ok(None));
/// ```
pub fn parse_frame(buf: &[u8]) -> Result<Option<(Frame, usize)>, FrameError> {
    let mut reader = Reader { buf, pos: 0 };
    match reader.frame(0) {
        Ok(frame) => Ok(Some((frame, reader.pos))),
        Err(Fail::Incomplete) => Ok(None),
        Err(Fail::Invalid(error)) => Err(error),
    }
}

/// Encodes a request as a multibulk array of bulk strings, as clients send it.
pub fn encode_command(out: &mut Vec<u8>, args: &[&[u8]]) {
    crate::reply::array_len(out, args.len());
    for arg in args {
        crate::reply::bulk(out, arg);
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    /// Offset of the next unread byte.
    pos: usize,
}

impl Reader<'_> {
    /// Reads up to CRLF; returns the line without it.
    fn line(&mut self) -> Result<&[u8], Fail> {
        let rest = &self.buf[self.pos..];
        let cr = memchr(b'\r', rest).ok_or(Fail::Incomplete)?;
        match rest.get(cr + 1) {
            None => Err(Fail::Incomplete),
            Some(b'\n') => {
                self.pos += cr + 2;
                Ok(&rest[..cr])
            }
            Some(_) => Err(FrameError::MissingCrlf.into()),
        }
    }

    /// Reads exactly `len` bytes followed by CRLF.
    fn blob(&mut self, len: usize) -> Result<&[u8], Fail> {
        let rest = &self.buf[self.pos..];
        if rest.len() < len.saturating_add(2) {
            return Err(Fail::Incomplete);
        }
        if &rest[len..len + 2] != b"\r\n" {
            return Err(FrameError::MissingCrlf.into());
        }
        self.pos += len + 2;
        Ok(&rest[..len])
    }

    /// A length line: `Some(n)`, or `None` for `-1`.
    fn length(&mut self) -> Result<Option<usize>, Fail> {
        let line = self.line()?;
        if line == b"?" {
            return Err(FrameError::Streamed.into());
        }
        if line == b"-1" {
            return Ok(None);
        }
        let text = std::str::from_utf8(line).map_err(|_| FrameError::InvalidLength)?;
        let len = text
            .parse::<usize>()
            .map_err(|_| FrameError::InvalidLength)?;
        Ok(Some(len))
    }

    fn frame(&mut self, depth: usize) -> Result<Frame, Fail> {
        let &kind = self.buf.get(self.pos).ok_or(Fail::Incomplete)?;
        self.pos += 1;
        match kind {
            b'+' => Ok(Frame::Simple(self.line()?.to_vec())),
            b'-' => Ok(Frame::Error(self.line()?.to_vec())),
            b':' => Ok(Frame::Integer(parse_number::<i64>(self.line()?)?)),
            b'_' => self.line().and_then(|line| match line {
                b"" => Ok(Frame::Null),
                _ => Err(FrameError::InvalidLength.into()),
            }),
            b',' => Ok(Frame::Double(parse_number::<f64>(self.line()?)?)),
            b'#' => match self.line()? {
                b"t" => Ok(Frame::Boolean(true)),
                b"f" => Ok(Frame::Boolean(false)),
                _ => Err(FrameError::InvalidNumber.into()),
            },
            b'(' => {
                let digits = self.line()?;
                let body = digits.strip_prefix(b"-").unwrap_or(digits);
                if body.is_empty() || !body.iter().all(u8::is_ascii_digit) {
                    return Err(FrameError::InvalidNumber.into());
                }
                Ok(Frame::BigNumber(digits.to_vec()))
            }
            b'$' | b'!' | b'=' => self.blob_frame(kind),
            b'*' | b'~' | b'>' | b'%' | b'|' => self.aggregate(kind, depth),
            other => Err(FrameError::InvalidType(other).into()),
        }
    }

    /// `$`, `!` and `=` values.
    fn blob_frame(&mut self, kind: u8) -> Result<Frame, Fail> {
        let Some(len) = self.length()? else {
            return if kind == b'$' {
                Ok(Frame::Null)
            } else {
                Err(FrameError::InvalidLength.into())
            };
        };
        let bytes = self.blob(len)?;
        match kind {
            b'$' => Ok(Frame::Bulk(bytes.to_vec())),
            b'!' => Ok(Frame::Error(bytes.to_vec())),
            _ => match bytes {
                [a, b, c, b':', text @ ..] => Ok(Frame::Verbatim {
                    format: [*a, *b, *c],
                    text: text.to_vec(),
                }),
                _ => Err(FrameError::InvalidVerbatim.into()),
            },
        }
    }

    /// `*`, `~`, `>`, `%` and `|` values.
    fn aggregate(&mut self, kind: u8, depth: usize) -> Result<Frame, Fail> {
        if depth >= FRAME_DEPTH_MAX {
            return Err(FrameError::TooDeep.into());
        }
        let Some(count) = self.length()? else {
            return if kind == b'*' {
                Ok(Frame::NullArray)
            } else {
                Err(FrameError::InvalidLength.into())
            };
        };
        match kind {
            b'%' => Ok(Frame::Map(self.pairs(count, depth)?)),
            b'|' => {
                let attributes = self.pairs(count, depth)?;
                let data = Box::new(self.frame(depth + 1)?);
                Ok(Frame::Attribute { attributes, data })
            }
            _ => {
                let items = self.items(count, depth)?;
                Ok(match kind {
                    b'~' => Frame::Set(items),
                    b'>' => Frame::Push(items),
                    _ => Frame::Array(items),
                })
            }
        }
    }

    fn items(&mut self, count: usize, depth: usize) -> Result<Vec<Frame>, Fail> {
        // Never trust a declared count for the allocation: every value takes at least 3 bytes.
        let mut items = Vec::with_capacity(count.min((self.buf.len() - self.pos) / 3));
        for _ in 0..count {
            items.push(self.frame(depth + 1)?);
        }
        Ok(items)
    }

    fn pairs(&mut self, count: usize, depth: usize) -> Result<Vec<(Frame, Frame)>, Fail> {
        let mut pairs = Vec::with_capacity(count.min((self.buf.len() - self.pos) / 6));
        for _ in 0..count {
            let key = self.frame(depth + 1)?;
            let value = self.frame(depth + 1)?;
            pairs.push((key, value));
        }
        Ok(pairs)
    }
}

fn parse_number<T: std::str::FromStr>(line: &[u8]) -> Result<T, Fail> {
    let text = std::str::from_utf8(line).map_err(|_| FrameError::InvalidNumber)?;
    text.parse().map_err(|_| FrameError::InvalidNumber.into())
}

impl Frame {
    /// Appends the RESP3 encoding of `self`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        use crate::reply;
        match self {
            Frame::Simple(text) => line(out, b'+', text),
            Frame::Error(text) if memchr::memchr2(b'\r', b'\n', text).is_some() => {
                blob(out, b'!', text);
            }
            Frame::Error(text) => line(out, b'-', text),
            Frame::Integer(n) => reply::integer(out, *n),
            Frame::Bulk(bytes) => reply::bulk(out, bytes),
            Frame::Null => out.extend_from_slice(b"_\r\n"),
            Frame::NullArray => out.extend_from_slice(b"*-1\r\n"),
            Frame::Array(items) => encode_all(out, b'*', items),
            Frame::Set(items) => encode_all(out, b'~', items),
            Frame::Push(items) => encode_all(out, b'>', items),
            Frame::Map(pairs) => encode_pairs(out, b'%', pairs),
            Frame::Double(d) => {
                out.push(b',');
                format_double_g17(out, *d);
                out.extend_from_slice(b"\r\n");
            }
            Frame::Boolean(b) => reply::boolean(out, reply::Protocol::Resp3, *b),
            Frame::BigNumber(digits) => line(out, b'(', digits),
            Frame::Verbatim { format, text } => {
                reply::verbatim(out, reply::Protocol::Resp3, format, text)
            }
            Frame::Attribute { attributes, data } => {
                encode_pairs(out, b'|', attributes);
                data.encode(out);
            }
        }
    }

    /// The RESP3 encoding of `self` in a new vector.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }
}

fn line(out: &mut Vec<u8>, kind: u8, text: &[u8]) {
    out.push(kind);
    out.extend_from_slice(text);
    out.extend_from_slice(b"\r\n");
}

fn blob(out: &mut Vec<u8>, kind: u8, bytes: &[u8]) {
    out.push(kind);
    out.extend_from_slice(itoa::Buffer::new().format(bytes.len()).as_bytes());
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(bytes);
    out.extend_from_slice(b"\r\n");
}

fn count_header(out: &mut Vec<u8>, kind: u8, count: usize) {
    out.push(kind);
    out.extend_from_slice(itoa::Buffer::new().format(count).as_bytes());
    out.extend_from_slice(b"\r\n");
}

fn encode_all(out: &mut Vec<u8>, kind: u8, items: &[Frame]) {
    count_header(out, kind, items.len());
    for item in items {
        item.encode(out);
    }
}

fn encode_pairs(out: &mut Vec<u8>, kind: u8, pairs: &[(Frame, Frame)]) {
    count_header(out, kind, pairs.len());
    for (key, value) in pairs {
        key.encode(out);
        value.encode(out);
    }
}

#[cfg(test)]
#[path = "frame_tests.rs"]
mod tests;
