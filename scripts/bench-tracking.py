#!/usr/bin/env python3
"""Client-side caching cost: SET/GET throughput per server CPU with 0 and with 1,000 tracking clients (default
mode and BCAST), zedis-server against redis-server 7.0 in the same run.

Usage: scripts/bench-tracking.py [--zedis target/release/zedis-server] [--rounds 3] [--requests 200000]
                                 [--clients 1000] [--keys 10000] [--pipeline 16]

Each round starts both servers in turn and, per mode:
- `none`: redis-benchmark -t set,get (50 connections, --pipeline, keys key:<12 digits> from --keys);
- `default`: first --clients RESP3 connections each send `CLIENT TRACKING ON` and GET 20 random keys of the
  benchmark's keyspace; while redis-benchmark runs, a drainer reads every push on those connections and, as a
  client-side cache does, GETs each invalidated key again (so it is tracked again);
- `bcast`: the same connections with `CLIENT TRACKING ON BCAST PREFIX key:` (every write invalidates on every
  connection); the drainer only counts.
The figure is commands served per second of server CPU (/proc/PID/task/*/schedstat): redis-benchmark's requests
plus the drainer's re-GETs (sent during the run; a faster server invalidates more often, so it gets more of them),
and the invalidation messages received per second of server CPU; ratios Zedis / Redis, medians over rounds.
"""

import argparse
import os
import random
import selectors
import socket
import statistics
import subprocess
import tempfile
import threading
import time

from benchlib import cpu_ns, encode, spawn, stop


def key(i):
    return b"key:%012d" % i


def parse(buf, pos):
    """One RESP3 value from buf[pos:]: (value, next position), or None when incomplete. Pushes and arrays
    are lists, bulk strings bytes, everything else the raw line."""
    end = buf.find(b"\r\n", pos)
    if end < 0:
        return None
    kind, line = buf[pos:pos + 1], buf[pos + 1:end]
    pos = end + 2
    if kind in (b"$", b"="):
        n = int(line)
        if n < 0:
            return None, pos
        if len(buf) < pos + n + 2:
            return None
        return buf[pos:pos + n], pos + n + 2
    if kind in (b"*", b">", b"~", b"%"):
        n = int(line) * (2 if kind == b"%" else 1)
        items = []
        for _ in range(max(n, 0)):
            got = parse(buf, pos)
            if got is None:
                return None
            item, pos = got
            items.append(item)
        return items, pos
    return line, pos


class Trackers:
    """--clients RESP3 connections with CLIENT TRACKING on, and a thread draining their pushes."""

    def __init__(self, port, count, mode, keys):
        self.socks, self.bufs = [], {}
        self.invalidations = 0
        self.regets_sent = 0
        self.regets = mode == "default"
        self.stop = threading.Event()
        rng = random.Random(7)
        setup = [["HELLO", "3"], ["CLIENT", "TRACKING", "ON"] + (["BCAST", "PREFIX", "key:"] if mode == "bcast" else [])]
        for _ in range(count):
            s = socket.create_connection(("127.0.0.1", port))
            cmds = setup + ([["GET", key(rng.randrange(keys))] for _ in range(20)] if mode == "default" else [])
            s.sendall(b"".join(encode(c) for c in cmds))
            expect, buf = len(cmds), b""
            while expect:
                buf += s.recv(1 << 16)
                while expect:
                    got = parse(buf, 0)
                    if got is None:
                        break
                    value, used = got
                    buf = buf[used:]
                    if isinstance(value, bytes) and value.startswith(b"ERR"):
                        raise RuntimeError(value)
                    expect -= 1
            s.setblocking(False)
            self.socks.append(s)
            self.bufs[s] = buf
        self.thread = threading.Thread(target=self.drain, daemon=True)
        self.thread.start()

    def drain(self):
        sel = selectors.DefaultSelector()
        for s in self.socks:
            sel.register(s, selectors.EVENT_READ)
        while not self.stop.is_set():
            for ev, _ in sel.select(timeout=0.1):
                s = ev.fileobj
                try:
                    data = s.recv(1 << 20)
                except BlockingIOError:
                    continue
                if not data:
                    sel.unregister(s)
                    continue
                buf = self.bufs[s] + data
                pos, regets = 0, []
                while True:
                    got = parse(buf, pos)
                    if got is None:
                        break
                    value, pos = got
                    if isinstance(value, list) and value and value[0] == b"invalidate":
                        self.invalidations += 1
                        if self.regets and isinstance(value[1], list):
                            regets.extend(value[1])
                self.bufs[s] = buf[pos:]
                if regets:
                    try:
                        s.sendall(b"".join(encode(["GET", k]) for k in regets))
                        self.regets_sent += len(regets)
                    except (BlockingIOError, OSError):
                        pass
        sel.close()

    def close(self):
        self.stop.set()
        self.thread.join()
        for s in self.socks:
            s.close()


