//! The example `deploy/zedis.conf`: its deployment directives are valid for this crate, every other directive
//! is one `zedis-server` knows (CONFIG GET), and (once wired, see the README) a Zedis started from it as a
//! daemon writes its pidfile and log, serves TCP and the Unix socket, and on SIGTERM saves and cleans up.

mod common;

use common::{free_port, have, wait_until};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use zedis_deploy::DeploySettings;

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("zedis.conf")
}

/// `(name, value)` per directive line; quotes stripped from whole-word values.
fn directives(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (name, value) = l.split_once(' ').unwrap_or((l, ""));
            let value = value.trim();
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value);
            (name.to_ascii_lowercase(), value.to_string())
        })
        .collect()
}

fn zedis_server() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent()
        .and_then(Path::parent)
        .unwrap()
        .join("zedis-server")
}

#[test]
fn deployment_directives_of_the_example_are_valid() {
    let text = std::fs::read_to_string(example()).unwrap();
    let pairs = directives(&text);
    let settings = DeploySettings::from_config(|name| {
        pairs
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    })
    .unwrap();
    assert_eq!(settings.listen.bind.len(), 2);
    assert!(settings.listen.bind[1].optional);
    assert_eq!(settings.listen.unixsocketperm, 0o770);
    assert_eq!(
        settings.listen.unixsocket.as_deref(),
        Some(Path::new("/run/zedis/zedis-server.sock"))
    );
    assert_eq!(settings.log.syslog_ident, "zedis");
    assert!(!settings.background());
}

#[test]
fn every_other_directive_of_the_example_is_known_to_zedis_server() {
    let server = zedis_server();
    if !server.exists() {
        eprintln!("target/debug/zedis-server not built: skipped");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let args = common::args(&["--port", &port.to_string(), "--save", "", "--dir"])
        .into_iter()
        .chain([dir.path().to_string_lossy().into_owned()])
        .collect::<Vec<_>>();
    let _zedis = common::Proc::spawn(&server.to_string_lossy(), &args, port, dir.path())
        .expect("zedis-server");
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap();
    let mut con = client.get_connection().unwrap();
    let flat: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("*")
        .query(&mut con)
        .unwrap();
    let known: Vec<&str> = flat.iter().step_by(2).map(String::as_str).collect();
    let text = std::fs::read_to_string(example()).unwrap();
    for (name, _) in directives(&text) {
        let ours = zedis_deploy::settings::DIRECTIVES
            .iter()
            .any(|(n, _, _)| *n == name);
        assert!(
            ours || known.contains(&name.as_str()),
            "{name} is neither a zedis-server directive nor a zedis-deploy one"
        );
    }
}

#[test]
fn zedis_from_the_example_config_as_a_daemon() {
    assert!(have("redis-cli"));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (pidfile, logfile, sock) = (d.join("z.pid"), d.join("z.log"), d.join("z.sock"));
    let port = free_port();
    let status = Command::new(zedis_server())
        .arg(example())
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--daemonize", "yes", "--supervised", "no"])
        .args(["--pidfile", pidfile.to_str().unwrap()])
        .args(["--logfile", logfile.to_str().unwrap()])
        .args(["--unixsocket", sock.to_str().unwrap()])
        .args(["--dir", d.to_str().unwrap(), "--save", "3600 1"])
        .status()
        .unwrap();
    assert!(status.success());
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let cli = |args: &[&str]| {
        let out = Command::new("redis-cli").args(args).output().unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(cli(&["-p", &port.to_string(), "SET", "k", "v"]), "OK");
    assert_eq!(cli(&["-s", sock.to_str().unwrap(), "GET", "k"]), "v");
    let log = std::fs::read_to_string(&logfile).unwrap();
    assert!(log.contains(&format!("{pid}:M ")), "{log}");
    assert!(log.contains("Ready to accept connections"), "{log}");
    unsafe { libc::kill(pid, libc::SIGTERM) };
    assert!(wait_until(Duration::from_secs(30), || !pidfile.exists()));
    assert!(wait_until(Duration::from_secs(30), || d
        .join("dump.rdb")
        .exists()));
    assert!(!sock.exists());
}
