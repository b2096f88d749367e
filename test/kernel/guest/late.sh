# late.sh - the "late modules" phase (issue 13), sourced by run.sh BEFORE it loads any module:
# `ifblame capture --record` starts while bonding, team and 8021q are not loaded; the steps then create
# a bond, a team and a VLAN (each `ip link add` autoloads its driver), wait until the capture says the
# module's probes were added, and enslave/release ports.  The host asserts (late-modules.ts) that every
# enslave/release is observed with its process and kernel path, and what the capture says about when
# the probes were added.  Output: $OUTROOT/late/ (trace.ifblame, capture.ndjson/.stderr/.rc, steps.log,
# aat.log, lsmod-before.txt, module-tracepoint.txt, timing.txt).

# wait_probes MODULE: until the recording says the module's probes were added (or failed), at most 400 s.
wait_probes() {
  local i
  for i in $(seq 1 800); do
    grep -q "probes added for module $1\|probes for module $1 could not be attached" "$OUTROOT/late/trace.ifblame" && return 0
    sleep 0.5
  done
  echo "no 'probes added for module $1' after 400 s" >&2
  return 1
}

late_steps() {
  export OUT=$OUTROOT/late
  step l01_add_bond     ip link add lb0 type bond mode active-backup
  step l02_wait_bonding wait_probes bonding
  step l03_bond_ports   sh -c 'ip link add ld1 type dummy; ip link add ld2 type dummy'
  step l04_enslave1     ip link set ld1 master lb0
  step l05_enslave2     ip link set ld2 master lb0
  step l06_release1     ip link set ld1 nomaster
  step l07_add_team     ip link add lt0 type team
  step l08_wait_team    wait_probes team
  step l09_team_ports   sh -c 'ip link add lt1 type dummy; ip link add lt2 type dummy'
  step l10_team_port1   ip link set lt1 master lt0
  step l11_team_port2   ip link set lt2 master lt0
  step l12_team_release ip link set lt1 nomaster
  step l13_add_vlan     sh -c 'ip link add lv0 type dummy; ip link add link lv0 name lv0.7 type vlan id 7'
  step l14_cleanup      sh -c 'for d in lv0.7 lv0 lt0 lt1 lt2 lb0 ld1 ld2; do ip link del $d; done'
}

run_late_modules() {
  local L=$OUTROOT/late t0
  mkdir -p "$L"
  lsmod > "$L/lsmod-before.txt"
  # the tracepoint a watcher could use instead of polling /sys/module: listed for the README
  ls /sys/kernel/tracing/events/module/ > "$L/module-tracepoint.txt" 2>&1
  echo "=== late modules start uptime $(uptime_s)"
  t0=$(date +%s.%N)
  IFBLAME_READY_TIMEOUT=${IFB_READY_TIMEOUT:-400} ifb capture --format ndjson --record "$L/trace.ifblame" \
    -- bash -c '. "$IN/lib.sh"; . "$IN/late.sh"; late_steps' > "$L/capture.ndjson" 2> "$L/capture.stderr"
  echo $? > "$L/capture.rc"
  awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "late modules capture wall %.1f s\n", b-a}' > "$L/timing.txt"
  lsmod > "$L/lsmod-after.txt"
  echo "=== late modules done rc=$(cat "$L/capture.rc") uptime $(uptime_s)"
  flush
}
