#!/bin/bash
# Guest entry point, run by /usr/local/sbin/ifb-runner.sh (installed by build-image.sh)
# from /ifb/in, the unpacked input disk that test/kernel/boot.sh made:
#   run.sh lib.sh SCENARIOS BACKENDS [ENV] programs/<backend>.bt scenarios/<name>.sh
# Starts one tracing session (every backend + ip monitor), runs each scenario in turn
# (each in its own shell under a timeout), stops the session.  Results go to /ifb/out
# (see lib.sh) and are copied onto the output disk after every scenario, so a later
# hang still leaves what finished.
export IN=/ifb/in OUTROOT=/ifb/out
cd "$IN" || exit 1
[ -f ENV ] && set -a && . ./ENV && set +a
. ./lib.sh
uptime_s() { cut -d' ' -f1 /proc/uptime; }
flush() { sync; tar -cf /dev/vdc -C "$OUTROOT" . ; sync; }
echo "kernel: $(uname -r)"
echo "scenarios: $(cat SCENARIOS)"
echo "backends: $(cat BACKENDS)"
uname -a > "$OUTROOT/uname.txt"
bpftrace --version > "$OUTROOT/bpftrace-version.txt" 2>&1
# bonding: max_bonds=0 so loading it does not create bond0 (the scenarios do).
# Loaded before the tracers start, so the bonding/bridge/team probes can attach.
modprobe bonding max_bonds=0; modprobe bridge; modprobe dummy; modprobe veth; modprobe team
lsmod > "$OUTROOT/lsmod.txt"

reset_guest() {
  local n
  for n in $(ls /sys/class/net); do      # masters first (deleting a bond releases its slaves)
    { [ -d /sys/class/net/$n/bonding ] || [ -d /sys/class/net/$n/bridge ]; } && ip link del "$n" 2>/dev/null
  done
  for n in $(ls /sys/class/net); do [ -d /sys/class/net/$n ] && [ "$n" != lo ] && ip link del "$n" 2>/dev/null; done
  rm -rf /run/systemd/network
  udevadm control --reload; udevadm settle -t 10
}

echo "=== tracers start $(date +%T.%N) uptime $(uptime_s)"
start_session
echo "=== tracers ready $(date +%T.%N) uptime $(uptime_s)"
flush
for s in $(cat SCENARIOS); do
  export OUT=$OUTROOT/$s
  mkdir -p "$OUT"
  echo "=== scenario $s start $(date +%T.%N) uptime $(uptime_s)"
  echo "IFB scenario $s start" > /dev/kmsg
  t0=$(date +%s.%N)
  timeout -k 10 "${SCEN_TIMEOUT:-150}" bash -c ". ./lib.sh && . ./scenarios/$s.sh && run_scenario" \
    > "$OUT/scenario.log" 2>&1
  rc=$?
  t1=$(date +%s.%N)
  echo "$rc" > "$OUT/scenario.rc"
  awk -v a="$t0" -v b="$t1" -v rc="$rc" 'BEGIN{printf "scenario_wall=%.1f s rc=%d\n", b-a, rc}' >> "$OUT/timing.txt"
  echo "=== scenario $s end rc=$rc $(date +%T.%N) uptime $(uptime_s)"
  echo "IFB scenario $s end rc=$rc" > /dev/kmsg
  # whatever a failed scenario left behind must not leak into the next one
  reset_guest
  flush
done
stop_session
echo "=== all scenarios done uptime $(uptime_s)"
flush

# PROBE_LIST=1: which of the programs' kprobe/kfunc attach points this kernel lists.
if [ -n "${PROBE_LIST:-}" ]; then
  {
    timeout 120 bpftrace -l 'kprobe:*'
    timeout 180 bpftrace -l 'kfunc:*'
    for m in bonding bridge team; do timeout 120 bpftrace -l "kfunc:$m:*"; done
  } > /tmp/all-probes.txt 2>&1
  for f in "$IN"/programs/*.bt; do
    grep -oE '^(kprobe|kretprobe|kfunc|kretfunc):[A-Za-z0-9_:]+' "$f"
  done | sort -u | while read -r ap; do
    fn=${ap##*:}
    case $ap in k*probe:*) t=kprobe;; *) t=kfunc;; esac
    echo "$ap -> $(grep -E "^$t:(.*:)?$fn\$" /tmp/all-probes.txt | tr '\n' ' ')"
  done > "$OUTROOT/probe-list.txt" 2>&1
  echo "=== probe list done uptime $(uptime_s)"
  flush
fi
