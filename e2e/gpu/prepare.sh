#!/usr/bin/env bash
# Fills e2e/gpu/carry/ (ignored by git) with what check.sh needs on a GPU machine that has no network
# and nothing of ours installed, within the device tool's 64 MiB for the tree and its carried paths:
#   node.xz        Node 24.21.0 (the repository's pin, node_modules/node)
#   ffmpeg.tar.xz  Debian 12's ffmpeg and ffprobe as installed here, with the libraries they load on
#                  the check's paths and glibc's loader (run as lib/ld-linux-x86-64.so.2, so the
#                  GPU machine's own libc never mixes in); libraries the check never calls into are
#                  stubs (stub-lib.py), or the carry would be ~75 MiB of xz on its own
#   app.tar.xz     what the checkout's TypeScript needs that git does not hold: zod and yaml, the
#                  @reel workspace links, the built addon (crates/node: dist, binding.js, *.node, reel-child)
#   manifest.json  versions, sizes and sha256 of the three
# Run here, after scripts/bootstrap.sh (Debian's ffmpeg installed, the addon built); then call the
# device with carry ["e2e/gpu/carry"] and `bash e2e/gpu/check.sh`. Prints the sizes.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
out="$here/carry"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/reel-gpu-prepare.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
log() { echo "[prepare] $*" >&2; }
die() { echo "[prepare] error: $*" >&2; exit 1; }

# Libraries ffmpeg loads for real on the check's paths: glibc, the C++ runtime, libav*/libsw*, the
# three CPU encoders the node probe tests (x264, x265 with libnuma, SVT-AV1), the compressors the
# demuxers use, VA-API/DRM that libavutil's device code links, zimg (the worker's zscale colour
# conversion), and libopenmpt and libgme, whose demuxers' probes run on every input whose format is
# not forced (a stub's NULL crashed ffprobe).
# Everything else ffmpeg links (SDL, X11, PulseAudio, libxml2 and ICU, flite, tesseract, codec2, ...)
# is stubbed.
keep_re='^(ld-linux-x86-64\.so|libc\.so|libm\.so|libmvec\.so|libpthread\.so|libdl\.so|librt\.so|libresolv\.so|libstdc\+\+\.so|libgcc_s\.so|libav(util|codec|format|filter|device)\.so|libsw(scale|resample)\.so|libpostproc\.so|libx264\.so|libx265\.so|libnuma\.so|libSvtAv1Enc\.so|libz\.so|libbz2\.so|liblzma\.so|libva\.so|libva-drm\.so|libdrm\.so|libopenmpt\.so|libgme\.so|libzimg\.so)'

needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }

