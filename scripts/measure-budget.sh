#!/usr/bin/env bash
# ISSUE 3: does each preset keep to --maxmemory? For each server (zedis-server --allocator zedis|system, and
# redis-server as the reference) and each policy (allkeys-lru, allkeys-flush, noeviction), start the server with
# --maxmemory 64mb and write 300k 1 KB values to new keys with
#   redis-benchmark -t set -n 300000 -r 100000000 -d 1024 -c 20
# while sampling INFO used_memory and /proc RSS every 100 ms. Prints a markdown table: max used_memory and
# used_memory_peak (must be <= maxmemory), peak RSS (VmHWM) / maxmemory, evicted_keys, and for noeviction
# whether a new write gets -OOM while reads still work.
#
# Needs a release zedis-server (cargo build --release -p zedis-server; or ZEDIS_BIN=path) and redis-benchmark.
# Dry run: scripts/measure-budget.sh --maxmemory 4mb --requests 20000 --policies allkeys-lru,noeviction
# All options: scripts/measure-budget.sh --help
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 scripts/measure.py budget "$@"
