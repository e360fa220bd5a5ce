//! Test helpers: the reference `redis-server` and raw RESP client of `zedis-testkit` (on a free port, files in a
//! temp dir, killed by PID; reply bytes and frames), plus what these tests read out of replies.
#![allow(dead_code)]

pub mod debug_model;

use zedis_resp::{parse_frame, Frame};
pub use zedis_testkit::{RedisServer as RedisProcess, RespClient as Client};

/// Starts the reference (`--enable-debug-command yes` plus `args`); `None` when it is missing or fails.
pub fn start_reference(args: &[&str]) -> Option<RedisProcess> {
    let mut all = vec!["--enable-debug-command", "yes"];
    all.extend_from_slice(args);
    RedisProcess::start(&all)
}

/// Starts the reference or skips the test (prints why) when `redis-server` is not installed.
#[macro_export]
macro_rules! reference_or_skip {
    ($($arg:expr),*) => {
        match common::start_reference(&[$($arg),*]) {
            Some(redis) => redis,
            None => {
                eprintln!("redis-server not available: skipped");
                return;
            }
        }
    };
}

/// Parses one frame from bytes our crate produced.
pub fn frame_of(bytes: &[u8]) -> Frame {
    let (frame, used) = parse_frame(bytes).expect("valid").expect("complete");
    assert_eq!(used, bytes.len(), "one frame exactly");
    frame
}

/// The integer in a frame.
pub fn int(frame: &Frame) -> i64 {
    match frame {
        Frame::Integer(n) => *n,
        other => panic!("not an integer: {other:?}"),
    }
}

/// The elements of an array frame.
pub fn items(frame: &Frame) -> &[Frame] {
    match frame {
        Frame::Array(items) => items,
        other => panic!("not an array: {other:?}"),
    }
}

/// The bulk bytes of a frame.
pub fn bulk(frame: &Frame) -> &[u8] {
    match frame {
        Frame::Bulk(b) => b,
        Frame::Verbatim { text, .. } => text,
        other => panic!("not a bulk: {other:?}"),
    }
}

/// What these tests ask of a reference connection beyond [`Client`]'s own calls.
pub trait ClientExt {
    /// The server's clock in whole seconds (TIME).
    fn unix_s(&mut self) -> i64;
    /// A field of INFO `section`.
    fn info_field(&mut self, section: &str, field: &str) -> String;
    /// Runs `args` until the server's second is the same before and after; returns the reply bytes and that
    /// second, so a reply computed from "now" can be recomputed.
    fn raw_at_stable_second(&mut self, args: &[&str]) -> (Vec<u8>, i64);
}

impl ClientExt for Client {
    fn unix_s(&mut self) -> i64 {
        let reply = self.cmd(&["TIME"]);
        std::str::from_utf8(bulk(&items(&reply)[0]))
            .unwrap()
            .parse()
            .unwrap()
    }

    fn info_field(&mut self, section: &str, field: &str) -> String {
        let reply = self.cmd(&["INFO", section]);
        let text = String::from_utf8_lossy(bulk(&reply)).into_owned();
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{field}:")).map(str::to_owned))
            .unwrap_or_default()
    }

    fn raw_at_stable_second(&mut self, args: &[&str]) -> (Vec<u8>, i64) {
        loop {
            let before = self.unix_s();
            let raw = self.raw(args);
            if self.unix_s() == before {
                return (raw, before);
            }
        }
    }
}
