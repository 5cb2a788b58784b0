#!/usr/bin/env bash
# A/B of two engine binaries on the same scenarios, interleaved, one thread, no Kafka, no record
# files; prints substeps per second of simulation time (summary `sim_seconds`) per run.
#   OLD=path/to/old/engine NEW=target/release/engine REPEAT=3 benches/ab.sh
# Scenarios must parse with both binaries (an older engine rejects newer fields).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
: "${OLD:?set OLD to the engine binary to compare against}"
NEW="${NEW:-target/release/engine}"
REPEAT="${REPEAT:-3}"
CHAT="${CHAT:-scenarios/chat.yaml}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
run() {
  "$1" run "$2" --threads 1 --kafka none --format none --summary-json "$tmp/s.json" --out "$tmp/out" "${@:3}" >/dev/null
  python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(round(s["substeps"]/s["sim_seconds"]))' "$tmp/s.json"
}
for _ in $(seq "$REPEAT"); do
  for side in OLD NEW; do
    echo "radcad $side $(run "${!side}" scenarios/bench/radcad.yaml --runs 5 --timesteps 20000)"
    echo "chat   $side $(run "${!side}" "$CHAT" --runs 10 --timesteps 2000)"
  done
done
