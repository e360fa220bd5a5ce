//! Scripts past `busy-reply-threshold` (issue 17): the same scenarios against the real `zedis-server` and a
//! real `redis-server` 7.0, compared reply for reply (raw RESP bytes). Waits are generous; nothing asserts
//! speed.

mod busy_support;
mod common;

use busy_support::*;
use common::Server;
use std::net::TcpStream;
use std::time::{Duration, Instant};

#[test]
fn threshold_config_has_both_names() {
    let transcript = compare(&[], |port| {
        let mut c = Conn::open(port);
        vec![
            c.call(&["CONFIG", "GET", "busy-reply-threshold"]),
            c.call(&["CONFIG", "GET", "lua-time-limit"]),
            c.call(&["CONFIG", "SET", "lua-time-limit", "1234"]),
            c.call(&["CONFIG", "GET", "busy-reply-threshold"]),
            c.call(&["CONFIG", "SET", "busy-reply-threshold", "-1"]),
            c.call(&["CONFIG", "SET", "busy-reply-threshold", "abc"]),
            c.call(&["SCRIPT", "KILL"]),
            c.call(&["FUNCTION", "KILL"]),
        ]
    });
    assert_eq!(
        transcript[0],
        "*2\r\n$20\r\nbusy-reply-threshold\r\n$4\r\n5000\r\n"
    );
    assert_eq!(
        transcript[3],
        "*2\r\n$20\r\nbusy-reply-threshold\r\n$4\r\n1234\r\n"
    );
    assert_eq!(
        transcript[6],
        "-NOTBUSY No scripts in execution right now.\r\n"
    );
}

#[test]
fn busy_eval_refuses_other_commands_until_script_kill() {
    let transcript = compare(&[], |port| {
        let mut c = Conn::open(port);
        let mut t = vec![c.call(&["CONFIG", "SET", "busy-reply-threshold", "50"])];
        let mut caller = Conn::open(port);
        // The caller pipelines a PING behind its script (Redis's "false dead client" case).
        caller.send(&["EVAL", "local i = 0 while true do i = i + 1 end", "0"]);
        caller.send(&["PING"]);
        t.push(wait_busy(&mut c));
        t.push(c.call(&["GET", "x"]));
        t.push(c.call(&["SET", "x", "1"]));
        t.push(c.call(&["EVAL", "return 1", "0"]));
        t.push(c.call(&["SCRIPT", "LOAD", "return 1"]));
        t.push(c.call(&["FUNCTION", "STATS"]));
        t.push(c.call(&["FUNCTION", "KILL"]));
        t.push(c.call(&["SHUTDOWN"]));
        t.push(c.call(&["SHUTDOWN", "SAVE"]));
        t.push(c.call(&["SHUTDOWN", "bogus"]));
        t.push(c.call(&["CLIENT", "LIST"]));
        t.push(c.call(&["NOSUCHCOMMAND"]));
        t.push(c.call(&["GET"]));
        // Transactions: MULTI is allowed, a refused command fails the transaction.
        t.push(c.call(&["MULTI"]));
        t.push(c.call(&["SET", "x", "1"]));
        t.push(c.call(&["HELLO", "2"]));
        t.push(c.call(&["EXEC"]));
        t.push(c.call(&["EXEC"]));
        t.push(c.call(&["WATCH", "x"]));
        t.push(c.call(&["UNWATCH"]));
        // A new connection is accepted and refused too.
        let mut fresh = Conn::open(port);
        t.push(fresh.call(&["PING"]));
        t.push(c.call(&["SCRIPT", "KILL"]));
        t.push(caller.read());
        t.push(caller.read());
        t.push(wait_pong(&mut c));
        t.push(c.call(&["SCRIPT", "KILL"]));
        t
    });
    assert!(transcript[1]
        .starts_with("-BUSY Redis is busy running a script. You can only call SCRIPT KILL"));
    assert!(transcript
        .iter()
        .any(|r| r.starts_with("-ERR Script killed by user with SCRIPT KILL...")));
}

#[test]
fn nothing_is_written_to_the_caller_while_busy() {
    // Redis protects the caller: its reply to a command pipelined before the script waits with the rest.
    for aof in ["no", "yes"] {
        let dir = common::TempDir::new("busy-caller");
        let zedis_args = ["--appendonly", aof, "--dir", dir.path()];
        compare(&zedis_args, |port| {
            let mut c = Conn::open(port);
            let mut t = vec![c.call(&["CONFIG", "SET", "busy-reply-threshold", "50"])];
            let mut caller = Conn::open(port);
            caller.send_pipeline(&[&["SET", "k", "v"], &["EVAL", "while true do end", "0"]]);
            t.push(wait_busy(&mut c));
            t.push(caller.try_read(Duration::from_millis(300)));
            t.push(c.call(&["SCRIPT", "KILL"]));
            t.push(caller.read());
            t.push(caller.read());
            t
        });
    }
}

