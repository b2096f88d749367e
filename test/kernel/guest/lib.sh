# lib.sh - helpers for the guest scenario scripts (bash), sourced by run.sh.
#
# A scenario file scenarios/<name>.sh defines:
#   setup    (optional) before the tracers start, e.g. mask a udev .link file
#   steps    the commands under test, each through `step NAME CMD...`
#   cleanup  (optional) after the tracers stopped
# and run_scenario does: setup; start tracers; snapshot; steps; stop tracers; cleanup.
#
# Output in $OUT (one directory per scenario), what the host's `ifblame import` reads:
#   <backend>/bt.json     bpftrace -f json -B line programs/<backend>.bt  (stdout)
#   <backend>/bt.stderr   its stderr (compile/attach errors land here)
#   <backend>/ready.txt   wall time the program printed its first line (BEGIN = attached), or FAILED
#   ipmon.txt             ip -d -ts -o monitor link  (started before the tracers)
#   snapshot.json         ip -d -j link show, taken after the tracers attached, before the first step
#   aat.txt               "<ifname> <addr_assign_type> <address>" per interface, same moment
#   snapshot-after.json, aat-after.txt   the same after the last step
#   aat.log               after every step: each interface's aat/MAC/promiscuity/master
#   steps.log             one line per step: start/end (epoch µs), rc, name, command
#   steps.out             the steps' own output
#   kernel.txt hostname.txt bpftrace-version.txt timing.txt tracer.pids

now_us() { local t; t=$(date +%s%N); echo "${t:0:16}"; }
wall() { date +%H:%M:%S.%6N; }

# step NAME CMD... : run CMD, log it, wait for udev to finish what the step triggered.
step() {
  local name=$1; shift
  local t0 t1 rc
  echo "IFB step $name" > /dev/kmsg
  echo "[$(wall)] STEP $name: $*" >> "$OUT/steps.out"
  t0=$(now_us)
  "$@" >> "$OUT/steps.out" 2>&1
  rc=$?
  t1=$(now_us)
  printf 'start=%s end=%s rc=%d name=%s cmd=%s\n' "$t0" "$t1" "$rc" "$name" "$*" >> "$OUT/steps.log"
  udevadm settle -t 10
  sleep 0.3
  aat_line "$name"
  return 0
}

aat_line() {
  local n line=""
  for n in /sys/class/net/*; do
    [ -d "$n" ] || continue; n=${n##*/}; [ "$n" = lo ] && continue
    local m=""; [ -e /sys/class/net/$n/master ] && m=$(basename "$(readlink /sys/class/net/$n/master)")
    line+=" $n(aat=$(cat /sys/class/net/$n/addr_assign_type 2>/dev/null),mac=$(cat /sys/class/net/$n/address),promisc=$(ip -d -j link show dev "$n" | sed -n 's/.*"promiscuity":\([0-9]*\).*/\1/p'),master=$m)"
  done
  echo "[$(wall)] after $1:$line" >> "$OUT/aat.log"
}

aat_file() {
  local n
  for n in /sys/class/net/*; do
    [ -d "$n" ] || continue
    echo "${n##*/} $(cat "$n/addr_assign_type" 2>/dev/null) $(cat "$n/address")"
  done
}

snapshot() { # snapshot [suffix]
  ip -d -j link show > "$OUT/snapshot$1.json"
  aat_file > "$OUT/aat$1.txt"
}

start_tracers() {
  PIDS=() BT_PIDS=() BT_NAMES=()
  uname -r > "$OUT/kernel.txt"
  hostname > "$OUT/hostname.txt"
  bpftrace --version > "$OUT/bpftrace-version.txt" 2>&1
  ip -d -ts -o monitor link > "$OUT/ipmon.txt" 2> "$OUT/ipmon.stderr" & PIDS+=($!)
  local b t0 i
  t0=$(date +%s.%N)
  echo "tracers launched $(wall)" >> "$OUT/timing.txt"
  for b in $(cat "$IN/BACKENDS"); do
    [ -f "$IN/programs/$b.bt" ] || { echo "no program for $b" >> "$OUT/timing.txt"; continue; }
    mkdir -p "$OUT/$b"
    bpftrace -f json -B line "$IN/programs/$b.bt" > "$OUT/$b/bt.json" 2> "$OUT/$b/bt.stderr" &
    BT_PIDS+=($!) BT_NAMES+=("$b")
  done
  echo "${PIDS[*]} ${BT_PIDS[*]}" > "$OUT/tracer.pids"
  # Ready = the program printed its first printf (BEGIN runs after every probe attached),
  # or the process died (compile/attach error: stderr has it), or 300 s passed.
  local pending=${#BT_PIDS[@]} done_=()
  for i in $(seq 1 3000); do
    pending=0
    for j in "${!BT_PIDS[@]}"; do
      [ -n "${done_[$j]:-}" ] && continue
      b=${BT_NAMES[$j]}
      if grep -q '"type": *"printf"' "$OUT/$b/bt.json" 2>/dev/null; then
        done_[$j]=1
        awk -v a="$t0" -v b="$(date +%s.%N)" -v n="$b" 'BEGIN{printf "%s ready after %.1f s\n", n, b-a}' >> "$OUT/timing.txt"
        wall > "$OUT/$b/ready.txt"
      elif ! kill -0 "${BT_PIDS[$j]}" 2>/dev/null; then
        done_[$j]=1
        wait "${BT_PIDS[$j]}"; local rc=$?
        echo "$b FAILED rc=$rc after $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}') s" >> "$OUT/timing.txt"
        echo "FAILED rc=$rc" > "$OUT/$b/ready.txt"
      else
        pending=$((pending+1))
      fi
    done
    [ $pending = 0 ] && break
    sleep 0.1
  done
  [ $pending = 0 ] || echo "tracers not ready after 300 s: $pending pending" >> "$OUT/timing.txt"
  echo "IFB tracers ready" > /dev/kmsg
  sleep 0.5
}

# wait_or_kill PID SECONDS
wait_or_kill() {
  local i
  for i in $(seq 1 $(( $2 * 10 ))); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$1" 2>/dev/null; then
    echo "[$(wall)] pid $1 ($(cat /proc/$1/comm 2>/dev/null)) did not exit, SIGKILL" >> "$OUT/timing.txt"
    kill -KILL "$1" 2>/dev/null
  fi
  wait "$1" 2>/dev/null
}

stop_tracers() {
  echo "IFB stop_tracers" > /dev/kmsg
  sleep 1                                      # let the last events drain
  local p t0; t0=$(date +%s.%N)
  for p in "${BT_PIDS[@]}"; do kill -INT "$p" 2>/dev/null; done
  for p in "${BT_PIDS[@]}"; do wait_or_kill "$p" 30; done
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; wait_or_kill "$p" 5; done
  awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "tracers stopped in %.1f s\n", b-a}' >> "$OUT/timing.txt"
  echo "IFB tracers stopped" > /dev/kmsg
}

run_scenario() {
  local t0; t0=$(date +%s.%N)
  if declare -F setup >/dev/null; then setup; udevadm settle -t 10; fi
  start_tracers
  snapshot ""
  local t1; t1=$(date +%s.%N)
  steps
  snapshot "-after"
  local t2; t2=$(date +%s.%N)
  stop_tracers
  if declare -F cleanup >/dev/null; then cleanup; fi
  awk -v a="$t1" -v b="$t2" 'BEGIN{printf "steps took %.1f s\n", b-a}' >> "$OUT/timing.txt"
}
