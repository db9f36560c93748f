#!/bin/busybox sh
# shellcheck shell=dash
# system-limits.sh — in the test VM (after cgroup-limits.sh's runtime checks): for each limit, the OCI
# config coi generates for a system container (limits-config: coi's own code from [limits.*] to
# config.json) is run by coi-runtime with a busybox root whose /sbin/init (limits-init.sh) measures the
# limit from inside. Prints PASS/FAIL lines. Needs /limits-config, /coi-runtime, /coi and /bundle.
PATH=/bin
export PATH
export HOME=/tmp COI_DATA_DIR=/bundle/data
rt="/coi-runtime --root /run/coi-rt"
mkdir -p /run/coi-rt

# coi health on a kernel with every controller: the cgroup check is OK and lists them.
line=$(timeout 60 /coi health 2>&1 | grep "cgroup v2")
case "$line" in
*"[OK]"*memory*pids*) echo "PASS system-health-controllers: $line" ;;
*) echo "FAIL system-health-controllers: $line" ;;
esac

# run_check NAME TOML: the container runs the check in the foreground (its output is the result line).
run_check() {
        name=$1
        printf '%s\n' "$2" >/tmp/limits.toml
        echo "$name" >/bundle/rootfs/check
        if ! COI_CONFIG=/tmp/limits.toml /limits-config "c-$name" /bundle/rootfs >/bundle/config.json 2>/tmp/lc.err; then
                echo "FAIL system-$name: limits-config: $(cat /tmp/lc.err)"
                return
        fi
        timeout 60 $rt run -b /bundle "c-$name" </dev/null 2>/tmp/rt.err
        code=$?
        [ "$code" = 0 ] || echo "# coi-runtime run c-$name exited $code: $(cat /tmp/rt.err)"
        # run deletes the container when init ends; one left over (a timeout) goes, saying why if it can't.
        if [ -d "/run/coi-rt/c-$name" ]; then $rt delete -f "c-$name" 2>&1 | sed 's/^/# /'; fi
}

run_check memory '[limits.memory]
limit = "64MiB"
enforce = "hard"
swap = "false"'
# The host side lived through the container's OOM: we are still here, and its cgroup is gone.
if [ -d /sys/fs/cgroup/coi/c-memory ]; then
        echo "FAIL system-memory-host: /sys/fs/cgroup/coi/c-memory is left behind"
else
        echo "PASS system-memory-host: the guest's init ran on after the container's OOM kill"
fi
run_check pids '[limits.runtime]
max_processes = 16'
run_check cpu '[limits.cpu]
allowance = "50%"'
run_check cpuset '[limits.cpu]
count = "1"'
run_check io '[limits.disk]
write = "1MiB/s"'

# exec into a container whose init delegated controllers below its cgroup (what systemd does).
echo delegate >/bundle/rootfs/check
printf '[limits.memory]\nlimit = "64MiB"\nenforce = "hard"\n' >/tmp/limits.toml
rm -f /bundle/rootfs/data/delegated
COI_CONFIG=/tmp/limits.toml /limits-config c-delegate /bundle/rootfs >/bundle/config.json
$rt run -d -b /bundle c-delegate </dev/null >/dev/null 2>/tmp/rt.err || echo "# run -d: $(cat /tmp/rt.err)"
i=0
while [ ! -e /bundle/rootfs/data/delegated ] && [ $i -lt 50 ]; do
        sleep 0.2
        i=$((i + 1))
done
where=$($rt exec c-delegate /bin/cat /proc/self/cgroup 2>&1)
if [ "$where" = "0::/init.scope" ]; then
        echo "PASS system-exec-delegated: exec lands in init's group ($where)"
else
        echo "FAIL system-exec-delegated: exec: $where"
fi
$rt delete -f c-delegate 2>&1 | sed 's/^/# /'

# limits.runtime.max_duration: a container launched as a session does is stopped on time by coi's
# watcher (graceful: SIGRTMIN+3 to init), however its init behaves until then.
if [ -f /busybox-image.tar ]; then
        uptime() { cut -d" " -f1 /proc/uptime; }
        insmod /overlay.ko 2>&1 | sed 's/^/# insmod overlay: /'
        export COI_IMAGES_DIR=/bundle/images COI_RUNTIME_DIR=/run/coi
        /coi image import /busybox-image.tar --alias busybox 2>&1 | tail -n 3 | sed 's/^/# /'
        printf '[limits.runtime]\nmax_duration = "3s"\n' >/tmp/limits.toml
        t0=$(uptime)
        if COI_CONFIG=/tmp/limits.toml /limits-config --launch c-duration busybox 2>/tmp/ll.err; then
                i=0
                while /coi container running c-duration && [ $i -lt 150 ]; do
                        sleep 0.2
                        i=$((i + 1))
                done
                t1=$(uptime)
                took=$(awk "BEGIN { printf \"%.1f\", $t1 - $t0 }")
                log=$(cat /bundle/data/containers/c-duration/console.log 2>&1 | tr '\n' ';')
                # When init got the stop, from its own line (the guest's uptime).
                sig=$(echo "$log" | sed -n 's/.*SIGRTMIN+3 at uptime \([0-9.]*\).*/\1/p')
                case "$log" in
                *"reached limits.runtime.max_duration (3s): stopping it"*)
                        at=$(awk "BEGIN { printf \"%.1f\", ${sig:-0} - $t0 }")
                        if [ -n "$sig" ] && awk "BEGIN { exit !($at >= 3 && $at <= 10) }" &&
                                ! /coi container running c-duration; then
                                echo "PASS system-max-duration: init told to stop ${at}s after launch, gone after ${took}s (max_duration 3s)"
                        else
                                echo "FAIL system-max-duration: stop signal at ${at}s, after ${took}s still running or no signal: $log"
                        fi
                        ;;
                *) echo "FAIL system-max-duration: after ${took}s, console.log: $log" ;;
                esac
                /coi container delete -f c-duration 2>&1 | sed 's/^/# /'
        else
                echo "FAIL system-max-duration: $(cat /tmp/ll.err)"
        fi
fi
