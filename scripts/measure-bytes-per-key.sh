#!/usr/bin/env bash
# ISSUES 3 and 6: bytes per key for 1M keys with 32-byte values (16-byte keys), without and with a TTL, for
# zedis-server --allocator zedis, --allocator system and redis-server in the same run, each in a fresh process.
# Bytes per key = (after - empty) / DBSIZE, from /proc VmRSS and from INFO used_memory.
#
# Needs a release zedis-server (cargo build --release -p zedis-server; or ZEDIS_BIN=path).
# Dry run: scripts/measure-bytes-per-key.sh --keys 20000
# More rounds (alternating server order, medians): scripts/measure-bytes-per-key.sh --rounds 3
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 scripts/measure.py bytes-per-key "$@"
