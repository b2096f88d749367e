#!/usr/bin/env bash
# Set up ifblame on a fresh Debian/Ubuntu machine (bpftrace, iproute2, npm packages, build), then start it.
#   sudo ./scripts/setup.sh            installs what is missing, builds, opens the live TUI
#   sudo ./scripts/setup.sh --no-run   installs and builds only (what CI does before `npm test`)
set -euo pipefail
cd "$(dirname "$0")/.."
run=1
[ "${1:-}" = "--no-run" ] && { run=0; shift; }

if [ "$(id -u)" -ne 0 ]; then
  echo "setup.sh: run as root (sudo): it installs packages and ifblame loads BPF programs" >&2
  exit 3
fi

# Debian packages: bpftrace and ip for tracing; tmux, tcpdump, jq, setpriv (util-linux) for the tests;
# ansible-core and openssh-server for the fleet test (the playbook in deploy/ansible against sshd in namespaces).
missing=()
for pair in bpftrace:bpftrace ip:iproute2 tmux:tmux tcpdump:tcpdump jq:jq setpriv:util-linux ansible-playbook:ansible-core sshd:openssh-server; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup.sh: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || { echo "setup.sh: apt-get update failed: is a package mirror reachable?" >&2; exit 3; }
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || { echo "setup.sh: apt-get install ${missing[*]} failed" >&2; exit 3; }
fi

# Tracepoints and the traceable-function list live in tracefs; some minimal systems do not mount it.
if [ ! -e /sys/kernel/tracing/events ] && [ ! -e /sys/kernel/debug/tracing/events ]; then
  mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null || true
  mount -t debugfs nodev /sys/kernel/debug 2>/dev/null || true
fi

command -v node >/dev/null || { echo "setup.sh: Node.js >= 20 is needed (apt-get install nodejs npm)" >&2; exit 3; }
npm ci --no-audit --no-fund --loglevel=error
npm run build --silent

if [ "$run" = 1 ]; then
  export LANG="${LANG:-C.UTF-8}" TERM="${TERM:-xterm-256color}"
  exec node bin/ifblame.js "$@"
fi
