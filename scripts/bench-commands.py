#!/usr/bin/env python3
"""Throughput of single commands, zedis-server against redis-server, in the same run, per second of server CPU.

Usage: scripts/bench-commands.py [--zedis target/release/zedis-server] [--rounds 3] [--requests 200000]
                                 [--pipeline "1 16"] [--only pfadd,xadd] [--out results.csv]

`../shared/tools/vs-redis.sh` measures the commands `redis-benchmark -t` knows. This script measures the
others (HyperLogLog, bitmaps, streams, sorted-set reads, scripts) the same way: both servers run side by
side, each round runs redis-benchmark against Redis and then against Zedis with the same arguments, and the
figure reported is requests per second of *server CPU* (from /proc/PID/task/*/schedstat), Zedis / Redis,
median over rounds. Requests per wall-clock second are printed too; on a shared machine trust the per-CPU
ratio. Each workload has a setup (run once per server before the rounds) and one redis-benchmark command,
with `__rand_int__` replaced by redis-benchmark from a keyspace of --random-keys.

`xreadgroup_xack` is driven by this script instead (redis-benchmark cannot ack what it read): a stream of
--requests entries and a consumer group, then XREADGROUP COUNT <n> followed by XACK of the ids it returned
until every entry is read and acked, where <n> is the "pipeline" value; the figures count entries.
"""
import argparse
import csv
import hashlib
import os
import statistics
import sys
import tempfile
import time

from benchlib import Conn, benchmark, command, cpu_ns, encode, free_port, spawn  # noqa: F401 (re-exported)

SCRIPT = "return redis.call('incr', KEYS[1])"

# name -> (setup commands, benchmark argv)
WORKLOADS = {
    "pfadd": ([], ["PFADD", "hll", "el:__rand_int__"]),
    "pfcount": ([["PFADD", "hll1"] + [f"e{i}" for i in range(2000)]], ["PFCOUNT", "hll1"]),
    "pfcount3": (
        [["PFADD", f"hll{k}"] + [f"e{k}:{i}" for i in range(2000)] for k in (1, 2, 3)],
        ["PFCOUNT", "hll1", "hll2", "hll3"],
    ),
    "setbit": ([], ["SETBIT", "bm:__rand_int__", "1000", "1"]),
    "bitcount": ([["SETRANGE", "bm2", "0", "x" * 4096]], ["BITCOUNT", "bm2"]),
    "bitop": ([["SETRANGE", "a", "0", "x" * 1024], ["SETRANGE", "b", "0", "y" * 1024]], ["BITOP", "AND", "c", "a", "b"]),
    "xadd": ([], ["XADD", "s", "*", "f", "v", "g", "__rand_int__"]),
    "xrange": ([["XADD", "s2", "*", "f", "v"] for _ in range(100)], ["XRANGE", "s2", "-", "+", "COUNT", "10"]),
    "zadd": ([], ["ZADD", "z", "__rand_int__", "m:__rand_int__"]),
    "zrange": ([["ZADD", "z2"] + sum(([str(i), f"m{i}"] for i in range(1000)), [])], ["ZRANGE", "z2", "0", "9"]),
    "zrank": ([["ZADD", "z3"] + sum(([str(i), f"m{i}"] for i in range(1000)), [])], ["ZRANK", "z3", "m500"]),
    "zscore": ([["ZADD", "z4"] + sum(([str(i), f"m{i}"] for i in range(1000)), [])], ["ZSCORE", "z4", "m500"]),
    "evalsha": (
        [["SCRIPT", "LOAD", SCRIPT]],
        ["EVALSHA", hashlib.sha1(SCRIPT.encode()).hexdigest(), "1", "counter"],
    ),
}


