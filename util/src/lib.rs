//! Small helpers that several Zedis crates share, so that each rule is written once:
//!
//! - [`num`]: Redis's `string2ll` integer rule, its double-argument parser, integer formatting;
//! - [`double`]: C's `printf("%.17g")` (and `%.<P>g`) byte for byte, without allocating (replies, RDB scores);
//! - [`glob`]: Redis's glob matcher (KEYS, SCAN MATCH, PSUBSCRIBE, COMMAND LIST FILTERBY PATTERN);
//! - [`notify`]: the keyspace-event class bits of `notify-keyspace-events`;
//! - [`sds`]: Redis's word splitting and quoting for its text files (`sdssplitargs`, `sdscatrepr`).
//! - [`ticks`]: a cheap stopwatch for per-command durations (the time-stamp counter where the kernel uses it).
//!
//! Non-goals: anything that allocates for the keyspace or knows about the protocol. `zedis_keyspace::num`,
//! `zedis_keyspace::glob` and `zedis_keyspace::notify` re-export these modules.
#![deny(missing_docs)]

pub mod double;
pub mod glob;
pub mod notify;
pub mod num;
pub mod sds;
pub mod ticks;
