//! The RDB of a full resync: `zedis_keyspace::persist::rdb_file::save`'s layout plus Redis's replication AUX
//! fields (`repl-stream-db`, `repl-id`, `repl-offset`), and reading `repl-stream-db` back on the replica.
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
/// returns `out`.
pub fn save<A: KvAllocator, W: std::io::Write>(
    ks: &Keyspace<A>,
    out: W,
    aux: &AuxInfo,
    repl: &ReplAux,
    functions: &[&[u8]],
    now_ms: i64,
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
    rdb_file::save(ks, out, aux, &extras, now_ms)
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