bundle_ffmpeg() {
  local d="$tmp/ffmpeg" ff ffprobe lib so path
  ff="$(command -v ffmpeg)" && ffprobe="$(command -v ffprobe)" || die "ffmpeg/ffprobe missing (apt-get install ffmpeg)"
  mkdir -p "$d/bin" "$d/lib"
  cp "$ff" "$d/bin/ffmpeg.real" && cp "$ffprobe" "$d/bin/ffprobe.real"
  # soname -> path, from the loader's view of both binaries
  declare -A where=()
  while read -r so path; do where[$so]="$path"; done < <(ldd "$ff" "$ffprobe" | awk '/=>/ && $3 ~ /^\// {print $1, $3}')
  cp -L /lib64/ld-linux-x86-64.so.2 "$d/lib/"
  local queue=("$d/bin/ffmpeg.real" "$d/bin/ffprobe.real") seen=" " stubs=0 kept=0
  while [ ${#queue[@]} -gt 0 ]; do
    lib="${queue[0]}" && queue=("${queue[@]:1}")
    for so in $(needed "$lib"); do
      case "$seen" in *" $so "*) continue ;; esac
      [ "$so" = ld-linux-x86-64.so.2 ] && continue # copied above
      seen+="$so "
      path="${where[$so]:-}"
      [ -n "$path" ] || die "no path for $so (ldd)"
      if [[ "$so" =~ $keep_re ]]; then
        cp -L "$path" "$d/lib/$so" || die "copying $path"
        queue+=("$d/lib/$so") && kept=$((kept + 1))
      else
        python3 "$here/stub-lib.py" "$path" "$d/lib" || die "stubbing $path"
        stubs=$((stubs + 1))
      fi
    done
  done
  for tool in ffmpeg ffprobe; do
    # check.sh writes driver-path (":<dir of libcuda.so.1>") for the NVIDIA libraries ffmpeg dlopens
    cat >"$d/bin/$tool" <<EOF
#!/bin/sh
# Debian's $tool with the libraries beside it, through their own loader.
d="\$(cd "\$(dirname "\$0")/.." && pwd)"
extra=""
[ -r "\$d/driver-path" ] && read -r extra <"\$d/driver-path"
exec "\$d/lib/ld-linux-x86-64.so.2" --library-path "\$d/lib\$extra" "\$d/bin/$tool.real" "\$@"
EOF
    chmod 0755 "$d/bin/$tool"
  done
  "$d/bin/ffmpeg" -hide_banner -version | head -1 >"$d/VERSION"
  smoke_test "$d/bin"
  log "ffmpeg: $(cat "$d/VERSION"); $kept libraries kept, $stubs stubbed, $(du -sm "$d" | cut -f1) MiB unpacked"
  tar -C "$tmp" -cf - ffmpeg | xz -6 -T0 >"$tmp/out/ffmpeg.tar.xz"
}

# What the check does with ffmpeg, through the bundle: make a source, probe it without a forced
# format (every demuxer's probe runs), encode with the three encoders the node probe tests, compare.
smoke_test() {
  local bin="$1" t="$tmp/smoke" enc
  mkdir -p "$t"
  "$bin/ffmpeg" -v error -y -f lavfi -i testsrc2=size=320x180:rate=30 -f lavfi -i sine -t 2 -c:v libx264 -g 60 \
    -c:a aac "$t/src.mp4" || die "smoke test: making a source failed"
  "$bin/ffprobe" -v error -protocol_whitelist file -show_format -show_streams -of json "file:$t/src.mp4" >/dev/null ||
    die "smoke test: ffprobe failed (a stubbed library on a probe path?)"
  for enc in libx264 libx265 libsvtav1; do
    "$bin/ffmpeg" -v error -y -i "$t/src.mp4" -vf scale=160:90 -c:v "$enc" -c:a aac "$t/$enc.mp4" >"$t/log" 2>&1 ||
      { cat "$t/log" >&2; die "smoke test: $enc failed"; }
  done
  "$bin/ffmpeg" -v info -i "$t/libx264.mp4" -i "$t/src.mp4" -lavfi "[1:v]scale=160:90[r];[0:v][r]ssim" -f null - 2>&1 |
    grep -q "SSIM Y:" || die "smoke test: the ssim filter printed nothing"
  rm -rf "$t"
  log "smoke test passed: source, probe (every demuxer's probe), libx264/libx265/libsvtav1 encodes, ssim"
}

bundle_app() {
  local nm="$repo/node_modules" pkg
  for pkg in zod yaml; do [ -f "$nm/$pkg/package.json" ] || die "$nm/$pkg missing (npm ci)"; done
  for f in crates/node/dist/index.js crates/node/binding.js crates/node/reel-child; do
    [ -e "$repo/$f" ] || die "$f missing: build the addon first (npm run build -w @reel/native)"
  done
  (cd "$repo" && tar -cf - node_modules/zod node_modules/yaml node_modules/@reel/crds node_modules/@reel/native \
    crates/node/dist crates/node/binding.js crates/node/reel-child crates/node/*.node) | xz -6 -T0 >"$tmp/out/app.tar.xz"
}

bundle_node() {
  local node="$repo/node_modules/node/bin/node"
  [ "$("$node" --version)" = v24.21.0 ] || die "$node is not Node 24.21.0"
  # compressing it takes minutes on two cores: the last carry's copy is kept while the binary is older
  if [ -f "$out/node.xz" ] && [ "$out/node.xz" -nt "$(readlink -f "$node")" ]; then
    cp "$out/node.xz" "$tmp/out/node.xz"
  else
    xz -6 -T0 <"$(readlink -f "$node")" >"$tmp/out/node.xz"
  fi
}

manifest() {
  local f first=1
  {
    printf '{\n  "made": "%s",\n  "commit": "%s",\n  "ffmpeg": "%s",\n  "node": "v24.21.0",\n  "files": {' \
      "$(date -u +%FT%TZ)" "$(git -C "$repo" rev-parse HEAD)" "$(cat "$tmp/ffmpeg/VERSION")"
    for f in node.xz ffmpeg.tar.xz app.tar.xz; do
      [ $first = 1 ] || printf ','
      first=0
      printf '\n    "%s": { "bytes": %s, "sha256": "%s" }' "$f" "$(stat -c %s "$tmp/out/$f")" "$(sha256sum "$tmp/out/$f" | cut -d' ' -f1)"
    done
    printf '\n  }\n}\n'
  } >"$tmp/out/manifest.json"
}

mkdir -p "$tmp/out"
bundle_node
bundle_ffmpeg
bundle_app
manifest
# The CPU rows of the check itself through this carry, on a 4 s episode: every ffmpeg command the
# check runs, with the carried Node and libraries (stubs shadow the machine's own libraries here too).
log "check.sh --allow-no-gpu on a 4 s 144p episode with this carry"
REEL_GPU_CARRY="$tmp/out" REEL_GPU_WORK="$tmp/work" bash "$here/check.sh" --allow-no-gpu --seconds 4 --height 144 \
  --workers 2 --cores 2 --budget 300 --out "$tmp/check.json" >"$tmp/check.txt" 2>&1 ||
  { cat "$tmp/check.txt" >&2; die "the check failed with this carry"; }
rm -rf "$out" && mv "$tmp/out" "$out"
tree_bytes="$(cd "$repo" && git ls-files -z --cached --others --exclude-standard | xargs -0 stat -c %s 2>/dev/null | awk '{s += $1} END {print s}')"
carry_bytes="$(du -cb "$out"/* | tail -1 | cut -f1)"
for f in "$out"/*; do log "$(printf '%-14s %6.1f MiB' "$(basename "$f")" "$(echo "$(stat -c %s "$f") / 1048576" | bc -l)")"; done
log "$(printf 'carry %.1f MiB + working tree %.1f MiB = %.1f MiB of the 64 MiB the device takes' \
  "$(echo "$carry_bytes / 1048576" | bc -l)" "$(echo "$tree_bytes / 1048576" | bc -l)" "$(echo "($carry_bytes + $tree_bytes) / 1048576" | bc -l)")"
[ $((carry_bytes + tree_bytes)) -lt $((64 * 1048576)) ] || die "over 64 MiB: the device would refuse this tree"
