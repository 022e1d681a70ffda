#!/usr/bin/env bash
# The long fault runs behind LANYARD_FAULTS_LONG: 40 SIGKILLs of `lanyard up` under Blob
# uploads and control-plane changes, 40 more under Service Bus senders and a completing
# receiver, 10 of node 2 of a two-node cluster on PostgreSQL under Service Bus senders and
# competing receivers on both nodes, 39 PostgreSQL connection drops on a two-node cluster
# right after role changes,
# and the full-disk test (a tmpfs, as root). Prints the figures
# docs/benchmarks.md records: acknowledged writes, lost writes, fault to ready.
# Usage: bash bench/faults.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/postgres.sh
(cd e2e && LANYARD_FAULTS_LONG=1 go test -count=1 -v -timeout 30m -run '^(TestCrashLoop|TestServiceBusCrash|TestServiceBusTwoNodes|TestPostgresBlips|TestBlobDiskFull)$' ./) |
  grep -E 'crash loop:|on two nodes:|PostgreSQL blips:|^(--- |ok|FAIL)'
