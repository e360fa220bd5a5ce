//! The AOF rewrite: a forked child dumps the keyspace, the parent keeps a diff and installs the result.

use super::{encode, Rewrite, State};
use crate::server::{unix_ms, Core};
use crate::Strategy;
use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};
use zedis_client_pool::ClientSlots;
use zedis_resp::reply;

/// Redis's reply when a rewrite cannot start (the reason is logged).
const REWRITE_FAILED: &str =
    "ERR Can't execute an AOF background rewriting. Please check the server logs for more information.";

/// Output buffer of the rewrite child.
const REWRITE_BUFFER_BYTES: usize = 1 << 20;

/// What the rewrite child writes as the new base.
pub enum BaseContent {
    /// An RDB marked as an AOF base (`aof-use-rdb-preamble yes`).
    Rdb(crate::persist::child::Snapshot),
    /// Commands, the function libraries' FUNCTION RESTORE first, after a `#TS:` annotation when
    /// `aof-timestamp-enabled` (the second field: its time).
    Commands(Option<Vec<Vec<u8>>>, Option<i64>),
}

/// Writes the keyspace dump to `path` as commands (in the rewrite child, or at startup).
pub fn write_dump<A: zedis_kv_pool::KvAllocator>(
    ks: &zedis_keyspace::Keyspace<A>,
    functions: Option<&[Vec<u8>]>,
    timestamp: Option<i64>,
    path: &Path,
    now_ms: i64,
) -> std::io::Result<()> {
    let file = File::create(path)?;
    let mut out = std::io::BufWriter::with_capacity(REWRITE_BUFFER_BYTES, file);
    if let Some(now_s) = timestamp {
        out.write_all(&super::timestamp::annotation(now_s))?;
    }
    let mut scratch = Vec::new();
    // Function libraries first, as Redis's rewrite does.
    if let Some(command) = functions {
        let argv: Vec<&[u8]> = command.iter().map(|a| a.as_slice()).collect();
        encode(&mut scratch, &argv);
        out.write_all(&scratch)?;
    }
    let mut result = Ok(());
    zedis_keyspace::dump::for_each_command(ks, now_ms, |argv| {
        if result.is_err() {
            return;
        }
        scratch.clear();
        encode(&mut scratch, argv);
        result = out.write_all(&scratch);
    });
    result?;
    let file = out.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()
}

impl<S: Strategy> Core<S> {
    /// Forks the rewrite child. Err: Redis's error text.
    pub fn aof_start_rewrite(&mut self) -> Result<(), String> {
        if self.engine.aof.rewrite.is_some() {
            return Err("ERR Background append only file rewriting already in progress".into());
        }
        let temp = match self.aof_rewrite_prepare() {
            Ok(temp) => temp,
            Err(e) => {
                zedis_deploy::warning!("Can't open a new AOF file for the rewrite: {e}");
                self.engine.aof.last_bgrewrite_ok = false;
                return Err(REWRITE_FAILED.into());
            }
        };
        let now_ms = unix_ms();
        let base = if self.config.flag("aof-use-rdb-preamble") {
            let mut snapshot = self.rdb_snapshot(now_ms);
            snapshot.aux.aof_base = true;
            BaseContent::Rdb(snapshot)
        } else {
            BaseContent::Commands(
                crate::scripting_cmds::rewrite_commands(self),
                self.engine.aof.timestamps.enabled.then_some(now_ms / 1000),
            )
        };
        let fork_started = Instant::now();
        // SAFETY: see the module docs on fork safety; the child only dumps the keyspace and `_exit`s.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            let e = std::io::Error::last_os_error();
            zedis_deploy::warning!("Can't rewrite append only file in background: fork: {e}");
            self.engine.aof.last_bgrewrite_ok = false;
            self.aof_rewrite_abandon();
            return Err(REWRITE_FAILED.into());
        }
        if pid == 0 {
            // SAFETY: resetting dispositions and exiting without running the parent's destructors.
            unsafe {
                libc::signal(libc::SIGINT, libc::SIG_DFL);
                libc::signal(libc::SIGTERM, libc::SIG_DFL);
                crate::proctitle::show(&self.config, "zedis-aof-rewrite");
                let code = match super::multipart::write_base(&self.engine.ks, &base, &temp, now_ms)
                {
                    Ok(()) => {
                        zedis_deploy::notice!(
                            "Successfully created the temporary AOF base file {}",
                            temp.display()
                        );
                        0
                    }
                    Err(_) => 1,
                };
                libc::_exit(code);
            }
        }
        self.observe_fork(fork_started);
        zedis_deploy::notice!(
            "Background append only file rewriting started by pid {pid} (fork took {} us)",
            fork_started.elapsed().as_micros()
        );
        self.engine.aof.rewrites += 1;
        self.engine.aof.rewrite = Some(Rewrite {
            pid,
            temp,
            started: Instant::now(),
        });
        Ok(())
    }

    /// The child exited: its file becomes the new base, or is dropped.
    pub(super) fn aof_rewrite_done(&mut self, child_ok: bool) {
        let Some(rewrite) = self.engine.aof.rewrite.take() else {
            return;
        };
        self.engine.aof.last_rewrite_time_sec = rewrite.started.elapsed().as_secs() as i64;
        let installed = child_ok
            && match self.aof_rewrite_install(&rewrite.temp) {
                Ok(()) => true,
                Err(e) => {
                    zedis_deploy::warning!("Error installing the rewritten AOF: {e}");
                    false
                }
            };
        self.engine.aof.last_bgrewrite_ok = installed;
        if installed {
            zedis_deploy::notice!("Background AOF rewrite finished successfully");
            if self.engine.aof.state == State::WaitRewrite {
                self.engine.aof.rewrite_scheduled = false;
                self.engine.aof.write_errno = None;
                self.engine.aof.state = State::On;
            }
        } else {
            let _ = std::fs::remove_file(&rewrite.temp);
            zedis_deploy::warning!("Background AOF rewrite failed");
            self.aof_rewrite_abandon();
            if self.engine.aof.state == State::WaitRewrite {
                self.engine.aof.rewrite_scheduled = true;
                self.engine.aof.retry_at = Some(Instant::now() + Duration::from_secs(1));
            }
        }
        self.engine.aof.recharge(self.budget);
    }

    pub(super) fn aof_kill_rewrite(&mut self) {
        if let Some(rewrite) = self.engine.aof.rewrite.take() {
            // SAFETY: our own child.
            unsafe {
                libc::kill(rewrite.pid, libc::SIGKILL);
                libc::waitpid(rewrite.pid, std::ptr::null_mut(), 0);
            }
            let _ = std::fs::remove_file(&rewrite.temp);
            self.aof_rewrite_abandon();
        }
    }
}

/// BGREWRITEAOF.
pub fn bgrewriteaof<S: Strategy>(core: &mut Core<S>, ck: usize, _argv: &[&[u8]]) {
    // An RDB child runs (or inside EXEC): the rewrite starts later, from the cron (Redis's rule and reply).
    let busy = core.engine.persist.child.is_some() || core.engine.tx.executing;
    if busy && core.engine.aof.rewrite.is_none() {
        core.engine.aof.rewrite_scheduled = true;
        return core.reply(ck, |out, _| {
            reply::simple(out, b"Background append only file rewriting scheduled")
        });
    }
    match core.aof_start_rewrite() {
        Ok(()) => {
            if let Some(client) = core.clients.get_mut(ck) {
                reply::simple(
                    client.out.vec_mut(),
                    b"Background append only file rewriting started",
                );
                client.out.recharge();
            }
        }
        Err(e) => core.reply_error(ck, e.as_bytes()),
    }
}
