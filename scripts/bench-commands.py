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
import socket
import statistics
import subprocess
import sys
import tempfile
import time

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


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def encode(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def command(port, args):
    """Send one command and return its raw reply (enough for setup replies: status, integer, bulk)."""
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(encode(args))
        data = s.recv(1 << 16)
        if data.startswith(b"-"):
            raise RuntimeError(f"{args[0]}: {data.decode().strip()}")
        return data


def cpu_ns(pid):
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except OSError:
            pass
    return total


def start(argv, cwd):
    port = free_port()
    argv = [a.replace("{port}", str(port)) for a in argv]
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            if command(port, ["PING"]).startswith(b"+PONG"):
                return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"{argv[0]} did not start")


def bench(pid, port, args, requests, pipeline, random_keys):
    before = cpu_ns(pid)
    t0 = time.monotonic()
    out = subprocess.run(
        ["redis-benchmark", "-p", str(port), "-n", str(requests), "-c", "50", "-P", str(pipeline),
         "-r", str(random_keys), "-q", "--csv"] + args,
        check=True, capture_output=True, text=True, timeout=600,
    ).stdout
    wall = time.monotonic() - t0
    cpu = (cpu_ns(pid) - before) / 1e9
    rows = [line for line in out.splitlines() if line and not line.startswith('"test"')]
    if not rows:
        raise RuntimeError(f"no result from redis-benchmark: {out}")
    rps = float(rows[-1].split(",")[1].strip('"'))
    return rps, requests / cpu if cpu > 0 else float("nan"), wall


class Resp:
    """A blocking RESP2 client with a minimal reply parser (for workloads redis-benchmark cannot drive)."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.buf = b""

    def _line(self):
        while b"\r\n" not in self.buf:
            self.buf += self.sock.recv(1 << 20)
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind in (b"+", b":"):
            return rest
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self.buf += self.sock.recv(1 << 20)
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        raise RuntimeError(f"unexpected reply {line!r}")

    def call(self, *args):
        self.sock.sendall(encode(args))
        return self.reply()


def xreadgroup_xack(pid, port, requests, batch):
    """XREADGROUP COUNT <batch> then XACK of the ids read, until `requests` entries were read and acked.
    Returns (entries per wall second, entries per server-CPU second)."""
    c = Resp(port)
    c.call("DEL", "q")
    for base in range(0, requests, 1000):
        c.sock.sendall(b"".join(encode(["XADD", "q", "*", "job", str(i), "payload", "x" * 16])
                                for i in range(base, min(base + 1000, requests))))
        for _ in range(base, min(base + 1000, requests)):
            c.reply()
    c.call("XGROUP", "CREATE", "q", "g", "0")
    before, t0, done = cpu_ns(pid), time.monotonic(), 0
    while done < requests:
        r = c.call("XREADGROUP", "GROUP", "g", "worker", "COUNT", str(batch), "STREAMS", "q", ">")
        ids = [entry[0] for entry in r[0][1]] if r else []
        if not ids:
            break
        c.call("XACK", "q", "g", *ids)
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
                ("zedis", [os.path.abspath(a.zedis), "--port", "{port}"] + a.zedis_args.split()),
            ):
                cwd = os.path.join(tmp, f"{name}-{label}")
                os.makedirs(cwd)
                proc, port = start(argv, cwd)
                for cmd in setup:
                    command(port, cmd)
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
                                pair[label] = bench(proc.pid, port, args, a.requests, p, a.random_keys)
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
