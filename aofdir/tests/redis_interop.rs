//! The AOF directory against a real redis-server 7.0 and redis-check-aof: we read what Redis writes, Redis
//! reads what we write, and the single-file upgrade ends in a directory Redis loads.

use std::fs;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use zedis_aofdir::{AofDir, Manifest};

/// A redis-server in its own temporary directory, killed by PID on drop.
struct Redis {
    child: Child,
    port: u16,
}

impl Redis {
    fn start(dir: &Path) -> Option<Redis> {
        let port = TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
            ])
            .args(["--appendonly", "yes", "--dir", &dir.to_string_lossy()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let mut redis = Redis { child, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() && redis.cli(&["PING"]) == "PONG" {
                return Some(redis);
            }
            if let Ok(Some(_)) = redis.child.try_wait() {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    fn cli(&self, args: &[&str]) -> String {
        let out = Command::new("redis-cli")
            .args(["-p", &self.port.to_string()])
            .args(args)
            .output()
            .expect("redis-cli");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    fn wait_for(&self, what: &str, mut ok: impl FnMut(&Redis) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if ok(self) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("timed out waiting for {what}");
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("zedis-aofdir-{tag}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn have_redis() -> bool {
    let ok = Command::new("redis-server")
        .arg("--version")
        .output()
        .is_ok();
    if !ok {
        eprintln!("redis-server unavailable: skipped");
    }
    ok
}

fn resp(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
    }
    out
}

#[test]
fn reads_the_directory_redis_writes() {
    if !have_redis() {
        return;
    }
    let root = temp_dir("read");
    let redis = Redis::start(&root).expect("redis-server starts");
    redis.cli(&["SET", "a", "1"]);
    redis.cli(&["BGREWRITEAOF"]);
    redis.wait_for("the rewrite", |r| {
        r.cli(&["INFO", "persistence"])
            .contains("aof_rewrite_in_progress:0")
            && fs::read(root.join("appendonlydir/appendonly.aof.manifest"))
                .is_ok_and(|m| String::from_utf8_lossy(&m).contains("seq 2 type b"))
    });
    redis.cli(&["SET", "b", "2"]);
    drop(redis);

    let dir = AofDir::new(&root, "appendonlydir", "appendonly.aof");
    let manifest = dir.load_manifest().unwrap();
    let on_disk = fs::read(dir.manifest_path()).unwrap();
    assert_eq!(
        manifest.to_bytes(),
        on_disk,
        "we write back the bytes Redis wrote"
    );
    let files = dir.load_files(&manifest).unwrap();
    assert_eq!(files.len(), 2, "{files:?}");
    assert!(files[0].is_base && files[0].path.ends_with("appendonly.aof.2.base.rdb"));
    assert!(fs::read(&files[0].path).unwrap().starts_with(b"REDIS"));
    assert!(!files[1].is_base && files[1].path.ends_with("appendonly.aof.2.incr.aof"));
    let incr = fs::read(&files[1].path).unwrap();
    assert!(incr
        .windows(resp(&["SET", "b", "2"]).len())
        .any(|w| w == resp(&["SET", "b", "2"])));
    let _ = fs::remove_dir_all(&root);
}

#[test]
fn redis_loads_the_directory_we_write() {
    if !have_redis() {
        return;
    }
    let root = temp_dir("write");
    let dir = AofDir::new(&root, "appendonlydir", "appendonly.aof");
    let mut manifest = Manifest::new();
    // An old base, made history by the next rewrite: it must not be replayed.
    let old = manifest.new_base("appendonly.aof", false);
    fs::create_dir_all(dir.path()).unwrap();
    fs::write(dir.file(&old), resp(&["SET", "stale", "x"])).unwrap();
    let base = manifest.new_base("appendonly.aof", false);
    fs::write(
        dir.file(&base),
        [resp(&["SELECT", "0"]), resp(&["SET", "k", "base"])].concat(),
    )
    .unwrap();
    let incr = manifest.last_incr_or_new("appendonly.aof");
    let mut file = dir.open_for_append(&incr).unwrap();
    std::io::Write::write_all(
        &mut file,
        &[resp(&["SET", "k", "incr"]), resp(&["RPUSH", "l", "x"])].concat(),
    )
    .unwrap();
    drop(file);
    dir.persist(&mut manifest).unwrap();
    assert!(!manifest.is_dirty());

    let check = Command::new("redis-check-aof")
        .arg(dir.manifest_path())
        .output()
        .expect("redis-check-aof");
    let text = String::from_utf8_lossy(&check.stdout);
    assert!(
        check.status.success() && text.contains("is valid"),
        "{text}"
    );

    let redis = Redis::start(&root).expect("redis-server loads our directory");
    assert_eq!(redis.cli(&["GET", "k"]), "incr");
    assert_eq!(redis.cli(&["LLEN", "l"]), "1");
    assert_eq!(redis.cli(&["EXISTS", "stale"]), "0");
    drop(redis);

    // Redis kept our files and only appended: the manifest still parses and lists our incr last.
    let after = dir.load_manifest().unwrap();
    assert_eq!(after.base().unwrap().name_lossy(), base);
    assert_eq!(after.incrs().last().unwrap().name_lossy(), incr);
    let gone = dir.delete_history(&mut manifest).unwrap();
    assert_eq!(gone.len(), 1);
    assert!(!dir.file(&old).exists());
    let _ = fs::remove_dir_all(&root);
}

#[test]
fn a_single_file_aof_is_upgraded_into_a_directory_redis_loads() {
    if !have_redis() {
        return;
    }
    let root = temp_dir("upgrade");
    fs::write(root.join("appendonly.aof"), resp(&["SET", "old", "style"])).unwrap();
    let dir = AofDir::new(&root, "appendonlydir", "appendonly.aof");
    let mut manifest = dir.load_manifest().unwrap();
    assert!(manifest.is_empty());
    assert!(dir.upgrade_if_needed(&mut manifest).unwrap());
    assert!(!root.join("appendonly.aof").exists());
    assert_eq!(
        fs::read_to_string(dir.manifest_path()).unwrap(),
        "file appendonly.aof seq 1 type b\n"
    );
    assert!(
        !dir.upgrade_if_needed(&mut manifest).unwrap(),
        "nothing left to upgrade"
    );
    let files = dir.load_files(&manifest).unwrap();
    assert_eq!(files.len(), 1);

    let redis = Redis::start(&root).expect("redis-server loads the upgraded directory");
    assert_eq!(redis.cli(&["GET", "old"]), "style");
    drop(redis);
    let _ = fs::remove_dir_all(&root);
}

#[test]
fn a_missing_listed_file_and_a_corrupt_manifest_are_refused_with_where() {
    let root = temp_dir("refuse");
    let dir = AofDir::new(&root, "appendonlydir", "appendonly.aof");
    let mut manifest = Manifest::new();
    manifest.new_incr("appendonly.aof");
    dir.persist(&mut manifest).unwrap();
    let err = dir.load_files(&manifest).unwrap_err().to_string();
    assert!(
        err.contains("appendonly.aof.1.incr.aof") && err.contains("does not exist"),
        "{err}"
    );
    fs::write(
        dir.manifest_path(),
        "file a seq 1 type b\nfile a seq 1 type q\n",
    )
    .unwrap();
    let err = dir.load_manifest().unwrap_err().to_string();
    assert!(
        err.contains("at line 2") && err.contains("Unknown AOF file type"),
        "{err}"
    );
    let _ = fs::remove_dir_all(&root);
}
