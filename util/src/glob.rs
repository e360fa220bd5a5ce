//! Redis's glob-style matcher (`stringmatchlen` in Redis 7.0's `util.c`), shared by KEYS, SCAN MATCH,
//! PSUBSCRIBE, PUBSUB CHANNELS and CONFIG GET.
//!
//! `*` any run, `?` any byte, `[abc]`, `[^abc]`, `[a-z]` (reversed ranges allowed), `\x` a literal `x`.
//! An unterminated `[` class ends at the end of the pattern, as in Redis. Nesting of `*` is capped at
//! 1000 levels and longer matches are skipped once a suffix failed, so an abusive pattern costs
//! O(pattern * string), not exponential time.

/// Whether `string` matches the glob `pattern` (case-sensitive).
pub fn matches(pattern: &[u8], string: &[u8]) -> bool {
    let mut skip_longer = false;
    match_impl(pattern, string, false, &mut skip_longer, 0)
}

/// Whether `string` matches the glob `pattern`, ignoring ASCII case.
pub fn matches_nocase(pattern: &[u8], string: &[u8]) -> bool {
    let mut skip_longer = false;
    match_impl(pattern, string, true, &mut skip_longer, 0)
}

/// The byte at `i`, or 0 past the end (the C code reads the NUL terminator there).
#[inline]
fn at(bytes: &[u8], i: usize) -> u8 {
    bytes.get(i).copied().unwrap_or(0)
}

/// C's `char` is signed on the platforms Redis is built for; range comparisons follow that.
#[inline]
fn signed(byte: u8, nocase: bool) -> i32 {
    let byte = if nocase {
        byte.to_ascii_lowercase()
    } else {
        byte
    };
    byte as i8 as i32
}

#[inline]
fn same(a: u8, b: u8, nocase: bool) -> bool {
    if nocase {
        a.eq_ignore_ascii_case(&b)
    } else {
        a == b
    }
}

fn match_impl(
    pattern: &[u8],
    string: &[u8],
    nocase: bool,
    skip_longer: &mut bool,
    nesting: u32,
) -> bool {
    if nesting > 1000 {
        return false;
    }
    let (mut p, mut s) = (0usize, 0usize);
    while p < pattern.len() && s < string.len() {
        match pattern[p] {
            b'*' => {
                while p + 1 < pattern.len() && pattern[p + 1] == b'*' {
                    p += 1;
                }
                if p + 1 == pattern.len() {
                    return true;
                }
                while s < string.len() {
                    if match_impl(
                        &pattern[p + 1..],
                        &string[s..],
                        nocase,
                        skip_longer,
                        nesting + 1,
                    ) {
                        return true;
                    }
                    if *skip_longer {
                        return false;
                    }
                    s += 1;
                }
                *skip_longer = true;
                return false;
            }
            b'?' => s += 1,
            b'[' => {
                p += 1;
                let not = at(pattern, p) == b'^';
                if not {
                    p += 1;
                }
                let c = string[s];
                let mut matched = false;
                loop {
                    if at(pattern, p) == b'\\' && pattern.len() - p >= 2 {
                        p += 1;
                        if pattern[p] == c {
                            matched = true;
                        }
                    } else if at(pattern, p) == b']' {
                        break;
                    } else if p >= pattern.len() {
                        p -= 1;
                        break;
                    } else if pattern.len() - p >= 3 && pattern[p + 1] == b'-' {
                        let (mut start, mut end) =
                            (signed(pattern[p], nocase), signed(pattern[p + 2], nocase));
                        if start > end {
                            std::mem::swap(&mut start, &mut end);
                        }
                        let ch = signed(c, nocase);
                        p += 2;
                        if ch >= start && ch <= end {
                            matched = true;
                        }
                    } else if same(pattern[p], c, nocase) {
                        matched = true;
                    }
                    p += 1;
                }
                if not {
                    matched = !matched;
                }
                if !matched {
                    return false;
                }
                s += 1;
            }
            byte => {
                let mut literal = byte;
                if byte == b'\\' && pattern.len() - p >= 2 {
                    p += 1;
                    literal = pattern[p];
                }
                if !same(literal, string[s], nocase) {
                    return false;
                }
                s += 1;
            }
        }
        p += 1;
        if s == string.len() {
            while at(pattern, p) == b'*' {
                p += 1;
            }
            break;
        }
    }
    p >= pattern.len() && s == string.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn redis_examples() {
        assert!(matches(b"h?llo", b"hello"));
        assert!(matches(b"h*llo", b"heeeello"));
        assert!(matches(b"h*llo", b"hllo"));
        assert!(matches(b"h[ae]llo", b"hallo"));
        assert!(!matches(b"h[ae]llo", b"hillo"));
        assert!(matches(b"h[^e]llo", b"hallo"));
        assert!(!matches(b"h[^e]llo", b"hello"));
        assert!(matches(b"h[a-b]llo", b"hbllo"));
        assert!(matches(b"h[b-a]llo", b"hallo"));
        assert!(matches(b"h\\*llo", b"h*llo"));
        assert!(!matches(b"h\\*llo", b"hello"));
        // As in Redis, `*` needs at least one byte: KEYS and SCAN special-case a lone `*` themselves.
        assert!(!matches(b"*", b""));
        assert!(matches(b"", b""));
        assert!(!matches(b"", b"a"));
        assert!(matches(b"a*", b"a"));
        assert!(matches(b"[abc", b"a"));
        assert!(matches(b"*a*b*c", b"xxaxxbxxc"));
        assert!(matches_nocase(b"HELLO", b"hello"));
        assert!(!matches(b"HELLO", b"hello"));
        assert!(matches(b"a\\", b"a\\"));
    }

    #[test]
    fn abusive_pattern_is_fast_enough_to_finish() {
        let pattern = b"a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b";
        let string = [b'a'; 200];
        assert!(!matches(pattern, &string));
    }

    proptest! {
        #[test]
        fn literal_patterns_match_only_themselves(a in "[a-z]{0,8}", b in "[a-z]{0,8}") {
            prop_assert_eq!(matches(a.as_bytes(), b.as_bytes()), a == b);
        }

        #[test]
        fn star_matches_everything_non_empty(s in proptest::collection::vec(any::<u8>(), 1..32)) {
            prop_assert!(matches(b"*", &s));
        }

        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..16), s in proptest::collection::vec(any::<u8>(), 0..16)) {
            let _ = matches(&p, &s);
            let _ = matches_nocase(&p, &s);
        }
    }
}
