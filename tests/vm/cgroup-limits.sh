#!/bin/busybox sh
# shellcheck shell=dash
# cgroup-limits.sh — init (pid 1) of the test VM that tests/vm/run boots: mounts what the checks need,
# runs them, prints their PASS/FAIL lines between markers and powers off. Runs only inside the guest.
PATH=/bin
export PATH

# Debian's initramfs moves /proc, /sys, /dev and /run over; mount them ourselves if it didn't.
[ -e /proc/self ] || mount -t proc proc /proc
[ -d /sys/fs/cgroup ] || mount -t sysfs sysfs /sys
[ -c /dev/null ] || mount -t devtmpfs devtmpfs /dev
mount -t cgroup2 cgroup2 /sys/fs/cgroup || echo "FAIL mount-cgroup2"
mount -t tmpfs tmpfs /tmp

echo "COI-VM-BEGIN $(uname -r)"
echo "# /sys/fs/cgroup/cgroup.controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
/cgroup-limits
if [ -x /test-cgroup ]; then
        # The unit tests on a pure cgroup v2 host (memory limit written instead of refused).
        if /test-cgroup >/tmp/unit.log 2>&1; then
                echo "PASS unit-test-cgroup"
        else
                sed 's/^/# /' /tmp/unit.log
                echo "FAIL unit-test-cgroup"
        fi
fi
if [ -x /system-limits.sh ]; then
        # Limits of a system container: coi's OCI config run by coi-runtime (tests/vm/system-limits.sh).
        /system-limits.sh
fi
echo "COI-VM-END"
sync
poweroff -f
