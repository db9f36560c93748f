#!/bin/busybox sh
# shellcheck shell=dash
# limits-init.sh — /sbin/init of the busybox system container that tests/vm/system-limits.sh starts with
# the OCI config coi generates: runs the check named in /check against the limits coi set and prints
# one PASS/FAIL line. Runs only inside that container (its cgroup namespace: /sys/fs/cgroup is its own).
PATH=/bin
export PATH
cg=/sys/fs/cgroup
check=$(cat /check)

result() { # ok name detail
        if [ "$1" = 1 ]; then echo "PASS $2: $3"; else echo "FAIL $2: $3"; fi
}

case "$check" in
memory)
        # limits.memory.limit 64MiB enforce hard, swap false: a 256 MiB hog is OOM-killed, init lives on.
        out=$(hog mem 256)
        code=$?
        oom=$(sed -n 's/^oom_kill //p' $cg/memory.events)
        ok=0
        [ "$code" = 137 ] && [ "${oom:-0}" -ge 1 ] && [ "$(cat $cg/memory.max)" = 67108864 ] &&
                [ "$(cat $cg/memory.swap.max)" = 0 ] && ok=1
        result $ok system-memory-max "hog exit $code ($out), memory.events oom_kill=$oom, memory.max=$(cat $cg/memory.max)"
        ;;
pids)
        # limits.runtime.max_processes 16: fork fails inside once the group holds 16 tasks.
        out=$(hog fork 100)
        code=$?
        ok=0
        [ "$code" = 0 ] && [ "$(cat $cg/pids.max)" = 16 ] && ok=1
        result $ok system-pids-max "$out (pids.max=$(cat $cg/pids.max))"
        ;;
cpu)
        # limits.cpu.allowance 50%: a busy loop gets 40-60 % of one CPU over 3 s.
        out=$(hog spin 3)
        pct=$(echo "$out" | sed -n 's/^hog spin: \([0-9]*\)%.*/\1/p')
        ok=0
        [ -n "$pct" ] && [ "$pct" -ge 40 ] && [ "$pct" -le 60 ] && ok=1
        result $ok system-cpu-max "$out (cpu.max=$(cat $cg/cpu.max))"
        ;;
cpuset)
        # limits.cpu.count 1 in a 2-CPU guest: nproc inside says 1.
        n=$(nproc)
        ok=0
        [ "$n" = 1 ] && ok=1
        result $ok system-cpuset "nproc=$n (cpuset.cpus=$(cat $cg/cpuset.cpus))"
        ;;
io)
        # limits.disk.write 1MiB/s: 3 MiB written with O_DIRECT take about 3 s.
        out=$(hog write /data/f 3)
        rate=$(echo "$out" | sed -n 's/.*= \([0-9]*\) KiB\/s/\1/p')
        ok=0
        [ -n "$rate" ] && [ "$rate" -ge 700 ] && [ "$rate" -le 1400 ] && ok=1
        result $ok system-io-max "$out (io.max: $(cat $cg/io.max))"
        rm -f /data/f
        ;;
delegate)
        # As systemd does: move init to a child group and enable controllers for the children; an exec
        # must still find a place (the runtime puts it next to init). Then wait to be stopped.
        mkdir $cg/init.scope && echo $$ >$cg/init.scope/cgroup.procs &&
                echo +memory >$cg/cgroup.subtree_control && touch /data/delegated
        while :; do sleep 1; done
        ;;
duration)
        # Launched with limits.runtime.max_duration: wait for the watcher's graceful stop (SIGRTMIN+3,
        # signal 37, as systemd takes it) and say when it came; console.log keeps the line.
        trap 'echo "duration: SIGRTMIN+3 at uptime $(cut -d" " -f1 /proc/uptime)"; exit 0' 37
        echo "duration: running since uptime $(cut -d" " -f1 /proc/uptime)"
        while :; do sleep 1; done
        ;;
*)
        echo "FAIL system-$check: unknown check"
        ;;
esac
