#!/usr/bin/env bash
# Runs every Lanyard test on a fresh machine: installs what the tests need (Go modules, the
# JavaScript SDK from the committed lockfile, PostgreSQL where none is running), then runs
# vet, the unit and conformance tests on SQLite and PostgreSQL, short fuzz runs, and the
# end-to-end tests with the real Azure SDKs. Everything it starts listens on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "Go modules"
# The root module's requirements include the Azure SDK of examples/uploader, which the README
# test (e2e TestReadme) runs with `go run`, as the README does.
go mod download
(cd e2e && go mod download)

step "JavaScript SDK (npm ci from the committed lockfile)"
(cd e2e/clients/node && npm ci --no-audit --no-fund)

step "PostgreSQL"
source scripts/postgres.sh
echo "using $LANYARD_TEST_POSTGRES"

step "build (CGO_ENABLED=0)"
CGO_ENABLED=0 go build -o /dev/null ./cmd/lanyard

step "vet"
go vet ./...
(cd e2e && go vet ./...)

step "lint (golangci-lint pinned in tools/go.mod: layering, staticcheck, errorlint, bodyclose, exhaustive kinds)"
# Built to a file, not run with `go tool -modfile`: that flag would reach the linter's own
# package loading and make it lint the tools module instead of this one.
lint_bin="$(mktemp -d)/golangci-lint"
go build -modfile=tools/go.mod -o "$lint_bin" github.com/golangci/golangci-lint/v2/cmd/golangci-lint
"$lint_bin" run ./...
(cd e2e && "$lint_bin" run ./...)

step "unit, conformance and HTTP tests (race detector on)"
go test -race -count=1 ./...

step "fuzz (short runs of every parser fuzzer)"
fuzztime="${LANYARD_FUZZTIME:-5s}"
for pkg in $(go list ./...); do
  for f in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
    echo "fuzz $pkg $f"
    log=$(mktemp)
    if ! go test -run '^$' -fuzz "^${f}\$" -fuzztime "$fuzztime" "$pkg" >"$log" 2>&1; then
      cat "$log"
      # A finding is saved under testdata/fuzz and fails again as a seed; a failure of the
      # fuzzing engine itself (a worker it lost) leaves nothing behind and gets one retry.
      if [ -n "$(git status --porcelain -- '*testdata/fuzz*')" ]; then exit 1; fi
      echo "no finding was saved: retrying $f once"
      go test -run '^$' -fuzz "^${f}\$" -fuzztime "$fuzztime" "$pkg"
    fi
    rm -f "$log"
  done
done

step "end-to-end tests with the real Azure SDKs"
(cd e2e && go test -count=1 ./...)
