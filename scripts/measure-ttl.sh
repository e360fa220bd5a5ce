#!/usr/bin/env bash
# ISSUE 6: are keys that are never touched again reclaimed by the active expiry cycle? For each server
# (zedis-server --allocator zedis|system, redis-server), write 200k keys with a 1-second TTL in one pipeline and
# never touch them again; report how long after the last TTL passed DBSIZE is near 0 (<= 1%) and 0, used_memory
# and RSS empty / full / after, and the round trips (p50/p99/max) of a client sending GETs back to back all along.
#
# Needs a release zedis-server (cargo build --release -p zedis-server; or ZEDIS_BIN=path).
# Dry run: scripts/measure-ttl.sh --keys 5000 --timeout 10
# All options: scripts/measure-ttl.sh --help
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 scripts/measure.py ttl "$@"
