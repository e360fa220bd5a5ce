//! Size classes: which block a `Layout` gets, and what it costs.
//!
//! Small requests (up to [`SMALL_BYTES_MAX`]) are rounded up to one of [`CLASS_COUNT`] classes: multiples of 8
//! up to 64 plus 60 (4-aligned: the keyspace's 60-byte entry, a 16-byte key with a 32-byte value) and 72 (the
//! same entry with its 12-byte expire block), then four classes per power of two (80, 96, 112, 128, 160, ...), which bounds rounding waste at 20% (and about 11% on
//! average for uniformly spread sizes). Larger requests take whole runs of
//! [`PAGE_BYTES`] pages. The mapping is a pure function of the layout, so `deallocate` finds the class again
//! from the layout it is given, with no per-block header.

use std::alloc::Layout;

/// The unit the region is carved into: slabs of one size class, or runs for large requests.
pub const PAGE_BYTES: usize = 64 * 1024;

/// The largest request served from a size class; anything larger takes a run of pages.
pub const SMALL_BYTES_MAX: usize = 16 * 1024;

/// How many size classes there are.
pub const CLASS_COUNT: usize = 42;

/// Every class size, ascending. Invariant: each is a multiple of 4 (of 8 but for 60); blocks sit at
/// `page + j * size`, so a block is aligned to the largest power of two dividing its size, and a request
/// only gets a class its alignment divides.
pub const CLASS_SIZES: [usize; CLASS_COUNT] = class_sizes();

const _: () = assert!(CLASS_SIZES[CLASS_COUNT - 1] == SMALL_BYTES_MAX);
const _: () = assert!(PAGE_BYTES % SMALL_BYTES_MAX == 0 && PAGE_BYTES.is_power_of_two());

const fn class_sizes() -> [usize; CLASS_COUNT] {
    let mut sizes = [0; CLASS_COUNT];
    let mut i = 0;
    while i < 7 {
        sizes[i] = (i + 1) * 8;
        i += 1;
    }
    sizes[7] = 60;
    sizes[8] = 64;
    sizes[9] = 72;
    let mut group = 6;
    while group < 14 {
        let mut k = 1;
        while k <= 4 {
            sizes[10 + (group - 6) * 4 + k - 1] = (1 << group) + k * (1 << (group - 2));
            k += 1;
        }
        group += 1;
    }
    sizes
}

/// The smallest class holding `size` bytes (`1..=SMALL_BYTES_MAX`), ignoring alignment.
#[inline]
fn class_index_for_size(size: usize) -> usize {
    debug_assert!((1..=SMALL_BYTES_MAX).contains(&size));
    if size <= 56 {
        return size.div_ceil(8) - 1;
    }
    if size <= 72 {
        return if size <= 60 {
            7
        } else if size <= 64 {
            8
        } else {
            9
        };
    }
    // 2^group < size <= 2^(group + 1), four classes per group spaced 2^(group - 2) apart (72 sits below
    // 80, the first class of group 6).
    let group = (usize::BITS - 1 - (size - 1).leading_zeros()) as usize;
    let shift = group - 2;
    let k = (size - (1 << group)).div_ceil(1 << shift);
    10 + (group - 6) * 4 + k - 1
}

/// How a request is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A zero-sized request: a dangling, aligned pointer, nothing held.
    Empty,
    /// A block of size class `CLASS_SIZES[idx]`.
    Small(usize),
    /// A run of this many pages.
    Run(usize),
    /// Too large or too aligned for the pool.
    Unservable,
}

impl Kind {
    /// The kind for `layout`. Pure: `deallocate` recomputes it from the layout it is given. Every size between
    /// the requested one and the returned block length maps to the same kind, as the `Allocator` contract needs.
    #[inline]
    pub(crate) fn of(layout: Layout) -> Kind {
        let (size, align) = (layout.size(), layout.align());
        if size == 0 {
            return Kind::Empty;
        }
        if size <= SMALL_BYTES_MAX {
            let mut idx = class_index_for_size(size);
            while idx < CLASS_COUNT {
                if CLASS_SIZES[idx] % align == 0 {
                    return Kind::Small(idx);
                }
                idx += 1;
            }
        }
        if align > PAGE_BYTES {
            return Kind::Unservable;
        }
        Kind::Run(size.div_ceil(PAGE_BYTES))
    }

    /// Bytes this kind holds (and charges to the budget).
    #[inline]
    pub(crate) fn bytes(self) -> usize {
        match self {
            Kind::Empty | Kind::Unservable => 0,
            Kind::Small(idx) => CLASS_SIZES[idx],
            Kind::Run(pages) => pages * PAGE_BYTES,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_ascend_and_bound_waste() {
        assert_eq!(
            &CLASS_SIZES[..14],
            &[8, 16, 24, 32, 40, 48, 56, 60, 64, 72, 80, 96, 112, 128]
        );
        for pair in CLASS_SIZES.windows(2) {
            assert!(pair[0] < pair[1]);
            // The worst request for pair[1] is pair[0] + 1.
            let waste = (pair[1] - pair[0] - 1) as f64 / pair[1] as f64;
            // Below 64 bytes the absolute waste is under 8 bytes instead.
            assert!(
                if pair[0] < 64 {
                    pair[1] - pair[0] <= 8
                } else {
                    waste <= 0.2
                },
                "{pair:?}"
            );
        }
    }

    #[test]
    fn every_size_and_alignment_gets_the_smallest_fitting_class() {
        for shift in 0..=17 {
            let align = 1usize << shift;
            for size in 1..=SMALL_BYTES_MAX + 1 {
                let layout = Layout::from_size_align(size, align).unwrap();
                let expected = CLASS_SIZES
                    .iter()
                    .position(|&c| c >= size && c % align == 0);
                match (Kind::of(layout), expected) {
                    (Kind::Small(idx), Some(e)) => assert_eq!(idx, e, "size {size} align {align}"),
                    (Kind::Run(pages), None) if align <= PAGE_BYTES => {
                        assert_eq!(pages, size.div_ceil(PAGE_BYTES))
                    }
                    (Kind::Unservable, None) => assert!(align > PAGE_BYTES),
                    (kind, e) => panic!("size {size} align {align}: {kind:?} vs {e:?}"),
                }
            }
        }
    }

    #[test]
    fn zero_and_large_sizes() {
        assert_eq!(
            Kind::of(Layout::from_size_align(0, 8).unwrap()),
            Kind::Empty
        );
        let big = Layout::from_size_align(3 * PAGE_BYTES + 1, 8).unwrap();
        assert_eq!(Kind::of(big), Kind::Run(4));
        assert_eq!(Kind::Run(4).bytes(), 4 * PAGE_BYTES);
    }
}
