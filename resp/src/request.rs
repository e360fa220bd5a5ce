//! [`RequestParser`]: Redis 7.0's `processInlineBuffer` and `processMultibulkBuffer`, resumable and zero-copy.

use std::ops::Range;

use memchr::memchr;

use crate::inline::split_args;
use crate::number::parse_i64_strict;
use crate::ProtocolError;

/// Redis's `PROTO_INLINE_MAX_SIZE`: the longest inline request or `*N`/`$N` header line still being waited for.
pub const INLINE_BYTES_MAX_DEFAULT: usize = 64 * 1024;
/// Redis's `proto-max-bulk-len` default.
pub const BULK_BYTES_MAX_DEFAULT: usize = 512 * 1024 * 1024;
/// Redis 7.0 rejects `*N` with `N > INT_MAX` (verified against redis-server 7.0.15).
pub const MULTIBULK_LEN_MAX_DEFAULT: usize = i32::MAX as usize;
/// The largest `*N` a client that has not authenticated may send.
pub const UNAUTHENTICATED_MULTIBULK_LEN_MAX: usize = 10;
/// The largest `$N` a client that has not authenticated may send.
pub const UNAUTHENTICATED_BULK_BYTES_MAX: usize = 16 * 1024;
/// Redis's `PROTO_MBULK_BIG_ARG`: from this bulk size on, Redis sizes its query buffer to hold the whole bulk.
pub const BIG_ARG_BYTES: usize = 32 * 1024;

/// Redis's request limits.
#[derive(Debug, Clone, Copy)]
pub struct ParserLimits {
    /// `proto-max-bulk-len`: the largest `$N` accepted.
    pub bulk_bytes_max: usize,
    /// `PROTO_INLINE_MAX_SIZE`: how many bytes may be buffered while waiting for the end of an inline request or
    /// of a `*N`/`$N` header line. As in Redis, a complete line is accepted whatever its length: the check only
    /// fires while the line terminator has not arrived.
    pub inline_bytes_max: usize,
    /// The largest `*N` accepted.
    pub multibulk_len_max: usize,
}

impl Default for ParserLimits {
    fn default() -> Self {
        Self {
            bulk_bytes_max: BULK_BYTES_MAX_DEFAULT,
            inline_bytes_max: INLINE_BYTES_MAX_DEFAULT,
            multibulk_len_max: MULTIBULK_LEN_MAX_DEFAULT,
        }
    }
}

/// What the parser is waiting for. Offsets are relative to the start of the current request (`buf[0]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// No request in progress: the next call starts one; `args` is cleared then.
    Idle,
    /// An inline request: waiting for `\n`.
    Inline,
    /// A multibulk request: waiting for the `*N\r?` line.
    MultibulkHeader,
    /// Waiting for a `$N\r?` line; `args_left > 0` bulks are still to come.
    BulkHeader { args_left: usize },
    /// Waiting for `len` bytes plus two terminator bytes at `pos`; `args_left > 0` counts this bulk.
    BulkData { args_left: usize, len: usize },
}

/// Per-connection request parser. Zero-copy: argument spans index into the caller's buffer.
///
/// ```
/// use zedis_resp::{ParserLimits, RequestParser};
///
/// let mut parser = RequestParser::new(ParserLimits::default());
/// let mut buf = b"*2\r\n$4\r\nECHO\r\n$5\r\nhel".to_vec();
/// assert_eq!(parser.parse(&mut buf), Ok(None)); // incomplete: append more and call again
/// buf.extend_from_slice(b"lo\r\nPING\r\n");
/// let consumed = parser.parse(&mut buf).unwrap().unwrap();
/// let args: Vec<&[u8]> = parser.args().iter().map(|span| &buf[span.clone()]).collect();
/// assert_eq!(args, [&b"ECHO"[..], b"hello"]);
///
/// // The caller drops the consumed bytes; the next request starts at the buffer start.
/// buf.drain(..consumed);
/// assert_eq!(parser.parse(&mut buf), Ok(Some(6)));
/// assert_eq!(&buf[parser.args()[0].clone()], b"PING");
/// ```
#[derive(Debug, Clone)]
pub struct RequestParser {
    limits: ParserLimits,
    /// False while Redis's `authRequired(c)` would be true (requirepass set, not yet authenticated).
    authenticated: bool,
    state: State,
    /// Offset of the next unparsed byte of the current request; `pos <= scan`.
    pos: usize,
    /// Offset from which the search for the current line's terminator resumes: bytes in `pos..scan` are known
    /// not to hold it, so a header arriving byte by byte is scanned once.
    scan: usize,
    /// Spans of the arguments parsed so far for the current request (all of them once it is complete).
    /// Reused across requests: never shrunk, never reserved from a declared length.
    args: Vec<Range<usize>>,
}

