#!/usr/bin/env python3
"""Bytes per key of `--kv-allocator segment`, broken down (issue 25), beside the KV pool and redis-server.

Fills a fresh server with `--keys` keys `SET key:<12 digits> <value>` (16-byte names, as
scripts/measure-bytes-per-key.sh and redis-benchmark), without and with `EX 1000000`, then reads the RSS
growth (/proc VmRSS, after - empty) and, for the segment strategy, INFO allocator's seg_* figures, and
splits the bytes per key into: item bytes (header + key + value, from seg_live_bytes), holes, the index
(primary and overflow buckets at 68 bytes each: 8 slots of 8 bytes and a 4-byte chain link), segment
bytes not yet written, and the rest of the RSS growth (allocator and other).

Usage (release build; ZEDIS_BIN or CARGO_TARGET_DIR locate zedis-server):
  python3 experiments/segment_breakdown.py [--keys 1000000] [--value-bytes 32] [--rounds 1]
Writes a markdown report on stdout.
"""

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
import measure  # noqa: E402
from benchlib import zedis_bin  # noqa: E402

BUCKET_BYTES = 68


def start(label):
    if label == "redis":
        argv = ["redis-server"]
    elif label == "segment":
        argv = [zedis_bin(), "--kv-allocator", "segment"]
    else:
        argv = [zedis_bin(), "--allocator", label]
    return measure.Server(label, argv)


def trial(label, ttl, a):
    srv = start(label)
    try:
        c = srv.conn
        time.sleep(0.3)
        used0 = int(c.info("memory")["used_memory"])
        rss0, _ = srv.proc_status()
        extra = (b"EX", b"1000000") if ttl else ()
        value = b"v" * a.value_bytes
        batch = 100_000
        for first in range(0, a.keys, batch):
            n = min(batch, a.keys - first)
            _, errs, first_error = c.blast(measure.set_payload(first, n, value, extra), n)
            if errs:
                raise RuntimeError(f"{label}: {errs} errors, first: {first_error}")
        time.sleep(0.5)
        keys = c.call("DBSIZE")
        used1 = int(c.info("memory")["used_memory"])
        rss1, _ = srv.proc_status()
        row = {"server": label, "ttl": ttl, "keys": keys, "rss": (rss1 - rss0) / keys,
               "used": (used1 - used0) / keys}
        if label == "segment":
            info = c.info("allocator")
            seg = {k: v for k, v in info.items() if k.startswith("seg_")}
            if "seg_index_buckets" in seg:
                primary, overflow = (int(x) for x in seg["seg_index_buckets"].split(","))
            else:
                # Older builds: the primary table doubles past 100% of its slots from 2^10 buckets (the
                # server's setting); the rest of the charge is overflow capacity (68 B a bucket).
                primary = 1 << 10
                while primary * 8 < keys:
                    primary *= 2
                overflow = int(seg["seg_index_bytes"]) // BUCKET_BYTES - primary
            row.update({
                "items": int(seg["seg_live_bytes"]) / keys,
                "holes": int(seg["seg_dead_bytes"]) / keys,
                "index_used": (primary + overflow) * BUCKET_BYTES / keys,
                "index_charged": int(seg["seg_index_bytes"]) / keys,
                "unwritten": int(seg["seg_unwritten_bytes"]) / keys,
                "segments": int(seg["seg_segments"]),
                "buckets": (primary, overflow),
            })
        return row
    finally:
        srv.stop()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--keys", type=int, default=1_000_000)
    p.add_argument("--value-bytes", type=int, default=32)
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--servers", default="segment,zedis,redis")
    a = p.parse_args()
    labels = a.servers.split(",")
    rows = []
    for rnd in range(a.rounds):
        for label in labels if rnd % 2 == 0 else list(reversed(labels)):
            for ttl in (False, True):
                print(f"# round {rnd + 1} {label} ttl={ttl}", file=sys.stderr)
                rows.append(trial(label, ttl, a))
    med = {}
    for r in rows:
        med.setdefault((r["server"], r["ttl"]), []).append(r)
    print(f"{a.keys} keys of 16-byte names and {a.value_bytes}-byte values, a fresh server per trial, "
          f"{a.rounds} round(s); bytes per key = (after - empty) / DBSIZE; medians.\n")
    print("| server | TTL | RSS B/key | used_memory B/key | RSS / Redis |")
    print("|---|---|---|---|---|")
    for (label, ttl), rs in med.items():
        rss = statistics.median(r["rss"] for r in rs)
        used = statistics.median(r["used"] for r in rs)
        redis = med.get(("redis", ttl))
        ratio = f"{rss / statistics.median(r['rss'] for r in redis):.3f}" if redis else "-"
        print(f"| {label} | {'yes' if ttl else 'no'} | {rss:.1f} | {used:.1f} | {ratio} |")
    for ttl in (False, True):
        rs = med.get(("segment", ttl))
        if not rs:
            continue
        r = rs[0]
        rss = r["rss"]
        rest = rss - r["items"] - r["holes"] - r["index_used"]
        print(f"\nSegment breakdown, TTL {'yes' if ttl else 'no'} (round 1; {r['segments']} segments, index "
              f"buckets primary/overflow {r['buckets'][0]}/{r['buckets'][1]}):\n")
        print("| part | B/key |")
        print("|---|---|")
        print(f"| items (header + key + value) | {r['items']:.2f} |")
        print(f"| holes | {r['holes']:.2f} |")
        print(f"| index buckets (68 B each: primary, and overflow as charged) | {r['index_used']:.2f} |")
        print(f"| index capacity charged, not in use | {r['index_charged'] - r['index_used']:.2f} |")
        print(f"| segment bytes not yet written (charged) | {r['unwritten']:.2f} |")
        print(f"| RSS growth not accounted above (allocator, other) | {rest:.2f} |")
        print(f"| **RSS growth** | **{rss:.2f}** |")


if __name__ == "__main__":
    main()
