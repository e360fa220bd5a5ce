#!/usr/bin/env python3
"""Replication figures, zedis-server against redis-server in the same run: full-sync time and master work per CPU.

Usage: scripts/bench-replication.py [--zedis target/release/zedis-server] [--keys 1000000] [--rounds 3]
                                    [--requests 300000] [--pipeline 16]

1. Full sync: a master holding --keys keys (SET key:<i> of 32 bytes, loaded with pipelined commands) gets a
   fresh replica of its own kind (`--replicaof`); the time from the replica's start until it reports
   `master_link_status:up` with every key is the full-sync time (the RDB is made, sent and loaded). Both
   servers, alternately, --rounds times; medians.
2. Master throughput with 0, 1 and 2 replicas attached: redis-benchmark -t set against the master; the figure
   is requests per second of the master's own CPU (from /proc/PID/task/*/schedstat), so the cost of feeding
   replicas shows while the noise of a shared machine mostly does not. Ratio Zedis / Redis per round, median.
"""
import argparse
import os
import statistics
import tempfile
import time

from benchlib import Conn, benchmark, command, encode, info, spawn, stop


def load(port, keys):
    value = b"v" * 32
    with Conn(port) as c:
        batch = 10000
        for base in range(0, keys, batch):
            c.blast_ok([encode([b"SET", b"key:%d" % i, value]) for i in range(base, base + min(batch, keys - base))])


def server_argv(kind, zedis):
    if kind == "redis":
        return ["redis-server", "--port", "{port}", "--save", "", "--appendonly", "no", "--repl-diskless-sync", "no"]
    return [os.path.abspath(zedis), "--port", "{port}", "--save", "", "--appendonly", "no"]


def full_sync(kind, zedis, keys, tmp):
    mdir = tempfile.mkdtemp(dir=tmp)
    master, mport = spawn(server_argv(kind, zedis), mdir)
    replica = None
    try:
        load(mport, keys)
        rdir = tempfile.mkdtemp(dir=tmp)
        t0 = time.monotonic()
        replica, rport = spawn(server_argv(kind, zedis) + ["--replicaof", "127.0.0.1", str(mport)], rdir)
        while True:
            r = info(rport, "replication")
            if r.get("master_link_status") == "up":
                if command(rport, "DBSIZE") == keys:
                    return time.monotonic() - t0
            if time.monotonic() - t0 > 600:
                raise RuntimeError(f"{kind} replica did not sync in 600 s")
            time.sleep(0.02)
    finally:
        for p in (replica, master):
            stop(p)


def throughput(kind, zedis, replicas, requests, pipeline, tmp):
    procs = []
    try:
        master, mport = spawn(server_argv(kind, zedis), tempfile.mkdtemp(dir=tmp))
        procs.append(master)
        for _ in range(replicas):
            p, rport = spawn(server_argv(kind, zedis) + ["--replicaof", "127.0.0.1", str(mport)],
                             tempfile.mkdtemp(dir=tmp))
            procs.append(p)
        deadline = time.monotonic() + 60
        while int(info(mport, "replication").get("connected_slaves", "0")) < replicas:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{kind}: replicas did not attach")
            time.sleep(0.05)
        return benchmark(master.pid, mport, [], requests, pipeline, extra=["-t", "set"])[:2]
    finally:
        for p in procs:
            stop(p)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--zedis", default="target/release/zedis-server")
    ap.add_argument("--keys", type=int, default=1000000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--requests", type=int, default=300000)
    ap.add_argument("--pipeline", type=int, default=16)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        times = {"redis": [], "zedis": []}
        for _ in range(a.rounds):
            for kind in ("redis", "zedis"):
                times[kind].append(full_sync(kind, a.zedis, a.keys, tmp))
        r, z = statistics.median(times["redis"]), statistics.median(times["zedis"])
        print(f"full sync of {a.keys} keys: redis {r:.2f} s  zedis {z:.2f} s  ratio {z / r:.2f}", flush=True)
        for replicas in (0, 1, 2):
            ratios, rows = [], {"redis": [], "zedis": []}
            for _ in range(a.rounds):
                pair = {kind: throughput(kind, a.zedis, replicas, a.requests, a.pipeline, tmp)
                        for kind in ("redis", "zedis")}
                for kind, v in pair.items():
                    rows[kind].append(v)
                ratios.append(pair["zedis"][1] / pair["redis"][1])
            med = {k: statistics.median(x[0] for x in v) for k, v in rows.items()}
            print(f"SET P{a.pipeline} with {replicas} replica(s): redis {med['redis']:.0f} rps  zedis {med['zedis']:.0f} rps"
                  f"  per-master-cpu ratio {statistics.median(ratios):.2f}", flush=True)


if __name__ == "__main__":
    main()
