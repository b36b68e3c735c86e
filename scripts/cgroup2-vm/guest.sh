#!/bin/bash
# Stage 2 of the cgroup2 VM (scripts/cgroup2-vm/run.sh): PID 1 after switch_root, running the
# host's userland from the read-only 9p root under a tmpfs overlay. Sets up a pure cgroup v2
# system (no v1 hierarchy is ever mounted), runs the test command and powers off.
# bash as PID 1 also reaps orphans (it waits with waitpid(-1)).
R=/mnt/results
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb
exec </dev/null >/dev/console 2>&1

# The options systemd uses on a v2 host. Nothing else in /sys/fs/cgroup.
mount -t cgroup2 -o nsdelegate,memory_recursiveprot cgroup2 /sys/fs/cgroup
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
ln -sf /proc/self/fd /dev/fd
ln -sf fd/0 /dev/stdin && ln -sf fd/1 /dev/stdout && ln -sf fd/2 /dev/stderr
mount -t ext4 /dev/vda /tmp && chmod 1777 /tmp # run.sh made it
mount -t tmpfs -o mode=755 tmpfs /run # the host's /run (netns, pids) is not ours
ip link set lo up
hostname cg2vm

# shellcheck source=/dev/null
. "$R/env" # REPO=<repo dir>; CMD (array): the test command
cd "$REPO" || exit 1
{
  echo "kernel: $(uname -r)"
  echo "cmdline: $(cat /proc/cmdline)"
  echo "cgroup mounts: $(grep cgroup /proc/mounts | tr '\n' ';')"
  echo "cgroup.controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
  echo "cgroup.subtree_control (before tests): $(cat /sys/fs/cgroup/cgroup.subtree_control)"
  echo "probeCgroupLayout(): $(node --import tsx -e \
    'import("./src/sandbox/cgroups.ts").then((m) => console.log(JSON.stringify(m.probeCgroupLayout())))' 2>&1)"
} >"$R/summary.txt" 2>&1
cat "$R/summary.txt"

rm -f .tmp/test-leaks.txt # a host run's, seen through the overlay
echo "cg2vm: running: ${CMD[*]}"
"${CMD[@]}" 2>&1 | tee "$R/output.log"
code=${PIPESTATUS[0]}
echo "$code" >"$R/exitcode"

{
  echo "cgroup.subtree_control (after tests): $(cat /sys/fs/cgroup/cgroup.subtree_control)"
  echo "cgroup2 mount options (after): $(grep cgroup2 /proc/mounts)"
  echo "groups left in /sys/fs/cgroup: $(cd /sys/fs/cgroup && ls -d -- */ 2>/dev/null | tr '\n' ' ')"
} >>"$R/summary.txt"
[ -f .tmp/test-leaks.txt ] && cp .tmp/test-leaks.txt "$R/"
dmesg >"$R/dmesg.txt"
sync
umount "$R"
/bin/busybox poweroff -f || echo o >/proc/sysrq-trigger
