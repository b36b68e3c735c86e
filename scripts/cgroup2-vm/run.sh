#!/bin/bash
# Run fngraph's sandbox tests on a real pure-cgroup-v2 kernel (docs/sandbox.md, "cgroup v2").
#
#   sudo scripts/cgroup2-vm/run.sh [vitest args…]   (default: test/sandbox test/hostile)
#
# Boots Debian 12's kernel in QEMU with the host's / shared read-only over virtio-9p (a tmpfs
# overlay on top in the guest), `cgroup_no_v1=all`, and only cgroup2 mounted at /sys/fs/cgroup;
# runs `npx vitest run … --reporter=verbose` as root in this repo, then prints a summary and exits
# with the guest's test exit code. Nothing is written to the repo; the kernel, the initramfs and
# the results live in $CG2VM_CACHE (default /var/cache/fngraph-cgroup2-vm).
#
# Environment: CG2VM_ACCEL=kvm|tcg (default kvm; tcg on a PVM host, whose /dev/kvm boots only
# PVM-enabled guest kernels: Debian's hangs right after decompression), CG2VM_TIMEOUT seconds
# (default 3600), CG2VM_MEM MiB (4096), CG2VM_SHELL='cmd' runs a shell command instead of vitest.
# Under tcg a full run takes ~6-7 min, and the guest is ~12x slower than the host (README.md).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CACHE=${CG2VM_CACHE:-/var/cache/fngraph-cgroup2-vm}
TIMEOUT=${CG2VM_TIMEOUT:-3600}
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 2; }
mkdir -p "$CACHE"

