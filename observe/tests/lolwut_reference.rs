//! LOLWUT against a real redis-server: the version line, argument errors, version-5 art without random
//! numbers (at most two rows of squares) byte for byte, and for the random art the same dimensions, cell
//! widths and trailers; our `CRand` is glibc's `rand()` itself.

mod common;

use common::bulk;
use zedis_observe::lolwut::{self, CRand};
use zedis_resp::Protocol;

/// Redis's reply to LOLWUT `args` and ours (seeded with 1), as bytes.
fn both(client: &mut common::Client, args: &[&str], version: &str) -> (Vec<u8>, Vec<u8>) {
    let mut argv = vec!["LOLWUT"];
    argv.extend_from_slice(args);
    let theirs = client.raw(&argv);
    let bytes: Vec<&[u8]> = argv.iter().map(|a| a.as_bytes()).collect();
    let mut ours = Vec::new();
    if let Err(e) = lolwut::reply_lolwut(
        &mut ours,
        Protocol::Resp2,
        &bytes,
        version,
        &mut CRand::new(1),
    ) {
        ours = format!("-{e}\r\n").into_bytes();
    }
    (theirs, ours)
}

fn server_version(client: &mut common::Client) -> String {
    let info = client.text("INFO server");
    info.lines()
        .find_map(|l| l.strip_prefix("redis_version:"))
        .unwrap()
        .trim()
        .to_owned()
}

#[test]
fn deterministic_replies_match_redis() {
    let redis = reference_or_skip!();
    let mut client = redis.client();
    let version = server_version(&mut client);
    for args in [
        vec![],
        vec!["VERSION"],
        vec!["version", "7"],
        vec!["VERSION", "0"],
        vec!["VERSION", "-1"],
        vec!["VERSION", "45"],
        vec!["VERSION", "x"],
        vec!["VERSION", "5", "x"],
        vec!["VERSION", "5", "10", "2", "y"],
        vec!["VERSION", "6", "10", "z"],
        vec!["VERSION", "5", "10", "3", "2"],
        vec!["VERSION", "5", "40", "5", "1"],
        vec!["VERSION", "5", "1", "1", "1"],
        vec!["VERSION", "5", "0", "0", "0"],
        vec!["VERSION", "5", "2", "1", "2"],
        vec!["VERSION", "5", "3000", "300", "2", "ignored"],
        vec!["VERSION", "4294967301", "20", "4", "2"],
    ] {
        let (theirs, ours) = both(&mut client, &args, &version);
        assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&theirs),
            "{args:?}"
        );
    }
}

/// Lines of a reply's text.
fn lines_of(raw: &[u8]) -> Vec<String> {
    let frame = common::frame_of(raw);
    String::from_utf8_lossy(bulk(&frame))
        .split('\n')
        .map(str::to_owned)
        .collect()
}

#[test]
fn random_art_has_redis_dimensions() {
    let redis = reference_or_skip!();
    let mut client = redis.client();
    let version = server_version(&mut client);
    for args in [
        vec!["VERSION", "5"],
        vec!["VERSION", "5", "30", "4", "9"],
        vec!["VERSION", "5", "7", "3", "3"],
        vec!["VERSION", "6"],
        vec!["VERSION", "6", "33", "9"],
        vec!["VERSION", "6", "1", "1"],
        vec!["VERSION", "6", "2000", "3"],
    ] {
        let (theirs, ours) = both(&mut client, &args, &version);
        let (theirs, ours) = (lines_of(&theirs), lines_of(&ours));
        assert_eq!(theirs.len(), ours.len(), "{args:?}");
        for (t, o) in theirs.iter().zip(&ours) {
            // Braille cells are one char each; ANSI cells (escape lengths vary with the colour) end in one
            // reset sequence each; other lines (trailers, the empty line) are equal.
            let braille = |c: char| ('\u{2800}'..='\u{28ff}').contains(&c);
            if t.starts_with(braille) {
                assert_eq!(t.chars().count(), o.chars().count(), "{args:?}");
                assert!(o.chars().all(braille));
            } else if t.starts_with('\x1b') {
                assert_eq!(t.matches("\x1b[0m").count(), o.matches("\x1b[0m").count());
                assert!(o.starts_with('\x1b'));
            } else {
                assert_eq!(t, o, "trailer of {args:?}");
            }
        }
    }
}

#[test]
fn crand_is_glibc_rand() {
    for seed in [0u32, 1, 2, 12345, 0x8000_0000, u32::MAX] {
        let mut ours = CRand::new(seed);
        // SAFETY: srand/rand have no preconditions; only this test touches libc's generator.
        unsafe { libc::srand(seed) };
        for _ in 0..2000 {
            let theirs = unsafe { libc::rand() };
            assert_eq!(ours.next_value(), theirs, "seed {seed}");
        }
    }
}
