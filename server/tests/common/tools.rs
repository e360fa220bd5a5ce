//! Small helpers the ACL and TLS tests share: external tools (redis-cli, openssl), free ports, reply shortcuts.

use super::cmd;
use std::process::{Command, Output};

/// Reports a test skipped for a missing tool.
pub fn skip(what: &str) {
    eprintln!("skipped: {what} not available");
}

/// Whether `tool` is on the PATH.
pub fn tool_exists(tool: &str) -> bool {
    zedis_testkit::installed(tool)
}

/// A free loopback port.
pub fn free_port() -> u16 {
    zedis_testkit::free_port()
}

/// Lossy UTF-8.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs redis-cli.
pub fn cli(args: &[&str]) -> Output {
    Command::new("redis-cli")
        .args(args)
        .output()
        .expect("run redis-cli")
}

/// redis-cli's stdout for one command, with redis-cli's password warning left out.
pub fn cli_out(args: &[&str]) -> String {
    text(&cli(args).stdout).trim_end().to_string()
}

/// A command that must succeed.
pub fn bulk(conn: &mut redis::Connection, args: &[&str]) -> redis::Value {
    cmd(conn, args).unwrap()
}

/// A command that must reply OK.
pub fn ok(conn: &mut redis::Connection, args: &[&str]) {
    assert_eq!(bulk(conn, args), redis::Value::Okay, "{args:?}");
}
