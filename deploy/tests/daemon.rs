//! `daemonize`, `pidfile`, `logfile`, `unixsocket` end to end through the `deploy_demo` example (a PING
//! server wired with the crate), plus `bind`, `port 0` and `tcp-keepalive` in process.

mod common;

use common::{free_port, have, wait_until};
use regex::Regex;
use socket2::SockRef;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use zedis_deploy::listen::{self, BindAddr, ListenConfig};
use zedis_deploy::unix::UnixSocket;

/// `target/debug/examples/deploy_demo`, built by `cargo test` next to this test's `deps/` directory.
fn demo() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent()
        .and_then(Path::parent)
        .unwrap()
        .join("examples/deploy_demo")
}

fn alive(pid: i32) -> bool {
    // A zombie (exited, not yet reaped by init) counts as gone.
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    !stat.is_empty() && !stat.contains(") Z ")
}

fn ping(args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(args)
        .arg("PING")
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn daemon_writes_pidfile_and_log_serves_tcp_and_unix_and_cleans_up_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let (pidfile, logfile, sock) = (
        dir.path().join("zedis.pid"),
        dir.path().join("zedis.log"),
        dir.path().join("zedis.sock"),
    );
    let port = free_port();
    let status = Command::new(demo())
        .args(["--daemonize", "yes", "--port", &port.to_string()])
        .args(["--bind", "127.0.0.1 -::1"])
        .args(["--pidfile", pidfile.to_str().unwrap()])
        .args(["--logfile", logfile.to_str().unwrap()])
        .args([
            "--unixsocket",
            sock.to_str().unwrap(),
            "--unixsocketperm",
            "700",
        ])
        .status()
        .unwrap();
    // The parent exits 0 only once the child listens: no waiting needed before using it.
    assert!(status.success());
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .strip_suffix('\n')
        .unwrap()
        .parse()
        .unwrap();
    assert!(alive(pid));
    // A session leader detached from our terminal and session.
    assert_eq!(unsafe { libc::getsid(pid) }, pid);
    assert_eq!(
        std::fs::metadata(&sock).unwrap().permissions().mode() & 0o777,
        0o700
    );
    if have("redis-cli") {
        assert_eq!(ping(&["-p", &port.to_string()]), "PONG");
        assert_eq!(ping(&["-s", sock.to_str().unwrap()]), "PONG");
    }
    if let Some(python) = common::python_with_redis() {
        // redis-py's unix_socket_path.
        let out = Command::new(python)
            .args([
                "-c",
                "import redis, sys; print(redis.Redis(unix_socket_path=sys.argv[1], protocol=2).ping())",
                sock.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "True");
    }
    if have("redis-benchmark") {
        // redis-benchmark over the Unix socket: every PING answered (no speed asserted).
        let out = Command::new("redis-benchmark")
            .args([
                "-s",
                sock.to_str().unwrap(),
                "-t",
                "ping",
                "-n",
                "2000",
                "-c",
                "4",
                "-q",
            ])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{text}");
        assert!(
            text.contains("PING_INLINE") && text.contains("PING_MBULK"),
            "{text}"
        );
    }
    let shape = Regex::new(&format!(
        r"^{pid}:M \d\d \w{{3}} \d{{4}} \d\d:\d\d:\d\d\.\d{{3}} \* Ready to accept connections (tcp|unix)$"
    ))
    .unwrap();
    let log = std::fs::read_to_string(&logfile).unwrap();
    assert_eq!(
        log.lines().filter(|l| shape.is_match(l)).count(),
        2,
        "{log}"
    );
    // SIGHUP after rotation: later lines go to a new file at the same path.
    std::fs::rename(&logfile, dir.path().join("zedis.log.1")).unwrap();
    unsafe { libc::kill(pid, libc::SIGHUP) };
    assert!(wait_until(Duration::from_secs(20), || {
        std::fs::read_to_string(&logfile).is_ok()
    }));
    // SIGTERM: pidfile and socket removed, the exit logged.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    assert!(wait_until(Duration::from_secs(20), || !alive(pid)));
    assert!(!pidfile.exists());
    assert!(!sock.exists());
    let log = std::fs::read_to_string(&logfile).unwrap();
    assert!(log.contains("* Removing the pid file."), "{log}");
    assert!(log.contains("* Removing the unix socket file."), "{log}");
    assert!(log.contains("now ready to exit, bye bye..."), "{log}");
}

#[test]
fn daemon_parent_exits_1_when_the_child_cannot_listen() {
    let dir = tempfile::tempdir().unwrap();
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port();
    let logfile = dir.path().join("fail.log");
    let pidfile = dir.path().join("fail.pid");
    let status = Command::new(demo())
        .args(["--daemonize", "yes", "--port", &port.to_string()])
        .args(["--bind", "127.0.0.1"])
        .args(["--pidfile", pidfile.to_str().unwrap()])
        .args(["--logfile", logfile.to_str().unwrap()])
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(1));
    assert!(!pidfile.exists());
    let log = std::fs::read_to_string(&logfile).unwrap();
    assert!(
        log.contains(&format!(
            "# Warning: Could not create server TCP listening socket 127.0.0.1:{port}: Address already in use"
        )),
        "{log}"
    );
    // A logfile that cannot be opened is refused before forking, with Redis's text.
    let out = Command::new(demo())
        .args(["--daemonize", "yes", "--logfile", "/nonexistent/dir/z.log"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "Can't open the log file: No such file or directory"
    );
}

#[test]
fn foreground_with_pidfile_writes_it_too() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("fg.pid");
    let port = free_port();
    let child = Command::new(demo())
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--pidfile", pidfile.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    assert!(wait_until(Duration::from_secs(20), || {
        std::fs::read_to_string(&pidfile).is_ok_and(|s| s == format!("{}\n", child.id()))
    }));
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(!pidfile.exists());
    // With no logfile the lines went to stdout.
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(" * Ready to accept connections tcp\n"),
        "{stdout}"
    );
}

