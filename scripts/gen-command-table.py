#!/usr/bin/env python3
"""Prints the metadata rows of server/src/table/rows.rs from a running Redis 7.0 (the reference).

Usage: scripts/gen-command-table.py PORT name=handler ...   (handler: a Rust path, or `container`)
Arity, flags, key positions, group, summary, since and complexity come from Redis's own COMMAND INFO and
COMMAND DOCS, so the table Zedis answers COMMAND from matches Redis's. Handlers are written by hand.

       scripts/gen-command-table.py PORT --docs > server/src/command_docs.rs
Writes the key specs (COMMAND INFO) and the documentation fields after `complexity` (doc_flags,
deprecated_since, replaced_by, history, arguments: COMMAND DOCS) of every command and subcommand named in
server/src/table/rows.rs, as static reply trees that keep RESP3's types so either protocol can be written.
"""
import os, re, socket, sys

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

def read_typed(f):
    """Reads one RESP3 reply keeping its type: (kind, value)."""
    line = f.readline()
    t, rest = line[:1], line[1:-2]
    if t == b"+": return ("simple", rest.decode())
    if t == b":": return ("int", int(rest))
    if t == b"$": return ("bulk", f.read(int(rest) + 2)[:-2].decode())
    if t == b"*": return ("array", [read_typed(f) for _ in range(int(rest))])
    if t == b"~": return ("set", [read_typed(f) for _ in range(int(rest))])
    if t == b"%":
        pairs = []
        for _ in range(int(rest)):
            k = read_typed(f)
            assert k[0] == "bulk", k
            pairs.append((k[1], read_typed(f)))
        return ("map", pairs)
    if t == b"_": return ("null", None)
    raise ValueError(line)

def send_typed(s, f, *args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a.encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    s.sendall(out)
    return read_typed(f)

def rust_str(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

def node(tree, indent):
    kind, value = tree
    pad = " " * indent
    if kind == "bulk": return f"Node::Bulk({rust_str(value)})"
    if kind == "simple": return f"Node::Simple({rust_str(value)})"
    if kind == "int": return f"Node::Int({value})"
    if kind in ("array", "set"):
        tag = "Array" if kind == "array" else "Set"
        if not value: return f"Node::{tag}(&[])"
        items = "".join(f"{pad}    {node(v, indent + 4)},\n" for v in value)
        return f"Node::{tag}(&[\n{items}{pad}])"
    if kind == "map":
        if not value: return "Node::Map(&[])"
        items = "".join(f"{pad}    ({rust_str(k)}, {node(v, indent + 4)}),\n" for k, v in value)
        return f"Node::Map(&[\n{items}{pad}])"
    raise ValueError(kind)

DOC_EXTRAS = ("doc_flags", "deprecated_since", "replaced_by", "history", "arguments")

def docs_module(port):
    s, f = conn(port)
    send_typed(s, f, "HELLO", "3")
    table = open(os.path.join(os.path.dirname(__file__), "..", "server", "src", "table", "rows.rs")).read()
    names = sorted(set(re.findall(r'\bcmd\("([a-z|_-]+)"', table)))
    entries = []
    for name in names:
        parent, _, sub = name.partition("|")
        info = send_typed(s, f, "COMMAND", "INFO", parent)[1][0]
        docs = dict(send_typed(s, f, "COMMAND", "DOCS", parent)[1])[parent]
        if info[0] == "null":
            continue
        if sub:
            info = next(x for x in info[1][9][1] if x[1][0][1] == name)
            docs = dict(dict(docs[1])["subcommands"][1])[name]
        specs = info[1][8]
        extras = [(k, v) for k, v in docs[1] if k in DOC_EXTRAS]
        extras_text = "".join(f"                ({rust_str(k)}, {node(v, 16)}),\n" for k, v in extras)
        entries.append(
            f"    (\n        {rust_str(name)},\n        CommandDocs {{\n"
            f"            key_specs: {node(specs, 12)},\n"
            f"            extras: &[\n{extras_text}            ],\n        }},\n    ),\n")
    print("""//! Generated by `scripts/gen-command-table.py PORT --docs` from redis-server 7.0.15: do not edit.
//!
//! Per command (and `parent|sub`), sorted by name: its COMMAND INFO key specs and the COMMAND DOCS fields
//! that follow `complexity`, as reply trees in RESP3 types (maps and sets become flat arrays in RESP2).

use crate::command_meta::{CommandDocs, Node};

/// Every command of the table, sorted by name.
#[rustfmt::skip]
pub static COMMAND_DOCS: &[(&str, CommandDocs)] = &[
""" + "".join(entries) + "];")

def main():
    port = int(sys.argv[1])
    if sys.argv[2:] == ["--docs"]:
        return docs_module(port)
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
