//! Access control against the real binary (issue 22): redis-cli with `--user/--pass` and ACL rules, ACL LIST /
//! GETUSER / LOG / DRYRUN side by side with a real redis-server 7.0.15 given the same rules, MULTI, scripts and
//! SORT under ACL, the aclfile, config-file users and CONFIG REWRITE, revoked channels. (TLS and redis-py:
//! `tls.rs`.)

mod common;

use common::reference::RedisProcess;
use common::tools::{bulk, cli, cli_out, free_port, ok, skip, text, tool_exists};
use common::{cmd, err, Server, TempDir};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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
