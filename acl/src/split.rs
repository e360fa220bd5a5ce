//! Argument splitting as Redis does it for ACL rules: `sdssplitargs` (`zedis_util::sds`, used inside a
//! `(...)` selector) and the merging of a selector spread over several arguments.

use crate::error::AclError;

pub(crate) use zedis_util::sds::split_args;

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
