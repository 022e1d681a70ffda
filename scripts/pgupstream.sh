#!/usr/bin/env bash
# A throwaway PostgreSQL cluster to stand behind Lanyard's passwordless front end in tests
# and benchmarks, so they leave the machine's own PostgreSQL alone.
#
#   bash scripts/pgupstream.sh start DIR CA_FILE [cert|password [cert|password]]
#       initdb's a cluster in DIR/data on a free loopback port, with TLS on and CA_FILE
#       (Lanyard's CA) trusted for client certificates, and prints "port=N". Lanyard logs
#       in to it as the bound roles, and as lanyard_admin (CREATEROLE, not a superuser),
#       the login it creates and drops those roles with:
#       - cert (the default, and the recommended setup): with a client certificate for the
#         role's name (pg_hba method cert) that Lanyard's CA issues per connection;
#       - password: with SCRAM; lanyard_admin's password is in DIR/admin-password.
#       A fourth argument sets lanyard_admin's login apart from the bound roles'.
#       Every other role logs in with SCRAM (the benchmarks' baseline); DIR/bench-password
#       is the password of the role "bench".
#   bash scripts/pgupstream.sh dsn DIR
#       prints lanyard_admin's connection string (with its password in password mode),
#       for `lanyard postgres server create --upstream`.
#   bash scripts/pgupstream.sh stop DIR
#
# DIR defaults to /tmp/lanyard-pgupstream and CA_FILE to the CA of the Lanyard in
# $LANYARD_HOME (~/.lanyard by default); start does nothing but print the port when the
# cluster in DIR already runs for the same CA and mode.
#
# Run as root, the cluster runs as the postgres user (initdb refuses root).
set -euo pipefail

bindir() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  if [ -n "$d" ]; then echo "$d"; else dirname "$(command -v initdb)"; fi
}

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  echo "no free port found" >&2
  return 1
}

default_dir=/tmp/lanyard-pgupstream

port_of() { sed -n 's/^port = \([0-9]*\)$/\1/p' "$1/data/postgresql.conf" | tail -1; }

start() {
  local dir=${1:-$default_dir} ca=${2:-${LANYARD_HOME:-$HOME/.lanyard}/tls/ca.pem} mode=${3:-cert} admin_mode=${4:-${3:-cert}}
  local bin data port
  bin=$(bindir)
  [ -f "$ca" ] || { echo "no CA file at $ca: start lanyard up first, or name its CA" >&2; return 1; }
  if [ -f "$dir/data/postmaster.pid" ] && as_owner "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    if cmp -s "$ca" "$dir/data/lanyard-ca.pem" && [ "$(cat "$dir/mode" 2>/dev/null)" = "$admin_mode" ]; then
      echo "port=$(port_of "$dir")"
      return
    fi
    stop "$dir" # another Lanyard's, or another mode: start afresh
  fi
  rm -rf "$dir"
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  data="$dir/data"
  if [ "$(id -u)" = 0 ]; then chown postgres: "$dir"; fi
  head -c 24 /dev/urandom | base64 | tr -d '/+=' > "$dir/admin-password"
  head -c 24 /dev/urandom | base64 | tr -d '/+=' > "$dir/bench-password"
  chmod 0644 "$dir/admin-password" "$dir/bench-password"
  for m in "$mode" "$admin_mode"; do
    [ "$m" = cert ] || [ "$m" = password ] || { echo "mode $m: cert or password" >&2; return 1; }
  done

  as_owner "$bin/initdb" -D "$data" -U postgres --auth-local=trust --auth-host=reject -E UTF8 >/dev/null
  cp "$ca" "$data/lanyard-ca.pem"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
    -keyout "$data/server.key" -out "$data/server.crt" 2>/dev/null
  chmod 0600 "$data/server.key"
  if [ "$(id -u)" = 0 ]; then chown postgres: "$data/server.key" "$data/server.crt" "$data/lanyard-ca.pem"; fi

  local method=cert admin_method=cert
  [ "$mode" = password ] && method=scram-sha-256
  [ "$admin_mode" = password ] && admin_method=scram-sha-256
  echo "$admin_mode" > "$dir/mode"
  # lanyard_admin first: it is a member of both groups (to grant them), but its line is its own.
  cat > "$data/pg_hba.conf" <<EOF
local   all all                                        trust
hostssl all lanyard_admin                 127.0.0.1/32 $admin_method
hostssl all +azure_ad_user,+azure_ad_admin 127.0.0.1/32 $method
hostssl all all                           127.0.0.1/32 scram-sha-256
EOF
  port=$(free_port)
  cat >> "$data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
ssl = on
ssl_cert_file = 'server.crt'
ssl_key_file = 'server.key'
ssl_ca_file = 'lanyard-ca.pem'
password_encryption = 'scram-sha-256'
max_connections = 200
fsync = off
EOF
  as_owner "$bin/pg_ctl" -D "$data" -l "$dir/log" -w -t 60 start >/dev/null
  as_owner "$bin/psql" -h "$dir" -p "$port" -U postgres -d postgres -qAt -v ON_ERROR_STOP=1 >/dev/null <<EOF
CREATE ROLE azure_ad_user NOLOGIN;
CREATE ROLE azure_ad_admin NOLOGIN;
CREATE ROLE lanyard_admin LOGIN CREATEROLE CREATEDB PASSWORD '$(cat "$dir/admin-password")';
GRANT azure_ad_user, azure_ad_admin TO lanyard_admin WITH ADMIN OPTION;
CREATE ROLE bench LOGIN PASSWORD '$(cat "$dir/bench-password")';
GRANT ALL ON SCHEMA public TO bench;
GRANT CREATE ON DATABASE postgres TO azure_ad_admin;
GRANT ALL ON SCHEMA public TO azure_ad_admin;
EOF
  echo "port=$port"
}

dsn() {
  local dir=${1:-$default_dir}
  local dsn="host=127.0.0.1 port=$(port_of "$dir") dbname=postgres user=lanyard_admin sslmode=require"
  if [ "$(cat "$dir/mode")" = password ]; then dsn="$dsn password=$(cat "$dir/admin-password")"; fi
  echo "$dsn"
}

stop() {
  local dir=${1:-$default_dir}
  [ -d "$dir/data" ] || return 0
  as_owner "$(bindir)/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
}

case "${1:-}" in
  start) shift; start "$@" ;;
  dsn) shift; dsn "$@" ;;
  stop) shift; stop "$@" ;;
  *) echo "usage: $0 start [DIR [CA_FILE [cert|password]]] | dsn [DIR] | stop [DIR]" >&2; exit 2 ;;
esac
