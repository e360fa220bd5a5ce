//! Pipelined batches whose keys are prefetched before they run (`server/src/dispatch/prefetch.rs`): the
//! replies are those of running the commands one by one, whatever the batch changes (databases switched,
//! keys written and deleted, the key index resizing) and however the input is cut.

mod common;

use common::{cmd, Server};
use redis::Value;

fn multibulk(args: &[&str]) -> String {
    let mut out = format!("*{}\r\n", args.len());
    for arg in args {
        out.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
    }
    out
}

#[test]
fn a_pipelined_batch_replies_as_commands_run_one_by_one() {
    let server = Server::start(&[]);
    let mut raw = server.raw();
    let batch: Vec<&[&str]> = vec![
        &["SET", "a", "1"],
        &["GET", "a"],
        &["SELECT", "1"],
        &["GET", "a"],
        &["SET", "a", "two"],
        &["GET", "a"],
        &["DEL", "a"],
        &["GET", "a"],
        &["SELECT", "0"],
        &["GET", "a"],
        &["INCR", "n"],
        &["INCR", "n"],
        &["PING"],
        &["APPEND", "a", "x"],
        &["GET", "a"],
        &["GETDEL", "a"],
        &["EXISTS", "a"],
        &["INCRBY", "n", "40"],
        &["GET", "n"],
    ];
    let expected =
        "+OK\r\n$1\r\n1\r\n+OK\r\n$-1\r\n+OK\r\n$3\r\ntwo\r\n:1\r\n$-1\r\n+OK\r\n$1\r\n1\r\n\
                    :1\r\n:2\r\n+PONG\r\n:2\r\n$2\r\n1x\r\n$2\r\n1x\r\n:0\r\n:42\r\n$2\r\n42\r\n";
    let mut request: String = batch.iter().map(|args| multibulk(args)).collect();
    // A command cut in the middle ends the buffer: it completes in the next write.
    let tail = multibulk(&["GET", "n"]);
    request.push_str(&tail[..7]);
    raw.send(request.as_bytes());
    raw.expect(expected);
    raw.send(&tail.as_bytes()[7..]);
    raw.expect("$2\r\n42\r\n");
    // Inline commands and multibulk ones mixed in one buffer.
    raw.roundtrip(
        &format!(
            "GET n\r\n{}PING\r\n{}",
            multibulk(&["GET", "n"]),
            multibulk(&["DEL", "n"])
        ),
        "$2\r\n42\r\n$2\r\n42\r\n+PONG\r\n:1\r\n",
    );
}

#[test]
fn pipelined_writes_while_the_index_grows_then_shrinks_read_back_exactly() {
    let server = Server::start(&[]);
    let mut conn = server.conn();
    let keys = 20_000;
    for round in 0..3 {
        let mut pipe = redis::pipe();
        for k in 0..keys {
            pipe.cmd("SET")
                .arg(format!("key:{k}"))
                .arg(format!("{round}:{k}"))
                .ignore();
        }
        let _: () = pipe.query(&mut conn).unwrap();
        let mut pipe = redis::pipe();
        for k in 0..keys {
            pipe.cmd("GET").arg(format!("key:{k}"));
        }
        let values: Vec<String> = pipe.query(&mut conn).unwrap();
        for (k, value) in values.iter().enumerate() {
            assert_eq!(value, &format!("{round}:{k}"));
        }
        // Delete nine keys in ten (the index shrinks while the batch runs), reading each one back deleted.
        let mut pipe = redis::pipe();
        for k in (0..keys).filter(|k| k % 10 != 0) {
            pipe.cmd("DEL").arg(format!("key:{k}")).ignore();
            pipe.cmd("EXISTS").arg(format!("key:{k}"));
        }
        let exists: Vec<i64> = pipe.query(&mut conn).unwrap();
        assert!(exists.iter().all(|&e| e == 0));
        assert_eq!(cmd(&mut conn, &["DBSIZE"]).unwrap(), Value::Int(keys / 10));
    }
}
