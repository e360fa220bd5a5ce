//! One quicklist node of a [`super::List`]: a [`Listpack`], kept LZF-compressed while it lies more
//! than `list-compress-depth` nodes from both ends (Redis's `quicklistNodeCompress`).
//!
//! The LZF input is this node's entries serialised as `tag, [u32 LE length], bytes` (tag 0: an `i64`
//! LE, tag 1: a string), since Zedis's listpack bytes are private to their module; the size rules
//! are Redis's: nodes under [`MIN_COMPRESS_BYTES`] stay plain, and the compressed form is kept only
//! when it saves at least [`MIN_COMPRESS_IMPROVE`] bytes over the listpack. A node that did not
//! compress is remembered as such until it changes, so later passes do not retry it.
//!
//! Reads through `&self` of a compressed node decompress it into a cache that lives until the next
//! [`Node::compress`] (the list's compression pass after a mutation, or [`super::List::recompress`]).

use super::super::elem::Elem;
use super::super::listpack::Listpack;
use super::super::AllocError;
use allocator_api2::alloc::Allocator;
use allocator_api2::vec::Vec;
use std::cell::OnceCell;

/// Redis's `MIN_COMPRESS_BYTES`: smaller nodes are never compressed.
pub const MIN_COMPRESS_BYTES: usize = 48;
/// Redis's `MIN_COMPRESS_IMPROVE`: the compressed form must be this much smaller.
pub const MIN_COMPRESS_IMPROVE: usize = 8;

use zedis_rdb::lzf;

/// The compressed form of a node.
struct Packed<A: Allocator> {
    lzf: Vec<u8, A>,
    /// Serialised (uncompressed) length.
    raw_len: usize,
    count: usize,
}

/// A quicklist node: a plain listpack, or its LZF form (plus a read cache).
pub struct Node<A: Allocator + Copy> {
    /// The entries; always set when `packed` is `None`, a read cache otherwise.
    plain: OnceCell<Listpack<A>>,
    packed: Option<Packed<A>>,
    /// Compression was tried on the current content and did not pay.
    incompressible: bool,
    alloc: A,
}

fn serialise<A: Allocator>(lp: &Listpack<A>) -> std::vec::Vec<u8> {
    let mut out = std::vec::Vec::with_capacity(lp.bytes_len() + lp.len() * 4);
    for elem in lp.iter() {
        match elem {
            Elem::Int(v) => {
                out.push(0);
                out.extend_from_slice(&v.to_le_bytes());
            }
            Elem::Bytes(b) => {
                out.push(1);
                out.extend_from_slice(&(b.len() as u32).to_le_bytes());
                out.extend_from_slice(b);
            }
        }
    }
    out
}

fn deserialise<A: Allocator>(raw: &[u8], alloc: A) -> Result<Listpack<A>, AllocError> {
    let mut lp = Listpack::new_in(alloc);
    let mut at = 0;
    while at < raw.len() {
        let tag = raw[at];
        at += 1;
        let elem = if tag == 0 {
            let bytes: [u8; 8] = raw
                .get(at..at + 8)
                .ok_or(AllocError)?
                .try_into()
                .map_err(|_| AllocError)?;
            at += 8;
            Elem::Int(i64::from_le_bytes(bytes))
        } else {
            let len: [u8; 4] = raw
                .get(at..at + 4)
                .ok_or(AllocError)?
                .try_into()
                .map_err(|_| AllocError)?;
            let len = u32::from_le_bytes(len) as usize;
            at += 4;
            let bytes = raw.get(at..at + len).ok_or(AllocError)?;
            at += len;
            Elem::Bytes(bytes)
        };
        lp.insert_at(lp.bytes_len(), elem)?;
    }
    Ok(lp)
}

impl<A: Allocator + Copy> Node<A> {
    /// A plain node holding `lp`.
    pub fn plain(lp: Listpack<A>, alloc: A) -> Self {
        Node {
            plain: OnceCell::from(lp),
            packed: None,
            incompressible: false,
            alloc,
        }
    }

