//! TLS against the real binary (issue 22): `redis-cli --tls --cacert` with a CA and certificates made by
//! `openssl` in the test, refusals of what rustls cannot do, CONFIG SET of `tls-*`, redis-py with
//! username/password and `ssl=True`, and `tls-replication` in both directions with redis-server.

mod common;

use common::launch::Launch;
use common::reference::RedisProcess;
use common::tools::{bulk, cli, cli_out, free_port, ok, skip, text, tool_exists};
use common::{err, Server, TempDir};
use std::process::{Command, Output, Stdio};
use std::time::Duration;
use zedis_testkit::wait_until;

/// A CA, a server certificate for 127.0.0.1 and a client certificate, made with `openssl`.
struct Certs {
    dir: TempDir,
}

impl Certs {
    fn make() -> Option<Certs> {
        if !tool_exists("openssl") {
            return None;
        }
        let dir = TempDir::new("tls");
        let d = dir.path().to_string();
        let ext = format!("{d}/ext.cnf");
        std::fs::write(
            &ext,
            "[srv]\nsubjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n[cli]\nbasicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n",
        )
        .ok()?;
        let words =
            |line: &str| -> Vec<String> { line.split_whitespace().map(str::to_string).collect() };
        let ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1";
        // A new key `name.key` and a request (or, with `-x509`, a self-signed certificate) `out` for `subject`.
        let request = |flags: &str, subject: &str, name: &str, out: &str| -> Vec<String> {
            let mut args = words(&format!("req {flags} -nodes -subj"));
            args.push(subject.to_string());
            args.extend(words(&format!("{ec} -keyout {name}.key -out {out}")));
            args
        };
        // The CA's signature on `name.csr`, with the `extensions` section of ext.cnf.
        let sign = |name: &str, extensions: &str| -> Vec<String> {
            words(&format!(
                "x509 -req -in {name}.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
                 -out {name}.crt -extfile ext.cnf -extensions {extensions}"
            ))
        };
        let steps = [
            request("-x509 -days 2", "/CN=Zedis Test CA", "ca", "ca.crt"),
            request("-new", "/CN=localhost", "server", "server.csr"),
            sign("server", "srv"),
            request("-new", "/CN=client", "client", "client.csr"),
            sign("client", "cli"),
        ];
        for step in steps {
            let status = Command::new("openssl")
                .args(&step)
                .current_dir(&d)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .ok()?;
            assert!(status.success(), "openssl {step:?}");
        }
        Some(Certs { dir })
    }

    fn path(&self, name: &str) -> String {
        format!("{}/{name}", self.dir.path())
    }

