//! Reply encoding: append RESP2/RESP3 replies to a `Vec<u8>`, downgrading RESP3 types for RESP2 clients exactly
//! as Redis 7.0 does.
//!
//! ```
//! use zedis_resp::{reply, Protocol};
//! let mut out = Vec::new();
//! reply::map_len(&mut out, Protocol::Resp2, 1);
//! reply::bulk(&mut out, b"score");
//! reply::double(&mut out, Protocol::Resp2, 1.5);
//! assert_eq!(out, b"*2\r\n$5\r\nscore\r\n$3\r\n1.5\r\n");
//! ```

pub use crate::double::{format_double_g17, format_g, G_PRECISION_MAX};

/// The protocol a client speaks (`HELLO 2` / `HELLO 3`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    /// RESP2, every connection's protocol until `HELLO 3`.
    #[default]
    Resp2,
    /// RESP3.
    Resp3,
}

const CRLF: &[u8] = b"\r\n";

/// `<prefix><n>\r\n`.
fn header<N: itoa::Integer>(out: &mut Vec<u8>, prefix: u8, n: N) {
    out.push(prefix);
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
    out.extend_from_slice(CRLF);
}

/// Appends `s` with every `\r` and `\n` replaced by a space, so a line reply can never break the protocol.
fn line_sanitized(out: &mut Vec<u8>, s: &[u8]) {
    let start = out.len();
    out.extend_from_slice(s);
    if memchr::memchr2(b'\r', b'\n', s).is_some() {
        for byte in &mut out[start..] {
            if *byte == b'\r' || *byte == b'\n' {
                *byte = b' ';
            }
        }
    }
}

/// `+s\r\n`; a `\r` or `\n` in `s` becomes a space.
pub fn simple(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'+');
    line_sanitized(out, s);
    out.extend_from_slice(CRLF);
}

/// `-s\r\n`, where `s` includes the error code (`b"ERR ..."`, `b"WRONGTYPE ..."`); a leading `-` in `s` is not
/// doubled. Newlines in `s` become spaces, as Redis's `addReplyErrorFormat` does.
pub fn error(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'-');
    line_sanitized(out, s.strip_prefix(b"-").unwrap_or(s));
    out.extend_from_slice(CRLF);
}

/// `+OK\r\n`.
pub fn ok(out: &mut Vec<u8>) {
    out.extend_from_slice(b"+OK\r\n");
}

/// `:n\r\n`.
pub fn integer(out: &mut Vec<u8>, n: i64) {
    header(out, b':', n);
}

/// `$len\r\n` alone, for a bulk whose bytes the caller appends itself (followed by `\r\n`).
pub fn bulk_len(out: &mut Vec<u8>, len: usize) {
    header(out, b'$', len);
}

/// `$len\r\n b \r\n`.
pub fn bulk(out: &mut Vec<u8>, b: &[u8]) {
    bulk_len(out, b.len());
    out.extend_from_slice(b);
    out.extend_from_slice(CRLF);
}

/// An integer as a bulk string (Redis's `addReplyBulkLongLong`).
pub fn bulk_int(out: &mut Vec<u8>, n: i64) {
    bulk(out, itoa::Buffer::new().format(n).as_bytes());
}

/// The null reply: RESP2 `$-1`, RESP3 `_`.
pub fn null(out: &mut Vec<u8>, p: Protocol) {
    out.extend_from_slice(match p {
        Protocol::Resp2 => b"$-1\r\n",
        Protocol::Resp3 => b"_\r\n",
    });
}

/// The null array reply: RESP2 `*-1`, RESP3 `_`.
pub fn null_array(out: &mut Vec<u8>, p: Protocol) {
    out.extend_from_slice(match p {
        Protocol::Resp2 => b"*-1\r\n",
        Protocol::Resp3 => b"_\r\n",
    });
}

/// `*n`: an array of `n` elements follows.
pub fn array_len(out: &mut Vec<u8>, n: usize) {
    header(out, b'*', n);
}

/// A map of `n` key-value pairs follows: RESP3 `%n`, RESP2 `*2n`.
pub fn map_len(out: &mut Vec<u8>, p: Protocol, n: usize) {
    match p {
        Protocol::Resp2 => header(out, b'*', n.saturating_mul(2)),
        Protocol::Resp3 => header(out, b'%', n),
    }
}

/// A set of `n` elements follows: RESP3 `~n`, RESP2 `*n`.
pub fn set_len(out: &mut Vec<u8>, p: Protocol, n: usize) {
    header(out, if p == Protocol::Resp3 { b'~' } else { b'*' }, n);
}

/// A push of `n` elements follows: RESP3 `>n`, RESP2 `*n`.
pub fn push_len(out: &mut Vec<u8>, p: Protocol, n: usize) {
    header(out, if p == Protocol::Resp3 { b'>' } else { b'*' }, n);
}

/// Redis 7.0's `addReplyDouble`: `%.17g`; infinities as `inf`/`-inf`; RESP3 `,d`, RESP2 a bulk string.
pub fn double(out: &mut Vec<u8>, p: Protocol, d: f64) {
    match p {
        Protocol::Resp2 => {
            // Format in place, then move the (at most 24) bytes behind their `$len` header.
            let start = out.len();
            format_double_g17(out, d);
            let mut text = [0u8; 32];
            let len = (out.len() - start).min(text.len());
            text[..len].copy_from_slice(&out[start..start + len]);
            out.truncate(start);
            bulk(out, &text[..len]);
        }
        Protocol::Resp3 => {
            out.push(b',');
            format_double_g17(out, d);
            out.extend_from_slice(CRLF);
        }
    }
}

