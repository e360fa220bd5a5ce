//! RDB snapshots as Redis 7.0 takes them, side by side with a real redis-server where the reply matters:
//! BGSAVE / BGSAVE SCHEDULE / LASTSAVE, the `save` points, `stop-writes-on-bgsave-error` (-MISCONF),
//! SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT], SIGTERM / SIGINT with `shutdown-on-sigterm`, INFO
//! persistence's rdb_* fields, and function libraries carried by RDB files in both directions (Zedis's file
//! loaded by redis-server and the other way round, and through a replica's full sync).

mod common;

use common::reference::RedisProcess;
use common::tools::{skip, tool_exists};
use common::{connect, wait_for_within, Server, TempDir};
use std::time::{Duration, Instant};

fn text(conn: &mut redis::Connection, args: &[&str]) -> String {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    match cmd.query::<redis::Value>(conn) {
        Ok(redis::Value::SimpleString(s)) => s,
        Ok(redis::Value::Okay) => "OK".into(),
        Ok(redis::Value::Int(i)) => i.to_string(),
        Ok(redis::Value::BulkString(b)) => String::from_utf8_lossy(&b).into_owned(),
        Ok(redis::Value::Nil) => "(nil)".into(),
        Ok(other) => format!("{other:?}"),
        Err(e) => match (e.code(), e.detail()) {
            (Some(code), Some(detail)) => format!("-{code} {detail}"),
            (Some(code), None) => format!("-{code}"),
            _ => format!("-{e}"),
        },
    }
}

fn info(conn: &mut redis::Connection, field: &str) -> String {
    let all: String = redis::cmd("INFO").arg("persistence").query(conn).unwrap();
    all.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")).map(str::to_string))
        .unwrap_or_default()
}

fn config_get(conn: &mut redis::Connection, name: &str) -> String {
    let pair: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg(name)
        .query(conn)
        .unwrap();
    pair.get(1).cloned().unwrap_or_default()
}

/// `chunks` thousand keys `k{chunk}:{i}` of 1000 bytes of `byte`, pipelined a thousand at a time: a dataset
/// big enough that a fork's child is still writing when the next commands arrive.
fn fill_big(conn: &mut redis::Connection, chunks: usize, byte: char) {
    let value = byte.to_string().repeat(1000);
    for chunk in 0..chunks {
        let mut pipe = redis::pipe();
        for i in 0..1000 {
            pipe.cmd("SET")
                .arg(format!("k{chunk}:{i}"))
                .arg(&value)
                .ignore();
        }
        let () = pipe.query(conn).unwrap();
    }
}

/// Waits until the replica behind `conn` reports `master_link_status:up`.
fn wait_link_up(conn: &mut redis::Connection, timeout: Duration) {
    wait_for_within("the replica to sync", timeout, || {
        let all: String = redis::cmd("INFO").arg("replication").query(conn).unwrap();
        all.contains("master_link_status:up")
    });
}

/// The replies that do not depend on timing, from Zedis and redis-server alike.
fn bgsave_script(conn: &mut redis::Connection) -> Vec<String> {
    let mut out = vec![text(conn, &["SET", "k", "v"])];
    out.push(text(conn, &["BGSAVE", "NOW"]));
    out.push(text(conn, &["BGSAVE", "SCHEDULE", "x"]));
    out.push(text(conn, &["BGSAVE"]));
    out
}

