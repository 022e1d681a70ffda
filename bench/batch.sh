#!/usr/bin/env bash
# Blob Batch against one-by-one deletes (issue 20): the e2e harness starts a server, an
# identity with Storage Blob Data Contributor uploads N blobs into each of two
# containers, then, through the unmodified azblob, deletes the first container's by
# SubmitBatch (container scope, 256 per batch, one batch at a time) and the second's by
# Delete Blob one at a time (sequentially), same run; prints both and the ratio.
# Usage: bash bench/batch.sh [blobs, default 10000] [rounds, default 3]
set -euo pipefail
cd "$(dirname "$0")/../e2e"
n="${1:-10000}"
rounds="${2:-3}"
for r in $(seq 1 "$rounds"); do
  LANYARD_BENCH_BATCH="$n" go test -run '^TestBlobBatchBenchmark$' -count=1 -timeout 30m -v . | grep -o 'BENCH.*'
done
