//! The observability engine wired into the server: SLOWLOG, LATENCY, INFO commandstats/errorstats/
//! latencystats, checked through real clients and side by side with a real redis-server fed the same commands.

mod common;

use common::reference::RedisProcess;
use common::{cmd, Server};
use redis::Value;

/// Runs `commands` (ignoring their results) on `conn`.
fn run_all(conn: &mut redis::Connection, commands: &[&[&str]]) {
    for args in commands {
        let _ = cmd(conn, args);
    }
}

/// The lines of `INFO <section>` without their timings: `cmdstat_x:calls=..,rejected_calls=..,failed_calls=..`
/// (usec fields dropped), errorstat lines as they are; sorted (Redis lists commands in hash order).
fn info_lines(conn: &mut redis::Connection, section: &str) -> Vec<String> {
    let text: String = redis::cmd("INFO").arg(section).query(conn).unwrap();
    let mut lines: Vec<String> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            l.split(',')
                .filter(|f| !f.contains("usec"))
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect();
    lines.sort();
    lines
}

/// A sequence that calls, rejects and fails commands: keyspace errors (WRONGTYPE), server errors (unknown
/// subcommand), arity rejections, and a script whose inner command fails (counted once).
const WORKLOAD: &[&[&str]] = &[
    &["SET", "s", "v"],
    &["GET", "s"],
    &["GET"],
    &["INCR", "s"],
    &["LPUSH", "s", "x"],
    &["HSET", "h", "f", "v"],
    &["CLIENT", "NOSUCH"],
    &["CONFIG", "GET", "maxmemory"],
    &["EVAL", "return redis.call('incr', KEYS[1])", "1", "s"],
    &["EVAL", "return redis.pcall('incr', KEYS[1])", "1", "s"],
    &["EVAL", "return {err='MYERR custom'}", "0"],
    &["NOSUCHCOMMAND"],
    &["OBJECT", "ENCODING", "nokey"],
];

#[test]
fn commandstats_and_errorstats_match_redis() {
    let Some(redis) = RedisProcess::start(&[]) else {
        eprintln!("redis-server not available: skipped");
        return;
    };
    let server = Server::start(&[]);
    let mut ours = server.conn();
    let mut theirs = redis::Client::open(format!("redis://127.0.0.1:{}/", redis.port))
        .unwrap()
        .get_connection()
        .unwrap();
    for conn in [&mut ours, &mut theirs] {
        cmd(conn, &["CONFIG", "RESETSTAT"]).unwrap();
        run_all(conn, WORKLOAD);
    }
    let ours_stats = info_lines(&mut ours, "commandstats");
    let theirs_stats = info_lines(&mut theirs, "commandstats");
    // Both count the INFO call itself only after it ran: the lists are taken alike.
    assert_eq!(ours_stats, theirs_stats);
    assert!(ours_stats
        .iter()
        .any(|l| l == "cmdstat_get:calls=1,rejected_calls=1,failed_calls=0"));
    assert_eq!(
        info_lines(&mut ours, "errorstats"),
        info_lines(&mut theirs, "errorstats")
    );
    // total_error_replies agrees too.
    let total = |conn: &mut redis::Connection| -> String {
        let text: String = redis::cmd("INFO").arg("stats").query(conn).unwrap();
        text.lines()
            .find(|l| l.starts_with("total_error_replies:"))
            .unwrap()
            .to_string()
    };
    assert_eq!(total(&mut ours), total(&mut theirs));
}

