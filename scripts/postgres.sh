# Sourced by scripts/test.sh: makes sure a PostgreSQL server answers on 127.0.0.1:5432 and
# exports LANYARD_TEST_POSTGRES, a DSN for a database the tests may create schemas in.
# Uses the server already running when there is one; otherwise starts the installed
# cluster, or installs PostgreSQL from the distribution's packages (needs root).

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }

if [ -n "${LANYARD_TEST_POSTGRES:-}" ]; then
  return 0
fi

if ! command -v pg_isready >/dev/null 2>&1; then
  echo "PostgreSQL is not installed; installing it"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql >/dev/null
fi

if ! pg_up; then
  echo "PostgreSQL is not running; starting it"
  for v in $(ls /etc/postgresql 2>/dev/null); do
    pg_ctlcluster --skip-systemctl-redirect "$v" main start || true
  done
  for _ in $(seq 1 30); do pg_up && break; sleep 1; done
fi
pg_up || { echo "PostgreSQL did not come up on 127.0.0.1:5432" >&2; return 1; }

# Prefer password-less access (the CI machines trust loopback); otherwise give the
# postgres role a password over the local socket and use it.
if psql "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable" -Atqc 'select 1' >/dev/null 2>&1; then
  dsn_base="postgres://postgres@127.0.0.1:5432"
else
  su postgres -c "psql -qc \"ALTER USER postgres PASSWORD 'lanyard-test'\"" >/dev/null
  dsn_base="postgres://postgres:lanyard-test@127.0.0.1:5432"
fi
if ! psql "$dsn_base/postgres?sslmode=disable" -Atqc "select 1 from pg_database where datname='test'" | grep -q 1; then
  psql "$dsn_base/postgres?sslmode=disable" -qc 'CREATE DATABASE test' >/dev/null
fi
export LANYARD_TEST_POSTGRES="$dsn_base/test?sslmode=disable"

# The throwaway upstream of the passwordless PostgreSQL tests (scripts/pgupstream.sh) makes
# its server certificate with openssl.
if ! command -v openssl >/dev/null 2>&1; then
  apt-get install -y -qq openssl >/dev/null
fi
