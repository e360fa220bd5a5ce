//! The end of a full resync on the replica: the RDB received in memory replaces the dataset
//! (`repl-diskless-load disabled`, and the fallbacks), and the socket becomes the master client.

use super::replica::LinkState;
use super::Backlog;
use crate::server::{Core, CLIENT_TOKEN_BASE};
use crate::Strategy;
use mio::{Interest, Token};
use zedis_client_pool::ClientSlots;
use zedis_deploy::stream::{redis_addr, ClientStream};
use zedis_keyspace::persist::rdb_file::{Duplicates, LoadError, LoadStats};

impl<S: Strategy> Core<S> {
    /// The RDB is complete: replace the dataset with it and take the master's id and offset.
    pub(super) fn repl_load_transfer(&mut self) -> Result<(), String> {
        let Some(link) = self.engine.repl.master.as_mut() else {
            return Ok(());
        };
        let state = std::mem::replace(&mut link.state, LinkState::Connect);
        let LinkState::Transfer {
            rx, replid, offset, ..
        } = state
        else {
            return Ok(());
        };
        zedis_deploy::notice!(
            "MASTER <-> REPLICA sync: Loading DB in memory ({} bytes)",
            rx.data.len()
        );
        let stream_db = super::rdb::stream_db(&rx.data);
        self.engine.ks.flush_all();
        // The master's libraries replace ours (Redis clears the function context before loading).
        if let Some(scripting) = self.engine.scripting.as_mut() {
            let _ = scripting.function_flush();
        }
        if let Err(e) = self.repl_rdb_load(&rx.data[..]) {
            self.engine.ks.flush_all();
            return Err(format!(
                "Failed trying to load the MASTER synchronization DB: {e}"
            ));
        }
        self.repl_loaded(replid, offset, stream_db);
        Ok(())
    }

    /// Loads a full resync's RDB (`Core::rdb_load_with`, sleeping `key-load-delay` after each key).
    pub(super) fn repl_rdb_load(
        &mut self,
        input: impl std::io::Read,
    ) -> Result<LoadStats, LoadError> {
        let delay = self.config.int("key-load-delay");
        self.rdb_load_with(input, Duplicates::Refuse, &mut || {
            if delay != 0 {
                super::rdb::debug_delay(delay);
            }
        })
    }

    /// A full resync's RDB replaced the dataset: WATCHers learn it, we take the master's id and offset
    /// (`stream_db` is the RDB's `repl-stream-db`), our replicas resync and an AOF is rewritten.
    pub(super) fn repl_loaded(&mut self, replid: String, offset: u64, stream_db: usize) {
        if let Some(link) = self.engine.repl.master.as_mut() {
            link.stream_db = stream_db.min(self.engine.ks.db_count() - 1);
        }
        // Every database was replaced: WATCHers of keys that changed see it (Redis's signalFlushedDb).
        self.engine.fx.reset();
        self.engine.fx.flushed_dbs = (0..self.engine.ks.db_count()).collect();
        crate::multi::signal_touched(self);
        self.engine.fx.reset();
        let size = self.settings.repl_backlog_bytes;
        let repl = &mut self.engine.repl;
        repl.replid = replid;
        repl.replid2 = "0".repeat(40);
        repl.second_replid_offset = -1;
        repl.master_repl_offset = offset;
        repl.backlog = Some(Backlog::new(size, offset));
        repl.recharge(self.budget);
        // A new dataset: our replicas must resync from it, and an AOF must be rewritten from it (Redis's
        // restartAOFAfterSYNC).
        self.repl_disconnect_replicas();
        if self.engine.aof.enabled() {
            if let Err(e) = self.aof_start_rewrite() {
                zedis_deploy::warning!("Can't rewrite the AOF after the sync with the master: {e}");
                self.engine.aof.rewrite_scheduled = true;
            }
        }
        zedis_deploy::notice!("MASTER <-> REPLICA sync: Finished with success");
    }

    /// The socket becomes the master client; what followed the payload is its first input.
    pub(super) fn repl_become_connected(&mut self) -> Result<(), String> {
        let Some(link) = self.engine.repl.master.as_mut() else {
            return Ok(());
        };
        let Some(mut stream) = link.stream.take() else {
            return Err("no socket".into());
        };
        let rest = std::mem::take(&mut link.inbuf);
        let stream_db = link.stream_db;
        let id = self.net.next_client_id;
        let now = crate::server::unix_ms();
        let limits = self.settings.parser_limits;
        let (addr, laddr) = match stream.socket() {
            ClientStream::Tcp(tcp) => (
                tcp.peer_addr().map(redis_addr).unwrap_or_default(),
                tcp.local_addr().map(redis_addr).unwrap_or_default(),
            ),
            ClientStream::Unix(_) => Default::default(),
        };
        let inserted = self.clients.insert_with(|client| {
            let mut input = client.input.take().unwrap_or_default();
            input.parser.set_limits(limits);
            input.parser.set_authenticated(true);
            input.query.extend_from_slice(&rest);
            client.input = Some(input);
            client.id = id;
            client.addr = addr;
            client.laddr = laddr;
            client.created_ms = now;
            client.last_interaction_ms = now;
            client.authenticated = true;
            client.is_master = true;
            client.db = stream_db;
            client.last_cmd = "NULL";
        });
        let Ok(ck) = inserted else {
            let _ = self.net.poll.registry().deregister(&mut stream);
            return Err("no client slot for the master".into());
        };
        let token = Token(ck + CLIENT_TOKEN_BASE);
        if let Err(e) = self
            .net
            .poll
            .registry()
            .reregister(&mut stream, token, Interest::READABLE)
        {
            self.clients.remove(ck);
            return Err(format!("can't poll the master client: {e}"));
        }
        self.net.next_client_id += 1;
        if let Some(client) = self.clients.get_mut(ck) {
            client.fd = std::os::fd::AsRawFd::as_raw_fd(stream.socket());
            client.stream = Some(stream);
        }
        if let Some(link) = self.engine.repl.master.as_mut() {
            link.state = LinkState::Connected(ck);
            link.failures = 0;
        }
        // The first ACK puts us online at the master (a diskless master waits for it).
        self.repl_send_ack(ck);
        self.engine.blocked.resumed.push(ck);
        Ok(())
    }
}
