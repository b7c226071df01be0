#!/usr/bin/env bash
# Builds the pinned Go tools the tests start as real processes, once, into a cache on disk:
#   versitygw (Apache-2.0 S3-compatible server; MinIO's server is AGPL and stays out of our tooling).
# Re-running is cheap: a tool whose pinned version is already built is skipped.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/go-cache.sh"
export GOFLAGS=-mod=mod

build() { # name module version
  local name=$1 module=$2 version=$3 stamp="$reel_bin/.$1.version"
  if stamped "$reel_bin/$name" "$stamp" "$version"; then return; fi
  mkdir -p "$reel_bin"
  echo "[build-tools] building $name $version (cached in $reel_bin)"
  GOBIN="$reel_bin" go install "$module@$version"
  stamp "$stamp" "$version"
}

build versitygw github.com/versity/versitygw/cmd/versitygw v1.8.0
