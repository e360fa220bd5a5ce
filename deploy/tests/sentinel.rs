//! Redis Sentinel 7.0 (three real sentinel processes) managing a master and a replica, on Zedis and on
//! redis-server with the same setup: writes flow, each acknowledged with `WAIT 1`; the master is killed
//! with SIGKILL; the sentinels promote the replica; every acknowledged write is on it; the old master,
//! restarted as a plain master, is turned into a replica of the new one. The failover time (kill to the
//! sentinels naming the new master) is printed for both, side by side; speed is never asserted.
//!
//! redis-py's `Sentinel` client (when a Python with redis-py is found, as for the server's real-client
//! tests) must then find the new master through the sentinels and write to it.
//!
//! Needs `redis-sentinel` (Debian package `redis-sentinel`) or `redis-server` (run with `--sentinel`, the
//! same program), and `target/debug/zedis-server` (built here with `cargo build -p zedis-server` when
//! missing).

mod common;

use common::{free_port, have, wait_until, Proc};
use redis::{Connection, RedisResult};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const MASTER_NAME: &str = "mymaster";
const DOWN_AFTER_MS: u64 = 2000;

/// The server under test: its program and the arguments before the common ones.
#[derive(Clone)]
struct Flavor {
    name: &'static str,
    program: PathBuf,
}

fn zedis_server() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let target = exe.parent()?.parent()?.to_path_buf();
    let bin = target.join("zedis-server");
    if !bin.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
        let status = std::process::Command::new(cargo)
            .args(["build", "-p", "zedis-server"])
            .status()
            .ok()?;
        if !status.success() {
            return None;
        }
    }
    bin.exists().then_some(bin)
}

fn connect(port: u16) -> RedisResult<Connection> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/"))?;
    let con = client.get_connection_with_timeout(Duration::from_secs(5))?;
    con.set_read_timeout(Some(Duration::from_secs(10)))?;
    Ok(con)
}

fn info_field(port: u16, section: &str, field: &str) -> Option<String> {
    let mut con = connect(port).ok()?;
    let text: String = redis::cmd("INFO").arg(section).query(&mut con).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .map(|v| v.trim().to_string())
}

