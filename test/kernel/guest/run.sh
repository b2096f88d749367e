#!/bin/bash
# Guest entry point, run by /usr/local/sbin/ifb-runner.sh (installed by build-image.sh)
# from /ifb/in, the unpacked input disk that test/kernel/boot.sh made:
#   run.sh lib.sh SCENARIOS BACKENDS [ENV] programs/<backend>.bt scenarios/<name>.sh
# For each scenario it writes /ifb/out/<name>/ (see lib.sh) and copies everything so
# far onto the output disk, so a later hang still leaves the finished scenarios.
export IN=/ifb/in OUTROOT=/ifb/out
cd "$IN" || exit 1
[ -f ENV ] && set -a && . ./ENV && set +a
uptime_s() { cut -d' ' -f1 /proc/uptime; }
echo "kernel: $(uname -r)"
echo "scenarios: $(cat SCENARIOS)"
echo "backends: $(cat BACKENDS)"
uname -a > "$OUTROOT/uname.txt"
bpftrace --version > "$OUTROOT/bpftrace-version.txt" 2>&1
# bonding: max_bonds=0 so loading it does not create bond0 (the scenarios do).
# Loaded before any tracer starts, so the bonding/bridge probes can attach.
# team: the generated programs also probe team_port_add/del (no scenario uses teams).
modprobe bonding max_bonds=0; modprobe bridge; modprobe dummy; modprobe veth; modprobe team
lsmod > "$OUTROOT/lsmod.txt"
bpftrace --info > "$OUTROOT/bpftrace-info.txt" 2>&1
reset_guest() {
  local n
  for n in $(ls /sys/class/net); do      # masters first (deleting a bond releases its slaves)
    [ -d /sys/class/net/$n/bonding ] || [ -d /sys/class/net/$n/bridge ] && ip link del "$n" 2>/dev/null
  done
  for n in $(ls /sys/class/net); do [ "$n" = lo ] || ip link del "$n" 2>/dev/null; done
  rm -rf /run/systemd/network
  udevadm control --reload; udevadm settle -t 10
}
for s in $(cat SCENARIOS); do
  export OUT=$OUTROOT/$s
  mkdir -p "$OUT"
  echo "=== scenario $s start $(date +%T.%N) uptime $(uptime_s)"
  echo "IFB scenario $s start" > /dev/kmsg
  t0=$(date +%s.%N)
  timeout -k 10 "${SCEN_TIMEOUT:-420}" bash -c ". ./lib.sh && . ./scenarios/$s.sh && run_scenario" \
    > "$OUT/scenario.log" 2>&1
  rc=$?
  t1=$(date +%s.%N)
  echo "$rc" > "$OUT/scenario.rc"
  awk -v a="$t0" -v b="$t1" -v rc="$rc" 'BEGIN{printf "scenario_wall=%.1f s rc=%d\n", b-a, rc}' >> "$OUT/timing.txt"
  echo "=== scenario $s end rc=$rc $(date +%T.%N) uptime $(uptime_s)"
  echo "IFB scenario $s end rc=$rc" > /dev/kmsg
  # whatever a killed scenario left behind must not leak into the next one:
  # its tracers (by pid), its interfaces, its udev .link files
  for p in $(cat "$OUT/tracer.pids" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
  reset_guest
  sync; tar -cf /dev/vdc -C "$OUTROOT" . ; sync
done
echo "all scenarios done uptime $(uptime_s)"
# PROBE_LIST=1: which of the programs' kprobe/kfunc attach points this kernel lists.
if [ -n "${PROBE_LIST:-}" ]; then
  timeout 120 bpftrace -l 'kprobe:*' > /tmp/all-kprobes.txt 2>&1
  timeout 180 bpftrace -l 'kfunc:*' > /tmp/all-kfuncs.txt 2>&1
  for f in "$IN"/programs/*.bt; do
    grep -oE '^(kprobe|kretprobe|kfunc|kretfunc):[A-Za-z0-9_:]+' "$f"
  done | sort -u | while read -r ap; do
    fn=${ap##*:}
    case $ap in k*probe:*) l=/tmp/all-kprobes.txt;; *) l=/tmp/all-kfuncs.txt;; esac
    echo "$ap -> $(grep -E ":$fn\$" $l | tr '\n' ' ')"
  done > "$OUTROOT/probe-list.txt" 2>&1
  echo "probe list done uptime $(uptime_s)"
  sync; tar -cf /dev/vdc -C "$OUTROOT" . ; sync
fi
