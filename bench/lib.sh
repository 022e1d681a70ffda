# Shared by the benchmark scripts; source it after building "$work/lanyard" and sourcing
# scripts/postgres.sh.

# free_port prints a free TCP port on loopback; wait_port PORT waits (up to 6 s) until
# something listens on it.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 600); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.01; done; return 1; }

# new_db creates an empty PostgreSQL database and prints its DSN.
new_db() { local db="lanyard_bench_$RANDOM$RANDOM"; psql "${LANYARD_TEST_POSTGRES%/*}/postgres?sslmode=disable" -qc "CREATE DATABASE $db" >/dev/null; echo "${LANYARD_TEST_POSTGRES%/*}/$db?sslmode=disable"; }

# start_lanyard HOME [lanyard up flags...] starts `lanyard up` in HOME on loopback ports
# (its pid in lanyard_pid) with an app "loader" whose identity holds Storage Blob Data Owner
# on the account "benchacct"; sets client_id and blob_url.
start_lanyard() {
  local home=$1; shift
  LANYARD_HOME="$home" "$work/lanyard" up "$@" --api-addr 127.0.0.1:0 --msi-addr 127.0.0.1:0 --blob-addr 127.0.0.1:0 --log-level warn >/dev/null &
  lanyard_pid=$!
  for _ in $(seq 1 300); do [ -f "$home/lanyard.json" ] && break; sleep 0.05; done
  L() { LANYARD_HOME="$home" "$work/lanyard" "$@"; }
  L group create -n bench >/dev/null
  L identity create -g bench -n loader >/dev/null
  L app create -g bench -n loader --identities loader --default-identity loader >/dev/null
  L storage account create -g bench -n benchacct >/dev/null
  client_id=$(L identity show -g bench -n loader | python3 -c 'import json,sys; print(json.load(sys.stdin)["clientId"])')
  local scope
  scope=$(L storage account show -g bench -n benchacct | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  L role assignment create --assignee "$client_id" --role "Storage Blob Data Owner" --scope "$scope" >/dev/null
  blob_url=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["blobUrl"])' "$home/lanyard.json")
}

# json EXPR prints a Python expression over the JSON document on stdin, named v.
json() { python3 -c "import json,sys; v=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }

# start_servicebus HOME starts `lanyard up` in HOME on loopback ports, Service Bus included
# (its pid in lanyard_pid, its CLI as L), with the namespace "benchns" in the group "bench";
# sets ns, the namespace's host:port as the SDKs take it, and lanyard_home.
start_servicebus() {
  local endpoint
  lanyard_home=$1
  LANYARD_HOME="$lanyard_home" "$work/lanyard" up --api-addr 127.0.0.1:0 --msi-addr 127.0.0.1:0 --blob-addr 127.0.0.1:0 \
    --servicebus-addr 127.0.0.1:0 --log-level warn >/dev/null &
  lanyard_pid=$!
  for _ in $(seq 1 300); do [ -f "$lanyard_home/lanyard.json" ] && break; sleep 0.05; done
  L() { LANYARD_HOME="$lanyard_home" "$work/lanyard" "$@"; }
  L group create -n bench >/dev/null
  endpoint=$(L servicebus namespace create -g bench -n benchns -o json | json 'v["serviceBusEndpoint"]')
  ns=${endpoint#https://}; ns=${ns%/}
}
