#!/usr/bin/env bash
# Runs every Lanyard benchmark on this machine, each against a baseline measured in the
# same run, and prints Markdown rows for docs/benchmarks.md:
#   - token endpoint vs raw RSA-2048 signing; `lanyard up` start-up vs Azurite's;
#   - Blob (1 KiB put/get, 256 MiB up/down, listing 2,000) vs Azurite, and vs raw disk;
#   - the RBAC decision at 100,000 assignments (go test -bench);
#   - PostgreSQL vs SQLite (token issuance, Blob small operations), and role-change
#     propagation between two nodes.
# Everything listens on loopback. Azurite runs with telemetry disabled.
# Usage: bash bench/run.sh [duration per phase, default 10s]
set -euo pipefail
cd "$(dirname "$0")/.."
D="${1:-10s}"
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

CGO_ENABLED=0 go build -o "$work/lanyard" ./cmd/lanyard
(cd bench/blobload && go build -o "$work/blobload" .)
(cd bench/azurite && npm ci --no-audit --no-fund >/dev/null)
source scripts/postgres.sh

ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
source bench/lib.sh

echo "## Token endpoint and start-up (SQLite)"
go run ./bench/tokenload -lanyard "$work/lanyard" -duration "$D"
echo "## Token endpoint on PostgreSQL"
go run ./bench/tokenload -lanyard "$work/lanyard" -duration "$D" -store "$(new_db)"

# A Lanyard to borrow a certificate from for Azurite, and to measure against.
home="$work/home"; export LANYARD_HOME="$home"
start_lanyard "$home"
pids+=("$lanyard_pid")
bundle="$home/tls/bundle.pem"

echo "## Azurite start-up (blob service, HTTPS)"
aport=$(free_port); mkdir -p "$work/azurite"
t0=$(date +%s%N)
bench/azurite/node_modules/.bin/azurite-blob --blobHost 127.0.0.1 --blobPort "$aport" --location "$work/azurite" \
  --cert "$home/tls/server.pem" --key "$home/tls/server-key.pem" --skipApiVersionCheck --disableTelemetry --silent >/dev/null 2>&1 &
pids+=($!)
wait_port "$aport"
echo "| Azurite blob service ready | $(ms_since "$t0") ms | |"

echo "## Blob: Azurite (shared key), Lanyard (bearer + RBAC), raw disk"
SSL_CERT_FILE="$bundle" "$work/blobload" -target azurite -url "https://127.0.0.1:$aport/devstoreaccount1" -duration "$D" | tee "$work/azurite.json"
AZURE_CLIENT_ID="$client_id" "$work/lanyard" app run -g bench -n loader -- "$work/blobload" -target lanyard -url "$blob_url/benchacct" -duration "$D" | tee "$work/lanyard.json"
"$work/blobload" -target disk -dir "$home" | tee "$work/disk.json"
python3 - "$work" <<'PY'
import json, sys
w = sys.argv[1]
a, l, d = (json.load(open(f"{w}/{n}.json")) for n in ("azurite", "lanyard", "disk"))
def row(name, key, unit):
    print(f"| {name} | {a[key]:.0f} {unit} | {l[key]:.0f} {unit} | {l[key]/a[key]:.1f}x |")
print("| workload | Azurite | Lanyard | Lanyard / Azurite |")
print("|---|---|---|---|")
row("Put Blob 1 KiB, 16 concurrent", "put_1k_ops", "ops/s")
row("Get Blob 1 KiB, 16 concurrent", "get_1k_ops", "ops/s")
row("Upload 256 MiB (UploadBuffer)", "upload_big_MBps", "MB/s")
row("Download 256 MiB (DownloadBuffer, 8 ranges)", "download_big_MBps", "MB/s")
row("List 2,000 blobs (full listings/s)", "list_2000_per_s", "/s")
print(f"| raw disk, sequential write + fsync | {d['disk_write_fsync_MBps']:.0f} MB/s | Lanyard upload = {100*l['upload_big_MBps']/d['disk_write_fsync_MBps']:.0f}% of it | |")
print(f"| p99 latency, Put / Get 1 KiB | {a['put_1k_p99_ms']:.1f} / {a['get_1k_p99_ms']:.1f} ms | {l['put_1k_p99_ms']:.1f} / {l['get_1k_p99_ms']:.1f} ms | |")
PY

echo "## Blob small operations on PostgreSQL vs the embedded store (same build, alternating rounds)"
kill "${pids[0]}"; wait "${pids[0]}" 2>/dev/null || true
bash bench/stores.sh 4 "$D"

echo "## Role-change propagation between two nodes"
go run ./bench/propagation -lanyard "$work/lanyard" -dsn "$(new_db)"

echo "## RBAC decision, 100,000 assignments / 10,000 principals"
go test -run '^$' -bench 'BenchmarkDecide' -benchtime 2s ./internal/rbac | grep -E '^Benchmark'
go test -run 'TestScaleReport' -v ./internal/rbac | grep -E 'bytes per|decisions'

echo "## Audit trail on vs off (Blob 1 KiB, in-process over loopback, best-effort policy, file sink, alternating runs)"
bash bench/audit.sh 6 4s
