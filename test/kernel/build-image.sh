#!/bin/bash
# test/kernel/build-image.sh - build (or reuse) the guest image for the real-kernel tests.
#
# Debian 12 bookworm root filesystem (debootstrap minbase + systemd, udev, iproute2,
# ifenslave, bpftrace 0.17, tcpdump, Debian's stock linux-image-amd64 6.1) as an ext4
# image, plus the kernel and initrd copied out of it, for test/kernel/boot.sh.
#
#   test/kernel/build-image.sh            prints the image directory on stdout (last line)
#
# Cache: $IFBLAME_KERNEL_CACHE (default /var/cache/ifblame-kernel)/<key>/ where <key> is
# a hash of this script, so editing it builds a new image and an unchanged script reuses
# the cached one (a complete image has a DONE file).  Old keys are removed after a build.
# Set IFBLAME_KERNEL_REBUILD=1 to force a rebuild.
#
# Mirror: MIRROR=..., else the first Debian URI of the host's apt sources.  If the mirror
# cannot be reached, the build stops with "build-image: FAILED at step '<step>'" and a
# non-zero exit code: it never silently reuses a partial tree.
#
# Needs root and: debootstrap, e2fsprogs (mkfs.ext4 -d), wget or curl.  No loop mounts.
# Diagnostics go to stderr; only the image directory goes to stdout.
set -euo pipefail
exec 3>&1 1>&2          # everything below logs to stderr; fd 3 = the result line

HERE=$(cd "$(dirname "$0")" && pwd)
SELF=$HERE/$(basename "$0")
CACHE=${IFBLAME_KERNEL_CACHE:-/var/cache/ifblame-kernel}
KEY=$(sha256sum "$SELF" | cut -c1-16)
DIR=$CACHE/$KEY
SUITE=bookworm

CURRENT_STEP=setup
REPORTED=
fail() { echo "build-image: FAILED at step '$CURRENT_STEP': $*" >&2; REPORTED=1; exit 1; }
on_exit() { local rc=$1; [ $rc -eq 0 ] || [ -n "$REPORTED" ] || echo "build-image: FAILED at step '$CURRENT_STEP' (exit $rc); see the messages above" >&2; }
trap 'on_exit $?' EXIT
step() { CURRENT_STEP=$1; echo "build-image: [$(date +%T)] step: $1" >&2; }

if [ -f "$DIR/DONE" ] && [ -z "${IFBLAME_KERNEL_REBUILD:-}" ]; then
  echo "build-image: reusing cached image $DIR ($(cat "$DIR/DONE"))"
  echo "$DIR" >&3
  exit 0
fi

step "host tools"
[ "$(id -u)" = 0 ] || fail "must run as root (debootstrap, chroot)"
for t in debootstrap mkfs.ext4 chroot sha256sum; do
  command -v $t >/dev/null || fail "'$t' not found; apt-get install -y --no-install-recommends debootstrap e2fsprogs qemu-system-x86"
done

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
step "lock $CACHE/.lock"
flock -w 1800 9 || fail "another build holds $CACHE/.lock for 30 min"
# someone else may have finished the same key while we waited
if [ -f "$DIR/DONE" ] && [ -z "${IFBLAME_KERNEL_REBUILD:-}" ]; then
  echo "build-image: reusing cached image $DIR (built concurrently)"
  echo "$DIR" >&3; exit 0
fi

