//! The crate's error types: one per concern (bus packets, nodes.conf).

/// Why bytes from the cluster bus are not a packet this node accepts.
///
/// [`FrameError`]s close the link (Redis's `clusterReadHandler` frees it); [`DecodeError`]s drop the packet
/// only (Redis's `clusterProcessPacket` returns early and keeps the link).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The first four bytes are not `RCmb`.
    #[error("Bad message signature received from Cluster bus")]
    BadSignature,
    /// The declared total length is below the fixed header size.
    #[error("Bad message length {0} received from Cluster bus")]
    TooShort(u32),
    /// The declared total length is above this node's `frame_bytes_max`.
    #[error("Cluster bus message of {declared} bytes exceeds the {max} bytes limit")]
    TooLong {
        /// Declared total length.
        declared: u32,
        /// The configured limit.
        max: usize,
    },
}

/// Why a complete frame is not a valid packet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Fewer bytes than the fixed header, or than the header's `totlen`.
    #[error("truncated packet: {len} bytes, at least {needed} needed")]
    Truncated {
        /// Bytes available.
        len: usize,
        /// Bytes needed.
        needed: u64,
    },
    /// The signature is not `RCmb`.
    #[error("bad signature")]
    BadSignature,
    /// The protocol version is not 1.
    #[error("unsupported bus protocol version {0}")]
    BadVersion(u16),
    /// `totlen` disagrees with the length the type and counts imply (Redis logs and drops these).
    #[error("Received invalid {kind} packet of length {totlen} but expected length {expected}")]
    Length {
        /// Message type name as Redis logs it.
        kind: &'static str,
        /// Declared total length.
        totlen: u64,
        /// Length implied by the content.
        expected: u64,
    },
    /// A ping extension length is not a multiple of 8 (or below its 8-byte header).
    #[error("Received a {kind} packet without proper padding ({len} bytes)")]
    ExtPadding {
        /// Message type name.
        kind: &'static str,
        /// The extension's declared length.
        len: u32,
    },
    /// A ping extension runs past the end of the packet.
    #[error("Received invalid {kind} packet with extension data that exceeds total packet length ({totlen})")]
    ExtOverflow {
        /// Message type name.
        kind: &'static str,
        /// Declared total length.
        totlen: u64,
    },
    /// A known extension's body is shorter than its fixed fields.
    #[error("ping extension of type {ext_type} is too short ({len} bytes)")]
    ExtBody {
        /// Extension type.
        ext_type: u16,
        /// Its length.
        len: u32,
    },
}

/// Why a nodes.conf cannot be loaded: the line (1-based) and the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("corrupted cluster config file, line {line}: {problem}")]
pub struct ConfError {
    /// 1-based line number (0 when the problem is about the whole file).
    pub line: usize,
    /// What is wrong.
    pub problem: String,
}

impl ConfError {
    #[allow(dead_code)]
    pub(crate) fn new(line: usize, problem: impl Into<String>) -> Self {
        ConfError {
            line,
            problem: problem.into(),
        }
    }
}
