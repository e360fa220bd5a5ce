#!/usr/bin/env python3
"""Redis Cluster figures (issues 20 and 21), zedis-server against redis-server in the same run.

Usage: scripts/bench-cluster.py [--servers redis,zedis] [--zedis target/release/zedis-server] [--rounds 3]
                                [--keys 100000] [--slots 1000] [--node-timeout 3000] [--memory-keys 1000000]
                                [--phases converge,reshard,failover,memory]

Every phase starts fresh nodes of one kind on free ports of 127.0.0.1 (their files in a temporary
directory), and the kinds alternate round by round; medians are reported. Only stock tools drive the cluster:

- converge: six nodes, `redis-cli --cluster create ... --cluster-replicas 1 --cluster-yes`; the time from
  its start until every node reports `cluster_state:ok` with 16384 slots and 6 known nodes, after which
  `redis-cli --cluster check` must pass.
- reshard: --keys keys (`key:<i>`, 32-byte values) written to the masters that own their slots, then
  `redis-cli --cluster reshard` of --slots slots from the first master to the second; its wall time, then
  every key is looked up on the node that owns it now (all must be there).
- failover: kill -9 of the master owning slot 0 with --node-timeout; the time until its replica reports
  `role:master` and accepts a write to a key of slot 0.
- memory: one node, standalone against cluster-enabled with every slot assigned to it: used_memory and RSS
  per key for --memory-keys keys (the cost of the per-slot key index).
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import Conn, encode, free_cluster_port, rss_bytes, spawn, stop

CRC16_TABLE = []
for _i in range(256):
    _c = _i << 8
    for _ in range(8):
        _c = ((_c << 1) ^ 0x1021) if _c & 0x8000 else (_c << 1)
    CRC16_TABLE.append(_c & 0xFFFF)


def key_slot(key):
    """CRC16/XMODEM of the key, or of its first non-empty {hash tag}, modulo 16384 (Redis's keyHashSlot)."""
    start = key.find(b"{")
    if start >= 0:
        end = key.find(b"}", start + 1)
        if end > start + 1:
            key = key[start + 1:end]
    crc = 0
    for b in key:
        crc = ((crc << 8) & 0xFFFF) ^ CRC16_TABLE[((crc >> 8) ^ b) & 0xFF]
    return crc & 16383


def node_argv(kind, zedis, node_timeout):
    common = ["--port", "{port}", "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
              "--cluster-node-timeout", str(node_timeout), "--save", "", "--appendonly", "no"]
    return (["redis-server"] if kind == "redis" else [os.path.abspath(zedis)]) + common


class Cluster:
    """`n` nodes of one kind, each in its own directory under `tmp`."""

    def __init__(self, kind, zedis, tmp, n, node_timeout):
        self.kind, self.procs, self.ports = kind, [], []
        for _ in range(n):
            d = tempfile.mkdtemp(dir=tmp)
            proc, port = spawn(node_argv(kind, zedis, node_timeout), cwd=d, port=free_cluster_port())
            self.procs.append(proc)
            self.ports.append(port)

    def close(self):
        for p in self.procs:
            stop(p)

    def create(self):
        """redis-cli --cluster create with one replica per master; returns when every node agrees."""
        t0 = time.monotonic()
        run(["redis-cli", "--cluster", "create"] + [f"127.0.0.1:{p}" for p in self.ports]
            + ["--cluster-replicas", "1", "--cluster-yes"])
        self.wait_ok(t0 + 120)
        return time.monotonic() - t0

    def wait_ok(self, deadline, ports=None):
        ports = ports or self.live_ports()
        while True:
            infos = [cluster_info(p) for p in ports]
            if all(i.get("cluster_state") == "ok" and i.get("cluster_slots_ok") == "16384"
                   and i.get("cluster_known_nodes") == str(len(self.ports)) for i in infos):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.kind}: cluster did not converge: {infos}")
            time.sleep(0.02)

    def wait_replicas_linked(self, deadline):
        """Until every replica's link to its master is up (a replica that never synced may not fail over)."""
        while True:
            replicas = [n[1] for n in self.nodes() if "slave" in n[2]]
            if replicas and all(info_field(p, "replication", "master_link_status") == "up" for p in replicas):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.kind}: replicas did not link to their masters")
            time.sleep(0.05)

    def live_ports(self):
        return [p for p, proc in zip(self.ports, self.procs) if proc.poll() is None]

    def nodes(self, port=None):
        """CLUSTER NODES of `port` (the first live node): list of (id, port, flags, master id, slot ranges)."""
        with Conn(port or self.live_ports()[0]) as c:
            text = c.ok("CLUSTER", "NODES").decode()
        out = []
        for line in text.splitlines():
            f = line.split()
            out.append((f[0], int(f[1].split("@")[0].rsplit(":", 1)[1]), f[2], f[3], f[8:]))
        return out

    def owner_map(self):
        """slot -> port of the master serving it (from CLUSTER SLOTS)."""
        with Conn(self.live_ports()[0]) as c:
            slots = c.ok("CLUSTER", "SLOTS")
        owner = [None] * 16384
        for start, end, master, *_ in slots:
            for s in range(start, end + 1):
                owner[s] = master[1]
        return owner


