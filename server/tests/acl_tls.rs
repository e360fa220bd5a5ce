//! Access control and TLS against the real binary (issue 22): redis-cli with `--user/--pass` and ACL rules,
//! ACL LIST / GETUSER / LOG / DRYRUN side by side with a real redis-server 7.0.15 given the same rules,
//! MULTI and scripts under ACL, the aclfile and config-file users, `redis-cli --tls --cacert` with a CA and
//! certificates made by `openssl` in the test, and redis-py with username/password and `ssl=True`.

mod common;

use common::reference::RedisProcess;
use common::{cmd, err, Server, TempDir};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn skip(what: &str) {
    eprintln!("skipped: {what} not available");
}

fn tool_exists(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn cli(args: &[&str]) -> Output {
    Command::new("redis-cli")
        .args(args)
        .output()
        .expect("run redis-cli")
}

/// redis-cli's stdout for one command, with redis-cli's password warning left out.
fn cli_out(args: &[&str]) -> String {
    text(&cli(args).stdout).trim_end().to_string()
}

fn bulk(conn: &mut redis::Connection, args: &[&str]) -> redis::Value {
    cmd(conn, args).unwrap()
}

fn ok(conn: &mut redis::Connection, args: &[&str]) {
    assert_eq!(bulk(conn, args), redis::Value::Okay, "{args:?}");
}

const RULES: &[&[&str]] = &[
    &["app", "on", ">pw", "~app:*", "%R~ro:*", "&news.*", "+@read"],
    &[
        "writer",
        "on",
        "#5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8",
        "~*",
        "+@write",
        "-flushall",
    ],
    &[
        "sel",
        "on",
        "nopass",
        "~a",
        "+get",
        "(~b +@hash)",
        "(&c* +publish)",
    ],
    &[
        "off",
        "off",
        "resetpass",
        "resetkeys",
        "allchannels",
        "nocommands",
    ],
    &["cfg", "on", ">x", ">y", "<x", "allkeys", "+config|get"],
    &["sub", "on", "nopass", "+select|0", "%W~w:*", "%RW~rw:*"],
];

fn setuser_all(conn: &mut redis::Connection) {
    for rules in RULES {
        let mut args = vec!["ACL", "SETUSER"];
        args.extend_from_slice(rules);
        ok(conn, &args);
    }
}

#[test]
fn acl_list_and_getuser_match_redis() {
    let Some(reference) = RedisProcess::start(&[]) else {
        return skip("redis-server");
    };
    let server = Server::start(&[]);
    let client = redis::Client::open(format!("redis://127.0.0.1:{}/", reference.port)).unwrap();
    let mut redis = client.get_connection().unwrap();
    let mut zedis = server.conn();
    setuser_all(&mut redis);
    setuser_all(&mut zedis);
    assert_eq!(
        bulk(&mut zedis, &["ACL", "LIST"]),
        bulk(&mut redis, &["ACL", "LIST"])
    );
    assert_eq!(
        bulk(&mut zedis, &["ACL", "USERS"]),
        bulk(&mut redis, &["ACL", "USERS"])
    );
    for rules in RULES {
        let get = ["ACL", "GETUSER", rules[0]];
        assert_eq!(bulk(&mut zedis, &get), bulk(&mut redis, &get), "{rules:?}");
    }
    for call in [
        &["ACL", "DRYRUN", "app", "get", "other"][..],
        &["ACL", "DRYRUN", "app", "get", "app:1"],
        &["ACL", "DRYRUN", "app", "set", "app:1", "v"],
        &["ACL", "DRYRUN", "sel", "hget", "b", "f"],
        &["ACL", "DRYRUN", "sel", "publish", "d", "m"],
        &["ACL", "DRYRUN", "sub", "select", "1"],
    ] {
        assert_eq!(bulk(&mut zedis, call), bulk(&mut redis, call), "{call:?}");
    }
    for bad in [
        &["ACL", "SETUSER", "x", "~a", "allkeys", "~b"][..],
        &["ACL", "SETUSER", "x", "+nosuchcommand"],
        &["ACL", "SETUSER", "x", "(~a"],
        &["ACL", "DELUSER", "default"],
        &["ACL", "CAT", "nosuch"],
        &["ACL", "GENPASS", "5000"],
        &["ACL", "DRYRUN", "nouser", "get", "x"],
        &["ACL", "DRYRUN", "app", "set", "app:1"],
        &["ACL", "DRYRUN", "app", "nosuchcommand"],
        &["ACL", "SAVE"],
    ] {
        assert_eq!(err(&mut zedis, bad), err(&mut redis, bad), "{bad:?}");
    }
    assert_eq!(
        bulk(&mut zedis, &["ACL", "CAT"]),
        bulk(&mut redis, &["ACL", "CAT"])
    );
}

#[test]
fn redis_cli_users_rules_and_denials() {
    if !tool_exists("redis-cli") {
        return skip("redis-cli");
    }
    let server = Server::start(&[]);
    let port = server.port.to_string();
    let mut admin = server.conn();
    ok(
        &mut admin,
        &[
            "ACL",
            "SETUSER",
            "app",
            "on",
            ">pw",
            "~app:*",
            "&news",
            "+@all",
            "-flushall",
        ],
    );
    let as_app = |args: &[&str]| {
        let mut all = vec![
            "-p",
            &port,
            "--user",
            "app",
            "--pass",
            "pw",
            "--no-auth-warning",
        ];
        all.extend_from_slice(args);
        cli_out(&all)
    };
    assert_eq!(as_app(&["set", "app:1", "v"]), "OK");
    assert_eq!(as_app(&["get", "app:1"]), "v");
    assert_eq!(as_app(&["acl", "whoami"]), "app");
    assert_eq!(
        as_app(&["get", "other"]),
        "NOPERM this user has no permissions to access one of the keys used as arguments"
    );
    assert_eq!(
        as_app(&["flushall"]),
        "NOPERM this user has no permissions to run the 'flushall' command"
    );
    assert_eq!(
        as_app(&["publish", "other", "m"]),
        "NOPERM this user has no permissions to access one of the channels used as arguments"
    );
    assert_eq!(as_app(&["publish", "news", "m"]), "0");
    // redis-cli reports the failed AUTH on stderr, then runs the command as `default`.
    let wrong = cli(&[
        "-p",
        &port,
        "--user",
        "app",
        "--pass",
        "nope",
        "--no-auth-warning",
        "ping",
    ]);
    let wrong = text(&wrong.stderr) + &text(&wrong.stdout);
    assert!(
        wrong.contains("WRONGPASS invalid username-password pair or user is disabled."),
        "{wrong}"
    );
    // CLIENT LIST shows the user; ACL LOG has the denials with Redis's fields.
    let mut app = redis::Client::open(format!("redis://app:pw@127.0.0.1:{port}/"))
        .unwrap()
        .get_connection()
        .unwrap();
    assert_eq!(
        bulk(&mut app, &["PING"]),
        redis::Value::SimpleString("PONG".into())
    );
    let list = cli_out(&["-p", &port, "client", "list"]);
    assert!(list.contains("user=app"), "{list}");
    let log = cli_out(&["-p", &port, "acl", "log", "1"]);
    let fields: Vec<&str> = log.lines().collect();
    assert_eq!(
        &fields[..10],
        &[
            "count", "1", "reason", "auth", "context", "toplevel", "object", "AUTH", "username",
            "app"
        ],
        "{log}"
    );
    assert_eq!(fields[12], "client-info");
    // CLIENT KILL USER and ACL DELUSER close the user's connections.
    drop(app);
    let mut app = server.raw();
    app.roundtrip("AUTH app pw\r\n", "+OK\r\n");
    assert_eq!(
        bulk(&mut admin, &["CLIENT", "KILL", "USER", "app"]),
        redis::Value::Int(1)
    );
    assert_eq!(app.read_to_close(), "", "killed");
    assert_eq!(
        err(&mut admin, &["CLIENT", "KILL", "USER", "nobody"]),
        "ERR No such user 'nobody'"
    );
    let mut app = server.raw();
    app.roundtrip("AUTH app pw\r\n", "+OK\r\n");
    assert_eq!(
        bulk(&mut admin, &["ACL", "DELUSER", "app"]),
        redis::Value::Int(1)
    );
    assert_eq!(app.read_to_close(), "", "deleted user disconnected");
    let info = cli_out(&["-p", &port, "info", "memory"]);
    assert!(info.contains("used_memory_acl:"), "{info}");
}

#[test]
fn requirepass_maps_onto_default_user() {
    let server = Server::start(&["--requirepass", "s3cret"]);
    let mut raw = server.raw();
    raw.roundtrip("GET x\r\n", "-NOAUTH Authentication required.\r\n");
    raw.roundtrip(
        "AUTH default wrong\r\n",
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n",
    );
    raw.roundtrip("AUTH s3cret\r\n", "+OK\r\n");
    raw.roundtrip("ACL WHOAMI\r\n", "$7\r\ndefault\r\n");
    raw.roundtrip("ACL SETUSER default resetpass nopass\r\n", "+OK\r\n");
    // HELLO AUTH with a user, and RESET back to default.
    raw.roundtrip("ACL SETUSER u on >p +@all ~*\r\n", "+OK\r\n");
    raw.roundtrip(
        "HELLO 2 AUTH u wrong\r\n",
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n",
    );
    let mut conn = server.conn();
    assert_eq!(
        bulk(&mut conn, &["ACL", "WHOAMI"]),
        redis::Value::BulkString(b"default".to_vec()),
        "the default user is nopass now"
    );
    cmd(&mut conn, &["HELLO", "2", "AUTH", "u", "p"]).unwrap();
    assert_eq!(
        bulk(&mut conn, &["ACL", "WHOAMI"]),
        redis::Value::BulkString(b"u".to_vec())
    );
    assert_eq!(
        bulk(&mut conn, &["RESET"]),
        redis::Value::SimpleString("RESET".into())
    );
    assert_eq!(
        bulk(&mut conn, &["ACL", "WHOAMI"]),
        redis::Value::BulkString(b"default".to_vec())
    );
}

/// MULTI, EXEC after a rules change, and scripts, compared with redis-server.
#[test]
fn multi_and_scripts_are_checked_as_redis() {
    let Some(reference) = RedisProcess::start(&[]) else {
        return skip("redis-server");
    };
    let server = Server::start(&[]);
    let mut replies = Vec::new();
    for port in [reference.port, server.port] {
        let base = format!("redis://127.0.0.1:{port}/");
        let mut admin = redis::Client::open(base).unwrap().get_connection().unwrap();
        ok(
            &mut admin,
            &[
                "ACL", "SETUSER", "t", "on", ">pw", "~k*", "+@all", "-flushdb",
            ],
        );
        let mut user = redis::Client::open(format!("redis://t:pw@127.0.0.1:{port}/"))
            .unwrap()
            .get_connection()
            .unwrap();
        let mut seen = Vec::new();
        seen.push(format!("{:?}", cmd(&mut user, &["MULTI"])));
        seen.push(err(&mut user, &["GET", "other"]));
        seen.push(format!("{:?}", cmd(&mut user, &["SET", "k1", "v"])));
        seen.push(err(&mut user, &["EXEC"]));
        seen.push(format!("{:?}", cmd(&mut user, &["MULTI"])));
        seen.push(format!("{:?}", cmd(&mut user, &["SET", "k2", "v"])));
        ok(&mut admin, &["ACL", "SETUSER", "t", "-set"]);
        seen.push(format!("{:?}", cmd(&mut user, &["EXEC"])));
        // SORT's BY pattern and GET need full key access.
        seen.push(err(&mut user, &["SORT", "klist", "BY", "w_*"]));
        seen.push(err(&mut user, &["SORT_RO", "klist", "GET", "#"]));
        seen.push(format!(
            "{:?}",
            cmd(&mut user, &["SORT", "klist", "BY", "nosort"])
        ));
        seen.push(err(
            &mut user,
            &["EVAL", "return redis.pcall('get', 'other')", "0"],
        ));
        seen.push(format!(
            "{:?}",
            cmd(&mut user, &["EVAL", "return redis.pcall('flushdb')", "0"])
        ));
        seen.push(format!(
            "{:?}",
            cmd(
                &mut user,
                &["EVAL", "return redis.pcall('get', 'other')", "0"]
            )
        ));
        let log = cmd(&mut admin, &["ACL", "LOG"]).unwrap();
        let redis::Value::Array(entries) = log else {
            panic!("{log:?}")
        };
        for entry in entries {
            let redis::Value::Array(fields) = entry else {
                panic!()
            };
            // count, reason, context, object, username (age and client info differ between servers).
            seen.push(format!("{:?}", &fields[..10]));
        }
        replies.push(seen);
    }
    assert_eq!(replies[1], replies[0]);
}

#[test]
fn aclfile_and_config_file_users() {
    let dir = TempDir::new("acl");
    let aclfile = format!("{}/users.acl", dir.path());
    std::fs::write(&aclfile, "user app on >pw ~app:* +@read\n").unwrap();
    let server = Server::start(&["--aclfile", &aclfile]);
    let mut admin = server.conn();
    assert_eq!(
        bulk(&mut admin, &["ACL", "USERS"]),
        redis::Value::Array(vec![
            redis::Value::BulkString(b"app".to_vec()),
            redis::Value::BulkString(b"default".to_vec())
        ])
    );
    ok(
        &mut admin,
        &["ACL", "SETUSER", "new", "on", "nopass", "+ping"],
    );
    ok(&mut admin, &["ACL", "SAVE"]);
    let saved = std::fs::read_to_string(&aclfile).unwrap();
    assert!(
        saved.contains("user new on nopass resetchannels -@all +ping"),
        "{saved}"
    );
    std::fs::write(&aclfile, "user app on >pw bogus\n").unwrap();
    let load = err(&mut admin, &["ACL", "LOAD"]);
    assert!(load.starts_with("ERR /"), "{load}");
    assert!(
        load.contains("users.acl:1: ") && load.contains("Syntax error"),
        "{load}"
    );
    std::fs::write(&aclfile, "user other on nopass +@all ~*\n").unwrap();
    ok(&mut admin, &["ACL", "LOAD"]);
    assert_eq!(
        bulk(&mut admin, &["ACL", "USERS"]),
        redis::Value::Array(vec![
            redis::Value::BulkString(b"default".to_vec()),
            redis::Value::BulkString(b"other".to_vec())
        ])
    );
    // Users in the config file.
    let conf = format!("{}/zedis.conf", dir.path());
    std::fs::write(
        &conf,
        "user default on nopass ~* &* +@all\nuser worker on >w ~jobs:* +@list\n",
    )
    .unwrap();
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_zedis-server"))
        .args([&conf, "--port", &port.to_string()])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut list = String::new();
    while Instant::now() < deadline {
        list = cli_out(&["-p", &port.to_string(), "acl", "list"]);
        if list.contains("worker") {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // CONFIG REWRITE writes the users back as `user` lines.
    let p = port.to_string();
    let added = cli_out(&["-p", &p, "acl", "setuser", "added", "on", "nopass", "+ping"]);
    let rewrite = cli_out(&["-p", &p, "config", "rewrite"]);
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        list.contains("user worker on #") && list.contains("~jobs:* resetchannels -@all +@list"),
        "{list}"
    );
    assert_eq!((added.as_str(), rewrite.as_str()), ("OK", "OK"));
    let rewritten = std::fs::read_to_string(&conf).unwrap();
    assert!(
        rewritten.contains("user added on nopass resetchannels -@all +ping\n")
            && rewritten.contains("user worker on #"),
        "{rewritten}"
    );
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, made with `openssl`.
struct Certs {
    dir: TempDir,
}

impl Certs {
    fn make() -> Option<Certs> {
        if !tool_exists("openssl") && Command::new("openssl").arg("version").status().is_err() {
            return None;
        }
        let dir = TempDir::new("tls");
        let d = dir.path().to_string();
        let ext = format!("{d}/ext.cnf");
        std::fs::write(
            &ext,
            "[srv]\nsubjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n[cli]\nbasicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n",
        )
        .ok()?;
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
        let steps: Vec<Vec<String>> = vec![
            [
                &[
                    "req",
                    "-x509",
                    "-nodes",
                    "-days",
                    "2",
                    "-subj",
                    "/CN=Zedis Test CA",
                ][..],
                &ec,
                &["-keyout", "ca.key", "-out", "ca.crt"],
            ]
            .concat()
            .iter()
            .map(|s| s.to_string())
            .collect(),
            [
                &["req", "-new", "-nodes", "-subj", "/CN=localhost"][..],
                &ec,
                &["-keyout", "server.key", "-out", "server.csr"],
            ]
            .concat()
            .iter()
            .map(|s| s.to_string())
            .collect(),
            [
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-out",
                "server.crt",
                "-extfile",
                "ext.cnf",
                "-extensions",
                "srv",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            [
                &["req", "-new", "-nodes", "-subj", "/CN=client"][..],
                &ec,
                &["-keyout", "client.key", "-out", "client.csr"],
            ]
            .concat()
            .iter()
            .map(|s| s.to_string())
            .collect(),
            [
                "x509",
                "-req",
                "-in",
                "client.csr",
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-out",
                "client.crt",
                "-extfile",
                "ext.cnf",
                "-extensions",
                "cli",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        ];
        for step in steps {
            let status = Command::new("openssl")
                .args(&step)
                .current_dir(&d)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .ok()?;
            assert!(status.success(), "openssl {step:?}");
        }
        Some(Certs { dir })
    }

    fn path(&self, name: &str) -> String {
        format!("{}/{name}", self.dir.path())
    }

    fn server_args(&self, tls_port: &str) -> Vec<String> {
        [
            "--tls-port",
            tls_port,
            "--tls-cert-file",
            &self.path("server.crt"),
            "--tls-key-file",
            &self.path("server.key"),
            "--tls-ca-cert-file",
            &self.path("ca.crt"),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }
}

fn tls_cli(certs: &Certs, port: &str, client_cert: bool, args: &[&str]) -> Output {
    let mut all = vec![
        "--tls".to_string(),
        "--cacert".into(),
        certs.path("ca.crt"),
        "-p".into(),
        port.into(),
    ];
    if client_cert {
        all.extend(["--cert".into(), certs.path("client.crt")]);
        all.extend(["--key".into(), certs.path("client.key")]);
    }
    all.extend(args.iter().map(|s| s.to_string()));
    Command::new("redis-cli").args(&all).output().unwrap()
}

#[test]
fn redis_cli_over_tls() {
    if !tool_exists("redis-cli") {
        return skip("redis-cli");
    }
    let Some(certs) = Certs::make() else {
        return skip("openssl");
    };
    let tls_port = free_port().to_string();
    let args = certs.server_args(&tls_port);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = Server::start(&args);
    let out = tls_cli(&certs, &tls_port, true, &["set", "k", "over-tls"]);
    assert_eq!(text(&out.stdout).trim(), "OK", "{}", text(&out.stderr));
    // The plain port sees the same data.
    let mut plain = server.conn();
    assert_eq!(
        bulk(&mut plain, &["GET", "k"]),
        redis::Value::BulkString(b"over-tls".to_vec())
    );
    // tls-auth-clients yes (the default): no client certificate, no service.
    let out = tls_cli(&certs, &tls_port, false, &["ping"]);
    assert!(!text(&out.stdout).contains("PONG"), "{}", text(&out.stdout));
    // A pipeline of many commands and a large value through the TLS stream.
    let big = "x".repeat(100_000);
    let out = tls_cli(&certs, &tls_port, true, &["set", "big", &big]);
    assert_eq!(text(&out.stdout).trim(), "OK");
    let out = tls_cli(&certs, &tls_port, true, &["strlen", "big"]);
    assert_eq!(text(&out.stdout).trim(), "100000");
    // A garbage handshake is closed without harm to others.
    let mut raw =
        std::net::TcpStream::connect(("127.0.0.1", tls_port.parse::<u16>().unwrap())).unwrap();
    std::io::Write::write_all(&mut raw, b"PING\r\nnot a TLS record at all\r\n").unwrap();
    let out = tls_cli(&certs, &tls_port, true, &["ping"]);
    assert_eq!(text(&out.stdout).trim(), "PONG");
    // CONFIG SET rebuilds the TLS configuration, or refuses and changes nothing.
    assert_eq!(
        err(&mut plain, &["CONFIG", "SET", "tls-protocols", "TLSv1"]),
        "ERR CONFIG SET failed (possibly related to argument 'tls-protocols') - Unable to update TLS configuration. Check server logs."
    );
    assert_eq!(
        err(&mut plain, &["CONFIG", "SET", "tls-cert-file", "/nonexistent.crt"]),
        "ERR CONFIG SET failed (possibly related to argument 'tls-cert-file') - Unable to update TLS configuration. Check server logs."
    );
    ok(&mut plain, &["CONFIG", "SET", "tls-auth-clients", "no"]);
    let out = tls_cli(&certs, &tls_port, false, &["ping"]);
    assert_eq!(text(&out.stdout).trim(), "PONG", "{}", text(&out.stderr));
    assert_eq!(
        bulk(&mut plain, &["CONFIG", "GET", "tls-protocols"]),
        redis::Value::Array(vec![
            redis::Value::BulkString(b"tls-protocols".to_vec()),
            redis::Value::BulkString(Vec::new())
        ])
    );
}

#[test]
fn tls_without_client_certificates_and_refusals() {
    if !tool_exists("redis-cli") {
        return skip("redis-cli");
    }
    let Some(certs) = Certs::make() else {
        return skip("openssl");
    };
    let tls_port = free_port().to_string();
    let mut args = certs.server_args(&tls_port);
    args.extend(["--tls-auth-clients".into(), "no".into()]);
    args.extend(["--tls-protocols".into(), "TLSv1.3".into()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let _server = Server::start(&args);
    let out = tls_cli(&certs, &tls_port, false, &["ping"]);
    assert_eq!(text(&out.stdout).trim(), "PONG", "{}", text(&out.stderr));
    // What rustls cannot do is refused at startup, naming the directive.
    for (name, value) in [("--tls-protocols", "TLSv1"), ("--tls-ciphers", "RC4-MD5")] {
        let mut args = certs.server_args(&free_port().to_string());
        args.extend([name.to_string(), value.to_string()]);
        let out = Command::new(env!("CARGO_BIN_EXE_zedis-server"))
            .args(["--port", &free_port().to_string()])
            .args(&args)
            .output()
            .unwrap();
        assert!(!out.status.success());
        let stderr = text(&out.stderr);
        assert!(stderr.contains("TLS"), "{name} {value}: {stderr}");
    }
}

fn python_with_redis() -> Option<String> {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut candidates: Vec<String> = Vec::new();
    if let Ok(python) = std::env::var("ZEDIS_PYTHON") {
        candidates.push(python);
    }
    if let Ok(target) = std::env::var("CARGO_TARGET_DIR") {
        candidates.push(format!("{target}/pyenv/bin/python"));
    }
    let venv = manifest.join("../target/pyenv/bin/python");
    candidates.push(venv.to_string_lossy().into_owned());
    candidates.push("python3".into());
    candidates.into_iter().find(|python| {
        Command::new(python)
            .args(["-c", "import redis"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

const REDIS_PY: &str = r#"
import sys, redis
port, tls_port, ca, cert, key = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
admin = redis.Redis(port=port)
admin.acl_setuser("py", enabled=True, passwords=["+pypw"], keys=["py:*"], commands=["+@all"])
r = redis.Redis(port=port, username="py", password="pypw")
assert r.acl_whoami() in (b"py", "py")
r.set("py:1", "v")
assert r.get("py:1") == b"v"
try:
    r.get("other")
    raise SystemExit("no NOPERM")
except redis.exceptions.NoPermissionError as e:
    assert "no permissions to access one of the keys" in str(e), str(e)
try:
    redis.Redis(port=port, username="py", password="bad").ping()
    raise SystemExit("bad password accepted")
except redis.exceptions.AuthenticationError:
    pass
s = redis.Redis(port=tls_port, ssl=True, ssl_ca_certs=ca, ssl_certfile=cert, ssl_keyfile=key,
                username="py", password="pypw")
assert s.get("py:1") == b"v"
p = s.pipeline()
for i in range(200):
    p.set("py:%d" % i, "x" * i)
p.execute()
assert s.strlen("py:199") == 199
print("OK redis-py acl tls")
"#;

#[test]
fn redis_py_with_users_and_tls() {
    let Some(python) = python_with_redis() else {
        return skip("redis-py");
    };
    let Some(certs) = Certs::make() else {
        return skip("openssl");
    };
    let tls_port = free_port().to_string();
    let args = certs.server_args(&tls_port);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = Server::start(&args);
    let out = Command::new(&python)
        .args(["-c", REDIS_PY, &server.port.to_string(), &tls_port])
        .args([
            certs.path("ca.crt"),
            certs.path("client.crt"),
            certs.path("client.key"),
        ])
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("OK redis-py acl tls"),
        "{stdout}{}",
        text(&out.stderr)
    );
    let _ = Path::new(&python);
}

fn get_eventually(port: u16, key: &str, want: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if cli_out(&["-p", &port.to_string(), "get", key]) == want {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// `tls-replication`: a redis-server replica of a Zedis master over TLS, a Zedis replica of that Zedis
/// master over TLS, and a Zedis replica of a redis-server master over TLS.
#[test]
fn tls_replication_both_directions() {
    if !tool_exists("redis-cli") {
        return skip("redis-cli");
    }
    let Some(certs) = Certs::make() else {
        return skip("openssl");
    };
    let tls_port = free_port().to_string();
    let master_args = certs.server_args(&tls_port);
    let master_args: Vec<&str> = master_args.iter().map(String::as_str).collect();
    let master = Server::start(&master_args);
    let mut m = master.conn();
    ok(&mut m, &["SET", "k", "from-zedis"]);
    let mut client_side = certs.server_args("0");
    client_side.extend(["--tls-replication".into(), "yes".into()]);
    let replicaof = [
        "--replicaof".to_string(),
        "127.0.0.1".into(),
        tls_port.clone(),
    ];
    let redis_args: Vec<String> = client_side.iter().chain(&replicaof).cloned().collect();
    let redis_args: Vec<&str> = redis_args.iter().map(String::as_str).collect();
    let Some(redis_replica) = RedisProcess::start(&redis_args) else {
        return skip("redis-server with TLS");
    };
    assert!(
        get_eventually(redis_replica.port, "k", "from-zedis"),
        "redis-server replica of Zedis over TLS"
    );
    let zedis_args: Vec<String> = client_side.iter().chain(&replicaof).cloned().collect();
    let zedis_args: Vec<&str> = zedis_args.iter().map(String::as_str).collect();
    let zedis_replica = Server::start(&zedis_args);
    assert!(
        get_eventually(zedis_replica.port, "k", "from-zedis"),
        "Zedis replica of Zedis over TLS"
    );
    ok(&mut m, &["SET", "k2", "streamed"]);
    assert!(get_eventually(zedis_replica.port, "k2", "streamed"));
    assert!(get_eventually(redis_replica.port, "k2", "streamed"));
    // Zedis replica of a redis-server master over TLS.
    let redis_tls_port = free_port().to_string();
    let redis_master_args = certs.server_args(&redis_tls_port);
    let redis_master_args: Vec<&str> = redis_master_args.iter().map(String::as_str).collect();
    let Some(redis_master) = RedisProcess::start(&redis_master_args) else {
        return skip("redis-server with TLS");
    };
    let out = cli(&[
        "-p",
        &redis_master.port.to_string(),
        "set",
        "r",
        "from-redis",
    ]);
    assert_eq!(text(&out.stdout).trim(), "OK");
    let mut args = certs.server_args("0");
    args.extend(["--tls-replication".into(), "yes".into()]);
    args.extend(["--replicaof".into(), "127.0.0.1".into(), redis_tls_port]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let replica = Server::start(&args);
    assert!(
        get_eventually(replica.port, "r", "from-redis"),
        "Zedis replica of redis-server over TLS"
    );
}

/// ACL SETUSER that takes channels away closes only the subscribers whose subscriptions are no longer
/// allowed (Redis's `ACLKillPubsubClientsIfNeeded`), and a subscription outside the rules is refused.
#[test]
fn revoked_channels_close_only_affected_subscribers() {
    let server = Server::start(&[]);
    let mut admin = server.conn();
    ok(
        &mut admin,
        &[
            "ACL",
            "SETUSER",
            "s",
            "on",
            ">pw",
            "resetchannels",
            "&a",
            "&b",
            "&p*",
            "+@all",
        ],
    );
    let subscriber = |request: &str, reply: &str| {
        let mut raw = server.raw();
        raw.roundtrip("AUTH s pw\r\n", "+OK\r\n");
        raw.roundtrip(request, reply);
        raw
    };
    let mut on_a = subscriber(
        "SUBSCRIBE a\r\n",
        "*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n",
    );
    let mut on_b = subscriber(
        "SUBSCRIBE b\r\n",
        "*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:1\r\n",
    );
    let mut on_p = subscriber(
        "PSUBSCRIBE p*\r\n",
        "*3\r\n$10\r\npsubscribe\r\n$2\r\np*\r\n:1\r\n",
    );
    let mut refused = server.raw();
    refused.roundtrip("AUTH s pw\r\n", "+OK\r\n");
    refused.roundtrip(
        "SUBSCRIBE c\r\n",
        "-NOPERM this user has no permissions to access one of the channels used as arguments\r\n",
    );
    // `b` and `p*` are taken away: their subscribers go, `a`'s stays and still gets messages.
    ok(&mut admin, &["ACL", "SETUSER", "s", "resetchannels", "&a"]);
    assert_eq!(on_b.read_to_close(), "");
    assert_eq!(on_p.read_to_close(), "");
    assert_eq!(
        bulk(&mut admin, &["PUBLISH", "a", "still"]),
        redis::Value::Int(1)
    );
    on_a.expect("*3\r\n$7\r\nmessage\r\n$1\r\na\r\n$5\r\nstill\r\n");
}
