#!/usr/bin/env bash
# Passwordless PostgreSQL: pgbench through Lanyard's front end (a managed-identity token as
# the password, certificate login upstream) against the same upstream directly (TLS, SCRAM),
# in the same run, alternating rounds. Prints Markdown rows for docs/benchmarks.md.
#   - select-only throughput, 16 clients, one connection each (pgbench -S);
#   - new connections per second (pgbench -C -S), each a full login;
#   - added latency per query, p50 and p99, from pgbench's per-transaction log.
# Usage: bash bench/postgres.sh [rounds, default 3] [duration per run, default 10s]
set -euo pipefail
cd "$(dirname "$0")/.."
R="${1:-3}"
D="${2:-10s}"; D="${D%s}"
work=$(mktemp -d)
chmod 0755 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  bash scripts/pgupstream.sh stop "$work/upstream"
  rm -rf "$work"
}
trap cleanup EXIT

CGO_ENABLED=0 go build -o "$work/lanyard" ./cmd/lanyard
go build -o "$work/tcprelay" ./bench/tcprelay
home="$work/home"
export LANYARD_HOME="$home"
"$work/lanyard" up --api-addr 127.0.0.1:0 --msi-addr 127.0.0.1:0 --blob-addr 127.0.0.1:0 --log-level warn >/dev/null &
pids+=($!)
for _ in $(seq 1 300); do [ -f "$home/lanyard.json" ] && break; sleep 0.05; done
L() { "$work/lanyard" "$@"; }
json() { python3 -c "import json,sys; v=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }
ca=$(json 'v["caFile"]' < "$home/lanyard.json")

port=$(bash scripts/pgupstream.sh start "$work/upstream" "$ca" | sed -n 's/^port=//p')
bench_pw=$(cat "$work/upstream/bench-password")

L group create -n bench >/dev/null
L identity create -g bench -n loader >/dev/null
L app create -g bench -n loader --identities loader >/dev/null
client_id=$(L identity show -g bench -n loader | json 'v["clientId"]')
addr=$(L postgres server create -g bench -n benchdb --upstream "$(bash scripts/pgupstream.sh dsn "$work/upstream")" | json 'v["listenAddress"]')
L postgres principal create -g bench -s benchdb --role loader >/dev/null
lhost=${addr%:*}; lport=${addr##*:}

relay_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$work/tcprelay" -listen "127.0.0.1:$relay_port" -upstream "127.0.0.1:$port" 2>/dev/null &
pids+=($!)

# The tables belong to "bench" (a SCRAM login); the bound role may read them.
direct="host=127.0.0.1 port=$port dbname=postgres user=bench sslmode=require"
PGPASSWORD="$bench_pw" pgbench -q -i -s 10 "$direct" >/dev/null 2>&1
PGPASSWORD="$bench_pw" psql "$direct" -qc 'GRANT SELECT ON ALL TABLES IN SCHEMA public TO loader' >/dev/null
token=$(L token get -g bench -n loader --client-id "$client_id" --resource https://ossrdbms-aad.database.windows.net --query accessToken -o tsv)
relayed="host=127.0.0.1 port=$relay_port dbname=postgres user=bench sslmode=require"
via="host=$lhost port=$lport dbname=postgres user=loader sslmode=verify-full sslrootcert=$ca"

# run NAME CONNINFO PASSWORD [pgbench flags...]: prints transactions per second and leaves
# per-transaction latencies (µs) in $work/NAME.lat.
run() {
  local name=$1 conn=$2 pw=$3; shift 3
  rm -f "$work"/pgbench_log.*
  (cd "$work" && PGPASSWORD="$pw" pgbench -n -S -T "$D" "$@" -l "$conn" 2>/dev/null) | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -1
  cat "$work"/pgbench_log.* | awk '{print $3}' >> "$work/$name.lat"
}

for i in $(seq 1 "$R"); do
  sd=$(run direct "$direct" "$bench_pw" -c 16 -j 2)
  sr=$(run relay "$relayed" "$bench_pw" -c 16 -j 2)
  sl=$(run lanyard "$via" "$token" -c 16 -j 2)
  cd=$(run direct_conn "$direct" "$bench_pw" -C -c 8 -j 2)
  cl=$(run lanyard_conn "$via" "$token" -C -c 8 -j 2)
  echo "$sd $sl $sr" >> "$work/select"
  echo "$cd $cl" >> "$work/connect"
  echo "round $i: select $sd / $sl / $sr tps (direct / Lanyard / relay), connect $cd / $cl logins/s (direct / Lanyard)" >&2
done

python3 - "$work" <<'PY'
import sys, statistics
w = sys.argv[1]
def pairs(name):
    rows = [tuple(map(float, l.split())) for l in open(f"{w}/{name}") if l.strip()]
    return [r[0] for r in rows], [r[1] for r in rows]
def column(name, i):
    return [float(l.split()[i]) for l in open(f"{w}/{name}") if l.strip()]
def pct(name, q):
    xs = sorted(float(x) for x in open(f"{w}/{name}.lat") if x.strip())
    return xs[min(len(xs) - 1, int(q * len(xs)))] / 1000
sd, sl = pairs("select")
cd, cl = pairs("connect")
sr = column("select", 2)
ratios = [l / d for d, l in zip(sd, sl)]
rratios = [r / d for d, r in zip(sd, sr)]
lr = [l / r for l, r in zip(sl, sr)]
cratios = [l / d for d, l in zip(cd, cl)]
print("| measure | direct (TLS, SCRAM) | through Lanyard (token) | Lanyard / direct | goal |")
print("|---|---|---|---|---|")
print(f"| pgbench -S, 16 clients | {statistics.median(sd):,.0f} tps | {statistics.median(sl):,.0f} tps | **{100*statistics.median(ratios):.0f}%** (rounds {100*min(ratios):.0f}–{100*max(ratios):.0f}%) | ≥ 90% |")
print(f"| pgbench -S through a bare TCP relay (bench/tcprelay: no TLS of its own, no parsing) | | {statistics.median(sr):,.0f} tps | relay / direct **{100*statistics.median(rratios):.0f}%** (rounds {100*min(rratios):.0f}–{100*max(rratios):.0f}%); Lanyard / relay **{100*statistics.median(lr):.0f}%** | |")
print(f"| new connections, pgbench -C -S, 8 clients | {statistics.median(cd):,.0f} logins/s | {statistics.median(cl):,.0f} logins/s | **{100*statistics.median(cratios):.0f}%** (rounds {100*min(cratios):.0f}–{100*max(cratios):.0f}%) | ≥ 80% |")
d50, d99 = pct("direct", .5), pct("direct", .99)
l50, l99 = pct("lanyard", .5), pct("lanyard", .99)
print(f"| query latency p50 / p99 (pgbench -S) | {d50:.2f} / {d99:.2f} ms | {l50:.2f} / {l99:.2f} ms | added {l50-d50:+.2f} / {l99-d99:+.2f} ms | |")
PY
