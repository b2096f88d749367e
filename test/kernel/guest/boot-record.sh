# boot-record.sh - the boot-time recording proof (issue 14), sourced by run.sh when ENV sets BOOT_RECORD.
# The root image is a per-run writable copy (boot.sh BOOT_ROOTFS), booted twice:
#   BOOT_RECORD=1  install ifblame into /opt/ifblame (the staged app + node from the input disk), `ifblame service
#                  install` (enabled), a seed-001 bond in /etc/network/interfaces.d (bond-slaves, active-backup,
#                  miimon 100; its slave a dummy made by the stanza), Debian's 98-net-bonding.link masked; power off
#   BOOT_RECORD=2  after the reboot: the units' timestamps and journal, `ifblame explain --boot`, `service status`,
#                  then `ifblame capture -- systemctl restart networking` and its explain, then the other outcome
#                  made deterministic: dum0 released (bond0 RANDOM again) and enslaved again by hand (bond0 takes
#                  dum0's MAC), captured; `explain --boot` over the whole boot's recording; the recordings
# Results: $OUTROOT/boot-record/ (the host asserts them: test/kernel/boot-record.ts).
B=$OUTROOT/boot-record
mkdir -p "$B"
ifbo() { /opt/ifblame/node /opt/ifblame/app/bin/ifblame.js "$@"; }
links() { for n in bond0 dum0; do echo "$n $(cat /sys/class/net/$n/addr_assign_type 2>/dev/null) $(cat /sys/class/net/$n/address 2>/dev/null) master=$(basename "$(readlink /sys/class/net/$n/master 2>/dev/null)" 2>/dev/null)"; done; }

if [ "$BOOT_RECORD" = 1 ]; then
  t0=$(date +%s.%N)
  mkdir -p /opt/ifblame && cp -a "$IN/ifblame/." /opt/ifblame/
  ifbo service install > "$B/install.txt" 2>&1
  echo $? > "$B/install.rc"
  cp /etc/systemd/system/ifblame.service "$B/ifblame.service"
  systemd-analyze verify ifblame.service > "$B/verify.txt" 2>&1
  mkdir -p /etc/systemd/network /etc/network/interfaces.d
  ln -sf /dev/null /etc/systemd/network/98-net-bonding.link
  cat > /etc/network/interfaces.d/ifb-bond <<'IFACES'
auto dum0
iface dum0 inet manual
    pre-up ip link add dum0 type dummy || true

auto bond0
iface bond0 inet manual
    bond-slaves dum0
    bond-mode active-backup
    bond-miimon 100
IFACES
  grep -q '^source /etc/network/interfaces.d' /etc/network/interfaces 2>/dev/null || echo 'source /etc/network/interfaces.d/*' >> /etc/network/interfaces
  echo "networking: $(systemctl is-enabled networking 2>&1)" > "$B/enabled.txt"
  systemctl is-enabled -q networking || systemctl enable networking >> "$B/enabled.txt" 2>&1
  echo "ifblame: $(systemctl is-enabled ifblame 2>&1)" >> "$B/enabled.txt"
  sync
  awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "install wall %.1f s\n", b-a}' > "$B/timing-1.txt"
  return 0 2>/dev/null || exit 0
fi

# BOOT_RECORD=2: the runner is not ordered after ifblame or networking: wait for both to settle.
t0=$(date +%s.%N)
for _ in $(seq 1 600); do
  a=$(systemctl show -p ActiveState --value ifblame) n=$(systemctl show -p ActiveState --value networking)
  case "$a/$n" in active/active|active/failed|failed/*) break;; esac
  sleep 1
done
echo "waited $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}') s: ifblame $a, networking $n" > "$B/wait.txt"
for u in ifblame networking systemd-udevd network-pre.target; do
  echo "== $u"; systemctl show "$u" -p ActiveState -p Result -p InactiveExitTimestampMonotonic -p ActiveEnterTimestampMonotonic -p ExecMainStartTimestampMonotonic -p NRestarts
done > "$B/units.txt" 2>&1
journalctl -b -u ifblame --no-pager -o short-monotonic > "$B/journal.txt" 2>&1
journalctl -b -u networking --no-pager -o short-monotonic > "$B/journal-networking.txt" 2>&1
systemd-analyze critical-chain networking.service > "$B/chain.txt" 2>&1
links > "$B/links-boot.txt"
t1=$(date +%s.%N)
ifbo explain --boot > "$B/explain-boot.txt" 2> "$B/explain-boot.stderr"
echo $? > "$B/explain-boot.rc"
ifbo service status > "$B/status.txt" 2>&1
awk -v a="$t1" -v b="$(date +%s.%N)" 'BEGIN{printf "explain --boot + status wall %.1f s\n", b-a}' > "$B/timing-2.txt"
flush
t1=$(date +%s.%N)
IFBLAME_READY_TIMEOUT=400 ifbo capture --format ndjson --record "$B/restart.ifblame" -- systemctl restart networking > "$B/restart.ndjson" 2> "$B/restart.stderr"
echo $? > "$B/restart.rc"
awk -v a="$t1" -v b="$(date +%s.%N)" 'BEGIN{printf "capture restart networking wall %.1f s\n", b-a}' >> "$B/timing-2.txt"
links > "$B/links-restart.txt"
ifbo explain "$B/restart.ifblame" > "$B/explain-restart.txt" 2>&1
echo $? > "$B/explain-restart.rc"
flush
# The other outcome: releasing the bond's last slave makes its address RANDOM, so enslaving again copies the
# slave's MAC into the bond (what an operator re-plugging the port by hand does, ifenslave's down-then-enslave).
t1=$(date +%s.%N)
IFBLAME_READY_TIMEOUT=400 ifbo capture --format ndjson --record "$B/reenslave.ifblame" -- \
  sh -c 'ip link set dum0 nomaster && ip link set dum0 down && ip link set dum0 master bond0 && ip link set dum0 up' \
  > "$B/reenslave.ndjson" 2> "$B/reenslave.stderr"
echo $? > "$B/reenslave.rc"
awk -v a="$t1" -v b="$(date +%s.%N)" 'BEGIN{printf "capture re-enslave wall %.1f s\n", b-a}' >> "$B/timing-2.txt"
links > "$B/links-reenslave.txt"
systemctl stop ifblame
# the recorder saw it all, boot, restart and re-enslave: one explain of the boot says why the two outcomes differ
ifbo explain --boot > "$B/explain-boot-end.txt" 2> "$B/explain-boot-end.stderr"
echo $? > "$B/explain-boot-end.rc"
mkdir -p "$B/record-dir" && cp -a /var/log/ifblame/. "$B/record-dir/"
ifbo service status > "$B/status-end.txt" 2>&1
awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "phase 2 wall %.1f s\n", b-a}' >> "$B/timing-2.txt"
