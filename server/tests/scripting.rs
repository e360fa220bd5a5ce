//! Lua scripting through the real binary: EVAL/EVALSHA, `redis.call` through the one command path, read-only
//! scripts, FUNCTION libraries, AOF persistence of script effects and libraries, blocked clients served
//! after a script.

mod common;

use common::{cmd, err, Server, TempDir};
use redis::Value;
use std::time::Duration;

fn bulk(v: Value) -> String {
    match v {
        Value::BulkString(b) => String::from_utf8(b).unwrap(),
        Value::SimpleString(s) => s,
        Value::Okay => "OK".into(),
        other => panic!("not a string: {other:?}"),
    }
}

#[test]
fn eval_evalsha_and_noscript() {
    let server = Server::start(&[]);
    let mut conn = server.conn();
    let body = "return {KEYS[1], ARGV[1], 7}";
    let v = cmd(&mut conn, &["EVAL", body, "1", "k", "a"]).unwrap();
    assert_eq!(
        v,
        Value::Array(vec![
            Value::BulkString(b"k".to_vec()),
            Value::BulkString(b"a".to_vec()),
            Value::Int(7)
        ])
    );
    let sha = bulk(cmd(&mut conn, &["SCRIPT", "LOAD", body]).unwrap());
    assert_eq!(sha.len(), 40);
    let again = cmd(&mut conn, &["EVALSHA", &sha, "1", "k", "a"]).unwrap();
    assert_eq!(again, v);
    let exists = cmd(&mut conn, &["SCRIPT", "EXISTS", &sha, "0000"]).unwrap();
    assert_eq!(exists, Value::Array(vec![Value::Int(1), Value::Int(0)]));
    cmd(&mut conn, &["SCRIPT", "FLUSH"]).unwrap();
    assert_eq!(
        err(&mut conn, &["EVALSHA", &sha, "0"]),
        "NOSCRIPT No matching script. Please use EVAL."
    );
    assert_eq!(
        err(&mut conn, &["EVAL", "return 1", "2", "a"]),
        "ERR Number of keys can't be greater than number of args"
    );
    assert_eq!(
        err(&mut conn, &["SCRIPT", "KILL"]),
        "NOTBUSY No scripts in execution right now."
    ); // The Lua heap is charged to the budget and shown in INFO memory.
    let info: String = redis::cmd("INFO").arg("memory").query(&mut conn).unwrap();
    let field = |name: &str| -> u64 {
        info.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}:")))
            .unwrap_or_else(|| panic!("no {name} in {info}"))
            .parse()
            .unwrap()
    };
    assert!(field("used_memory_lua") > 0);
    assert!(field("used_memory_vm_eval") > 0);
    assert!(field("used_memory") >= field("used_memory_lua"));
}

#[test]
fn redis_call_writes_reads_and_errors() {
    let server = Server::start(&[]);
    let mut conn = server.conn();
    let script = "redis.call('SET', KEYS[1], ARGV[1]); redis.call('INCR', KEYS[2]); \
                  return {redis.call('GET', KEYS[1]), redis.call('GET', KEYS[2])}";
    let v = cmd(&mut conn, &["EVAL", script, "2", "s", "n", "hello"]).unwrap();
    assert_eq!(
        v,
        Value::Array(vec![
            Value::BulkString(b"hello".to_vec()),
            Value::BulkString(b"1".to_vec())
        ])
    );
    assert_eq!(bulk(cmd(&mut conn, &["GET", "s"]).unwrap()), "hello");
    // Errors: a command error raised by redis.call, caught by redis.pcall, refused commands.
    let e = err(&mut conn, &["EVAL", "return redis.call('INCR', 's')", "0"]);
    assert!(
        e.starts_with("ERR value is not an integer or out of range"),
        "{e}"
    );
    let v = cmd(
        &mut conn,
        &[
            "EVAL",
            "local r = redis.pcall('INCR', 's'); return r['err']",
            "0",
        ],
    )
    .unwrap();
    assert_eq!(bulk(v), "ERR value is not an integer or out of range");
    let e = err(
        &mut conn,
        &["EVAL", "return redis.call('SUBSCRIBE', 'c')", "0"],
    );
    assert!(
        e.starts_with("ERR This Redis command is not allowed from script"),
        "{e}"
    );
    let e = err(&mut conn, &["EVAL", "return redis.call('NOPE')", "0"]);
    assert!(
        e.starts_with("ERR Unknown Redis command called from script"),
        "{e}"
    );
    // SELECT inside a script changes only the script's db.
    cmd(
        &mut conn,
        &[
            "EVAL",
            "redis.call('SELECT', 5); return redis.call('SET', 'in5', '1')",
            "0",
        ],
    )
    .unwrap();
    assert_eq!(cmd(&mut conn, &["EXISTS", "in5"]).unwrap(), Value::Int(0));
    cmd(&mut conn, &["SELECT", "5"]).unwrap();
    assert_eq!(cmd(&mut conn, &["EXISTS", "in5"]).unwrap(), Value::Int(1));
}

