//! DEBUG RELOAD (MERGE, NOFLUSH, NOSAVE) and DEBUG LOADAOF side by side with redis-server 7.0.15 (both with
//! `--enable-debug-command yes`, each in its own temporary directory), and the forks counted in INFO stats.

mod common;

use common::side_by_side::{info_field, Pair};
use std::io::Write;
use std::time::Duration;
use zedis_resp::Frame;
use zedis_testkit::{wait_until, RespClient};

/// Redis and Zedis with `--enable-debug-command yes` and `args`, each with `--dir` a fresh directory, and
/// a client of each: (pair, Redis's, Zedis's).
fn pair(args: &[&str]) -> Option<(Pair, RespClient, RespClient)> {
    let pair = Pair::start_in_dirs(&[&["--enable-debug-command", "yes"], args].concat())?;
    let (r, z) = pair.clients();
    Some((pair, r, z))
}

/// Waits (30 s) until INFO persistence has each `(field, value)` of `want`.
fn persistence_reaches(c: &mut RespClient, want: &[(&str, &str)]) -> bool {
    wait_until(Duration::from_secs(30), || {
        want.iter()
            .all(|(name, value)| info_field(c, "persistence", name) == *value)
    })
}

/// Runs `lines` on both servers and asserts each reply is the same.
fn same(r: &mut RespClient, z: &mut RespClient, lines: &[&str]) {
    for line in lines {
        let (want, got) = (r.line(line), z.line(line));
        assert_eq!(got, want, "{line}");
    }
}

fn ok(c: &mut RespClient, line: &str) {
    assert_eq!(c.line(line), Frame::Simple(b"OK".to_vec()), "{line}");
}

#[test]
fn reload_merge_replaces_present_keys_and_keeps_the_others_as_redis() {
    let Some((_servers, mut r, mut z)) = pair(&[]) else {
        return;
    };
    same(
        &mut r,
        &mut z,
        &[
            "FLUSHALL",
            "SET a from-file",
            "RPUSH l x y z",
            "HSET h f v",
            "SET ttl v EX 1000",
            "SAVE",
            // In memory only, or changed since the save.
            "SET a in-memory",
            "SET c only-in-memory",
            "DEL l",
            "RPUSH l replaced",
            "DEBUG RELOAD NOSAVE NOFLUSH MERGE",
            "MGET a c",
            "LRANGE l 0 -1",
            "HGETALL h",
            "DBSIZE",
            "TYPE ttl",
        ],
    );
    // TTLs come back from the file.
    for c in [&mut r, &mut z] {
        let Frame::Integer(ttl) = c.line("TTL ttl") else {
            panic!("TTL")
        };
        assert!((900..=1000).contains(&ttl), "{ttl}");
    }
    // Without MERGE a plain reload flushes first: the file alone is the dataset.
    same(
        &mut r,
        &mut z,
        &[
            "SET c again",
            "DEBUG RELOAD NOSAVE",
            "MGET a c",
            "DBSIZE",
            "DEBUG RELOAD",
            "DBSIZE",
            "DEBUG RELOAD NOSAVE NOFLUSH MERGE",
            "DBSIZE",
            "DEBUG RELOAD MERGE",
            "DBSIZE",
            "DEBUG RELOAD bogus",
        ],
    );
}

/// INFO persistence's `rdb_last_load_keys_loaded` and `_expired`.
fn last_load(c: &mut RespClient) -> (String, String) {
    (
        info_field(c, "persistence", "rdb_last_load_keys_loaded"),
        info_field(c, "persistence", "rdb_last_load_keys_expired"),
    )
}

