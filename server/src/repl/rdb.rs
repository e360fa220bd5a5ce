//! The RDB of a full resync: `zedis_keyspace::persist::rdb_file::save`'s layout plus Redis's replication AUX
//! fields (`repl-stream-db`, `repl-id`, `repl-offset`), and reading `repl-stream-db` back on the replica.
//!
//! `repl-stream-db` matters for chains: a replica's stream continues in whatever database its master last
//! selected, so a sub-replica must start its master client in that database (Redis's `rdbSaveInfo`).
//! The body below repeats `rdb_file::save` with the extra fields, because that function takes no extra AUX
//! fields; giving it an `extra_aux` parameter would remove this copy.

use zedis_keyspace::persist::rdb::{encoding_config, entry_value, key_meta};
use zedis_keyspace::persist::rdb_file::AuxInfo;
use zedis_keyspace::Keyspace;
use zedis_kv_pool::KvAllocator;
use zedis_rdb::{Limits, RdbError, RdbItem, RdbReader, RdbWriter, WriteOptions};

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

/// Writes the keyspace as an RDB with the replication AUX fields to `out`; returns `out`.
pub fn save<A: KvAllocator, W: std::io::Write>(
    ks: &Keyspace<A>,
    out: W,
    aux: &AuxInfo,
    repl: &ReplAux,
    now_ms: i64,
) -> Result<W, RdbError> {
    let opts = WriteOptions {
        encoding: encoding_config(&ks.config),
        checksum: true,
    };
    let mut w = RdbWriter::new(out, opts)?;
    w.standard_aux(aux)?;
    w.aux(b"repl-stream-db", repl.stream_db.to_string().as_bytes())?;
    w.aux(b"repl-id", repl.replid.as_bytes())?;
    w.aux(b"repl-offset", repl.offset.to_string().as_bytes())?;
    for idx in 0..ks.db_count() {
        let db = ks.db(idx);
        let live =
            |e: &zedis_keyspace::entry::EntryPtr| e.expire().is_none_or(|when| when > now_ms);
        let (mut keys, mut expires) = (0u64, 0u64);
        db.dict().for_each(|e| {
            if live(&e) {
                keys += 1;
                expires += u64::from(e.expire().is_some());
            }
        });
        if keys == 0 {
            continue;
        }
        w.select_db(idx as u64, keys, expires)?;
        let mut failed = None;
        db.dict().for_each(|e| {
            if failed.is_some() || !live(&e) {
                return;
            }
            if let Some(value) = entry_value::<A>(e) {
                if let Err(err) = w.key(e.key(), &value, &key_meta(ks, e, now_ms)) {
                    failed = Some(err);
                }
            }
        });
        if let Some(err) = failed {
            return Err(err);
        }
    }
    w.finish()
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
