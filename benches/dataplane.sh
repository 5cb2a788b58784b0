#!/usr/bin/env bash
# Every figure of the data-plane goals in one script run (issue 11), so that the ratios share the
# machine's noise: radCAD's benchmark model against radCAD, cadCAD and hand-written Rust
# (benches/radcad_ratio.sh); chat against cadCAD and hand-written Rust, what JSONL records cost,
# two threads against one (interleaved here, REPEAT rounds), and the same chat with a moving
# clock (nothing repeats, so the engine's and the plugin's reuse of repeated bytes idles); peak
# RSS at a small and a large T; and the 1,000,000-device IoT fleet's simulated seconds per wall
# second.
#
#   REPEAT=3 benches/dataplane.sh
#
# Env:
#   REPEAT            interleaved rounds for the radCAD and chat rows (default 3); medians are shown
#   RUNS, TIMESTEPS   radCAD model (defaults 5 and 100000: radCAD's own figures)
#   CHAT_RUNS, CHAT_T chat (defaults 10 and 2000, as benches/cadcad_ratio.sh)
#   THREADS_T         chat timesteps of the two-threads-against-one pair (default 20000: at 2000 the
#                     engine's one-thread run is ~50 ms, too short for a scaling figure)
#   MEM_T_SMALL, MEM_T_BIG  chat timesteps of the two memory runs (defaults 10000 and 1000000)
#   IOT=0             skip the IoT fleet row (it needs ~1 GB of RAM and a minute)
#   ENGINE            engine binary (default target/release/engine)
#   NATIVE_RADCAD, NATIVE_CHAT  hand-written models (default target/release/native-radcad,
#                     target/release/native-chat: `cargo build --release -p distroduce-benches --bins`)
#
# Output: the radCAD table, the chat table, then the goals with their targets and whether each is
# met, and one JSON line with every number.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

REPEAT="${REPEAT:-3}" RUNS="${RUNS:-5}" TIMESTEPS="${TIMESTEPS:-100000}"
CHAT_RUNS="${CHAT_RUNS:-10}" CHAT_T="${CHAT_T:-2000}" THREADS_T="${THREADS_T:-20000}"
MEM_T_SMALL="${MEM_T_SMALL:-10000}" MEM_T_BIG="${MEM_T_BIG:-1000000}" IOT="${IOT:-1}"
ENGINE="${ENGINE:-target/release/engine}"
NATIVE_RADCAD="${NATIVE_RADCAD:-target/release/native-radcad}"
NATIVE_CHAT="${NATIVE_CHAT:-target/release/native-chat}"

