//! RESP2/RESP3 and inline request parsing and reply encoding: zero-copy, memchr, no storage.
//!
//! # Goals
//! - Parse client requests exactly as Redis 7.0's `processInlineBuffer`, `processMultibulkBuffer` and
//!   `sdssplitargs` do: the same accepted inputs, the same protocol errors with the same reply text
//!   ([`ProtocolError::reply_bytes`]), verified against `redis-server` 7.0.15 with raw bytes.
//! - Be the server's hot path: [`RequestParser`] records argument spans into the caller's buffer (no copy, no
//!   per-argument allocation, its span vector reused), finds line ends with `memchr`, and resumes a partial
//!   request where it stopped, so a 100 MB bulk arriving in pieces costs O(1) per call once its header is read.
//! - Never trust a declared length: nothing is allocated from a `*N` or `$N`.
//! - Encode replies byte for byte as Redis 7.0 does, downgrading RESP3 types for RESP2 clients ([`reply`]),
//!   including `%.17g` doubles ([`reply::format_double_g17`]).
//!
//! # Non-goals
//! - Knowing commands, keys or storage: the parser hands back byte spans; the server interprets them.
//! - Replication-stream quirks (Redis relaxes limits for its master link) and streamed RESP3 types.
//! - A fast client decoder: [`frame::Frame`] allocates per value; it serves tests and the bench harness.
//!
//! # Module layout
//! - `request` ([`RequestParser`], [`ParserLimits`]): the resumable request parser; `inline`: `sdssplitargs`
//!   in place; `number`: Redis's strict `string2ll`; `error` ([`ProtocolError`]).
//! - [`reply`]: reply encoders appending to a `Vec<u8>`, and [`Protocol`]; `double`: C's `%.17g`.
//! - [`frame`]: the client-side [`frame::Frame`] value, [`frame::parse_frame`] and [`frame::encode_command`].
//! - `benches/parse.rs`: criterion throughput of pipelined batches, a large bulk, reply encoding.
//! - `fuzz/`: cargo-fuzz targets (`parse_request`, `parse_frame`) in their own workspace:
//!   `cd resp && cargo +nightly fuzz run parse_request`.
//!
//! # Deviations from Redis
//! - A NUL byte in an inline request or a `*N`/`$N` line is an ordinary byte. Redis's `strchr` stops at NUL, so
//!   such a request stalls until the inline limit; here it is parsed (and a header containing NUL is invalid).
//! - Redis's query buffer grows by 16 KB reads, so whether an over-long *complete* inline line is accepted
//!   depends on read sizes there; here it depends on what the caller has buffered (see
//!   [`ParserLimits::inline_bytes_max`]).
//!
//! ```
//! use zedis_resp::{reply, ParserLimits, Protocol, RequestParser};
//!
//! let mut parser = RequestParser::new(ParserLimits::default());
//! let mut buf = b"SET greeting \"hello\\tworld\"\r\n".to_vec();
//! let consumed = parser.parse(&mut buf).unwrap().expect("complete");
//! assert_eq!(consumed, buf.len());
//! let args: Vec<&[u8]> = parser.args().iter().map(|span| &buf[span.clone()]).collect();
//! assert_eq!(args, [&b"SET"[..], b"greeting", b"hello\tworld"]);
//!
//! let mut out = Vec::new();
//! reply::null(&mut out, Protocol::Resp3);
//! assert_eq!(out, b"_\r\n");
//! ```
#![deny(missing_docs)]

use zedis_util::double;
mod error;
pub mod frame;
mod inline;
mod number;
pub mod reply;
mod request;

pub use error::ProtocolError;
pub use frame::{encode_command, parse_frame, Frame, FrameError};
pub use reply::Protocol;
pub use request::{
    ParserLimits, RequestParser, BIG_ARG_BYTES, BULK_BYTES_MAX_DEFAULT, INLINE_BYTES_MAX_DEFAULT,
    MULTIBULK_LEN_MAX_DEFAULT, UNAUTHENTICATED_BULK_BYTES_MAX, UNAUTHENTICATED_MULTIBULK_LEN_MAX,
};
