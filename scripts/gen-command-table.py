#!/usr/bin/env python3
"""Prints the metadata rows of server/src/table.rs from a running Redis 7.0 (the reference).

Usage: scripts/gen-command-table.py PORT name=handler ...   (handler: a Rust path, or `container`)
Arity, flags, key positions, group, summary, since and complexity come from Redis's own COMMAND INFO and
COMMAND DOCS, so the table Zedis answers COMMAND from matches Redis's. Handlers are written by hand.
"""
import socket, sys

def conn(port):
    s = socket.create_connection(("127.0.0.1", port))
    return s, s.makefile("rb")

def send(s, f, *args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a.encode() if isinstance(a, str) else a
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    s.sendall(out)
    return read(f)

def read(f):
    line = f.readline()
    t, rest = line[:1], line[1:-2]
    if t in (b"+", b"-"): return rest.decode()
    if t == b":": return int(rest)
    if t == b"$":
        n = int(rest)
        if n < 0: return None
        data = f.read(n + 2)[:-2]
        return data.decode()
    if t in (b"*", b"~", b">"):
        n = int(rest)
        return None if n < 0 else [read(f) for _ in range(n)]
    if t == b"%":
        n = int(rest)
        return {read(f): read(f) for _ in range(n)}
    if t == b"_": return None
    raise ValueError(line)

FLAGS = {"write": "WRITE", "readonly": "READONLY", "denyoom": "DENYOOM", "admin": "ADMIN", "pubsub": "PUBSUB",
         "noscript": "NOSCRIPT", "blocking": "BLOCKING", "loading": "LOADING", "stale": "STALE", "fast": "FAST",
         "no_auth": "NO_AUTH", "may_replicate": "MAY_REPLICATE", "allow_busy": "ALLOW_BUSY", "no_multi": "NO_MULTI",
         "skip_monitor": "SKIP_MONITOR", "skip_slowlog": "SKIP_SLOWLOG", "no_mandatory_keys": "NO_MANDATORY_KEYS",
         "movablekeys": "MOVABLE_KEYS", "sentinel": "0", "only_sentinel": "0", "no_async_loading": "0"}

def esc(s):
    return (s or "").replace("\\", "\\\\").replace('"', '\\"')

def row(info, docs, handler, indent):
    name, arity, flags, first, last, step = info[0], info[1], info[2], info[3], info[4], info[5]
    fl = " | ".join(FLAGS[f] for f in flags if FLAGS.get(f, "0") != "0") or "0"
    group = docs.get("group", "")
    acl = " ".join(info[6])
    tips = " ".join(info[7])
    return (f'{indent}cmd("{name}", {arity}, {fl}, ({first}, {last}, {step}), "{esc(group)}", "{esc(docs.get("since"))}", '
            f'"{esc(docs.get("summary"))}", "{esc(docs.get("complexity"))}", "{acl}", "{tips}", {handler})')

def main():
    port = int(sys.argv[1])
    s, f = conn(port)
    send(s, f, "HELLO", "3")
    for spec in sys.argv[2:]:
        name, handler = spec.split("=", 1)
        if "|" in name:
            parent, sub = name.split("|")
            info = send(s, f, "COMMAND", "INFO", parent)[0]
            subinfo = next(x for x in info[9] if x[0] == name)
            docs = send(s, f, "COMMAND", "DOCS", parent)[parent]["subcommands"][name]
            print(row(subinfo, docs, handler, "        ") + ",")
        else:
            info = send(s, f, "COMMAND", "INFO", name)[0]
            docs = send(s, f, "COMMAND", "DOCS", name)[name]
            print(row(info, docs, handler, "    ") + ",")

main()
