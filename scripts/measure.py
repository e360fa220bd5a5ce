#!/usr/bin/env python3
"""Memory measurements of zedis-server presets against redis-server (ISSUES 3 and 6).

Used by scripts/measure-budget.sh, scripts/measure-ttl.sh and scripts/measure-bytes-per-key.sh; run one of
those rather than this file. Standard library only: a raw RESP client, a sampler thread (INFO memory and
/proc/<pid>/status every `--sample-ms`), servers started as children on free ports, markdown tables on stdout.

Subcommands:
  budget         --maxmemory 64mb: 300k 1 KB SETs to new keys (redis-benchmark), per preset and policy.
  ttl            200k keys with a 1 s TTL, never touched again: time until DBSIZE is near 0, memory before and
                 after, and the worst round trip of a client pinging all along.
  bytes-per-key  1M keys with 32-byte values, without and with a TTL, per preset and redis-server.
"""

import argparse
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from benchlib import Conn, Error, free_port, zedis_bin


def set_payload(first, count, value, extra=()):
    """`SET key:<12 digits> value [extra...]` for keys first..first+count (redis-benchmark's key shape)."""
    tail = b"".join(b"$%d\r\n%s\r\n" % (len(e), e) for e in extra)
    head = b"*%d\r\n$3\r\nSET\r\n$16\r\n" % (3 + len(extra))
    val = b"$%d\r\n%s\r\n" % (len(value), value)
    return b"".join(
        head + b"key:%012d\r\n" % i + val + tail for i in range(first, first + count)
    )


# --------------------------------------------------------------------------------------------- servers


class Server:
    """A server child process on a free port, in a temporary working directory (no persistence)."""

    def __init__(self, label, argv):
        self.label = label
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="zedis-measure-")
        argv = argv + ["--port", str(self.port), "--save", "", "--appendonly", "no", "--dir", self.dir]
        self.log = open(os.path.join(self.dir, "server.log"), "wb")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, cwd=self.dir)
        deadline = time.time() + 20
        while True:
            try:
                c = Conn(self.port, timeout=2)
                if c.call("PING") == b"PONG":
                    c.close()
                    break
            except OSError:
                pass
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"{label} did not start: {self.log_tail()}")
            time.sleep(0.05)
        self.conn = Conn(self.port)

    def log_tail(self, lines=10):
        self.log.flush()
        with open(os.path.join(self.dir, "server.log"), "rb") as f:
            return b"\n".join(f.read().splitlines()[-lines:]).decode(errors="replace")

    def proc_status(self):
        """(VmRSS, VmHWM) in bytes."""
        fields = {}
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                fields[k] = v
        kb = lambda k: int(fields[k].split()[0]) * 1024  # noqa: E731
        return kb("VmRSS"), kb("VmHWM")

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        try:
            self.conn.close()
        except OSError:
            pass
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def start(label, maxmemory=None, policy=None, hz=None):
    """`label`: `zedis` / `system` (zedis-server presets) or `redis` (redis-server 7 from PATH)."""
    if label == "redis":
        argv = [shutil.which("redis-server") or "redis-server"]
    else:
        argv = [zedis_bin(), "--allocator", label]
    if maxmemory is not None:
        argv += ["--maxmemory", str(maxmemory)]
    if policy is not None:
        argv += ["--maxmemory-policy", policy]
    if hz is not None:
        argv += ["--hz", str(hz)]
    return Server(label, argv)


def servers_wanted(names):
    out = []
    for name in names.split(","):
        if name == "redis" and not shutil.which("redis-server"):
            print(f"# redis-server not on PATH: skipping it", file=sys.stderr)
            continue
        out.append(name)
    return out


class Sampler(threading.Thread):
    """Every `period` seconds: INFO memory used_memory (own connection) and VmRSS; keeps maxima and a series."""

    def __init__(self, server, period):
        super().__init__(daemon=True)
        self.server, self.period = server, period
        self.stop_flag = threading.Event()
        self.max_used = self.max_rss = 0
        self.samples = []

    def run(self):
        conn = Conn(self.server.port)
        t0 = time.monotonic()
        while not self.stop_flag.is_set() and self.server.alive():
            try:
                used = int(conn.info("memory")["used_memory"])
                rss, _ = self.server.proc_status()
            except (OSError, ValueError, KeyError, ConnectionError):
                break
            self.max_used = max(self.max_used, used)
            self.max_rss = max(self.max_rss, rss)
            self.samples.append((time.monotonic() - t0, used, rss))
            self.stop_flag.wait(self.period)
        conn.close()

    def finish(self):
        self.stop_flag.set()
        self.join()


