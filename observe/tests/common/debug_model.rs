//! What Zedis replies to a DEBUG call that needs no server state, built from this crate's parser and
//! reply writers: the model the reference tests compare with redis-server.

use zedis_observe::debug::{self, DebugRequest};
use zedis_observe::debug_reply;
use zedis_resp::Protocol;

/// The reply Zedis sends for `argv` where it needs no server state (missing keys, settings, fixed
/// texts); `None` for requests whose reply depends on data (the caller skips those).
pub fn model_reply(argv: &[&[u8]], proto: Protocol) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    match debug::parse(argv) {
        Err(e) => {
            out.push(b'-');
            out.extend_from_slice(&e.reply_text());
            out.extend_from_slice(b"\r\n");
        }
        Ok(request) => match request {
            DebugRequest::Help => debug_reply::reply_help(&mut out),
            DebugRequest::Protocol(kind) => {
                if let Err(e) = debug_reply::reply_protocol(&mut out, proto, kind) {
                    out.extend_from_slice(format!("-{e}\r\n").as_bytes());
                }
            }
            DebugRequest::Error { text } => debug_reply::reply_error_as_is(&mut out, text),
            DebugRequest::StringmatchTest => {
                out.extend_from_slice(
                    format!("+{}\r\n", debug_reply::STRINGMATCH_TEST_REPLY).as_bytes(),
                );
            }
            DebugRequest::DigestValue { keys } => {
                out.extend_from_slice(format!("*{}\r\n", keys.len()).as_bytes());
                for _ in keys {
                    debug_reply::reply_digest(&mut out, &[0; 20]);
                }
            }
            DebugRequest::Object { .. }
            | DebugRequest::Listpack { .. }
            | DebugRequest::Quicklist { .. } => {
                out.extend_from_slice(format!("-{}\r\n", debug_reply::NO_SUCH_KEY).as_bytes());
            }
            DebugRequest::Sleep { .. }
            | DebugRequest::SetActiveExpire { .. }
            | DebugRequest::QuicklistPackedThreshold { .. }
            | DebugRequest::SetDisableDenyScripts { .. }
            | DebugRequest::SetSkipChecksumValidation { .. }
            | DebugRequest::ReplyBufferPeakResetTime(_)
            | DebugRequest::ReplyBufferResizing { .. }
            | DebugRequest::Log { .. }
            | DebugRequest::ChangeReplId => out.extend_from_slice(b"+OK\r\n"),
            _ => return None,
        },
    }
    Some(out)
}
