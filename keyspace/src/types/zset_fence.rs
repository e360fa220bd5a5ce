//! [`Fence`]: a copy of a node's last pair kept in one contiguous array, so that finding the node of a pair
//! (a binary search over the nodes) reads that array instead of decoding the tail of a listpack, a cache
//! miss, at every step.
//!
//! A fence holds the score and the first [`FENCE_BYTES`] bytes of the member; a comparison that the prefix
//! cannot decide (a longer member with the same prefix and score) answers `None` and the caller reads the
//! node itself.

use super::super::elem::INT_TEXT_BYTES_MAX;
use super::super::listpack::Listpack;
use super::nodes::last_pair;
use allocator_api2::alloc::Allocator;
use core::cmp::Ordering;

/// Member bytes a fence keeps (the slot is 32 bytes: score, length, bytes).
const FENCE_BYTES: usize = 23;

/// `len` of a fence whose member is longer than [`FENCE_BYTES`] (only a prefix kept).
const TRUNCATED: u8 = u8::MAX;

const _: () = assert!(FENCE_BYTES < TRUNCATED as usize);

/// The last pair of a node, as far as [`FENCE_BYTES`] member bytes.
#[derive(Clone, Copy, PartialEq)]
pub(super) struct Fence {
    score: f64,
    /// Member length if at most [`FENCE_BYTES`], else [`TRUNCATED`].
    len: u8,
    /// The member (its first [`FENCE_BYTES`] bytes when truncated).
    bytes: [u8; FENCE_BYTES],
}

const _: () = assert!(core::mem::size_of::<Fence>() == 32);

impl Fence {
    /// The fence of a node (an empty node, never kept, gets the lowest fence).
    pub(super) fn of<A: Allocator>(node: &Listpack<A>) -> Fence {
        let mut fence = Fence {
            score: f64::NEG_INFINITY,
            len: 0,
            bytes: [0; FENCE_BYTES],
        };
        if let Some((member, score)) = last_pair(node) {
            let mut buf = [0u8; INT_TEXT_BYTES_MAX];
            let member = member.to_bytes(&mut buf);
            let kept = member.len().min(FENCE_BYTES);
            fence.score = score;
            fence.bytes[..kept].copy_from_slice(&member[..kept]);
            fence.len = if member.len() > FENCE_BYTES {
                TRUNCATED
            } else {
                kept as u8
            };
        }
        fence
    }

    /// The score of the node's last pair.
    pub(super) fn score(&self) -> f64 {
        self.score
    }

    /// Whether the node's last pair sorts before `(score, member)`; `None` when only the node can tell.
    pub(super) fn before(&self, score: f64, member: &[u8]) -> Option<bool> {
        match self.score.partial_cmp(&score) {
            Some(Ordering::Less) => return Some(true),
            Some(Ordering::Greater) => return Some(false),
            _ => {}
        }
        if self.len != TRUNCATED {
            return Some(&self.bytes[..usize::from(self.len)] < member);
        }
        let head = &member[..member.len().min(FENCE_BYTES)];
        match self.bytes[..].cmp(head) {
            Ordering::Equal => None,
            order => Some(order == Ordering::Less),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::elem::Elem;
    use crate::types::zset::nodes::{cmp_pair, insert_pair};
    use allocator_api2::alloc::Global;

    /// A fence answers as the node's last pair does, or defers.
    #[test]
    fn agrees_with_the_last_pair() {
        let members: [&[u8]; 7] = [
            b"",
            b"a",
            b"abc",
            b"12",
            b"abcdefghijklmnopqrstuvw",
            b"abcdefghijklmnopqrstuvwx",
            b"abcdefghijklmnopqrstuvwxyz",
        ];
        for last in members {
            for score in [-1.0, 0.0, 2.5] {
                let mut node = Listpack::new_in(Global);
                insert_pair(&mut node, 0, last, 0.0).unwrap();
                let fence = Fence::of(&node);
                for key in members {
                    let truth = cmp_pair(0.0, Elem::from_bytes(last), score, key) == Ordering::Less;
                    match fence.before(score, key) {
                        Some(answer) => assert_eq!(answer, truth, "{last:?} {score} {key:?}"),
                        None => assert!(last.len() > FENCE_BYTES && key.len() >= FENCE_BYTES),
                    }
                }
            }
        }
    }
}