def xreadgroup_xack(pid, port, requests, batch):
    """XREADGROUP COUNT <batch> then XACK of the ids read, until `requests` entries were read and acked.
    Returns (entries per wall second, entries per server-CPU second)."""
    c = Conn(port)
    c.call("DEL", "q")
    for base in range(0, requests, 1000):
        c.sock.sendall(b"".join(encode(["XADD", "q", "*", "job", str(i), "payload", "x" * 16])
                                for i in range(base, min(base + 1000, requests))))
        for _ in range(base, min(base + 1000, requests)):
            c.reply()
    c.call("XGROUP", "CREATE", "q", "g", "0")
    before, t0, done = cpu_ns(pid), time.monotonic(), 0
    while done < requests:
        r = c.ok("XREADGROUP", "GROUP", "g", "worker", "COUNT", str(batch), "STREAMS", "q", ">")
        ids = [entry[0] for entry in r[0][1]] if r else []
        if not ids:
            break
        c.ok("XACK", "q", "g", *ids)
        done += len(ids)
    wall, cpu = time.monotonic() - t0, (cpu_ns(pid) - before) / 1e9
    if done != requests:
        raise RuntimeError(f"read {done} of {requests} entries")
    return done / wall, done / cpu if cpu > 0 else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--zedis", default="target/release/zedis-server")
    ap.add_argument("--zedis-args", default="")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--requests", type=int, default=200000)
    ap.add_argument("--random-keys", type=int, default=100000)
    ap.add_argument("--pipeline", default="1 16")
    ap.add_argument("--only", default="", help="comma-separated workload names")
    ap.add_argument("--out", default="")
    a = ap.parse_args()
    names = [n for n in a.only.split(",") if n] or list(WORKLOADS) + ["xreadgroup_xack"]
    for n in names:
        if n not in WORKLOADS and n != "xreadgroup_xack":
            sys.exit(f"unknown workload {n}; known: {', '.join(WORKLOADS)}")
    pipelines = [int(p) for p in a.pipeline.replace(",", " ").split()]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            setup, args = WORKLOADS.get(name, ([], []))
            servers = []
            for label, argv in (
                ("redis", ["redis-server", "--port", "{port}", "--save", "", "--appendonly", "no"]),
                ("zedis", [os.path.abspath(a.zedis), "--port", "{port}", "--save", "", "--appendonly", "no"]
                 + a.zedis_args.split()),
            ):
                cwd = os.path.join(tmp, f"{name}-{label}")
                os.makedirs(cwd)
                proc, port = spawn(argv, cwd)
                for cmd in setup:
                    command(port, *cmd)
                servers.append((label, proc, port))
            try:
                for p in pipelines:
                    per = {"redis": [], "zedis": []}
                    ratios = []
                    for _ in range(a.rounds):
                        pair = {}
                        for label, proc, port in servers:
                            if name == "xreadgroup_xack":
                                # "pipeline" here is the entries read (and acked) per XREADGROUP/XACK pair.
                                pair[label] = xreadgroup_xack(proc.pid, port, a.requests, p)
                            else:
                                pair[label] = benchmark(proc.pid, port, args, a.requests, p, a.random_keys)[:2]
                            per[label].append(pair[label])
                        ratios.append(pair["zedis"][1] / pair["redis"][1])
                    med = {k: statistics.median(r[0] for r in v) for k, v in per.items()}
                    row = {
                        "test": name, "pipeline": p,
                        "redis_rps": round(med["redis"]), "zedis_rps": round(med["zedis"]),
                        "ratio": round(med["zedis"] / med["redis"], 2),
                        "per_cpu": round(statistics.median(ratios), 2),
                    }
                    rows.append(row)
                    print(f"{name:10} P{p:<3} redis {row['redis_rps']:>9} rps  zedis {row['zedis_rps']:>9} rps  "
                          f"ratio {row['ratio']:.2f}  per-cpu {row['per_cpu']:.2f}", flush=True)
            finally:
                for _, proc, _ in servers:
                    proc.kill()
                    proc.wait()
    if a.out:
        with open(a.out, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)


if __name__ == "__main__":
    main()
