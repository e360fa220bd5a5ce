#!/usr/bin/env bash
# Regenerates the seed corpora of the fuzz targets from a real redis-server:
# - rdb/fuzz/seeds/: small RDB files holding every type and encoding Redis 7.0 writes (with expiry,
#   LFU counters or LRU idle times, a function library, and with compression off), the DUMP payload
#   of every key and a FUNCTION DUMP payload;
# - resp/fuzz/seeds/parse_frame/: redis-server's replies in RESP2 and RESP3 (every RESP3 type, from
#   DEBUG PROTOCOL), as the client-side frame decoder receives them.
#
# Usage: scripts/fuzz-seeds.sh            (needs redis-server and redis-cli 7.0 on PATH)
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
seeds="$root/rdb/fuzz/seeds"
work="$(mktemp -d)"
pid=""
cleanup() {
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

port=$((20000 + RANDOM % 20000))
cli() { redis-cli -p "$port" "$@" >/dev/null; }

start() { # $1 = extra options
    # shellcheck disable=SC2086
    redis-server --port "$port" --bind 127.0.0.1 --dir "$work" --dbfilename dump.rdb \
        --save '' --appendonly no --enable-debug-command yes $1 >"$work/log" 2>&1 &
    pid=$!
    for _ in $(seq 100); do
        redis-cli -p "$port" PING >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "redis-server did not start" >&2
    exit 1
}

stop() {
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    pid=""
}

fill() {
    cli FLUSHALL
    cli FUNCTION FLUSH
    # Strings: raw, integer (8/16/32 bit), not-canonical integer, LZF, HyperLogLog, bitmap.
    cli SET s:raw "hello world"
    cli SET s:i8 -7
    cli SET s:i16 1234
    cli SET s:i32 -123456789
    cli SET s:i64 12345678901234
    cli SET s:lead0 0123
    cli SET s:empty ""
    cli SET s:lzf "$(printf 'abcabcabd%.0s' $(seq 12))"
    cli PFADD s:hll a b c d
    cli SETBIT s:bits 100 1
    cli SET s:ttl v PXAT 4102444800123
    # Lists: quicklist of listpacks (small, several nodes) and plain nodes.
    cli RPUSH l:small a 1 -200 70000 12345678901 hello ""
    for i in $(seq 40); do cli RPUSH l:nodes "element-number-$i" "$i"; done
    cli DEBUG QUICKLIST-PACKED-THRESHOLD 40
    cli RPUSH l:plain "$(printf 'x%.0s' $(seq 50))" small "$(printf 'y%.0s' $(seq 60))"
    cli DEBUG QUICKLIST-PACKED-THRESHOLD 1073741824
    # Sets: intset 16/32/64 bit, hashtable.
    cli SADD t:is16 1 2 3 -5 300
    cli SADD t:is32 1 100000
    cli SADD t:is64 1 9000000000
    cli SADD t:ht a b c 1
    cli CONFIG SET set-max-intset-entries 4
    cli SADD t:bigints 1 2 3 4 5 6
    cli CONFIG SET set-max-intset-entries 512
    # Hashes: listpack and hashtable (by count and by value size).
    cli HSET h:lp f1 v1 f2 2 num -3000
    cli CONFIG SET hash-max-listpack-entries 3
    cli HSET h:ht a 1 b 2 c 3 d 4
    cli CONFIG SET hash-max-listpack-entries 128
    cli HSET h:long f "$(printf 'v%.0s' $(seq 70))"
    # Sorted sets: listpack and skiplist.
    cli ZADD z:lp 1.5 a 2 b -inf c inf d 0.1 e 1e300 f
    cli CONFIG SET zset-max-listpack-entries 3
    cli ZADD z:sl 1 a 2.5 b 3 c -4 d
    cli CONFIG SET zset-max-listpack-entries 128
    # Streams: several nodes, same and different fields, deletions, groups, PELs, consumers.
    cli CONFIG SET stream-node-max-entries 4
    for i in $(seq 10); do
        if [ $((i % 3)) = 0 ]; then
            cli XADD x:s "$i-1" a "$i" b x
        else
            cli XADD x:s "$i-1" other "v$i"
        fi
    done
    cli CONFIG SET stream-node-max-entries 100
    cli XDEL x:s 5-1
    cli XGROUP CREATE x:s g1 0
    cli XGROUP CREATE x:s g0 '$'
    cli XREADGROUP GROUP g1 alice COUNT 3 STREAMS x:s '>'
    cli XREADGROUP GROUP g1 bob COUNT 2 STREAMS x:s '>'
    cli XACK x:s g1 2-1
    cli XGROUP CREATECONSUMER x:s g1 carol
    cli XADD x:one 1-1 f v
    # A function library and a second database.
    cli FUNCTION LOAD "#!lua name=seedlib
redis.register_function('seedfn', function(keys, args) return 42 end)"
    redis-cli -p "$port" -n 2 SET db2key "in db 2" >/dev/null
}

dump_keys() { # $1 = output directory
    mkdir -p "$1"
    redis-cli -p "$port" --scan | sort | while IFS= read -r key; do
        # --raw prints the payload as is, then a newline.
        redis-cli -p "$port" --raw DUMP "$key" | head -c -1 >"$1/${key//:/_}.bin"
    done
}

replies() { # $1 = output directory; one file per command, RESP2 and RESP3
    mkdir -p "$1"
    local n=0
    while IFS= read -r cmd; do
        for proto in 2 3; do
            n=$((n + 1))
            exec 3<>"/dev/tcp/127.0.0.1/$port"
            if [ "$proto" = 3 ]; then printf 'HELLO 3\r\n' >&3; fi
            printf '%s\r\n' "$cmd" >&3
            timeout 0.3 cat <&3 >"$1/reply-$n-resp$proto.bin" || true
            exec 3<&-
        done
    done <<'CMDS'
GET s:raw
GET nokey
MGET s:raw nokey s:i8
LRANGE l:small 0 -1
SMEMBERS t:ht
HGETALL h:lp
ZRANGE z:lp 0 -1 WITHSCORES
ZSCORE z:lp a
XRANGE x:s - +
XINFO STREAM x:s FULL
CONFIG GET maxmemory*
INCR s:raw
DEBUG PROTOCOL string
DEBUG PROTOCOL integer
DEBUG PROTOCOL double
DEBUG PROTOCOL bignum
DEBUG PROTOCOL null
DEBUG PROTOCOL array
DEBUG PROTOCOL set
DEBUG PROTOCOL map
DEBUG PROTOCOL attrib
DEBUG PROTOCOL push
DEBUG PROTOCOL verbatim
DEBUG PROTOCOL true
DEBUG PROTOCOL false
CLIENT TRACKING on
SUBSCRIBE ch
CMDS
}

rm -rf "$seeds/rdb_file" "$seeds/dump_payload" "$seeds/roundtrip" "$root/resp/fuzz/seeds/parse_frame"
mkdir -p "$seeds/rdb_file" "$seeds/dump_payload"

start "--maxmemory-policy allkeys-lfu"
fill
cli SAVE
cp "$work/dump.rdb" "$seeds/rdb_file/all-types-lfu.rdb"
dump_keys "$seeds/dump_payload"
redis-cli -p "$port" --raw FUNCTION DUMP | head -c -1 >"$seeds/dump_payload/function-dump.bin"
replies "$root/resp/fuzz/seeds/parse_frame"
cli CONFIG SET rdbcompression no
cli CONFIG SET rdbchecksum no
cli SAVE
cp "$work/dump.rdb" "$seeds/rdb_file/all-types-plain.rdb"
stop

start "--maxmemory-policy allkeys-lru"
fill
cli SAVE
cp "$work/dump.rdb" "$seeds/rdb_file/all-types-lru.rdb"
cli FLUSHALL
cli FUNCTION FLUSH
cli SAVE
cp "$work/dump.rdb" "$seeds/rdb_file/empty.rdb"
stop

mkdir -p "$seeds/roundtrip"
cp "$seeds/dump_payload/"*.bin "$seeds/roundtrip/"
ls -l "$seeds"/*/ "$root/resp/fuzz/seeds/parse_frame/" | awk '{s += $5} END {print NR " files, " s " bytes"}'
