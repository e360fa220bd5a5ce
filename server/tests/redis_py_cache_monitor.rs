//! redis-py's own client-side cache (`cache_config=CacheConfig(...)`, RESP3 CLIENT TRACKING with
//! invalidation pushes) and its MONITOR reader against Zedis, side by side with redis-server 7.0.15: the
//! same script runs against both and prints what it saw (replies, cache contents, MONITOR's parsed lines
//! without times and addresses), and the transcripts must be equal.
//!
//! redis-py (5.1+) refuses its cache for any server below Redis 7.4 (`CacheProxyConnection.
//! MIN_ALLOWED_VERSION`, a policy of the client, not a protocol need): the script first records that
//! refusal (the same text for both servers, which both say 7.0.15), then lowers the gate to run the cache.
//! Skipped without a Python that has redis-py ($ZEDIS_PYTHON, `target/pyenv`, or python3).

mod common;

use common::reference::RedisProcess;
use common::Server;
use std::process::Command;

const SCRIPT: &str = r#"
import sys, time, redis
import redis.connection as rc
from redis.cache import CacheConfig, CacheKey

port = int(sys.argv[1])
seen = []
def note(label, value):
    seen.append([label, repr(value)])

# 1. redis-py's version gate for its cache.
try:
    gated = redis.Redis(port=port, protocol=3, cache_config=CacheConfig())
    gated.ping()
    note("gate", "accepted")
except redis.exceptions.ConnectionError as e:
    note("gate", str(e))

rc.CacheProxyConnection.MIN_ALLOWED_VERSION = "7.0.0"
other = redis.Redis(port=port, protocol=3)
other.flushall()
r = redis.Redis(port=port, protocol=3, cache_config=CacheConfig(max_size=100),
                single_connection_client=True)
cache = r.get_cache()
def cached(cmd, *keys):
    entry = cache.get(CacheKey(command=cmd, redis_keys=keys, redis_args=(cmd,) + keys))
    return None if entry is None else entry.cache_value

# 2. A read is cached; the server tracks the client.
other.set("foo", "bar")
note("get", r.get("foo"))
note("cached", cached("GET", "foo"))
flags = [c["flags"] for c in other.client_list() if c["id"] != str(other.client_id())]
note("flags", flags)
# 3. A write by another client invalidates it (the push is read before the next command).
other.set("foo", "barbar")
time.sleep(0.3)
note("get after write", r.get("foo"))
note("cached after write", cached("GET", "foo"))
# 4. Several keys and types.
other.hset("h", mapping={"a": "1"})
other.rpush("l", "x", "y")
note("hgetall", r.hgetall("h"))
note("lrange", r.lrange("l", 0, -1))
note("cached hgetall", cached("HGETALL", "h"))
other.hset("h", "b", "2")
time.sleep(0.3)
note("hgetall after write", r.hgetall("h"))
# 5. Expiry invalidates too.
other.set("short", "v", px=100)
note("short", r.get("short"))
time.sleep(0.6)
note("short after expiry", r.get("short"))
# 6. FLUSHALL empties the cache.
other.flushall()
time.sleep(0.3)
note("get after flushall", r.get("foo"))
note("cache size after flushall", cache.size)

# 7. MONITOR through redis-py.
m = redis.Redis(port=port, protocol=2)
w = redis.Redis(port=port, protocol=2)
with m.monitor() as mon:
    w.set("mk", "mv")
    w.eval("return redis.call('get', KEYS[1])", 1, "mk")
    p = w.pipeline(transaction=True)
    p.incr("n")
    p.get("mk")
    p.execute()
    for _ in range(7):
        c = mon.next_command()
        note("monitor", [c["db"], c["client_type"], c["command"]])
for label, value in seen:
    print("%s\t%s" % (label, value))
"#;

/// The transcript of [`SCRIPT`] against `port`.
fn transcript(python: &str, port: u16) -> Vec<(String, String)> {
    let output = Command::new(python)
        .args(["-c", SCRIPT, &port.to_string()])
        .output()
        .expect("run python");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
        .lines()
        .filter_map(|line| line.split_once('\t'))
        .map(|(label, value)| (label.to_string(), value.to_string()))
        .collect()
}

#[test]
fn redis_py_client_side_cache_and_monitor_as_redis() {
    let Some(python) = zedis_testkit::python_with_redis() else {
        eprintln!("no Python with redis-py: skipped");
        return;
    };
    let Some(redis) = RedisProcess::start(&[]) else {
        eprintln!("redis-server not installed: skipped");
        return;
    };
    let zedis = Server::start(&["--save", ""]);
    let want = transcript(&python, redis.port);
    let got = transcript(&python, zedis.port);
    for (w, g) in want.iter().zip(&got) {
        assert_eq!(g, w);
    }
    assert_eq!(got.len(), want.len());
    // What the comparison rests on, stated: the cache held the value and lost it on invalidation.
    let value = |label: &str| {
        got.iter()
            .find(|(l, _)| l == label)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(value("cached"), "b'bar'");
    assert_eq!(value("get after write"), "b'barbar'");
    assert_eq!(value("short after expiry"), "None");
    assert!(value("gate").contains("7.4"), "{}", value("gate"));
}