impl RequestParser {
    /// A parser for a new connection, which counts as authenticated (no `requirepass`) until told otherwise.
    pub fn new(limits: ParserLimits) -> Self {
        Self {
            limits,
            authenticated: true,
            state: State::Idle,
            pos: 0,
            scan: 0,
            args: Vec::new(),
        }
    }

    /// Replaces the limits (`CONFIG SET proto-max-bulk-len`); they apply to headers parsed from now on.
    pub fn set_limits(&mut self, limits: ParserLimits) {
        self.limits = limits;
    }

    /// Redis's rules for clients that have not authenticated (`requirepass`): multibulk length > 10 ->
    /// "Protocol error: unauthenticated multibulk length", bulk > 16384 -> "Protocol error: unauthenticated bulk
    /// length".
    pub fn set_authenticated(&mut self, yes: bool) {
        self.authenticated = yes;
    }

    /// Parses the next request at the START of `buf`.
    ///
    /// `Ok(None)`: incomplete; the parser keeps its state, and the caller calls again later with the same buffer
    /// start and more bytes appended; scanned headers and complete bulks are not rescanned. `Ok(Some(consumed))`:
    /// a full request of `consumed` bytes; its argument spans (into `buf`) are in [`RequestParser::args`] until
    /// the next call. An empty inline line or `*0`/`*-N` gives `Ok(Some(n))` with no arguments (skip it, as Redis
    /// does). Inline requests are unescaped in place. On `Err` the parser is reset; Redis replies with
    /// [`ProtocolError::reply_bytes`] and closes the connection.
    ///
    /// As in Redis, the two bytes after a bulk are skipped without checking that they are CRLF, and so is the
    /// byte after the `\r` of a `*N`/`$N` line.
    pub fn parse(&mut self, buf: &mut [u8]) -> Result<Option<usize>, ProtocolError> {
        if self.scan > buf.len() {
            // The caller broke the contract (a shorter buffer than last time): start over rather than index out
            // of bounds.
            self.reset();
        }
        if self.state == State::Idle {
            self.args.clear();
            let Some(&first) = buf.first() else {
                return Ok(None);
            };
            self.pos = 0;
            self.scan = 0;
            self.state = if first == b'*' {
                State::MultibulkHeader
            } else {
                State::Inline
            };
        }
        let result = if self.state == State::Inline {
            self.parse_inline(buf)
        } else {
            self.parse_multibulk(buf)
        };
        if result.is_err() {
            self.reset();
        }
        result
    }

    /// The argument spans of the request last returned by [`RequestParser::parse`], as offsets into its `buf`.
    pub fn args(&self) -> &[Range<usize>] {
        &self.args
    }

    /// While waiting for a bulk's bytes: how many bytes in total (from the buffer start) the current request
    /// needs at least, so the server can grow its read buffer once (Redis does so for bulks of
    /// [`BIG_ARG_BYTES`] or more). `None` when not waiting for bulk data.
    pub fn bytes_wanted(&self) -> Option<usize> {
        match self.state {
            State::BulkData { len, .. } => Some(self.pos.saturating_add(len).saturating_add(2)),
            _ => None,
        }
    }

    /// Forgets any partial request (RESET, or after an error).
    pub fn reset(&mut self) {
        self.state = State::Idle;
        self.pos = 0;
        self.scan = 0;
        self.args.clear();
    }

    /// `processInlineBuffer`: the request is the line up to `\n` (a `\r` before it is dropped).
    fn parse_inline(&mut self, buf: &mut [u8]) -> Result<Option<usize>, ProtocolError> {
        let Some(found) = memchr(b'\n', &buf[self.scan..]) else {
            if buf.len() > self.limits.inline_bytes_max {
                return Err(ProtocolError::TooBigInlineRequest);
            }
            self.scan = buf.len();
            return Ok(None);
        };
        let newline = self.scan + found;
        let end = if newline > 0 && buf[newline - 1] == b'\r' {
            newline - 1
        } else {
            newline
        };
        split_args(&mut buf[..end], &mut self.args)?;
        self.state = State::Idle;
        Ok(Some(newline + 1))
    }

    /// `processMultibulkBuffer`, resumed from `self.state`.
    fn parse_multibulk(&mut self, buf: &[u8]) -> Result<Option<usize>, ProtocolError> {
        loop {
            match self.state {
                State::MultibulkHeader => {
                    let Some(count) = self.multibulk_header(buf)? else {
                        return Ok(None);
                    };
                    if count == 0 {
                        self.state = State::Idle;
                        return Ok(Some(self.pos));
                    }
                    self.state = State::BulkHeader { args_left: count };
                }
                State::BulkHeader { args_left } => {
                    let Some(len) = self.bulk_header(buf)? else {
                        return Ok(None);
                    };
                    self.state = State::BulkData { args_left, len };
                }
                State::BulkData { args_left, len } => {
                    let available = buf.len() - self.pos;
                    if available < len.saturating_add(2) {
                        return Ok(None);
                    }
                    self.args.push(self.pos..self.pos + len);
                    self.pos += len + 2;
                    self.scan = self.pos;
                    if args_left == 1 {
                        self.state = State::Idle;
                        return Ok(Some(self.pos));
                    }
                    self.state = State::BulkHeader {
                        args_left: args_left - 1,
                    };
                }
                State::Idle | State::Inline => return Ok(None),
            }
        }
    }

