//! Redis's `pqsort` (`pqsort.c`: Bentley & McIlroy's quicksort from NetBSD, which skips the partitions
//! outside a wanted range of ranks). Redis calls it where only part of the sorted output is replied:
//! GEOSEARCH/GEORADIUS with COUNT (`georadiusGeneric`) and SORT with LIMIT (`sortCommand`). It is not
//! stable, so the order it leaves elements that compare equal (points at the same distance) is part of
//! the reply; this port makes the same comparisons and swaps in the same order, so ties come out as
//! Redis's do.

use std::cmp::Ordering;

/// Sorts `v` so that the ranks `lrange..=rrange` hold what a full sort would put there, leaving ties
/// where Redis's `pqsort(v, n, es, cmp, lrange, rrange)` leaves them.
pub fn pqsort<T>(
    v: &mut [T],
    cmp: &mut impl FnMut(&T, &T) -> Ordering,
    lrange: usize,
    rrange: usize,
) {
    sort_range(v, 0, v.len(), cmp, lrange, rrange);
}

/// `med3`: the index of the median of three, with the same comparisons as C.
fn med3<T>(
    v: &[T],
    a: usize,
    b: usize,
    c: usize,
    cmp: &mut impl FnMut(&T, &T) -> Ordering,
) -> usize {
    if cmp(&v[a], &v[b]).is_lt() {
        if cmp(&v[b], &v[c]).is_lt() {
            b
        } else if cmp(&v[a], &v[c]).is_lt() {
            c
        } else {
            a
        }
    } else if cmp(&v[b], &v[c]).is_gt() {
        b
    } else if cmp(&v[a], &v[c]).is_lt() {
        a
    } else {
        c
    }
}

/// `vecswap`: swaps `n` elements from `a` with `n` from `b`, pairwise in order.
fn vecswap<T>(v: &mut [T], a: usize, b: usize, n: usize) {
    for i in 0..n {
        v.swap(a + i, b + i);
    }
}