#[test]
fn read_only_scripts_refuse_writes() {
    let server = Server::start(&[]);
    let mut conn = server.conn();
    cmd(&mut conn, &["SET", "k", "v"]).unwrap();
    let v = cmd(
        &mut conn,
        &["EVAL_RO", "return redis.call('GET', KEYS[1])", "1", "k"],
    )
    .unwrap();
    assert_eq!(bulk(v), "v");
    let e = err(
        &mut conn,
        &["EVAL_RO", "return redis.call('DEL', 'k')", "0"],
    );
    assert!(
        e.starts_with("ERR Write commands are not allowed from read-only scripts."),
        "{e}"
    );
    let e = err(
        &mut conn,
        &[
            "EVAL",
            "#!lua flags=no-writes\nreturn redis.call('DEL', 'k')",
            "0",
        ],
    );
    assert!(
        e.starts_with("ERR Write commands are not allowed from read-only scripts."),
        "{e}"
    );
    assert_eq!(bulk(cmd(&mut conn, &["GET", "k"]).unwrap()), "v");
}

const LIBRARY: &str = "#!lua name=counters\n\
    redis.register_function('bump', function(keys, args) return redis.call('INCRBY', keys[1], args[1]) end)\n\
    redis.register_function{function_name='peek', callback=function(keys) return redis.call('GET', keys[1]) end, flags={'no-writes'}}";

#[test]
fn function_load_and_fcall() {
    let server = Server::start(&[]);
    let mut conn = server.conn();
    assert_eq!(
        bulk(cmd(&mut conn, &["FUNCTION", "LOAD", LIBRARY]).unwrap()),
        "counters"
    );
    assert_eq!(
        err(&mut conn, &["FUNCTION", "LOAD", LIBRARY]),
        "ERR Library 'counters' already exists"
    );
    cmd(&mut conn, &["FUNCTION", "LOAD", "REPLACE", LIBRARY]).unwrap();
    assert_eq!(
        cmd(&mut conn, &["FCALL", "bump", "1", "c", "5"]).unwrap(),
        Value::Int(5)
    );
    assert_eq!(
        bulk(cmd(&mut conn, &["FCALL_RO", "peek", "1", "c"]).unwrap()),
        "5"
    );
    let e = err(&mut conn, &["FCALL_RO", "bump", "1", "c", "1"]);
    assert!(
        e.contains("Can not execute a script with write flag using *_ro command"),
        "{e}"
    );
    let dump = match cmd(&mut conn, &["FUNCTION", "DUMP"]).unwrap() {
        Value::BulkString(b) => b,
        other => panic!("{other:?}"),
    };
    cmd(&mut conn, &["FUNCTION", "FLUSH"]).unwrap();
    assert!(err(&mut conn, &["FCALL", "bump", "1", "c", "1"]).contains("Function not found"));
    let restored: Value = redis::cmd("FUNCTION")
        .arg("RESTORE")
        .arg(dump)
        .query(&mut conn)
        .unwrap();
    assert_eq!(restored, Value::Okay);
    assert_eq!(
        cmd(&mut conn, &["FCALL", "bump", "1", "c", "1"]).unwrap(),
        Value::Int(6)
    );
}

