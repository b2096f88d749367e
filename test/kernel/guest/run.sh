#!/bin/bash
# Guest entry point, run by /usr/local/sbin/ifb-runner.sh (installed by build-image.sh)
# from /ifb/in, the unpacked input disk that test/kernel/boot.sh made:
#   run.sh lib.sh SCENARIOS BACKENDS [ENV] programs/<backend>.bt scenarios/<name>.sh
# Starts one tracing session (every backend + ip monitor), runs each scenario in turn
# (each in its own shell under a timeout), stops the session.  Results go to /ifb/out
# (see lib.sh) and are copied onto the output disk after every scenario, so a later
# hang still leaves what finished.
export IN=/ifb/in OUTROOT=/ifb/out LANG=C.UTF-8
cd "$IN" || exit 1
[ -f ENV ] && set -a && . ./ENV && set +a
. ./lib.sh
# The boot-time recording proof: its own two boots, nothing else (boot-record.sh).
if [ -n "${BOOT_RECORD:-}" ]; then . ./boot-record.sh; flush; exit 0; fi
echo "kernel: $(uname -r)"
echo "scenarios: $(cat SCENARIOS)"
echo "backends: $(cat BACKENDS)"
uname -a > "$OUTROOT/uname.txt"
bpftrace --version > "$OUTROOT/bpftrace-version.txt" 2>&1
# bonding: max_bonds=0 so loading it (modprobe, or autoloaded by `ip link add type bond`) does not create bond0.
echo 'options bonding max_bonds=0' > /etc/modprobe.d/ifb-bonding.conf
# Late modules (issue 13, late.sh): ifblame capture starts before bonding, team and 8021q are loaded.
[ -x "$IN/ifblame/node" ] && [ -z "${NO_LATE:-}" ] && { . ./late.sh; run_late_modules; }
# Loaded before the tracers start, so the bonding/bridge/team probes can attach.
modprobe bonding max_bonds=0; modprobe bridge; modprobe dummy; modprobe veth; modprobe team
lsmod > "$OUTROOT/lsmod.txt"
for m in bonding bridge team; do ls /sys/module/$m >/dev/null 2>&1 || echo "module $m NOT loaded" >> "$OUTROOT/lsmod.txt"; done

# ifblame itself (input disk: ifblame/node + ifblame/app = bin, dist/src, probes, node_modules)
IFB_APP=
if [ -x "$IN/ifblame/node" ] && [ -f "$IN/ifblame/app/bin/ifblame.js" ]; then
  IFB_APP=$IN/ifblame/app
  "$IN/ifblame/node" --version > "$OUTROOT/node-version.txt" 2>&1
  mkdir -p "$OUTROOT/doctor"
  echo "=== ifblame doctor start uptime $(uptime_s)"
  t0=$(date +%s.%N)
  ifb doctor > "$OUTROOT/doctor/doctor.txt" 2> "$OUTROOT/doctor/doctor.stderr"
  echo $? > "$OUTROOT/doctor/doctor.rc"
  awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "doctor wall %.1f s\n", b-a}' > "$OUTROOT/doctor/timing.txt"
  # what the kernel lists for the catalog's functions (doctor/auto decide on available_filter_functions)
  grep -E '^(dev_set_mac_address|dev_set_mac_address_user|netif_set_mac_address|dev_addr_mod|dev_set_promiscuity|__dev_set_promiscuity|br_add_if|del_nbp|bond_enslave|__bond_release_one|team_port_add|team_port_del|team_add_slave|team_del_slave)([. ]|$)' \
    /sys/kernel/tracing/available_filter_functions > "$OUTROOT/doctor/functions.txt" 2>&1
  echo "=== ifblame doctor done rc=$(cat "$OUTROOT/doctor/doctor.rc") uptime $(uptime_s)"
  flush
fi

# Programs the guest generates itself with `ifblame script` (detection on this kernel drops what it lacks),
# then every program that runs is kept in the results: the host imports with exactly what ran.
mkdir -p "$OUTROOT/programs"
if [ -n "$IFB_APP" ]; then
  for b in ${GUEST_SCRIPT:-}; do
    t0=$(date +%s.%N)
    ifb script --backend "$b" > "$IN/programs/$b.bt" 2> "$OUTROOT/programs/$b.script.stderr" || echo "ifblame script --backend $b: exit $?" >> "$OUTROOT/programs/$b.script.stderr"
    awk -v a="$t0" -v b="$(date +%s.%N)" -v n="$b" 'BEGIN{printf "ifblame script --backend %s: %.1f s\n", n, b-a}' >> "$OUTROOT/programs/timing.txt"
    [ -s "$IN/programs/$b.bt" ] || rm -f "$IN/programs/$b.bt"
  done
fi
cp "$IN"/programs/*.bt "$OUTROOT/programs/" 2>/dev/null
echo "=== tracers start $(date +%T.%N) uptime $(uptime_s)"
start_session
echo "=== tracers ready $(date +%T.%N) uptime $(uptime_s)"
flush
if [ -n "$IFB_APP" ]; then
  # ifblame itself, live, backend auto, around every scenario: `capture --record` runs the scenarios as
  # its command once its own program is attached (the raw programs above are already running).
  L=$OUTROOT/live; mkdir -p "$L"
  echo "=== ifblame capture start $(date +%T.%N) uptime $(uptime_s)"
  echo "IFB ifblame capture start" > /dev/kmsg
  t0=$(date +%s.%N)
  IFBLAME_READY_TIMEOUT=${IFB_READY_TIMEOUT:-400} ifb capture --format ndjson --record "$L/trace.ifblame" \
    -- bash -c 'touch "$OUTROOT/live/command-started"; echo "command started $(date +%s%N)" > "$OUTROOT/live/command-start.txt"; . "$IN/lib.sh"; run_all_scenarios' \
    > "$L/capture.ndjson" 2> "$L/capture.stderr"
  echo $? > "$L/capture.rc"
  awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "capture wall %.1f s\n", b-a}' > "$L/timing.txt"
  echo "=== ifblame capture end rc=$(cat "$L/capture.rc") uptime $(uptime_s)"
  echo "IFB ifblame capture end rc=$(cat "$L/capture.rc")" > /dev/kmsg
  # ifblame could not start: the raw programs still get their scenarios
  [ -f "$L/command-started" ] || run_all_scenarios
else
  run_all_scenarios
fi
stop_session
echo "=== all scenarios done uptime $(uptime_s)"
flush
[ -n "$IFB_APP" ] && [ -n "${TUI_SCENARIO:-}" ] && { run_tui "$TUI_SCENARIO"; flush; }

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
