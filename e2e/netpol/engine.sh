#!/usr/bin/env bash
# The NetworkPolicy engine on the L5 node (issue 17): kube-router's policy controller alone
# (--run-firewall; no routing, no service proxy), built by e2e/netpol/build.sh, run as a HOST PROCESS
# with the control plane's admin kubeconfig — not a DaemonSet: no kube-router image is built here (no
# registry, and the node's containerd only has the images run.sh imports). It enforces with iptables
# (nf_tables backend here) + ipset: per-pod chains jumped to from FORWARD (bridged, br_netfilter), INPUT
# (pod -> host addresses) and OUTPUT.
#
#   engine.sh check               exit 0 when this machine can run it, else print why (one per line), exit 1
#   engine.sh start KUBECONFIG    start it for node reel-l5 (pid and log under $state)
#   engine.sh stop                stop it and remove its chains and ipsets (kube-router v2.1.0's own
#                                 --cleanup-config also tears down the router's and proxy's state)
#   engine.sh leftovers           print the kube-router chains and ipsets still on the host (none: empty)
# Environment: REEL_CACHE_DIR (default ~/.cache/reel). Needs root.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
cache="${REEL_CACHE_DIR:-$HOME/.cache/reel}"
state="$cache/netpol/state"
bin="$(bash "$here/build.sh" --print)"
node_name="reel-l5"
chains_re='^KUBE-(ROUTER-(INPUT|FORWARD|OUTPUT)|POD-FW-|NWPLCY-)'
sets_re='^(inet6:)?KUBE-(SRC|DST)-'

log() { echo "[netpol] $*" >&2; }
die() { echo "[netpol] error: $*" >&2; exit 1; }

# What kube-router's policy controller needs from the kernel, tried for real: an ipset of networks with
# a nomatch entry (ipBlock.except), an iptables rule matching it with physdev (bridged pod traffic) and
# REJECT, and br_netfilter passing bridged frames through iptables.
probe_kernel() {
  local set=reel-netpol-probe chain=REEL-NETPOL-PROBE ok=0
  ipset create "$set" hash:net 2>&1 || return 1
  { ipset add "$set" 10.0.0.0/8 && ipset add "$set" 10.1.0.0/16 nomatch; } 2>&1 || ok=1
  if [ $ok = 0 ] && iptables -t filter -N "$chain" 2>&1; then
    iptables -t filter -A "$chain" -m physdev --physdev-is-bridged -m set --match-set "$set" dst \
      -m comment --comment reel-netpol-probe -j REJECT 2>&1 || ok=1
    iptables -t filter -F "$chain" && iptables -t filter -X "$chain"
  else
    ok=1
  fi
  ipset destroy "$set"
  return $ok
}

cmd_check() {
  local why=() out
  [ "$(id -u)" = 0 ] || why+=("not root (iptables, ipset)")
  for t in iptables iptables-save iptables-restore ipset; do
    command -v "$t" >/dev/null || why+=("$t missing (apt-get install iptables ipset)")
  done
  bash "$here/build.sh" --check || why+=("kube-router is not built (bash e2e/netpol/build.sh)")
  [ -f /proc/sys/net/bridge/bridge-nf-call-iptables ] ||
    why+=("no br_netfilter (/proc/sys/net/bridge/bridge-nf-call-iptables): bridged pod traffic would bypass iptables")
  if [ ${#why[@]} = 0 ] && ! out="$(probe_kernel)"; then
    why+=("the kernel refuses an ipset hash:net + iptables -m set/-m physdev/-j REJECT rule: ${out//$'\n'/ }")
  fi
  if [ ${#why[@]} -gt 0 ]; then
    printf '%s\n' "${why[@]}"
    return 1
  fi
}

alive() { [ -f "$state/pid" ] && kill -0 "$(cat "$state/pid")" 2>/dev/null; }

cmd_start() {
  local kubeconfig="$1"
  alive && die "already running (pid $(cat "$state/pid"))"
  mkdir -p "$state"
  # pod traffic on the bridge must pass iptables (run.sh down restores this sysctl)
  sysctl -q -w net.bridge.bridge-nf-call-iptables=1
  setsid "$bin" --run-firewall=true --run-router=false --run-service-proxy=false \
    --kubeconfig "$kubeconfig" --hostname-override "$node_name" --service-cluster-ip-range 10.96.0.0/16 \
    --health-port 0 --metrics-port 0 --iptables-sync-period 30s --v 2 \
    >"$state/kube-router.log" 2>&1 </dev/null 9>&- &
  echo $! >"$state/pid"
  log "started kube-router $(basename "$(dirname "$bin")") (pid $!, log $state/kube-router.log)"
}

cleanup_rules() {
  local t c r
  for t in iptables ip6tables; do
    command -v "$t" >/dev/null || continue
    { "$t" -t filter -S 2>/dev/null | grep -E -- '^-A (INPUT|FORWARD|OUTPUT) .*-j KUBE-ROUTER-' || true; } |
      sed 's/^-A //' | while read -r r; do eval "$t -t filter -D $r" || true; done
    local chains
    chains="$("$t" -t filter -S 2>/dev/null | awk '$1 == "-N" {print $2}' | grep -E "$chains_re" || true)"
    for c in $chains; do "$t" -t filter -F "$c" || true; done
    for c in $chains; do "$t" -t filter -X "$c" || true; done
  done
  for c in $(ipset list -n 2>/dev/null | grep -E "$sets_re" || true); do ipset destroy "$c" || true; done
}

cmd_stop() {
  if alive; then
    local pid
    pid="$(cat "$state/pid")"
    kill -TERM "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; fi
    log "stopped kube-router (pid $pid)"
  fi
  rm -f "$state/pid"
  cleanup_rules
}

cmd_leftovers() {
  local t
  for t in iptables ip6tables; do
    command -v "$t" >/dev/null || continue
    "$t" -t filter -S 2>/dev/null | grep -E -- "^-N |-j KUBE-ROUTER-" | grep -E -- "KUBE-(ROUTER-|POD-FW-|NWPLCY-)" | sed "s/^/$t: /" || true
  done
  ipset list -n 2>/dev/null | grep -E "$sets_re" | sed 's/^/ipset: /' || true
}

case "${1:-}" in
  check) cmd_check ;;
  start) cmd_start "${2:?kubeconfig}" ;;
  stop) cmd_stop ;;
  leftovers) cmd_leftovers ;;
  *) echo "usage: $0 check|start KUBECONFIG|stop|leftovers" >&2; exit 2 ;;
esac
