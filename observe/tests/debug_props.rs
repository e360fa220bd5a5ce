//! Property tests of the DEBUG and LOLWUT parsers: any argv gives a request or a one-line Redis error, never
//! a panic; and random DEBUG calls from a vocabulary get, from a real redis-server, exactly the reply our
//! parser and reply writers give (for every call whose reply needs no data).

mod common;

use std::cell::RefCell;

use common::debug_model::model_reply;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use zedis_observe::debug::{self, DebugRequest};
use zedis_observe::lolwut::{self, CRand};
use zedis_resp::Protocol;

fn word() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..10),
        prop::sample::select(
            [
                "help",
                "object",
                "listpack",
                "quicklist",
                "digest",
                "digest-value",
                "reload",
                "protocol",
                "sleep",
                "set-active-expire",
                "quicklist-packed-threshold",
                "error",
                "change-repl-id",
                "stringmatch-test",
                "set-disable-deny-scripts",
                "log",
                "set-skip-checksum-validation",
                "replybuffer",
                "peak-reset-time",
                "resizing",
                "never",
                "reset",
                "jmap",
                "clusterlink",
                "kill",
                "merge",
                "NOFLUSH",
                "nosave",
                "string",
                "push",
                "map",
                "attrib",
                "double",
                "0",
                "1",
                "-1",
                "abc",
                "",
                "1kb",
                "4gb",
                "4095mb",
                "0.001",
                "-0.5",
                "1e-9",
                "99999999999999999999",
                "key",
            ]
            .map(|w| w.as_bytes().to_vec())
            .to_vec()
        ),
    ]
}

fn argv() -> impl Strategy<Value = Vec<Vec<u8>>> {
    proptest::collection::vec(word(), 0..6).prop_map(|mut words| {
        words.insert(0, b"DEBUG".to_vec());
        words
    })
}

fn one_line_error(text: &str) -> bool {
    text.starts_with(|c: char| c.is_ascii_uppercase()) && !text.contains(['\r', '\n'])
}

proptest! {
    #[test]
    fn debug_parse_never_panics(argv in argv()) {
        let args: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
        match debug::parse(&args) {
            Ok(DebugRequest::Sleep { duration }) => prop_assert!(duration.as_secs() < 1 << 40),
            Ok(_) => {}
            Err(e) => prop_assert!(one_line_error(&e.to_string()), "{e}"),
        }
    }

    #[test]
    fn lolwut_never_panics(
        words in proptest::collection::vec(
            prop_oneof![
                proptest::collection::vec(any::<u8>(), 0..6),
                (-3i64..400).prop_map(|n| n.to_string().into_bytes()),
                Just(b"VERSION".to_vec()),
                Just(b"5".to_vec()),
                Just(b"6".to_vec()),
            ],
            0..5,
        ),
        seed in any::<u32>(),
    ) {
        let mut argv: Vec<&[u8]> = vec![b"LOLWUT"];
        argv.extend(words.iter().map(Vec::as_slice));
        match lolwut::render(&argv, "7.0.15", &mut CRand::new(seed)) {
            Ok(text) => prop_assert!(text.ends_with("Redis ver. 7.0.15\n")),
            Err(e) => prop_assert!(one_line_error(&e.to_string()), "{e}"),
        }
    }
}

/// Calls whose reply is worth comparing and harmless to send: no long sleeps, no RELOAD, and not
/// `DEBUG CLUSTERLINK` alone (Redis 7.0.15 reads `argv[2]` before checking the count and crashes; Zedis
/// replies the syntax error).
fn comparable(argv: &[&[u8]]) -> bool {
    if argv.len() == 2 && argv[1].eq_ignore_ascii_case(b"clusterlink") {
        return false;
    }
    match debug::parse(argv) {
        Ok(DebugRequest::Sleep { duration }) => duration.as_millis() < 20,
        Ok(DebugRequest::Reload { .. }) => false,
        _ => true,
    }
}

#[test]
fn random_debug_calls_match_redis() {
    let redis = reference_or_skip!();
    let client = RefCell::new(redis.client());
    let mut runner = TestRunner::new(Config {
        cases: 400,
        ..Config::default()
    });
    let compared = RefCell::new(0);
    runner
        .run(&argv(), |argv| {
            let args: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
            if !comparable(&args) {
                return Ok(());
            }
            let Some(ours) = model_reply(&args, Protocol::Resp2) else {
                return Ok(());
            };
            let mut client = client.borrow_mut();
            client.send(&args);
            let mut theirs = Vec::new();
            while theirs.len() < ours.len() {
                theirs.extend_from_slice(&client.read_raw().0);
            }
            prop_assert_eq!(
                String::from_utf8_lossy(&ours),
                String::from_utf8_lossy(&theirs)
            );
            *compared.borrow_mut() += 1;
            Ok(())
        })
        .unwrap();
    assert!(*compared.borrow() > 100, "compared {}", compared.borrow());
}
