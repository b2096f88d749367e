# lib.sh - helpers for the guest side (bash), sourced by run.sh and by each scenario's shell.
#
# One tracing session per boot: run.sh starts every backend's bpftrace program and
# `ip monitor` once (compiling and attaching them takes minutes under TCG), runs the
# scenarios one after the other, then stops them.  Each scenario records its time window;
# the host cuts the session's outputs into one set per scenario (harness.ts: splitSession).
#
# A scenario file scenarios/<name>.sh defines:
#   setup    (optional) before its window opens, e.g. mask a udev .link file
#   steps    the commands under test, each through `step NAME CMD...`
#   cleanup  (optional) after its window closed
#
# Session output, $OUTROOT/session/:
#   <backend>/bt.json     bpftrace -f json -B line programs/<backend>.bt  (stdout)
#   <backend>/bt.stderr   its stderr (compile/attach errors land here)
#   <backend>/ready.txt   wall time its first line came (BEGIN runs once every probe attached), or FAILED
#   ipmon.txt             ip -d -ts -o monitor link
#   timing.txt
# Scenario output, $OUTROOT/<scenario>/:
#   window.txt            "start=<µs> end=<µs>": wall clock, epoch µs (the guest's, as in ipmon and bpftrace)
#   snapshot.json         ip -d -j link show, when the window opens (before the first step)
#   aat.txt               "<ifname> <addr_assign_type> <address>" per interface, same moment
#   snapshot-after.json, aat-after.txt   the same after the last step
#   aat.log               after every step: each interface's aat/MAC/promiscuity/master (sysfs ground truth)
#   steps.log             one line per step: start/end (epoch µs), rc, name, command
#   steps.out             the steps' own output
#   kernel.txt hostname.txt bpftrace-version.txt timing.txt

uptime_s() { cut -d' ' -f1 /proc/uptime; }
flush() { sync; tar -cf /dev/vdc -C "$OUTROOT" . ; sync; }
# ifblame itself, with the Node binary copied from the host
ifb() { "$IN/ifblame/node" "$IN/ifblame/app/bin/ifblame.js" "$@"; }

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

# --- session tracers (run.sh) --------------------------------------------------------

start_session() {
  local S=$OUTROOT/session b t0 i j
  mkdir -p "$S"
  PIDS=() BT_PIDS=() BT_NAMES=()
  ip -d -ts -o monitor link > "$S/ipmon.txt" 2> "$S/ipmon.stderr" & PIDS+=($!)
  t0=$(date +%s.%N)
  echo "tracers launched $(wall)" >> "$S/timing.txt"
  for b in $(cat "$IN/BACKENDS"); do
    [ -f "$IN/programs/$b.bt" ] || { echo "no program for $b" >> "$S/timing.txt"; continue; }
    mkdir -p "$S/$b"
    # the perf buffer ifblame itself asks for (the default 64 pages lose a burst of restarted sysfs writes)
    BPFTRACE_PERF_RB_PAGES=256 bpftrace -f json -B line "$IN/programs/$b.bt" > "$S/$b/bt.json" 2> "$S/$b/bt.stderr" &
    BT_PIDS+=($!) BT_NAMES+=("$b")
  done
  echo "${PIDS[*]} ${BT_PIDS[*]}" > "$S/tracer.pids"
  # Ready = the program printed its first printf (BEGIN runs after every probe attached),
  # or the process died (compile/attach error: stderr has it), or READY_TIMEOUT passed.
  local pending=${#BT_PIDS[@]} done_=()
  for i in $(seq 1 $(( ${READY_TIMEOUT:-240} * 10 ))); do
    pending=0
    for j in "${!BT_PIDS[@]}"; do
      [ -n "${done_[$j]:-}" ] && continue
      b=${BT_NAMES[$j]}
      if grep -q '"type": *"printf"' "$S/$b/bt.json" 2>/dev/null; then
        done_[$j]=1
        awk -v a="$t0" -v b="$(date +%s.%N)" -v n="$b" 'BEGIN{printf "%s ready after %.1f s\n", n, b-a}' >> "$S/timing.txt"
        wall > "$S/$b/ready.txt"
        echo "IFB tracer $b ready" > /dev/kmsg
      elif ! kill -0 "${BT_PIDS[$j]}" 2>/dev/null; then
        done_[$j]=1
        wait "${BT_PIDS[$j]}"; local rc=$?
        echo "$b FAILED rc=$rc after $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}') s" >> "$S/timing.txt"
        echo "FAILED rc=$rc" > "$S/$b/ready.txt"
        echo "IFB tracer $b FAILED" > /dev/kmsg
      else
        pending=$((pending+1))
      fi
    done
    [ $pending = 0 ] && break
    sleep 0.1
  done
  [ $pending = 0 ] || echo "tracers not ready after ${READY_TIMEOUT:-240} s: $pending pending" >> "$S/timing.txt"
  echo "IFB tracers ready" > /dev/kmsg
  sleep 0.5
}

# wait_or_kill PID SECONDS
wait_or_kill() {
  local i
  for i in $(seq 1 $(( $2 * 10 ))); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$1" 2>/dev/null; then
    echo "[$(wall)] pid $1 ($(cat /proc/$1/comm 2>/dev/null)) did not exit, SIGKILL" >> "$OUTROOT/session/timing.txt"
    kill -KILL "$1" 2>/dev/null
  fi
  wait "$1" 2>/dev/null
}

stop_session() {
  echo "IFB stop tracers" > /dev/kmsg
  sleep 1                                      # let the last events drain
  local p t0; t0=$(date +%s.%N)
  for p in "${BT_PIDS[@]}"; do kill -INT "$p" 2>/dev/null; done   # SIGINT: bpftrace runs END, exits
  for p in "${BT_PIDS[@]}"; do wait_or_kill "$p" 30; done
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; wait_or_kill "$p" 5; done
  awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "tracers stopped in %.1f s\n", b-a}' >> "$OUTROOT/session/timing.txt"
  echo "IFB tracers stopped" > /dev/kmsg
}

