//! Divergences already classified as Zedis bugs (each has an `#[ignore]`d failing test in
//! `tests/differential_types_bugs.rs` and an entry in the README). The fuzzer counts them and goes on, so
//! that one known bug does not hide the next; a reply that differs in any other way stops the run.
//!
//! Each known bug is a rewrite of the raw reply bytes that erases exactly that difference (it applies
//! inside EXEC replies too); two replies equal after the rewrites are counted as that bug. Only divergences
//! that leave both keyspaces equal (error texts) may be listed here.

/// A known divergence: its name and the rewrite that erases it.
pub struct Known {
    /// A short description (printed in the summary).
    pub name: &'static str,
    canon: fn(&[Vec<u8>], &[u8]) -> Vec<u8>,
}

/// The known divergences.
pub const KNOWN: &[Known] = &[
    Known {
        name: "NOGROUP error text: Zedis prints a binary key as lossy UTF-8, Redis as a C string (up to a NUL)",
        canon: |_, r| {
            let r = blank_between(r, b"No such key '", b"' or consumer group");
            blank_between(&r, b"for key name '", b"'\r\n")
        },
    },
    Known {
        name: "XADD checks the field/value count before the id (Redis: the id's syntax first)",
        canon: |_, r| {
            replace(
                r,
                b"ERR wrong number of arguments for 'xadd' command",
                b"ERR Invalid stream ID specified as stream command argument",
            )
        },
    },
    Known {
        name: "FCALL/FCALL_RO check numkeys before the function name (Redis: Function not found \
               first); EVALSHA/EVALSHA_RO with a SHA1 not 40 characters long check numkeys first \
               (Redis: NOSCRIPT)",
        canon: |args, r| {
            let name = args[0].to_ascii_uppercase();
            if !name.starts_with(b"FCALL") && !name.starts_with(b"EVALSHA") && name != b"EXEC" {
                return r.to_vec();
            }
            let mut out = r.to_vec();
            for text in [
                &b"ERR Number of keys can't be negative"[..],
                b"ERR Number of keys can't be greater than number of args",
                b"ERR Bad number of keys provided",
                b"ERR value is not an integer or out of range",
                b"ERR Function not found",
                b"NOSCRIPT No matching script. Please use EVAL.",
            ] {
                out = replace(&out, text, b"<lookup-or-numkeys>");
            }
            out
        },
    },
    Known {
        name: "ZRANGE by rank with LIMIT: Zedis refuses LIMIT before parsing start/stop (Redis: the \
               integers first)",
        canon: |args, r| {
            let name = args[0].to_ascii_uppercase();
            if name != b"ZRANGE" && name != b"ZRANGESTORE" && name != b"EXEC" {
                return r.to_vec();
            }
            replace(
                r,
                b"ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
                b"ERR value is not an integer or out of range",
            )
        },
    },
    Known {
        name: "sign of a zero score: ZSCAN of a skiplist zset prints -0 as 0 (Redis: -0), and \
               AGGREGATE MIN/MAX of 0 and -0 keeps the first (Redis: the later unless strictly \
               greater/smaller), so -0 vs 0 in any reply",
        canon: |_, r| {
            let r = replace(r, b"$2\r\n-0\r\n", b"$1\r\n0\r\n");
            replace(&r, b",-0\r\n", b",0\r\n")
        },
    },
];

/// `bytes` with everything between each `start` and the next `end` removed.
fn blank_between(bytes: &[u8], start: &[u8], end: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while let Some(i) = find(rest, start) {
        out.extend_from_slice(&rest[..i + start.len()]);
        rest = &rest[i + start.len()..];
        if let Some(j) = find(rest, end) {
            rest = &rest[j..];
        }
    }
    out.extend_from_slice(rest);
    out
}

/// `bytes` with every `from` replaced by `to`.
fn replace(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while let Some(i) = find(rest, from) {
        out.extend_from_slice(&rest[..i]);
        out.extend_from_slice(to);
        rest = &rest[i + from.len()..];
    }
    out.extend_from_slice(rest);
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Which known divergences explain the difference between the two raw replies to `args` (`None`: not
/// explained); `agree` compares rewritten replies as the command's normalisation does.
pub fn classify(
    args: &[Vec<u8>],
    zedis: &[u8],
    redis: &[u8],
    agree: impl Fn(&[u8], &[u8]) -> bool,
) -> Option<Vec<usize>> {
    let (mut z, mut r) = (zedis.to_vec(), redis.to_vec());
    let mut used = Vec::new();
    for (i, k) in KNOWN.iter().enumerate() {
        let (z2, r2) = ((k.canon)(args, &z), (k.canon)(args, &r));
        if z2 != z || r2 != r {
            used.push(i);
        }
        (z, r) = (z2, r2);
        if agree(&z, &r) {
            return Some(used);
        }
    }
    None
}