#[test]
fn busy_function_kill_and_stats() {
    let transcript = compare(&[], |port| {
        let mut c = Conn::open(port);
        let mut t = vec![c.call(&["CONFIG", "SET", "busy-reply-threshold", "50"])];
        t.push(c.call(&[
            "FUNCTION",
            "LOAD",
            "REPLACE",
            "#!lua name=busylib\nredis.register_function('spin', function() local a = 1 while true do a = a + 1 end end)",
        ]));
        let mut caller = Conn::open(port);
        // Called in another case: FUNCTION STATS names the function as registered.
        caller.send(&["FCALL", "SPIN", "0"]);
        t.push(wait_busy(&mut c));
        t.push(blank_duration(c.call(&["FUNCTION", "STATS"])));
        t.push(c.call(&["FUNCTION", "LIST"]));
        t.push(c.call(&["SCRIPT", "KILL"]));
        t.push(c.call(&["FUNCTION", "KILL"]));
        t.push(caller.read());
        t.push(wait_pong(&mut c));
        t.push(c.call(&["FUNCTION", "STATS"]));
        t.push(c.call(&["FUNCTION", "DELETE", "busylib"]));
        t
    });
    assert!(transcript[3].contains("running_script"));
    assert!(
        transcript[3].contains("$4\r\nname\r\n$4\r\nspin\r\n"),
        "{}",
        transcript[3]
    );
    assert_eq!(
        transcript[5],
        "-BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.\r\n"
    );
}

#[test]
fn busy_script_inside_exec() {
    compare(&[], |port| {
        let mut c = Conn::open(port);
        let mut t = vec![c.call(&["CONFIG", "SET", "busy-reply-threshold", "50"])];
        let mut caller = Conn::open(port);
        t.push(caller.call(&["MULTI"]));
        t.push(caller.call(&["SET", "before", "1"]));
        t.push(caller.call(&["EVAL", "while true do end", "0"]));
        caller.send(&["EXEC"]);
        t.push(wait_busy(&mut c));
        // Another client's transaction is queued as usual while the script runs in the caller's EXEC.
        t.push(c.call(&["MULTI"]));
        t.push(c.call(&["SCRIPT", "KILL"]));
        t.push(c.call(&["FUNCTION", "STATS"]));
        t.push(c.call(&["DISCARD"]));
        t.push(c.call(&["SCRIPT", "KILL"]));
        t.push(caller.read());
        t.push(wait_pong(&mut c));
        t.push(c.call(&["GET", "before"]));
        t
    });
}

#[test]
fn pcall_cannot_catch_the_kill() {
    compare(&[], |port| {
        let mut c = Conn::open(port);
        let mut t = vec![c.call(&["CONFIG", "SET", "lua-time-limit", "50"])];
        let mut caller = Conn::open(port);
        caller.send(&[
            "EVAL",
            "local f = function() while 1 do redis.call('ping') end end while 1 do pcall(f) end",
            "0",
        ]);
        t.push(wait_busy(&mut c));
        t.push(c.call(&["SCRIPT", "KILL"]));
        t.push(caller.read());
        t.push(wait_pong(&mut c));
        t
    });
}

#[test]
fn script_that_wrote_is_unkillable_and_shutdown_nosave_exits() {
    let scenario = |port: u16| -> Vec<String> {
        let mut c = Conn::open(port);
        let mut t = vec![c.call(&["CONFIG", "SET", "busy-reply-threshold", "50"])];
        let mut caller = Conn::open(port);
        caller.send(&[
            "EVAL",
            "redis.call('set', KEYS[1], 'y') redis.call('incr', 'n') while true do end",
            "1",
            "x",
        ]);
        t.push(wait_busy(&mut c));
        t.push(c.call(&["SCRIPT", "KILL"]));
        t.push(c.call(&["FUNCTION", "KILL"]));
        t.push(c.call(&["SHUTDOWN"]));
        t.push(c.call(&["PING"]));
        c.send(&["SHUTDOWN", "NOSAVE"]);
        t.push(c.read());
        t.push(caller.read());
        t
    };
    let mut zedis = Server::start(&[]);
    let ours = scenario(zedis.port);
    assert!(
        zedis.wait_exit(Duration::from_secs(60)),
        "zedis-server still running"
    );
    assert_eq!(ours[2], "-UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.\r\n");
    if let Some(redis) = reference() {
        let theirs = scenario(redis.port);
        assert_eq!(ours, theirs);
        assert!(TcpStream::connect(("127.0.0.1", redis.port)).is_err());
    }
}

