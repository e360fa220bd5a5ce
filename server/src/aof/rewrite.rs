//! The AOF rewrite: a forked child dumps the keyspace, the parent keeps a diff and installs the result.

use super::{encode, Rewrite, State};
use crate::server::{unix_ms, Core};
use crate::Strategy;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};
use zedis_client_pool::ClientSlots;
use zedis_resp::reply;

/// Output buffer of the rewrite child.
const REWRITE_BUFFER_BYTES: usize = 1 << 20;

/// Writes the keyspace dump to `path` (in the rewrite child).
fn write_dump<A: zedis_kv_pool::KvAllocator>(
    ks: &zedis_keyspace::Keyspace<A>,
    functions: Option<&[Vec<u8>]>,
    path: &Path,
    now_ms: i64,
) -> std::io::Result<()> {
    let file = File::create(path)?;
    let mut out = std::io::BufWriter::with_capacity(REWRITE_BUFFER_BYTES, file);
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

/// fsyncs a directory so that a rename in it is durable.
fn sync_dir(path: &Path) {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    if let Ok(dir) = File::open(dir.unwrap_or(Path::new("."))) {
        let _ = dir.sync_all();
    }
}

impl<S: Strategy> Core<S> {
    /// Forks the rewrite child. Err: Redis's error text.
    pub fn aof_start_rewrite(&mut self) -> Result<(), String> {
        if self.engine.aof.rewrite.is_some() {
            return Err("ERR Background append only file rewriting already in progress".into());
        }
        let path = if self.engine.aof.file.is_some() {
            self.engine.aof.path.clone()
        } else {
            self.aof_path()
        };
        let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let temp = dir.join(format!("temp-rewriteaof-bg-{}.aof", std::process::id()));
        let now_ms = unix_ms();
        let functions = crate::scripting_cmds::rewrite_commands(self);
        let fork_started = Instant::now();
        // SAFETY: see the module docs on fork safety; the child only dumps the keyspace and `_exit`s.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            let e = std::io::Error::last_os_error();
            self.engine.aof.last_bgrewrite_ok = false;
            return Err(format!(
                "ERR Can't rewrite append only file in background: fork: {e}"
            ));
        }
        if pid == 0 {
            // SAFETY: resetting dispositions and exiting without running the parent's destructors.
            unsafe {
                libc::signal(libc::SIGINT, libc::SIG_DFL);
                libc::signal(libc::SIGTERM, libc::SIG_DFL);
                let code = match write_dump(&self.engine.ks, functions.as_deref(), &temp, now_ms) {
                    Ok(()) => 0,
                    Err(_) => 1,
                };
                libc::_exit(code);
            }
        }
        zedis_deploy::notice!(
            "Background append only file rewriting started by pid {pid} (fork took {} us)",
            fork_started.elapsed().as_micros()
        );
        self.engine.aof.path = path;
        self.engine.aof.rewrites += 1;
        self.engine.aof.rewrite = Some(Rewrite {
            pid,
            temp,
            started: Instant::now(),
            diff: Vec::new(),
        });
        // The rewrite buffer must start with a SELECT of its own.
        self.engine.aof.selected_db = None;
        Ok(())
    }

    /// The child exited: install its file (plus the rewrite buffer) or drop it.
    pub(super) fn aof_rewrite_done(&mut self, child_ok: bool) {
        let Some(rewrite) = self.engine.aof.rewrite.take() else {
            return;
        };
        self.engine.aof.last_rewrite_time_sec = rewrite.started.elapsed().as_secs() as i64;
        let installed = child_ok && self.aof_install_rewrite(&rewrite).is_ok();
        self.engine.aof.last_bgrewrite_ok = installed;
        if installed {
            zedis_deploy::notice!("Background AOF rewrite finished successfully");
        } else {
            let _ = std::fs::remove_file(&rewrite.temp);
            zedis_deploy::warning!("Background AOF rewrite failed");
            if self.engine.aof.state == State::WaitRewrite {
                self.engine.aof.rewrite_scheduled = true;
                self.engine.aof.retry_at = Some(Instant::now() + Duration::from_secs(1));
            }
        }
        self.engine.aof.recharge(self.budget);
    }

    fn aof_install_rewrite(&mut self, rewrite: &Rewrite) -> std::io::Result<()> {
        let mut file = OpenOptions::new().append(true).open(&rewrite.temp)?;
        file.write_all(&rewrite.diff)?;
        file.sync_data()?;
        // The old file gets this turn's bytes too (they are also in the diff) so that it stays complete until
        // the rename; then the buffer restarts on the new file.
        let _ = self.engine.aof.write_buf();
        std::fs::rename(&rewrite.temp, &self.engine.aof.path)?;
        sync_dir(&self.engine.aof.path);
        self.engine.aof.buf.clear();
        let size = file.metadata()?.len();
        let selected = self.engine.aof.selected_db;
        if self.engine.aof.state == State::Off {
            return Ok(());
        }
        self.engine.aof.install_file(file);
        // The diff ended with the same SELECT state as the stream it copied.
        self.engine.aof.selected_db = selected;
        self.engine.aof.current_size = size;
        self.engine.aof.base_size = size;
        self.engine.aof.write_errno = None;
        if self.engine.aof.state == State::WaitRewrite {
            self.engine.aof.rewrite_scheduled = false;
        }
        self.engine.aof.state = State::On;
        Ok(())
    }

    pub(super) fn aof_kill_rewrite(&mut self) {
        if let Some(rewrite) = self.engine.aof.rewrite.take() {
            // SAFETY: our own child.
            unsafe {
                libc::kill(rewrite.pid, libc::SIGKILL);
                libc::waitpid(rewrite.pid, std::ptr::null_mut(), 0);
            }
            let _ = std::fs::remove_file(&rewrite.temp);
        }
    }
}

/// BGREWRITEAOF.
pub fn bgrewriteaof<S: Strategy>(core: &mut Core<S>, ck: usize, _argv: &[&[u8]]) {
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
