//! Redis's quoting rules for words in its text files (`sdssplitargs` and `sdscatrepr` in `sds.c`): the
//! config file, the AOF manifest, `CLIENT LIST`-style reprs.

/// Splits `line` into words as `sdssplitargs` does: blanks separate words; `"..."` honours `\n`, `\r`,
/// `\t`, `\b`, `\a`, `\xHH` and `\<any>`; `'...'` honours only `\'`; a quote may open inside a word
/// (`a"b c"` is one word, `ab c`). `None` for an unterminated quote or a closing quote followed by
/// something other than a blank, as Redis refuses them.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut words = Vec::new();
    let mut i = 0;
    let at = |i: usize| line.get(i).copied().unwrap_or(0);
    loop {
        while is_space(at(i)) {
            i += 1;
        }
        if at(i) == 0 {
            return Some(words);
        }
        let mut word = Vec::new();
        let (mut in_double, mut in_single) = (false, false);
        loop {
            let c = at(i);
            if in_double {
                if c == b'\\'
                    && at(i + 1) == b'x'
                    && hex(at(i + 2)).is_some()
                    && hex(at(i + 3)).is_some()
                {
                    word.push(hex(at(i + 2))? * 16 + hex(at(i + 3))?);
                    i += 3;
                } else if c == b'\\' && at(i + 1) != 0 {
                    i += 1;
                    word.push(match at(i) {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        other => other,
                    });
                } else if c == b'"' {
                    if at(i + 1) != 0 && !is_space(at(i + 1)) {
                        return None;
                    }
                    i += 1;
                    break;
                } else if c == 0 {
                    return None;
                } else {
                    word.push(c);
                }
            } else if in_single {
                if c == b'\\' && at(i + 1) == b'\'' {
                    i += 1;
                    word.push(b'\'');
                } else if c == b'\'' {
                    if at(i + 1) != 0 && !is_space(at(i + 1)) {
                        return None;
                    }
                    i += 1;
                    break;
                } else if c == 0 {
                    return None;
                } else {
                    word.push(c);
                }
            } else {
                match c {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => {
                        if c != 0 {
                            i += 1;
                        }
                        break;
                    }
                    b'"' => in_double = true,
                    b'\'' => in_single = true,
                    _ => word.push(c),
                }
            }
            i += 1;
        }
        words.push(word);
    }
}

/// C's `isspace` in the "C" locale.
fn is_space(c: u8) -> bool {
    c.is_ascii_whitespace() || c == 0x0b
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// Whether `word` must be written quoted (`sdsneedsrepr`): it holds a blank, a quote, a backslash or a
/// byte that is not printable ASCII.
pub fn needs_repr(word: &[u8]) -> bool {
    word.iter()
        .any(|&c| c == b'\\' || c == b'"' || !(0x20..0x7f).contains(&c) || is_space(c))
}

/// Appends `word` to `out` quoted as `sdscatrepr` does: `"..."` with `\\`, `\"`, `\n`, `\r`, `\t`, `\a`,
/// `\b` and `\xHH` for other unprintable bytes.
pub fn push_repr(out: &mut Vec<u8>, word: &[u8]) {
    out.push(b'"');
    for &c in word {
        match c {
            b'\\' | b'"' => out.extend_from_slice(&[b'\\', c]),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x07 => out.extend_from_slice(b"\\a"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x20..=0x7e => out.push(c),
            _ => out.extend_from_slice(format!("\\x{c:02x}").as_bytes()),
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn words(line: &str) -> Option<Vec<String>> {
        split_args(line.as_bytes()).map(|w| {
            w.into_iter()
                .map(|w| String::from_utf8(w).unwrap())
                .collect()
        })
    }

    #[test]
    fn redis_examples() {
        assert_eq!(
            words("  set  a b "),
            Some(vec!["set".into(), "a".into(), "b".into()])
        );
        assert_eq!(words(r#"a"b c" d"#), Some(vec!["ab c".into(), "d".into()]));
        assert_eq!(
            words(r#""\x41\n" 'it\'s'"#),
            Some(vec!["A\n".into(), "it's".into()])
        );
        assert_eq!(words(r#""unterminated"#), None);
        assert_eq!(words(r#""a"b"#), None);
        assert_eq!(words("'a'b"), None);
        assert_eq!(words(""), Some(vec![]));
        assert_eq!(words(r#""\xZZ""#), Some(vec!["xZZ".into()]));
    }

    proptest! {
        #[test]
        fn repr_round_trips(word in proptest::collection::vec(any::<u8>(), 0..40)) {
            let mut line = b"file ".to_vec();
            push_repr(&mut line, &word);
            line.extend_from_slice(b" seq 1");
            let parsed = split_args(&line).unwrap();
            prop_assert_eq!(parsed.len(), 4);
            prop_assert_eq!(&parsed[1], &word);
        }

        #[test]
        fn split_never_panics(line in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = split_args(&line);
        }
    }
}