def mib(n):
    return f"{n / 2**20:.1f}"


def table(header, rows):
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for row in rows:
        print("| " + " | ".join(str(c) for c in row) + " |")
    print()


# --------------------------------------------------------------------------------------------- budget


def redis_benchmark_argv(port, a):
    return [
        shutil.which("redis-benchmark") or "redis-benchmark",
        "-p", str(port), "-t", "set", "-n", str(a.requests), "-r", "100000000",
        "-d", str(a.value_bytes), "-c", str(a.clients), "-q",
    ]


def budget_trial(label, policy, a):
    srv = start(label, maxmemory=a.maxmemory, policy=policy)
    try:
        srv.conn.call("SET", "probe", "still-readable")
        mem0 = srv.conn.info("memory")
        limit = int(mem0["maxmemory"])  # the server's own reading of the units (mb = MiB)
        rss0, _ = srv.proc_status()
        sampler = Sampler(srv, a.sample_ms / 1000)
        sampler.start()
        t0 = time.monotonic()
        bench = subprocess.run(redis_benchmark_argv(srv.port, a), capture_output=True, text=True)
        elapsed = time.monotonic() - t0
        row = {"server": label, "policy": policy, "limit": limit, "used0": int(mem0["used_memory"])}
        if policy == "noeviction":
            # redis-benchmark exits at the first error reply: the -OOM. Its clients are gone now, which frees
            # their buffers, so keep writing new keys until the budget is full again: the next write must get
            # -OOM, and reads must keep working.
            accepted, reply = 0, None
            value = "x" * a.value_bytes
            while accepted < 1_000_000:
                reply = srv.conn.call("SET", f"after-full:{accepted}", value)
                if isinstance(reply, Error):
                    break
                accepted += 1
            r = srv.conn.call("GET", "probe")
            bench_oom = "OOM" in bench.stderr
            row["oom"] = (
                f"yes ({'benchmark stopped at it, ' if bench_oom else ''}+{accepted} writes later)"
                if isinstance(reply, Error) and reply.startswith("OOM")
                else f"**no** ({reply!r})"
            )
            row["reads"] = "yes" if r == b"still-readable" else f"**no** ({r!r})"
        time.sleep(0.3)
        sampler.finish()
        row["alive"] = "yes" if srv.alive() else "**no**"
        if not srv.alive():
            return row
        mem = srv.conn.info("memory")
        stats = srv.conn.info("stats")
        _, hwm = srv.proc_status()
        peak = int(mem.get("used_memory_peak", 0))
        max_used = max(sampler.max_used, int(mem["used_memory"]))
        out = bench.stdout.strip().replace("\r", "\n").splitlines()
        row.update(
            max_used=max_used,
            peak=peak,
            within="yes" if max(max_used, peak) <= limit else "**no**",
            hwm=hwm,
            rss0=rss0,
            evicted=int(stats.get("evicted_keys", 0)),
            flushes=stats.get("eviction_flushes", "-"),
            dbsize=srv.conn.call("DBSIZE"),
            secs=elapsed,
            samples=len(sampler.samples),
            bench=(out[-1] if out else "") + (" / " + bench.stderr.strip() if bench.stderr.strip() else ""),
        )
        return row
    finally:
        srv.stop()


def cmd_budget(a):
    rows = []
    for label in servers_wanted(a.servers):
        for policy in a.policies.split(","):
            if label == "redis" and policy == "allkeys-flush":
                continue  # a zedis policy
            print(f"# budget: {label} {policy} ...", file=sys.stderr)
            rows.append(budget_trial(label, policy, a))
    limit = rows[0]["limit"] if rows else 0
    print(
        f"maxmemory {a.maxmemory} ({limit} B); load: `{' '.join(redis_benchmark_argv('PORT', a))}`; "
        f"used_memory sampled every {a.sample_ms} ms, `used_memory_peak` from INFO, peak RSS = VmHWM.\n"
    )
    header = [
        "server", "policy", "up", "used_memory empty (MiB)", "max used_memory (MiB)", "used_memory_peak (MiB)", "<= maxmemory",
        "peak RSS (MiB)", "peak RSS / maxmemory", "RSS empty (MiB)", "evicted_keys", "eviction_flushes",
        "DBSIZE after", "-OOM on write", "reads work", "load time (s)",
    ]
    out = []
    for r in rows:
        if "max_used" not in r:
            out.append([r["server"], r["policy"], r["alive"]] + ["-"] * (len(header) - 3))
            continue
        out.append([
            r["server"], r["policy"], r["alive"], mib(r["used0"]), mib(r["max_used"]), mib(r["peak"]), r["within"],
            mib(r["hwm"]), f"{r['hwm'] / limit:.2f}", mib(r["rss0"]), r["evicted"], r["flushes"], r["dbsize"],
            r.get("oom", "-"), r.get("reads", "-"), f"{r['secs']:.1f}",
        ])
    table(header, out)
    print("redis-benchmark summary lines:\n")
    for r in rows:
        print(f"- {r['server']} {r['policy']}: `{r.get('bench', '')}`")
    print()
    if any(r["server"] == "redis" for r in rows):
        print(
            "Redis evicts after a write has been made (its used_memory may pass maxmemory briefly), so the "
            "`<= maxmemory` column is a requirement for zedis only.\n"
        )


