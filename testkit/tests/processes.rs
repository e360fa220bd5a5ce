//! The process helpers against real programs: a reference redis-server (defaults, `{dir}`, files written
//! first, a bus port pair, a port the arguments open), the raw RESP client's bytes and frames, a program run
//! with input and a deadline, and the "is it installed" checks.

use std::process::Command;
use std::time::Duration;

use zedis_testkit::{
    free_port, free_port_pair, have, installed, run_with_input, wait_until, Frame, RedisServer,
    RespClient, TempDir,
};

/// The reference or a skip (printed).
fn reference(builder: zedis_testkit::RedisBuilder) -> Option<RedisServer> {
    if !have("redis-server") {
        return None;
    }
    Some(builder.start().expect("redis-server starts"))
}

#[test]
fn reference_server_runs_with_the_documented_defaults() {
    let Some(redis) = reference(RedisServer::builder().args(&["--maxmemory", "7mb"])) else {
        return;
    };
    let mut client = redis.client();
    assert_eq!(client.raw(&["PING"]), b"+PONG\r\n");
    let config = |client: &mut RespClient, name: &str| match client.cmd(&["CONFIG", "GET", name]) {
        Frame::Array(items) => items[1].clone(),
        other => panic!("CONFIG GET {name}: {other:?}"),
    };
    assert_eq!(
        config(&mut client, "bind"),
        Frame::Bulk(b"127.0.0.1".to_vec())
    );
    assert_eq!(config(&mut client, "save"), Frame::Bulk(Vec::new()));
    assert_eq!(
        config(&mut client, "appendonly"),
        Frame::Bulk(b"no".to_vec())
    );
    assert_eq!(
        config(&mut client, "maxmemory"),
        Frame::Bulk(b"7340032".to_vec())
    );
    let dir = redis.dir.canonicalize().unwrap();
    assert_eq!(
        config(&mut client, "dir"),
        Frame::Bulk(dir.to_string_lossy().as_bytes().to_vec())
    );
    assert!(
        wait_until(Duration::from_secs(30), || !redis.log().is_empty()),
        "it logs into its directory"
    );
    let path = redis.dir.clone();
    drop(client);
    drop(redis);
    assert!(!path.exists(), "its own directory goes with it");
}

#[test]
fn builder_writes_files_substitutes_dir_and_port_and_finds_a_bus_pair() {
    let Some(redis) = reference(
        RedisServer::builder()
            .bus_port()
            .file(
                "users.acl",
                "user default on nopass ~* &* +@all\nuser probe on nopass +ping\n",
            )
            .args(&["--aclfile", "{dir}/users.acl"]),
    ) else {
        return;
    };
    assert!(std::net::TcpListener::bind(("127.0.0.1", redis.port + 10000)).is_ok());
    let mut client = redis.client();
    match client.cmd(&["ACL", "USERS"]) {
        Frame::Array(users) => assert_eq!(users.len(), 2, "{users:?}"),
        other => panic!("{other:?}"),
    }
    assert!(redis.read_file("users.acl").contains("probe"));

    // A port the arguments open: the same server reached through `{port}`.
    let dir = TempDir::new("testkit-given-dir");
    let given = reference(
        RedisServer::builder()
            .dir(dir.path())
            .port_in_args()
            .args(&["--port", "{port}"]),
    )
    .unwrap();
    assert_eq!(given.client().raw(&["PING"]), b"+PONG\r\n");
    assert_eq!(given.dir, dir.path());
    drop(given);
    assert!(dir.path().exists(), "a given directory is kept");
}

#[test]
fn client_reads_pipelines_frames_and_text() {
    let Some(redis) = reference(RedisServer::builder()) else {
        return;
    };
    let mut client = RespClient::connect(redis.port);
    client.send(&[b"SET", b"k", b"v\r\n"]);
    client.send(&[b"GET", b"k"]);
    assert_eq!(client.read_frame(), Frame::Simple(b"OK".to_vec()));
    assert_eq!(
        client.read_raw(),
        (b"$3\r\nv\r\n\r\n".to_vec(), Frame::Bulk(b"v\r\n".to_vec()))
    );
    assert_eq!(client.text("ECHO hello"), "hello");
    assert_eq!(client.line("INCRBY n 5"), Frame::Integer(5));
    assert_eq!(client.call(&[b"DEL", b"n"]), Frame::Integer(1));
    assert!(client.local_addr().starts_with("127.0.0.1:"));
}

