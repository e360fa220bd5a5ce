//! The RDB of a full resync: `zedis_keyspace::persist::rdb_file::save`'s layout plus Redis's replication AUX
//! fields (`repl-stream-db`, `repl-id`, `repl-offset`), and reading `repl-stream-db` back on the replica.
//!
//! Saving sleeps `rdb-key-save-delay` per key and a replica's load `key-load-delay` (Redis's test knobs,
//! used to widen the windows of a transfer and a load).
//!
//! `repl-stream-db` matters for chains: a replica's stream continues in whatever database its master last
//! selected, so a sub-replica must start its master client in that database (Redis's `rdbSaveInfo`).

use zedis_keyspace::persist::rdb_file::{self, AuxInfo, Extras};
use zedis_keyspace::Keyspace;
use zedis_kv_pool::KvAllocator;
use zedis_rdb::{Limits, RdbError, RdbItem, RdbReader};

/// Replication AUX fields.
#[derive(Debug, Clone)]
pub struct ReplAux {
    /// The database the stream continues in after the RDB's offset.
    pub stream_db: usize,
    /// Our replication id.
    pub replid: String,
    /// The offset the RDB corresponds to.
    pub offset: u64,
}

/// Writes the keyspace as an RDB with the replication AUX fields and the function libraries' code to `out`;
/// returns `out`. The layout is `rdb_file::save`'s (header, AUX, functions, then per non-empty database
/// SELECTDB, RESIZEDB and its live keys, EOF, CRC64); `key_save_delay` is Redis's `rdb-key-save-delay`,
/// slept after each key (see [`debug_delay`]).
pub fn save<A: KvAllocator, W: std::io::Write>(
    ks: &Keyspace<A>,
    out: W,
    aux: &AuxInfo,
    repl: &ReplAux,
    functions: &[&[u8]],
    now_ms: i64,
    key_save_delay: i64,
) -> Result<W, RdbError> {
    let (db, offset) = (repl.stream_db.to_string(), repl.offset.to_string());
    let fields: [(&[u8], &[u8]); 3] = [
        (b"repl-stream-db", db.as_bytes()),
        (b"repl-id", repl.replid.as_bytes()),
        (b"repl-offset", offset.as_bytes()),
    ];
    let extras = Extras {
        aux: &fields,
        functions,
    };
    rdb_file::save_each(ks, out, aux, &extras, now_ms, &mut || {
        debug_delay(key_save_delay)
    })
}

/// Redis's `debugDelay`: sleeps `usec` microseconds; a negative value sleeps 1 microsecond once in `-usec`
/// calls on average (short delays without a system call per key).
pub fn debug_delay(usec: i64) {
    let usec = if usec < 0 {
        let draw = rand_u64() % usec.unsigned_abs();
        u64::from(draw == 0)
    } else {
        usec as u64
    };
    if usec > 0 {
        std::thread::sleep(std::time::Duration::from_micros(usec));
    }
}

/// A cheap thread-local xorshift (only for [`debug_delay`]'s draw).
fn rand_u64() -> u64 {
    use std::cell::Cell;
    thread_local!(static STATE: Cell<u64> = const { Cell::new(0x2545_f491_4f6c_dd1d) });
    STATE.with(|s| {
        let mut x = s.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.set(x);
        x
    })
}

/// The `repl-stream-db` AUX field of an RDB (0 when absent or unreadable), read from the AUX fields that
/// precede the data.
pub fn stream_db(rdb: &[u8]) -> usize {
    let Ok(mut reader) = RdbReader::new(rdb, Limits::default()) else {
        return 0;
    };
    while let Ok(Some(RdbItem::Aux { key, value })) = reader.next_item() {
        if key == b"repl-stream-db" {
            return std::str::from_utf8(&value)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
        }
    }
    0
}
