#!/usr/bin/env bash
# Service Bus topics vs RabbitMQ's topic exchange: one topic with -subs subscriptions (10
# by default), each with a SQL filter every message passes ("sys.Label LIKE 'orders.%' AND
# weight > i"), against a durable topic exchange with as many durable queues bound by
# "orders.#" (persistent messages, publisher confirms, manual acks), one after the other
# on the same machine. It prints deliveries per second (messages received and settled,
# summed over the subscriptions) for docs/benchmarks.md.
# Lanyard is driven by the unmodified azservicebus with a managed identity holding "Azure
# Service Bus Data Owner" on the topic; RabbitMQ (127.0.0.1:5672, guest/guest, already
# running on this machine) by amqp091-go. Loopback only.
# Usage: bash bench/servicebus-topic.sh [messages sent, default 6000] [subscriptions, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-6000}"
S="${2:-10}"
work=$(mktemp -d)
chmod 0755 "$work"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

CGO_ENABLED=0 go build -o "$work/lanyard" ./cmd/lanyard
(cd bench/sbload && go build -o "$work/sbload" .)
source bench/lib.sh
start_servicebus "$work/home"
pids+=("$lanyard_pid")
topic_id=$(L servicebus topic create -g bench --namespace-name benchns -n t1 -o json | json 'v["id"]')
where=(-g bench --namespace-name benchns --topic-name t1)
for i in $(seq 0 $((S - 1))); do
  L servicebus topic subscription create "${where[@]}" -n "s$i" >/dev/null
  L servicebus topic subscription rule delete "${where[@]}" --subscription-name "s$i" -n '$Default' >/dev/null 2>&1
  L servicebus topic subscription rule create "${where[@]}" --subscription-name "s$i" -n r \
    --filter-sql-expression "sys.Label LIKE 'orders.%' AND weight > $i" >/dev/null
done
L app create -g bench -n loader --system-assigned >/dev/null
L role assignment create -g bench --assignee loader --role "Azure Service Bus Data Owner" --scope "$topic_id" >/dev/null

flags=(-messages "$N" -subs "$S" -receivers $((2 * S)) -half 0 -queued 0)
echo "## load: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores" >&2
echo "## Lanyard ($ns)" >&2
L app run -g bench -n loader -- "$work/sbload" -target lanyard -ns "$ns" -queue t1 "${flags[@]}" > "$work/lanyard.json"
cat "$work/lanyard.json" >&2
echo "## RabbitMQ (127.0.0.1:5672)" >&2
"$work/sbload" -target rabbitmq -queue lanyard-bench-t1 "${flags[@]}" > "$work/rabbit.json"
cat "$work/rabbit.json" >&2
echo "## load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

python3 - "$work/lanyard.json" "$work/rabbit.json" "$S" <<'PY'
import json, sys
l, r = (json.load(open(p)) for p in sys.argv[1:3])
subs = sys.argv[3]
print(f"| measure | Lanyard (azservicebus) | RabbitMQ (amqp091-go) | Lanyard / RabbitMQ |")
print("|---|---|---|---|")
for name, key in ((f"deliveries/s end to end (summed over {subs} subscriptions / bound queues)", "msgs_per_s"),
                  ("messages/s sent to the topic (acknowledged)", "sent_per_s")):
    print(f"| {name} | {l[key]:,.0f} msg/s | {r[key]:,.0f} msg/s | **{l[key] / r[key]:.2f}×** |")
print(f"| batch send p99 | {l['send_p99_ms_full']:.1f} ms | {r['send_p99_ms_full']:.1f} ms | **{l['send_p99_ms_full'] / r['send_p99_ms_full']:.2f}×** |")
PY
