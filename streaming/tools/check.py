#!/usr/bin/env python3
"""Compare a stream app's output with what it must output for the input the test producer sent.

    streaming/tools/check.py RECORDS.jsonl OUTPUT.tsv --format kstreams|spark
        [--window 10s] [--grace 30s] [--model truth|kstreams|spark] [--bug window-off-by-one|drop-late]
        [--batch 50]

RECORDS.jsonl: TestProducer's --records-out (one {"ts","room","id"} per record, in offset order).
OUTPUT.tsv: "key<TAB>value" lines (streaming/tools/consume); the last line per (room, window) is
the answer. Prints a table of windows with the expected and actual counts; exits 1 on a mismatch.

Models (what each app must output; --bug applies the app's deliberate bug to the model):
  truth     every distinct id counted once in [start, start+window) (no event is dropped: right
            when no event is later than the grace allows)
  kstreams  Kafka Streams' rule: an event (after dedup) is dropped when its window end
            <= stream time - grace, stream time = max timestamp so far (offset order)
  spark     Spark's rule with a single-partition input that is complete before the query starts
            (so micro-batch b holds offsets [b*B, (b+1)*B), B = --batch): in batch b an event is
            dropped when ts <= W(b) = max ts of batches <= b-2, minus grace (the late-event
            watermark is the previous batch's watermark, which came from the batch before it);
            else deduplicated by id
--bug window-off-by-one shifts every timestamp by -1 ms; --bug drop-late makes grace 0.
"""
import argparse
import datetime as dt
import json
import sys
from collections import Counter


def duration_ms(s):
    s = s.strip().lower()
    for suf, mul in (("ms", 1), ("s", 1000), ("m", 60000), ("h", 3600000)):
        if s.endswith(suf):
            return int(float(s[: -len(suf)]) * mul)
    return int(float(s) * 1000)


def expected(records, window, grace, model, bug=None, batch=50):
    shift = -1 if bug == "window-off-by-one" else 0
    if bug == "drop-late":
        grace = 0
    seen, counts, stream_time, dropped = set(), Counter(), None, []
    batch_max = {}  # spark: max ts per micro-batch
    for i, r in enumerate(records):
        ts = r["ts"] + shift
        start = ts - ts % window
        if model == "spark":
            b = i // batch
            batch_max[b] = max(batch_max.get(b, ts), ts)
            earlier = [m for bb, m in batch_max.items() if bb <= b - 2]
            if earlier and ts <= max(earlier) - grace:
                dropped.append(r["id"])
                continue
        if r["id"] in seen:
            continue
        seen.add(r["id"])
        if model == "kstreams":
            stream_time = ts if stream_time is None else max(stream_time, ts)
            if start + window <= stream_time - grace:
                dropped.append(r["id"])
                continue
        counts[(r["room"], start)] += 1
    return counts, dropped


def parse_ts(s):
    return int(dt.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp() * 1000)


def actual(lines, fmt):
    last = {}
    for line in lines:
        line = line.rstrip("\n")
        if not line:
            continue
        key, value = line.split("\t", 1)
        if fmt == "kstreams":
            v = json.loads(value)
            last[(key, v["window_start"])] = v["count"]
        else:
            k = json.loads(key)
            last[(k["room"], parse_ts(k["window_start"]))] = int(value)
    return last


def iso(ms):
    return dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc).strftime("%H:%M:%S.%f")[:-3]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("records")
    ap.add_argument("output")
    ap.add_argument("--format", choices=["kstreams", "spark"], required=True)
    ap.add_argument("--window", default="10s")
    ap.add_argument("--grace", default="30s")
    ap.add_argument("--model", default="truth", choices=["truth", "kstreams", "spark"])
    ap.add_argument("--bug", default=None, choices=["window-off-by-one", "drop-late"])
    ap.add_argument("--batch", type=int, default=50, help="spark: maxOffsetsPerTrigger")
    a = ap.parse_args()
    records = [json.loads(l) for l in open(a.records) if l.strip()]
    want, dropped = expected(records, duration_ms(a.window), duration_ms(a.grace), a.model, a.bug, a.batch)
    got = actual(open(a.output), a.format)
    keys = sorted(set(want) | set(got), key=lambda k: (k[1], k[0]))
    bad = 0
    print(f"model {a.model}{' bug ' + a.bug if a.bug else ''}: {len(records)} records, {len({r['id'] for r in records})} distinct ids"
          + (f", model drops {dropped}" if dropped else ""))
    print(f"{'room':8} {'window_start':>14} {'expected':>8} {'actual':>6}")
    for k in keys:
        w, g = want.get(k), got.get(k)
        mark = "" if w == g else "   <-- differs"
        bad += w != g
        print(f"{k[0]:8} {iso(k[1]):>14} {w if w is not None else '-':>8} {g if g is not None else '-':>6}{mark}")
    per_window = Counter()
    for (room, start), c in got.items():
        per_window[start] += c
    print("actual total per window:", ", ".join(f"{iso(s)}={c}" for s, c in sorted(per_window.items())))
    print("MATCH" if bad == 0 else f"MISMATCH in {bad} (room, window) pairs")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