def run(argv, timeout=600):
    out = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:3])} failed: {out.stdout[-2000:]} {out.stderr[-2000:]}")
    return out.stdout


def info_field(port, section, field):
    try:
        with Conn(port, timeout=5) as c:
            return c.info(section).get(field)
    except OSError:
        return None


def cluster_info(port):
    try:
        with Conn(port, timeout=5) as c:
            text = c.call("CLUSTER", "INFO")
    except OSError:
        return {}
    if not isinstance(text, bytes):
        return {}
    return dict(line.split(":", 1) for line in text.decode().splitlines() if ":" in line)


def keys_by_owner(owner, keys):
    groups = {}
    for i in range(keys):
        k = b"key:%d" % i
        groups.setdefault(owner[key_slot(k)], []).append(k)
    return groups


def load(cluster, keys):
    value = b"v" * 32
    for port, ks in keys_by_owner(cluster.owner_map(), keys).items():
        with Conn(port, timeout=120) as c:
            for i in range(0, len(ks), 10000):
                c.blast_ok([encode([b"SET", k, value]) for k in ks[i:i + 10000]])


def present(cluster, keys):
    """How many of key:0..keys-1 the node owning each key's slot has."""
    found = 0
    for port, ks in keys_by_owner(cluster.owner_map(), keys).items():
        with Conn(port, timeout=120) as c:
            for i in range(0, len(ks), 10000):
                batch = ks[i:i + 10000]
                c.sock.sendall(b"".join(encode([b"EXISTS", k]) for k in batch))
                found += sum(c.reply() == 1 for _ in batch)
    return found


def phase_converge(kind, a, tmp):
    cluster = Cluster(kind, a.zedis, tmp, 6, a.node_timeout)
    try:
        took = cluster.create()
        out = run(["redis-cli", "--cluster", "check", f"127.0.0.1:{cluster.ports[0]}"])
        if "[OK] All 16384 slots covered." not in out:
            raise RuntimeError(f"{kind}: check failed: {out}")
        return {"converge_s": took}
    finally:
        cluster.close()


def phase_reshard(kind, a, tmp):
    cluster = Cluster(kind, a.zedis, tmp, 6, a.node_timeout)
    try:
        cluster.create()
        load(cluster, a.keys)
        # Masters serving slots (a replica may still be seen as a slotless master until gossip catches up).
        masters = [n for n in cluster.nodes() if "master" in n[2] and n[4]]
        masters.sort(key=lambda n: int(n[4][0].split("-")[0]))
        src, dst = masters[0][0], masters[1][0]
        t0 = time.monotonic()
        run(["redis-cli", "--cluster", "reshard", f"127.0.0.1:{cluster.ports[0]}", "--cluster-from", src,
             "--cluster-to", dst, "--cluster-slots", str(a.slots), "--cluster-yes"], timeout=3600)
        took = time.monotonic() - t0
        cluster.wait_ok(time.monotonic() + 60)
        found = present(cluster, a.keys)
        if found != a.keys:
            raise RuntimeError(f"{kind}: {a.keys - found} keys missing after the reshard")
        return {"reshard_s": took}
    finally:
        cluster.close()


