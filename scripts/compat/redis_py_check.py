#!/usr/bin/env python3
"""Checks zedis-server through redis-py (PyPI `redis`), unchanged: plain commands in RESP2 and RESP3,
pipelines with and without MULTI/EXEC, WATCH-based optimistic transactions, and pub/sub when the server
has it.

Usage: redis_py_check.py PORT [PASSWORD]
Prints one line per group and exits non-zero on the first failed check.
"""
import sys
import threading
import time

import redis

PORT = int(sys.argv[1])
PASSWORD = sys.argv[2] if len(sys.argv) > 2 else None
checks = 0


def check(cond, what):
    global checks
    if not cond:
        print(f"FAIL: {what}", flush=True)
        sys.exit(1)
    checks += 1


def client(protocol=2):
    return redis.Redis(port=PORT, password=PASSWORD, protocol=protocol, decode_responses=True)


def plain(r, tag):
    r.flushdb()
    check(r.ping() is True, f"{tag} ping")
    check(r.set("k", "v") is True, f"{tag} set")
    check(r.get("k") == "v", f"{tag} get")
    check(r.get("missing") is None, f"{tag} get missing")
    check(r.incr("n") == 1 and r.incrby("n", 41) == 42, f"{tag} incr")
    check(r.mset({"a": "1", "b": "2"}) is True, f"{tag} mset")
    check(r.mget("a", "b", "c") == ["1", "2", None], f"{tag} mget")
    check(r.expire("k", 100) is True and 0 < r.ttl("k") <= 100, f"{tag} expire/ttl")
    check(r.exists("k", "a", "nope") == 2, f"{tag} exists")
    check(r.delete("a", "b") == 2, f"{tag} delete")
    check(r.rpush("l", "x", "y", "z") == 3 and r.lrange("l", 0, -1) == ["x", "y", "z"], f"{tag} list")
    check(r.sadd("s", "a", "b") == 2 and r.smembers("s") == {"a", "b"}, f"{tag} set type")
    check(r.hset("h", mapping={"f": "1", "g": "2"}) == 2, f"{tag} hset")
    check(r.hgetall("h") == {"f": "1", "g": "2"}, f"{tag} hgetall")
    check(r.type("h") == "hash", f"{tag} type")
    check(sorted(r.scan_iter(match="*")) == sorted(["k", "n", "l", "s", "h"]), f"{tag} scan_iter")
    check(r.dbsize() == 5, f"{tag} dbsize")
    check(r.client_id() > 0 and r.client_setname("py") and r.client_getname() == "py", f"{tag} client")
    check("redis_version" in r.info("server"), f"{tag} info")


def pipelines(r, tag):
    r.flushdb()
    p = r.pipeline()  # transaction=True: MULTI ... EXEC
    p.set("p", "1").incr("p").get("p").lpush("pl", "a", "b")
    check(p.execute() == [True, 2, "2", 2], f"{tag} MULTI/EXEC pipeline")
    p = r.pipeline(transaction=False)
    for i in range(100):
        p.set(f"k{i}", i)
    p.get("k99")
    out = p.execute()
    check(len(out) == 101 and out[-1] == "99", f"{tag} plain pipeline")
    # A runtime error inside EXEC does not abort the rest; redis-py raises it after collecting all.
    r.set("str", "x")
    p = r.pipeline()
    p.set("after", "1").lpush("str", "bad").set("after2", "2")
    try:
        p.execute()
        check(False, f"{tag} runtime error in EXEC raised")
    except redis.ResponseError as e:
        check("WRONGTYPE" in str(e), f"{tag} runtime error text")
    check(r.get("after") == "1" and r.get("after2") == "2", f"{tag} rest of EXEC ran")


def optimistic(r, tag):
    r.flushdb()
    r.set("counter", 10)
    other = client()
    attempts = []

    def incr(pipe):
        attempts.append(1)
        value = int(pipe.get("counter"))
        if len(attempts) == 1:
            other.incr("counter")  # a concurrent change: the first EXEC must fail
        pipe.multi()
        pipe.set("counter", value + 1)

    r.transaction(incr, "counter")
    check(len(attempts) == 2, f"{tag} WATCH retried once after a concurrent change")
    check(r.get("counter") == "12", f"{tag} optimistic increment result")
    with r.pipeline() as pipe:
        pipe.watch("w")
        other.set("w", "changed")
        pipe.multi()
        pipe.set("w", "mine")
        try:
            pipe.execute()
            check(False, f"{tag} WatchError expected")
        except redis.WatchError:
            check(True, f"{tag} WatchError")
    check(r.get("w") == "changed", f"{tag} watched write discarded")
    with r.pipeline() as pipe:
        pipe.watch("w2")
        pipe.multi()
        pipe.set("w2", "ok")
        check(pipe.execute() == [True], f"{tag} untouched WATCH commits")
    other.close()


def pubsub(r, tag):
    p = r.pubsub()
    p.subscribe("ch")
    p.psubscribe("news.*")
    deadline = time.time() + 5
    seen = []
    while time.time() < deadline and len(seen) < 2:
        m = p.get_message(timeout=0.5)
        if m:
            seen.append(m["type"])
    check(seen == ["subscribe", "psubscribe"], f"{tag} subscribe confirmations {seen}")
    check(r.publish("ch", "hi") >= 1, f"{tag} publish count")
    check(r.publish("news.today", "n") >= 1, f"{tag} publish to pattern")
    got = []
    deadline = time.time() + 5
    while time.time() < deadline and len(got) < 2:
        m = p.get_message(timeout=0.5)
        if m and m["type"] in ("message", "pmessage"):
            got.append((m["type"], m["channel"], m["data"]))
    check(got == [("message", "ch", "hi"), ("pmessage", "news.today", "n")], f"{tag} messages {got}")
    p.close()


for proto in (2, 3):
    r = client(proto)
    tag = f"RESP{proto}"
    plain(r, tag)
    pipelines(r, tag)
    optimistic(r, tag)
    pubsub(r, tag)
    print(f"ok {tag}", flush=True)
print(f"OK redis-py {redis.__version__}: {checks} checks", flush=True)
