#!/usr/bin/env bash
# The Blob workloads of bench/run.sh (1 KiB Put and Get, 16 concurrent; 256 MiB upload and
# download; listing 2,000) against Azurite and Lanyard, in several rounds: each round a
# fresh Azurite, then a fresh Lanyard of this tree and (given one) a fresh Lanyard of a
# baseline binary, in turns (ABBA), so that the machine's drift touches all alike. Prints
# each round and the mean, minimum and maximum of each ratio to the same round's Azurite.
# Everything listens on loopback. Azurite runs with telemetry disabled. Each server's data
# stays until the end: deleting thousands of files between rounds makes the next round's
# file creations slower (ext4 without a journal skips recently deleted inodes).
# Usage: bash bench/smallput.sh [rounds, default 4] [duration per phase, default 8s] [baseline lanyard binary]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-4}"
D="${2:-8s}"
base="${3:-}"
top=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$top"; }
trap cleanup EXIT

# start_lanyard (bench/lib.sh) runs "$work/lanyard": one directory per build.
mkdir -p "$top/new" "$top/base"
CGO_ENABLED=0 go build -o "$top/new/lanyard" ./cmd/lanyard
builds=(new)
if [ -n "$base" ]; then cp "$base" "$top/base/lanyard"; builds+=(base); fi
(cd bench/blobload && go build -o "$top/blobload" .)
(cd bench/azurite && npm ci --no-audit --no-fund >/dev/null)
source bench/lib.sh

# A Lanyard that lives through the rounds, to borrow a certificate from for Azurite.
work="$top/new"
start_lanyard "$top/certs"
pids+=("$lanyard_pid")
export SSL_CERT_FILE="$top/certs/tls/bundle.pem"

for r in $(seq 1 "$rounds"); do
  aport=$(free_port); mkdir -p "$top/azurite-$r"
  bench/azurite/node_modules/.bin/azurite-blob --blobHost 127.0.0.1 --blobPort "$aport" --location "$top/azurite-$r" \
    --cert "$top/certs/tls/server.pem" --key "$top/certs/tls/server-key.pem" --skipApiVersionCheck --disableTelemetry --silent >/dev/null 2>&1 &
  apid=$!
  pids+=("$apid") # killed by cleanup if a run fails, or its wait would hang
  wait_port "$aport"
  "$top/blobload" -target azurite -url "https://127.0.0.1:$aport/devstoreaccount1" -duration "$D" >"$top/azurite-$r.json"
  kill "$apid"; wait "$apid" 2>/dev/null || true
  order=("${builds[@]}")
  if [ $((r % 2)) -eq 0 ] && [ ${#builds[@]} -eq 2 ]; then order=(base new); fi
  for b in "${order[@]}"; do
    work="$top/$b"; home="$top/home-$b-$r"
    start_lanyard "$home"
    pids+=("$lanyard_pid")
    AZURE_CLIENT_ID="$client_id" LANYARD_HOME="$home" "$work/lanyard" app run -g bench -n loader -- \
      "$top/blobload" -target lanyard -url "$blob_url/benchacct" -duration "$D" >"$top/$b-$r.json"
    kill "$lanyard_pid"; wait "$lanyard_pid" 2>/dev/null || true
  done
done
python3 - "$top" "$rounds" "${builds[@]}" <<'PY'
import json, sys
top, n, builds = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
load = lambda name: json.load(open(f"{top}/{name}.json"))
rows = [("Put Blob 1 KiB, 16 concurrent", "put_1k_ops", "ops/s"),
        ("Get Blob 1 KiB, 16 concurrent", "get_1k_ops", "ops/s"),
        ("Upload 256 MiB (UploadBuffer)", "upload_big_MBps", "MB/s"),
        ("Download 256 MiB (DownloadBuffer, 8 ranges)", "download_big_MBps", "MB/s"),
        ("List 2,000 blobs (full listings/s)", "list_2000_per_s", "/s")]
print("| round | workload | Azurite | " + " | ".join(f"Lanyard {b} (ratio)" for b in builds) + " |")
print("|---|---|---|" + "---|" * len(builds))
ratios = {}
for r in range(1, n + 1):
    a = load(f"azurite-{r}")
    for name, key, unit in rows:
        cells = []
        for b in builds:
            l = load(f"{b}-{r}")
            ratios.setdefault((b, key), []).append(l[key] / a[key])
            cells.append(f"{l[key]:.0f} {unit} ({l[key]/a[key]:.1f}x)")
        print(f"| {r} | {name} | {a[key]:.0f} {unit} | " + " | ".join(cells) + " |")
print()
print("| workload | " + " | ".join(f"Lanyard {b} / Azurite: mean (min-max)" for b in builds) + " |")
print("|---|" + "---|" * len(builds))
for name, key, unit in rows:
    cells = []
    for b in builds:
        x = ratios[(b, key)]
        cells.append(f"**{sum(x)/len(x):.1f}x** ({min(x):.1f}-{max(x):.1f})")
    print(f"| {name} | " + " | ".join(cells) + " |")
PY
