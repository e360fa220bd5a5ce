//! A redis-server (the reference) and a zedis-server started side by side with the same arguments, for
//! tests that compare the two: [`Pair`] where the comparison is the test (skipped with a note where
//! redis-server is not installed), [`Servers`] where Zedis is checked on its own and Redis too when it is
//! there. Zedis gets `--save ""` as the reference gets it (see [`RedisProcess`]). [`same_reply`] compares one
//! command's replies; [`info_field`] reads one INFO field through a [`RespClient`].

use super::reference::RedisProcess;
use super::Server;
use std::path::Path;
use zedis_resp::Frame;
use zedis_testkit::{RespClient, TempDir};

/// Both servers, each with `--dir` a fresh directory when started by [`Pair::start_in_dirs`].
pub struct Pair {
    /// The reference.
    pub redis: RedisProcess,
    /// The server under test.
    pub zedis: Server,
    /// Redis's and Zedis's directories (declared after the servers: removed once they are killed).
    dirs: Option<(TempDir, TempDir)>,
}

impl Pair {
    /// Both with `args`; `None`, with a note, when redis-server is not installed.
    pub fn start(args: &[&str]) -> Option<Pair> {
        let redis = reference(args)?;
        let zedis = zedis(args);
        Some(Pair {
            redis,
            zedis,
            dirs: None,
        })
    }

    /// [`Pair::start`] with each server's `--dir` a fresh directory of its own ([`Pair::redis_dir`],
    /// [`Pair::zedis_dir`]).
    pub fn start_in_dirs(args: &[&str]) -> Option<Pair> {
        let (rdir, zdir) = (TempDir::new("pair-redis"), TempDir::new("pair-zedis"));
        let with_dir = |dir: &TempDir| {
            let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
            all.push("--dir".into());
            all.push(dir.path().to_string_lossy().into_owned());
            all
        };
        let (rargs, zargs) = (with_dir(&rdir), with_dir(&zdir));
        let redis = reference(&rargs.iter().map(String::as_str).collect::<Vec<_>>())?;
        let zedis = zedis(&zargs.iter().map(String::as_str).collect::<Vec<_>>());
        Some(Pair {
            redis,
            zedis,
            dirs: Some((rdir, zdir)),
        })
    }

    /// Redis's `--dir`.
    ///
    /// # Panics
    /// When the pair was not started by [`Pair::start_in_dirs`].
    pub fn redis_dir(&self) -> &Path {
        self.dirs.as_ref().expect("started in dirs").0.path()
    }

    /// Zedis's `--dir`.
    ///
    /// # Panics
    /// When the pair was not started by [`Pair::start_in_dirs`].
    pub fn zedis_dir(&self) -> &Path {
        self.dirs.as_ref().expect("started in dirs").1.path()
    }

    /// [`Pair::start`] with a `redis` crate connection to each: (pair, Redis's, Zedis's).
    pub fn connected(args: &[&str]) -> Option<(Pair, redis::Connection, redis::Connection)> {
        let pair = Pair::start(args)?;
        let (r, z) = pair.conns();
        Some((pair, r, z))
    }

    /// A `redis` crate connection to each: (Redis, Zedis).
    pub fn conns(&self) -> (redis::Connection, redis::Connection) {
        (super::connect(self.redis.port), self.zedis.conn())
    }

    /// A raw RESP client of each: (Redis, Zedis).
    pub fn clients(&self) -> (RespClient, RespClient) {
        (
            RespClient::connect(self.redis.port),
            RespClient::connect(self.zedis.port),
        )
    }
}

/// Zedis, and the reference beside it when redis-server is installed.
pub struct Servers {
    /// The server under test.
    pub zedis: Server,
    /// The reference, if installed.
    pub redis: Option<RedisProcess>,
}

impl Servers {
    /// Both with `args` (Zedis alone, with a note, without redis-server).
    pub fn start(args: &[&str]) -> Servers {
        Servers {
            zedis: zedis(args),
            redis: reference(args),
        }
    }

    /// Each server's name and port, Zedis first.
    pub fn ports(&self) -> Vec<(&'static str, u16)> {
        let mut ports = vec![("zedis", self.zedis.port)];
        ports.extend(self.redis.as_ref().map(|r| ("redis", r.port)));
        ports
    }
}

/// Runs `args` on both and asserts the replies (or error texts) are the same.
pub fn same_reply(r: &mut redis::Connection, z: &mut redis::Connection, args: &[&str]) {
    let want = super::cmd(r, args).map_err(|e| e.to_string());
    let got = super::cmd(z, args).map_err(|e| e.to_string());
    assert_eq!(got, want, "{args:?}");
}

/// INFO `section`'s field `name` as text.
///
/// # Panics
/// When the reply is not a bulk string or has no such field.
pub fn info_field(c: &mut RespClient, section: &str, name: &str) -> String {
    let Frame::Bulk(info) = c.cmd(&["INFO", section]) else {
        panic!("INFO {section}")
    };
    let info = String::from_utf8_lossy(&info).into_owned();
    let prefix = format!("{name}:");
    info.lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .unwrap_or_else(|| panic!("no {name} in {info}"))
        .to_owned()
}

fn reference(args: &[&str]) -> Option<RedisProcess> {
    let redis = RedisProcess::start(args);
    if redis.is_none() {
        eprintln!("redis-server not installed: compared with nothing");
    }
    redis
}

fn zedis(args: &[&str]) -> Server {
    let mut all = vec!["--save", ""];
    all.extend_from_slice(args);
    Server::start(&all)
}
