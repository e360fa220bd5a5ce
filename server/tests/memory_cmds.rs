//! MEMORY STATS, DOCTOR and HELP side by side with redis-server 7.0.15: the same fields in the same order
//! with the same reply types (RESP2 and RESP3), Redis's doctor text for an empty instance, and HELP byte
//! for byte.

mod common;

use common::reference::RedisProcess;
use common::Server;
use zedis_resp::Frame;
use zedis_testkit::RespClient;

/// Each MEMORY STATS field with the kind of its value, the db maps' fields included.
fn shape(frame: &Frame) -> Vec<String> {
    let pairs: Vec<(Frame, Frame)> = match frame {
        Frame::Map(pairs) => pairs.clone(),
        Frame::Array(items) => items
            .chunks(2)
            .map(|p| (p[0].clone(), p[1].clone()))
            .collect(),
        other => panic!("MEMORY STATS replied {other:?}"),
    };
    let mut out = Vec::new();
    for (k, v) in pairs {
        let Frame::Bulk(k) = k else {
            panic!("key {k:?}")
        };
        let k = String::from_utf8(k).unwrap();
        let kind = match &v {
            Frame::Integer(_) => "integer".to_string(),
            Frame::Double(_) => "double".to_string(),
            Frame::Bulk(b) if String::from_utf8_lossy(b).parse::<f64>().is_ok() => "double".into(),
            Frame::Map(_) | Frame::Array(_) => shape(&v).join(","),
            other => panic!("{k}: {other:?}"),
        };
        out.push(format!("{k}={kind}"));
    }
    out
}

fn stats(port: u16, resp3: bool) -> Vec<String> {
    let mut c = RespClient::connect(port);
    if resp3 {
        c.cmd(&["HELLO", "3"]);
    }
    c.cmd(&["SET", "k", "v"]);
    shape(&c.cmd(&["MEMORY", "STATS"]))
}

#[test]
fn memory_stats_doctor_and_help_as_redis() {
    let Some(redis) = RedisProcess::start(&[]) else {
        eprintln!("redis-server not installed: skipped");
        return;
    };
    let zedis = Server::start(&["--save", ""]);
    for resp3 in [false, true] {
        assert_eq!(
            stats(zedis.port, resp3),
            stats(redis.port, resp3),
            "resp3 {resp3}"
        );
    }
    for sub in ["HELP", "DOCTOR"] {
        let mut r = RespClient::connect(redis.port);
        let mut z = RespClient::connect(zedis.port);
        r.cmd(&["FLUSHALL"]);
        z.cmd(&["FLUSHALL"]);
        assert_eq!(
            z.raw(&["MEMORY", sub]),
            r.raw(&["MEMORY", sub]),
            "MEMORY {sub}"
        );
    }
}