#[test]
fn stats_sections_only_in_all_and_by_name_and_reset() {
    let server = Server::start(&[]);
    let mut conn = server.conn();
    run_all(&mut conn, &[&["SET", "k", "v"], &["INCR", "k"]]);
    let default: String = redis::cmd("INFO").query(&mut conn).unwrap();
    assert!(!default.contains("# Commandstats"));
    let all: String = redis::cmd("INFO").arg("all").query(&mut conn).unwrap();
    let order: Vec<usize> = [
        "# CPU",
        "# Commandstats",
        "# Errorstats",
        "# Latencystats",
        "# Keyspace",
    ]
    .iter()
    .map(|h| all.find(h).unwrap_or_else(|| panic!("{h} missing")))
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
    assert!(all.contains("errorstat_ERR:count="), "{all}");
    assert!(all.contains("latency_percentiles_usec_set:p50="));
    let named: String = redis::cmd("INFO")
        .arg("latencystats")
        .query(&mut conn)
        .unwrap();
    assert!(named.starts_with("# Latencystats\r\n"));
    cmd(
        &mut conn,
        &[
            "CONFIG",
            "SET",
            "latency-tracking-info-percentiles",
            "50 99.9 100",
        ],
    )
    .unwrap();
    let named: String = redis::cmd("INFO")
        .arg("latencystats")
        .query(&mut conn)
        .unwrap();
    assert!(named.contains("p99.9="), "{named}");
    assert!(named.contains("p100="), "{named}");
    cmd(&mut conn, &["CONFIG", "RESETSTAT"]).unwrap();
    let stats: String = redis::cmd("INFO")
        .arg("commandstats")
        .arg("errorstats")
        .query(&mut conn)
        .unwrap();
    assert!(!stats.contains("cmdstat_set"), "{stats}");
    assert!(!stats.contains("errorstat_ERR"), "{stats}");
    let memory: String = redis::cmd("INFO").arg("memory").query(&mut conn).unwrap();
    let observe = memory
        .lines()
        .find_map(|l| l.strip_prefix("used_memory_observe:"))
        .unwrap();
    assert!(observe.parse::<u64>().unwrap() > 0);
}

