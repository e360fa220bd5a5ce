//! [`ProtocolError`]: every request-protocol error Redis 7.0 replies with before closing the connection.

use std::borrow::Cow;

/// A malformed request. Redis replies with [`ProtocolError::reply_bytes`] and closes the connection after the
/// reply is written; the server should do the same (and [`crate::RequestParser::reset`] is then moot).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// An inline request with no `\n` among more than `inline_bytes_max` buffered bytes.
    #[error("too big inline request")]
    TooBigInlineRequest,
    /// An inline request whose quotes are not closed, or whose closing quote is not followed by a space.
    #[error("unbalanced quotes in inline request")]
    UnbalancedQuotes,
    /// A `*N` header with no `\r` among more than `inline_bytes_max` buffered bytes.
    #[error("too big mbulk count string")]
    TooBigMultibulkCount,
    /// A `*N` header that is not a Redis integer or exceeds `multibulk_len_max`.
    #[error("invalid mbulk count")]
    InvalidMultibulkLength,
    /// A `*N` header with N > 10 from a client that has not authenticated.
    #[error("unauth mbulk count")]
    UnauthenticatedMultibulkLength,
    /// A `$N` header with no `\r` among more than `inline_bytes_max` buffered bytes.
    #[error("too big bulk count string")]
    TooBigBulkCount,
    /// A bulk header line that does not start with `$`; `got` is the byte found instead.
    #[error("expected $ but got something else")]
    ExpectedDollar {
        /// The first byte of the offending line.
        got: u8,
    },
    /// A `$N` header that is not a Redis integer, is negative, or exceeds `bulk_bytes_max`.
    #[error("invalid bulk length")]
    InvalidBulkLength,
    /// A `$N` header with N > 16384 from a client that has not authenticated.
    #[error("unauth bulk length")]
    UnauthenticatedBulkLength,
}

impl ProtocolError {
    /// The exact error text Redis replies with, without the leading `-` and the trailing CRLF, as raw bytes
    /// (the `expected '$', got 'x'` form echoes a raw byte, which may not be UTF-8).
    ///
    /// ```
    /// use zedis_resp::ProtocolError;
    /// assert_eq!(&*ProtocolError::InvalidBulkLength.reply_bytes(), b"ERR Protocol error: invalid bulk length");
    /// assert_eq!(
    ///     &*ProtocolError::ExpectedDollar { got: b'x' }.reply_bytes(),
    ///     b"ERR Protocol error: expected '$', got 'x'"
    /// );
    /// ```
    pub fn reply_bytes(&self) -> Cow<'static, [u8]> {
        match self {
            Self::ExpectedDollar { got } => Cow::Owned(expected_dollar_text(*got)),
            other => Cow::Borrowed(other.fixed_text().as_bytes()),
        }
    }

    /// [`ProtocolError::reply_bytes`] as text; a non-UTF-8 byte in `expected '$', got 'x'` becomes U+FFFD.
    /// Prefer `reply_bytes` when writing the reply, which is byte-exact.
    pub fn reply_text(&self) -> Cow<'static, str> {
        match self {
            Self::ExpectedDollar { got } => {
                Cow::Owned(String::from_utf8_lossy(&expected_dollar_text(*got)).into_owned())
            }
            other => Cow::Borrowed(other.fixed_text()),
        }
    }

    /// The text of every variant without a parameter (`ExpectedDollar` gets a placeholder, never used).
    fn fixed_text(&self) -> &'static str {
        match self {
            Self::TooBigInlineRequest => "ERR Protocol error: too big inline request",
            Self::UnbalancedQuotes => "ERR Protocol error: unbalanced quotes in request",
            Self::TooBigMultibulkCount => "ERR Protocol error: too big mbulk count string",
            Self::InvalidMultibulkLength => "ERR Protocol error: invalid multibulk length",
            Self::UnauthenticatedMultibulkLength => {
                "ERR Protocol error: unauthenticated multibulk length"
            }
            Self::TooBigBulkCount => "ERR Protocol error: too big bulk count string",
            Self::InvalidBulkLength => "ERR Protocol error: invalid bulk length",
            Self::UnauthenticatedBulkLength => "ERR Protocol error: unauthenticated bulk length",
            Self::ExpectedDollar { .. } => "ERR Protocol error: expected '$'",
        }
    }
}

/// Redis formats this one with `addReplyErrorFormat("... got '%c'")`: a `\r` or `\n` byte becomes a space, and a
/// NUL byte ends the C string (Redis itself cannot reach that case; we keep the C result).
fn expected_dollar_text(got: u8) -> Vec<u8> {
    let mut text = b"ERR Protocol error: expected '$', got '".to_vec();
    match got {
        0 => return text,
        b'\r' | b'\n' => text.push(b' '),
        other => text.push(other),
    }
    text.push(b'\'');
    text
}

#[cfg(test)]
mod tests {
    use super::ProtocolError;

    #[test]
    fn reply_texts_are_redis_byte_for_byte() {
        let cases: [(ProtocolError, &[u8]); 12] = [
            (
                ProtocolError::TooBigInlineRequest,
                b"ERR Protocol error: too big inline request",
            ),
            (
                ProtocolError::UnbalancedQuotes,
                b"ERR Protocol error: unbalanced quotes in request",
            ),
            (
                ProtocolError::TooBigMultibulkCount,
                b"ERR Protocol error: too big mbulk count string",
            ),
            (
                ProtocolError::InvalidMultibulkLength,
                b"ERR Protocol error: invalid multibulk length",
            ),
            (
                ProtocolError::UnauthenticatedMultibulkLength,
                b"ERR Protocol error: unauthenticated multibulk length",
            ),
            (
                ProtocolError::TooBigBulkCount,
                b"ERR Protocol error: too big bulk count string",
            ),
            (
                ProtocolError::InvalidBulkLength,
                b"ERR Protocol error: invalid bulk length",
            ),
            (
                ProtocolError::UnauthenticatedBulkLength,
                b"ERR Protocol error: unauthenticated bulk length",
            ),
            (
                ProtocolError::ExpectedDollar { got: b'x' },
                b"ERR Protocol error: expected '$', got 'x'",
            ),
            (
                ProtocolError::ExpectedDollar { got: b'\r' },
                b"ERR Protocol error: expected '$', got ' '",
            ),
            (
                ProtocolError::ExpectedDollar { got: 0xff },
                b"ERR Protocol error: expected '$', got '\xff'",
            ),
            (
                ProtocolError::ExpectedDollar { got: 0 },
                b"ERR Protocol error: expected '$', got '",
            ),
        ];
        for (error, text) in cases {
            assert_eq!(&*error.reply_bytes(), text, "{error:?}");
        }
        assert_eq!(
            ProtocolError::ExpectedDollar { got: b'x' }.reply_text(),
            "ERR Protocol error: expected '$', got 'x'"
        );
    }
}
