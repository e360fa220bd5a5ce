//! The `metrics-port` endpoint scraped over TCP, its body parsed by a real Prometheus text-format parser
//! (`prometheus-parse`), with figures from the real engines (command stats and histograms, error stats,
//! INFO text from a real redis-server when installed).

mod common;

use prometheus_parse::{Scrape, Value};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;
use zedis_observe::{
    CommandStats, ErrorStats, LatencyMonitor, MetricsPublisher, MetricsServer, SlowLog, Snapshot,
    TrackingTable,
};

/// Sends `request` raw and returns (status line, headers, body).
fn http(server: &MetricsServer, request: &[u8]) -> (String, String, String) {
    let mut stream = TcpStream::connect(server.local_addr()).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    stream.write_all(request).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let text = String::from_utf8(response).expect("utf-8");
    let (head, body) = text.split_once("\r\n\r\n").expect("head");
    let (status, headers) = head.split_once("\r\n").unwrap_or((head, ""));
    (status.to_owned(), headers.to_owned(), body.to_owned())
}

fn scrape(server: &MetricsServer) -> Scrape {
    let (status, headers, body) = http(server, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(headers.contains("Content-Type: text/plain; version=0.0.4"));
    assert!(headers.contains(&format!("Content-Length: {}", body.len())));
    Scrape::parse(body.lines().map(|l| Ok(l.to_owned()))).expect("valid exposition")
}

fn value_of(scrape: &Scrape, metric: &str, label: Option<(&str, &str)>) -> Option<Value> {
    scrape
        .samples
        .iter()
        .find(|s| s.metric == metric && label.is_none_or(|(k, v)| s.labels.get(k) == Some(v)))
        .map(|s| s.value.clone())
}

#[test]
fn scrape_serves_published_figures() {
    let publisher = MetricsPublisher::new();
    let server =
        MetricsServer::start("127.0.0.1:0".parse().unwrap(), publisher.clone()).expect("bind");
    assert!(scrape(&server).samples.is_empty(), "nothing published yet");

    let mut stats = CommandStats::new();
    let get = stats.register("get");
    let sub = stats.register("config|get");
    for us in [1, 2, 3, 50, 900, 20_000] {
        stats.record_call(get, us);
    }
    stats.record_rejected(sub);
    let mut errors = ErrorStats::default();
    errors.record(b"WRONGTYPE Operation against a key holding the wrong kind of value");
    errors.record(b"ERR syntax error");
    errors.record(b"ERR syntax error");
    let mut snapshot = Snapshot::new();
    snapshot.add_command_stats(&stats);
    snapshot.add_error_stats(&errors);
    snapshot.gauge(
        "zedis_budget_used_bytes",
        "Bytes charged per component",
        &[("component", "keyspace")],
        4096.0,
    );
    snapshot.gauge(
        "zedis_budget_used_bytes",
        "Bytes charged per component",
        &[("component", "clients")],
        10.0,
    );
    // prometheus-parse does not unescape label values: this one is checked in the raw text below.
    snapshot.gauge("zedis_escaped", "Escaping", &[("v", "a\"b\\c\nd")], 1.0);
    snapshot.add_info("# Server\r\nredis_version:7.0.15\r\nuptime_in_seconds:42\r\n\r\n# Keyspace\r\ndb0:keys=3,expires=1,avg_ttl=0\r\n");
    let mut latency = LatencyMonitor::new(1);
    latency.add_sample("command", 250, 100);
    latency.add_sample("command", 40, 101);
    snapshot.add_latency_monitor(&latency);
    let mut slowlog = SlowLog::new(0, 10);
    slowlog.push_if_needed(&[b"GET", b"k"], 3, b"1.2.3.4:5", b"", 1);
    snapshot.add_slowlog_and_tracking(&slowlog, &TrackingTable::default());
    publisher.publish(snapshot);

    let scraped = scrape(&server);
    assert_eq!(
        value_of(
            &scraped,
            "zedis_latency_event_max_seconds",
            Some(("event", "command"))
        ),
        Some(Value::Gauge(0.25))
    );
    assert_eq!(
        value_of(
            &scraped,
            "zedis_latency_event_latest_seconds",
            Some(("event", "command"))
        ),
        Some(Value::Gauge(0.04))
    );
    assert_eq!(
        value_of(&scraped, "zedis_slowlog_length", None),
        Some(Value::Gauge(1.0))
    );
    assert_eq!(
        value_of(&scraped, "zedis_tracking_keys", None),
        Some(Value::Gauge(0.0))
    );
    assert_eq!(
        value_of(&scraped, "zedis_commands_total", Some(("cmd", "get"))),
        Some(Value::Counter(6.0))
    );
    assert_eq!(
        value_of(
            &scraped,
            "zedis_commands_rejected_calls_total",
            Some(("cmd", "config|get"))
        ),
        Some(Value::Counter(1.0))
    );
    assert_eq!(
        value_of(&scraped, "zedis_errors_total", Some(("code", "ERR"))),
        Some(Value::Counter(2.0))
    );
    assert_eq!(
        value_of(&scraped, "zedis_error_replies_total", None),
        Some(Value::Counter(3.0))
    );
    assert_eq!(
        value_of(
            &scraped,
            "zedis_budget_used_bytes",
            Some(("component", "clients"))
        ),
        Some(Value::Gauge(10.0))
    );
    assert_eq!(
        value_of(&scraped, "redis_uptime_in_seconds", None),
        Some(Value::Gauge(42.0))
    );
    assert_eq!(
        value_of(&scraped, "redis_db_keys", Some(("db", "db0"))),
        Some(Value::Gauge(3.0))
    );
    assert_eq!(
        value_of(&scraped, "redis_redis_version", None),
        None,
        "non-numeric fields are skipped"
    );
    let Some(Value::Histogram(buckets)) = value_of(
        &scraped,
        "zedis_command_latency_seconds",
        Some(("cmd", "get")),
    ) else {
        panic!("no histogram");
    };
    // The same buckets LATENCY HISTOGRAM reports, in seconds, then +Inf with every call.
    let expected: Vec<(f64, f64)> = stats
        .get(get)
        .unwrap()
        .histogram()
        .unwrap()
        .cdf_buckets()
        .iter()
        .map(|(us, n)| (*us as f64 / 1e6, *n as f64))
        .chain([(f64::INFINITY, 6.0)])
        .collect();
    let got: Vec<(f64, f64)> = buckets.iter().map(|b| (b.less_than, b.count)).collect();
    assert_eq!(got, expected);
    assert_eq!(
        value_of(
            &scraped,
            "zedis_command_latency_seconds_count",
            Some(("cmd", "get"))
        ),
        Some(Value::Untyped(6.0))
    );

    let (_, _, body) = http(&server, b"GET /metrics?x=1 HTTP/1.1\r\n\r\n");
    assert!(
        body.contains("zedis_escaped{v=\"a\\\"b\\\\c\\nd\"} 1\n"),
        "{body}"
    );

    // HEAD, other paths and methods, garbage.
    let (status, headers, body) = http(&server, b"HEAD /metrics HTTP/1.0\r\n\r\n");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(body.is_empty() && !headers.contains("Content-Length: 0"));
    assert_eq!(
        http(&server, b"GET /nope HTTP/1.1\r\n\r\n").0,
        "HTTP/1.1 404 Not Found"
    );
    assert_eq!(
        http(&server, b"POST /metrics HTTP/1.1\r\n\r\n").0,
        "HTTP/1.1 405 Method Not Allowed"
    );
    assert_eq!(
        http(&server, b"hello\r\n\r\n").0,
        "HTTP/1.1 400 Bad Request"
    );
    let huge = vec![b'a'; 20_000];
    assert_eq!(http(&server, &huge).0, "HTTP/1.1 400 Bad Request");

    // A new snapshot replaces the old one.
    let mut next = Snapshot::new();
    next.counter("zedis_test_total", "A test counter", &[], 7.0);
    publisher.publish(next);
    let scraped = scrape(&server);
    assert_eq!(scraped.samples.len(), 1);
    assert_eq!(
        scraped.docs.get("zedis_test_total").map(String::as_str),
        Some("A test counter")
    );
    server.stop();
}

#[test]
fn scrape_exposes_a_real_redis_info() {
    let redis = reference_or_skip!();
    let mut client = redis.client();
    client.cmd(&["SET", "a", "1"]);
    let info = common::bulk(&client.cmd(&["INFO", "everything"])).to_vec();
    let info = String::from_utf8_lossy(&info).into_owned();
    let mut snapshot = Snapshot::new();
    snapshot.add_info(&info);
    let publisher = MetricsPublisher::new();
    publisher.publish(snapshot);
    let server = MetricsServer::start("127.0.0.1:0".parse().unwrap(), publisher).expect("bind");
    let scraped = scrape(&server);
    assert_eq!(
        value_of(&scraped, "redis_db_keys", Some(("db", "db0"))),
        Some(Value::Gauge(1.0))
    );
    let port = value_of(&scraped, "redis_tcp_port", None);
    assert_eq!(port, Some(Value::Gauge(f64::from(redis.port))));
    assert!(scraped.samples.len() > 50);
}