# --------------------------------------------------------------------------------------------- ttl


def probe_loop(port, stop, results):
    """Child process: `GET probe` back to back on its own connection until `stop` is set; sends the round
    trips as (monotonic time sent, seconds) and the failure count. A process, not a thread, so that the measuring client's own work
    (the GIL) does not show up as server latency."""
    conn = Conn(port, timeout=60)
    rtts, failures = [], 0
    while not stop.is_set():
        t = time.perf_counter()
        try:
            ok = conn.call("GET", "probe") == b"probe-value"
        except OSError:
            failures += 1
            break
        rtts.append((time.monotonic(), time.perf_counter() - t))
        failures += 0 if ok else 1
    conn.close()
    results.put((rtts, failures))


class Prober:
    """Runs [`probe_loop`] in a child process."""

    def __init__(self, port):
        ctx = multiprocessing.get_context("fork")
        self.stop_flag = ctx.Event()
        self.results = ctx.Queue()
        self.proc = ctx.Process(target=probe_loop, args=(port, self.stop_flag, self.results), daemon=True)

    def start(self):
        self.proc.start()

    def finish(self):
        self.stop_flag.set()
        self.rtts, self.failures = self.results.get(timeout=60)
        self.proc.join()


def latency_summary(rtts):
    """`p50 / p99 / max` in ms of sorted round trips."""
    if not rtts:
        return "-"
    p99 = rtts[max(0, int(len(rtts) * 0.99) - 1)]
    return f"{statistics.median(rtts) * 1000:.2f} / {p99 * 1000:.2f} / {rtts[-1] * 1000:.1f}"


