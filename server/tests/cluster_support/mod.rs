//! Real cluster nodes for the cluster tests: `zedis-server` and `redis-server` 7.0.15 processes on
//! 127.0.0.1 (client port P and bus port P + 10000 both free), each with its own temp dir (nodes.conf, log),
//! killed by PID on drop; `redis-cli --cluster` and `redis-cli -c` run with deadlines. Waits are wide: the
//! machine is loaded.
#![allow(dead_code)]

use std::process::Command;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;
use zedis_testkit::{free_port_pair, run_with_input, wait_until, Proc, RespClient, TempDir};

/// One cluster test at a time in a binary (each starts six or more processes on a 2-core machine).
static SERIAL: Mutex<()> = Mutex::new(());

/// Takes the binary's cluster lock (a failed test does not poison the others).
pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Which server a node runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `zedis-server` (this crate's binary).
    Zedis,
    /// `redis-server` 7.0.15.
    Redis,
}

/// A running cluster node.
pub struct Node {
    /// Client port (bus: + 10000).
    pub port: u16,
    /// Which server.
    pub kind: Kind,
    proc: Option<Proc>,
    dir: TempDir,
}

/// Whether redis-server and redis-cli are installed (tests that need them skip otherwise).
pub fn have_redis() -> bool {
    zedis_testkit::installed("redis-server") && zedis_testkit::installed("redis-cli")
}

impl Node {
    /// Starts a cluster-enabled node with `cluster-node-timeout` = `timeout_ms`.
    pub fn start(kind: Kind, timeout_ms: u64) -> Node {
        for _ in 0..5 {
            let Some(port) = free_port_pair() else {
                continue;
            };
            let dir = TempDir::new("cluster-node");
            let program = match kind {
                Kind::Zedis => env!("CARGO_BIN_EXE_zedis-server").to_string(),
                Kind::Redis => "redis-server".to_string(),
            };
            let args: Vec<String> = [
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--cluster-enabled",
                "yes",
                "--cluster-node-timeout",
                &timeout_ms.to_string(),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                &dir.path().to_string_lossy(),
                "--logfile",
                &dir.join("log").to_string_lossy(),
            ]
            .iter()
            .map(|s| s.to_string())
            .collect();
            if let Some(proc) = Proc::spawn(&program, &args, port, dir.path()) {
                return Node {
                    port,
                    kind,
                    proc: Some(proc),
                    dir,
                };
            }
        }
        panic!("{kind:?} cluster node did not start");
    }

    /// `127.0.0.1:port`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// A plain client connection.
    pub fn client(&self) -> RespClient {
        RespClient::connect(self.port)
    }

    /// `redis-cli -p PORT args...`'s output, trimmed.
    pub fn cli(&self, args: &[&str]) -> String {
        let mut all = vec!["-p".to_string(), self.port.to_string()];
        all.extend(args.iter().map(|s| s.to_string()));
        let out = redis_cli(&all, b"", Duration::from_secs(30));
        out.stdout.trim().to_string()
    }

    /// The node id.
    pub fn id(&self) -> String {
        self.cli(&["cluster", "myid"])
    }

    /// `cluster_state:ok` in its CLUSTER INFO.
    pub fn state_ok(&self) -> bool {
        self.cli(&["cluster", "info"]).contains("cluster_state:ok")
    }

    /// Its line of CLUSTER NODES says `master` (itself).
    pub fn is_master(&self) -> bool {
        self.cli(&["cluster", "nodes"])
            .lines()
            .any(|l| l.contains("myself") && l.contains("master"))
    }

    /// Its process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.proc.as_ref().map(Proc::pid)
    }

    /// SIGKILL.
    pub fn kill9(&mut self) {
        if let Some(mut proc) = self.proc.take() {
            proc.kill9();
        }
    }

    /// Its log (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
    }
}

/// Runs `redis-cli args...` with `stdin` and a deadline.
pub fn redis_cli(args: &[String], stdin: &[u8], timeout: Duration) -> zedis_testkit::Output {
    let mut cmd = Command::new("redis-cli");
    cmd.args(args);
    run_with_input(&mut cmd, stdin, timeout)
}

/// `redis-cli --cluster SUB args...` (with `--cluster-yes`); panics with its output unless it succeeds.
pub fn cluster_tool(sub: &str, args: &[String]) -> String {
    let mut all = vec!["--cluster".to_string(), sub.to_string()];
    all.extend(args.iter().cloned());
    all.push("--cluster-yes".to_string());
    let out = redis_cli(&all, b"", Duration::from_secs(600));
    assert!(
        out.success && !out.stdout.contains("[ERR]"),
        "redis-cli --cluster {sub} {args:?} failed:\n{}\n{}",
        out.stdout,
        out.stderr
    );
    out.stdout
}

