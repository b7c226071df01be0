#!/usr/bin/env bash
# Builds the pinned Go tools the tests start as real processes, once, into a cache on disk:
#   versitygw (Apache-2.0 S3-compatible server; MinIO's server is AGPL and stays out of our tooling).
# Re-running is cheap: a tool whose pinned version is already built is skipped.
set -euo pipefail
cache="${REEL_CACHE_DIR:-$HOME/.cache/reel}"
bin="$cache/bin"
mkdir -p "$bin"
export GOPATH="$cache/go" GOFLAGS=-mod=mod GOTOOLCHAIN=local

build() { # name module version
  local name=$1 module=$2 version=$3 stamp="$bin/.$1.version"
  if [ -x "$bin/$name" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$version" ]; then return; fi
  echo "[build-tools] building $name $version (cached in $bin)"
  GOBIN="$bin" go install "$module@$version"
  echo "$version" >"$stamp"
}

build versitygw github.com/versity/versitygw/cmd/versitygw v1.8.0