#[test]
fn slowlog_logs_argv_peer_and_name() {
    let server = Server::start(&[]);
    let mut conn = server.conn();
    cmd(
        &mut conn,
        &["CONFIG", "SET", "slowlog-log-slower-than", "0"],
    )
    .unwrap();
    cmd(&mut conn, &["SLOWLOG", "RESET"]).unwrap();
    cmd(&mut conn, &["CLIENT", "SETNAME", "observer"]).unwrap();
    let long = "x".repeat(200);
    cmd(&mut conn, &["SET", "key", &long]).unwrap();
    // EXEC is skip_slowlog; its commands are logged.
    redis::pipe()
        .atomic()
        .cmd("INCR")
        .arg("n")
        .query::<Value>(&mut conn)
        .unwrap();
    let entries: Vec<Value> = redis::cmd("SLOWLOG")
        .arg("GET")
        .arg(-1)
        .query(&mut conn)
        .unwrap();
    let argvs: Vec<Vec<String>> = entries
        .iter()
        .map(|e| match e {
            Value::Array(fields) => redis::from_redis_value(fields[3].clone()).unwrap(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert!(argvs.iter().all(|a| !a[0].eq_ignore_ascii_case("exec")));
    assert!(argvs.iter().any(|a| a == &["INCR", "n"]), "{argvs:?}");
    assert!(argvs.iter().any(|a| a == &["MULTI"]), "{argvs:?}");
    let set = argvs.iter().find(|a| a[0] == "SET").unwrap();
    assert_eq!(set[2], format!("{}... (72 more bytes)", "x".repeat(128)));
    let Value::Array(first) = &entries[0] else {
        panic!()
    };
    let peer: String = redis::from_redis_value(first[4].clone()).unwrap();
    assert!(peer.starts_with("127.0.0.1:"), "{peer}");
    let name: String = redis::from_redis_value(first[5].clone()).unwrap();
    assert_eq!(name, "observer");
    let len: i64 = redis::cmd("SLOWLOG").arg("LEN").query(&mut conn).unwrap();
    assert_eq!(
        len as usize,
        entries.len() + 1,
        "SLOWLOG GET itself is logged"
    );
    cmd(&mut conn, &["CONFIG", "SET", "slowlog-max-len", "2"]).unwrap();
    cmd(&mut conn, &["PING"]).unwrap();
    let len: i64 = redis::cmd("SLOWLOG").arg("LEN").query(&mut conn).unwrap();
    assert_eq!(len, 2);
    assert_eq!(
        common::err(&mut conn, &["SLOWLOG", "GET", "-2"]),
        "ERR count should be greater than or equal to -1"
    );
    assert!(common::err(&mut conn, &["SLOWLOG", "NOPE"]).contains("Try SLOWLOG HELP."));
    cmd(
        &mut conn,
        &["CONFIG", "SET", "slowlog-log-slower-than", "-1"],
    )
    .unwrap();
    cmd(&mut conn, &["SLOWLOG", "RESET"]).unwrap();
    cmd(&mut conn, &["PING"]).unwrap();
    let len: i64 = redis::cmd("SLOWLOG").arg("LEN").query(&mut conn).unwrap();
    assert_eq!(len, 0);
}

#[test]
fn latency_monitor_records_slow_commands() {
    let server = Server::start(&[]);
    let mut conn = server.conn();
    cmd(
        &mut conn,
        &["CONFIG", "SET", "latency-monitor-threshold", "1"],
    )
    .unwrap();
    // A script that spins for well over a millisecond even on a fast machine.
    let spin = "local i = 0 while i < 20000000 do i = i + 1 end return i";
    cmd(&mut conn, &["EVAL", spin, "0"]).unwrap();
    let latest: Vec<Vec<Value>> = redis::cmd("LATENCY")
        .arg("LATEST")
        .query(&mut conn)
        .unwrap();
    let events: Vec<String> = latest
        .iter()
        .map(|e| redis::from_redis_value(e[0].clone()).unwrap())
        .collect();
    assert!(events.contains(&"command".to_string()), "{events:?}");
    let history: Vec<Vec<i64>> = redis::cmd("LATENCY")
        .arg("HISTORY")
        .arg("command")
        .query(&mut conn)
        .unwrap();
    assert_eq!(history.len(), 1);
    assert!(history[0][1] >= 1);
    let graph: String = redis::cmd("LATENCY")
        .arg("GRAPH")
        .arg("command")
        .query(&mut conn)
        .unwrap();
    assert!(graph.starts_with("command - high "), "{graph}");
    let doctor: String = redis::cmd("LATENCY")
        .arg("DOCTOR")
        .query(&mut conn)
        .unwrap();
    assert!(doctor.contains("command"), "{doctor}");
    let histogram: Value = redis::cmd("LATENCY")
        .arg("HISTOGRAM")
        .arg("eval")
        .query(&mut conn)
        .unwrap();
    let Value::Array(map) = histogram else {
        panic!("{histogram:?}")
    };
    assert_eq!(
        redis::from_redis_value::<String>(map[0].clone()).unwrap(),
        "eval"
    );
    assert!(common::err(&mut conn, &["LATENCY", "GRAPH", "nosuch"]).starts_with("ERR No samples"));
    let reset: i64 = redis::cmd("LATENCY").arg("RESET").query(&mut conn).unwrap();
    assert_eq!(reset, 1);
    let latest: Vec<Value> = redis::cmd("LATENCY")
        .arg("LATEST")
        .query(&mut conn)
        .unwrap();
    assert!(latest.is_empty());
}

/// Reads from `stream` until `lines` CRLF-terminated lines arrived (or the wide timeout passed).
fn read_lines(stream: &mut std::net::TcpStream, lines: usize) -> Vec<String> {
    use std::io::Read;
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    let mut text = String::new();
    let mut buf = [0u8; 4096];
    while text.matches("\r\n").count() < lines {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => text.push_str(&String::from_utf8_lossy(&buf[..n])),
        }
    }
    text.split_terminator("\r\n").map(str::to_string).collect()
}

/// What a monitor sees of a fixed sequence on the server at `port`: the lines with the time and the peer
/// address replaced (`[db peer]`, `[db lua]`).
fn monitor_lines(port: u16) -> Vec<String> {
    use std::io::Write;
    let mut monitor = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    monitor.write_all(b"MONITOR\r\n").unwrap();
    assert_eq!(read_lines(&mut monitor, 1), ["+OK"]);
    let mut client = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let script = "redis.call('set','x','y') return redis.call('get','x')";
    let requests = [
        "SET k \"a b\"\r\n".to_string(),
        "MULTI\r\n".into(),
        "INCR n\r\n".into(),
        "EXEC\r\n".into(),
        format!("EVAL \"{script}\" 0\r\n"),
        "CONFIG GET maxmemory\r\n".into(),
        "GET\r\n".into(),
        "SELECT 3\r\n".into(),
        "PING\r\n".into(),
    ];
    for request in &requests {
        client.write_all(request.as_bytes()).unwrap();
        read_lines(&mut client, 1);
    }
    // EXEC's reply and CONFIG GET's are arrays: their first line was read, the rest is not needed.
    let lines = read_lines(&mut monitor, 9);
    lines
        .iter()
        .map(|line| {
            let (_, rest) = line.split_once(" [").unwrap();
            let (origin, args) = rest.split_once("] ").unwrap();
            let (db, who) = origin.split_once(' ').unwrap();
            let who = if who == "lua" { "lua" } else { "peer" };
            format!("[{db} {who}] {args}")
        })
        .collect()
}

#[test]
fn monitor_sees_transactions_and_scripts_as_redis() {
    let server = Server::start(&[]);
    let ours = monitor_lines(server.port);
    assert_eq!(
        ours,
        [
            "[0 peer] \"SET\" \"k\" \"a b\"",
            "[0 peer] \"MULTI\"",
            "[0 peer] \"INCR\" \"n\"",
            "[0 peer] \"EXEC\"",
            "[0 peer] \"EVAL\" \"redis.call('set','x','y') return redis.call('get','x')\" \"0\"",
            "[0 lua] \"set\" \"x\" \"y\"",
            "[0 lua] \"get\" \"x\"",
            "[3 peer] \"SELECT\" \"3\"",
            "[3 peer] \"PING\"",
        ]
    );
    if let Some(redis) = RedisProcess::start(&[]) {
        assert_eq!(ours, monitor_lines(redis.port));
    }
}

#[test]
fn redis_cli_monitor_prints_commands() {
    use std::io::{BufRead, BufReader};
    let server = Server::start(&[]);
    let Ok(mut child) = std::process::Command::new("redis-cli")
        .args(["-p", &server.port.to_string(), "monitor"])
        .stdout(std::process::Stdio::piped())
        .spawn()
    else {
        eprintln!("redis-cli not available: skipped");
        return;
    };
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "OK");
    let mut conn = server.conn();
    cmd(&mut conn, &["SET", "greeting", "hello\nworld"]).unwrap();
    let seen = lines
        .by_ref()
        .map(Result::unwrap)
        .find(|l| l.contains("\"SET\""))
        .unwrap();
    assert!(
        seen.ends_with("\"SET\" \"greeting\" \"hello\\nworld\""),
        "{seen}"
    );
    let _ = child.kill();
    let _ = child.wait();
}

/// `metrics-port`: the INFO figures, the budget per component and per-command counters in the Prometheus
/// text format, scraped over HTTP and parsed by a Prometheus text-format parser.
#[test]
fn metrics_port_serves_prometheus_text() {
    use std::io::{Read, Write};
    let metrics_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = Server::start(&["--metrics-port", &metrics_port.to_string()]);
    let mut conn = server.conn();
    cmd(&mut conn, &["SET", "k", "v"]).unwrap();
    let scrape = || -> String {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", metrics_port)).unwrap();
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(20)))
            .unwrap();
        stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        response.split_once("\r\n\r\n").unwrap().1.to_string()
    };
    // The cron publishes once a second: wait for a snapshot taken after the SET.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let body = loop {
        let body = scrape();
        if body.contains("cmd=\"set\"") {
            break body;
        }
        assert!(std::time::Instant::now() < deadline, "{body}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let lines = body.lines().map(|l| Ok(l.to_string()));
    let scrape = prometheus_parse::Scrape::parse(lines).unwrap();
    let value = |name: &str, label: Option<(&str, &str)>| -> f64 {
        let sample = scrape
            .samples
            .iter()
            .find(|s| s.metric == name && label.is_none_or(|(k, v)| s.labels.get(k) == Some(v)))
            .unwrap_or_else(|| panic!("{name} {label:?} missing"));
        match sample.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            ref other => panic!("{other:?}"),
        }
    };
    assert!(value("redis_connected_clients", None) >= 1.0);
    assert!(value("zedis_commands_total", Some(("cmd", "set"))) >= 1.0);
    assert!(value("zedis_budget_used_bytes", Some(("component", "keyspace"))) > 0.0);
    assert!(value("redis_used_memory", None) > 0.0);
}

