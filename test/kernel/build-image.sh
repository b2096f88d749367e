#!/bin/bash
# test/kernel/build-image.sh - build (or reuse) the guest image for the real-kernel tests.
#
# A Debian root filesystem (debootstrap minbase + systemd, udev, iproute2, ifenslave,
# bpftrace, tcpdump, tmux, Debian's stock linux-image-amd64) as an ext4 image, plus the
# kernel and initrd copied out of it, for test/kernel/boot.sh.  One image per suite:
#   bookworm  Debian 12: kernel 6.1,  bpftrace 0.17, systemd 252 (initramfs-tools)
#   trixie    Debian 13: kernel 6.12, bpftrace 0.23, systemd 257 (initramfs-tools)
#   sid       unstable:  kernel 7.x,  bpftrace 0.27, systemd 26x (dracut: what its kernel pulls)
#
#   test/kernel/build-image.sh [SUITE]    prints the image directory on stdout (last line)
#
# Cache: $IFBLAME_KERNEL_CACHE (default /var/cache/ifblame-kernel)/<suite>-<key>/ where
# <key> is a hash of this script and the suite, so editing it builds new images and an
# unchanged script reuses the cached ones (a complete image has a DONE file).  Older keys
# of the same suite are removed after a build.  Each suite has its own lock, so the three
# suites can build in parallel.  Set IFBLAME_KERNEL_REBUILD=1 to force a rebuild.
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
SUITE=${1:-${SUITE:-bookworm}}
case $SUITE in bookworm|trixie|sid) ;; *) echo "build-image: FAILED at step 'setup': unknown suite '$SUITE' (bookworm, trixie or sid)" >&2; exit 2;; esac
KEY=$( { cat "$SELF"; echo "suite=$SUITE"; } | sha256sum | cut -c1-16)
DIR=$CACHE/$SUITE-$KEY

CURRENT_STEP=setup
REPORTED=
fail() { echo "build-image: $SUITE: FAILED at step '$CURRENT_STEP': $*" >&2; REPORTED=1; exit 1; }
on_exit() { local rc=$1; [ $rc -eq 0 ] || [ -n "$REPORTED" ] || echo "build-image: $SUITE: FAILED at step '$CURRENT_STEP' (exit $rc); see the messages above" >&2; }
trap 'on_exit $?' EXIT
step() { CURRENT_STEP=$1; echo "build-image: $SUITE: [$(date +%T)] step: $1" >&2; }

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
exec 9>"$CACHE/.lock-$SUITE"
step "lock $CACHE/.lock-$SUITE"
flock -w 1800 9 || fail "another build holds $CACHE/.lock-$SUITE for 30 min"
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
# tmux: the live TUI runs in a tmux pane so its screen can be captured.
PKGS=systemd,systemd-sysv,udev,dbus,iproute2,kmod,ifenslave,bpftrace,tcpdump,procps,ethtool,tmux
PKGS+=,linux-image-amd64,coreutils,util-linux
# sid's kernel packages pull dracut; the older suites use initramfs-tools.
if [ "$SUITE" = sid ]; then PKGS+=,dracut; else PKGS+=,initramfs-tools; fi

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
[ -x "$R/usr/bin/tmux" ] || fail "tmux missing from the rootfs"
chroot "$R" systemctl mask serial-getty@ttyS0.service getty@tty1.service \
  apt-daily.timer apt-daily-upgrade.timer e2scrub_reap.service >/dev/null 2>&1 || true
[ -d "$R/etc/initramfs-tools" ] && printf 'virtio_pci\nvirtio_blk\next4\n' >> "$R/etc/initramfs-tools/modules"
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
KVER=$(ls "$R/lib/modules" | sort -V | tail -n1)
[ -n "$KVER" ] || fail "no kernel modules in the rootfs"
if [ -x "$R/usr/sbin/update-initramfs" ]; then
  chroot "$R" update-initramfs -u -k all >/dev/null 2>&1 || fail "update-initramfs"
else
  chroot "$R" dracut --force --no-hostonly --add-drivers "virtio_pci virtio_blk ext4" \
    "/boot/initrd.img-$KVER" "$KVER" >"$WORK/dracut.log" 2>&1 || { tail -n 20 "$WORK/dracut.log" >&2; fail "dracut"; }
fi
cp -L "$R/boot/vmlinuz-$KVER" "$WORK/vmlinuz" || fail "no /boot/vmlinuz-$KVER"
cp -L "$R/boot/initrd.img-$KVER" "$WORK/initrd.img" || fail "no /boot/initrd.img-$KVER"
{
  echo "suite=$SUITE"
  echo "kernel=$KVER"
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
for d in "$CACHE/$SUITE"-*/; do
  d=${d%/}; [ "$d" = "$DIR" ] || rm -rf "$d"
done
CURRENT_STEP=done
echo "build-image: image ready in $DIR"
echo "$DIR" >&3