/// `_pqsort` over `v[start..start + n]`, the range given as element indices of `v`.
fn sort_range<T>(
    v: &mut [T],
    mut start: usize,
    mut n: usize,
    cmp: &mut impl FnMut(&T, &T) -> Ordering,
    lrange: usize,
    rrange: usize,
) {
    // A partition `[lo, lo + len)` is skipped when the wanted range lies wholly on one side of it.
    let wanted = |lo: usize, len: usize| {
        !((lrange < lo && rrange < lo) || (lrange >= lo + len && rrange >= lo + len))
    };
    loop {
        let a = start;
        if n < 7 {
            for pm in a + 1..a + n {
                let mut pl = pm;
                while pl > a && cmp(&v[pl - 1], &v[pl]).is_gt() {
                    v.swap(pl, pl - 1);
                    pl -= 1;
                }
            }
            return;
        }
        let mut pm = a + n / 2;
        if n > 7 {
            let mut pl = a;
            let mut pn = a + n - 1;
            if n > 40 {
                let d = n / 8;
                pl = med3(v, pl, pl + d, pl + 2 * d, cmp);
                pm = med3(v, pm - d, pm, pm + d, cmp);
                pn = med3(v, pn - 2 * d, pn - d, pn, cmp);
            }
            pm = med3(v, pl, pm, pn, cmp);
        }
        v.swap(a, pm);
        let (mut pa, mut pb) = (a + 1, a + 1);
        // `pc`/`pd` may step to `a` (never below: `v[a]` is the pivot, which stops the scan).
        let (mut pc, mut pd) = (a + n - 1, a + n - 1);
        loop {
            while pb <= pc {
                let order = cmp(&v[pb], &v[a]);
                if order.is_gt() {
                    break;
                }
                if order.is_eq() {
                    v.swap(pa, pb);
                    pa += 1;
                }
                pb += 1;
            }
            while pb <= pc {
                let order = cmp(&v[pc], &v[a]);
                if order.is_lt() {
                    break;
                }
                if order.is_eq() {
                    v.swap(pc, pd);
                    pd -= 1;
                }
                pc -= 1;
            }
            if pb > pc {
                break;
            }
            v.swap(pb, pc);
            pb += 1;
            pc -= 1;
        }
        let pn = a + n;
        let r = (pa - a).min(pb - pa);
        vecswap(v, a, pb - r, r);
        let r = (pd - pc).min(pn - pd - 1);
        vecswap(v, pb, pn - r, r);
        let r = pb - pa;
        if r > 1 && wanted(a, r) {
            sort_range(v, a, r, cmp, lrange, rrange);
        }
        let r = pd - pc;
        if r <= 1 {
            return;
        }
        start = pn - r;
        n = r;
        if !wanted(start, n) {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::pqsort;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn the_wanted_ranks_are_sorted(
            values in proptest::collection::vec(0u8..20, 0..200),
            a in 0usize..200,
            b in 0usize..200,
        ) {
            let mut v: Vec<(u8, usize)> = values.iter().copied().zip(0..).collect();
            let n = v.len();
            prop_assume!(n > 0);
            let (l, r) = ((a % n).min(b % n), (a % n).max(b % n));
            pqsort(&mut v, &mut |x, y| x.0.cmp(&y.0), l, r);
            let mut sorted = values.clone();
            sorted.sort_unstable();
            let keys: Vec<u8> = v.iter().map(|x| x.0).collect();
            prop_assert_eq!(&keys[l..=r], &sorted[l..=r]);
            // A permutation of the input.
            let mut ids: Vec<usize> = v.iter().map(|x| x.1).collect();
            ids.sort_unstable();
            prop_assert_eq!(ids, (0..n).collect::<Vec<_>>());
        }
    }

    #[test]
    fn ties_land_where_redis_puts_them() {
        // Orders from Redis 7.0.15's pqsort.c compiled as is, sorting (key, position) on the key only.
        for (keys, l, r, expected) in CASES {
            let mut v: Vec<(u8, usize)> = keys.iter().copied().zip(0..).collect();
            pqsort(&mut v, &mut |x, y| x.0.cmp(&y.0), *l, *r);
            let ids: Vec<usize> = v.iter().map(|x| x.1).collect();
            assert_eq!(&ids, expected, "keys {keys:?} ranks {l}..={r}");
        }
    }

    const CASES: &[(&[u8], usize, usize, &[usize])] = &[
        (
            &[2, 1, 3, 0, 0, 0, 2, 0, 1, 0],
            0,
            1,
            &[9, 3, 4, 5, 7, 8, 1, 2, 6, 0],
        ),
        (&[0, 1, 1, 0, 0, 0, 2, 1], 0, 2, &[0, 3, 4, 5, 6, 1, 2, 7]),
        (
            &[
                0, 4, 0, 1, 4, 0, 4, 4, 3, 0, 1, 0, 4, 1, 2, 3, 1, 4, 0, 4, 2, 4, 1, 0, 4, 4, 1, 2,
                0, 4, 0, 4, 0, 4, 1, 3, 4, 3, 2, 3, 4, 3, 2, 2, 1, 1, 1, 0, 4, 2,
            ],
            0,
            4,
            &[
                5, 0, 47, 2, 18, 30, 11, 28, 9, 23, 32, 3, 13, 44, 45, 46, 16, 34, 22, 10, 26, 8,
                38, 43, 42, 37, 35, 27, 41, 14, 39, 49, 15, 20, 31, 1, 4, 6, 7, 12, 17, 19, 21, 24,
                25, 29, 33, 36, 40, 48,
            ],
        ),
        (
            &[
                4, 3, 2, 5, 3, 2, 4, 0, 0, 4, 3, 1, 2, 1, 3, 3, 0, 5, 0, 4, 4, 2, 2, 5, 2, 4, 3, 4,
                3, 0, 0, 2, 3, 5, 5, 0, 0, 5, 5, 2, 5, 4, 5, 3, 2, 5, 3, 5, 2, 0, 3, 2, 1, 4, 0, 3,
                0, 1, 2, 1, 5, 1, 3, 3, 3, 0, 1, 3, 3, 4, 2, 1, 3, 4, 2, 5, 3, 2, 5, 3, 1, 1, 0, 1,
                1, 1, 5, 1, 0, 3, 4, 1, 2, 2, 0, 1, 3, 4, 2, 4,
            ],
            40,
            59,
            &[
                8, 16, 30, 18, 29, 56, 7, 88, 94, 36, 54, 65, 49, 82, 35, 61, 11, 52, 66, 57, 59,
                13, 91, 87, 95, 85, 84, 83, 81, 80, 71, 93, 5, 44, 48, 2, 58, 12, 98, 39, 70, 22,
                24, 77, 74, 51, 21, 92, 31, 62, 1, 4, 10, 14, 15, 26, 28, 32, 43, 46, 50, 55, 63,
                64, 67, 68, 72, 76, 79, 89, 96, 45, 6, 73, 42, 75, 99, 41, 78, 97, 40, 38, 37, 34,
                33, 27, 86, 25, 23, 3, 90, 0, 20, 19, 60, 53, 17, 9, 69, 47,
            ],
        ),
        (
            &[
                2, 1, 0, 2, 2, 2, 2, 2, 2, 0, 1, 2, 2, 1, 1, 1, 1, 0, 1, 2, 1, 0, 0, 0, 0, 1, 0, 0,
                1, 2, 0, 0, 0, 2, 0, 2, 0, 1, 2, 0, 0, 0, 2, 1, 0, 2, 1, 1, 2, 1, 1, 0, 0, 1, 1, 1,
                1, 1, 0, 0, 0, 2, 1, 2,
            ],
            10,
            10,
            &[
                22, 24, 9, 26, 27, 2, 36, 30, 31, 32, 34, 41, 40, 60, 59, 58, 52, 17, 51, 39, 44,
                21, 23, 47, 1, 10, 13, 14, 15, 16, 18, 20, 25, 28, 37, 43, 46, 49, 50, 53, 54, 55,
                56, 57, 62, 45, 3, 0, 48, 61, 63, 7, 6, 33, 35, 29, 5, 38, 19, 12, 11, 42, 4, 8,
            ],
        ),
    ];
}
