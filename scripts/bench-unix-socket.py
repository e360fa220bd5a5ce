#!/usr/bin/env python3
"""GET and SET per second of server CPU over the Unix socket and over TCP, zedis-server against redis-server.

Usage: scripts/bench-unix-socket.py [--zedis target/release/zedis-server] [--rounds 3] [--requests 200000]
                                    [--pipeline "1 16"] [--out results.csv]

Both servers run side by side, each with a TCP port and a `unixsocket`; each round runs redis-benchmark
(`-t get,set`, 50 clients, random keys) against Redis and then Zedis, first through `-s <socket>` and then
through `-p <port>`, with the same arguments. The figure is requests per second of *server CPU* (from
/proc/PID/task/*/schedstat, benchlib.py's reading), median over rounds; wall-clock requests per second
are printed too. On a shared machine trust the per-CPU figures.
"""
import argparse
import csv
import os
import statistics
import tempfile

from benchlib import benchmark, spawn, stop

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--zedis", default="target/release/zedis-server")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--requests", type=int, default=200000)
    ap.add_argument("--random-keys", type=int, default=100000)
    ap.add_argument("--pipeline", default="1 16")
    ap.add_argument("--out", default="")
    a = ap.parse_args()
    pipelines = [int(p) for p in a.pipeline.replace(",", " ").split()]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        servers = {}
        for label, argv in (
            ("redis", ["redis-server", "--port", "{port}", "--save", "", "--appendonly", "no"]),
            ("zedis", [os.path.abspath(a.zedis), "--port", "{port}", "--save", "", "--appendonly", "no"]),
        ):
            cwd = os.path.join(tmp, label)
            os.makedirs(cwd)
            sock = os.path.join(cwd, f"{label}.sock")
            proc, port = spawn(argv + ["--unixsocket", sock, "--unixsocketperm", "700"], cwd)
            servers[label] = (proc, {"unix": ["-s", sock], "tcp": ["-p", str(port)]})
        try:
            for test in ("set", "get"):
                for p in pipelines:
                    for transport in ("unix", "tcp"):
                        per = {"redis": [], "zedis": []}
                        for _ in range(a.rounds):
                            for label, (proc, targets) in servers.items():
                                per[label].append(benchmark(proc.pid, None, [], a.requests, p, a.random_keys,
                                                            extra=["-t", test], target=targets[transport]))
                        med = {k: (statistics.median(r[0] for r in v), statistics.median(r[1] for r in v))
                               for k, v in per.items()}
                        row = {
                            "test": test, "pipeline": p, "transport": transport,
                            "redis_rps": round(med["redis"][0]), "zedis_rps": round(med["zedis"][0]),
                            "redis_per_cpu_s": round(med["redis"][1]), "zedis_per_cpu_s": round(med["zedis"][1]),
                            "per_cpu_ratio": round(med["zedis"][1] / med["redis"][1], 2),
                        }
                        rows.append(row)
                        print(f"{test:4} P{p:<3} {transport:4} redis {row['redis_rps']:>8} rps "
                              f"{row['redis_per_cpu_s']:>8}/cpu-s  zedis {row['zedis_rps']:>8} rps "
                              f"{row['zedis_per_cpu_s']:>8}/cpu-s  per-cpu {row['per_cpu_ratio']:.2f}", flush=True)
        finally:
            for proc, _ in servers.values():
                stop(proc)
    if a.out:
        with open(a.out, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)


if __name__ == "__main__":
    main()
