//! Splitting a link's byte stream into packets, as Redis's `clusterReadHandler`: read 8 bytes, check the
//! signature and that `totlen` is at least the header size, then read `totlen` bytes.

use crate::error::FrameError;

use super::header::HEADER_BYTES;

/// Default bound on one packet (a PUBLISH carries a whole message; Redis bounds it only by `u32`).
pub const FRAME_BYTES_MAX_DEFAULT: usize = 64 << 20;

/// The receive buffer of one link. Memory is bounded by `frame_bytes_max` plus one read.
#[derive(Debug)]
pub struct FrameReader {
    buf: Vec<u8>,
    /// Bytes of `buf` already handed out as frames (compacted on the next `push`).
    consumed: usize,
    frame_bytes_max: usize,
}

impl Default for FrameReader {
    fn default() -> Self {
        FrameReader::new(FRAME_BYTES_MAX_DEFAULT)
    }
}

impl FrameReader {
    /// A reader refusing packets longer than `frame_bytes_max` (at least the header size).
    pub fn new(frame_bytes_max: usize) -> FrameReader {
        FrameReader {
            buf: Vec::new(),
            consumed: 0,
            frame_bytes_max: frame_bytes_max.max(HEADER_BYTES),
        }
    }

    /// Appends bytes read from the socket.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.consumed > 0 {
            self.buf.drain(..self.consumed);
            self.consumed = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete packet, `Ok(None)` when more bytes are needed. After an error the link must be
    /// closed (the stream cannot be resynchronised).
    pub fn next_frame(&mut self) -> Result<Option<&[u8]>, FrameError> {
        let pending = &self.buf[self.consumed..];
        if pending.len() < 8 {
            return Ok(None);
        }
        if &pending[..4] != b"RCmb" {
            return Err(FrameError::BadSignature);
        }
        let totlen = u32::from_be_bytes([pending[4], pending[5], pending[6], pending[7]]);
        if (totlen as usize) < HEADER_BYTES {
            return Err(FrameError::TooShort(totlen));
        }
        if totlen as usize > self.frame_bytes_max {
            return Err(FrameError::TooLong {
                declared: totlen,
                max: self.frame_bytes_max,
            });
        }
        if pending.len() < totlen as usize {
            return Ok(None);
        }
        let start = self.consumed;
        self.consumed += totlen as usize;
        Ok(Some(&self.buf[start..start + totlen as usize]))
    }

    /// Heap bytes held (buffer capacity), for the memory budget.
    pub fn bytes(&self) -> usize {
        self.buf.capacity()
    }

    /// Releases buffer capacity above `keep` bytes when nothing is pending beyond that.
    pub fn shrink(&mut self, keep: usize) {
        if self.consumed > 0 {
            self.buf.drain(..self.consumed);
            self.consumed = 0;
        }
        if self.buf.capacity() > keep.max(self.buf.len()) {
            self.buf.shrink_to(keep.max(self.buf.len()));
        }
    }
}