#[test]
fn aof_restart_keeps_script_writes_and_libraries() {
    let dir = TempDir::new("scripting-aof");
    let args = ["--appendonly", "yes", "--dir", dir.path()];
    {
        let server = Server::start(&args);
        let mut conn = server.conn();
        cmd(&mut conn, &["FUNCTION", "LOAD", LIBRARY]).unwrap();
        cmd(
            &mut conn,
            &[
                "EVAL",
                "redis.call('SET', 'a', '1'); redis.call('RPUSH', 'l', 'x', 'y')",
                "0",
            ],
        )
        .unwrap();
        cmd(&mut conn, &["FCALL", "bump", "1", "c", "3"]).unwrap();
        let aof = std::fs::read_to_string(dir.aof_incr()).unwrap();
        assert!(!aof.contains("EVAL"), "{aof}");
        assert!(aof.contains("MULTI") && aof.contains("EXEC"), "{aof}");
    }
    {
        let server = Server::start(&args);
        let mut conn = server.conn();
        assert_eq!(bulk(cmd(&mut conn, &["GET", "a"]).unwrap()), "1");
        assert_eq!(cmd(&mut conn, &["LLEN", "l"]).unwrap(), Value::Int(2));
        assert_eq!(
            cmd(&mut conn, &["FCALL", "bump", "1", "c", "1"]).unwrap(),
            Value::Int(4)
        );
        // After a rewrite the libraries are still there.
        cmd(&mut conn, &["BGREWRITEAOF"]).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let info: String = redis::cmd("INFO")
                .arg("persistence")
                .query(&mut conn)
                .unwrap();
            if info.contains("aof_rewrite_in_progress:0") && info.contains("aof_rewrites:1") {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "rewrite did not finish"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let server = Server::start(&args);
    let mut conn = server.conn();
    assert_eq!(
        cmd(&mut conn, &["FCALL", "bump", "1", "c", "1"]).unwrap(),
        Value::Int(5)
    );
    assert_eq!(bulk(cmd(&mut conn, &["GET", "a"]).unwrap()), "1");
}

#[test]
fn blocked_client_is_served_after_the_script() {
    let server = Server::start(&[]);
    let mut raw = server.raw();
    raw.send(b"*3\r\n$5\r\nBLPOP\r\n$1\r\nq\r\n$1\r\n0\r\n");
    let mut conn = server.conn();
    // Wait until the client is blocked.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let info: String = redis::cmd("INFO").arg("clients").query(&mut conn).unwrap();
        if info.contains("blocked_clients:1") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "client never blocked");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The script pushes two elements and pops one: the blocked client gets what is left at the end.
    let v = cmd(
        &mut conn,
        &[
            "EVAL",
            "redis.call('RPUSH', 'q', 'first', 'second'); return redis.call('LPOP', 'q')",
            "0",
        ],
    )
    .unwrap();
    assert_eq!(bulk(v), "first");
    raw.expect("*2\r\n$1\r\nq\r\n$6\r\nsecond\r\n");
}

#[test]
fn script_writes_invalidate_watch_and_notify() {
    let server = Server::start(&["--notify-keyspace-events", "KEA"]);
    let mut watcher = server.conn();
    let mut writer = server.conn();
    let mut sub = server.raw();
    sub.send(b"*2\r\n$9\r\nSUBSCRIBE\r\n$21\r\n__keyevent@0__:incrby\r\n");
    sub.expect("*3\r\n$9\r\nsubscribe\r\n$21\r\n__keyevent@0__:incrby\r\n:1\r\n");
    cmd(&mut watcher, &["WATCH", "w"]).unwrap();
    cmd(
        &mut writer,
        &["EVAL", "return redis.call('INCR', KEYS[1])", "1", "w"],
    )
    .unwrap();
    cmd(&mut watcher, &["MULTI"]).unwrap();
    cmd(&mut watcher, &["SET", "w", "mine"]).unwrap();
    assert_eq!(cmd(&mut watcher, &["EXEC"]).unwrap(), Value::Nil);
    sub.expect("*3\r\n$7\r\nmessage\r\n$21\r\n__keyevent@0__:incrby\r\n$1\r\nw\r\n");
}
