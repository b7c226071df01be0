#!/usr/bin/env bash
# The GPU check in one command, for a machine with one NVIDIA data-centre GPU (H100/H200), 16 cores,
# the NVIDIA driver and no network, given this checkout and e2e/gpu/carry (made by prepare.sh):
#   bash e2e/gpu/check.sh [--out FILE] [check.ts options]
# It prints one table — what `reel node-probe`'s detection finds and the labels it would write, one
# episode through cuda>cpu against CPU decode (wall, CPU, SSIM against the source), and the
# segment-parallel encode of a 120 s 1080p episode with 16, 8, 4, 2 and 1 workers against one
# ffmpeg with every thread — and writes the report as JSON (default e2e/gpu/out/gpu-check.json).
# Planned to end in about 6 minutes on 16 cores; --budget (480 s) stops it starting steps after that.
#   --plan          print what it would run (JSON) and run nothing; needs no GPU
#   --allow-no-gpu  run the CPU rows on a machine without a GPU (the tests do, with a tiny episode)
# Exit 0 every step ran, 1 a step failed or did not fit the budget, 2 no GPU / bad arguments / no carry.
# Environment: REEL_GPU_WORK (/tmp/reel-gpu: where the carry is unpacked), REEL_GPU_DEVICE (/dev/nvidia0),
# REEL_GPU_CARRY (e2e/gpu/carry).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
carry="${REEL_GPU_CARRY:-$here/carry}"
work="${REEL_GPU_WORK:-/tmp/reel-gpu}"
device="${REEL_GPU_DEVICE:-/dev/nvidia0}"

fail() {
  printf 'check.sh: error %s: %s\n' "$1" "$2" >&2
  exit 2
}

need_gpu=1
has_out=0
for a in "$@"; do
  case "$a" in
  --plan | --allow-no-gpu) need_gpu=0 ;;
  --out) has_out=1 ;;
  esac
done

if [ "$need_gpu" = 1 ]; then
  next="run it on the GPU machine (an H100/H200 with its driver), or pass --plan to see what it would run"
  command -v nvidia-smi >/dev/null || fail REEL_ENCODER_UNAVAILABLE "no NVIDIA GPU here: nvidia-smi is not on PATH; $next"
  [ -e "$device" ] || fail REEL_ENCODER_UNAVAILABLE "no NVIDIA GPU here: $device does not exist; $next"
  gpus="$(nvidia-smi -L 2>&1)" || fail REEL_ENCODER_UNAVAILABLE "nvidia-smi -L failed: $gpus; check the driver ($next)"
  grep -q '^GPU [0-9]' <<<"$gpus" || fail REEL_ENCODER_UNAVAILABLE "nvidia-smi -L lists no GPU: $gpus"
fi

# xz, or Python's lzma where the machine has no xz
unxz() {
  if command -v xz >/dev/null; then
    xz -dc "$1"
  elif ! command -v python3 >/dev/null; then
    fail REEL_INVALID_ARGUMENT "neither xz nor python3 here to unpack e2e/gpu/carry"
  else
    python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), sys.stdout.buffer)' "$1"
  fi
}

# The carry, unpacked once per manifest: Node, ffmpeg with its libraries, and into the checkout
# only what it lacks (a development checkout keeps its own node_modules and addon).
unpack() {
  local stamp
  stamp="$(sha256sum "$carry/manifest.json" | cut -c1-16)"
  if [ "$(cat "$work/.stamp" 2>/dev/null)" != "$stamp" ]; then
    rm -rf "$work" && mkdir -p "$work"
    unxz "$carry/node.xz" >"$work/node" && chmod 0755 "$work/node"
    unxz "$carry/ffmpeg.tar.xz" | tar -C "$work" -xf -
    echo "$stamp" >"$work/.stamp"
  fi
  unxz "$carry/app.tar.xz" | tar -C "$repo" --skip-old-files -xf -
}

# The NVIDIA user-space libraries ffmpeg loads at run time (dlopen): where they are, for the table
# and for the loader's search path.
driver_libs=()
driver_dirs=""
find_driver_libs() {
  local lib path
  for lib in libcuda.so.1 libnvcuvid.so.1 libnvidia-encode.so.1; do
    path="$({ ldconfig -p || /sbin/ldconfig -p; } 2>/dev/null | grep -F "$lib (" | grep -m1 x86-64 | sed 's/.*=> //' || true)"
    if [ -z "$path" ]; then
      for dir in /usr/local/nvidia/lib64 /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/local/cuda/compat; do
        [ -e "$dir/$lib" ] && path="$dir/$lib" && break
      done
    fi
    driver_libs+=(--driver-lib "$lib=${path:-missing}")
    if [ -n "$path" ]; then
      case ":$driver_dirs:" in *":$(dirname "$path"):"*) ;; *) driver_dirs+=":$(dirname "$path")" ;; esac
    fi
  done
}

if [ -f "$carry/manifest.json" ]; then
  unpack
  node="$work/node"
  export REEL_FFMPEG="$work/ffmpeg/bin/ffmpeg" REEL_FFPROBE="$work/ffmpeg/bin/ffprobe"
elif [ "$need_gpu" = 1 ]; then
  fail REEL_INVALID_ARGUMENT "e2e/gpu/carry is missing: run bash e2e/gpu/prepare.sh on a machine with the repository built, then carry e2e/gpu/carry"
else
  node="$repo/node_modules/node/bin/node" # a development checkout: its Node and the system's ffmpeg
  [ -x "$node" ] || node=node
fi

find_driver_libs
[ -d "$work/ffmpeg" ] && [ -f "$carry/manifest.json" ] && printf '%s\n' "$driver_dirs" >"$work/ffmpeg/driver-path"
cd "$repo"
out_args=()
[ "$has_out" = 1 ] || out_args=(--out "$here/out/gpu-check.json")
mkdir -p "$here/out"
exec "$node" "$here/check.ts" "${driver_libs[@]}" "${out_args[@]}" "$@"