step "find Debian mirror"
MIRROR=${MIRROR:-$(sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | awk '{print $1}' | grep -v -- -security | head -n1)}
[ -n "$MIRROR" ] || MIRROR=$(awk '$1=="deb" && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null)
[ -n "$MIRROR" ] || fail "no Debian mirror in the host's apt sources; set MIRROR=http://deb.debian.org/debian"
MIRROR=${MIRROR%/}
echo "build-image: mirror $MIRROR, suite $SUITE, cache key $KEY"

step "reach mirror $MIRROR"
REL="$MIRROR/dists/$SUITE/Release"
if command -v wget >/dev/null; then
  wget -q -T 20 -t 2 -O /dev/null "$REL" || fail "package mirror unreachable: cannot download $REL"
elif command -v curl >/dev/null; then
  curl -fsS -m 40 -o /dev/null "$REL" || fail "package mirror unreachable: cannot download $REL"
else
  fail "neither wget nor curl to check the mirror"
fi

WORK=$CACHE/.build-$KEY.$$
rm -rf "$CACHE"/.build-"$KEY".*
mkdir -p "$WORK"
R=$WORK/rootfs
cleanup_work() { rm -rf "$WORK"; }
trap 'rc=$?; cleanup_work; on_exit $rc' EXIT

# Everything the scenarios need.  bpftrace pulls LLVM/clang (~250 MB).
PKGS=systemd,systemd-sysv,udev,dbus,iproute2,kmod,ifenslave,bpftrace,tcpdump,procps,ethtool
PKGS+=,linux-image-amd64,initramfs-tools,coreutils,util-linux

t0=$(date +%s)
step "debootstrap $SUITE from $MIRROR"
if ! debootstrap --variant=minbase --include="$PKGS" "$SUITE" "$R" "$MIRROR" > "$WORK/debootstrap.log" 2>&1; then
  tail -n 30 "$WORK/debootstrap.log" >&2
  [ -f "$R/debootstrap/debootstrap.log" ] && tail -n 20 "$R/debootstrap/debootstrap.log" >&2
  fail "debootstrap failed (package mirror unreachable or a package missing?)"
fi
[ -x "$R/usr/bin/bpftrace" ] || fail "bpftrace missing from the rootfs after debootstrap"
t1=$(date +%s); echo "build-image: debootstrap took $((t1-t0)) s"

step "configure guest"
echo ifblame-kt > "$R/etc/hostname"
printf '/dev/vda / ext4 rw,relatime 0 1\n' > "$R/etc/fstab"
chroot "$R" passwd -d root >/dev/null
# Fixed machine-id: udev's MACAddressPolicy=persistent derives the same MACs every boot.
echo 6966626c616d652d6b65726e656c0001 > "$R/etc/machine-id"
chroot "$R" systemctl mask serial-getty@ttyS0.service getty@tty1.service \
  apt-daily.timer apt-daily-upgrade.timer e2scrub_reap.service >/dev/null 2>&1 || true
printf 'virtio_pci\nvirtio_blk\next4\n' >> "$R/etc/initramfs-tools/modules"
# No network in the guest: nothing should touch links except the scenarios.
rm -f "$R/etc/systemd/system/multi-user.target.wants/systemd-networkd.service"

# Guest runner: /dev/vdb = input tar (run.sh + programs + scenarios), /dev/vdc = raw
# output disk that receives a tar stream of /ifb/out.  Then power off.
cat > "$R/usr/local/sbin/ifb-runner.sh" <<'EOF'
#!/bin/bash
echo "IFB: runner start uptime=$(cut -d' ' -f1 /proc/uptime)" > /dev/kmsg
mkdir -p /ifb/in /ifb/out
tar -xf /dev/vdb -C /ifb/in
cut -d' ' -f1 /proc/uptime > /ifb/out/runner-start-uptime.txt
if [ -x /ifb/in/run.sh ]; then
  (cd /ifb/in && ./run.sh) > /ifb/out/run.log 2>&1
  echo "IFB: run.sh rc=$? uptime=$(cut -d' ' -f1 /proc/uptime)" > /dev/kmsg
else
  echo "no run.sh on the input disk" > /ifb/out/run.log
fi
sync
tar -cf /dev/vdc -C /ifb/out .
sync
echo "IFB: results written, powering off" > /dev/kmsg
systemctl poweroff --no-block
EOF
chmod 0755 "$R/usr/local/sbin/ifb-runner.sh"
cat > "$R/etc/systemd/system/ifb-runner.service" <<'EOF'
[Unit]
Description=ifblame kernel-test scenario runner
After=systemd-udevd.service systemd-modules-load.service local-fs.target
Wants=systemd-udevd.service

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/ifb-runner.sh
StandardOutput=journal+console
StandardError=journal+console
TimeoutStartSec=infinity

[Install]
WantedBy=multi-user.target
EOF
chroot "$R" systemctl enable ifb-runner.service >/dev/null 2>&1 || fail "systemctl enable ifb-runner"

step "initramfs"
chroot "$R" update-initramfs -u -k all >/dev/null 2>&1 || fail "update-initramfs"
cp -L "$R/vmlinuz" "$WORK/vmlinuz"
cp -L "$R/initrd.img" "$WORK/initrd.img"
{
  echo "kernel_pkg=$(chroot "$R" dpkg-query -W -f='${Package} ${Version}\n' 'linux-image-[0-9]*' 2>/dev/null | head -n1)"
  echo "bpftrace=$(chroot "$R" dpkg-query -W -f='${Version}' bpftrace)"
  echo "systemd=$(chroot "$R" dpkg-query -W -f='${Version}' systemd)"
  echo "iproute2=$(chroot "$R" dpkg-query -W -f='${Version}' iproute2)"
  echo "mirror=$MIRROR"
} > "$WORK/versions.txt"
cat "$WORK/versions.txt"

step "ext4 image"
rm -rf "$R/var/cache/apt/archives/"*.deb "$R/var/lib/apt/lists/"* 2>/dev/null || true
mkfs.ext4 -q -L ifbroot -d "$R" "$WORK/rootfs.img" 3G || fail "mkfs.ext4 -d"
rm -rf "$R"
t2=$(date +%s); echo "build-image: configure+initramfs+image took $((t2-t1)) s, total $((t2-t0)) s"

step "install into cache"
rm -rf "$DIR"
mv "$WORK" "$DIR"
echo "built $(date -u +%FT%TZ) in $((t2-t0)) s" > "$DIR/DONE"
# drop images built by older versions of this script
for d in "$CACHE"/*/; do
  d=${d%/}; [ "$d" = "$DIR" ] || rm -rf "$d"
done
CURRENT_STEP=done
echo "build-image: image ready in $DIR"
echo "$DIR" >&3