def ttl_trial(label, a):
    srv = start(label, hz=a.hz)
    try:
        c = srv.conn
        c.call("SET", "probe", "probe-value")
        time.sleep(0.2)
        used0 = int(c.info("memory")["used_memory"])
        rss0, _ = srv.proc_status()
        payload = set_payload(0, a.keys, b"v" * a.value_bytes, (b"PX", str(a.ttl_ms).encode()))
        prober = Prober(srv.port)
        prober.start()
        time.sleep(0.2)
        t_start = time.monotonic()
        replies, errors, first_error = c.blast(payload, a.keys)
        t_written = time.monotonic()
        mem_full = c.info("memory")
        used_full = int(mem_full["used_memory"])
        dbsize_full = c.call("DBSIZE")
        rss_full, _ = srv.proc_status()
        near = max(1, a.keys // 100)
        t_near = t_zero = None
        # The last key's TTL passes ttl_ms after its write: measure from then.
        expiry_last = t_written + a.ttl_ms / 1000
        deadline = expiry_last + a.timeout
        series = []
        while time.monotonic() < deadline:
            n = c.call("DBSIZE") - 1  # the probe key has no TTL
            now = time.monotonic()
            series.append((now - t_written, n))
            if t_near is None and n <= near and now >= t_start + a.ttl_ms / 1000:
                t_near = now
            if n <= 0 and now >= t_start + a.ttl_ms / 1000:
                t_zero = now
                break
            time.sleep(0.05)
        time.sleep(0.3)
        prober.finish()
        mem = c.info("memory")
        stats = c.info("stats")
        rss_after, hwm = srv.proc_status()
        # Two phases: the write burst, and the expiry phase (after the last write's reply) that the issue asks
        # about: the server keeps serving while the active cycle reclaims the keys.
        burst = sorted(rtt for sent, rtt in prober.rtts if sent < t_written)
        expiry = sorted(rtt for sent, rtt in prober.rtts if sent >= t_written)
        return {
            "server": label,
            "written": f"{replies - errors}/{a.keys}",
            "write_s": t_written - t_start,
            "dbsize_full": dbsize_full - 1,
            "used0": used0,
            "used_full": used_full,
            "used_after": int(mem["used_memory"]),
            "rss0": rss0,
            "rss_full": rss_full,
            "rss_after": rss_after,
            "near_s": None if t_near is None else t_near - expiry_last,
            "zero_s": None if t_zero is None else t_zero - expiry_last,
            "left": series[-1][1] if series else "-",
            "expired": stats.get("expired_keys", "-"),
            "cap": stats.get("expired_time_cap_reached_count", "-"),
            "probes": f"{len(burst)} / {len(expiry)}",
            "probe_fail": prober.failures,
            "burst": latency_summary(burst),
            "expiry": latency_summary(expiry),
            "first_error": first_error,
        }
    finally:
        srv.stop()


def cmd_ttl(a):
    rows = []
    labels = servers_wanted(a.servers)
    for rnd in range(a.rounds):
        for label in labels if rnd % 2 == 0 else list(reversed(labels)):
            print(f"# ttl: round {rnd + 1} {label} ...", file=sys.stderr)
            rows.append(ttl_trial(label, a))
    print(
        f"{a.keys} keys `SET key:<12 digits> <{a.value_bytes} B> PX {a.ttl_ms}` sent as one pipeline, never "
        f"touched again; hz {a.hz}; {a.rounds} round(s), servers in alternating order. Times are from the moment the LAST key's TTL passed (end of writes + "
        f"{a.ttl_ms} ms); 'near 0' is DBSIZE <= 1% of the keys (polled every 50 ms). A prober client sends "
        f"`GET probe` back to back from before the writes until the end.\n"
    )
    fmt = lambda s: "not within %ds" % a.timeout if s is None else f"{s:.2f}"  # noqa: E731
    table(
        [
            "server", "written", "write time (s)", "DBSIZE after writes", "near 0 after (s)", "0 after (s)",
            "keys left", "expired_keys", "time cap reached", "used_memory empty / full / after (MiB)",
            "RSS empty / full / after (MiB)", "prober replies (writes / expiry)", "prober failures",
            "prober p50 / p99 / max (ms) during writes", "prober p50 / p99 / max (ms) after writes (expiry)",
        ],
        [
            [
                r["server"], r["written"], f"{r['write_s']:.2f}", r["dbsize_full"], fmt(r["near_s"]),
                fmt(r["zero_s"]), r["left"], r["expired"], r["cap"],
                f"{mib(r['used0'])} / {mib(r['used_full'])} / {mib(r['used_after'])}",
                f"{mib(r['rss0'])} / {mib(r['rss_full'])} / {mib(r['rss_after'])}",
                r["probes"], r["probe_fail"], r["burst"], r["expiry"],
            ]
            for r in rows
        ],
    )
    print(
        "Times are measured from a client-side estimate of the last key's expiry (its reply + TTL), so they "
        "can be slightly negative. The prober's round trips are split at the last write's reply: during the "
        "write burst it competes with a 200k-command pipeline; after it, only the active expiry cycle runs.\n"
    )


# --------------------------------------------------------------------------------------------- bytes per key


def bpk_trial(label, ttl, a):
    srv = start(label)
    try:
        c = srv.conn
        time.sleep(0.3)
        used0 = int(c.info("memory")["used_memory"])
        rss0, _ = srv.proc_status()
        extra = (b"EX", b"1000000") if ttl else ()
        value = b"v" * a.value_bytes
        t0 = time.monotonic()
        done = errors = 0
        # Batches keep the client's own memory modest at 1M keys.
        batch = 100_000
        for first in range(0, a.keys, batch):
            n = min(batch, a.keys - first)
            replies, errs, first_error = c.blast(set_payload(first, n, value, extra), n)
            done += replies
            errors += errs
            if errs:
                print(f"# {label}: {errs} errors, first: {first_error}", file=sys.stderr)
        secs = time.monotonic() - t0
        time.sleep(0.5)
        dbsize = c.call("DBSIZE")
        used1 = int(c.info("memory")["used_memory"])
        rss1, _ = srv.proc_status()
        keyspace = c.info("keyspace").get("db0", "")
        return {
            "server": label, "ttl": "yes" if ttl else "no", "dbsize": dbsize, "errors": errors,
            "rss_bpk": (rss1 - rss0) / max(dbsize, 1), "used_bpk": (used1 - used0) / max(dbsize, 1),
            "rss0": rss0, "rss1": rss1, "used0": used0, "used1": used1, "keyspace": keyspace,
            "sets_per_s": a.keys / secs,
        }
    finally:
        srv.stop()


def cmd_bytes_per_key(a):
    rows = []
    labels = servers_wanted(a.servers)
    for rnd in range(a.rounds):
        # Alternate the order between rounds so that drift on a shared machine hits every server alike.
        order = labels if rnd % 2 == 0 else list(reversed(labels))
        for label in order:
            for ttl in (False, True):
                print(f"# bytes-per-key: round {rnd + 1} {label} ttl={ttl} ...", file=sys.stderr)
                rows.append(bpk_trial(label, ttl, a))
    print(
        f"{a.keys} keys `SET key:<12 digits> <{a.value_bytes} B>` (16-byte keys, as redis-benchmark's), and "
        f"the same with `EX 1000000`, each in a fresh server; pipelined in batches of 100k. Bytes per key = "
        f"(after - empty) / DBSIZE, for RSS (/proc VmRSS) and INFO used_memory. {a.rounds} round(s), servers "
        f"in alternating order.\n"
    )
    table(
        [
            "server", "TTL", "DBSIZE", "errors", "RSS B/key", "used_memory B/key", "RSS empty -> full (MiB)",
            "used_memory empty -> full (MiB)", "SET/s (pipelined, python client)", "INFO keyspace",
        ],
        [
            [
                r["server"], r["ttl"], r["dbsize"], r["errors"], f"{r['rss_bpk']:.1f}", f"{r['used_bpk']:.1f}",
                f"{mib(r['rss0'])} -> {mib(r['rss1'])}", f"{mib(r['used0'])} -> {mib(r['used1'])}",
                f"{r['sets_per_s']:.0f}", f"`{r['keyspace']}`",
            ]
            for r in rows
        ],
    )
    # Medians per (server, ttl), and the TTL cost and the ratio to redis.
    summary = {}
    for r in rows:
        summary.setdefault((r["server"], r["ttl"]), []).append(r)
    med = {k: (statistics.median(x["rss_bpk"] for x in v), statistics.median(x["used_bpk"] for x in v))
           for k, v in summary.items()}
    out = []
    for label in labels:
        no, yes = med.get((label, "no")), med.get((label, "yes"))
        if not no or not yes:
            continue
        redis = med.get(("redis", "no"))
        ratio = f"{no[0] / redis[0]:.2f}" if redis else "-"
        out.append([label, f"{no[0]:.1f}", f"{yes[0]:.1f}", f"{yes[0] - no[0]:+.1f}", f"{no[1]:.1f}",
                    f"{yes[1]:.1f}", f"{yes[1] - no[1]:+.1f}", ratio])
    print("Medians over rounds:\n")
    table(
        ["server", "RSS B/key", "RSS B/key with TTL", "TTL cost (RSS)", "used_memory B/key",
         "used_memory B/key with TTL", "TTL cost (used_memory)", "RSS B/key / redis"],
        out,
    )


# --------------------------------------------------------------------------------------------- main


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)

    b = sub.add_parser("budget")
    b.add_argument("--servers", default="zedis,system,redis")
    b.add_argument("--policies", default="allkeys-lru,allkeys-flush,noeviction")
    b.add_argument("--maxmemory", default="64mb")
    b.add_argument("--requests", type=int, default=300_000)
    b.add_argument("--value-bytes", type=int, default=1024)
    b.add_argument("--clients", type=int, default=20)
    b.add_argument("--sample-ms", type=int, default=100)

    t = sub.add_parser("ttl")
    t.add_argument("--servers", default="zedis,system,redis")
    t.add_argument("--keys", type=int, default=200_000)
    t.add_argument("--value-bytes", type=int, default=32)
    t.add_argument("--ttl-ms", type=int, default=1000)
    t.add_argument("--hz", type=int, default=10)
    t.add_argument("--timeout", type=int, default=60, help="seconds to wait after the last TTL passed")
    t.add_argument("--rounds", type=int, default=1, help="repeat, alternating the server order")

    k = sub.add_parser("bytes-per-key")
    k.add_argument("--servers", default="zedis,system,redis")
    k.add_argument("--keys", type=int, default=1_000_000)
    k.add_argument("--value-bytes", type=int, default=32)
    k.add_argument("--rounds", type=int, default=1)

    a = p.parse_args()
    if any(s != "redis" for s in a.servers.split(",")) and not os.access(zedis_bin(), os.X_OK):
        sys.exit(f"{zedis_bin()} not found: cargo build --release -p zedis-server (or set ZEDIS_BIN)")
    {"budget": cmd_budget, "ttl": cmd_ttl, "bytes-per-key": cmd_bytes_per_key}[a.cmd](a)


if __name__ == "__main__":
    main()
