//! Hostile AOF files at startup, against the real binary: valid AOFs of random commands, then mutated
//! (truncated, bytes flipped or inserted, lengths made huge, negative or non-numeric, commands unknown or
//! of the wrong arity, transactions left open). Zedis must either load the file and serve, or refuse to
//! start with a message naming the byte offset; never crash, panic or hang. When redis-server is available
//! the same file goes to it too, and how often the two decide alike is printed (not asserted: the servers'
//! leniency differs in documented corners, see the README's Reliability section).
//!
//! `ZEDIS_AOF_FUZZ_CASES=<n>` runs more cases (CI runs 40); `ZEDIS_AOF_FUZZ_SEED=<s>` picks the seed, which
//! is printed on failure; `ZEDIS_AOF_FUZZ_KEEP=<dir>` keeps the files the two servers decided differently.

use std::os::unix::process::ExitStatusExt;
use std::time::Instant;

use zedis_reliability::process::{redis_available, Kind, ServerProcess, StartError};
use zedis_reliability::TempDir;

fn xorshift(seed: u64) -> impl FnMut() -> u64 {
    let mut state = seed | 1;
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    }
}

fn resp(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// A valid AOF of `n` random writes (several types, SELECT, MULTI/EXEC, absolute expiries).
fn valid_aof(rng: &mut impl FnMut() -> u64, n: usize) -> Vec<u8> {
    let mut out = resp(&[b"SELECT", b"0"]);
    for _ in 0..n {
        let key = format!("k{}", rng() % 20).into_bytes();
        let num = (rng() % 1000).to_string().into_bytes();
        let cmd: Vec<&[u8]> = match rng() % 10 {
            0 => vec![b"SET", &key, &num],
            1 => vec![b"DEL", &key],
            2 => vec![b"RPUSH", b"list", &num, &key],
            3 => vec![b"HSET", b"hash", &key, &num],
            4 => vec![b"SADD", b"set", &num],
            5 => vec![b"ZADD", b"zset", &num, &key],
            6 => vec![b"INCRBY", b"counter", &num],
            7 => vec![b"PEXPIREAT", &key, b"4102444800000"],
            8 => vec![b"SELECT", if rng() % 2 == 0 { b"1" } else { b"0" }],
            _ => {
                out.extend_from_slice(&resp(&[b"MULTI"]));
                out.extend_from_slice(&resp(&[b"SET", &key, &num]));
                vec![b"EXEC"]
            }
        };
        out.extend_from_slice(&resp(&cmd));
    }
    out
}

/// One mutation of `aof`, as a hostile or damaged file would have it.
fn mutate(rng: &mut impl FnMut() -> u64, mut aof: Vec<u8>) -> (Vec<u8>, &'static str) {
    let at = |rng: &mut dyn FnMut() -> u64, len: usize| (rng() as usize) % len.max(1);
    let kind = rng() % 9;
    let label = match kind {
        0 => {
            let cut = at(rng, aof.len());
            aof.truncate(cut);
            "truncated"
        }
        1 => {
            for _ in 0..1 + rng() % 4 {
                let i = at(rng, aof.len());
                aof[i] = rng() as u8;
            }
            "bytes flipped"
        }
        2 => {
            let i = at(rng, aof.len());
            let junk: Vec<u8> = (0..1 + rng() % 16).map(|_| rng() as u8).collect();
            aof.splice(i..i, junk);
            "bytes inserted"
        }
        3..=5 => {
            // Replace one length (after a '$' or '*') by a hostile one.
            let marks: Vec<usize> = aof
                .iter()
                .enumerate()
                .filter(|(_, &b)| b == b'$' || b == b'*')
                .map(|(i, _)| i)
                .collect();
            let i = marks[at(rng, marks.len())] + 1;
            let end = i + aof[i..].iter().position(|&b| b == b'\r').unwrap_or(0);
            let hostile: &[u8] = match kind {
                3 => b"99999999999",
                4 => b"-7",
                _ => b"x1",
            };
            aof.splice(i..end, hostile.iter().copied());
            "hostile length"
        }
        6 => {
            aof.extend_from_slice(&resp(&[b"NOSUCHCOMMAND", b"a"]));
            "unknown command"
        }
        7 => {
            aof.extend_from_slice(&resp(&[b"SET", b"only-a-key"]));
            "wrong arity"
        }
        _ => {
            aof.extend_from_slice(&resp(&[b"MULTI"]));
            aof.extend_from_slice(&resp(&[b"SET", b"open", b"tx"]));
            "open transaction"
        }
    };
    (aof, label)
}

/// What a server did with a file: loaded it (and answered DBSIZE), or refused it.
#[derive(Debug, PartialEq)]
enum Outcome {
    Loaded,
    Refused,
}

fn run(kind: Kind, aof: &[u8], case: &str) -> Outcome {
    let dir = TempDir::new("aof-fuzz");
    std::fs::write(dir.join("appendonly.aof"), aof).unwrap();
    let started = Instant::now();
    match ServerProcess::start(kind, dir.path(), &["--appendonly", "yes"]) {
        Ok(server) => {
            let reply = server.raw().call("DBSIZE\r\n");
            assert!(
                reply.starts_with(':'),
                "{case}: DBSIZE after loading: {reply:?}"
            );
            Outcome::Loaded
        }
        Err(StartError::Exited { status, log, .. }) => {
            if kind == Kind::Zedis {
                assert!(
                    status.signal().is_none() && status.code() == Some(1),
                    "{case}: zedis-server did not exit cleanly ({status}); log:\n{log}"
                );
                assert!(
                    log.contains("byte offset") || log.contains("append only file"),
                    "{case}: the refusal does not say where; log:\n{log}"
                );
                assert!(!log.contains("panicked"), "{case}: panic; log:\n{log}");
            }
            Outcome::Refused
        }
        Err(e) => panic!("{case}: {e} (after {:?})", started.elapsed()),
    }
}

#[test]
fn hostile_aof_files_are_loaded_or_refused_with_their_offset() {
    let cases: usize = std::env::var("ZEDIS_AOF_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    let seed: u64 = std::env::var("ZEDIS_AOF_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
    eprintln!("aof fuzz: seed {seed} (ZEDIS_AOF_FUZZ_SEED), {cases} cases");
    let mut rng = xorshift(seed);
    let with_redis = redis_available();
    let (mut alike, mut compared, mut loaded) = (0, 0, 0);
    for i in 0..cases {
        let n = 1 + (rng() % 40) as usize;
        let valid = valid_aof(&mut rng, n);
        let (aof, label) = mutate(&mut rng, valid);
        let case = format!("seed {seed} case {i} ({label}, {} bytes)", aof.len());
        let zedis = run(Kind::Zedis, &aof, &case);
        loaded += usize::from(zedis == Outcome::Loaded);
        if with_redis {
            compared += 1;
            if run(Kind::Redis, &aof, &case) == zedis {
                alike += 1;
            } else {
                eprintln!("{case}: zedis {zedis:?}, redis-server decided otherwise");
                if let Ok(keep) = std::env::var("ZEDIS_AOF_FUZZ_KEEP") {
                    let _ = std::fs::write(format!("{keep}/case-{i}.aof"), &aof);
                }
            }
        }
    }
    eprintln!(
        "aof fuzz: {cases} files, {loaded} loaded by zedis; zedis and redis-server decided alike on {alike} of {compared}"
    );
}
