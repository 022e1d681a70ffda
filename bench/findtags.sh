#!/usr/bin/env bash
# Find Blobs by Tags over N tagged blobs (default 100,000): p50/p99 latency through the
# HTTP API on fsmeta (the single-node store), then of the MetaStore alone on SQLite and,
# with LANYARD_TEST_POSTGRES set, PostgreSQL; each against List Blobs of a page of the
# same size, measured in the same run, as the baseline. The blobs are filled through the
# MetaStore (fsmeta: 64 concurrent writers sharing journal fsyncs; SQL: bulk
# transactions), which takes about 15 s per store on 2 cores.
# Usage: bash bench/findtags.sh [blobs, default 100000]
set -euo pipefail
cd "$(dirname "$0")/.."
export LANYARD_BENCH_FIND_BLOBS="${1:-100000}"
go test -count=1 -run '^TestFindBlobsByTagsReport$' -v ./internal/blobapi | grep -E 'filled|p50|p99|PASS|FAIL|ok'
go test -count=1 -run '^TestFindBlobsReport$' -v ./internal/blob/sqlmeta | grep -E 'RUN|filled|p50|p99|PASS|FAIL|ok'