#[test]
fn clients_come_and_go_while_busy() {
    let zedis = Server::start(&[]);
    let mut c = Conn::open(zedis.port);
    c.call(&["CONFIG", "SET", "busy-reply-threshold", "50"]);
    let mut caller = Conn::open(zedis.port);
    caller.send(&["EVAL", "while true do end", "0"]);
    assert!(wait_busy(&mut c).starts_with("-BUSY"));
    // Connections opened, refused and closed while the script runs are freed at once.
    for _ in 0..20 {
        let mut other = Conn::open(zedis.port);
        assert!(other.call(&["PING"]).starts_with("-BUSY"));
        drop(other);
    }
    // A connection that never sends anything and then leaves.
    drop(TcpStream::connect(("127.0.0.1", zedis.port)).unwrap());
    assert_eq!(c.call(&["SCRIPT", "KILL"]), "+OK\r\n");
    assert!(caller.read().starts_with("-ERR Script killed by user"));
    assert_eq!(wait_pong(&mut c), "+PONG\r\n");
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut connected = String::new();
    while Instant::now() < deadline {
        let info = c.call(&["INFO", "clients"]);
        connected = info
            .lines()
            .find(|l| l.starts_with("connected_clients:"))
            .unwrap_or("")
            .to_string();
        if connected == "connected_clients:2" {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(connected, "connected_clients:2");

    // The caller itself leaves while its script is busy: it is freed once the script ends.
    drop(caller);
    let mut caller = Conn::open(zedis.port);
    caller.send(&["EVAL", "while true do end", "0"]);
    assert!(wait_busy(&mut c).starts_with("-BUSY"));
    drop(caller);
    std::thread::sleep(Duration::from_millis(200));
    assert!(c.call(&["PING"]).starts_with("-BUSY"));
    assert_eq!(c.call(&["SCRIPT", "KILL"]), "+OK\r\n");
    assert_eq!(wait_pong(&mut c), "+PONG\r\n");
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let info = c.call(&["INFO", "clients"]);
        if info.contains("connected_clients:1\r\n") {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the caller that left was not freed");
}

#[test]
fn zero_threshold_never_interrupts() {
    compare(&[], |port| {
        let mut c = Conn::open(port);
        let mut t = vec![c.call(&["CONFIG", "SET", "busy-reply-threshold", "0"])];
        let mut caller = Conn::open(port);
        caller.send(&[
            "EVAL",
            "local i = 0 for j = 1, 3000000 do i = i + j end return i",
            "0",
        ]);
        // Whenever it arrives, this PING is answered after the script, never with -BUSY.
        t.push(c.call(&["PING"]));
        t.push(caller.read());
        t
    });
}

#[test]
fn blocked_clients_wait_for_the_script_to_end() {
    // The script writes, then spins until two more clients are connected (INFO, which scripts may call);
    // the first of them runs HELLO, which is allowed while busy and must not serve the blocked client with
    // the half-done list.
    let script = "local function n() local s = redis.call('info', 'clients') \
                  return tonumber(string.match(s, 'connected_clients:(%d+)')) end \
                  local start = n() redis.call('lpush', KEYS[1], 'y') \
                  while n() < start + 2 do end \
                  redis.call('lpush', KEYS[1], 'z') return 'done'";
    let transcript = compare(&[], |port| {
        let mut c = Conn::open(port);
        let mut waiter = Conn::open(port);
        waiter.send(&["BLPOP", "busyq", "0"]);
        let mut t = vec![c.call(&["CONFIG", "SET", "busy-reply-threshold", "50"])];
        let mut caller = Conn::open(port);
        caller.send(&["EVAL", script, "1", "busyq"]);
        t.push(wait_busy(&mut c));
        t.push(c.call(&["SCRIPT", "KILL"]));
        let mut other = Conn::open(port);
        other.send(&["HELLO", "2", "SETNAME", "abortscript"]);
        std::thread::sleep(Duration::from_millis(100));
        let trigger = Conn::open(port);
        t.push(caller.read());
        t.push(waiter.read());
        t.push(c.call(&["LRANGE", "busyq", "0", "-1"]));
        drop(trigger);
        t
    });
    assert_eq!(transcript[4], "*2\r\n$5\r\nbusyq\r\n$1\r\nz\r\n");
}