    fn server_args(&self, tls_port: &str) -> Vec<String> {
        [
            "--tls-port",
            tls_port,
            "--tls-cert-file",
            &self.path("server.crt"),
            "--tls-key-file",
            &self.path("server.key"),
            "--tls-ca-cert-file",
            &self.path("ca.crt"),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }
}

fn tls_cli(certs: &Certs, port: &str, client_cert: bool, args: &[&str]) -> Output {
    let mut all = vec![
        "--tls".to_string(),
        "--cacert".into(),
        certs.path("ca.crt"),
        "-p".into(),
        port.into(),
    ];
    if client_cert {
        all.extend(["--cert".into(), certs.path("client.crt")]);
        all.extend(["--key".into(), certs.path("client.key")]);
    }
    all.extend(args.iter().map(|s| s.to_string()));
    Command::new("redis-cli").args(&all).output().unwrap()
}

#[test]
fn redis_cli_over_tls() {
    if !tool_exists("redis-cli") {
        return skip("redis-cli");
    }
    let Some(certs) = Certs::make() else {
        return skip("openssl");
    };
    let tls_port = free_port().to_string();
    let args = certs.server_args(&tls_port);
    let server = start(&args);
    let out = tls_cli(&certs, &tls_port, true, &["set", "k", "over-tls"]);
    assert_eq!(text(&out.stdout).trim(), "OK", "{}", text(&out.stderr));
    // The plain port sees the same data.
    let mut plain = server.conn();
    assert_eq!(
        bulk(&mut plain, &["GET", "k"]),
        redis::Value::BulkString(b"over-tls".to_vec())
    );
    // tls-auth-clients yes (the default): no client certificate, no service.
    let out = tls_cli(&certs, &tls_port, false, &["ping"]);
    assert!(!text(&out.stdout).contains("PONG"), "{}", text(&out.stdout));
    // A pipeline of many commands and a large value through the TLS stream.
    let big = "x".repeat(100_000);
    let out = tls_cli(&certs, &tls_port, true, &["set", "big", &big]);
    assert_eq!(text(&out.stdout).trim(), "OK");
    let out = tls_cli(&certs, &tls_port, true, &["strlen", "big"]);
    assert_eq!(text(&out.stdout).trim(), "100000");
    // A garbage handshake is closed without harm to others.
    let mut raw =
        std::net::TcpStream::connect(("127.0.0.1", tls_port.parse::<u16>().unwrap())).unwrap();
    std::io::Write::write_all(&mut raw, b"PING\r\nnot a TLS record at all\r\n").unwrap();
    let out = tls_cli(&certs, &tls_port, true, &["ping"]);
    assert_eq!(text(&out.stdout).trim(), "PONG");
    // CONFIG SET rebuilds the TLS configuration, or refuses and changes nothing.
    assert_eq!(
        err(&mut plain, &["CONFIG", "SET", "tls-protocols", "TLSv1"]),
        "ERR CONFIG SET failed (possibly related to argument 'tls-protocols') - Unable to update TLS configuration. Check server logs."
    );
    assert_eq!(
        err(&mut plain, &["CONFIG", "SET", "tls-cert-file", "/nonexistent.crt"]),
        "ERR CONFIG SET failed (possibly related to argument 'tls-cert-file') - Unable to update TLS configuration. Check server logs."
    );
    ok(&mut plain, &["CONFIG", "SET", "tls-auth-clients", "no"]);
    let out = tls_cli(&certs, &tls_port, false, &["ping"]);
    assert_eq!(text(&out.stdout).trim(), "PONG", "{}", text(&out.stderr));
    assert_eq!(
        bulk(&mut plain, &["CONFIG", "GET", "tls-protocols"]),
        redis::Value::Array(vec![
            redis::Value::BulkString(b"tls-protocols".to_vec()),
            redis::Value::BulkString(Vec::new())
        ])
    );
}

#[test]
fn tls_without_client_certificates_and_refusals() {
    if !tool_exists("redis-cli") {
        return skip("redis-cli");
    }
    let Some(certs) = Certs::make() else {
        return skip("openssl");
    };
    let tls_port = free_port().to_string();
    let mut args = certs.server_args(&tls_port);
    args.extend(["--tls-auth-clients".into(), "no".into()]);
    args.extend(["--tls-protocols".into(), "TLSv1.3".into()]);
    let _server = start(&args);
    let out = tls_cli(&certs, &tls_port, false, &["ping"]);
    assert_eq!(text(&out.stdout).trim(), "PONG", "{}", text(&out.stderr));
    // What rustls cannot do is refused at startup, naming the directive.
    for (name, value) in [("--tls-protocols", "TLSv1"), ("--tls-ciphers", "RC4-MD5")] {
        let mut args = certs.server_args(&free_port().to_string());
        args.extend([name.to_string(), value.to_string()]);
        let (success, log) = Launch::new(&["--port", &free_port().to_string()])
            .args(&args)
            .exit_output(Duration::from_secs(60));
        assert!(!success);
        // The log goes to standard output (no `logfile`), as Redis's.
        assert!(log.contains("TLS"), "{name} {value}: {log}");
    }
}

const REDIS_PY: &str = r#"
import sys, redis
port, tls_port, ca, cert, key = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
admin = redis.Redis(port=port)
admin.acl_setuser("py", enabled=True, passwords=["+pypw"], keys=["py:*"], commands=["+@all"])
r = redis.Redis(port=port, username="py", password="pypw")
assert r.acl_whoami() in (b"py", "py")
r.set("py:1", "v")
assert r.get("py:1") == b"v"
try:
    r.get("other")
    raise SystemExit("no NOPERM")
except redis.exceptions.NoPermissionError as e:
    assert "no permissions to access one of the keys" in str(e), str(e)
try:
    redis.Redis(port=port, username="py", password="bad").ping()
    raise SystemExit("bad password accepted")
except redis.exceptions.AuthenticationError:
    pass
s = redis.Redis(port=tls_port, ssl=True, ssl_ca_certs=ca, ssl_certfile=cert, ssl_keyfile=key,
                username="py", password="pypw")
assert s.get("py:1") == b"v"
p = s.pipeline()
for i in range(200):
    p.set("py:%d" % i, "x" * i)
p.execute()
assert s.strlen("py:199") == 199
print("OK redis-py acl tls")
"#;

#[test]
fn redis_py_with_users_and_tls() {
    let Some(python) = zedis_testkit::python_with_redis() else {
        return skip("redis-py");
    };
    let Some(certs) = Certs::make() else {
        return skip("openssl");
    };
    let tls_port = free_port().to_string();
    let args = certs.server_args(&tls_port);
    let server = start(&args);
    let out = Command::new(&python)
        .args(["-c", REDIS_PY, &server.port.to_string(), &tls_port])
        .args([
            certs.path("ca.crt"),
            certs.path("client.crt"),
            certs.path("client.key"),
        ])
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("OK redis-py acl tls"),
        "{stdout}{}",
        text(&out.stderr)
    );
}

