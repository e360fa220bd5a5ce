//! The compat script language: one command or directive per line (see `tests/compat.rs`).

/// How two replies are compared.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    Exact,
    Type,
    Sorted,
    Pairs,
    Error,
}

/// What one script line does.
#[derive(Debug)]
pub enum Step {
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
pub fn split_args(line: &str) -> Result<Vec<Vec<u8>>, String> {
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
pub fn parse_line(line: &str) -> Result<Step, String> {
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
}