/// RESP3 `#t`/`#f`, RESP2 `:1`/`:0`.
pub fn boolean(out: &mut Vec<u8>, p: Protocol, b: bool) {
    out.extend_from_slice(match (p, b) {
        (Protocol::Resp3, true) => b"#t\r\n",
        (Protocol::Resp3, false) => b"#f\r\n",
        (Protocol::Resp2, true) => b":1\r\n",
        (Protocol::Resp2, false) => b":0\r\n",
    });
}

/// A verbatim string (`INFO`, `LOLWUT`, ...): RESP3 `=len\r\nfmt:text\r\n`, RESP2 a bulk string of `text`.
pub fn verbatim(out: &mut Vec<u8>, p: Protocol, format: &[u8; 3], text: &[u8]) {
    match p {
        Protocol::Resp2 => bulk(out, text),
        Protocol::Resp3 => {
            header(out, b'=', text.len() + 4);
            out.extend_from_slice(format);
            out.push(b':');
            out.extend_from_slice(text);
            out.extend_from_slice(CRLF);
        }
    }
}

/// A big number: RESP3 `(digits`, RESP2 a bulk string of the digits.
pub fn big_number(out: &mut Vec<u8>, p: Protocol, digits: &[u8]) {
    match p {
        Protocol::Resp2 => bulk(out, digits),
        Protocol::Resp3 => {
            out.push(b'(');
            line_sanitized(out, digits);
            out.extend_from_slice(CRLF);
        }
    }
}

/// RESP3 `|n`: an attribute map of `n` pairs follows, then the reply it annotates. RESP3 only: Redis never sends
/// attributes to RESP2 clients, so the caller must not either.
pub fn attribute_len(out: &mut Vec<u8>, n: usize) {
    header(out, b'|', n);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
        let mut out = Vec::new();
        f(&mut out);
        out
    }

    #[test]
    fn scalars_are_byte_exact() {
        use Protocol::{Resp2, Resp3};
        let cases: Vec<(Vec<u8>, &[u8])> = vec![
            (encoded(|o| simple(o, b"PONG")), b"+PONG\r\n"),
            (encoded(|o| simple(o, b"a\r\nb")), b"+a  b\r\n"),
            (
                encoded(|o| error(o, b"ERR bad\nthing")),
                b"-ERR bad thing\r\n",
            ),
            (encoded(|o| error(o, b"-WRONGTYPE x")), b"-WRONGTYPE x\r\n"),
            (encoded(ok), b"+OK\r\n"),
            (encoded(|o| integer(o, -42)), b":-42\r\n"),
            (
                encoded(|o| integer(o, i64::MIN)),
                b":-9223372036854775808\r\n",
            ),
            (encoded(|o| bulk(o, b"")), b"$0\r\n\r\n"),
            (encoded(|o| bulk(o, b"a\r\nb")), b"$4\r\na\r\nb\r\n"),
            (encoded(|o| bulk_int(o, 123)), b"$3\r\n123\r\n"),
            (encoded(|o| null(o, Resp2)), b"$-1\r\n"),
            (encoded(|o| null(o, Resp3)), b"_\r\n"),
            (encoded(|o| null_array(o, Resp2)), b"*-1\r\n"),
            (encoded(|o| null_array(o, Resp3)), b"_\r\n"),
            (encoded(|o| array_len(o, 3)), b"*3\r\n"),
            (encoded(|o| map_len(o, Resp2, 3)), b"*6\r\n"),
            (encoded(|o| map_len(o, Resp3, 3)), b"%3\r\n"),
            (encoded(|o| set_len(o, Resp2, 2)), b"*2\r\n"),
            (encoded(|o| set_len(o, Resp3, 2)), b"~2\r\n"),
            (encoded(|o| push_len(o, Resp2, 3)), b"*3\r\n"),
            (encoded(|o| push_len(o, Resp3, 3)), b">3\r\n"),
            (encoded(|o| double(o, Resp2, 1.5)), b"$3\r\n1.5\r\n"),
            (
                encoded(|o| double(o, Resp3, 0.1)),
                b",0.10000000000000001\r\n",
            ),
            (
                encoded(|o| double(o, Resp2, f64::INFINITY)),
                b"$3\r\ninf\r\n",
            ),
            (
                encoded(|o| double(o, Resp3, f64::NEG_INFINITY)),
                b",-inf\r\n",
            ),
            (encoded(|o| double(o, Resp3, 3.0)), b",3\r\n"),
            (encoded(|o| boolean(o, Resp2, true)), b":1\r\n"),
            (encoded(|o| boolean(o, Resp3, false)), b"#f\r\n"),
            (
                encoded(|o| verbatim(o, Resp3, b"txt", b"hi")),
                b"=6\r\ntxt:hi\r\n",
            ),
            (
                encoded(|o| verbatim(o, Resp2, b"txt", b"hi")),
                b"$2\r\nhi\r\n",
            ),
            (encoded(|o| big_number(o, Resp3, b"-123")), b"(-123\r\n"),
            (encoded(|o| big_number(o, Resp2, b"123")), b"$3\r\n123\r\n"),
            (encoded(|o| attribute_len(o, 1)), b"|1\r\n"),
            (encoded(|o| bulk_len(o, 7)), b"$7\r\n"),
        ];
        for (got, expected) in cases {
            assert_eq!(
                String::from_utf8_lossy(&got),
                String::from_utf8_lossy(expected)
            );
        }
    }
}
