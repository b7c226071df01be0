#!/usr/bin/env bash
# Installs everything Reel's build, tests and benchmarks need on a fresh Debian machine, and
# nothing twice: system packages only when a command is missing, npm ci only when the lock changed
# (npm ci builds the Rust addon through the root `prepare` script).
#
#   scripts/bootstrap.sh          everything (tests, benchmarks, the control plane for e2e)
#   scripts/bootstrap.sh --run    only what `reel run` / `npm run demo` need (no test servers)
set -euo pipefail
cd "$(dirname "$0")/.."
run_only=false
[ "${1:-}" = "--run" ] && run_only=true

log() { printf '\033[1m[bootstrap]\033[0m %s\n' "$*"; }

# command -> Debian package
declare -A pkgs=([ffmpeg]=ffmpeg [ffprobe]=ffmpeg [cc]=build-essential [pkg-config]=pkg-config)
if ! $run_only; then
  pkgs+=([nginx]=nginx-light [aria2c]=aria2 [curl]=curl [/usr/bin/time]=time [redis-server]=redis-server
    [/usr/lib/postgresql/15/bin/initdb]=postgresql [chromium]=chromium [lua5.1]=lua5.1 [lua5.4]=lua5.4
    # level L5 (e2e/l5): a real container runtime, and the tools that build the worker image without a registry
    [containerd]=containerd [runc]=runc [/usr/lib/cni/bridge]=containernetworking-plugins [debootstrap]=debootstrap
    [umoci]=umoci
    # the three images from their Dockerfiles (e2e/images/build.sh, .ci/run) and their facts
    [buildah]=buildah [jq]=jq [bc]=bc)
fi
missing=()
for cmd in "${!pkgs[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${pkgs[$cmd]}")
done
if ((${#missing[@]})); then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  log "installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
  [ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
fi
command -v cargo >/dev/null 2>&1 || { echo "cargo not found: install Rust (rustup) first" >&2; exit 1; }

# yt-dlp, pinned with its hash, in a venv of its own (never the system Python's site-packages).
venv="${REEL_VENV:-$HOME/.cache/reel/venv}"
req_sum=$(sha256sum worker-image/requirements.txt | cut -d' ' -f1)
if [ ! -x "$venv/bin/yt-dlp" ] || [ "$(cat "$venv/.reel-req-stamp" 2>/dev/null)" != "$req_sum" ]; then
  log "installing yt-dlp into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check --require-hashes -r worker-image/requirements.txt
  echo "$req_sum" >"$venv/.reel-req-stamp"
fi

if ! $run_only; then
  # Pinned Go tools the tests start as real processes (the S3 server), built once and cached.
  command -v go >/dev/null 2>&1 || { [ -x /usr/local/go/bin/go ] && export PATH="/usr/local/go/bin:$PATH"; }
  bash e2e/scripts/build-tools.sh
  # helm for the chart tests (e2e/chart/), pinned and built from the Go module proxy, cached.
  bash e2e/scripts/build-helm.sh
  # helm v4.3.2 (helm4 in the same cache), which the L5 chart test installs the chart with
  bash e2e/helm/build-helm.sh
  # Flux's kstatus and Prometheus's PromQL parser, for the same tests (pinned by go.sum, cached).
  bash e2e/chart/tools/build.sh
  # hadolint for the Dockerfile lint in the same tests, pinned with its hash, in a venv of its own.
  hvenv="${REEL_CACHE_DIR:-$HOME/.cache/reel}/hadolint-venv"
  hreq_sum=$(sha256sum e2e/scripts/hadolint-requirements.txt | cut -d' ' -f1)
  if [ ! -x "$hvenv/bin/hadolint" ] || [ "$(cat "$hvenv/.reel-req-stamp" 2>/dev/null)" != "$hreq_sum" ]; then
    log "installing hadolint into $hvenv"
    python3 -m venv "$hvenv"
    "$hvenv/bin/pip" install -q --disable-pip-version-check --require-hashes -r e2e/scripts/hadolint-requirements.txt
    echo "$hreq_sum" >"$hvenv/.reel-req-stamp"
  fi
  # Kubernetes control plane for the L2/L3 tests and the kubelet for L5 (cached; ~13 min cold on
  # 2 cores, instant when built; the kubelet alone ~1 min with the control plane's build cache).
  bash e2e/scripts/build-k8s.sh --kubelet --check || {
    log "building pinned Kubernetes components into ~/.cache/reel/k8s"
    bash e2e/scripts/build-k8s.sh --kubelet
  }
fi

stamp=node_modules/.reel-lock-stamp
lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_sum" ] || ! ls crates/node/*.node >/dev/null 2>&1; then
  log "npm ci (builds the Rust addon)"
  npm ci --no-audit --no-fund
  echo "$lock_sum" >"$stamp"
else
  log "node_modules up to date; rebuilding the Rust addon if its sources changed"
  npm run build -w @reel/native --silent
fi
if ! $run_only && [ "$(id -u)" -eq 0 ]; then
  # The L5 worker image (e2e/l5/run.sh image): a debootstrap'd Debian once (~2 min, cached in
  # ~/.cache/reel/l5), the app layer again when the app changed (~1 min). Needs root and the
  # installed node_modules. Without it the L5 test skips and says so; it never stops the bootstrap.
  bash e2e/l5/run.sh image || log "the L5 worker image was not built (e2e/l5 will skip): see above"
fi
log "ready"
