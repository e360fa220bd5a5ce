//! LCS: the longest common subsequence of two string keys (Redis 7.0's `lcsCommand`).

use super::{is_string, read, Ctx, SYNTAX};
use crate::entry::{EntryPtr, Payload};
use crate::Keyspace;
use zedis_kv_pool::KvAllocator;
use zedis_resp::reply;

/// One matched range: positions in `a`, positions in `b` (inclusive), as Redis reports them.
struct Range {
    a: (u32, u32),
    b: (u32, u32),
}

/// LCS's options.
#[derive(Default)]
struct Options {
    len: bool,
    idx: bool,
    with_match_len: bool,
    min_match_len: u64,
}

/// # Format
/// `LCS key1 key2 [LEN] [IDX] [MINMATCHLEN min-match-len] [WITHMATCHLEN]`
///
/// Missing keys count as empty strings. The table is Redis's O(N·M) dynamic programme, refused (as Redis
/// does) when it would need more than `proto-max-bulk-len` bytes.
pub fn lcs<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let a = read(ks, ctx, ctx.argv[1]);
    let b = read(ks, ctx, ctx.argv[2]);
    if a.is_some_and(|e| !is_string(e)) || b.is_some_and(|e| !is_string(e)) {
        return ctx.error(b"ERR The specified keys must contain string values");
    }
    let (a, b) = (owned_bytes(a), owned_bytes(b));
    let Some(opts) = parse_options(ctx) else {
        return;
    };
    if opts.idx && opts.len {
        return ctx.error(b"ERR If you want both the length and indexes, please just use IDX.");
    }
    if a.len() >= u32::MAX as usize - 1 || b.len() >= u32::MAX as usize - 1 {
        return ctx.error(b"ERR String too long for LCS");
    }
    let cells = (a.len() as u64 + 1) * (b.len() as u64 + 1);
    if cells * 4 > ks.config.string_bytes_max as u64 {
        return ctx.error(
            b"ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len",
        );
    }
    let table = Table::build(&a, &b);
    let total = table.at(a.len(), b.len());
    if opts.len {
        return reply::integer(ctx.out, i64::from(total));
    }
    let (common, ranges) = table.walk(&a, &b, opts.min_match_len);
    if !opts.idx {
        return reply::bulk(ctx.out, &common);
    }
    reply::map_len(ctx.out, ctx.proto, 2);
    reply::bulk(ctx.out, b"matches");
    reply::array_len(ctx.out, ranges.len());
    for range in &ranges {
        reply::array_len(ctx.out, 2 + usize::from(opts.with_match_len));
        for (start, end) in [range.a, range.b] {
            reply::array_len(ctx.out, 2);
            reply::integer(ctx.out, i64::from(start));
            reply::integer(ctx.out, i64::from(end));
        }
        if opts.with_match_len {
            reply::integer(ctx.out, i64::from(range.a.1 - range.a.0 + 1));
        }
    }
    reply::bulk(ctx.out, b"len");
    reply::integer(ctx.out, i64::from(total));
}

/// A string entry's bytes (integers formatted), or empty for a missing key.
fn owned_bytes(entry: Option<EntryPtr>) -> Vec<u8> {
    match entry.map(|e| e.payload()) {
        Some(Payload::Str(bytes)) => bytes.to_vec(),
        Some(Payload::Int(n)) => itoa::Buffer::new().format(n).as_bytes().to_vec(),
        _ => Vec::new(),
    }
}

fn parse_options(ctx: &mut Ctx<'_>) -> Option<Options> {
    let mut opts = Options::default();
    let mut j = 3;
    while j < ctx.argv.len() {
        let opt = ctx.argv[j];
        let more_args = j + 1 < ctx.argv.len();
        if opt.eq_ignore_ascii_case(b"idx") {
            opts.idx = true;
        } else if opt.eq_ignore_ascii_case(b"len") {
            opts.len = true;
        } else if opt.eq_ignore_ascii_case(b"withmatchlen") {
            opts.with_match_len = true;
        } else if opt.eq_ignore_ascii_case(b"minmatchlen") && more_args {
            let n = ctx.int_arg(j + 1)?;
            opts.min_match_len = n.max(0) as u64;
            j += 1;
        } else {
            ctx.error(SYNTAX);
            return None;
        }
        j += 1;
    }
    Some(opts)
}

