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
. "$here/../../scripts/go-cache.sh"
tool="$reel_bin/reel-chart-tools"
stamp_file="$reel_bin/.reel-chart-tools.sum"
sum=$(cat "$here/go.mod" "$here/go.sum" "$here/main.go" | sha256sum | cut -d' ' -f1)
stamped_cli "$tool" "$stamp_file" "$sum" "$@"
export GOFLAGS=-mod=readonly CGO_ENABLED=0
echo "[chart-tools] building reel-chart-tools (kstatus, PromQL parser) into $reel_bin"
t0=$SECONDS
(cd "$here" && nice -n 10 go build -trimpath -ldflags "-s -w" -o "$tool" .)
stamp "$stamp_file" "$sum"
echo "[chart-tools] built in $((SECONDS - t0)) s"
