//! Arbitrary argument vectors through the keyspace's command handlers, against an in-memory keyspace:
//! every command the server's table routes to `zedis-keyspace` (name, arity and handler copied from
//! `server/src/table.rs`), with the table's arity check in front as the server does. The input is
//! lines of space-separated arguments (`ZADD z 1 a`), so seeds are readable and any byte but `\n` and
//! ` ` reaches the parsers (NUL and high bytes included). A handler must answer every command with a
//! complete reply (or block), and never panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use zedis_keyspace::commands::*;
use zedis_keyspace::{Keyspace, KeyspaceConfig};
use zedis_kv_pool::SystemAlloc;
use zedis_resp::Protocol;

type A = SystemAlloc;

/// `(name, arity, handler)` as in the server's command table.
const COMMANDS: &[(&str, i32, Handler<A>)] = &[
    ("get", 2, strings::get),
    ("set", -3, strings::set),
    ("setnx", 3, strings::setnx),
    ("setex", 4, strings::setex),
    ("psetex", 4, strings::setex),
    ("getset", 3, strings::getset),
    ("getdel", 2, strings::getdel),
    ("getex", -2, strings::getex),
    ("mget", -2, strings::mget),
    ("mset", -3, strings::mset),
    ("msetnx", -3, strings::mset),
    ("incr", 2, strings::incr),
    ("decr", 2, strings::incr),
    ("incrby", 3, strings::incrby),
    ("decrby", 3, strings::incrby),
    ("incrbyfloat", 3, strings::incrbyfloat),
    ("append", 3, strings::append),
    ("strlen", 2, strings::strlen),
    ("getrange", 4, strings::getrange),
    ("setrange", 4, strings::setrange),
    ("del", -2, keys::del),
    ("exists", -2, keys::exists),
    ("touch", -2, keys::touch),
    ("keys", 2, keys::keys),
    ("scan", -2, keys::scan),
    ("randomkey", 1, keys::randomkey),
    ("rename", 3, keys::rename),
    ("copy", -3, keys::copy),
    ("dump", 2, dump_restore::dump),
    ("restore", -4, dump_restore::restore),
    ("dbsize", 1, keys::dbsize),
    ("flushdb", -1, keys::flushdb),
    ("flushall", -1, keys::flushall),
    ("swapdb", 3, keys::swapdb),
    ("unlink", -2, keys::del),
    ("renamenx", 3, keys::rename),
    ("type", 2, keys::type_),
    ("move", 3, keys::move_),
    ("object|encoding", 3, keys::object),
    ("object|freq", 3, keys::object),
    ("object|idletime", 3, keys::object),
    ("object|refcount", 3, keys::object),
    ("object|help", 2, keys::object),
    ("expire", -3, expire::expire),
    ("pexpire", -3, expire::expire),
    ("expireat", -3, expire::expire),
    ("pexpireat", -3, expire::expire),
    ("ttl", 2, expire::ttl),
    ("pttl", 2, expire::ttl),
    ("expiretime", 2, expire::ttl),
    ("pexpiretime", 2, expire::ttl),
    ("persist", 2, expire::persist),
    ("lpush", -3, lists::push),
    ("rpush", -3, lists::push),
    ("lpushx", -3, lists::pushx),
    ("rpushx", -3, lists::pushx),
    ("lpop", -2, lists::pop),
    ("rpop", -2, lists::pop),
    ("llen", 2, lists::llen),
    ("lrange", 4, lists::lrange),
    ("lindex", 3, lists::lindex),
    ("lset", 4, lists::lset),
    ("lrem", 4, lists::lrem),
    ("ltrim", 4, lists::ltrim),
    ("linsert", 5, lists::linsert),
    ("lpos", -3, lists::lpos),
    ("lmove", 5, lists::lmove),
    ("rpoplpush", 3, lists::rpoplpush),
    ("lmpop", -4, lists::lmpop),
    ("sadd", -3, sets::sadd),
    ("srem", -3, sets::srem),
    ("smembers", 2, sets::smembers),
    ("sismember", 3, sets::sismember),
    ("smismember", -3, sets::smismember),
    ("scard", 2, sets::scard),
    ("spop", -2, sets::spop),
    ("srandmember", -2, sets::srandmember),
    ("sinter", -2, sets::sinter),
    ("sunion", -2, sets::sinter),
    ("sdiff", -2, sets::sinter),
    ("sinterstore", -3, sets::sinterstore),
    ("sunionstore", -3, sets::sinterstore),
    ("sdiffstore", -3, sets::sinterstore),
    ("sintercard", -3, sets::sintercard),
    ("smove", 4, sets::smove),
    ("sscan", -3, sets::sscan),
    ("hset", -4, hashes::hset),
    ("hsetnx", 4, hashes::hsetnx),
    ("hget", 3, hashes::hget),
    ("hmset", -4, hashes::hmset),
    ("hmget", -3, hashes::hmget),
    ("hdel", -3, hashes::hdel),
    ("hexists", 3, hashes::hexists),
    ("hlen", 2, hashes::hlen),
    ("hgetall", 2, hashes::hgetall),
    ("hkeys", 2, hashes::hgetall),
    ("hvals", 2, hashes::hgetall),
    ("hincrby", 4, hashes::hincrby),
    ("hincrbyfloat", 4, hashes::hincrbyfloat),
    ("hstrlen", 3, hashes::hstrlen),
    ("hrandfield", -2, hashes::hrandfield),
    ("hscan", -3, hashes::hscan),
    ("zadd", -4, zsets::zadd),
    ("zincrby", 4, zsets::zincrby),
    ("zrem", -3, zsets::zrem),
    ("zcard", 2, zsets::zcard),
    ("zscore", 3, zsets::zscore),
    ("zmscore", -3, zsets::zmscore),
    ("zrank", 3, zsets::zrank),
    ("zrevrank", 3, zsets::zrevrank),
    ("zscan", -3, zsets::zscan),
    ("zrandmember", -2, zsets::zrandmember),
    ("zrange", -4, zset_range::zrange),
    ("zrangestore", -5, zset_range::zrangestore),
    ("zrevrange", -4, zset_range::zrevrange),
    ("zrangebyscore", -4, zset_range::zrangebyscore),
    ("zrevrangebyscore", -4, zset_range::zrevrangebyscore),
    ("zrangebylex", -4, zset_range::zrangebylex),
    ("zrevrangebylex", -4, zset_range::zrevrangebylex),
    ("zcount", 4, zset_range::zcount),
    ("zlexcount", 4, zset_range::zlexcount),
    ("zremrangebyrank", 4, zset_range::zremrangebyrank),
    ("zremrangebyscore", 4, zset_range::zremrangebyscore),
    ("zremrangebylex", 4, zset_range::zremrangebylex),
    ("zunion", -3, zset_store::zunion),
    ("zinter", -3, zset_store::zinter),
    ("zdiff", -3, zset_store::zdiff),
    ("zunionstore", -4, zset_store::zunionstore),
    ("zinterstore", -4, zset_store::zinterstore),
    ("zdiffstore", -4, zset_store::zdiffstore),
    ("zintercard", -3, zset_store::zintercard),
    ("zpopmin", -2, zset_pop::zpopmin),
    ("zpopmax", -2, zset_pop::zpopmax),
    ("zmpop", -4, zset_pop::zmpop),
    ("bzpopmin", -3, zset_pop::bzpopmin),
    ("bzpopmax", -3, zset_pop::bzpopmax),
    ("bzmpop", -5, zset_pop::bzmpop),
    ("geoadd", -5, geo::geoadd),
    ("geopos", -2, geo::geopos),
    ("geodist", -4, geo::geodist),
    ("geohash", -2, geo::geohash_cmd),
    ("geosearch", -7, geo::geosearch),
    ("geosearchstore", -8, geo::geosearchstore),
    ("georadius", -6, geo::georadius),
    ("georadius_ro", -6, geo::georadius_ro),
    ("georadiusbymember", -5, geo::georadiusbymember),
    ("georadiusbymember_ro", -5, geo::georadiusbymember_ro),
    ("blpop", -3, blocking::blpop),
    ("brpop", -3, blocking::blpop),
    ("blmove", 6, blocking::blmove),
    ("brpoplpush", 4, blocking::blmove),
    ("blmpop", -5, blocking::blmpop),
    ("substr", 4, strings::getrange),
    ("lcs", -3, strings_lcs::lcs),
    ("xadd", -5, streams::xadd),
    ("xrange", -4, streams::xrange),
    ("xrevrange", -4, streams::xrevrange),
    ("xlen", 2, streams::xlen),
    ("xdel", -3, streams::xdel),
    ("xtrim", -4, streams::xtrim),
    ("xsetid", -3, streams::xsetid),
    ("xread", -4, stream_read::xread),
    ("xreadgroup", -7, stream_read::xreadgroup),
    ("xgroup|create", -5, stream_groups::xgroup),
    ("xgroup|setid", -5, stream_groups::xgroup),
    ("xgroup|destroy", 4, stream_groups::xgroup),
    ("xgroup|createconsumer", 5, stream_groups::xgroup),
    ("xgroup|delconsumer", 5, stream_groups::xgroup),
    ("xgroup|help", 2, stream_groups::xgroup),
    ("xack", -4, stream_groups::xack),
    ("xpending", -3, stream_groups::xpending),
    ("xclaim", -6, stream_claim::xclaim),
    ("xautoclaim", -6, stream_claim::xautoclaim),
    ("xinfo|stream", -3, stream_info::xinfo),
    ("xinfo|groups", 3, stream_info::xinfo),
    ("xinfo|consumers", 4, stream_info::xinfo),
    ("xinfo|help", 2, stream_info::xinfo),
    ("setbit", 4, bitmaps::setbit),
    ("getbit", 3, bitmaps::getbit),
    ("bitcount", -2, bitmaps::bitcount),
    ("bitpos", -3, bitmaps::bitpos),
    ("bitop", -4, bitmaps::bitop),
    ("bitfield", -2, bitfield::bitfield),
    ("bitfield_ro", -2, bitfield::bitfield_ro),
    ("pfadd", -2, hll::pfadd),
    ("pfcount", -2, hll::pfcount),
    ("pfmerge", -2, hll::pfmerge),
    ("pfselftest", 1, hll::pfselftest),
    ("pfdebug", 3, hll::pfdebug),
    ("sort", -2, sort::sort),
    ("sort_ro", -2, sort::sort_ro),
];

