#!/usr/bin/env python3
"""GET/SET with ACL users and over TLS, zedis-server against redis-server 7.0.15, in the same run, per second
of server CPU (issue 22).

Usage: scripts/bench-acl-tls.py [--zedis target/release/zedis-server] [--rounds 2] [--requests 200000]
                                [--pipeline "1 16"] [--modes plain,fastuser,acl,tls] [--out results.csv]

Both servers run side by side with a plain port and a TLS port (certificates from a CA made here with
`openssl`, `tls-auth-clients no`). Each round runs redis-benchmark against Redis and then against Zedis with
the same arguments; the figure is requests per second of server CPU (/proc/PID/task/*/schedstat), Zedis /
Redis, median over rounds (`scripts/bench-commands.py`'s method). Modes:

- plain:    the `default` user (`~* &* +@all`, no check beyond one flag test), plain TCP;
- fastuser: a non-default user with `~* &* +@all` (`--user fast -a pw`): the issue's 5% bound;
- acl:      a non-default user with key patterns (`~key:* ~counter:* &* -@all +get +set +ping`): keys
            extracted from the key specs and matched on every command;
- tls:      the default user over TLS (`redis-benchmark --tls --cacert`).

Zedis's own cost of a mode is also printed: its per-CPU figure in that mode over its plain figure.
"""
import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile

from benchlib import benchmark, command, free_port, spawn, stop

USERS = {
    "fast": ["on", ">pw", "~*", "&*", "+@all"],
    "app": ["on", ">pw", "~key:*", "~counter:*", "&*", "-@all", "+get", "+set", "+ping"],
}
MODES = {
    "plain": [],
    "fastuser": ["--user", "fast", "-a", "pw"],
    "acl": ["--user", "app", "-a", "pw"],
    "tls": ["--tls"],
}


def make_certs(d):
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("[srv]\nsubjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n")
    for step in (
        ["req", "-x509", "-nodes", "-days", "2", "-subj", "/CN=bench CA"] + ec + ["-keyout", "ca.key", "-out", "ca.crt"],
        ["req", "-new", "-nodes", "-subj", "/CN=localhost"] + ec + ["-keyout", "server.key", "-out", "server.csr"],
        ["x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
         "-out", "server.crt", "-extfile", "ext.cnf", "-extensions", "srv"],
    ):
        subprocess.run(["openssl"] + step, cwd=d, check=True, capture_output=True)


def bench(pid, port, tls_port, mode, test, requests, pipeline, certs):
    extra = MODES[mode]
    if mode == "tls":
        port = tls_port
        extra = extra + ["--cacert", os.path.join(certs, "ca.crt")]
    return benchmark(pid, port, [], requests, pipeline, extra=["-t", test] + extra)[:2]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--zedis", default="target/release/zedis-server")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--requests", type=int, default=200000)
    ap.add_argument("--pipeline", default="1 16")
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--out", default="")
    a = ap.parse_args()
    modes = [m for m in a.modes.split(",") if m]
    for m in modes:
        if m not in MODES:
            sys.exit(f"unknown mode {m}; known: {', '.join(MODES)}")
    pipelines = [int(p) for p in a.pipeline.replace(",", " ").split()]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        make_certs(tmp)
        tls = ["--tls-port", "{tls_port}", "--tls-cert-file", os.path.join(tmp, "server.crt"),
               "--tls-key-file", os.path.join(tmp, "server.key"), "--tls-ca-cert-file", os.path.join(tmp, "ca.crt"),
               "--tls-auth-clients", "no"]
        servers = []
        for label, argv in (
            ("redis", ["redis-server", "--port", "{port}", "--save", "", "--appendonly", "no"] + tls),
            ("zedis", [os.path.abspath(a.zedis), "--port", "{port}", "--save", "", "--appendonly", "no"] + tls),
        ):
            cwd = os.path.join(tmp, label)
            os.makedirs(cwd)
            tls_port = free_port()
            proc, port = spawn(argv, cwd, subst={"tls_port": tls_port})
            for name, rules in USERS.items():
                command(port, "ACL", "SETUSER", name, *rules)
            servers.append((label, proc, port, tls_port))
        zedis_plain = {}
        try:
            for mode in modes:
                for test in ("set", "get"):
                    for p in pipelines:
                        per = {"redis": [], "zedis": []}
                        ratios = []
                        for _ in range(a.rounds):
                            pair = {}
                            for label, proc, port, tls_port in servers:
                                pair[label] = bench(proc.pid, port, tls_port, mode, test, a.requests, p, tmp)
                                per[label].append(pair[label])
                            ratios.append(pair["zedis"][1] / pair["redis"][1])
                        med = {k: statistics.median(r[0] for r in v) for k, v in per.items()}
                        zedis_cpu = statistics.median(r[1] for r in per["zedis"])
                        if mode == "plain":
                            zedis_plain[(test, p)] = zedis_cpu
                        base = zedis_plain.get((test, p))
                        row = {
                            "mode": mode, "test": test, "pipeline": p,
                            "redis_rps": round(med["redis"]), "zedis_rps": round(med["zedis"]),
                            "ratio": round(med["zedis"] / med["redis"], 2),
                            "per_cpu": round(statistics.median(ratios), 2),
                            "zedis_vs_plain": round(zedis_cpu / base, 2) if base else "",
                        }
                        rows.append(row)
                        print(f"{mode:8} {test:3} P{p:<3} redis {row['redis_rps']:>9} rps  zedis {row['zedis_rps']:>9} rps"
                              f"  ratio {row['ratio']:.2f}  per-cpu {row['per_cpu']:.2f}"
                              f"  zedis/plain {row['zedis_vs_plain']}", flush=True)
        finally:
            for _, proc, _, _ in servers:
                stop(proc)
    if a.out:
        with open(a.out, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)


if __name__ == "__main__":
    main()
