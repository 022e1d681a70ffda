#!/usr/bin/env bash
# Service Bus on PostgreSQL, one node vs two: two `lanyard server` nodes share one
# PostgreSQL database and serve one namespace, node 1 at its address on 127.0.0.1, node 2
# at the same port on 127.0.0.2 (serviceBus.bindHost). bench/sbload (the unmodified
# azservicebus, a managed identity holding Azure Service Bus Data Owner on the queue) runs
# the same workload on the same queue, in alternating rounds: all its senders and receivers
# connected to node 1 (node 2 up but idle), then spread over both nodes in turn. Prints each
# round and the ratio of the means as Markdown, for docs/benchmarks.md. Loopback only;
# PostgreSQL as scripts/postgres.sh finds or starts it.
# Usage: bash bench/servicebus_nodes.sh [rounds, default 2] [messages per round, default 20000]
set -euo pipefail
cd "$(dirname "$0")/.."
R="${1:-2}"
N="${2:-20000}"
work=$(mktemp -d)
chmod 0755 "$work"
pids=()
dsn=""
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "$dsn" ]; then
    db=${dsn##*/}; db=${db%%\?*}
    psql "${LANYARD_TEST_POSTGRES%/*}/postgres?sslmode=disable" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

CGO_ENABLED=0 go build -o "$work/lanyard" ./cmd/lanyard
(cd bench/sbload && go build -o "$work/sbload" .)
source scripts/postgres.sh
source bench/lib.sh

dsn=$(new_db)
kek=$(head -c 32 /dev/urandom | base64)
api_port=$(free_port)
mkdir -p "$work/content"

# node N HOME SERVICEBUS_JSON API_ADDR: starts `lanyard server` on the shared database,
# with node 1's API URL as every node's public one (one issuer).
node() {
  local home=$1 sb=$2 api=$3
  mkdir -p "$home"
  cat >"$home/config.json" <<EOF
{"home": "$home", "store": "$dsn", "publicApiUrl": "https://127.0.0.1:$api_port", "blobContentDir": "$work/content",
 "listen": {"api": "$api", "msi": "127.0.0.1:0", "blob": "127.0.0.1:0"}, "serviceBus": $sb, "log": {"level": "warn"}}
EOF
  LANYARD_KEK="$kek" "$work/lanyard" server --config "$home/config.json" >/dev/null &
  pids+=($!)
  for _ in $(seq 1 600); do [ -f "$home/lanyard.json" ] && return 0; sleep 0.05; done
  echo "node in $home did not start" >&2; return 1
}

node "$work/n1" '{"defaultListen": "127.0.0.1:0"}' "127.0.0.1:$api_port"
# Node 2 gets node 1's CA, as an operator would install it on every node.
mkdir -p "$work/n2/tls"
cp "$work/n1/tls/ca.pem" "$work/n1/tls/ca-key.pem" "$work/n2/tls/"
node "$work/n2" '{"defaultListen": "127.0.0.1:0", "bindHost": "127.0.0.2"}' "127.0.0.1:0"

export LANYARD_HOME="$work/n1"
L() { "$work/lanyard" "$@"; }
L group create -n bench >/dev/null
endpoint=$(L servicebus namespace create -g bench -n benchns -o json | json 'v["serviceBusEndpoint"]')
ns1=${endpoint#https://}; ns1=${ns1%/}
ns2="127.0.0.2:${ns1##*:}"
queue_id=$(L servicebus queue create -g bench --namespace-name benchns -n q1 -o json | json 'v["id"]')
L app create -g bench -n loader --system-assigned >/dev/null
L role assignment create -g bench --assignee loader --role "Azure Service Bus Data Owner" --scope "$queue_id" >/dev/null
for _ in $(seq 1 600); do (exec 3<>"/dev/tcp/127.0.0.2/${ns1##*:}") 2>/dev/null && break; sleep 0.05; done

# run NAME ADDRESSES: one sbload throughput run; its JSON goes to $work/NAME.json.
run() {
  L app run -g bench -n loader -- "$work/sbload" -target lanyard -ns "$2" -queue q1 -messages "$N" -half 0 -queued 0 >"$work/$1.json"
}
for r in $(seq 1 "$R"); do
  run "one-$r" "$ns1"
  run "two-$r" "$ns1,$ns2"
  echo "round $r done; load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
done

python3 - "$work" "$R" "$N" <<'PY'
import json, sys
w, n, msgs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
runs = {k: [json.load(open(f"{w}/{k}-{r}.json")) for r in range(1, n + 1)] for k in ("one", "two")}
print(f"| round ({msgs:,} messages) | one node: end to end / sent | two nodes: end to end / sent |")
print("|---|---|---|")
for r in range(n):
    o, t = runs["one"][r], runs["two"][r]
    print(f"| {r + 1} | {o['msgs_per_s']:,.0f} / {o['sent_per_s']:,.0f} msg/s | {t['msgs_per_s']:,.0f} / {t['sent_per_s']:,.0f} msg/s |")
mean = lambda k, key: sum(x[key] for x in runs[k]) / n
print()
print("| measure (mean of the rounds) | one node | two nodes | two / one |")
print("|---|---|---|---|")
for name, key, fmt in (("end to end, received and settled", "msgs_per_s", "{:,.0f} msg/s"),
                       ("sent and acknowledged, same phase", "sent_per_s", "{:,.0f} msg/s"),
                       ("batch send p50 at full load", "send_p50_ms_full", "{:.1f} ms"),
                       ("batch send p99 at full load", "send_p99_ms_full", "{:.1f} ms")):
    o, t = mean("one", key), mean("two", key)
    print(f"| {name} | {fmt.format(o)} | {fmt.format(t)} | **{t / o:.2f}×** |")
PY