/// The observability configs (and `maxmemory-clients`) accept, refuse and show values as Redis does.
#[test]
fn observability_configs_match_redis() {
    let Some(redis) = RedisProcess::start(&[]) else {
        eprintln!("redis-server not available: skipped");
        return;
    };
    let server = Server::start(&[]);
    let sets: &[(&str, &str)] = &[
        ("slowlog-log-slower-than", "-1"),
        ("slowlog-log-slower-than", "-2"),
        ("slowlog-max-len", "0"),
        ("slowlog-max-len", "-1"),
        ("latency-monitor-threshold", "100"),
        ("latency-monitor-threshold", "x"),
        ("latency-tracking", "no"),
        ("latency-tracking", "maybe"),
        ("latency-tracking-info-percentiles", "50.0 99 99.900"),
        ("latency-tracking-info-percentiles", ""),
        ("latency-tracking-info-percentiles", "101"),
        ("latency-tracking-info-percentiles", "abc"),
        ("tracking-table-max-keys", "10"),
        ("maxmemory-clients", "10%"),
        ("maxmemory-clients", "101%"),
        ("maxmemory-clients", "2mb"),
    ];
    let run = |port: u16| -> Vec<String> {
        let mut conn = redis::Client::open(format!("redis://127.0.0.1:{port}/"))
            .unwrap()
            .get_connection()
            .unwrap();
        sets.iter()
            .map(|(name, value)| {
                let set = match cmd(&mut conn, &["CONFIG", "SET", name, value]) {
                    Ok(_) => "OK".to_string(),
                    Err(e) => e.to_string(),
                };
                let got: Vec<String> = redis::cmd("CONFIG")
                    .arg("GET")
                    .arg(name)
                    .query(&mut conn)
                    .unwrap();
                format!("{name} {value:?}: {set} -> {got:?}")
            })
            .collect()
    };
    assert_eq!(run(server.port), run(redis.port));
}