for v in REPEAT RUNS TIMESTEPS CHAT_RUNS CHAT_T THREADS_T MEM_T_SMALL MEM_T_BIG; do
  [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || { echo "dataplane: $v must be a positive integer, got '${!v}'" >&2; exit 2; }
done
for b in ENGINE NATIVE_RADCAD NATIVE_CHAT; do
  [[ -x "${!b}" ]] || {
    echo "dataplane: $b '${!b}' not found: cargo build --release --workspace --bins (or set $b=path)" >&2
    exit 1
  }
done

scripts/setup-python
PY="$ROOT/benches/.venv/bin/python"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"

echo "dataplane: radCAD's benchmark model (benches/radcad_ratio.sh) ..." >&2
ENGINE="$ENGINE" NATIVE="$NATIVE_RADCAD" RUNS="$RUNS" TIMESTEPS="$TIMESTEPS" REPEAT="$REPEAT" \
  benches/radcad_ratio.sh | tee "$TMP/radcad.out" | sed '$d'
tail -n 1 "$TMP/radcad.out" > "$TMP/radcad.json"

# Chat, interleaved: cadCAD, the engine on one thread without and with JSONL records, the engine
# on two threads, and the hand-written loop. The plugin is built and compiled first.
"$ENGINE" validate scenarios/chat.yaml > "$TMP/validate.out" 2>&1 \
  || { cat "$TMP/validate.out" >&2; echo "dataplane: engine validate scenarios/chat.yaml failed" >&2; exit 1; }
chat=(run scenarios/chat.yaml --kafka none --runs "$CHAT_RUNS" --timesteps "$CHAT_T")
# The same model with a moving clock (one second per timestep): every message and record then
# differs from the last, so nothing the engine or the plugin reuses for repeated bytes applies.
# Its ratio is taken against cadCAD's frozen-clock run: cadCAD reuses nothing, and its frozen
# clock is cheaper than the original's datetime.now(), so the ratio errs low.
grep -q '^clock: {start: "2019-10-03T00:00:00Z", step: 0s}$' scenarios/chat.yaml \
  || { echo "dataplane: scenarios/chat.yaml's clock line changed; update the moving-clock copy" >&2; exit 1; }
sed -e 's/^clock: {start: "2019-10-03T00:00:00Z", step: 0s}$/clock: {start: "2019-10-03T00:00:00Z", step: 1s}/' \
  -e "s#crate: \.\./plugins/chat#crate: $ROOT/plugins/chat#" scenarios/chat.yaml > "$TMP/chat-moving.yaml"
moving=(run "$TMP/chat-moving.yaml" --kafka none --runs "$CHAT_RUNS" --timesteps "$CHAT_T")
for ((i = 1; i <= REPEAT; i++)); do
  echo "dataplane: [$i/$REPEAT] chat: cadCAD, engine (none, jsonl, moving clock, 1 and 2 threads), hand-written ..." >&2
  "$PY" benches/cadcad/chat_model.py --runs "$CHAT_RUNS" --timesteps "$CHAT_T" --time-only \
    --frozen "2019-10-03 00:00:00" > "$TMP/chat-cadcad.$i.json"
  "$ENGINE" "${chat[@]}" --threads 1 --format none --out "$TMP/o" --summary-json "$TMP/chat-none.$i.json" >/dev/null
  "$ENGINE" "${chat[@]}" --threads 1 --format jsonl --out "$TMP/o" --summary-json "$TMP/chat-jsonl.$i.json" >/dev/null
  for t in 1 2; do
    "$ENGINE" run scenarios/chat.yaml --kafka none --runs "$CHAT_RUNS" --timesteps "$THREADS_T" --threads "$t" \
      --format none --out "$TMP/o" --summary-json "$TMP/chat-threads$t.$i.json" >/dev/null
  done
  "$NATIVE_CHAT" "$CHAT_RUNS" "$CHAT_T" > "$TMP/chat-native.$i.json"
  "$ENGINE" "${moving[@]}" --threads 1 --format none --out "$TMP/o" --summary-json "$TMP/chat-moving.$i.json" >/dev/null
  "$ENGINE" "${moving[@]}" --threads 1 --format jsonl --out "$TMP/o" --summary-json "$TMP/chat-moving_jsonl.$i.json" >/dev/null
done

# Peak RSS, one job, no records written: it must not grow with T.
for t in "$MEM_T_SMALL" "$MEM_T_BIG"; do
  echo "dataplane: chat peak RSS at T=$t ..." >&2
  /usr/bin/time -o "$TMP/mem.$t" -f "%M" "$ENGINE" run scenarios/chat.yaml --kafka none --format none \
    --runs 1 --threads 1 --timesteps "$t" --out "$TMP/o" >/dev/null
done

if [[ "$IOT" == "1" ]]; then
  echo "dataplane: IoT fleet of 1,000,000 devices ..." >&2
  "$ENGINE" run scenarios/bench/iot-1m.yaml --kafka none --format none --out "$TMP/o" \
    --summary-json "$TMP/iot.json" >/dev/null
  # One timestep is one simulated second (`clock: {step: 1s}`), one job.
  grep -q '^  step: 1s$' scenarios/bench/iot-1m.yaml \
    || { echo "dataplane: scenarios/bench/iot-1m.yaml no longer steps its clock by 1s" >&2; exit 1; }
  sed -n 's/^timesteps: *\([0-9]*\).*/\1/p' scenarios/bench/iot-1m.yaml > "$TMP/iot.timesteps"
fi
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

"$PY" - "$TMP" "$REPEAT" "$CHAT_RUNS" "$CHAT_T" "$MEM_T_SMALL" "$MEM_T_BIG" "$IOT" \
  "$load_before" "$load_after" "$THREADS_T" <<'PY'
import json, os, statistics, sys

tmp, repeat, chat_runs, chat_t, t_small, t_big, iot, load_before, load_after, threads_t = sys.argv[1:11]
repeat, chat_runs, chat_t, threads_t = int(repeat), int(chat_runs), int(chat_t), int(threads_t)
chat_substeps = chat_runs * chat_t * 4


def last_json(path):
    return json.loads(open(path).read().strip().splitlines()[-1])


def rate(kind, i):
    """Substeps per second of simulation time for one chat measurement."""
    if kind == "cadcad":
        d = last_json(f"{tmp}/chat-{kind}.{i}.json")
        got, s = d["substeps"], d["sim_seconds"]
    elif kind == "native":
        d = last_json(f"{tmp}/chat-{kind}.{i}.json")
        got, s = d["substeps"], d["seconds"]
    else:
        d = json.load(open(f"{tmp}/chat-{kind}.{i}.json"))
        if d["jobs_failed"]:
            sys.exit(f"dataplane: chat {kind} round {i}: {d['jobs_failed']} jobs failed")
        got, s = d["substeps"], d["sim_seconds"]
    want = chat_runs * threads_t * 4 if kind.startswith("threads") else chat_substeps
    if got != want:
        sys.exit(f"dataplane: chat {kind} round {i} reports {got} substeps, expected {want}")
    return got / s


kinds = ("cadcad", "none", "jsonl", "native", "moving", "moving_jsonl", "threads1", "threads2")
chat = {k: [rate(k, i) for i in range(1, repeat + 1)] for k in kinds}
med = {k: statistics.median(v) for k, v in chat.items()}
labels = {"cadcad": "cadCAD 0.5.3 single_proc", "none": "engine, 1 thread, --format none",
          "jsonl": "engine, 1 thread, --format jsonl",
          "threads1": f"T={threads_t}: engine, 1 thread, --format none",
          "threads2": f"T={threads_t}: engine, 2 threads, --format none",
          "native": "hand-written Rust (benches/native_chat.rs)",
          "moving": "moving clock: engine, 1 thread, --format none, clock step 1s",
          "moving_jsonl": "moving clock: engine, 1 thread, --format jsonl, clock step 1s"}
print(f"\nchat N={chat_runs} T={chat_t} ({chat_substeps:,} substeps), frozen clock unless said, median of {repeat}\n")
print("| run | median substeps/s | all rounds |")
print("|---|---|---|")
for k, v in chat.items():
    print(f"| {labels[k]} | {med[k]:,.0f} | {', '.join(f'{x:,.0f}' for x in v)} |")

rc = last_json(f"{tmp}/radcad.json")
mem = {t: int(open(f"{tmp}/mem.{t}").read().split()[-1]) for t in (t_small, t_big)}
goals = [
    ("radCAD model: engine / radCAD 0.14", rc["ratio_engine_radcad"], ">= 100", rc["ratio_engine_radcad"] >= 100),
    ("radCAD model: engine / cadCAD 0.5.3", rc["ratio_engine_cadcad"], ">= 100", rc["ratio_engine_cadcad"] >= 100),
    ("radCAD model: hand-written / engine", rc["ratio_native_engine"], "<= 2", rc["ratio_native_engine"] <= 2),
    ("chat: engine / cadCAD 0.5.3", med["none"] / med["cadcad"], ">= 50", med["none"] / med["cadcad"] >= 50),
    ("chat: hand-written / engine", med["native"] / med["none"], "<= 2", med["native"] / med["none"] <= 2),
    ("chat: --format jsonl cost over none, %", 100 * (med["none"] / med["jsonl"] - 1), "<= 30",
     med["none"] / med["jsonl"] - 1 <= 0.30),
    (f"chat T={threads_t}: 2 threads / 1 thread", med["threads2"] / med["threads1"], ">= 1.8",
     med["threads2"] / med["threads1"] >= 1.8),
    # The same two ratios where nothing repeats (the engine's caches of repeated bytes idle).
    ("chat, moving clock: engine / cadCAD 0.5.3 (frozen)", med["moving"] / med["cadcad"], ">= 50",
     med["moving"] / med["cadcad"] >= 50),
    ("chat, moving clock: hand-written / engine", med["native"] / med["moving"], "<= 2",
     med["native"] / med["moving"] <= 2),
    ("chat, moving clock: --format jsonl cost over none, %", 100 * (med["moving"] / med["moving_jsonl"] - 1),
     "<= 30", med["moving"] / med["moving_jsonl"] - 1 <= 0.30),
    (f"chat: peak RSS T={t_big} / T={t_small}", mem[t_big] / mem[t_small], "<= 1.10",
     mem[t_big] / mem[t_small] <= 1.10),
]
out = {"load_before": load_before, "load_after": load_after, "radcad": rc, "chat": chat,
       "chat_median": med, "peak_rss_kb": mem}
if iot == "1":
    d = json.load(open(f"{tmp}/iot.json"))
    if d["jobs_failed"]:
        sys.exit(f"dataplane: the IoT run failed: {d}")
    iot_rate = int(open(f"{tmp}/iot.timesteps").read()) / d["sim_seconds"]
    goals.append(("IoT 1M devices: simulated s per wall s", iot_rate, ">= 1", iot_rate >= 1))
    out["iot"] = {"simulated_seconds_per_second": iot_rate, "summary": d}
print(f"\nGoals (issue 11); load average {load_before} before, {load_after} after\n")
print("| goal | measured | target | met |")
print("|---|---|---|---|")
for name, v, target, ok in goals:
    print(f"| {name} | {v:,.2f} | {target} | {'yes' if ok else '**no**'} |")
out["goals"] = [{"goal": n, "measured": v, "target": t, "met": ok} for n, v, t, ok in goals]
print(json.dumps(out))
PY
