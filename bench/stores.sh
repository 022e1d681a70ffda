#!/usr/bin/env bash
# Blob small operations (1 KiB Put and Get through the real Go SDK, 16 concurrent) on the
# embedded store and on PostgreSQL, in alternating rounds so that the machine's drift
# touches both alike; prints each round and the ratio of the means as Markdown.
# Everything listens on loopback; PostgreSQL as scripts/postgres.sh finds or starts it.
# Usage: bash bench/stores.sh [rounds, default 4] [duration per phase, default 8s]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-4}"
D="${2:-8s}"
work=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

CGO_ENABLED=0 go build -o "$work/lanyard" ./cmd/lanyard
(cd bench/blobload && go build -o "$work/blobload" .)
source scripts/postgres.sh
source bench/lib.sh

# run NAME [lanyard up flags...]: a fresh Lanyard (see start_lanyard) and one blobload
# run; its JSON goes to $work/NAME.json.
run() {
  local name=$1; shift
  local home="$work/home-$name"
  start_lanyard "$home" "$@"
  pid=$lanyard_pid
  AZURE_CLIENT_ID="$client_id" LANYARD_HOME="$home" "$work/lanyard" app run -g bench -n loader -- \
    "$work/blobload" -target lanyard -url "$blob_url/benchacct" -duration "$D" -big-mib 1 -list 20 >"$work/$name.json"
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
  rm -rf "$home"
}

for r in $(seq 1 "$rounds"); do
  run "sqlite-$r"
  run "pg-$r" --store "$(new_db)"
done
python3 - "$work" "$rounds" <<'PY'
import json, sys
w, n = sys.argv[1], int(sys.argv[2])
print("| round | Put SQLite | Put PostgreSQL | Get SQLite | Get PostgreSQL |")
print("|---|---|---|---|---|")
tot = {}
for r in range(1, n + 1):
    s, p = json.load(open(f"{w}/sqlite-{r}.json")), json.load(open(f"{w}/pg-{r}.json"))
    print(f"| {r} | {s['put_1k_ops']:.0f} | {p['put_1k_ops']:.0f} | {s['get_1k_ops']:.0f} | {p['get_1k_ops']:.0f} |")
    for k, d in (("s", s), ("p", p)):
        for op in ("put_1k_ops", "get_1k_ops"):
            tot[k + op] = tot.get(k + op, 0) + d[op]
for name, op in (("Put Blob 1 KiB", "put_1k_ops"), ("Get Blob 1 KiB", "get_1k_ops")):
    s, p = tot["s" + op] / n, tot["p" + op] / n
    print(f"| {name}, 16 concurrent, mean of {n} | SQLite (embedded) {s:.0f} ops/s | PostgreSQL {p:.0f} ops/s | **{100*p/s:.0f}%** |")
PY
