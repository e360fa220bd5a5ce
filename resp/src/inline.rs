//! Inline requests: Redis's `sdssplitargs`, unescaping in place.
//!
//! Redis copies the line and splits the copy; we unescape inside the caller's buffer instead. That is sound
//! because every escape sequence is at least as long as the byte it produces, so the write cursor never passes
//! the read cursor.

use std::ops::Range;

use crate::ProtocolError;

/// C's `isspace` in the "C" locale, which `sdssplitargs` uses to skip blanks between arguments.
fn is_c_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// Where a token is being read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Quoting {
    None,
    Double,
    Single,
}

/// Splits `line` into arguments as `sdssplitargs` does, unescaping in place; pushes each argument's span
/// (relative to `line`) to `args`.
///
/// Deviation: a NUL byte is an ordinary byte here. In Redis `strchr`/`sdssplitargs` stop at NUL, so an inline
/// request containing NUL waits for more input until the inline limit is hit; accepting it is more useful and
/// cannot be exploited.
pub(crate) fn split_args(
    line: &mut [u8],
    args: &mut Vec<Range<usize>>,
) -> Result<(), ProtocolError> {
    let end = line.len();
    let mut read = 0;
    let mut write = 0;
    loop {
        while read < end && is_c_space(line[read]) {
            read += 1;
        }
        if read == end {
            return Ok(());
        }
        let start = write;
        read = split_one(line, read, &mut write)?;
        args.push(start..write);
    }
}

/// Reads one token starting at `read` (a non-blank byte), writing its bytes at `*write`; returns the read
/// position after the token.
fn split_one(line: &mut [u8], mut read: usize, write: &mut usize) -> Result<usize, ProtocolError> {
    let end = line.len();
    let mut quoting = Quoting::None;
    loop {
        if read == end {
            // End of line: fine outside quotes, "unterminated quotes" inside.
            return match quoting {
                Quoting::None => Ok(read),
                _ => Err(ProtocolError::UnbalancedQuotes),
            };
        }
        let byte = line[read];
        let next = line.get(read + 1).copied();
        let mut out = Some(byte);
        match quoting {
            Quoting::Double => match (byte, next) {
                (b'\\', Some(b'x')) if hex_pair(line, read + 2).is_some() => {
                    out = hex_pair(line, read + 2);
                    read += 3;
                }
                (b'\\', Some(escaped)) => {
                    out = Some(match escaped {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        other => other,
                    });
                    read += 1;
                }
                (b'"', _) => return closing_quote(next, read),
                _ => {}
            },
            Quoting::Single => match (byte, next) {
                (b'\\', Some(b'\'')) => {
                    out = Some(b'\'');
                    read += 1;
                }
                (b'\'', _) => return closing_quote(next, read),
                _ => {}
            },
            Quoting::None => match byte {
                b' ' | b'\n' | b'\r' | b'\t' => return Ok(read + 1),
                b'"' => (quoting, out) = (Quoting::Double, None),
                b'\'' => (quoting, out) = (Quoting::Single, None),
                _ => {}
            },
        }
        if let Some(value) = out {
            line[*write] = value;
            *write += 1;
        }
        read += 1;
    }
}

/// A closing quote must be followed by a blank or the end of the line.
fn closing_quote(next: Option<u8>, read: usize) -> Result<usize, ProtocolError> {
    match next {
        Some(byte) if !is_c_space(byte) => Err(ProtocolError::UnbalancedQuotes),
        _ => Ok(read + 1),
    }
}

/// The byte encoded by two hex digits at `line[at..at + 2]`, if both are there and are hex digits.
fn hex_pair(line: &[u8], at: usize) -> Option<u8> {
    let high = hex_value(*line.get(at)?)?;
    let low = hex_value(*line.get(at + 1)?)?;
    Some(high * 16 + low)
}

#[cfg(test)]
mod tests {
    use super::split_args;
    use crate::ProtocolError;

    fn split(line: &[u8]) -> Result<Vec<Vec<u8>>, ProtocolError> {
        let mut buf = line.to_vec();
        let mut spans = Vec::new();
        split_args(&mut buf, &mut spans)?;
        Ok(spans.into_iter().map(|span| buf[span].to_vec()).collect())
    }

    fn ok(line: &[u8], expected: &[&[u8]]) {
        let got =
            split(line).unwrap_or_else(|e| panic!("{:?}: {e:?}", String::from_utf8_lossy(line)));
        assert_eq!(got, expected, "{:?}", String::from_utf8_lossy(line));
    }

    #[test]
    fn splits_on_blanks() {
        ok(b"", &[]);
        ok(b"   \t ", &[]);
        ok(b"set a b", &[b"set", b"a", b"b"]);
        ok(b"  set\t\ta   b  ", &[b"set", b"a", b"b"]);
        // \v and \f are skipped between tokens but do not end one.
        ok(b"\x0bx\x0by\x0c", &[b"x\x0by\x0c"]);
        ok(b"a\rb", &[b"a", b"b"]);
        ok(b"a\0b", &[b"a\0b"]);
    }

    #[test]
    fn double_quotes_unescape() {
        ok(br#""a\x41\n\q""#, &[b"aA\nq"]);
        ok(br#""\r\t\b\a\\\"""#, &[b"\r\t\x08\x07\\\""]);
        ok(br#""\x4""#, &[b"x4"]);
        ok(br#""\xzz""#, &[b"xzz"]);
        ok(br#""\xFf""#, &[b"\xff"]);
        ok(br#""" x"#, &[b"", b"x"]);
        ok(br#"a"b c" d"#, &[b"ab c", b"d"]);
        ok(b"\"a b\"\tc", &[b"a b", b"c"]);
        ok(b"\"a\"\x0b", &[b"a"]);
    }

    #[test]
    fn single_quotes_unescape_only_quote() {
        ok(br"'a\'b'", &[b"a'b"]);
        ok(br"'a\nb'", &[b"a\\nb"]);
        ok(br"'' ''", &[b"", b""]);
        ok(br#"'"'"#, &[b"\""]);
    }

    #[test]
    fn unbalanced_quotes() {
        for line in [
            &br#"""#[..],
            br#""abc"#,
            br#""abc"d"#,
            br"'abc'd",
            br"'abc",
            br#""abc\"#,
            br#""\""#,
            br"'\'",
            br#"a"b"c"#,
        ] {
            assert_eq!(
                split(line),
                Err(ProtocolError::UnbalancedQuotes),
                "{:?}",
                String::from_utf8_lossy(line)
            );
        }
    }
}