def phase_failover(kind, a, tmp):
    cluster = Cluster(kind, a.zedis, tmp, 6, a.node_timeout)
    try:
        cluster.create()
        cluster.wait_replicas_linked(time.monotonic() + 120)
        nodes = cluster.nodes()
        victim = next(n for n in nodes if "master" in n[2] and any(r.split("-")[0] == "0" for r in n[4]))
        replica = next(n for n in nodes if n[3] == victim[0])
        key = next(b"k%d" % i for i in range(100000) if key_slot(b"k%d" % i) == 0)
        proc = cluster.procs[cluster.ports.index(victim[1])]
        t0 = time.monotonic()
        proc.kill()
        proc.wait()
        while True:
            try:
                with Conn(replica[1], timeout=5) as c:
                    if b"role:master" in c.call("INFO", "replication") and c.call("SET", key, "v") == b"OK":
                        return {"failover_s": time.monotonic() - t0}
            except OSError:
                pass
            if time.monotonic() - t0 > 120:
                raise RuntimeError(f"{kind}: replica of the killed master was not promoted in 120 s")
            time.sleep(0.01)
    finally:
        cluster.close()


def phase_memory(kind, a, tmp):
    out = {}
    for mode in ("standalone", "cluster"):
        argv = (["redis-server"] if kind == "redis" else [os.path.abspath(a.zedis)]) + [
            "--port", "{port}", "--save", "", "--appendonly", "no"]
        if mode == "cluster":
            argv += ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"]
        proc, port = spawn(argv, cwd=tempfile.mkdtemp(dir=tmp), port=free_cluster_port())
        try:
            with Conn(port, timeout=120) as c:
                if mode == "cluster":
                    c.ok("CLUSTER", "ADDSLOTSRANGE", 0, 16383)
                    deadline = time.monotonic() + 30
                    while b"cluster_state:ok" not in c.call("CLUSTER", "INFO"):
                        if time.monotonic() > deadline:
                            raise RuntimeError(f"{kind}: single-node cluster not ok")
                        time.sleep(0.05)
                time.sleep(0.2)
                rss0, used0 = rss_bytes(proc.pid), int(c.info("memory")["used_memory"])
                value = b"v" * 32
                for i in range(0, a.memory_keys, 20000):
                    c.blast_ok([encode([b"SET", b"key:%012d" % j, value])
                                for j in range(i, min(i + 20000, a.memory_keys))])
                time.sleep(0.2)
                rss1, used1 = rss_bytes(proc.pid), int(c.info("memory")["used_memory"])
            out[f"{mode}_used_B"] = (used1 - used0) / a.memory_keys
            out[f"{mode}_rss_B"] = (rss1 - rss0) / a.memory_keys
        finally:
            stop(proc)
    return out


PHASES = {"converge": phase_converge, "reshard": phase_reshard, "failover": phase_failover,
          "memory": phase_memory}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--servers", default="redis,zedis")
    ap.add_argument("--zedis", default="target/release/zedis-server")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--keys", type=int, default=100000)
    ap.add_argument("--slots", type=int, default=1000)
    ap.add_argument("--node-timeout", type=int, default=3000)
    ap.add_argument("--memory-keys", type=int, default=1000000)
    ap.add_argument("--phases", default=",".join(PHASES))
    a = ap.parse_args()
    kinds = [k for k in a.servers.split(",") if k]
    phases = [p for p in a.phases.split(",") if p]
    for p in phases:
        if p not in PHASES:
            sys.exit(f"unknown phase {p}; known: {', '.join(PHASES)}")
    if not shutil.which("redis-cli"):
        sys.exit("redis-cli is needed (apt-get install -y redis-tools)")
    print(f"# command: {' '.join(sys.argv)}")
    print(f"# {a.rounds} rounds, servers alternate; medians (min-max)\n")
    print("| phase | figure | " + " | ".join(kinds) + (" | zedis/redis |" if kinds == ["redis", "zedis"] else " |"))
    print("|---|---|" + "---|" * (len(kinds) + (1 if kinds == ["redis", "zedis"] else 0)))
    with tempfile.TemporaryDirectory() as tmp:
        for phase in phases:
            results = {k: [] for k in kinds}
            for r in range(a.rounds):
                for kind in (kinds if r % 2 == 0 else list(reversed(kinds))):
                    results[kind].append(PHASES[phase](kind, a, tmp))
            for figure in results[kinds[0]][0]:
                med = {k: statistics.median(x[figure] for x in v) for k, v in results.items()}
                cells = [f"{med[k]:.2f} ({min(x[figure] for x in results[k]):.2f}-"
                         f"{max(x[figure] for x in results[k]):.2f})" for k in kinds]
                ratio = f" {med['zedis'] / med['redis']:.2f} |" if kinds == ["redis", "zedis"] else ""
                print(f"| {phase} | {figure} | " + " | ".join(cells) + " |" + ratio, flush=True)


if __name__ == "__main__":
    main()