    /// Parses `*N\r?`; returns the argument count (0 for any `N <= 0`).
    fn multibulk_header(&mut self, buf: &[u8]) -> Result<Option<usize>, ProtocolError> {
        let (cr, count) = match short_header(buf, self.pos, b'*') {
            Some((cr, count)) => (cr, count),
            None => {
                let Some(cr) = self.find_line_end(buf, ProtocolError::TooBigMultibulkCount)? else {
                    return Ok(None);
                };
                match parse_i64_strict(&buf[self.pos + 1..cr]) {
                    Some(count) if count <= 0 => (cr, 0),
                    Some(count) => (
                        cr,
                        usize::try_from(count)
                            .map_err(|_| ProtocolError::InvalidMultibulkLength)?,
                    ),
                    None => return Err(ProtocolError::InvalidMultibulkLength),
                }
            }
        };
        if count > self.limits.multibulk_len_max {
            return Err(ProtocolError::InvalidMultibulkLength);
        }
        if count > UNAUTHENTICATED_MULTIBULK_LEN_MAX && !self.authenticated {
            return Err(ProtocolError::UnauthenticatedMultibulkLength);
        }
        self.pos = cr + 2;
        self.scan = self.pos;
        Ok(Some(count))
    }

    /// Parses `$N\r?`; returns the bulk length.
    fn bulk_header(&mut self, buf: &[u8]) -> Result<Option<usize>, ProtocolError> {
        let (cr, len) = match short_header(buf, self.pos, b'$') {
            Some(found) => found,
            None => {
                let Some(cr) = self.find_line_end(buf, ProtocolError::TooBigBulkCount)? else {
                    return Ok(None);
                };
                let first = buf[self.pos];
                if first != b'$' {
                    return Err(ProtocolError::ExpectedDollar { got: first });
                }
                let len = parse_i64_strict(&buf[self.pos + 1..cr])
                    .and_then(|len| usize::try_from(len).ok())
                    .ok_or(ProtocolError::InvalidBulkLength)?;
                (cr, len)
            }
        };
        if len > self.limits.bulk_bytes_max {
            return Err(ProtocolError::InvalidBulkLength);
        }
        if len > UNAUTHENTICATED_BULK_BYTES_MAX && !self.authenticated {
            return Err(ProtocolError::UnauthenticatedBulkLength);
        }
        self.pos = cr + 2;
        self.scan = self.pos;
        Ok(Some(len))
    }

    /// Finds the `\r` ending the header line at `pos`; like Redis, it also needs one more byte (meant to be
    /// `\n`, not checked). Without a `\r`, more than `inline_bytes_max` buffered bytes is `too_big`.
    fn find_line_end(
        &mut self,
        buf: &[u8],
        too_big: ProtocolError,
    ) -> Result<Option<usize>, ProtocolError> {
        let Some(found) = memchr(b'\r', &buf[self.scan..]) else {
            if buf.len() - self.pos > self.limits.inline_bytes_max {
                return Err(too_big);
            }
            self.scan = buf.len();
            return Ok(None);
        };
        let cr = self.scan + found;
        self.scan = cr;
        Ok((cr + 2 <= buf.len()).then_some(cr))
    }
}

/// Digits a header's fast path reads at most (so the value fits any `usize` without checks).
const SHORT_HEADER_DIGITS_MAX: usize = 9;

/// The fast path of a `*N`/`$N` header at `pos` (almost every real one): `prefix`, then `0` alone or 1 to
/// [`SHORT_HEADER_DIGITS_MAX`] digits without a leading zero, then `\r` and one more byte. Returns the offset of
/// the `\r` and the value, exactly what the general path (`find_line_end`, then `string2ll`) finds for such a
/// line; `None` sends anything else (incomplete, signed, long, malformed) to that path.
#[inline]
fn short_header(buf: &[u8], pos: usize, prefix: u8) -> Option<(usize, usize)> {
    if *buf.get(pos)? != prefix {
        return None;
    }
    let first = *buf.get(pos + 1)?;
    let mut value = match first {
        b'0' => 0,
        b'1'..=b'9' => usize::from(first - b'0'),
        _ => return None,
    };
    let mut i = pos + 2;
    if first != b'0' {
        while i < pos + 1 + SHORT_HEADER_DIGITS_MAX {
            match buf.get(i) {
                Some(&digit @ b'0'..=b'9') => value = value * 10 + usize::from(digit - b'0'),
                _ => break,
            }
            i += 1;
        }
    }
    // The line must end here, with the byte after `\r` already received (Redis skips it unchecked).
    (*buf.get(i)? == b'\r' && i + 2 <= buf.len()).then_some((i, value))
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
