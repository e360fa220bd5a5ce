//! The deployment directives through the real server (zedis-deploy wired in): the log file in Redis's line
//! format with the role, SIGHUP reopening it after a rotation, CONFIG SET loglevel, several `bind` addresses
//! with an optional one, the Unix socket (redis-cli `-s`, CLIENT LIST flag `U` and `addr=<path>:0`),
//! `port 0` with only the Unix socket, and `replica-announce-ip` / `replica-announce-port` as the master
//! sees them.

mod common;

use common::launch::Launch;
use common::tools::{cli_out, skip, tool_exists};
use common::{cmd, Server, TempDir};
use std::process::{Command, Stdio};
use std::time::Duration;
use zedis_testkit::free_port;

/// Waits (60 s) until `cond` holds; panics naming `what`.
fn wait_until(what: &str, cond: impl FnMut() -> bool) {
    common::wait_for_within(what, Duration::from_secs(60), cond);
}

#[test]
fn log_file_role_sighup_reopen_and_loglevel() {
    let dir = TempDir::new("deploy-log");
    let log = dir.0.join("zedis.log");
    let server = Server::start(&["--logfile", log.to_str().unwrap(), "--save", ""]);
    let mut conn = server.conn();
    let text = std::fs::read_to_string(&log).unwrap();
    let pid = server.pid();
    // Redis's shape: `pid:M dd Mon yyyy hh:mm:ss.mmm * message`.
    let line = regex_free_match(
        &text,
        &format!("{pid}:M "),
        "* Ready to accept connections tcp",
    );
    assert!(line, "{text}");
    // REPLICAOF switches the role character to S, REPLICAOF NO ONE back to M.
    cmd(&mut conn, &["REPLICAOF", "127.0.0.1", "1"]).unwrap();
    cmd(&mut conn, &["REPLICAOF", "NO", "ONE"]).unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains(&format!("{pid}:S ")), "{text}");
    assert!(
        text.contains("MASTER MODE enabled (user request)"),
        "{text}"
    );
    // logrotate's move, then SIGHUP: the next lines go to a new file at the configured path.
    let rotated = dir.0.join("zedis.log.1");
    std::fs::rename(&log, &rotated).unwrap();
    // SAFETY: a signal to our own child.
    unsafe { libc::kill(pid as i32, libc::SIGHUP) };
    wait_until("the log to be reopened", || log.exists());
    cmd(&mut conn, &["REPLICAOF", "127.0.0.1", "1"]).unwrap();
    wait_until("a line in the new log", || {
        std::fs::read_to_string(&log).is_ok_and(|t| t.contains("REPLICAOF 127.0.0.1:1 enabled"))
    });
    cmd(&mut conn, &["REPLICAOF", "NO", "ONE"]).unwrap();
    // CONFIG SET loglevel warning: notice lines stop.
    cmd(&mut conn, &["CONFIG", "SET", "loglevel", "warning"]).unwrap();
    let before = std::fs::read_to_string(&log).unwrap().len();
    cmd(&mut conn, &["REPLICAOF", "127.0.0.1", "2"]).unwrap();
    cmd(&mut conn, &["REPLICAOF", "NO", "ONE"]).unwrap();
    let after = std::fs::read_to_string(&log).unwrap();
    assert!(
        !after[before..].contains("REPLICAOF 127.0.0.1:2"),
        "{after}"
    );
}

/// Whether some line of `text` starts with `prefix` and ends with `suffix`.
fn regex_free_match(text: &str, prefix: &str, suffix: &str) -> bool {
    text.lines().any(|l| {
        l.starts_with(prefix) && l.ends_with(suffix) && l.len() > prefix.len() + suffix.len() + 24
    })
}

#[test]
fn unix_socket_and_several_bind_addresses() {
    if !tool_exists("redis-cli") {
        return skip("redis-cli");
    }
    let dir = TempDir::new("deploy-unix");
    let sock = dir.0.join("z.sock");
    let sock_text = sock.to_str().unwrap();
    let server = Server::start(&[
        "--bind",
        "127.0.0.1 -::1 -192.0.2.123",
        "--unixsocket",
        sock_text,
        "--unixsocketperm",
        "700",
        "--save",
        "",
    ]);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&sock).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
    assert_eq!(cli_out(&["-s", sock_text, "SET", "k", "v"]), "OK");
    assert_eq!(cli_out(&["-p", &server.port.to_string(), "GET", "k"]), "v");
    let listed = cli_out(&["-s", sock_text, "CLIENT", "LIST"]);
    assert!(
        listed.contains(&format!("addr={sock_text}:0 laddr={sock_text}:0"))
            && listed.contains("flags=U"),
        "{listed}"
    );
    let info = cli_out(&["-s", sock_text, "CLIENT", "INFO"]);
    assert!(info.contains("flags=U"), "{info}");
    // The IPv6 loopback when this host has one (optional with `-`: skipped otherwise, as Redis).
    if std::net::TcpListener::bind("[::1]:0").is_ok() {
        assert_eq!(
            cli_out(&["-h", "::1", "-p", &server.port.to_string(), "GET", "k"]),
            "v"
        );
    }
    // redis-benchmark over the socket.
    if tool_exists("redis-benchmark") {
        let out = Command::new("redis-benchmark")
            .args(["-s", sock_text, "-n", "2000", "-t", "set,get", "-q"])
            .stderr(Stdio::null())
            .output()
            .unwrap();
        assert!(out.status.success());
    }
    drop(server);
}