/// `redis-cli --cluster check` from `node` passes (all slots covered, all nodes agree, no open slot).
pub fn check_ok(node: &Node) -> Result<(), String> {
    let args = vec!["--cluster".into(), "check".into(), node.addr()];
    let out = redis_cli(&args, b"", Duration::from_secs(60));
    let text = format!("{}{}", out.stdout, out.stderr);
    if out.success
        && text.contains("[OK] All nodes agree about slots configuration.")
        && text.contains("[OK] All 16384 slots covered.")
        && !text.contains("[WARNING]")
        && !text.contains("[ERR]")
    {
        Ok(())
    } else {
        Err(text)
    }
}

/// Waits (wide) until every node says `cluster_state:ok` and knows all of `nodes`, and `--cluster check`
/// passes from the first.
pub fn wait_converged(nodes: &[&Node]) {
    let mut last = String::new();
    let ok = wait_until(Duration::from_secs(90), || {
        // Every node ok and knowing every other (a node that has not met a new one yet refuses SETSLOT
        // naming it).
        let known = format!("cluster_known_nodes:{}", nodes.len());
        if !nodes.iter().all(|n| {
            let info = n.cli(&["cluster", "info"]);
            info.contains("cluster_state:ok") && info.contains(&known)
        }) {
            return false;
        }
        match check_ok(nodes[0]) {
            Ok(()) => true,
            Err(text) => {
                last = text;
                false
            }
        }
    });
    assert!(ok, "cluster did not converge:\n{last}");
}

/// Waits until every replica among `nodes` has finished its full sync (`master_link_status:up`): with Redis
/// 7.0's default `repl-diskless-sync yes` the master waits `repl-diskless-sync-delay` (5 s) before forking,
/// so `WAIT 1` acknowledges nothing until then.
pub fn wait_replicas_synced(nodes: &[&Node]) {
    let synced = wait_until(Duration::from_secs(90), || {
        nodes.iter().filter(|n| !n.is_master()).all(|n| {
            n.cli(&["info", "replication"])
                .contains("master_link_status:up")
        })
    });
    assert!(synced, "a replica did not finish its full sync");
}

/// `redis-cli --cluster create` of `nodes` with `replicas` replicas per master; waits for convergence.
pub fn create(nodes: &[&Node], replicas: usize) -> String {
    let mut args: Vec<String> = nodes.iter().map(|n| n.addr()).collect();
    args.push("--cluster-replicas".into());
    args.push(replicas.to_string());
    let out = cluster_tool("create", &args);
    wait_converged(nodes);
    out
}

/// Commands sent through one `redis-cli -c` (which follows MOVED and ASK), one line each; its output
/// lines.
pub fn cli_c(node: &Node, lines: &[String]) -> Vec<String> {
    let args = vec!["-c".to_string(), "-p".to_string(), node.port.to_string()];
    let input = lines.join("\n") + "\n";
    let out = redis_cli(&args, input.as_bytes(), Duration::from_secs(300));
    assert!(out.success, "redis-cli -c failed: {}", out.stderr);
    // Without a terminal redis-cli still prints "-> Redirected to slot ..." before a redirected reply.
    out.stdout
        .lines()
        .filter(|l| !l.starts_with("-> Redirected"))
        .map(str::to_string)
        .collect()
}

/// Writes `key:{i}` = `value:{i}` for `range` through `redis-cli -c`.
pub fn write_keys(node: &Node, tag: &str, range: std::ops::Range<usize>) {
    let lines: Vec<String> = range
        .clone()
        .map(|i| format!("SET {tag}:{i} value:{i}"))
        .collect();
    let out = cli_c(node, &lines);
    let oks = out.iter().filter(|l| l.as_str() == "OK").count();
    assert_eq!(oks, range.len(), "writes through redis-cli -c: {out:?}");
}

/// Reads back `key:{i}` for `range` through `redis-cli -c`; the indices whose value is wrong or missing.
pub fn missing_keys(node: &Node, tag: &str, range: std::ops::Range<usize>) -> Vec<usize> {
    let lines: Vec<String> = range.clone().map(|i| format!("GET {tag}:{i}")).collect();
    let out = cli_c(node, &lines);
    range
        .enumerate()
        .filter(|(n, i)| out.get(*n).map(String::as_str) != Some(format!("value:{i}").as_str()))
        .map(|(_, i)| i)
        .collect()
}

/// Total keys over `masters` (DBSIZE of each).
pub fn total_keys(masters: &[&Node]) -> usize {
    masters
        .iter()
        .map(|n| n.cli(&["dbsize"]).parse::<usize>().unwrap_or(0))
        .sum()
}