/// `LCS(i, j)`: the LCS length of `a[..i]` and `b[..j]`, row-major over `(a.len()+1) x (b.len()+1)`.
struct Table {
    cells: Vec<u32>,
    width: usize,
}

impl Table {
    fn build(a: &[u8], b: &[u8]) -> Table {
        let width = b.len() + 1;
        let mut cells = vec![0u32; (a.len() + 1) * width];
        for i in 1..=a.len() {
            for j in 1..=b.len() {
                cells[i * width + j] = if a[i - 1] == b[j - 1] {
                    cells[(i - 1) * width + j - 1] + 1
                } else {
                    cells[(i - 1) * width + j].max(cells[i * width + j - 1])
                };
            }
        }
        Table { cells, width }
    }

    fn at(&self, i: usize, j: usize) -> u32 {
        self.cells[i * self.width + j]
    }

    /// Walks back from the end as Redis does: the common subsequence and the matched ranges (last first)
    /// of at least `min_len` bytes (0: all).
    fn walk(&self, a: &[u8], b: &[u8], min_len: u64) -> (Vec<u8>, Vec<Range>) {
        let mut common = vec![0u8; self.at(a.len(), b.len()) as usize];
        let mut idx = common.len();
        let mut ranges = Vec::new();
        let mut current: Option<Range> = None;
        let (mut i, mut j) = (a.len(), b.len());
        while i > 0 && j > 0 {
            let mut emit = false;
            if a[i - 1] == b[j - 1] {
                common[idx - 1] = a[i - 1];
                let (ai, bj) = ((i - 1) as u32, (j - 1) as u32);
                match current.as_mut() {
                    None => {
                        current = Some(Range {
                            a: (ai, ai),
                            b: (bj, bj),
                        })
                    }
                    Some(r) if r.a.0 == ai + 1 && r.b.0 == bj + 1 => {
                        r.a.0 = ai;
                        r.b.0 = bj;
                    }
                    Some(_) => emit = true,
                }
                emit |= current.as_ref().is_some_and(|r| r.a.0 == 0 || r.b.0 == 0);
                idx -= 1;
                i -= 1;
                j -= 1;
            } else {
                if self.at(i - 1, j) > self.at(i, j - 1) {
                    i -= 1;
                } else {
                    j -= 1;
                }
                emit = current.is_some();
            }
            if emit {
                if let Some(range) = current.take() {
                    let len = u64::from(range.a.1 - range.a.0 + 1);
                    if min_len == 0 || len >= min_len {
                        ranges.push(range);
                    }
                }
            }
        }
        (common, ranges)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Span = (u32, u32);

    fn lcs_of(a: &[u8], b: &[u8]) -> (Vec<u8>, Vec<(Span, Span)>) {
        let table = Table::build(a, b);
        let (common, ranges) = table.walk(a, b, 0);
        (common, ranges.into_iter().map(|r| (r.a, r.b)).collect())
    }

    #[test]
    fn redis_doc_example() {
        let (common, ranges) = lcs_of(b"ohmytext", b"mynewtext");
        assert_eq!(common, b"mytext");
        assert_eq!(ranges, vec![((4, 7), (5, 8)), ((2, 3), (0, 1))]);
    }

    #[test]
    fn empty_and_disjoint() {
        assert_eq!(lcs_of(b"", b"abc").0, b"");
        assert_eq!(lcs_of(b"abc", b"xyz"), (Vec::new(), Vec::new()));
        assert_eq!(lcs_of(b"abc", b"abc").1, vec![((0, 2), (0, 2))]);
    }

    proptest::proptest! {
        #[test]
        fn common_is_a_subsequence_of_both(a in "[ab]{0,12}", b in "[ab]{0,12}") {
            let (common, ranges) = lcs_of(a.as_bytes(), b.as_bytes());
            let is_subseq = |s: &[u8]| {
                let mut it = s.iter();
                common.iter().all(|c| it.any(|x| x == c))
            };
            proptest::prop_assert!(is_subseq(a.as_bytes()) && is_subseq(b.as_bytes()));
            let covered: u32 = ranges.iter().map(|(ra, _)| ra.1 - ra.0 + 1).sum();
            proptest::prop_assert_eq!(covered as usize, common.len());
        }
    }
}
