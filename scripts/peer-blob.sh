#!/usr/bin/env bash
# Runs the Blob tests of Azurite (github.com/Azure/Azurite, pinned below), an independent
# implementation's conformance suite, against Lanyard instead of Azurite's own server: its
# "live" mode points every client at Lanyard's Blob endpoint, and scripts/peer-blob/bearer.cjs
# turns the tests' shared-key credential into a managed-identity bearer token, under
# `lanyard app run` as an app holding Storage Blob Data Owner. Loopback only (npm and GitHub
# aside, for the download). Not part of scripts/test.sh; results in docs/conformance.md.
#
#   bash scripts/peer-blob.sh [mocha args...]   # e.g. --grep "ContainerAPIs"
#
# AZURITE_SRC=dir uses an existing checkout of the pinned commit (with node_modules or not);
# PEER_WORK=dir keeps the work directory (default: a fresh temporary one, removed at the end).
# The mocha JSON report is left in $PEER_REPORT (default /tmp/peer-blob-report.json); the exit
# status is mocha's (the number of failures). Azurite asks for Node.js 22; it runs on 20.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
azurite_commit=9074bea3528e23e50f5a1d576e13072d6c94d17c
report=${PEER_REPORT:-/tmp/peer-blob-report.json}
work=${PEER_WORK:-$(mktemp -d /tmp/peer-blob.XXXXXX)}
[ -n "${PEER_WORK:-}" ] || trap 'rm -rf "$work"' EXIT

src=${AZURITE_SRC:-$work/azurite}
if [ ! -d "$src/tests/blob" ]; then
  git clone --quiet --filter=blob:none https://github.com/Azure/Azurite "$src"
  git -C "$src" checkout --quiet "$azurite_commit"
fi
if [ ! -d "$src/node_modules/@azure/storage-blob" ]; then
  # --ignore-scripts: the tests need no native build or Electron download.
  (cd "$src" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
fi

(cd "$repo" && go build -o "$work/lanyard" ./cmd/lanyard)
home=$work/home
rm -rf "$home" # a fresh Lanyard each run
L() { LANYARD_HOME="$home" "$work/lanyard" "$@"; }
LANYARD_HOME="$home" "$work/lanyard" up --api-addr 127.0.0.1:0 --msi-addr 127.0.0.1:0 --blob-addr 127.0.0.1:0 --log-level warn >"$work/lanyard.log" 2>&1 &
lanyard_pid=$!
trap 'kill "$lanyard_pid" 2>/dev/null; wait "$lanyard_pid" 2>/dev/null; [ -n "${PEER_WORK:-}" ] || rm -rf "$work"' EXIT
for _ in $(seq 1 300); do [ -f "$home/lanyard.json" ] && break; sleep 0.05; done
L group create -n peer >/dev/null
L storage account create -g peer -n peeracct >/dev/null
L app create -g peer -n suite --system-assigned --role "Storage Blob Data Owner" >/dev/null 2>&1
# Blob service properties (CORS rules among them) are blobServices/read and write, actions
# that no data role grants, on Azure as here.
L role assignment create -g peer --assignee suite --role "Storage Account Contributor" >/dev/null
blob_url=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["blobUrl"])' "$home/lanyard.json")

# Azurite's live mode: the account key is never used (the tests' shared-key credential is
# replaced), but the connection string must carry one.
export AZURITE_LIVE_TEST_CONNECTION_STRING="DefaultEndpointsProtocol=https;AccountName=peeracct;AccountKey=$(printf 'unused' | base64);BlobEndpoint=${blob_url%/}/peeracct"
# The test files that send requests to a Blob endpoint; the rest test Azurite's own
# internals (its stores, parsers, start-up, its own token and server settings).
files=(tests/blob/apis/*.test.ts tests/blob/blockblob.highlevel.test.ts tests/blob/conditions.test.ts
  tests/blob/pagewithdelimiter.test.ts tests/blob/specialnaming.test.ts tests/blob/sas.test.ts
  tests/blob/authentication.test.ts tests/blob/blobCorsRequest.test.ts)
cd "$src"
# Some test files still write Azurite's own address instead of asking getTestServerBaseURL
# (which live mode redirects): point them at the same account URL.
export PEER_BLOB_ACCOUNT_URL="${blob_url%/}/peeracct"
{ grep -rl 'http://${server.config.host}:${server.config.port}/devstoreaccount1' tests/blob || true; } |
  xargs -r sed -i 's|http://${server.config.host}:${server.config.port}/devstoreaccount1|${process.env.PEER_BLOB_ACCOUNT_URL}|g'
export TS_NODE_TRANSPILE_ONLY=1 # the suite is run, not type-checked
export TS_NODE_COMPILER_OPTIONS='{"rootDir":"."}' # TypeScript 6 wants it with outDir
status=0
L app run -g peer -n suite -- npx mocha --require ts-node/register --require "$repo/scripts/peer-blob/bearer.cjs" \
  --no-timeouts --grep @loki --exit --reporter json --reporter-option "output=$report" "$@" "${files[@]}" || status=$?
python3 "$repo/scripts/peer-blob/summary.py" "$report"
exit "$status"