#[test]
fn reference_server_exits_on_shutdown() {
    let Some(mut redis) = reference(RedisServer::builder()) else {
        return;
    };
    assert!(!redis.wait_exit(Duration::from_millis(100)), "still up");
    redis.client().send(&[b"SHUTDOWN", b"NOSAVE"]);
    assert!(redis.wait_exit(Duration::from_secs(60)), "exited");
}

#[test]
fn reference_server_restarts_on_a_given_port() {
    if !have("redis-server") {
        return;
    }
    let port = free_port();
    for round in ["first", "second"] {
        let redis = RedisServer::builder().port(port).start().expect(round);
        assert_eq!(redis.port, port);
        assert_eq!(redis.client().raw(&["PING"]), b"+PONG\r\n", "{round}");
    }
}

#[test]
fn ports_are_free_and_pairs_leave_room_for_the_bus() {
    let port = free_port();
    assert!(std::net::TcpListener::bind(("127.0.0.1", port)).is_ok());
    let pair = free_port_pair().expect("a pair");
    assert!((1024..=55000).contains(&pair));
    assert!(std::net::TcpListener::bind(("127.0.0.1", pair + 10000)).is_ok());
}

#[test]
fn run_with_input_feeds_stdin_and_collects_both_outputs() {
    let out = run_with_input(
        Command::new("sh").args(["-c", "cat; echo oops >&2; exit 3"]),
        b"hello\n",
        Duration::from_secs(60),
    );
    assert!(!out.success);
    assert_eq!(out.stdout, "hello\n");
    assert_eq!(out.stderr, "oops\n");
}

#[test]
#[should_panic(expected = "did not finish within")]
fn run_with_input_kills_what_outlives_its_deadline() {
    run_with_input(
        Command::new("sleep").arg("30"),
        b"",
        Duration::from_millis(200),
    );
}

#[test]
fn wait_exit_reports_the_status_or_none_while_running() {
    let spawn = |script: &str| zedis_testkit::Proc {
        child: Command::new("sh").args(["-c", script]).spawn().unwrap(),
        port: 0,
    };
    let mut quick = spawn("exit 4");
    let status = quick.wait_exit(Duration::from_secs(60)).expect("it exits");
    assert_eq!(status.code(), Some(4));
    let mut slow = spawn("sleep 30");
    assert!(slow.wait_exit(Duration::from_millis(200)).is_none());
    drop(slow); // killed by PID
}

#[test]
fn wait_listening_tells_listening_from_exited_and_late() {
    let spawn = |script: &str| Command::new("sh").args(["-c", script]).spawn().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let open = listener.local_addr().unwrap().port();
    let mut sleeper = spawn("sleep 30");
    let wait = Duration::from_secs(60);
    assert!(zedis_testkit::wait_listening(&mut sleeper, open, wait).is_ok());
    drop(listener);
    let closed = free_port();
    let short = Duration::from_millis(200);
    assert_eq!(
        zedis_testkit::wait_listening(&mut sleeper, closed, short),
        Err(None)
    );
    let _ = sleeper.kill();
    let _ = sleeper.wait();
    let mut quitter = spawn("exit 3");
    let status = zedis_testkit::wait_listening(&mut quitter, closed, wait).unwrap_err();
    assert_eq!(status.and_then(|s| s.code()), Some(3));
}

#[test]
fn installed_tells_present_from_missing_programs() {
    assert!(installed("sh"));
    assert!(!installed("zedis-no-such-program-here"));
    assert!(!have("zedis-no-such-program-here"));
}

#[test]
fn temp_dirs_are_distinct_and_removed() {
    let (a, b) = (TempDir::new("same"), TempDir::new("same"));
    assert_ne!(a.path(), b.path());
    std::fs::write(a.join("f"), b"x").unwrap();
    let path = a.path().to_path_buf();
    drop(a);
    assert!(!path.exists());
}
