//! The AOF directory against a real redis-server 7.0 and redis-check-aof: we read what Redis writes, Redis
//! reads what we write, and the single-file upgrade ends in a directory Redis loads.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use zedis_aofdir::{AofDir, Manifest};
use zedis_testkit::{args, free_port, have, wait_until, Proc, TempDir};

/// A redis-server with `appendonly yes` on `dir`, killed by PID on drop.
struct Redis(Proc);

impl Redis {
    fn start(dir: &Path) -> Option<Redis> {
        let port = free_port();
        let argv = args(&[
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
        ]);
        let argv = [
            argv,
            args(&["--appendonly", "yes", "--dir", &dir.to_string_lossy()]),
        ]
        .concat();
        let redis = Redis(Proc::spawn("redis-server", &argv, port, dir)?);
        // PONG comes once the AOF is loaded (a LOADING error before).
        wait_until(Duration::from_secs(30), || redis.cli(&["PING"]) == "PONG").then_some(redis)
    }

    fn cli(&self, args: &[&str]) -> String {
        let out = Command::new("redis-cli")
            .args(["-p", &self.0.port.to_string()])
            .args(args)
            .output()
            .expect("redis-cli");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    fn wait_for(&self, what: &str, ok: impl FnMut() -> bool) {
        assert!(
            wait_until(Duration::from_secs(60), ok),
            "timed out waiting for {what}"
        );
    }
}

fn have_redis() -> bool {
    let ok = have("redis-server") && have("redis-cli");
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
    let tmp = TempDir::new("aofdir-read");
    let root = tmp.path();
    let redis = Redis::start(root).expect("redis-server starts");
    redis.cli(&["SET", "a", "1"]);
    redis.cli(&["BGREWRITEAOF"]);
    redis.wait_for("the rewrite", || {
        redis
            .cli(&["INFO", "persistence"])
            .contains("aof_rewrite_in_progress:0")
            && fs::read(root.join("appendonlydir/appendonly.aof.manifest"))
                .is_ok_and(|m| String::from_utf8_lossy(&m).contains("seq 2 type b"))
    });
    redis.cli(&["SET", "b", "2"]);
    drop(redis);

    let dir = AofDir::new(root, "appendonlydir", "appendonly.aof");
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
}

#[test]
fn redis_loads_the_directory_we_write() {
    if !have_redis() {
        return;
    }
    let tmp = TempDir::new("aofdir-write");
    let root = tmp.path();
    let dir = AofDir::new(root, "appendonlydir", "appendonly.aof");
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

    let redis = Redis::start(root).expect("redis-server loads our directory");
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
}

#[test]
fn a_single_file_aof_is_upgraded_into_a_directory_redis_loads() {
    if !have_redis() {
        return;
    }
    let tmp = TempDir::new("aofdir-upgrade");
    let root = tmp.path();
    fs::write(root.join("appendonly.aof"), resp(&["SET", "old", "style"])).unwrap();
    let dir = AofDir::new(root, "appendonlydir", "appendonly.aof");
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

    let redis = Redis::start(root).expect("redis-server loads the upgraded directory");
    assert_eq!(redis.cli(&["GET", "old"]), "style");
    drop(redis);
}

#[test]
fn a_missing_listed_file_and_a_corrupt_manifest_are_refused_with_where() {
    let tmp = TempDir::new("aofdir-refuse");
    let root = tmp.path();
    let dir = AofDir::new(root, "appendonlydir", "appendonly.aof");
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
}
