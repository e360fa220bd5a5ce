//! Argument splitting as Redis does it for ACL rules: `sdssplitargs` (quotes and escapes, used inside a
//! `(...)` selector) and the merging of a selector spread over several arguments.

use crate::error::AclError;

fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

fn hex_value(byte: u8) -> Option<u8> {
    (byte as char).to_digit(16).map(|v| v as u8)
}

/// Splits `line` like Redis's `sdssplitargs`: blanks separate words, `"..."` understands `\xHH` and
/// `\n\r\t\b\a` escapes, `'...'` understands `\'`; a closing quote must be followed by a blank or the
/// end. `None` for unbalanced quotes. A NUL byte ends the input (Redis works on the C string).
pub(crate) fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let end = line.iter().position(|&b| b == 0).unwrap_or(line.len());
    let line = &line[..end];
    let at = |idx: usize| line.get(idx).copied().unwrap_or(0);
    let mut words = Vec::new();
    let mut p = 0;
    loop {
        while p < line.len() && is_space(line[p]) {
            p += 1;
        }
        if p >= line.len() {
            return Some(words);
        }
        let (mut in_double, mut in_single) = (false, false);
        let mut current = Vec::new();
        loop {
            let c = at(p);
            if in_double {
                if c == b'\\'
                    && at(p + 1) == b'x'
                    && hex_value(at(p + 2)).is_some()
                    && hex_value(at(p + 3)).is_some()
                {
                    current.push(hex_value(at(p + 2))? * 16 + hex_value(at(p + 3))?);
                    p += 3;
                } else if c == b'\\' && at(p + 1) != 0 {
                    p += 1;
                    current.push(match at(p) {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        other => other,
                    });
                } else if c == b'"' {
                    if at(p + 1) != 0 && !is_space(at(p + 1)) {
                        return None;
                    }
                    p += 1;
                    break;
                } else if c == 0 {
                    return None;
                } else {
                    current.push(c);
                }
            } else if in_single {
                if c == b'\\' && at(p + 1) == b'\'' {
                    p += 1;
                    current.push(b'\'');
                } else if c == b'\'' {
                    if at(p + 1) != 0 && !is_space(at(p + 1)) {
                        return None;
                    }
                    p += 1;
                    break;
                } else if c == 0 {
                    return None;
                } else {
                    current.push(c);
                }
            } else {
                match c {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => {
                        if c != 0 {
                            p += 1;
                        }
                        break;
                    }
                    b'"' => in_double = true,
                    b'\'' => in_single = true,
                    other => current.push(other),
                }
            }
            if p < line.len() {
                p += 1;
            }
        }
        words.push(current);
    }
}

/// Joins a selector given over several arguments (`(~key` `+get)`) into one, as Redis's
/// `ACLMergeSelectorArguments`. On an unclosed `(` the error names the argument that opened it; the
/// second value is that argument's index (the aclfile loader reports the line instead).
pub(crate) fn merge_selector_args(args: &[&[u8]]) -> Result<Vec<Vec<u8>>, (AclError, usize)> {
    let mut merged = Vec::with_capacity(args.len());
    let mut open: Option<(usize, Vec<u8>)> = None;
    for (idx, op) in args.iter().enumerate() {
        let ends_with_paren = op.last() == Some(&b')');
        if op.first() == Some(&b'(') && !ends_with_paren {
            open = Some((idx, op.to_vec()));
            continue;
        }
        if let Some((_, selector)) = open.as_mut() {
            selector.push(b' ');
            selector.extend_from_slice(op);
            if ends_with_paren {
                if let Some((_, selector)) = open.take() {
                    merged.push(selector);
                }
            }
            continue;
        }
        merged.push(op.to_vec());
    }
    match open {
        Some((idx, _)) => Err((AclError::UnmatchedParenthesis(args[idx].to_vec()), idx)),
        None => Ok(merged),
    }
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
    fn splits_like_sdssplitargs() {
        assert_eq!(
            words("  a  b\tc "),
            Some(vec!["a".into(), "b".into(), "c".into()])
        );
        assert_eq!(
            words(r#""x y" 'q\'r' "\x41\n""#),
            Some(vec!["x y".into(), "q'r".into(), "A\n".into()])
        );
        assert_eq!(words(r#""abc"d"#), None);
        assert_eq!(words(r#""abc"#), None);
        assert_eq!(words("'abc"), None);
        assert_eq!(words(""), Some(vec![]));
    }

    #[test]
    fn merges_selectors() {
        let args: Vec<&[u8]> = vec![b"on", b"(~a", b"+get)", b"(+set)"];
        let merged = merge_selector_args(&args).unwrap();
        assert_eq!(
            merged,
            vec![b"on".to_vec(), b"(~a +get)".to_vec(), b"(+set)".to_vec()]
        );
        let args: Vec<&[u8]> = vec![b"(~a", b"+get"];
        assert_eq!(merge_selector_args(&args).unwrap_err().1, 0);
    }

    proptest! {
        #[test]
        fn never_panics(line in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = split_args(&line);
        }
    }
}