# --- one scenario (in its own shell, under timeout) ---------------------------------

run_scenario() {
  uname -r > "$OUT/kernel.txt"
  hostname > "$OUT/hostname.txt"
  stat -L -c %i /proc/self/ns/net > "$OUT/netns.txt"   # the namespace ip monitor watched: `ifblame import --netns`
  cp "$OUTROOT/bpftrace-version.txt" "$OUT/" 2>/dev/null
  if declare -F setup >/dev/null; then setup; fi
  udevadm settle -t 10
  sleep 0.5                                    # let whatever setup triggered pass before the window
  local w0 w1
  w0=$(now_us)
  snapshot ""
  steps
  sleep 1                                      # late kernel work (miimon, udev) still in the window
  snapshot "-after"
  w1=$(now_us)
  echo "start=$w0 end=$w1" > "$OUT/window.txt"
  if declare -F cleanup >/dev/null; then cleanup; fi
  awk -v a="$w0" -v b="$w1" 'BEGIN{printf "window %.1f s\n", (b-a)/1e6}' >> "$OUT/timing.txt"
}

# --- all scenarios, one after the other (run.sh, or as the command of `ifblame capture`) ---------

reset_guest() {
  local n
  for n in $(ls /sys/class/net); do      # masters first (deleting a bond/team releases its slaves)
    { [ -d /sys/class/net/$n/bonding ] || [ -d /sys/class/net/$n/bridge ] || [ -d /sys/class/net/$n/team ]; } && ip link del "$n" 2>/dev/null
  done
  for n in $(ls /sys/class/net); do [ -d /sys/class/net/$n ] && [ "$n" != lo ] && ip link del "$n" 2>/dev/null; done
  for n in $(ip netns list 2>/dev/null | cut -d' ' -f1); do ip netns del "$n"; done
  rm -rf /run/systemd/network
  udevadm control --reload; udevadm settle -t 10
}

run_all_scenarios() {
  local s rc t0 t1
  for s in $(cat "$IN/SCENARIOS"); do
    export OUT=$OUTROOT/$s
    mkdir -p "$OUT"
    echo "=== scenario $s start $(date +%T.%N) uptime $(uptime_s)"
    echo "IFB scenario $s start" > /dev/kmsg
    t0=$(date +%s.%N)
    timeout -k 10 "${SCEN_TIMEOUT:-150}" bash -c ". $IN/lib.sh && . $IN/scenarios/$s.sh && run_scenario" \
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
}

# --- the live TUI under tmux, one scenario, screen captured -----------------------------------

# run_tui SCENARIO: `ifblame live --record` in a detached tmux session (200x50), wait until its probes
# are attached (status line "kfunc | probes N"), run the scenario's steps, capture the screen.
run_tui() {
  local s=$1 T=$OUTROOT/tui i
  mkdir -p "$T"
  export OUT=$T
  echo "=== tui $s start uptime $(uptime_s)"
  echo "IFB tui start" > /dev/kmsg
  local t0; t0=$(date +%s.%N)
  tmux -f /dev/null new-session -d -s ifb -x 200 -y 50 \
    "env LANG=C.UTF-8 TERM=xterm-256color IFBLAME_READY_TIMEOUT=${IFB_READY_TIMEOUT:-400} $IN/ifblame/node $IN/ifblame/app/bin/ifblame.js live --record $T/trace.ifblame 2> $T/live.stderr; echo \$? > $T/live.rc; sleep 3600"
  for i in $(seq 1 $(( ${IFB_READY_TIMEOUT:-400} ))); do
    tmux capture-pane -p -t ifb > "$T/screen-wait.txt" 2>/dev/null
    # ready: the status line shows "<backend> | probes N" (while attaching it says "attaching probes...")
    tail -n 3 "$T/screen-wait.txt" | grep -qE '\| probes [0-9]+' && break
    [ -f "$T/live.rc" ] && break
    sleep 1
  done
  awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "tui ready after %.1f s\n", b-a}' > "$T/timing.txt"
  cp "$T/screen-wait.txt" "$T/screen-ready.txt"
  ( . "$IN/scenarios/$s.sh"; declare -F setup >/dev/null && setup; udevadm settle -t 10; w0=$(now_us); steps; sleep 3; echo "start=$w0 end=$(now_us)" > "$T/window.txt"; declare -F cleanup >/dev/null && cleanup ) > "$T/scenario.log" 2>&1
  tmux capture-pane -p -t ifb > "$T/screen.txt"
  tmux capture-pane -p -e -t ifb > "$T/screen-ansi.txt"
  tmux send-keys -t ifb q
  for i in $(seq 1 30); do [ -f "$T/live.rc" ] && break; sleep 1; done
  tmux capture-pane -p -t ifb > "$T/screen-after-quit.txt"
  tmux kill-server 2>/dev/null
  awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "tui wall %.1f s\n", b-a}' >> "$T/timing.txt"
  echo "=== tui done rc=$(cat "$T/live.rc" 2>/dev/null) uptime $(uptime_s)"
  reset_guest
}