/// Whether `GET key` through redis-cli on `port` shows `want` within 30 s.
fn get_eventually(port: u16, key: &str, want: &str) -> bool {
    wait_until(Duration::from_secs(30), || {
        cli_out(&["-p", &port.to_string(), "get", key]) == want
    })
}

/// A server with the owned arguments `server_args` makes.
fn start(args: &[String]) -> Server {
    Server::start(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

/// A reference redis-server with owned arguments; `None` when it does not start.
fn start_redis(args: &[String]) -> Option<RedisProcess> {
    RedisProcess::start(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

/// `tls-replication`: a redis-server replica of a Zedis master over TLS, a Zedis replica of that Zedis
/// master over TLS, and a Zedis replica of a redis-server master over TLS.
#[test]
fn tls_replication_both_directions() {
    if !tool_exists("redis-cli") {
        return skip("redis-cli");
    }
    let Some(certs) = Certs::make() else {
        return skip("openssl");
    };
    let tls_port = free_port().to_string();
    let master_args = certs.server_args(&tls_port);
    let master = start(&master_args);
    let mut m = master.conn();
    ok(&mut m, &["SET", "k", "from-zedis"]);
    let mut client_side = certs.server_args("0");
    client_side.extend(["--tls-replication".into(), "yes".into()]);
    let replicaof = [
        "--replicaof".to_string(),
        "127.0.0.1".into(),
        tls_port.clone(),
    ];
    let redis_args: Vec<String> = client_side.iter().chain(&replicaof).cloned().collect();
    let Some(redis_replica) = start_redis(&redis_args) else {
        return skip("redis-server with TLS");
    };
    assert!(
        get_eventually(redis_replica.port, "k", "from-zedis"),
        "redis-server replica of Zedis over TLS"
    );
    let zedis_args: Vec<String> = client_side.iter().chain(&replicaof).cloned().collect();
    let zedis_replica = start(&zedis_args);
    assert!(
        get_eventually(zedis_replica.port, "k", "from-zedis"),
        "Zedis replica of Zedis over TLS"
    );
    ok(&mut m, &["SET", "k2", "streamed"]);
    assert!(get_eventually(zedis_replica.port, "k2", "streamed"));
    assert!(get_eventually(redis_replica.port, "k2", "streamed"));
    // Zedis replica of a redis-server master over TLS.
    let redis_tls_port = free_port().to_string();
    let redis_master_args = certs.server_args(&redis_tls_port);
    let Some(redis_master) = start_redis(&redis_master_args) else {
        return skip("redis-server with TLS");
    };
    let out = cli(&[
        "-p",
        &redis_master.port.to_string(),
        "set",
        "r",
        "from-redis",
    ]);
    assert_eq!(text(&out.stdout).trim(), "OK");
    let mut args = certs.server_args("0");
    args.extend(["--tls-replication".into(), "yes".into()]);
    args.extend(["--replicaof".into(), "127.0.0.1".into(), redis_tls_port]);
    let replica = start(&args);
    assert!(
        get_eventually(replica.port, "r", "from-redis"),
        "Zedis replica of redis-server over TLS"
    );
}
