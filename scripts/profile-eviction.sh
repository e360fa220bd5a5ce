#!/usr/bin/env bash
# Where does Zedis spend its time under eviction? Runs one trial of the eviction experiment (one server, one
# budget fraction) through zedis-bench, and while its timed phase runs:
#   - turns on the latency monitor (threshold 1 ms) and reads LATENCY HISTORY eviction-cycle / command,
#   - records a CPU profile of the server with `perf record -g` (call graphs from DWARF debug info),
#   - prints the top of `perf report` (self and children), and INFO stats/commandstats.
# Usage: scripts/profile-eviction.sh [server label, default zedis/allkeys-lru] [budget fraction, default 0.25]
# Needs: target/release/zedis-bench and zedis-server (cargo build --release -p zedis-server -p zedis-bench),
# perf, redis-cli. Output in ${OUT:-/tmp/profile-eviction}/ (perf.data, report.txt).
set -euo pipefail
label=${1:-zedis/allkeys-lru}
fraction=${2:-0.25}
out=${OUT:-/tmp/profile-eviction}
mkdir -p "$out"
spec="$out/spec.toml"
# The eviction experiment's workload, one budget, 30 s timed (5 s warm-up).
sed -e '/^\[sweep\]/,$d' -e 's/^rounds = .*/rounds = 1/' experiments/eviction.toml > "$spec"
printf 'budget_fraction = %s\n' "$fraction" >> "$spec"
sed -i 's/^duration_s = .*/duration_s = 30.0/' "$spec"
target/release/zedis-bench run "$spec" --rounds 1 --only "$label" --out "$out/run" > "$out/bench.log" 2>&1 &
bench=$!
server=""
for _ in $(seq 1 100); do
    server=$(pgrep -P "$bench" | head -1 || true)
    [ -n "$server" ] && break
    sleep 0.1
done
[ -n "$server" ] || { echo "no server started"; exit 1; }
port=$(tr '\0' ' ' < "/proc/$server/cmdline" | sed -E 's/.*--port ([0-9]+).*/\1/')
echo "server pid $server port $port"
# Fill (200k keys) and the budget take a few seconds; then the warm-up (5 s).
sleep 10
redis-cli -p "$port" config set latency-monitor-threshold 1 > /dev/null
redis-cli -p "$port" latency reset > /dev/null
perf record -g --call-graph dwarf,16384 -F 499 -o "$out/perf.data" -p "$server" -- sleep 12 2> "$out/perf.log" || true
{
    echo "== LATENCY LATEST (ms)"
    redis-cli -p "$port" latency latest
    echo "== LATENCY HISTORY eviction-cycle"
    redis-cli -p "$port" latency history eviction-cycle | paste - - | head -40
    echo "== INFO stats"
    redis-cli -p "$port" info stats | grep -E 'evicted_keys|keyspace_(hits|misses)|expired_keys'
    echo "== INFO commandstats"
    redis-cli -p "$port" info commandstats | grep -E 'cmdstat_(get|set|config):'
} > "$out/server.txt" 2>&1
wait "$bench" || true
perf report -i "$out/perf.data" --stdio --no-children --percent-limit 1 -g none > "$out/report-self.txt" 2> /dev/null || true
perf report -i "$out/perf.data" --stdio --children --percent-limit 3 -g caller,0.5,callee --max-stack 30 \
    > "$out/report-children.txt" 2> /dev/null || true
cat "$out/server.txt"
echo "== perf self (top)"
grep -E '^ +[0-9]' "$out/report-self.txt" | head -30
echo "== trial"
grep -A3 '^| server' "$out/run/report.md" | head -4
