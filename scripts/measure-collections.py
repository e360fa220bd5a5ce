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
import os
import shlex
import socket
import subprocess
import sys
import time


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def encode(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class Conn:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.buf = b""

    def pipeline(self, commands):
        self.sock.sendall(b"".join(commands))
        replies = 0
        while replies < len(commands):
            data = self.sock.recv(1 << 20)
            if not data:
                raise RuntimeError("server closed the connection")
            self.buf += data
            # Replies here are simple lines (:n, +OK, -ERR); count CRLF-terminated lines.
            lines = self.buf.split(b"\r\n")
            self.buf = lines.pop()
            for line in lines:
                if line.startswith(b"-"):
                    raise RuntimeError(line.decode())
                replies += 1

    def info(self, field):
        self.sock.sendall(encode("INFO", "memory"))
        data = b""
        while b"used_memory:" not in data or not data.endswith(b"\r\n"):
            data += self.sock.recv(1 << 16)
        for line in data.decode().split("\r\n"):
            if line.startswith(field + ":"):
                return int(line.split(":")[1])
        raise RuntimeError(f"no {field}")


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def start(cmd):
    port = free_port()
    argv = [a.replace("{port}", str(port)) for a in cmd]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port)).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"{argv[0]} did not start")


def workloads(n, m):
    batch = 1000
    yield "list", n, lambda i0: [encode("RPUSH", "biglist", *[f"element:{i}" for i in range(i0, min(i0 + 100, n))])
                                for i0 in range(i0, min(i0 + batch * 100, n), 100)], batch * 100
    yield "set", n, lambda i0: [encode("SADD", "bigset", *[f"member:{i}" for i in range(i0, min(i0 + 100, n))])
                               for i0 in range(i0, min(i0 + batch * 100, n), 100)], batch * 100
    yield "hash", n, lambda i0: [encode("HSET", "bighash", *sum(([f"field:{i}", f"value:{i}"]
                                                                for i in range(i0, min(i0 + 100, n))), []))
                                for i0 in range(i0, min(i0 + batch * 100, n), 100)], batch * 100
    yield "sorted set", n, lambda i0: [encode("ZADD", "bigzset", *sum(([str(i * 7 % 1000003), f"member:{i}"]
                                                                     for i in range(i0, min(i0 + 100, n))), []))
                                      for i0 in range(i0, min(i0 + batch * 100, n), 100)], batch * 100
    yield "small sorted sets (5 members)", m, lambda i0: [
        encode("ZADD", f"z:{i}", *sum(([str(j), f"m{j}"] for j in range(5)), []))
        for i in range(i0, min(i0 + batch, m))], batch
    yield "stream (3 small fields)", n, lambda i0: [
        encode("XADD", "bigstream", "*", "a", str(i), "b", "x", "c", "yz")
        for i in range(i0, min(i0 + batch * 10, n))], batch * 10
    yield "small hashes (5 fields)", m, lambda i0: [
        encode("HSET", f"h:{i}", *sum(([f"f{j}", f"v{j}"] for j in range(5)), []))
        for i in range(i0, min(i0 + batch, m))], batch


def measure(cmd, name, count, make_batch, step):
    proc, port = start(cmd)
    try:
        conn = Conn(port)
        time.sleep(0.3)
        rss0, used0 = rss_bytes(proc.pid), conn.info("used_memory")
        for i0 in range(0, count, step):
            conn.pipeline(make_batch(i0))
        time.sleep(0.3)
        rss1, used1 = rss_bytes(proc.pid), conn.info("used_memory")
        return (rss1 - rss0) / count, (used1 - used0) / count
    finally:
        proc.kill()
        proc.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--zedis", default="target/release/zedis-server")
    ap.add_argument("--zedis-args", default="")
    ap.add_argument("--elements", type=int, default=1_000_000)
    ap.add_argument("--small-hashes", type=int, default=100_000)
    args = ap.parse_args()
    servers = [("redis", ["redis-server", "--port", "{port}", "--save", "", "--appendonly", "no"]),
               ("zedis", [args.zedis, "--port", "{port}"] + shlex.split(args.zedis_args))]
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