/// MERGE across types (a string replacing a list and the other way round, integers, a string too large
/// for a segment), databases and TTLs; the file's expired keys are skipped before any duplicate check, so
/// even NOFLUSH without MERGE loads a file whose only clash is an expired key. Under `ZEDIS_TEST_ARGS=
/// "--kv-allocator segment"` the merged strings go to the segment store.
#[test]
fn reload_merge_across_types_databases_and_expiry_as_redis() {
    let Some((_servers, mut r, mut z)) = pair(&[]) else {
        return;
    };
    let big = "b".repeat(3 << 20);
    for c in [&mut r, &mut z] {
        assert_eq!(c.cmd(&["SET", "big", &big]), Frame::Simple(b"OK".to_vec()));
    }
    same(
        &mut r,
        &mut z,
        &[
            "FLUSHALL",
            "SET s2l string-in-file",
            "RPUSH l2s a b",
            "SET n 42",
            "SET gone soon PX 300",
            "SELECT 1",
            "SADD set1 3 1 2",
            "SET other-db 7 EX 5000",
            "SELECT 0",
            "SAVE",
            "DEL s2l l2s n",
            "RPUSH s2l in memory",
            "SET l2s 12345",
            "SET n 43",
            "SET gone stays",
            "SET extra memory-only",
        ],
    );
    for c in [&mut r, &mut z] {
        assert_eq!(
            c.cmd(&["SET", "big", "small now"]),
            Frame::Simple(b"OK".to_vec())
        );
    }
    std::thread::sleep(Duration::from_millis(800));
    same(
        &mut r,
        &mut z,
        &[
            "DEBUG RELOAD NOSAVE NOFLUSH MERGE",
            "TYPE s2l",
            "GET s2l",
            "TYPE l2s",
            "LRANGE l2s 0 -1",
            "GET n",
            "GET gone",
            "TTL gone",
            "GET extra",
            "STRLEN big",
            "DBSIZE",
            "SELECT 1",
            "SMEMBERS set1",
            "GET other-db",
            "DBSIZE",
            "SELECT 0",
            "DEBUG DIGEST",
        ],
    );
    assert_eq!(last_load(&mut z), last_load(&mut r));
    for c in [&mut r, &mut z] {
        let Frame::Integer(ttl) = c.line("TTL other-db") else {
            panic!("TTL")
        };
        assert_eq!(ttl, -2, "db 0 has no other-db");
        c.line("SELECT 1");
        let Frame::Integer(ttl) = c.line("TTL other-db") else {
            panic!("TTL")
        };
        assert!((4000..=5000).contains(&ttl), "{ttl}");
        c.line("SELECT 0");
    }
    // NOFLUSH without MERGE: the memory keys not in the file stay; `gone` clashes only with an expired
    // key of the file, which is skipped first. (A live clash would kill redis-server.)
    same(
        &mut r,
        &mut z,
        &[
            "FLUSHALL",
            "SET gone in-memory",
            "SET fresh 1",
            "DEBUG RELOAD NOSAVE NOFLUSH",
            "MGET gone fresh s2l n",
            "DBSIZE",
            "DEBUG DIGEST",
        ],
    );
    assert_eq!(last_load(&mut z), last_load(&mut r));
}

#[test]
fn reload_replaces_function_libraries_as_redis() {
    let Some((_servers, mut r, mut z)) = pair(&[]) else {
        return;
    };
    let library = "#!lua name=mylib\nredis.register_function('myfunc', function() return 42 end)";
    for c in [&mut r, &mut z] {
        assert_eq!(
            c.cmd(&["FUNCTION", "LOAD", library]),
            Frame::Bulk(b"mylib".to_vec())
        );
    }
    same(
        &mut r,
        &mut z,
        &[
            "SET k v",
            // The libraries are emptied with the dataset and loaded back from the file.
            "DEBUG RELOAD",
            "FCALL myfunc 0",
            // MERGE without flush: the file's library replaces the loaded one.
            "DEBUG RELOAD NOFLUSH MERGE",
            "FCALL myfunc 0",
            "GET k",
        ],
    );
}

#[test]
fn loadaof_replays_the_directory_written_since_as_redis() {
    let Some((servers, mut r, mut z)) = pair(&["--appendonly", "yes"]) else {
        return;
    };
    same(
        &mut r,
        &mut z,
        &[
            "SET a 1",
            "RPUSH l a b c",
            "INCRBY n 5",
            "SELECT 2",
            "SET other db",
            "SELECT 0",
            "DEBUG LOADAOF",
            "MGET a n",
            "LRANGE l 0 -1",
            "DBSIZE",
            "SELECT 2",
            "GET other",
            "SELECT 0",
        ],
    );
    // A command appended to the incr file behind the server's back is in the dataset after LOADAOF: the
    // file is read again, not the memory kept.
    for dir in [servers.redis_dir(), servers.zedis_dir()] {
        let incr = dir.join("appendonlydir").join("appendonly.aof.1.incr.aof");
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&incr)
            .unwrap_or_else(|e| panic!("{}: {e}", incr.display()));
        file.write_all(
            b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$8\r\nexternal\r\n$3\r\nyes\r\n",
        )
        .unwrap();
    }
    same(
        &mut r,
        &mut z,
        &[
            "SET local 1",
            "DEBUG LOADAOF",
            "MGET external local a",
            "DBSIZE",
        ],
    );
    assert_eq!(z.line("GET external"), Frame::Bulk(b"yes".to_vec()));
    // After a rewrite the base holds the dataset and LOADAOF still gives it back.
    for c in [&mut r, &mut z] {
        c.line("BGREWRITEAOF");
        assert!(
            persistence_reaches(
                c,
                &[
                    ("aof_rewrite_in_progress", "0"),
                    ("aof_rewrite_scheduled", "0")
                ]
            ),
            "rewrite did not finish"
        );
    }
    same(
        &mut r,
        &mut z,
        &[
            "SET after-rewrite 1",
            "DEBUG LOADAOF",
            "MGET external local a after-rewrite",
            "DBSIZE",
        ],
    );
}

#[test]
fn loadaof_empties_the_dataset_before_loading() {
    let Some((_servers, mut r, mut z)) = pair(&["--appendonly", "yes"]) else {
        return;
    };
    // Keys turned on before the AOF held them are gone only if the AOF does not have them: turning the
    // AOF off keeps the directory, writes after are not in it.
    same(&mut r, &mut z, &["SET kept 1"]);
    for c in [&mut r, &mut z] {
        ok(c, "CONFIG SET appendonly no");
    }
    same(
        &mut r,
        &mut z,
        &["SET lost 1", "DEBUG LOADAOF", "MGET kept lost", "DBSIZE"],
    );
}

