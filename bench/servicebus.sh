#!/usr/bin/env bash
# Service Bus queues vs RabbitMQ: the same workload through each, one after the other on
# the same machine, and prints the figures for docs/benchmarks.md:
#   - end-to-end messages per second: 16 senders sending batches of 100 1 KiB messages,
#     16 receivers settling each message (PeekLock + Complete; prefetch + ack);
#   - send latency per batch at half that load (p50, p99);
#   - RSS growth of the broker per million queued messages (measured with 200,000 left
#     queued, scaled to a million);
#   - sessions: the end-to-end run again (Lanyard only) on a session-enabled queue, each
#     batch sent to one of SESSIONS sessions in turn, 16 receivers accepting the next
#     available session; as a ratio to the same run's RabbitMQ and non-session figures.
# Lanyard is driven by the unmodified azservicebus with a managed identity holding "Azure
# Service Bus Data Owner" on the queue; RabbitMQ (127.0.0.1:5672, guest/guest, already
# running on this machine) by amqp091-go. Loopback only.
# Usage: bash bench/servicebus.sh [messages, default 60000] [half-load duration, default 10s]
#        [messages left queued for the memory figure, default 200000] [sessions, default 100]
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-60000}"
H="${2:-10s}"
Q="${3:-200000}"
S="${4:-100}"
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
queue_id=$(L servicebus queue create -g bench --namespace-name benchns -n q1 -o json | json 'v["id"]')
L app create -g bench -n loader --system-assigned >/dev/null
L role assignment create -g bench --assignee loader --role "Azure Service Bus Data Owner" --scope "$queue_id" >/dev/null

rabbit_pid=$(pgrep -o -x beam.smp || true)
flags=(-messages "$N" -half "$H" -queued "$Q")
echo "## Lanyard ($ns)" >&2
L app run -g bench -n loader -- "$work/sbload" -target lanyard -ns "$ns" -queue q1 -pid "$lanyard_pid" "${flags[@]}" > "$work/lanyard.json"
cat "$work/lanyard.json" >&2
echo "## RabbitMQ (127.0.0.1:5672)" >&2
"$work/sbload" -target rabbitmq -queue lanyard-bench-q1 -pid "${rabbit_pid:-0}" "${flags[@]}" > "$work/rabbit.json"
cat "$work/rabbit.json" >&2
session_queue_id=$(L servicebus queue create -g bench --namespace-name benchns -n q2 --enable-session -o json | json 'v["id"]')
L role assignment create -g bench --assignee loader --role "Azure Service Bus Data Owner" --scope "$session_queue_id" >/dev/null
echo "## Lanyard, session-enabled queue, $S sessions" >&2
L app run -g bench -n loader -- "$work/sbload" -target lanyard -ns "$ns" -queue q2 -sessions "$S" -messages "$N" -half 0 -queued 0 > "$work/sessions.json"
cat "$work/sessions.json" >&2

python3 - "$work/lanyard.json" "$work/rabbit.json" "$work/sessions.json" "$S" <<'PY'
import json, sys
l, r, s = (json.load(open(p)) for p in sys.argv[1:4])
def row(name, key, unit, fmt="{:,.0f}", ratio=True):
    lv, rv = l.get(key), r.get(key)
    ls = (fmt.format(lv) + unit) if lv is not None else "n/a"
    rs = (fmt.format(rv) + unit) if rv is not None else "n/a"
    q = f"**{lv / rv:.2f}×**" if ratio and lv and rv else ""
    print(f"| {name} | {ls} | {rs} | {q} |")
print("| measure | Lanyard (azservicebus) | RabbitMQ (amqp091-go) | Lanyard / RabbitMQ |")
print("|---|---|---|---|")
row("messages/s end to end (received and settled)", "msgs_per_s", " msg/s")
row("messages/s sent (acknowledged)", "sent_per_s", " msg/s")
row("batch send p99 at full load", "send_p99_ms_full", " ms", "{:.1f}")
print(f"| half load offered | {l['half_offered_per_s']:,.0f} msg/s | {r['half_offered_per_s']:,.0f} msg/s | |")
row("batch send p50 at half load", "half_send_p50_ms", " ms", "{:.1f}")
row("batch send p99 at half load", "half_send_p99_ms", " ms", "{:.1f}")
row("RSS growth per million queued 1 KiB messages (from 200k)", "rss_mib_per_million", " MiB", "{:,.0f}")
row("filling the queue, no receivers", "queue_fill_per_s", " msg/s")
sv, lv, rv = s["msgs_per_s"], l["msgs_per_s"], r["msgs_per_s"]
print()
print(f"| session-enabled queue, {sys.argv[4]} sessions, end to end | Lanyard | / RabbitMQ | / Lanyard without sessions |")
print("|---|---|---|---|")
print(f"| received and settled by session receivers | {sv:,.0f} msg/s | **{sv / rv:.2f}×** | **{sv / lv:.2f}×** |")
PY
