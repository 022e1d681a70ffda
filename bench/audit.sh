#!/usr/bin/env bash
# Blob 1 KiB Put and Get with the audit trail off and on (BenchmarkBlobAudit), in
# alternating runs so that the machine's drift touches both alike; prints each run and the
# ratio of the means as Markdown.
# Usage: bash bench/audit.sh [rounds, default 5] [benchtime per run, default 4s]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-5}"
T="${2:-4s}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go test -c -o "$work/server.test" ./internal/server
for op in Put Get; do
  for r in $(seq 1 "$rounds"); do
    # Alternate which mode goes first.
    modes="off on"; [ $((r % 2)) -eq 0 ] && modes="on off"
    for m in $modes; do
      "$work/server.test" -test.run '^$' -test.bench "BenchmarkBlobAudit/${op}1KiB/audit=$m\$" -test.benchtime "$T" |
        awk -v op="$op" -v m="$m" '/req\/s/ { for (i = 1; i < NF; i++) if ($(i+1) == "req/s") print op, m, $i }'
    done
  done
done | python3 -c '
import sys
runs = {}
for line in sys.stdin:
    op, mode, v = line.split()
    runs.setdefault((op, mode), []).append(float(v))
print("| operation | auditing off (runs) | auditing on (runs) | on / off (means) |")
print("|---|---|---|---|")
for op in ("Get", "Put"):
    off, on = runs[(op, "off")], runs[(op, "on")]
    mo, mn = sum(off) / len(off), sum(on) / len(on)
    fmt = lambda xs: ", ".join(f"{x:,.0f}" for x in xs)
    print(f"| {op} Blob 1 KiB | {mo:,.0f} req/s ({fmt(off)}) | {mn:,.0f} req/s ({fmt(on)}) | **{100*mn/mo:.0f}%** |")
'