#[test]
fn port_zero_serves_the_unix_socket_only() {
    if !tool_exists("redis-cli") {
        return skip("redis-cli");
    }
    let dir = TempDir::new("deploy-port0");
    let sock = dir.0.join("only.sock");
    let sock_text = sock.to_str().unwrap();
    let mut zedis = Launch::new(&["--port", "0", "--unixsocket", sock_text, "--save", ""])
        .dir(&dir.0)
        .spawn(0);
    wait_until("the socket", || {
        cli_out(&["-s", sock_text, "PING"]) == "PONG"
    });
    let info = cli_out(&["-s", sock_text, "INFO", "server"]);
    assert!(info.contains("tcp_port:0"), "{info}");
    // SAFETY: a signal to our own child.
    unsafe { libc::kill(zedis.pid() as i32, libc::SIGTERM) };
    assert!(
        zedis.wait_exit(Duration::from_secs(60)).is_some(),
        "SIGTERM"
    );
    assert!(!sock.exists(), "the socket file is removed at shutdown");
}

#[test]
fn replica_announce_ip_and_port_reach_the_master() {
    let master = Server::start(&["--save", ""]);
    let replica = Server::start(&[
        "--save",
        "",
        "--replica-announce-ip",
        "10.9.8.7",
        "--replica-announce-port",
        "7777",
    ]);
    let mut r = replica.conn();
    cmd(
        &mut r,
        &["REPLICAOF", "127.0.0.1", &master.port.to_string()],
    )
    .unwrap();
    let mut m = master.conn();
    wait_until("the master to list the replica", || {
        let info: String = redis::cmd("INFO").arg("replication").query(&mut m).unwrap();
        info.contains("slave0:ip=10.9.8.7,port=7777,state=online")
    });
    let pair: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("slave-announce-ip")
        .query(&mut r)
        .unwrap();
    assert_eq!(pair, ["slave-announce-ip", "10.9.8.7"]);
}

