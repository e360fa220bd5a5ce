//! Divergences already classified as Zedis bugs while they wait for a fix (each with a failing test in
//! `tests/differential_types_bugs.rs` and an entry in the README; none today). The fuzzer counts them and goes on, so
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

/// The known divergences: none left (the keyspace ones and the scripting subnormal double are fixed; their
/// tests are in `differential_types_bugs.rs`). The mechanism stays for the next one found.
pub const KNOWN: &[Known] = &[];

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
