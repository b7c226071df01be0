#!/usr/bin/env bash
# Builds reel-chart-tools (main.go: Flux's kstatus and Prometheus's PromQL parser, pinned in go.mod
# and go.sum) from the Go module proxy into ${REEL_CACHE_DIR:-$HOME/.cache/reel}/bin, once per
# source change (a stamp holds the sources' hash). e2e/chart/chart.int.test.ts runs it.
#
# Usage: e2e/chart/tools/build.sh            build when missing or stale
#        e2e/chart/tools/build.sh --check    exit 0 when built from these sources, 1 otherwise
#        e2e/chart/tools/build.sh --print    print the binary's path
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache="${REEL_CACHE_DIR:-$HOME/.cache/reel}"
bin="$cache/bin"
tool="$bin/reel-chart-tools"
stamp="$bin/.reel-chart-tools.sum"
sum=$(cat "$here/go.mod" "$here/go.sum" "$here/main.go" | sha256sum | cut -d' ' -f1)
built() { [ -x "$tool" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$sum" ]; }

case "${1:-}" in
  --check) built && exit 0 || exit 1 ;;
  --print) echo "$tool"; exit 0 ;;
  "") ;;
  *) echo "usage: $0 [--check|--print]" >&2; exit 2 ;;
esac
built && exit 0

command -v go >/dev/null 2>&1 || export PATH="$PATH:/usr/local/go/bin"
mkdir -p "$bin"
export GOPATH="$cache/go" GOFLAGS=-mod=readonly GOTOOLCHAIN=local CGO_ENABLED=0
echo "[chart-tools] building reel-chart-tools (kstatus, PromQL parser) into $bin"
t0=$SECONDS
(cd "$here" && nice -n 10 go build -trimpath -ldflags "-s -w" -o "$tool" .)
echo "$sum" >"$stamp"
echo "[chart-tools] built in $((SECONDS - t0)) s"
