//! Commands without a client: the AOF replay (and later the replication stream), through the same resolve and
//! effects as a client's commands.

use super::{resolve, Origin};
use crate::server::Core;
use crate::table::{Handler, SELECTS_DB, TX_BOUNDARY};
use crate::Strategy;
use zedis_keyspace::commands::args::Args;
use zedis_keyspace::commands::Ctx;
use zedis_resp::Protocol;

impl<S: Strategy> Core<S> {
    /// Runs one command read from the AOF on the keyspace, without a client. `db` tracks SELECT. Ok(false): the
    /// command replied an error (skipped, as Redis does); Err: it cannot be loaded.
    ///
    /// Time stands still at 0 while loading: no key counts as expired (as in Redis, where nothing expires during
    /// loading), so a key whose absolute TTL passed since is loaded and then expired as usual.
    pub fn load_command(
        &mut self,
        db: &mut usize,
        argv: &[&[u8]],
        out: &mut Vec<u8>,
    ) -> Result<bool, String> {
        let cmd = match resolve(self.table, argv) {
            Ok(cmd) => cmd,
            Err(super::Rejection::Arity(cmd)) => return Err(super::wrong_arity(cmd.name)),
            Err(_) => {
                return Err(format!(
                    "unknown command '{}'",
                    String::from_utf8_lossy(argv[0])
                ))
            }
        };
        if cmd.has(TX_BOUNDARY) {
            return Ok(true);
        }
        if cmd.has(SELECTS_DB) {
            let idx = Args::new(argv)
                .int()
                .ok()
                .filter(|&n| n >= 0 && (n as usize) < self.engine.ks.db_count())
                .ok_or_else(|| "invalid SELECT".to_string())?;
            *db = idx as usize;
            return Ok(true);
        }
        if cmd.name.starts_with("function|") && cmd.has(crate::table::WRITE) {
            return crate::scripting_cmds::load_function(self, argv);
        }
        let Handler::Kv(handler) = cmd.handler else {
            return Err(format!("command '{}' can't be loaded", cmd.name));
        };
        self.engine.fx.reset();
        out.clear();
        let mut ctx = Ctx {
            argv,
            out,
            proto: Protocol::Resp2,
            db: *db,
            now_ms: 0,
            fx: &mut self.engine.fx,
        };
        handler(&mut self.engine.ks, &mut ctx);
        let failed = !self.engine.fx.errors.is_empty();
        self.drain_effects(Origin::Loading);
        Ok(!failed)
    }
}
