//! Commands a script may not run, compared with redis-server: `redis.acl_check_cmd` against the calling
//! user's rules (Redis's "Script ACL check" test), and the statistics of a refused `redis.call` (Redis's
//! "Consistent eval error reporting": the error is counted once, the command as rejected).

mod common;

use common::reference::RedisProcess;
use common::Server;

fn transcript(port: u16) -> Vec<String> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap();
    let mut admin = client.get_connection().unwrap();
    let _: () = redis::cmd("ACL")
        .arg(&["SETUSER", "bob", "on", ">123", "+@scripting", "+set", "~x*"])
        .query(&mut admin)
        .unwrap();
    let mut bob = client.get_connection().unwrap();
    let _: () = redis::cmd("AUTH")
        .arg(&["bob", "123"])
        .query(&mut bob)
        .unwrap();
    let cases: [(&str, &[&str]); 5] = [
        ("return redis.acl_check_cmd('set','xx',1)", &["1", "xx"]),
        (
            "return redis.acl_check_cmd('hset','xx','f',1)",
            &["1", "xx"],
        ),
        ("return redis.acl_check_cmd('set','yy',1)", &["0"]),
        ("return redis.acl_check_cmd('invalid-cmd','arg')", &["0"]),
        ("return redis.acl_check_cmd('get')", &["0"]),
    ];
    cases
        .iter()
        .map(|(body, args)| {
            let reply: redis::RedisResult<redis::Value> =
                redis::cmd("EVAL").arg(*body).arg(*args).query(&mut bob);
            match reply {
                Ok(v) => format!("{v:?}"),
                Err(e) => e.detail().unwrap_or_default().to_string(),
            }
        })
        .collect()
}

#[test]
fn acl_check_cmd_as_redis() {
    let zedis = Server::start(&[]);
    let ours = transcript(zedis.port);
    assert_eq!(ours[0], "int(1)");
    assert_eq!(ours[1], "nil");
    assert_eq!(ours[2], "nil");
    assert!(
        ours[3].starts_with("Invalid command passed to redis.acl_check_cmd()"),
        "{}",
        ours[3]
    );
    if let Some(redis) = RedisProcess::start(&[]) {
        assert_eq!(ours, transcript(redis.port));
    }
}

/// INFO errorstats and the `set` / `eval` / `get` commandstats lines after refused script commands, with
/// the `usec` figures blanked.
fn refusal_stats(port: u16) -> Vec<String> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap();
    let mut c = client.get_connection().unwrap();
    let mut out = Vec::new();
    let run = |c: &mut redis::Connection, args: &[&str]| {
        let reply: redis::RedisResult<redis::Value> = redis::cmd(args[0]).arg(&args[1..]).query(c);
        match reply {
            Ok(v) => format!("{v:?}"),
            Err(e) => format!("{:?} {}", e.code(), e.detail().unwrap_or_default()),
        }
    };
    run(&mut c, &["CONFIG", "RESETSTAT"]);
    run(&mut c, &["CONFIG", "SET", "maxmemory", "1"]);
    out.push(run(
        &mut c,
        &["EVAL", "return redis.call('set','x','y')", "1", "x"],
    ));
    out.push(run(
        &mut c,
        &[
            "EVAL",
            "local t = redis.pcall('set','x','y') return t['err']",
            "1",
            "x",
        ],
    ));
    out.push(run(&mut c, &["EVAL", "return redis.call('nosuch')", "0"]));
    out.push(run(&mut c, &["EVAL", "return redis.call('get')", "0"]));
    run(&mut c, &["CONFIG", "SET", "maxmemory", "0"]);
    for section in ["errorstats", "commandstats"] {
        let text: String = redis::cmd("INFO").arg(section).query(&mut c).unwrap();
        for line in text.lines() {
            let keep = line.starts_with("errorstat_")
                || line.starts_with("cmdstat_set:")
                || line.starts_with("cmdstat_eval:")
                || line.starts_with("cmdstat_get:");
            if keep {
                let fields: Vec<&str> =
                    line.split(',').filter(|f| !f.starts_with("usec")).collect();
                out.push(fields.join(","));
            }
        }
    }
    out
}

#[test]
fn refused_script_commands_are_counted_once() {
    let zedis = Server::start(&[]);
    let ours = refusal_stats(zedis.port);
    assert!(
        ours.iter().any(|l| l == "errorstat_OOM:count=2"),
        "{ours:?}"
    );
    if let Some(redis) = RedisProcess::start(&[]) {
        let mut theirs = refusal_stats(redis.port);
        let mut sorted = ours.clone();
        sorted.sort();
        theirs.sort();
        assert_eq!(sorted, theirs);
    }
}