/// `redis-cli --cluster reshard` of `slots` slots from `from` to `to` (through `via`).
pub fn reshard(via: &Node, from: &Node, to: &Node, slots: usize) {
    let args = vec![
        via.addr(),
        "--cluster-from".into(),
        from.id(),
        "--cluster-to".into(),
        to.id(),
        "--cluster-slots".into(),
        slots.to_string(),
    ];
    cluster_tool("reshard", &args);
}

/// The master `replica` replicates (its CLUSTER NODES line's master id).
pub fn master_of(replica: &Node) -> Option<String> {
    let nodes = replica.cli(&["cluster", "nodes"]);
    let line = nodes.lines().find(|l| l.contains("myself"))?;
    let fields: Vec<&str> = line.split(' ').collect();
    (fields.get(3)? != &"-").then(|| fields[3].to_string())
}

/// Of `nodes`, those that are masters (by their own CLUSTER NODES line).
pub fn masters<'a>(nodes: &[&'a Node]) -> Vec<&'a Node> {
    nodes.iter().copied().filter(|n| n.is_master()).collect()
}

/// The node of `nodes` that replicates `master`.
pub fn replica_of<'a>(nodes: &[&'a Node], master: &Node) -> Option<&'a Node> {
    let id = master.id();
    nodes
        .iter()
        .copied()
        .find(|n| master_of(n).as_deref() == Some(id.as_str()))
}

/// A key that hashes to a slot `node` serves, `tag`-prefixed, numbered from `from`.
pub fn key_on(node: &Node, tag: &str, from: usize) -> (String, usize) {
    let slots = served_slots(node);
    (from..)
        .map(|i| (format!("{tag}:{i}"), i))
        .find(|(k, _)| slots.contains(&zedis_cluster::key_hash_slot(k.as_bytes())))
        .unwrap_or_default()
}

/// The slots `node` serves (its CLUSTER NODES line).
pub fn served_slots(node: &Node) -> std::collections::HashSet<u16> {
    let nodes = node.cli(&["cluster", "nodes"]);
    let mut slots = std::collections::HashSet::new();
    if let Some(line) = nodes.lines().find(|l| l.contains("myself")) {
        for field in line.split(' ').skip(8) {
            if field.starts_with('[') {
                continue;
            }
            let (a, b) = field.split_once('-').unwrap_or((field, field));
            if let (Ok(a), Ok(b)) = (a.parse::<u16>(), b.parse::<u16>()) {
                slots.extend(a..=b);
            }
        }
    }
    slots
}

/// Writes `tag:{i}` keys that hash to `master`'s slots, each followed by `WAIT 1 2000`, until `stop` is set
/// or the master stops answering (killed, or no longer the slots' owner after a failover). Returns the keys
/// whose WAIT said a replica has them (acknowledged writes).
pub fn acked_writer(
    master: &Node,
    tag: &'static str,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<Vec<String>> {
    let slots = served_slots(master);
    let port = master.port;
    std::thread::spawn(move || {
        let mut acked = Vec::new();
        let Ok(client) = redis::Client::open(format!("redis://127.0.0.1:{port}/")) else {
            return acked;
        };
        let Ok(mut con) = client.get_connection() else {
            return acked;
        };
        let _ = con.set_read_timeout(Some(Duration::from_secs(10)));
        let mut i = 0usize;
        while !stop.load(std::sync::atomic::Ordering::SeqCst) {
            i += 1;
            let key = format!("{tag}:{i}");
            if !slots.contains(&zedis_cluster::key_hash_slot(key.as_bytes())) {
                continue;
            }
            let set: redis::RedisResult<()> = redis::cmd("SET").arg(&key).arg(i).query(&mut con);
            if set.is_err() {
                break;
            }
            let replicas: redis::RedisResult<i64> =
                redis::cmd("WAIT").arg(1).arg(2000).query(&mut con);
            match replicas {
                Ok(n) if n >= 1 => acked.push(key),
                Ok(_) => {}
                Err(_) => break,
            }
        }
        acked
    })
}

/// The keys of `keys` that `node` (a master now serving their slots) does not hold, asked directly.
pub fn absent_on(node: &Node, keys: &[String]) -> Vec<String> {
    let mut lines: Vec<String> = keys.iter().map(|k| format!("EXISTS {k}")).collect();
    lines.push("PING".into());
    let args = vec!["-p".to_string(), node.port.to_string()];
    let input = lines.join("\n") + "\n";
    let out = redis_cli(&args, input.as_bytes(), Duration::from_secs(120));
    let replies: Vec<&str> = out.stdout.lines().collect();
    keys.iter()
        .enumerate()
        .filter(|(i, _)| replies.get(*i) != Some(&"1"))
        .map(|(_, k)| k.clone())
        .collect()
}
