//! Walking a list: ranges and full iteration, double-ended, node by node.

use super::List;
use crate::types::elem::Elem;
use crate::types::listpack;
use allocator_api2::alloc::Allocator;

impl<A: Allocator + Copy> List<A> {
    /// LRANGE: elements `start..=stop` (Redis index rules); double-ended, so `.rev()` walks back.
    pub fn range(&self, start: i64, stop: i64) -> Iter<'_, A> {
        let (first, end) = self.clamp_range(start, stop);
        self.iter_positions(first, end)
    }

    /// Every element, head to tail; double-ended (LPOS with a negative RANK uses `.rev()`).
    pub fn iter(&self) -> Iter<'_, A> {
        self.iter_positions(0, self.len)
    }

    /// Elements at positions `first..end` (`end <= len`).
    pub fn iter_positions(&self, first: usize, end: usize) -> Iter<'_, A> {
        let empty = Iter {
            list: self,
            front_node: 0,
            front: listpack::Iter::empty(),
            back_node: 0,
            back: listpack::Iter::empty(),
            remaining: 0,
        };
        let end = end.min(self.len);
        if first >= end {
            return empty;
        }
        let (Some((front_node, front_at)), Some((back_node, back_at))) =
            (self.locate(first), self.locate(end - 1))
        else {
            return empty;
        };
        let (front_lp, back_lp) = (self.lp(front_node), self.lp(back_node));
        let front_off = front_lp.offset_of(front_at).unwrap_or(front_lp.bytes_len());
        let back_off = back_lp.offset_of(back_at).unwrap_or(0);
        let back_end = back_lp.next_off(back_off).unwrap_or(back_lp.bytes_len());
        Iter {
            list: self,
            front_node,
            front: front_lp.iter_offsets(front_off, front_lp.bytes_len()),
            back_node,
            back: back_lp.iter_offsets(0, back_end),
            remaining: end - first,
        }
    }
}

/// Iterator over a range of a list; double-ended.
pub struct Iter<'a, A: Allocator + Copy> {
    list: &'a List<A>,
    front_node: usize,
    /// Rest of `nodes[front_node]` from the front position.
    front: listpack::Iter<'a>,
    back_node: usize,
    /// Start of `nodes[back_node]` up to the back position.
    back: listpack::Iter<'a>,
    /// Elements left between the two positions (bounds both ends, which may share a node).
    remaining: usize,
}

impl<'a, A: Allocator + Copy> Iterator for Iter<'a, A> {
    type Item = Elem<'a>;

    fn next(&mut self) -> Option<Elem<'a>> {
        if self.remaining == 0 {
            return None;
        }
        loop {
            if let Some(elem) = self.front.next() {
                self.remaining -= 1;
                return Some(elem);
            }
            self.front_node += 1;
            if self.front_node >= self.list.nodes.len() {
                return None;
            }
            self.front = self.list.lp(self.front_node).iter();
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<A: Allocator + Copy> DoubleEndedIterator for Iter<'_, A> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        loop {
            if let Some(elem) = self.back.next_back() {
                self.remaining -= 1;
                return Some(elem);
            }
            self.back_node = self.back_node.checked_sub(1)?;
            if self.back_node >= self.list.nodes.len() {
                return None;
            }
            self.back = self.list.lp(self.back_node).iter();
        }
    }
}

impl<A: Allocator + Copy> ExactSizeIterator for Iter<'_, A> {}