fn start_server(flavor: &Flavor, port: u16, dir: &Path, replica_of: Option<u16>) -> Option<Proc> {
    let mut args: Vec<String> = [
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        &dir.to_string_lossy(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if let Some(master) = replica_of {
        args.extend(["--replicaof".to_string(), format!("127.0.0.1 {master}")]);
    }
    let log = dir.join(format!("server-{port}.log"));
    Proc::spawn_logged(
        &flavor.program.to_string_lossy(),
        &args,
        port,
        dir,
        Some(&log),
    )
}

fn start_sentinel(port: u16, master_port: u16, dir: &Path) -> Option<Proc> {
    let conf = dir.join(format!("sentinel-{port}.conf"));
    std::fs::write(
        &conf,
        format!(
            "port {port}\nbind 127.0.0.1\ndir {}\nlogfile {}\n\
             sentinel monitor {MASTER_NAME} 127.0.0.1 {master_port} 2\n\
             sentinel down-after-milliseconds {MASTER_NAME} {DOWN_AFTER_MS}\n\
             sentinel failover-timeout {MASTER_NAME} 20000\n\
             sentinel parallel-syncs {MASTER_NAME} 1\n",
            dir.display(),
            dir.join(format!("sentinel-{port}.log")).display(),
        ),
    )
    .ok()?;
    let conf = conf.to_string_lossy().into_owned();
    if have("redis-sentinel") {
        Proc::spawn("redis-sentinel", &[conf], port, dir)
    } else {
        Proc::spawn("redis-server", &[conf, "--sentinel".to_string()], port, dir)
    }
}

/// `SENTINEL MASTER mymaster` as a map.
fn sentinel_master(port: u16) -> Option<std::collections::HashMap<String, String>> {
    let mut con = connect(port).ok()?;
    let flat: Vec<String> = redis::cmd("SENTINEL")
        .arg("MASTER")
        .arg(MASTER_NAME)
        .query(&mut con)
        .ok()?;
    Some(
        flat.chunks(2)
            .map(|kv| (kv[0].clone(), kv.get(1).cloned().unwrap_or_default()))
            .collect(),
    )
}

fn master_port_by_name(port: u16) -> Option<u16> {
    let mut con = connect(port).ok()?;
    let addr: Vec<String> = redis::cmd("SENTINEL")
        .arg("GET-MASTER-ADDR-BY-NAME")
        .arg(MASTER_NAME)
        .query(&mut con)
        .ok()?;
    addr.get(1)?.parse().ok()
}

/// Writes `SET k:i i` then `WAIT 1 2000` until the connection fails or `stop`; returns the acknowledged i.
fn writer(port: u16, acked: Arc<Mutex<Vec<u64>>>, stop: Arc<AtomicBool>) {
    let Ok(mut con) = connect(port) else { return };
    for i in 0u64.. {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let set: RedisResult<()> = redis::cmd("SET")
            .arg(format!("k:{i}"))
            .arg(i)
            .query(&mut con);
        if set.is_err() {
            return;
        }
        match redis::cmd("WAIT").arg(1).arg(2000).query::<i64>(&mut con) {
            Ok(n) if n >= 1 => acked.lock().unwrap().push(i),
            Ok(_) => {}
            Err(_) => return,
        }
    }
}

/// redis-py's `Sentinel` client, given the three sentinels, finds the promoted master and writes to it.
/// Skipped (Ok) when no Python with redis-py is available.
fn redis_py_follows(sentinel_ports: &[u16], master_port: u16) -> Result<(), String> {
    let Some(python) = common::python_with_redis() else {
        eprintln!("redis-py missing: its Sentinel client check skipped");
        return Ok(());
    };
    let script = format!(
        "from redis.sentinel import Sentinel\n\
         s = Sentinel([{}], socket_timeout=5)\n\
         print(s.discover_master('{MASTER_NAME}')[1])\n\
         m = s.master_for('{MASTER_NAME}', socket_timeout=5)\n\
         m.set('written-by', 'redis-py')\n\
         print(m.get('written-by').decode())\n",
        sentinel_ports
            .iter()
            .map(|p| format!("('127.0.0.1', {p})"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let out = std::process::Command::new(python)
        .args(["-c", &script])
        .output()
        .map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if stdout != format!("{master_port}\nredis-py\n") {
        return Err(format!(
            "redis-py Sentinel: {stdout:?} {:?}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}

/// The outcome of one failover run, or what went wrong.
fn failover_run(flavor: &Flavor) -> Result<Duration, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let result = failover_steps(flavor, dir.path());
    if result.is_err() {
        // Keep the logs and configs of a failed run, and show the ends of the logs.
        let kept = dir.keep();
        let mut tails = String::new();
        for entry in std::fs::read_dir(&kept).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "log") {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                let lines: Vec<&str> = text.lines().collect();
                let tail = lines[lines.len().saturating_sub(15)..].join("\n");
                tails.push_str(&format!("\n--- {}\n{tail}", path.display()));
            }
        }
        return result.map_err(|e| format!("{e}{tails}"));
    }
    result
}

/// A master, its linked replica and three sentinels that discovered both and each other.
struct Deployment {
    master: Proc,
    _replica: Proc,
    _sentinels: Vec<Proc>,
    master_port: u16,
    replica_port: u16,
    sentinel_ports: [u16; 3],
}

fn deploy(flavor: &Flavor, dir: &Path) -> Result<Deployment, String> {
    let (master_port, replica_port) = (free_port(), free_port());
    let master = start_server(flavor, master_port, dir, None)
        .ok_or(format!("{}: master did not start", flavor.name))?;
    let replica = start_server(flavor, replica_port, dir, Some(master_port))
        .ok_or(format!("{}: replica did not start", flavor.name))?;
    let linked = wait_until(Duration::from_secs(30), || {
        info_field(replica_port, "replication", "master_link_status").as_deref() == Some("up")
    });
    if !linked {
        return Err(format!("{}: replica never linked", flavor.name));
    }
    let sentinel_ports = [free_port(), free_port(), free_port()];
    let mut sentinels = Vec::new();
    for port in sentinel_ports {
        sentinels.push(start_sentinel(port, master_port, dir).ok_or("sentinel did not start")?);
    }
    // Discovery: each sentinel sees the replica (INFO) and the two others (hello channel).
    let discovered = wait_until(Duration::from_secs(60), || {
        sentinel_ports.iter().all(|&p| {
            sentinel_master(p).is_some_and(|m| {
                m.get("num-slaves").map(String::as_str) == Some("1")
                    && m.get("num-other-sentinels").map(String::as_str) == Some("2")
            })
        })
    });
    if !discovered {
        return Err(format!(
            "{}: sentinels did not discover the replica and each other: {:?}",
            flavor.name,
            sentinel_master(sentinel_ports[0])
        ));
    }
    Ok(Deployment {
        master,
        _replica: replica,
        _sentinels: sentinels,
        master_port,
        replica_port,
        sentinel_ports,
    })
}

fn failover_steps(flavor: &Flavor, dir: &Path) -> Result<Duration, String> {
    let mut deployment = deploy(flavor, dir)?;
    let (master_port, replica_port, sentinel_ports) = (
        deployment.master_port,
        deployment.replica_port,
        deployment.sentinel_ports,
    );
    // Writes under way, then kill -9.
    let acked = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let handle = {
        let (acked, stop) = (acked.clone(), stop.clone());
        std::thread::spawn(move || writer(master_port, acked, stop))
    };
    let flowing = wait_until(Duration::from_secs(60), || {
        acked.lock().unwrap().len() >= 200
    });
    if !flowing {
        stop.store(true, Ordering::Relaxed);
        let _ = handle.join();
        return Err(format!(
            "{}: WAIT 1 did not acknowledge writes",
            flavor.name
        ));
    }
    deployment.master.kill9();
    let killed_at = Instant::now();
    stop.store(true, Ordering::Relaxed);
    let _ = handle.join();
    let acked = acked.lock().unwrap().clone();
    let promoted = wait_until(Duration::from_secs(90), || {
        sentinel_ports
            .iter()
            .all(|&p| master_port_by_name(p) == Some(replica_port))
    });
    let failover = killed_at.elapsed();
    if !promoted {
        return Err(format!(
            "{}: no failover within 90 s: {:?}",
            flavor.name,
            sentinel_master(sentinel_ports[0])
        ));
    }
    let role = info_field(replica_port, "replication", "role");
    if role.as_deref() != Some("master") {
        return Err(format!(
            "{}: promoted replica reports role {role:?}",
            flavor.name
        ));
    }
    // Every acknowledged write survived.
    let mut con = connect(replica_port).map_err(|e| e.to_string())?;
    for &i in &acked {
        let value: Option<u64> = redis::cmd("GET")
            .arg(format!("k:{i}"))
            .query(&mut con)
            .map_err(|e| e.to_string())?;
        if value != Some(i) {
            return Err(format!("{}: acknowledged k:{i} is {value:?}", flavor.name));
        }
    }
    redis_py_follows(&sentinel_ports, replica_port).map_err(|e| format!("{}: {e}", flavor.name))?;
    // The old master comes back (empty, as a master) and is turned into a replica of the new one.
    let _old = start_server(flavor, master_port, dir, None)
        .ok_or(format!("{}: old master did not restart", flavor.name))?;
    let rejoined = wait_until(Duration::from_secs(90), || {
        info_field(master_port, "replication", "role").as_deref() == Some("slave")
            && info_field(master_port, "replication", "master_port")
                == Some(replica_port.to_string())
            && info_field(master_port, "replication", "master_link_status").as_deref() == Some("up")
    });
    if !rejoined {
        return Err(format!(
            "{}: old master did not rejoin as a replica: role {:?}",
            flavor.name,
            info_field(master_port, "replication", "role")
        ));
    }
    let mut old = connect(master_port).map_err(|e| e.to_string())?;
    let last = *acked.last().unwrap_or(&0);
    let value: Option<u64> = redis::cmd("GET")
        .arg(format!("k:{last}"))
        .query(&mut old)
        .map_err(|e| e.to_string())?;
    if value != Some(last) {
        return Err(format!(
            "{}: rejoined old master lacks k:{last}",
            flavor.name
        ));
    }
    eprintln!(
        "{}: {} writes acknowledged with WAIT 1 before the kill, all present after the failover",
        flavor.name,
        acked.len()
    );
    drop(deployment);
    Ok(failover)
}

#[test]
fn sentinel_fails_over_zedis_and_redis_server_side_by_side() {
    if !have("redis-server") {
        eprintln!("redis-server missing: skipped");
        return;
    }
    let Some(zedis) = zedis_server() else {
        panic!("target/debug/zedis-server could not be built");
    };
    let redis = failover_run(&Flavor {
        name: "redis-server",
        program: PathBuf::from("redis-server"),
    });
    let zedis = failover_run(&Flavor {
        name: "zedis-server",
        program: zedis,
    });
    let show = |r: &Result<Duration, String>| match r {
        Ok(d) => format!("{} ms", d.as_millis()),
        Err(e) => format!("failed: {e}"),
    };
    eprintln!(
        "failover time (SIGKILL of the master to all 3 sentinels naming the replica; down-after {DOWN_AFTER_MS} ms):\n  redis-server: {}\n  zedis-server: {}",
        show(&redis),
        show(&zedis)
    );
    redis.expect("the reference setup on redis-server");
    zedis.expect("the same setup on zedis-server");
}

#[test]
fn sentinel_manual_failover_of_zedis() {
    let Some(zedis) = zedis_server() else {
        panic!("target/debug/zedis-server could not be built");
    };
    let flavor = Flavor {
        name: "zedis-server",
        program: zedis,
    };
    let dir = tempfile::tempdir().unwrap();
    let deployment = deploy(&flavor, dir.path()).unwrap();
    let (master_port, replica_port) = (deployment.master_port, deployment.replica_port);
    let mut master = connect(master_port).unwrap();
    let _: () = redis::cmd("SET")
        .arg("before")
        .arg("failover")
        .query(&mut master)
        .unwrap();
    let acked: i64 = redis::cmd("WAIT")
        .arg(1)
        .arg(5000)
        .query(&mut master)
        .unwrap();
    assert_eq!(acked, 1);
    // SENTINEL FAILOVER: no agreement needed; the master is alive and must end up a replica.
    let mut sentinel = connect(deployment.sentinel_ports[0]).unwrap();
    let reply: String = redis::cmd("SENTINEL")
        .arg("FAILOVER")
        .arg(MASTER_NAME)
        .query(&mut sentinel)
        .unwrap();
    assert_eq!(reply, "OK");
    assert!(wait_until(Duration::from_secs(60), || deployment
        .sentinel_ports
        .iter()
        .all(|&p| master_port_by_name(p) == Some(replica_port))));
    assert_eq!(
        info_field(replica_port, "replication", "role").as_deref(),
        Some("master")
    );
    // The old master is reconfigured by the sentinels (+convert-to-slave) and follows the new one.
    assert!(wait_until(Duration::from_secs(60), || {
        info_field(master_port, "replication", "role").as_deref() == Some("slave")
            && info_field(master_port, "replication", "master_port")
                == Some(replica_port.to_string())
            && info_field(master_port, "replication", "master_link_status").as_deref() == Some("up")
    }));
    let mut new_master = connect(replica_port).unwrap();
    let _: () = redis::cmd("SET")
        .arg("after")
        .arg("failover")
        .query(&mut new_master)
        .unwrap();
    let acked: i64 = redis::cmd("WAIT")
        .arg(1)
        .arg(5000)
        .query(&mut new_master)
        .unwrap();
    assert_eq!(acked, 1);
    let mut old_master = connect(master_port).unwrap();
    for key in ["before", "after"] {
        let value: Option<String> = redis::cmd("GET").arg(key).query(&mut old_master).unwrap();
        assert_eq!(value.as_deref(), Some("failover"), "{key}");
    }
}

/// The `runid` a single sentinel learned from the master's `INFO` (`run_id:<40 hex>`), after it connected.
fn learned_runid(flavor: &Flavor) -> Result<String, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let master_port = free_port();
    let _master =
        start_server(flavor, master_port, dir.path(), None).ok_or("master did not start")?;
    let sentinel_port = free_port();
    let _sentinel =
        start_sentinel(sentinel_port, master_port, dir.path()).ok_or("sentinel did not start")?;
    // The sentinel refreshes INFO every 10 s. Its `info-refresh` is 0 until the first INFO reply (Sentinel
    // prints 0 for "never"), so a positive value below 10000 means it has read one.
    let refreshed = wait_until(Duration::from_secs(30), || {
        sentinel_master(sentinel_port).is_some_and(|m| {
            m.get("info-refresh")
                .and_then(|v| v.parse::<u64>().ok())
                .is_some_and(|ms| ms > 0 && ms < 10_000)
                && m.get("role-reported").map(String::as_str) == Some("master")
        })
    });
    if !refreshed {
        return Err("the sentinel never read INFO".to_string());
    }
    Ok(sentinel_master(sentinel_port)
        .and_then(|m| m.get("runid").cloned())
        .unwrap_or_default())
}

#[test]
fn sentinel_learns_the_run_id_of_zedis_as_of_redis_server() {
    let Some(zedis) = zedis_server() else {
        panic!("target/debug/zedis-server could not be built");
    };
    let hex40 = |s: &str| s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit());
    let redis = learned_runid(&Flavor {
        name: "redis-server",
        program: PathBuf::from("redis-server"),
    })
    .unwrap();
    assert!(hex40(&redis), "redis-server runid {redis:?}");
    let zedis = learned_runid(&Flavor {
        name: "zedis-server",
        program: zedis,
    })
    .unwrap();
    assert!(hex40(&zedis), "zedis-server runid {zedis:?}");
}
