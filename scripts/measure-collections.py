#!/usr/bin/env python3
"""Memory per element of lists, sets, hashes, sorted sets and streams: zedis-server against redis-server, in the same run.

Usage: scripts/measure-collections.py [--zedis target/release/zedis-server] [--elements 1000000]
                                      [--small-hashes 100000] [--zedis-args "--allocator system"]

For each workload it starts a fresh server (Redis first, then Zedis), fills it with pipelined commands, and
reports bytes per element from the growth of RSS (/proc/PID/status VmRSS) and of INFO used_memory.
Workloads: one list of N elements (RPUSH element:i), one set of N members (SADD member:i), one hash of N
fields (HSET field:i value:i), one sorted set of N members (ZADD), M sorted sets of 5 members, one stream of N
entries of 3 small fields (XADD *), and M small hashes of 5 fields each (HSET h:i f0 v0 ... f4 v4).
"""
import argparse
import shlex
import sys
import time

from benchlib import Conn, encode, rss_bytes, spawn, stop


def workloads(n, m):
    batch = 1000
    yield "list", n, lambda i0: [enc("RPUSH", "biglist", *[f"element:{i}" for i in range(i0, min(i0 + 100, n))])
                                for i0 in range(i0, min(i0 + batch * 100, n), 100)], batch * 100
    yield "set", n, lambda i0: [enc("SADD", "bigset", *[f"member:{i}" for i in range(i0, min(i0 + 100, n))])
                               for i0 in range(i0, min(i0 + batch * 100, n), 100)], batch * 100
    yield "hash", n, lambda i0: [enc("HSET", "bighash", *sum(([f"field:{i}", f"value:{i}"]
                                                                for i in range(i0, min(i0 + 100, n))), []))
                                for i0 in range(i0, min(i0 + batch * 100, n), 100)], batch * 100
    yield "sorted set", n, lambda i0: [enc("ZADD", "bigzset", *sum(([str(i * 7 % 1000003), f"member:{i}"]
                                                                     for i in range(i0, min(i0 + 100, n))), []))
                                      for i0 in range(i0, min(i0 + batch * 100, n), 100)], batch * 100
    yield "small sorted sets (5 members)", m, lambda i0: [
        enc("ZADD", f"z:{i}", *sum(([str(j), f"m{j}"] for j in range(5)), []))
        for i in range(i0, min(i0 + batch, m))], batch
    yield "stream (3 small fields)", n, lambda i0: [
        enc("XADD", "bigstream", "*", "a", str(i), "b", "x", "c", "yz")
        for i in range(i0, min(i0 + batch * 10, n))], batch * 10
    yield "small hashes (5 fields)", m, lambda i0: [
        enc("HSET", f"h:{i}", *sum(([f"f{j}", f"v{j}"] for j in range(5)), []))
        for i in range(i0, min(i0 + batch, m))], batch


def enc(*args):
    return encode(args)


def measure(cmd, name, count, make_batch, step):
    proc, port = spawn(cmd)
    try:
        conn = Conn(port, timeout=120)
        time.sleep(0.3)
        rss0, used0 = rss_bytes(proc.pid), int(conn.info("memory")["used_memory"])
        for i0 in range(0, count, step):
            conn.blast_ok(make_batch(i0), lines_per_reply=2 if name.startswith("stream") else 1)
        time.sleep(0.3)
        rss1, used1 = rss_bytes(proc.pid), int(conn.info("memory")["used_memory"])
        return (rss1 - rss0) / count, (used1 - used0) / count
    finally:
        stop(proc)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--zedis", default="target/release/zedis-server")
    ap.add_argument("--zedis-args", default="")
    ap.add_argument("--elements", type=int, default=1_000_000)
    ap.add_argument("--small-hashes", type=int, default=100_000)
    args = ap.parse_args()
    servers = [("redis", ["redis-server", "--port", "{port}", "--save", "", "--appendonly", "no"]),
               ("zedis", [args.zedis, "--port", "{port}", "--save", "", "--appendonly", "no"]
                         + shlex.split(args.zedis_args))]
    print(f"# Memory per element, {args.elements} elements / {args.small_hashes} small hashes")
    print(f"# command: {' '.join(shlex.quote(a) for a in sys.argv)}")
    print()
    print("| workload | redis RSS B/elem | zedis RSS B/elem | ratio | redis used_memory B/elem | zedis used_memory B/elem |")
    print("|---|---|---|---|---|---|")
    for name, count, make_batch, step in workloads(args.elements, args.small_hashes):
        results = {label: measure(cmd, name, count, make_batch, step) for label, cmd in servers}
        (r_rss, r_used), (z_rss, z_used) = results["redis"], results["zedis"]
        unit = "key" if name.startswith("small") else "element"
        print(f"| {name} (per {unit}) | {r_rss:.1f} | {z_rss:.1f} | {z_rss / r_rss:.2f} | {r_used:.1f} | {z_used:.1f} |")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
