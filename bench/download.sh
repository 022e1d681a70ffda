#!/usr/bin/env bash
# Download 256 MiB with azblob's DownloadBuffer (8 MiB blocks, 16 concurrent) from Lanyard
# (`lanyard up`, bearer token from the managed-identity endpoint, RBAC, audit on) and from
# bench/bareblob, a bare Go HTTPS server with the same TLS settings and certificate serving
# the same bytes from memory: the ceiling on this machine. Same client process, alternating
# rounds; prints each round and the ratio of the means as Markdown. Loopback only.
# Usage: bash bench/download.sh [rounds, default 3] [MiB, default 256] [block MiB, default 8]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
mib="${2:-256}"
block="${3:-8}"
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

CGO_ENABLED=0 go build -o "$work/lanyard" ./cmd/lanyard
go build -o "$work/bareblob" ./bench/bareblob
(cd bench/blobload && go build -o "$work/blobload" .)
source bench/lib.sh

home="$work/home"; export LANYARD_HOME="$home"
start_lanyard "$home"
pids+=("$lanyard_pid")
"$work/bareblob" -cert "$home/tls/server.pem" -key "$home/tls/server-key.pem" -mib "$mib" >"$work/bare.addr" &
pids+=($!)
for _ in $(seq 1 600); do [ -s "$work/bare.addr" ] && break; sleep 0.05; done

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
AZURE_CLIENT_ID="$client_id" "$work/lanyard" app run -g bench -n loader -- "$work/blobload" -workload download \
  -url "$blob_url/benchacct" -bare-url "https://$(cat "$work/bare.addr")/benchacct" \
  -big-mib "$mib" -block-mib "$block" -concurrency 16 -rounds "$rounds" | tee "$work/dl.json"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$work/dl.json" "$mib" "$block" <<'PY'
import json, sys
d, mib, block = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
n = int(d["rounds"])
print("| round | Lanyard | bare HTTPS server | Lanyard / bare |")
print("|---|---|---|---|")
for r in range(1, n + 1):
    l, b = d[f"lanyard_MBps_{r}"], d[f"bare_MBps_{r}"]
    print(f"| {r} | {l:.0f} MB/s | {b:.0f} MB/s | {100*l/b:.0f}% |")
med = lambda k: sorted(d[f"{k}_MBps_{r}"] for r in range(1, n + 1))[n // 2]
print(f"| median of {n} | {med('lanyard'):.0f} MB/s | {med('bare'):.0f} MB/s | {100*med('lanyard')/med('bare'):.0f}% |")
print(f"| Download {mib} MiB (`DownloadBuffer`, {block} MiB blocks, 16 concurrent), mean of {n} | {d['lanyard_MBps']:.0f} MB/s | {d['bare_MBps']:.0f} MB/s | **{100*d['ratio']:.0f}%** |")
PY