#[test]
fn bgsave_and_lastsave_as_redis_server() {
    let dir = TempDir::new("bgsave");
    let zedis = Server::start(&["--dir", dir.path(), "--save", ""]);
    let mut z = zedis.conn();
    let before: i64 = redis::cmd("LASTSAVE").query(&mut z).unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    let ours = bgsave_script(&mut z);
    wait_for_within("the BGSAVE to finish", Duration::from_secs(60), || {
        info(&mut z, "rdb_bgsave_in_progress") == "0"
    });
    assert_eq!(info(&mut z, "rdb_last_bgsave_status"), "ok");
    assert_eq!(info(&mut z, "rdb_changes_since_last_save"), "0");
    assert_eq!(info(&mut z, "rdb_saves"), "1");
    let after: i64 = redis::cmd("LASTSAVE").query(&mut z).unwrap();
    assert!(after > before, "LASTSAVE moves: {before} -> {after}");
    assert!(dir.0.join("dump.rdb").exists());
    let Some(redis) = RedisProcess::start(&[]) else {
        return skip("redis-server");
    };
    let mut r = connect(redis.port);
    assert_eq!(ours, bgsave_script(&mut r));
    assert_eq!(ours[3], "Background saving started");
    // INFO persistence: the rdb_* fields Zedis shows are Redis's, in Redis's order.
    let names = |conn: &mut redis::Connection| -> Vec<String> {
        let all: String = redis::cmd("INFO").arg("persistence").query(conn).unwrap();
        all.lines()
            .filter_map(|l| l.split_once(':').map(|(n, _)| n.to_string()))
            .filter(|n| n.starts_with("rdb_") || n.starts_with("aof_") || n == "loading")
            .collect()
    };
    assert_eq!(names(&mut z), names(&mut r));
    // redis-server loads the file Zedis wrote.
    let check = std::process::Command::new("redis-check-rdb")
        .arg(dir.0.join("dump.rdb"))
        .output();
    if let Ok(out) = check {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

#[test]
fn bgsave_in_progress_and_schedule_replies() {
    // A dataset big enough that the child is still writing when the next commands arrive.
    let dir = TempDir::new("bgsave-busy");
    let zedis = Server::start(&["--dir", dir.path(), "--save", ""]);
    let mut z = zedis.conn();
    fill_big(&mut z, 200, 'x');
    assert_eq!(text(&mut z, &["BGSAVE"]), "Background saving started");
    let second = text(&mut z, &["BGSAVE"]);
    let in_progress = info(&mut z, "rdb_bgsave_in_progress");
    if in_progress == "1" {
        assert_eq!(second, "-ERR Background save already in progress");
        assert_eq!(
            text(&mut z, &["SAVE"]),
            "-ERR Background save already in progress"
        );
    }
    wait_for_within("the BGSAVE to finish", Duration::from_secs(120), || {
        info(&mut z, "rdb_bgsave_in_progress") == "0"
    });
    assert_eq!(info(&mut z, "rdb_last_bgsave_status"), "ok");
    // BGSAVE SCHEDULE with no child running starts at once.
    assert_eq!(
        text(&mut z, &["BGSAVE", "SCHEDULE"]),
        "Background saving started"
    );
}

#[test]
fn save_points_start_a_bgsave_and_default_as_redis() {
    let dir = TempDir::new("savepoints");
    let zedis = Server::start(&["--dir", dir.path(), "--save", "1 2"]);
    let mut z = zedis.conn();
    assert_eq!(config_get(&mut z, "save"), "1 2");
    text(&mut z, &["SET", "a", "1"]);
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(info(&mut z, "rdb_saves"), "0", "one change is not two");
    text(&mut z, &["SET", "b", "1"]);
    wait_for_within("a save point's BGSAVE", Duration::from_secs(30), || {
        info(&mut z, "rdb_saves") == "1" && info(&mut z, "rdb_bgsave_in_progress") == "0"
    });
    assert!(dir.0.join("dump.rdb").exists());
    assert_eq!(info(&mut z, "rdb_changes_since_last_save"), "0");
    // CONFIG SET save "" turns them off; the default is Redis 7.0's.
    text(&mut z, &["CONFIG", "SET", "save", ""]);
    assert_eq!(
        text(&mut z, &["CONFIG", "SET", "save", "1 2 3"]),
        "-ERR CONFIG SET failed (possibly related to argument 'save') - Invalid save parameters"
    );
    let plain = Server::start(&[]);
    let mut p = plain.conn();
    assert_eq!(config_get(&mut p, "save"), "3600 1 300 100 60 10000");
}

#[test]
fn failed_bgsave_refuses_writes_with_misconf_as_redis_server() {
    let run = |conn: &mut redis::Connection, gone: &std::path::Path| -> Vec<String> {
        let mut out = vec![text(
            conn,
            &["CONFIG", "SET", "dir", gone.to_str().unwrap()],
        )];
        std::fs::remove_dir_all(gone).unwrap();
        out.push(text(conn, &["BGSAVE"]));
        wait_for_within("the failed BGSAVE", Duration::from_secs(30), || {
            info(conn, "rdb_bgsave_in_progress") == "0"
        });
        out.push(info(conn, "rdb_last_bgsave_status"));
        out.push(text(conn, &["SET", "k", "v"]));
        out.push(text(conn, &["GET", "k"]));
        out.push(text(conn, &["PING"]));
        // Turning the option off lets writes through.
        out.push(text(
            conn,
            &["CONFIG", "SET", "stop-writes-on-bgsave-error", "no"],
        ));
        out.push(text(conn, &["SET", "k", "v"]));
        out
    };
    let dir = TempDir::new("misconf");
    let gone = TempDir::new("misconf-gone");
    let zedis = Server::start(&["--dir", dir.path(), "--save", "3600 1"]);
    let ours = run(&mut zedis.conn(), &gone.0);
    assert!(
        ours[3].starts_with("-MISCONF Redis is configured to save RDB snapshots"),
        "{ours:?}"
    );
    let Some(redis) =
        RedisProcess::start(&["--save", "3600 1", "--enable-protected-configs", "yes"])
    else {
        return skip("redis-server");
    };
    let gone = TempDir::new("misconf-gone-redis");
    assert_eq!(ours, run(&mut connect(redis.port), &gone.0));
}

#[test]
fn shutdown_arguments_as_redis_server() {
    let script = |conn: &mut redis::Connection| -> Vec<String> {
        [
            &["SHUTDOWN", "ABORT"][..],
            &["SHUTDOWN", "SAVE", "NOSAVE"],
            &["SHUTDOWN", "ABORT", "NOW"],
            &["SHUTDOWN", "BOGUS"],
        ]
        .iter()
        .map(|args| text(conn, args))
        .collect()
    };
    let zedis = Server::start(&[]);
    let ours = script(&mut zedis.conn());
    assert_eq!(ours[0], "-ERR No shutdown in progress.");
    let Some(redis) = RedisProcess::start(&[]) else {
        return skip("redis-server");
    };
    assert_eq!(ours, script(&mut connect(redis.port)));
}

#[test]
fn shutdown_saves_when_save_points_exist_unless_nosave() {
    for (save, args, saved) in [
        ("3600 1", &["SHUTDOWN"][..], true),
        ("3600 1", &["SHUTDOWN", "NOSAVE"], false),
        ("", &["SHUTDOWN"], false),
        ("", &["SHUTDOWN", "SAVE"], true),
    ] {
        let dir = TempDir::new("shutdown");
        let mut zedis = Server::start(&["--dir", dir.path(), "--save", save]);
        let mut z = zedis.conn();
        text(&mut z, &["SET", "kept", "1"]);
        let _ = text(&mut z, args);
        assert!(zedis.wait_exit(Duration::from_secs(30)), "{args:?} exits");
        assert_eq!(
            dir.0.join("dump.rdb").exists(),
            saved,
            "save {save:?} {args:?}"
        );
        if saved {
            let again = Server::start(&["--dir", dir.path(), "--save", ""]);
            assert_eq!(text(&mut again.conn(), &["GET", "kept"]), "1");
        }
    }
}

#[test]
fn shutdown_that_cannot_save_stays_up_unless_force() {
    let dir = TempDir::new("shutdown-fail");
    let gone = TempDir::new("shutdown-gone");
    let mut zedis = Server::start(&["--dir", dir.path(), "--save", "3600 1"]);
    let mut z = zedis.conn();
    text(&mut z, &["CONFIG", "SET", "dir", gone.path()]);
    std::fs::remove_dir_all(&gone.0).unwrap();
    assert_eq!(
        text(&mut z, &["SHUTDOWN"]),
        "-ERR Errors trying to SHUTDOWN. Check logs."
    );
    assert!(zedis.alive());
    assert_eq!(text(&mut z, &["PING"]), "PONG");
    let _ = text(&mut z, &["SHUTDOWN", "FORCE"]);
    assert!(zedis.wait_exit(Duration::from_secs(30)));
}

#[test]
fn sigterm_and_sigint_follow_shutdown_on_sig() {
    for (signal, extra, saved) in [
        (libc::SIGTERM, &[][..], true),
        (libc::SIGINT, &[][..], true),
        (libc::SIGTERM, &["--shutdown-on-sigterm", "nosave"], false),
        (
            libc::SIGINT,
            &["--save", "", "--shutdown-on-sigint", "save"],
            true,
        ),
    ] {
        let dir = TempDir::new("signal");
        let mut args = vec!["--dir", dir.path(), "--save", "3600 1"];
        args.extend_from_slice(extra);
        let mut zedis = Server::start(&args);
        text(&mut zedis.conn(), &["SET", "k", "v"]);
        // SAFETY: a signal to our own child process.
        unsafe { libc::kill(zedis.pid() as i32, signal) };
        assert!(zedis.wait_exit(Duration::from_secs(30)));
        assert_eq!(dir.0.join("dump.rdb").exists(), saved, "{signal} {extra:?}");
    }
}

#[test]
fn function_libraries_travel_in_rdb_files_both_ways() {
    const LIB: &str = "#!lua name=mylib\nredis.register_function('myfunc', function(keys, args) return args[1] end)";
    let dir = TempDir::new("functions");
    {
        let zedis = Server::start(&["--dir", dir.path(), "--save", ""]);
        let mut z = zedis.conn();
        assert_eq!(text(&mut z, &["FUNCTION", "LOAD", LIB]), "mylib");
        text(&mut z, &["SET", "k", "v"]);
        assert_eq!(text(&mut z, &["SAVE"]), "OK");
    }
    // Zedis reads its own file back.
    {
        let zedis = Server::start(&["--dir", dir.path(), "--save", ""]);
        let mut z = zedis.conn();
        assert_eq!(text(&mut z, &["FCALL", "myfunc", "0", "hi"]), "hi");
        assert_eq!(info(&mut z, "rdb_last_load_keys_loaded"), "1");
    }
    if !tool_exists("redis-server") {
        return skip("redis-server");
    }
    // redis-server loads Zedis's file, library included.
    let Some(redis) = RedisProcess::start(&[
        "--dir",
        dir.path(),
        "--dbfilename",
        "dump.rdb",
        "--enable-protected-configs",
        "yes",
    ]) else {
        return skip("redis-server");
    };
    let mut r = connect(redis.port);
    assert_eq!(
        text(&mut r, &["FCALL", "myfunc", "0", "from-zedis"]),
        "from-zedis"
    );
    assert_eq!(text(&mut r, &["GET", "k"]), "v");
    // And Zedis loads redis-server's.
    let theirs = TempDir::new("functions-redis");
    text(&mut r, &["CONFIG", "SET", "dir", theirs.path()]);
    text(
        &mut r,
        &[
            "FUNCTION",
            "LOAD",
            "REPLACE",
            &LIB.replace("mylib", "theirs")
                .replace("myfunc", "theirfunc"),
        ],
    );
    assert_eq!(text(&mut r, &["SAVE"]), "OK");
    let zedis = Server::start(&["--dir", theirs.path(), "--save", ""]);
    let mut z = zedis.conn();
    assert_eq!(text(&mut z, &["FCALL", "theirfunc", "0", "x"]), "x");
    assert_eq!(text(&mut z, &["FCALL", "myfunc", "0", "y"]), "y");
}

#[test]
fn a_replica_full_sync_carries_the_function_libraries() {
    const LIB: &str =
        "#!lua name=repllib\nredis.register_function('rf', function(keys, args) return 7 end)";
    let master = Server::start(&["--save", ""]);
    let mut m = master.conn();
    assert_eq!(text(&mut m, &["FUNCTION", "LOAD", LIB]), "repllib");
    let replica = Server::start(&["--save", ""]);
    let mut r = replica.conn();
    // A library of its own is replaced by the master's.
    text(&mut r, &["FUNCTION", "LOAD", LIB]);
    text(
        &mut r,
        &["REPLICAOF", "127.0.0.1", &master.port.to_string()],
    );
    wait_link_up(&mut r, Duration::from_secs(60));
    assert_eq!(
        text(&mut r, &["FCALL_RO", "rf", "0"]),
        "-ERR Can not execute a script with write flag using *_ro command."
    );
    assert!(text(&mut r, &["FUNCTION", "LIST"]).contains("repllib"));
}

#[test]
fn shutdown_waits_for_a_lagging_replica_and_can_be_aborted() {
    let dir = TempDir::new("shutdown-wait");
    let mut master = Server::start(&["--dir", dir.path(), "--save", "", "--shutdown-timeout", "4"]);
    let mut m = master.conn();
    let replica = Server::start(&["--save", ""]);
    let mut r = replica.conn();
    text(
        &mut r,
        &["REPLICAOF", "127.0.0.1", &master.port.to_string()],
    );
    wait_link_up(&mut r, Duration::from_secs(60));
    // The replica stops acknowledging: the master's next write leaves it lagging.
    // SAFETY: signals to our own child process.
    unsafe { libc::kill(replica.pid() as i32, libc::SIGSTOP) };
    text(&mut m, &["SET", "k", "v"]);
    let port = master.port;
    let waiting = std::thread::spawn(move || text(&mut connect(port), &["SHUTDOWN"]));
    std::thread::sleep(Duration::from_millis(1000));
    assert!(master.alive(), "SHUTDOWN waits for the lagging replica");
    assert_eq!(
        text(&mut m, &["GET", "k"]),
        "v",
        "reads are served meanwhile"
    );
    assert_eq!(text(&mut m, &["SHUTDOWN", "ABORT"]), "OK");
    assert_eq!(
        waiting.join().unwrap(),
        "-ERR Errors trying to SHUTDOWN. Check logs."
    );
    assert_eq!(text(&mut m, &["SET", "k", "w"]), "OK", "writes resume");
    // Without ABORT the shutdown goes on when shutdown-timeout passes.
    let started = Instant::now();
    let _ = text(&mut m, &["SHUTDOWN"]);
    assert!(master.wait_exit(Duration::from_secs(60)));
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    unsafe { libc::kill(replica.pid() as i32, libc::SIGCONT) };
}

#[test]
fn flushall_with_save_points_saves_the_empty_dataset() {
    let dir = TempDir::new("flushall");
    {
        let zedis = Server::start(&["--dir", dir.path(), "--save", ""]);
        let mut z = zedis.conn();
        text(&mut z, &["SET", "old", "1"]);
        assert_eq!(text(&mut z, &["SAVE"]), "OK");
    }
    let zedis = Server::start(&["--dir", dir.path(), "--save", "3600 1"]);
    let mut z = zedis.conn();
    assert_eq!(text(&mut z, &["GET", "old"]), "1");
    assert_eq!(text(&mut z, &["FLUSHALL"]), "OK");
    assert_eq!(info(&mut z, "rdb_changes_since_last_save"), "0");
    drop(zedis);
    // Killed without a shutdown save: the FLUSHALL's own save keeps the old key from coming back.
    let again = Server::start(&["--dir", dir.path(), "--save", ""]);
    assert_eq!(text(&mut again.conn(), &["GET", "old"]), "(nil)");
}

#[test]
fn shutdown_refuses_while_the_aof_is_being_turned_on_unless_force() {
    let dir = TempDir::new("shutdown-aof-on");
    let mut zedis = Server::start(&["--dir", dir.path(), "--save", ""]);
    let mut z = zedis.conn();
    fill_big(&mut z, 200, 'y');
    text(&mut z, &["CONFIG", "SET", "appendonly", "yes"]);
    // Refused while the first rewrite runs (a fast machine may finish it first: then it exits).
    let reply = text(&mut z, &["SHUTDOWN", "NOSAVE"]);
    if reply == "-ERR Errors trying to SHUTDOWN. Check logs." {
        assert!(zedis.alive());
        assert_eq!(info(&mut z, "aof_rewrite_in_progress"), "1");
        let _ = text(&mut z, &["SHUTDOWN", "NOSAVE", "FORCE"]);
    }
    assert!(zedis.wait_exit(Duration::from_secs(60)));
}

#[test]
fn a_replica_arriving_during_a_bgsave_gets_every_write() {
    let master = Server::start(&["--save", ""]);
    let mut m = master.conn();
    fill_big(&mut m, 100, 'z');
    // A BGSAVE forked before any replica: the writes after it are in no backlog, so a replica arriving
    // while it runs must not be served its file.
    assert_eq!(text(&mut m, &["BGSAVE"]), "Background saving started");
    text(&mut m, &["SET", "after-fork", "1"]);
    let replica = Server::start(&["--save", ""]);
    let mut r = replica.conn();
    text(
        &mut r,
        &["REPLICAOF", "127.0.0.1", &master.port.to_string()],
    );
    wait_link_up(&mut r, Duration::from_secs(120));
    text(&mut m, &["SET", "after-sync", "2"]);
    wait_for_within(
        "the stream to reach the replica",
        Duration::from_secs(60),
        || text(&mut r, &["GET", "after-sync"]) == "2",
    );
    assert_eq!(text(&mut r, &["GET", "after-fork"]), "1");
    assert_eq!(text(&mut r, &["DBSIZE"]), "100002");
}
