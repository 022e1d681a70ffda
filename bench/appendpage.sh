#!/usr/bin/env bash
# Append Block (1 KiB, 16 appenders on one append blob) and Put Page (4 KiB at random
# offsets of a 1 GiB page blob, 16 writers) against Azurite and Lanyard, one after the
# other in the same run, with the unmodified Go azblob client (bench/blobload
# -workload appendpage). Prints Markdown rows for docs/benchmarks.md.
# Usage: bash bench/appendpage.sh [duration per phase, default 10s]
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
source bench/lib.sh

home="$work/home"; export LANYARD_HOME="$home"
start_lanyard "$home"
pids+=("$lanyard_pid")
bundle="$home/tls/bundle.pem"

aport=$(free_port); mkdir -p "$work/azurite"
bench/azurite/node_modules/.bin/azurite-blob --blobHost 127.0.0.1 --blobPort "$aport" --location "$work/azurite" \
  --cert "$home/tls/server.pem" --key "$home/tls/server-key.pem" --skipApiVersionCheck --disableTelemetry --silent >/dev/null 2>&1 &
pids+=($!)
wait_port "$aport"

SSL_CERT_FILE="$bundle" "$work/blobload" -workload appendpage -target azurite -url "https://127.0.0.1:$aport/devstoreaccount1" -duration "$D" | tee "$work/azurite.json"
"$work/lanyard" app run -g bench -n loader -- env AZURE_CLIENT_ID="$client_id" "$work/blobload" -workload appendpage -target lanyard -url "$blob_url/benchacct" -duration "$D" | tee "$work/lanyard.json"
python3 - "$work" <<'PY'
import json, sys
w = sys.argv[1]
a, l = (json.load(open(f"{w}/{n}.json")) for n in ("azurite", "lanyard"))
def row(name, key, unit):
    print(f"| {name} | {a[key]:.0f} {unit} | {l[key]:.0f} {unit} | {l[key]/a[key]:.1f}x |")
print("| workload | Azurite | Lanyard | Lanyard / Azurite |")
print("|---|---|---|---|")
row("Put Blob 1 KiB, 16 concurrent (reference)", "put_1k_ops", "ops/s")
row("Append Block 1 KiB, 16 appenders on one blob", "append_1k_ops", "ops/s")
row("Put Page 4 KiB at random offsets, 16 writers on one blob", "put_page_4k_ops", "ops/s")
print(f"| p99 latency, Append / Put Page | {a['append_1k_p99_ms']:.1f} / {a['put_page_4k_p99_ms']:.1f} ms | {l['append_1k_p99_ms']:.1f} / {l['put_page_4k_p99_ms']:.1f} ms | |")
PY