/// Largest string a command may build (`proto-max-bulk-len`), kept small so a fuzzed offset cannot
/// make every run allocate 512 MB.
const STRING_BYTES_MAX: usize = 1 << 20;

fuzz_target!(|data: &[u8]| {
    let mut config = KeyspaceConfig::default();
    config.string_bytes_max = STRING_BYTES_MAX;
    let mut ks = Keyspace::<A>::new(16, config);
    let proto = if data.first().is_some_and(|b| b & 1 == 1) {
        Protocol::Resp3
    } else {
        Protocol::Resp2
    };
    for (i, line) in data.split(|&b| b == b'\n').enumerate().take(64) {
        let argv: Vec<&[u8]> = line
            .split(|&b| b == b' ')
            .filter(|a| !a.is_empty())
            .collect();
        let Some(name) = argv.first() else {
            continue;
        };
        let Some(&(_, arity, handler)) = COMMANDS
            .iter()
            .find(|(n, _, _)| n.as_bytes().eq_ignore_ascii_case(name))
        else {
            continue;
        };
        let argc = argv.len() as i32;
        if (arity > 0 && argc != arity) || (arity < 0 && argc < -arity) {
            continue;
        }
        let mut fx = Effects::default();
        let mut out = Vec::new();
        let mut ctx = Ctx {
            argv: &argv,
            out: &mut out,
            proto,
            db: 0,
            now_ms: 1_000_000 + 1_000 * i as i64,
            fx: &mut fx,
        };
        handler(&mut ks, &mut ctx);
        // One complete reply, unless the command asked to block.
        if fx.block.is_none() {
            assert!(!out.is_empty(), "no reply to {:?}", argv);
            assert!(out.ends_with(b"\r\n"), "torn reply to {:?}", argv);
        }
    }
});