#[test]
fn supervised_systemd_notifies_ready_and_stopping() {
    if !tool_exists("redis-cli") {
        return skip("redis-cli");
    }
    let dir = TempDir::new("deploy-systemd");
    let notify = dir.0.join("notify.sock");
    let socket = std::os::unix::net::UnixDatagram::bind(&notify).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let port = free_port();
    let mut zedis = Launch::new(&["--port", &port.to_string(), "--save", "3600 1"])
        .args(&["--supervised", "systemd", "--daemonize", "yes"])
        .env("NOTIFY_SOCKET", &notify)
        .dir(&dir.0)
        .spawn(port);
    let mut got = String::new();
    let mut buf = [0u8; 512];
    while !got.contains("READY=1") {
        let n = socket
            .recv(&mut buf)
            .expect("a notification before the timeout");
        got.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert!(got.contains("STATUS=Ready to accept connections"), "{got}");
    // Supervised: `daemonize yes` is ignored, the process we started is the server.
    assert_eq!(cli_out(&["-p", &port.to_string(), "PING"]), "PONG");
    let info = cli_out(&["-p", &port.to_string(), "INFO", "server"]);
    assert!(info.contains("process_supervised:systemd"), "{info}");
    assert!(
        info.contains(&format!("process_id:{}", zedis.pid())),
        "{info}"
    );
    // SAFETY: a signal to our own child.
    unsafe { libc::kill(zedis.pid() as i32, libc::SIGTERM) };
    // As Redis: STOPPING=1 when the shutdown begins, then the status of the final save.
    let n = socket.recv(&mut buf).expect("STOPPING=1");
    assert_eq!(&buf[..n], b"STOPPING=1\n");
    let n = socket.recv(&mut buf).expect("the save's status");
    assert_eq!(&buf[..n], b"STATUS=Saving the final RDB snapshot\n");
    let status = zedis.wait_exit(Duration::from_secs(60));
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
    assert!(dir.0.join("dump.rdb").exists());
}

#[test]
fn config_set_port_and_bind_reopen_the_listeners_as_redis() {
    let dir = TempDir::new("deploy-port");
    let sock = dir.0.join("p.sock");
    let server = Server::start(&["--unixsocket", sock.to_str().unwrap(), "--save", ""]);
    let mut conn = server.conn();
    let new_port = free_port();
    let set = |conn: &mut redis::Connection, name: &str, value: &str| -> String {
        match redis::cmd("CONFIG")
            .arg("SET")
            .arg(name)
            .arg(value)
            .query::<String>(conn)
        {
            Ok(ok) => ok,
            Err(e) => format!("{} {}", e.code().unwrap_or(""), e.detail().unwrap_or("")),
        }
    };
    assert_eq!(set(&mut conn, "port", &new_port.to_string()), "OK");
    // The existing connection stays; new ones go to the new port, the old one is closed.
    assert_eq!(cli_out(&["-p", &new_port.to_string(), "PING"]), "PONG");
    assert!(std::net::TcpStream::connect(("127.0.0.1", server.port)).is_err());
    // A port someone else holds: refused with Redis's text, and nothing changes.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken_port = taken.local_addr().unwrap().port().to_string();
    assert_eq!(
        set(&mut conn, "port", &taken_port),
        "ERR CONFIG SET failed (possibly related to argument 'port') - Unable to listen on this port. Check server logs."
    );
    let pair: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("port")
        .query(&mut conn)
        .unwrap();
    assert_eq!(pair[1], new_port.to_string());
    assert_eq!(
        set(&mut conn, "bind", "192.0.2.123"),
        "ERR CONFIG SET failed (possibly related to argument 'bind') - Failed to bind to specified addresses."
    );
    assert_eq!(cli_out(&["-p", &new_port.to_string(), "PING"]), "PONG");
    // The Unix socket is untouched throughout.
    assert_eq!(cli_out(&["-s", sock.to_str().unwrap(), "PING"]), "PONG");
}

#[test]
fn tcp_keepalive_applies_to_new_clients() {
    if !tool_exists("ss") {
        return skip("ss");
    }
    let server = Server::start(&["--tcp-keepalive", "77", "--save", ""]);
    let port = server.port;
    // The server side of one fresh connection, as `ss` shows it (its timer column).
    let server_side = || -> String {
        let _client = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        std::thread::sleep(Duration::from_millis(300));
        let out = Command::new("ss")
            .args([
                "-tnoH",
                "state",
                "established",
                &format!("( sport = :{port} )"),
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let shown = server_side();
    assert!(shown.contains("timer:(keepalive,1min1"), "{shown}");
    // CONFIG SET applies to clients accepted from then on.
    let mut conn = server.conn();
    cmd(&mut conn, &["CONFIG", "SET", "tcp-keepalive", "0"]).unwrap();
    drop(conn);
    std::thread::sleep(Duration::from_millis(200));
    let shown = server_side();
    assert!(!shown.contains("keepalive"), "{shown}");
}

fn cmdline(pid: u32) -> String {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    String::from_utf8_lossy(raw.split(|&b| b == 0).next().unwrap()).into_owned()
}

#[test]
fn process_title_and_logo_as_redis() {
    let dir = TempDir::new("deploy-title");
    let log = dir.0.join("zedis.log");
    let server = Server::start(&["--logfile", log.to_str().unwrap(), "--save", ""]);
    let pid = server.pid();
    let port = server.port;
    // `{title} {listen-addr} {server-mode}`: the executable, the first bind address and the port.
    let title = cmdline(pid);
    assert!(
        title.ends_with(&format!("zedis-server 127.0.0.1:{port}")),
        "{title}"
    );
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains(&format!("* Running mode=standalone, port={port}.")),
        "{text}"
    );
    let mut conn = server.conn();
    cmd(
        &mut conn,
        &[
            "CONFIG",
            "SET",
            "proc-title-template",
            "{title} {{port}} {port} {config-file}",
        ],
    )
    .unwrap();
    assert!(
        cmdline(pid).ends_with(&format!("zedis-server {{port}}}} {port} -")),
        "{}",
        cmdline(pid)
    );
    // Redis's refusals, byte for byte.
    for bad in ["{nope}", "{title}", "{title"] {
        assert_eq!(
            common::err(&mut conn, &["CONFIG", "SET", "proc-title-template", bad]),
            "ERR CONFIG SET failed (possibly related to argument 'proc-title-template') - template format is invalid or contains unknown variables"
        );
    }
    assert_eq!(
        common::err(&mut conn, &["CONFIG", "SET", "set-proc-title", "no"]),
        "ERR CONFIG SET failed (possibly related to argument 'set-proc-title') - can't set immutable config"
    );

    // `set-proc-title no` leaves the command line alone; `always-show-logo yes` logs the logo.
    let log2 = dir.0.join("zedis2.log");
    let plain = Server::start(&[
        "--logfile",
        log2.to_str().unwrap(),
        "--save",
        "",
        "--set-proc-title",
        "no",
        "--always-show-logo",
        "yes",
    ]);
    let raw = std::fs::read(format!("/proc/{}/cmdline", plain.pid())).unwrap();
    assert!(
        String::from_utf8_lossy(&raw).contains("always-show-logo"),
        "{raw:?}"
    );
    let text = std::fs::read_to_string(&log2).unwrap();
    assert!(
        text.contains(&format!("PID: {}", plain.pid())) && !text.contains("Running mode="),
        "{text}"
    );
}
