//! `redis.acl_check_cmd` against the calling user's rules, compared with redis-server (Redis's "Script ACL
//! check" test): allowed, a command the user lacks, a key outside its patterns, an unknown command.

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
