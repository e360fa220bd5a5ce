//! MONITOR's line format (Redis 7.0's `replicationFeedMonitors`): the server builds one line per command it
//! runs and appends it to every monitoring client's output.
//!
//! `+<sec>.<usec> [<db> <origin>] "arg" "arg"...\r\n`, where origin is the client's `ip:port`, `unix:<path>`
//! for a Unix-socket client, or `lua` for a command a script ran; each argument is quoted and escaped as
//! Redis's `sdscatrepr`. Redis leaves out commands flagged `admin` or `skip_monitor`, feeds the original argv
//! of rewritten commands, and the commands inside MULTI/EXEC and scripts one by one, each after it ran and
//! with the client's db at that point (SELECT shows its new db); EVAL/EVALSHA/FCALL are fed *before* they
//! run, so the script's `lua` lines follow them; EXEC after its commands (and alone when it aborts with
//! EXECABORT). The server decides all that; this module only formats.

/// Who ran a monitored command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MonitorOrigin<'a> {
    /// A TCP client, by its `ip:port` (Redis's `getClientPeerId`).
    Peer(&'a [u8]),
    /// A Unix-socket client: the server's `unixsocket` path.
    Unix(&'a [u8]),
    /// A command run by a Lua script or function.
    Script,
}

pub use zedis_util::sds::push_repr;

/// Appends the MONITOR line (a status reply, CRLF included) for `argv` run in `db` at `unix_us` µs.
pub fn push_monitor_line(
    out: &mut Vec<u8>,
    unix_us: i64,
    db: usize,
    origin: MonitorOrigin<'_>,
    argv: &[&[u8]],
) {
    let secs = unix_us.div_euclid(1_000_000);
    let micros = unix_us.rem_euclid(1_000_000);
    out.extend_from_slice(format!("+{secs}.{micros:06} [{db} ").as_bytes());
    match origin {
        MonitorOrigin::Peer(peer) => out.extend_from_slice(peer),
        MonitorOrigin::Unix(path) => {
            out.extend_from_slice(b"unix:");
            out.extend_from_slice(path);
        }
        MonitorOrigin::Script => out.extend_from_slice(b"lua"),
    }
    out.extend_from_slice(b"] ");
    for (j, arg) in argv.iter().enumerate() {
        if j > 0 {
            out.push(b' ');
        }
        push_repr(out, arg);
    }
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn formats_like_redis() {
        let mut out = Vec::new();
        push_monitor_line(
            &mut out,
            1_700_000_000_000_042,
            3,
            MonitorOrigin::Script,
            &[b"set", b"a\"b\\\n\x00\xff "],
        );
        assert_eq!(
            out,
            b"+1700000000.000042 [3 lua] \"set\" \"a\\\"b\\\\\\n\\x00\\xff \"\r\n".to_vec()
        );
    }

    proptest! {
        /// The line never contains a raw CR/LF before its end, whatever the arguments.
        #[test]
        fn line_is_one_status_reply(args in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..20), 0..5)) {
            let argv: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
            let mut out = Vec::new();
            push_monitor_line(&mut out, 1, 0, MonitorOrigin::Peer(b"1.2.3.4:5"), &argv);
            let body = &out[..out.len() - 2];
            prop_assert!(!body.contains(&b'\r') && !body.contains(&b'\n'));
            prop_assert!(out.ends_with(b"\r\n"));
        }
    }
}
