//! `list-compress-depth` for [`List`]: which nodes are inner, the compression pass that keeps them
//! LZF-compressed (Redis's `__quicklistCompress`), and node access that decompresses on demand.

use super::node::Node;
use super::List;
use crate::types::listpack::Listpack;
use crate::types::{AllocError, Needle};
use allocator_api2::alloc::Allocator;
use std::sync::atomic::{AtomicUsize, Ordering};

static COMPRESS_DEPTH: AtomicUsize = AtomicUsize::new(0);

/// Sets `list-compress-depth` for lists created from now on (existing lists keep theirs, as Redis).
pub fn set_compress_depth(depth: usize) {
    COMPRESS_DEPTH.store(depth, Ordering::Relaxed);
}

/// The current `list-compress-depth` for new lists.
pub fn compress_depth() -> usize {
    COMPRESS_DEPTH.load(Ordering::Relaxed)
}

impl<A: Allocator + Copy> List<A> {
    /// `list-compress-depth` of this list.
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// Number of nodes held compressed, and their compressed bytes (for DEBUG and tests).
    pub fn compressed_nodes(&self) -> (usize, usize) {
        self.nodes
            .iter()
            .filter_map(Node::compressed_bytes)
            .fold((0, 0), |(n, b), c| (n + 1, b + c))
    }

    pub(super) fn lp(&self, node: usize) -> &Listpack<A> {
        let node = &self.nodes[node];
        if node.is_compressed() {
            self.dirty.set(true);
        }
        node.view(&self.empty)
    }

    pub(super) fn lp_mut(&mut self, node: usize) -> Result<&mut Listpack<A>, AllocError> {
        self.dirty.set(true);
        self.nodes[node].view_mut()
    }

    pub(super) fn is_inner(&self, node: usize) -> bool {
        self.depth > 0 && node >= self.depth && node + self.depth < self.nodes.len()
    }

    /// Compression pass: nodes within the depth of an end plain, inner ones compressed (when that
    /// pays). O(depth) after end-only changes, O(nodes) after others; a no-op at depth 0.
    pub(super) fn compress_pass(&mut self, full: bool) {
        if self.depth == 0 {
            return;
        }
        let n = self.nodes.len();
        if full || self.dirty.get() {
            for i in 0..n {
                if self.is_inner(i) {
                    self.nodes[i].compress();
                } else if self.nodes[i].is_compressed() {
                    self.nodes[i].decompress();
                }
            }
            self.dirty.set(false);
            return;
        }
        let d = self.depth;
        for i in (0..d.min(n)).chain(n.saturating_sub(d)..n) {
            if self.nodes[i].is_compressed() {
                self.nodes[i].decompress();
            }
        }
        for i in [d, n.wrapping_sub(d + 1)] {
            if i < n && self.is_inner(i) {
                self.nodes[i].compress();
            }
        }
    }

    /// Drops the read caches of compressed nodes (Redis recompresses right after a read); call
    /// after LRANGE/LINDEX/LPOS-style reads through `&self`.
    pub fn recompress(&mut self) {
        if self.depth > 0 && self.dirty.get() {
            self.compress_pass(true);
        }
    }
}

/// The listpack of `node` for LREM, or `None` when it is compressed and holds no match (so it is
/// not decompressed for nothing) or cannot be decompressed.
pub(super) fn thaw_if_has<'n, A: Allocator + Copy>(
    node: &'n mut Node<A>,
    needle: &Needle<'_>,
) -> Option<&'n mut Listpack<A>> {
    if node.is_compressed() {
        let empty = Listpack::new_in(node_alloc(node));
        node.view(&empty).find(needle, 0, 1)?;
    }
    node.view_mut().ok()
}

fn node_alloc<A: Allocator + Copy>(node: &Node<A>) -> A {
    node.alloc()
}
