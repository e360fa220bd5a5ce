//! Redis's `addReplyHelp`: the `<CMD> <subcommand> ...` header, the command's lines, and the `HELP` footer,
//! all as status replies.

use zedis_resp::reply;

/// Appends Redis's help reply for `command` (upper-cased as Redis does) with `lines`.
pub fn reply_help(out: &mut Vec<u8>, command: &str, lines: &[&str]) {
    reply::array_len(out, lines.len() + 3);
    let header = format!(
        "{} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        command.to_ascii_uppercase()
    );
    reply::simple(out, header.as_bytes());
    for line in lines {
        reply::simple(out, line.as_bytes());
    }
    reply::simple(out, b"HELP");
    reply::simple(out, b"    Prints this help.");
}