fn bind(addr: &str, optional: bool) -> BindAddr {
    BindAddr {
        addr: addr.to_string(),
        optional,
    }
}

#[test]
fn bind_several_addresses_ipv6_and_optional_ones() {
    let port = free_port();
    // 192.0.2.1 (TEST-NET-1) is on no interface here: optional, so skipped.
    let listeners = listen::listen_tcp(
        &listen::parse_bind("127.0.0.1 -::1 -192.0.2.1").unwrap(),
        port,
        128,
    )
    .unwrap();
    let have_v6 = std::net::TcpListener::bind("[::1]:0").is_ok();
    assert_eq!(listeners.len(), if have_v6 { 2 } else { 1 });
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
    if have_v6 {
        assert!(std::net::TcpStream::connect(("::1", port)).is_ok());
        assert!(listeners[1].local_addr().unwrap().is_ipv6());
    }
    // The same address without `-` stops startup.
    let err = listen::listen_tcp(&[bind("192.0.2.1", false)], free_port(), 128).unwrap_err();
    assert!(
        err.to_string().contains("Cannot assign requested address"),
        "{err}"
    );
    // A port in use is fatal even for an optional address.
    assert!(listen::listen_tcp(&[bind("127.0.0.1", true)], port, 128).is_err());
    // `*` and `::*`: every address of each family.
    let any_port = free_port();
    let any = listen::listen_tcp(&listen::parse_bind("* -::*").unwrap(), any_port, 128).unwrap();
    assert!(any[0].local_addr().unwrap().ip().is_unspecified());
    assert!(std::net::TcpStream::connect(("127.0.0.1", any_port)).is_ok());
}

#[test]
fn port_zero_is_socket_only_and_nothing_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = ListenConfig {
        bind: listen::parse_bind("127.0.0.1").unwrap(),
        port: 0,
        backlog: 511,
        unixsocket: Some(dir.path().join("only.sock")),
        unixsocketperm: 0,
    };
    let listeners = listen::open(&config).unwrap();
    assert!(listeners.tcp.is_empty());
    assert!(std::os::unix::net::UnixStream::connect(dir.path().join("only.sock")).is_ok());
    listeners.unix.unwrap().remove().unwrap();
    config.unixsocket = None;
    assert_eq!(
        listen::open(&config).unwrap_err().to_string(),
        "Configured to not listen anywhere, exiting."
    );
    config.bind.clear();
    config.port = free_port();
    assert!(listen::open(&config).is_err(), "an empty bind opens no TCP");
}

#[test]
fn unixsocket_replaces_a_stale_file_but_not_a_live_socket() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sock");
    // A crashed server's leftover: the file exists, nobody listens.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert!(path.exists());
    let live = UnixSocket::bind(&path, 0o770, 16).unwrap();
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o770
    );
    let err = UnixSocket::bind(&path, 0, 16).unwrap_err().to_string();
    assert_eq!(err, "Failed opening Unix socket: Address already in use");
    live.remove().unwrap();
    assert!(!path.exists());
    std::fs::write(&path, "not a socket").unwrap();
    assert!(UnixSocket::bind(&path, 0, 16).is_err());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "not a socket");
    let long = PathBuf::from(format!("/tmp/{}", "x".repeat(120)));
    assert_eq!(
        UnixSocket::bind(&long, 0, 16).unwrap_err().to_string(),
        "Failed opening Unix socket: unix socket path too long (125), must be under 108"
    );
}

#[test]
fn tcp_keepalive_as_anet_keepalive() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (accepted, _) = listener.accept().unwrap();
    let stream = mio::net::TcpStream::from_std(accepted);
    listen::set_keepalive(&stream, 300).unwrap();
    let sock = SockRef::from(&stream);
    assert!(sock.keepalive().unwrap());
    assert_eq!(sock.tcp_keepalive_time().unwrap(), Duration::from_secs(300));
    assert_eq!(
        sock.tcp_keepalive_interval().unwrap(),
        Duration::from_secs(100)
    );
    assert_eq!(sock.tcp_keepalive_retries().unwrap(), 3);
    listen::set_keepalive(&stream, 2).unwrap();
    assert_eq!(
        sock.tcp_keepalive_interval().unwrap(),
        Duration::from_secs(1)
    );
    // 0 leaves the socket as it was (Redis does not call anetKeepAlive).
    let untouched = SockRef::from(&client);
    listen::set_keepalive(&client, 0).unwrap();
    assert!(!untouched.keepalive().unwrap());
}

#[test]
fn supervised_systemd_notifies_ready_and_stopping_and_does_not_fork() {
    let dir = tempfile::tempdir().unwrap();
    let notify = dir.path().join("notify.sock");
    let receiver = std::os::unix::net::UnixDatagram::bind(&notify).unwrap();
    receiver
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let port = free_port();
    let mut child = Command::new(demo())
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--supervised", "systemd", "--daemonize", "yes"])
        .env("NOTIFY_SOCKET", &notify)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut buf = [0u8; 256];
    let n = receiver.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"STATUS=Ready to accept connections\n");
    let n = receiver.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"READY=1\n");
    // Under a supervisor `daemonize yes` is ignored: the process we started is the server.
    assert_eq!(child.try_wait().unwrap(), None);
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let n = receiver.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"STOPPING=1\n");
    assert!(child.wait().unwrap().success());
}
