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

/// The known divergences (the ones found in `zedis-keyspace` are fixed; their tests are in
/// `differential_types_bugs.rs`).
pub const KNOWN: &[Known] = &[Known {
    name:
        "scripts: a RESP3 double reply holding a subnormal value (9.9998886718268301e-321) comes \
           back from Lua as 0 (zedis-scripting's conversion; Redis: the value)",
    canon: |args, r| {
        let name = args[0].to_ascii_uppercase();
        if !(name.starts_with(b"EVAL") || name.starts_with(b"FCALL") || name == b"EXEC") {
            return r.to_vec();
        }
        subnormals_to_zero(r)
    },
}];

/// `reply` with every bulk string or RESP3 double whose text is a nonzero subnormal number
/// replaced by `0`.
fn subnormals_to_zero(reply: &[u8]) -> Vec<u8> {
    let subnormal = |text: &[u8]| {
        std::str::from_utf8(text)
            .ok()
            .and_then(|t| t.parse::<f64>().ok())
            .is_some_and(|v| v != 0.0 && v.abs() < f64::MIN_POSITIVE)
    };
    let mut out = Vec::new();
    let mut lines = reply.split_inclusive(|&b| b == b'\n').peekable();
    while let Some(line) = lines.next() {
        let body = line.strip_suffix(b"\r\n").unwrap_or(line);
        if let Some(text) = body.strip_prefix(b",") {
            if subnormal(text) {
                out.extend_from_slice(b",0\r\n");
                continue;
            }
        }
        if body.starts_with(b"$") {
            if let Some(next) = lines.peek() {
                let text = next.strip_suffix(b"\r\n").unwrap_or(next);
                if subnormal(text) {
                    out.extend_from_slice(b"$1\r\n0\r\n");
                    lines.next();
                    continue;
                }
            }
        }
        out.extend_from_slice(line);
    }
    out
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