# 1. Tools (idempotent).
need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
# The initramfs needs a static busybox (the `busybox` package is dynamic).
[ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1 || need+=(busybox-static)
for t in cpio:cpio depmod:kmod modprobe:kmod; do
  command -v "${t%%:*}" >/dev/null || need+=("${t#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}"
fi

# 2. Debian 12's kernel: the image package linux-image-amd64 depends on, unpacked once.
kpkg() { apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}'; }
PKG=$(kpkg)
[ -n "$PKG" ] || { apt-get update -q && PKG=$(kpkg); }
KVER=${PKG#linux-image-}
KDIR=$CACHE/$KVER
if [ ! -f "$KDIR/boot/vmlinuz-$KVER" ]; then
  tmp=$(mktemp -d "$CACHE/dl.XXXXXX")
  (cd "$tmp" && apt-get download -q -o APT::Sandbox::User=root "$PKG")
  rm -rf "$KDIR" && dpkg-deb -x "$tmp"/*.deb "$KDIR" && rm -rf "$tmp"
fi
[ -f "$KDIR/lib/modules/$KVER/modules.dep" ] || depmod -b "$KDIR" "$KVER"

# 3. initramfs: busybox, init, guest.sh and the modules (with their dependencies, in load order).
MODS=(virtio_pci virtio_blk 9pnet_virtio 9p overlay loop ext4 crc32c_generic tun)
IR=$(mktemp -d "$CACHE/initramfs.XXXXXX")
trap 'rm -rf "$IR"' EXIT
mkdir -p "$IR"/{bin,dev,lib/modules}
cp /bin/busybox "$IR/bin/busybox"
cp "$HERE/init" "$IR/init" && cp "$HERE/guest.sh" "$IR/guest.sh" && chmod 755 "$IR/init"
mknod -m 600 "$IR/dev/console" c 5 1
modprobe -a -d "$KDIR" -S "$KVER" --show-depends "${MODS[@]}" | awk '$1 == "insmod" {print $2}' |
  awk '!seen[$0]++' | while read -r ko; do
    base=$(basename "$ko")
    case $ko in # Debian 12 ships them uncompressed; newer kernels compress them
      *.xz) xz -dc "$ko" >"$IR/lib/modules/${base%.xz}" && base=${base%.xz} ;;
      *.zst) zstd -qdc "$ko" >"$IR/lib/modules/${base%.zst}" && base=${base%.zst} ;;
      *) cp "$ko" "$IR/lib/modules/" ;;
    esac
    echo "$base" >>"$IR/modules"
  done
(cd "$IR" && find . | cpio -o -H newc --quiet | gzip -1) >"$CACHE/initramfs-$KVER.gz"

# 4. The guest's /tmp: an ext4 disk like the host's /tmp, not tmpfs (tier A's /tmp volumes are
# loop devices with --direct-io=on, which a file on 6.1's tmpfs refuses with EINVAL).
rm -f "$CACHE/tmp.img" && truncate -s 16G "$CACHE/tmp.img"
mkfs.ext4 -q -F -E nodiscard "$CACHE/tmp.img"

# The writable share: what to run in, and where results go.
RES=$CACHE/results
rm -rf "$RES" && mkdir -p "$RES"
[ $# -gt 0 ] || set -- test/sandbox test/hostile
{
  echo "REPO=$(printf %q "$REPO")"
  if [ -n "${CG2VM_SHELL:-}" ]; then # any shell command instead, for poking around
    echo "CMD=(bash -c $(printf %q "$CG2VM_SHELL"))"
  else
    printf 'CMD=(npx vitest run'
    printf ' %q' "$@" --reporter=verbose
    printf ')\n'
  fi
} >"$RES/env"

ACCEL=${CG2VM_ACCEL:-}
if [ -z "$ACCEL" ]; then
  ACCEL=kvm
  [ -d /sys/module/kvm_pvm ] && ACCEL=tcg # PVM's KVM hangs in a stock kernel's early boot
  [ -w /dev/kvm ] || ACCEL=tcg
fi
if [ "$ACCEL" = kvm ]; then accel=(-enable-kvm -cpu host); else accel=(-accel tcg,thread=multi -cpu max); fi

echo "cg2vm: kernel $KVER, accel $ACCEL, results in $RES, console in $RES/console.log"
start=$(date +%s)
set +e
# In the background so that a stopped run.sh takes qemu with it (timeout passes the TERM on).
timeout --kill-after=15 "$TIMEOUT" qemu-system-x86_64 "${accel[@]}" -smp 2 -m "${CG2VM_MEM:-4096}" \
  -nographic -no-reboot -nic none \
  -kernel "$KDIR/boot/vmlinuz-$KVER" -initrd "$CACHE/initramfs-$KVER.gz" \
  -append "console=ttyS0 panic=-1 loglevel=4 systemd.unified_cgroup_hierarchy=1 cgroup_no_v1=all" \
  -drive file="$CACHE/tmp.img",format=raw,if=virtio,cache=unsafe \
  -fsdev local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap \
  -device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot \
  -fsdev local,id=results,path="$RES",security_model=none,multidevs=remap \
  -device virtio-9p-pci,fsdev=results,mount_tag=results \
  </dev/null >"$RES/console.log" 2>&1 &
qpid=$!
trap 'kill "$qpid" 2>/dev/null || true; rm -rf "$IR"' EXIT
wait "$qpid"
qrc=$?
rm -f "$CACHE/tmp.img" # the guest's /tmp, up to a few GB
set -e
secs=$(($(date +%s) - start))

# 5. Summary.
code=$(cat "$RES/exitcode" 2>/dev/null || echo "none (qemu exit $qrc$([ $qrc = 124 ] && echo ', timed out'))")
echo "================ cgroup2 VM summary ================"
cat "$RES/summary.txt" 2>/dev/null || { echo "no summary: console tail:"; tail -40 "$RES/console.log"; }
echo "--- vitest"
grep -E "^ *(Test Files|Tests|Errors|Duration) " "$RES/output.log" 2>/dev/null || echo "(no vitest summary)"
# Per file: passed / failed / skipped, from the verbose reporter's one line per test.
awk 'match($0, /^ *(✓|×|↓) test\/[^ ]+/) {
       split(substr($0, RSTART, RLENGTH), w, " "); n[w[2]]; c[w[2], w[1]]++ }
     END { for (f in n) printf "  %-40s %3d passed %3d failed %3d skipped\n", f, c[f, "✓"], c[f, "×"], c[f, "↓"] }' \
  "$RES/output.log" 2>/dev/null | sort
grep -E "^ *FAIL " "$RES/output.log" 2>/dev/null | sort -u || true
[ -f "$RES/test-leaks.txt" ] && cat "$RES/test-leaks.txt"
echo "--- wall time ${secs}s (accel $ACCEL); test exit code: $code; full log: $RES/output.log"
[[ $code =~ ^[0-9]+$ ]] && exit "$code"
exit 1
