#!/bin/bash
# test/kernel/boot.sh - boot the kernel-test guest once and collect its results.
#
#   test/kernel/boot.sh IMAGE_DIR IN_DIR OUT_DIR
#
# IMAGE_DIR  from build-image.sh (vmlinuz, initrd.img, rootfs.img)
# IN_DIR     what the guest runs: run.sh lib.sh SCENARIOS BACKENDS programs/ scenarios/ [ENV]
# OUT_DIR    receives the guest's /ifb/out tree plus serial.log, qemu.stderr, host-timing.txt
#
# Disks: vda = rootfs.img (snapshot=on: the cached image is never modified),
#        vdb = tar of IN_DIR (read-only), vdc = blank raw disk the guest writes a tar onto.
# Accelerator: TCG (KVM here is a nested PVM hypervisor that cannot run Debian's stock
# kernel); QEMU_ACCEL=kvm to try anyway elsewhere.  BOOT_TIMEOUT (s, default 1500) kills
# qemu as a last resort; so does SIGINT/SIGTERM to this script.  Exit code: qemu's
# (124 = timed out), or 3 when the guest wrote no results.  IFBLAME_KERNEL_LOCK=FILE: wait for that
# lock before booting (several checkouts sharing one 2-core machine boot one guest at a time).
# BOOT_ROOTFS=FILE: boot that root image instead, WITHOUT snapshot (a per-run sparse copy that keeps what the guest
# wrote, for a second boot: the boot-record test); the cached rootfs.img is never booted writable.
set -uo pipefail
[ $# -eq 3 ] || { echo "usage: $0 IMAGE_DIR IN_DIR OUT_DIR" >&2; exit 2; }
IMG=$1 IN=$2 OUT=$3
TIMEOUT=${BOOT_TIMEOUT:-1500}
for f in vmlinuz initrd.img rootfs.img; do
  [ -f "$IMG/$f" ] || { echo "boot: $IMG/$f missing (run build-image.sh)" >&2; exit 2; }
done
command -v qemu-system-x86_64 >/dev/null || {
  echo "boot: qemu-system-x86_64 not found; apt-get install -y --no-install-recommends qemu-system-x86" >&2; exit 2; }
if [ -n "${BOOT_ROOTFS:-}" ] && [ "$(realpath "$BOOT_ROOTFS")" = "$(realpath "$IMG/rootfs.img")" ]; then
  echo "boot: BOOT_ROOTFS must be a copy, not the cached $IMG/rootfs.img" >&2; exit 2; fi
mkdir -p "$OUT"
tar -cf "$OUT/in.tar" -C "$IN" . || exit 2
rm -f "$OUT/out.img"; truncate -s 256M "$OUT/out.img"

if [ "${QEMU_ACCEL:-tcg}" = kvm ]; then
  ACCEL=(-accel kvm -cpu host)
else
  ACCEL=(-accel tcg,thread=multi -cpu max)
fi
QPID=
kill_qemu() { [ -n "$QPID" ] && kill -TERM "$QPID" 2>/dev/null && sleep 2 && kill -KILL "$QPID" 2>/dev/null; QPID=; }
trap 'echo "boot: interrupted, stopping qemu" >&2; kill_qemu; exit 130' INT TERM
trap 'kill_qemu' EXIT

if [ -n "${IFBLAME_KERNEL_LOCK:-}" ]; then
  exec 9>>"$IFBLAME_KERNEL_LOCK"
  echo "boot: waiting for $IFBLAME_KERNEL_LOCK" >&2
  flock 9
fi
t0=$(date +%s.%N)
echo "boot: qemu ${ACCEL[*]} -smp 2 -m 3072, timeout ${TIMEOUT} s, results in $OUT" >&2
qemu-system-x86_64 "${ACCEL[@]}" -machine q35 -smp 2 -m 3072 \
  -nodefaults -nographic -no-reboot \
  -serial file:"$OUT/serial.log" \
  -kernel "$IMG/vmlinuz" -initrd "$IMG/initrd.img" \
  -append "root=/dev/vda rw console=ttyS0 panic=-1 net.ifnames=0 systemd.show_status=0" \
  -drive file="${BOOT_ROOTFS:-$IMG/rootfs.img}",format=raw,if=virtio,snapshot=$([ -n "${BOOT_ROOTFS:-}" ] && echo off || echo on) \
  -drive file="$OUT/in.tar",format=raw,if=virtio,readonly=on \
  -drive file="$OUT/out.img",format=raw,if=virtio \
  -nic none > "$OUT/qemu.stderr" 2>&1 &
QPID=$!
echo "$QPID" > "$OUT/qemu.pid"
# wait with a deadline; report progress markers from the serial log
rc=
deadline=$(( $(date +%s) + TIMEOUT ))
seen=0
while kill -0 "$QPID" 2>/dev/null; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "boot: timeout after $TIMEOUT s, killing qemu" >&2
    kill_qemu; rc=124; break
  fi
  if [ -n "${BOOT_VERBOSE:-}" ] && [ -f "$OUT/serial.log" ]; then
    n=$(grep -a -c 'IFB' "$OUT/serial.log")
    if [ "$n" -gt "$seen" ]; then
      grep -a 'IFB' "$OUT/serial.log" | tail -n +$((seen+1)) | sed 's/^/boot: guest: /' >&2
      seen=$n
    fi
  fi
  sleep 1
done
if [ -z "$rc" ]; then wait "$QPID"; rc=$?; fi
QPID=
rm -f "$OUT/qemu.pid"
t1=$(date +%s.%N)
tar -xf "$OUT/out.img" -C "$OUT" 2>/dev/null || { echo "boot: the guest wrote no results (see $OUT/serial.log)" >&2; [ "$rc" = 0 ] && rc=3; }
rm -f "$OUT/out.img"
awk -v a="$t0" -v b="$t1" -v rc="$rc" -v acc="${QEMU_ACCEL:-tcg}" 'BEGIN{printf "accel=%s qemu_rc=%d wall=%.1f s\n", acc, rc, b-a}' | tee "$OUT/host-timing.txt" >&2
exit "$rc"