/// A blocked command counts as one call (when it blocked), as Redis's `updateStatsOnUnblock`.
#[test]
fn blocked_command_counts_once() {
    use std::io::{Read, Write};
    let run = |port: u16| -> Vec<String> {
        let mut conn = redis::Client::open(format!("redis://127.0.0.1:{port}/"))
            .unwrap()
            .get_connection()
            .unwrap();
        cmd(&mut conn, &["CONFIG", "RESETSTAT"]).unwrap();
        let mut blocked = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        blocked
            .set_read_timeout(Some(std::time::Duration::from_secs(20)))
            .unwrap();
        blocked.write_all(b"BLPOP q 0\r\n").unwrap();
        // Wait until the server has it blocked, then serve it.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let text: String = redis::cmd("INFO").arg("clients").query(&mut conn).unwrap();
            if text.contains("blocked_clients:1") {
                break;
            }
            assert!(std::time::Instant::now() < deadline);
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        cmd(&mut conn, &["LPUSH", "q", "x"]).unwrap();
        let mut buf = [0u8; 64];
        let n = blocked.read(&mut buf).unwrap();
        assert!(buf[..n].starts_with(b"*2\r\n"));
        info_lines(&mut conn, "commandstats")
            .into_iter()
            .filter(|l| l.starts_with("cmdstat_blpop") || l.starts_with("cmdstat_lpush"))
            .collect()
    };
    let server = Server::start(&[]);
    let ours = run(server.port);
    assert_eq!(
        ours,
        [
            "cmdstat_blpop:calls=1,rejected_calls=0,failed_calls=0",
            "cmdstat_lpush:calls=1,rejected_calls=0,failed_calls=0"
        ]
    );
    if let Some(redis) = RedisProcess::start(&[]) {
        assert_eq!(ours, run(redis.port));
    }
}

/// RESET ends monitor mode (Redis's `clearClientConnectionState`): the client leaves CLIENT LIST's `O`
/// flag and gets no monitor line for RESET itself nor for what others run afterwards.
#[test]
fn reset_ends_monitor_mode() {
    let server = Server::start(&["--save", ""]);
    let mut monitor = zedis_testkit::RespClient::connect(server.port);
    let mut other = zedis_testkit::RespClient::connect(server.port);
    assert_eq!(monitor.raw(&["MONITOR"]), b"+OK\r\n");
    assert_eq!(monitor.raw(&["RESET"]), b"+RESET\r\n");
    let list = other.raw(&["CLIENT", "LIST"]);
    assert!(
        !String::from_utf8_lossy(&list).contains("flags=O"),
        "{}",
        String::from_utf8_lossy(&list)
    );
    other.raw(&["SET", "k", "v"]);
    // The next reply the former monitor reads is its own PING's, with no monitor line before it.
    assert_eq!(monitor.raw(&["PING"]), b"+PONG\r\n");
}