    /// Whether the node is held compressed.
    pub fn is_compressed(&self) -> bool {
        self.packed.is_some()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        match &self.packed {
            Some(p) => p.count,
            None => self.plain.get().map_or(0, Listpack::len),
        }
    }

    /// Whether the node has no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Heap bytes held: the compressed form (and a live read cache), or the listpack.
    pub fn mem_bytes(&self) -> usize {
        self.packed.as_ref().map_or(0, |p| p.lzf.capacity())
            + self.plain.get().map_or(0, Listpack::mem_bytes)
    }

    /// Compressed bytes, if compressed (for DEBUG output and tests).
    pub fn compressed_bytes(&self) -> Option<usize> {
        self.packed.as_ref().map(|p| p.lzf.len())
    }

    /// The entries for reading; decompresses into the cache when needed. `fallback` (an empty
    /// listpack) is shown if decompression cannot allocate.
    pub fn view<'a>(&'a self, fallback: &'a Listpack<A>) -> &'a Listpack<A> {
        if let Some(lp) = self.plain.get() {
            return lp;
        }
        match self.thawed() {
            Ok(lp) => self.plain.get_or_init(|| lp),
            Err(AllocError) => fallback,
        }
    }

    fn thawed(&self) -> Result<Listpack<A>, AllocError> {
        let packed = self.packed.as_ref().ok_or(AllocError)?;
        let raw = lzf::decompress(&packed.lzf, packed.raw_len).map_err(|_| AllocError)?;
        deserialise(&raw, self.alloc)
    }

    /// The entries for writing: the node becomes plain (Redis's decompress-for-use).
    pub fn view_mut(&mut self) -> Result<&mut Listpack<A>, AllocError> {
        if self.plain.get().is_none() {
            let lp = self.thawed()?;
            let _ = self.plain.set(lp);
        }
        self.packed = None;
        self.incompressible = false;
        self.plain.get_mut().ok_or(AllocError)
    }

    /// Takes the listpack out (decompressing), leaving the node empty.
    pub fn into_plain(mut self) -> Result<Listpack<A>, AllocError> {
        self.view_mut()?;
        self.plain.take().ok_or(AllocError)
    }

    /// Makes the node plain, keeping content (drops the compressed form).
    pub fn decompress(&mut self) {
        let _ = self.view_mut();
    }

    /// Compresses the node when it pays (drops any read cache of an already compressed node).
    pub fn compress(&mut self) {
        if self.packed.is_some() {
            if self.plain.get().is_some() {
                self.plain.take();
            }
            return;
        }
        if self.incompressible {
            return;
        }
        let Some(lp) = self.plain.get() else { return };
        if lp.bytes_len() < MIN_COMPRESS_BYTES {
            self.incompressible = true;
            return;
        }
        let raw = serialise(lp);
        let budget = lp.bytes_len().saturating_sub(MIN_COMPRESS_IMPROVE);
        let Some(out) = lzf::compress(&raw, budget).filter(|o| !o.is_empty()) else {
            self.incompressible = true;
            return;
        };
        let mut lzf = Vec::new_in(self.alloc);
        if lzf.try_reserve_exact(out.len()).is_err() {
            return;
        }
        lzf.extend_from_slice(&out);
        self.packed = Some(Packed {
            lzf,
            raw_len: raw.len(),
            count: lp.len(),
        });
        self.plain.take();
    }
}

impl<A: Allocator + Copy> Node<A> {
    /// The allocator the node's buffers come from.
    pub fn alloc(&self) -> A {
        self.alloc
    }
}

impl<A: Allocator + Copy> Node<A> {
    /// Whether a compressed node currently holds a decompressed read cache.
    #[cfg(test)]
    pub fn has_cache(&self) -> bool {
        self.packed.is_some() && self.plain.get().is_some()
    }
}