def server_argv(kind, zedis):
    if kind == "redis":
        return ["redis-server", "--port", "{port}", "--save", "", "--appendonly", "no", "--maxclients", "4000"]
    return [os.path.abspath(zedis), "--port", "{port}", "--save", "", "--appendonly", "no", "--maxclients", "4000"]


def run(kind, zedis, mode, a, tmp):
    proc, port = spawn(server_argv(kind, zedis), tempfile.mkdtemp(dir=tmp))
    trackers = None
    try:
        subprocess.run(["redis-benchmark", "-p", str(port), "-t", "set", "-n", str(a.keys * 2), "-r", str(a.keys),
                        "-P", "16", "-q"], check=True, capture_output=True, timeout=600)
        if mode != "none":
            trackers = Trackers(port, a.clients, mode, a.keys)
        before = cpu_ns(proc.pid)
        base = (trackers.invalidations, trackers.regets_sent) if trackers else (0, 0)
        out = subprocess.run(["redis-benchmark", "-p", str(port), "-t", "set,get", "-n", str(a.requests),
                              "-r", str(a.keys), "-c", "50", "-P", str(a.pipeline), "-q", "--csv"],
                             check=True, capture_output=True, text=True, timeout=900).stdout
        cpu = (cpu_ns(proc.pid) - before) / 1e9
        time.sleep(0.2)
        pushes = (trackers.invalidations - base[0]) if trackers else 0
        regets = (trackers.regets_sent - base[1]) if trackers else 0
        rps = {line.split(",")[0].strip('"'): float(line.split(",")[1].strip('"'))
               for line in out.splitlines() if line.startswith('"') and not line.startswith('"test"')}
        return {"per_cpu": (2 * a.requests + regets) / cpu, "wall": statistics.mean(rps.values()),
                "pushes_per_cpu": pushes / cpu}
    finally:
        if trackers:
            trackers.close()
        stop(proc)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--zedis", default="target/release/zedis-server")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--requests", type=int, default=200000)
    ap.add_argument("--clients", type=int, default=1000)
    ap.add_argument("--keys", type=int, default=10000)
    ap.add_argument("--pipeline", type=int, default=16)
    a = ap.parse_args()
    print(f"SET+GET, {a.requests} requests each, 50 connections, pipeline {a.pipeline}, {a.keys} keys; "
          f"{a.clients} tracking connections; medians of {a.rounds} rounds\n")
    print("| tracking | redis cmds/CPU-s | zedis cmds/CPU-s | ratio | redis pushes/CPU-s | zedis pushes/CPU-s |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for mode in ("none", "default", "bcast"):
            rows = {"redis": [], "zedis": []}
            ratios = []
            for _ in range(a.rounds):
                pair = {kind: run(kind, a.zedis, mode, a, tmp) for kind in ("redis", "zedis")}
                for kind, v in pair.items():
                    rows[kind].append(v)
                ratios.append(pair["zedis"]["per_cpu"] / pair["redis"]["per_cpu"])
            med = {k: {f: statistics.median(r[f] for r in v) for f in v[0]} for k, v in rows.items()}
            print(f"| {mode} | {med['redis']['per_cpu']:.0f} | {med['zedis']['per_cpu']:.0f} | "
                  f"{statistics.median(ratios):.2f} | {med['redis']['pushes_per_cpu']:.0f} | "
                  f"{med['zedis']['pushes_per_cpu']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