/// INFO stats' `name` field.
fn stat(c: &mut RespClient, name: &str) -> i64 {
    info_field(c, "stats", name).parse().unwrap()
}

#[test]
fn forks_are_counted_in_info_stats_as_redis() {
    let Some((_servers, mut r, mut z)) = pair(&[]) else {
        return;
    };
    // The two fields sit where Redis writes them: right after pubsubshard_channels.
    for c in [&mut r, &mut z] {
        let Frame::Bulk(info) = c.line("INFO stats") else {
            panic!("INFO")
        };
        let info = String::from_utf8(info).unwrap();
        assert!(
            info.contains("pubsubshard_channels:0\r\nlatest_fork_usec:0\r\ntotal_forks:0\r\n"),
            "{info}"
        );
    }
    let idle = |c: &mut RespClient| {
        persistence_reaches(
            c,
            &[
                ("rdb_bgsave_in_progress", "0"),
                ("aof_rewrite_in_progress", "0"),
            ],
        )
    };
    for c in [&mut r, &mut z] {
        c.line("SET k v");
        assert_eq!(
            c.line("BGSAVE"),
            Frame::Simple(b"Background saving started".to_vec())
        );
        assert!(idle(c));
        assert_eq!(stat(c, "total_forks"), 1);
        assert!(stat(c, "latest_fork_usec") > 0);
        c.line("BGREWRITEAOF");
        assert!(idle(c));
        assert_eq!(stat(c, "total_forks"), 2);
        // CONFIG RESETSTAT zeroes both (Redis's resetServerStats).
        ok(c, "CONFIG RESETSTAT");
        assert_eq!(stat(c, "total_forks"), 0);
        assert_eq!(stat(c, "latest_fork_usec"), 0);
    }
}

#[test]
fn pause_cron_stops_active_expiry_until_resumed_as_redis() {
    let Some((_servers, mut r, mut z)) = pair(&[]) else {
        return;
    };
    same(
        &mut r,
        &mut z,
        &["DEBUG PAUSE-CRON 1", "SET k v PX 100", "SET other v"],
    );
    std::thread::sleep(Duration::from_millis(600));
    // Nothing touched `k`: with the cron paused it is still counted.
    same(&mut r, &mut z, &["DBSIZE", "DEBUG PAUSE-CRON 0"]);
    for c in [&mut r, &mut z] {
        assert!(
            wait_until(Duration::from_secs(30), || c.line("DBSIZE")
                == Frame::Integer(1)),
            "the cron did not resume"
        );
    }
}

/// The file names in `dir/appendonlydir` and its manifest.
fn aof_dir_listing(dir: &std::path::Path) -> (Vec<String>, String) {
    let aof = dir.join("appendonlydir");
    let mut names: Vec<String> = std::fs::read_dir(&aof)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let manifest = std::fs::read_to_string(aof.join("appendonly.aof.manifest")).unwrap_or_default();
    (names, manifest)
}

#[test]
fn rewrite_with_the_aof_off_leaves_the_directory_of_redis_and_loadaof_reads_it() {
    let Some((servers, mut r, mut z)) = pair(&["--aof-use-rdb-preamble", "no"]) else {
        return;
    };
    let rewritten = |c: &mut RespClient| {
        persistence_reaches(c, &[("aof_rewrite_in_progress", "0"), ("aof_enabled", "1")])
    };
    // On, a few writes, then off: the directory has a base and an incr.
    same(&mut r, &mut z, &["CONFIG SET appendonly yes"]);
    for c in [&mut r, &mut z] {
        assert!(rewritten(c), "the first rewrite did not finish");
    }
    same(
        &mut r,
        &mut z,
        &[
            "SET a 1",
            "INCR n",
            "CONFIG SET appendonly no",
            "SET b 2",
            "INCR n",
        ],
    );
    assert_eq!(
        aof_dir_listing(servers.zedis_dir()),
        aof_dir_listing(servers.redis_dir())
    );
    // A rewrite with the AOF off: a new base, no incr file, the old incr gone.
    for c in [&mut r, &mut z] {
        assert_eq!(
            c.line("BGREWRITEAOF"),
            Frame::Simple(b"Background append only file rewriting started".to_vec())
        );
        assert!(
            persistence_reaches(c, &[("aof_rewrite_in_progress", "0")]),
            "the rewrite did not finish"
        );
    }
    assert!(wait_until(Duration::from_secs(10), || aof_dir_listing(
        servers.zedis_dir()
    ) == aof_dir_listing(
        servers.redis_dir()
    )));
    assert_eq!(
        aof_dir_listing(servers.zedis_dir()),
        aof_dir_listing(servers.redis_dir())
    );
    same(
        &mut r,
        &mut z,
        &["SET c 3", "DEBUG LOADAOF", "MGET a b c n", "DBSIZE"],
    );
}
