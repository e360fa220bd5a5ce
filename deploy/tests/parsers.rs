//! Property tests for the parsers and formatters: `bind` words, `unixsocketperm`, the log line and its
//! time prefix (against glibc's `gmtime_r` + `strftime`).

use proptest::prelude::*;
use zedis_deploy::listen::parse_bind;
use zedis_deploy::log::{format_line, Level, MESSAGE_BYTES_MAX, PREFIX_BYTES_MAX};
use zedis_deploy::unix::parse_perm;

fn word() -> impl Strategy<Value = (String, bool)> {
    ("[a-z0-9:.*]{1,20}", any::<bool>())
}

/// glibc's `%d %b %Y %H:%M:%S.` for `t`, plus `%03d` milliseconds.
fn strftime_prefix(t: i64, millis: u32) -> String {
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let tt = t as libc::time_t;
    unsafe { libc::gmtime_r(&tt, &mut tm) };
    let mut buf = [0u8; 64];
    let n = unsafe {
        libc::strftime(
            buf.as_mut_ptr().cast(),
            buf.len(),
            c"%d %b %Y %H:%M:%S.".as_ptr(),
            &tm,
        )
    };
    format!("{}{millis:03}", std::str::from_utf8(&buf[..n]).unwrap())
}

proptest! {
    #[test]
    fn bind_words_round_trip(words in proptest::collection::vec(word(), 0..24)) {
        let text = words
            .iter()
            .map(|(w, optional)| if *optional { format!("-{w}") } else { w.clone() })
            .collect::<Vec<_>>()
            .join("  ");
        match parse_bind(&text) {
            Ok(parsed) => {
                prop_assert!(words.len() <= 16);
                let got: Vec<(String, bool)> =
                    parsed.into_iter().map(|b| (b.addr, b.optional)).collect();
                prop_assert_eq!(got, words);
            }
            Err(e) => {
                prop_assert!(words.len() > 16);
                prop_assert_eq!(e.to_string(), "Too many bind addresses specified.");
            }
        }
    }

    #[test]
    fn perm_is_octal_up_to_0777(n in 0u32..0o10000, junk in ".{0,8}") {
        let parsed = parse_perm(&format!("{n:o}"));
        if n <= 0o777 {
            prop_assert_eq!(parsed.unwrap(), n);
        } else {
            prop_assert!(parsed.is_err());
        }
        if let Ok(p) = parse_perm(&junk) {
            prop_assert!(p <= 0o777);
        }
    }

    #[test]
    fn line_prefix_matches_strftime(t in -2_000_000_000i64..7_000_000_000, millis in 0u32..1000, offset in -50_400i64..50_400, level in 0usize..4) {
        let level = [Level::Debug, Level::Verbose, Level::Notice, Level::Warning][level];
        let mut out = [0u8; PREFIX_BYTES_MAX + MESSAGE_BYTES_MAX + 1];
        let (len, msg) = format_line(&mut out, 77, b'M', (t, millis, offset), level, format_args!("m"));
        let line = std::str::from_utf8(&out[..len]).unwrap();
        let expected = format!("77:M {} {} m\n", strftime_prefix(t + offset, millis), level.char() as char);
        prop_assert_eq!(line, expected.as_str());
        prop_assert_eq!(&out[msg], b"m");
    }

    #[test]
    fn any_message_gives_one_bounded_line(message in proptest::collection::vec(any::<u8>(), 0..3000)) {
        let text = String::from_utf8_lossy(&message).into_owned();
        let mut out = [0u8; PREFIX_BYTES_MAX + MESSAGE_BYTES_MAX + 1];
        let (len, msg) = format_line(&mut out, i32::MAX, b'C', (i64::from(u32::MAX), 999, 0), Level::Warning, format_args!("{text}"));
        prop_assert_eq!(out[len - 1], b'\n');
        prop_assert_eq!(msg.end, len - 1);
        prop_assert!(msg.len() <= MESSAGE_BYTES_MAX);
        let kept = msg.len();
        prop_assert_eq!(&out[msg], &text.as_bytes()[..kept]);
        prop_assert_eq!(kept, text.len().min(MESSAGE_BYTES_MAX));
    }
}
