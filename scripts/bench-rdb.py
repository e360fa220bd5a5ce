#!/usr/bin/env python3
"""RDB figures, zedis-server against redis-server 7.0 in the same run: SAVE time, load time and file size
for a dataset of mixed types, and each server loading the other's file.

Usage: scripts/bench-rdb.py [--keys 1000000] [--rounds 3] [--zedis target/release/zedis-server]

Dataset (--keys keys, the same commands to both servers): of every 10 keys, 3 strings of 32 bytes, 2 integer
strings, and one each of a 5-field hash, a 5-element list, a 5-member integer set, a 5-member string set and a
5-member sorted set; one key in 20 has a TTL. SAVE is timed by the client (the reply comes when the file is
fsynced and renamed). Load is timed from the server's spawn until DBSIZE answers the full count, minus the
median startup time of an empty server of the same kind. Medians over --rounds rounds, servers alternating.
Then each server loads the other's file and must report the same DBSIZE and values for sample keys, and
redis-check-rdb must accept Zedis's file.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import Conn, encode, free_port, stop, zedis_bin


def dataset(first, count):
    """Pre-encoded commands for keys first..first+count, and their number."""
    out = []
    for i in range(first, first + count):
        key = b"key:%010d" % i
        kind = i % 10
        if kind < 3:
            out.append(encode([b"SET", key, b"v" * 32]))
        elif kind < 5:
            out.append(encode([b"SET", key, b"%d" % (i * 7919)]))
        elif kind == 5:
            out.append(encode([b"HSET", key] + [x for f in range(5) for x in (b"field%d" % f, b"value%d" % i)]))
        elif kind == 6:
            out.append(encode([b"RPUSH", key] + [b"item-%d-%d" % (i, e) for e in range(5)]))
        elif kind == 7:
            out.append(encode([b"SADD", key] + [b"%d" % (i + e) for e in range(5)]))
        elif kind == 8:
            out.append(encode([b"SADD", key] + [b"member-%d" % e for e in range(5)]))
        else:
            out.append(encode([b"ZADD", key] + [x for e in range(5) for x in (b"%d.5" % e, b"m%d" % e)]))
        if i % 20 == 0:
            out.append(encode([b"PEXPIRE", key, b"3600000000"]))
    return b"".join(out), len(out)


def argv_for(kind, zedis, port, d):
    common = ["--port", str(port), "--dir", d, "--dbfilename", "dump.rdb", "--appendonly", "no", "--save", ""]
    if kind == "redis":
        return [shutil.which("redis-server") or "redis-server"] + common
    return [zedis] + common


def spawn(kind, zedis, d, keys):
    """Starts a server on `d`; returns (process, port, seconds until DBSIZE == keys)."""
    port = free_port()
    t0 = time.monotonic()
    proc = subprocess.Popen(argv_for(kind, zedis, port, d), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while True:
        try:
            c = Conn(port, timeout=5)
            while True:
                n = c.call("DBSIZE")
                if n == keys:
                    elapsed = time.monotonic() - t0
                    c.close()
                    return proc, port, elapsed
                time.sleep(0.002)
        except (OSError, ConnectionError):
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"{kind} exited while starting on {d}")
        if time.monotonic() - t0 > 600:
            proc.kill()
            raise RuntimeError(f"{kind} did not load {keys} keys in 600 s")
        time.sleep(0.002)


def populate(port, keys):
    c = Conn(port, timeout=120)
    batch = 20000
    for first in range(0, keys, batch):
        payload, n = dataset(first, min(batch, keys - first))
        _, errors, first_error = c.blast(payload, n)
        if errors:
            raise RuntimeError(f"populating: {first_error}")
    c.close()


def samples(port, keys):
    c = Conn(port)
    out = []
    for i in range(0, keys, max(1, keys // 50)):
        key = b"key:%010d" % i
        t = c.call("TYPE", key)
        dump = {b"string": ("GET", key), b"hash": ("HGETALL", key), b"list": ("LRANGE", key, 0, -1),
                b"set": ("SMEMBERS", key), b"zset": ("ZRANGE", key, 0, -1, "WITHSCORES")}[t]
        v = c.call(*dump)
        out.append((key, t, sorted(v) if t in (b"set", b"hash") else v, c.call("TTL", key) > 0))
    c.close()
    return out


def one_round(kind, zedis, keys, empty_start):
    d = tempfile.mkdtemp(prefix=f"zedis-bench-rdb-{kind}-")
    proc, port, _ = spawn(kind, zedis, d, 0)
    populate(port, keys)
    c = Conn(port, timeout=600)
    t0 = time.monotonic()
    reply = c.call("SAVE")
    save = time.monotonic() - t0
    c.close()
    if reply != b"OK":
        raise RuntimeError(f"{kind} SAVE: {reply!r}")
    stop(proc)
    size = os.path.getsize(os.path.join(d, "dump.rdb"))
    proc, port, loaded = spawn(kind, zedis, d, keys)
    stop(proc)
    return save, max(0.0, loaded - empty_start), size, d


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--zedis", default=zedis_bin())
    ap.add_argument("--keys", type=int, default=1000000)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    zedis = os.path.abspath(a.zedis)
    empty = {}
    for kind in ("redis", "zedis"):
        times = []
        for _ in range(3):
            d = tempfile.mkdtemp(prefix="zedis-bench-rdb-empty-")
            proc, _, t = spawn(kind, zedis, d, 0)
            stop(proc)
            shutil.rmtree(d, ignore_errors=True)
            times.append(t)
        empty[kind] = statistics.median(times)
    rows = {"redis": [], "zedis": []}
    dirs = {}
    for r in range(a.rounds):
        for kind in ("redis", "zedis"):
            save, load, size, d = one_round(kind, zedis, a.keys, empty[kind])
            rows[kind].append((save, load, size))
            if r == a.rounds - 1:
                dirs[kind] = d
            else:
                shutil.rmtree(d, ignore_errors=True)
    med = {k: [statistics.median(x[i] for x in v) for i in range(3)] for k, v in rows.items()}
    print(f"## RDB: {a.keys} keys of mixed types, medians of {a.rounds} rounds\n")
    print("| | SAVE (s) | load (s) | file (bytes) | file bytes per key |")
    print("|---|---|---|---|---|")
    for kind in ("zedis", "redis"):
        s, l, z = med[kind]
        print(f"| {kind} | {s:.3f} | {l:.3f} | {z:.0f} | {z / a.keys:.1f} |")
    (zs, zl, zz), (rs, rl, rz) = med["zedis"], med["redis"]
    print(f"| ratio zedis/redis | {zs / rs:.2f} | {zl / max(rl, 1e-9):.2f} | {zz / rz:.2f} | |")
    print(f"\n(load = spawn until DBSIZE answers {a.keys}, minus an empty server's startup: "
          f"redis {empty['redis'] * 1000:.0f} ms, zedis {empty['zedis'] * 1000:.0f} ms)\n")

    check = subprocess.run(["redis-check-rdb", os.path.join(dirs["zedis"], "dump.rdb")], capture_output=True, text=True)
    ok = check.returncode == 0 and "RDB looks OK" in check.stdout
    print(f"- redis-check-rdb on Zedis's file: {'OK' if ok else 'FAILED'}")
    for src, dst in (("zedis", "redis"), ("redis", "zedis")):
        proc, port, t = spawn(src, zedis, dirs[src], a.keys)
        want = samples(port, a.keys)
        stop(proc)
        d = tempfile.mkdtemp(prefix="zedis-bench-rdb-cross-")
        shutil.copy(os.path.join(dirs[src], "dump.rdb"), os.path.join(d, "dump.rdb"))
        proc, port, t = spawn(dst, zedis, d, a.keys)
        got = samples(port, a.keys)
        stop(proc)
        shutil.rmtree(d, ignore_errors=True)
        same = "same DBSIZE and sample values" if got == want else "DIFFERENT sample values"
        print(f"- {dst} loads {src}'s file: {a.keys} keys in {max(0.0, t - empty[dst]):.3f} s, {same}")
    for d in dirs.values():
        shutil.rmtree(d, ignore_errors=True)
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
