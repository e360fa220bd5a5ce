#!/usr/bin/env bash
# cpu-per-request.sh ROUNDS name=command [name=command ...]
#
# Server CPU nanoseconds per request for SET and GET at pipeline 1 and 16 (redis-benchmark -c 50 -r 100000
# -d 32), each server's CPU read from /proc/PID/task/*/schedstat around each run, the servers taking turns
# every round; prints the median (and every round) per server, and Redis's CPU divided by each other server's
# when one is named `redis`. Steadier than requests per second on a shared machine, since a server's CPU per
# request hardly changes when other processes take the cores.
#
#   scripts/cpu-per-request.sh 5 old=/tmp/zedis-old new=target/release/zedis-server redis=redis-server
#
# Each command is started as `COMMAND --port P --save ''` on ports from 7500, in a temporary directory, and
# killed at the end.
set -euo pipefail
ROUNDS=$1; shift
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
declare -A PORT PID
i=0
for spec in "$@"; do
  name=${spec%%=*}; cmd=${spec#*=}; port=$((7500 + i)); i=$((i + 1))
  mkdir -p "$work/$name"
  (cd "$work/$name" && exec $cmd --port $port --save '' >/dev/null 2>&1) &
  PID[$name]=$!; PORT[$name]=$port
done
trap 'for p in "${PID[@]}"; do kill $p 2>/dev/null || true; done; rm -rf "$work"' EXIT
sleep 1.5
# Warm-up: the same keyspace in every server.
for name in "${!PORT[@]}"; do
  redis-benchmark -p "${PORT[$name]}" -t set -n 200000 -r 100000 -d 32 -P 16 -c 50 -q >/dev/null 2>&1
done
cpu_ns() { local sum=0 f; for f in /proc/$1/task/*/schedstat; do sum=$((sum + $(awk '{print $1}' "$f"))); done; echo $sum; }
for r in $(seq "$ROUNDS"); do
  for P in 1 16; do for t in set get; do
    if [ "$P" = 1 ]; then N=100000; else N=600000; fi
    for spec in "$@"; do
      name=${spec%%=*}; pid=${PID[$name]}
      c0=$(cpu_ns "$pid")
      redis-benchmark -p "${PORT[$name]}" -t $t -n $N -r 100000 -d 32 -P $P -c 50 -q >/dev/null 2>&1
      c1=$(cpu_ns "$pid")
      echo "$name P$P $t $(((c1 - c0) / N))"
    done
  done; done
done > "$work/raw"
python3 - "$work/raw" <<'PY'
import collections, statistics, sys
d = collections.defaultdict(list)
names = []
for line in open(sys.argv[1]):
    n, p, t, v = line.split()
    d[(p, t, n)].append(int(v))
    if n not in names:
        names.append(n)
print("ns of server CPU per request, median (every round)")
for p in ("P1", "P16"):
    for t in ("set", "get"):
        row = [f"{p:4} {t}"]
        for n in names:
            row.append(f"{n}={statistics.median(d[(p, t, n)]):.0f} {sorted(d[(p, t, n)])}")
        print("  ".join(row))
        if "redis" in names:
            base = statistics.median(d[(p, t, "redis")])
            print("      redis/x: " + "  ".join(
                f"{n}={base / statistics.median(d[(p, t, n)]):.3f}" for n in names if n != "redis"))
PY
