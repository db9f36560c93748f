/* test-oci-config.c — config.json into structs: a podman-style config read field by field, the exact
 * message of every refusal, exec/update documents, and the features/spec documents read back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <yajl/yajl_tree.h> /* only to read the features document back */

#include "oci-config.h"
#include "seccomp-bpf.h"
#include "util.h"

#define ORIGIN "/b/config.json"

/* JSON written with single quotes, so the tests stay readable: 'a' → "a". */
static char *dq(const char *s)
{
        char *out = strdup(s);
        assert_non_null(out);
        for (char *c = out; *c; c++)
                if (*c == '\'')
                        *c = '"';
        return out;
}

/* The smallest valid config plus a fragment of top-level members. */
static char *config_with(const char *fragment)
{
        _cleanup_free_ char *sq = xasprintf("{'ociVersion':'1.1.0','root':{'path':'rootfs'}%s%s}",
                                            *fragment ? "," : "", fragment);
        return dq(sq);
}

static int parse(const char *json, struct oci_config **ret, struct coi_error *err)
{
        return oci_config_parse(json, strlen(json), ORIGIN, ret, err);
}

static uint64_t cap_bit(int cap)
{
        return UINT64_C(1) << cap;
}

static const char podman_config[] =
        "{"
        " 'ociVersion': '1.0.2-dev',"
        " 'process': {"
        "  'terminal': false,"
        "  'consoleSize': {'height': 40, 'width': 120},"
        "  'user': {'uid': 1000, 'gid': 1000, 'umask': 18, 'additionalGids': [1000, 10]},"
        "  'args': ['/bin/sh', '-c', 'echo hi'],"
        "  'env': ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm',"
        "          'container=podman', 'EMPTY='],"
        "  'cwd': '/work',"
        "  'capabilities': {"
        "   'bounding': ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE', "
        "'CAP_SYS_CHROOT'],"
        "   'effective': ['CAP_CHOWN', 'CAP_KILL'],"
        "   'permitted': ['CAP_CHOWN', 'CAP_KILL'],"
        "   'inheritable': [],"
        "   'ambient': ['CAP_NET_BIND_SERVICE']"
        "  },"
        "  'rlimits': ["
        "   {'type': 'RLIMIT_NOFILE', 'hard': 1048576, 'soft': 1024},"
        "   {'type': 'RLIMIT_CORE', 'hard': 18446744073709551615, 'soft': 18446744073709551615}"
        "  ],"
        "  'noNewPrivileges': true,"
        "  'oomScoreAdj': -500,"
        "  'apparmorProfile': '',"
        "  'selinuxLabel': ''"
        " },"
        " 'root': {'path': '/var/lib/containers/storage/overlay/abc/merged', 'readonly': false},"
        " 'hostname': 'abc123',"
        " 'domainname': 'example.org',"
        " 'mounts': ["
        "  {'destination': '/proc', 'type': 'proc', 'source': 'proc', 'options': ['nosuid', 'noexec', "
        "'nodev']},"
        "  {'destination': '/dev', 'type': 'tmpfs', 'source': 'tmpfs',"
        "   'options': ['nosuid', 'strictatime', 'mode=755', 'size=65536k']},"
        "  {'destination': '/dev/pts', 'type': 'devpts', 'source': 'devpts',"
        "   'options': ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5']},"
        "  {'destination': '/etc/hosts', 'type': 'bind', 'source': '/run/containers/abc/hosts',"
        "   'options': ['bind', 'rprivate', 'ro', 'rw']},"
        "  {'destination': '/tmp', 'type': 'tmpfs', 'source': 'tmpfs',"
        "   'options': ['rw', 'rprivate', 'nosuid', 'nodev', 'tmpcopyup']},"
        "  {'destination': '/sys/fs/cgroup', 'type': 'cgroup', 'source': 'cgroup',"
        "   'options': ['rprivate', 'nosuid', 'noexec', 'nodev', 'relatime', 'ro']},"
        "  {'destination': '/data', 'type': 'bind', 'source': '/srv/data',"
        "   'options': ['rbind', 'rslave', 'rro', 'rnoatime', 'nosymfollow', 'lazytime', 'idmap'],"
        "   'uidMappings': [{'containerID': 0, 'hostID': 100000, 'size': 65536}],"
        "   'gidMappings': [{'containerID': 0, 'hostID': 100000, 'size': 65536}]}"
        " ],"
        " 'hooks': {"
        "  'prestart': [{'path': '/usr/libexec/podman/hook', 'args': ['hook', 'prestart'], 'env': ['A=B'],"
        "                'timeout': 5}],"
        "  'createRuntime': [{'path': '/usr/bin/one'}, {'path': '/usr/bin/two'}],"
        "  'poststop': [{'path': '/usr/bin/cleanup'}]"
        " },"
        " 'annotations': {'io.container.manager': 'libpod', 'org.opencontainers.image.stopSignal': '15'},"
        " 'linux': {"
        "  'sysctl': {'net.ipv4.ping_group_range': '0 0'},"
        "  'resources': {"
        "   'devices': [{'allow': false, 'access': 'rwm'},"
        "               {'allow': true, 'type': 'c', 'major': 1, 'minor': 3, 'access': 'rwm'},"
        "               {'allow': true, 'type': 'c', 'major': 136, 'access': 'rwm'}],"
        "   'memory': {'limit': 536870912, 'swap': -1, 'swappiness': 60, 'disableOOMKiller': false},"
        "   'cpu': {'shares': 1024, 'quota': 50000, 'period': 100000, 'cpus': '0-1', 'mems': '0'},"
        "   'pids': {'limit': 2048},"
        "   'blockIO': {'weight': 500, 'throttleReadBpsDevice': [{'major': 8, 'minor': 0, 'rate': 1048576}]}"
        "  },"
        "  'cgroupsPath': 'machine.slice:libpod:abc123',"
        "  'namespaces': [{'type': 'pid'}, {'type': 'network', 'path': '/run/netns/netns-1234'},"
        "                 {'type': 'ipc'}, {'type': 'uts'}, {'type': 'mount'}, {'type': 'cgroup'},"
        "                 {'type': 'user'}],"
        "  'uidMappings': [{'containerID': 0, 'hostID': 1000, 'size': 1},"
        "                  {'containerID': 1, 'hostID': 100000, 'size': 65536}],"
        "  'gidMappings': [{'containerID': 0, 'hostID': 1000, 'size': 1}],"
        "  'seccomp': {"
        "   'defaultAction': 'SCMP_ACT_ERRNO', 'defaultErrnoRet': 38,"
        "   'architectures': ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],"
        "   'flags': ['SECCOMP_FILTER_FLAG_SPEC_ALLOW'],"
        "   'syscalls': ["
        "    {'names': ['read', 'write', 'exit_group'], 'action': 'SCMP_ACT_ALLOW'},"
        "    {'names': ['personality'], 'action': 'SCMP_ACT_ALLOW',"
        "     'args': [{'index': 0, 'value': 8, 'op': 'SCMP_CMP_EQ'}]},"
        "    {'names': ['clone'], 'action': 'SCMP_ACT_ALLOW',"
        "     'args': [{'index': 0, 'value': 2114060288, 'valueTwo': 0, 'op': 'SCMP_CMP_MASKED_EQ'}]},"
        "    {'names': ['bdflush'], 'action': 'SCMP_ACT_ERRNO', 'errnoRet': 1}"
        "   ]"
        "  },"
        "  'maskedPaths': ['/proc/acpi', '/proc/kcore'],"
        "  'readonlyPaths': ['/proc/sys', '/proc/sysrq-trigger'],"
        "  'rootfsPropagation': 'rslave',"
        "  'mountLabel': ''"
        " }"
        "}";

static void test_podman_config(void **state)
{
        _cleanup_free_ char *json = dq(podman_config);
        _cleanup_(oci_config_freep) struct oci_config *c = NULL;
        struct coi_error err = { 0 };
        int r = parse(json, &c, &err);
        if (r < 0)
                print_message("%s\n", err.msg);
        assert_int_equal(r, 0);

        assert_string_equal(c->oci_version, "1.0.2-dev");
        assert_string_equal(c->root_path, "/var/lib/containers/storage/overlay/abc/merged");
        assert_false(c->root_readonly);
        assert_string_equal(c->hostname, "abc123");
        assert_string_equal(c->domainname, "example.org");

        /* process */
        const struct oci_process *p = &c->process;
        assert_true(c->has_process);
        assert_false(p->terminal);
        assert_true(p->has_console_size);
        assert_int_equal(p->console_height, 40);
        assert_int_equal(p->console_width, 120);
        assert_int_equal(p->user.uid, 1000);
        assert_int_equal(p->user.gid, 1000);
        assert_true(p->user.has_umask);
        assert_int_equal(p->user.umask, 022);
        assert_int_equal(p->user.n_additional_gids, 2);
        assert_int_equal(p->user.additional_gids[1], 10);
        assert_int_equal(strv_length(p->args), 3);
        assert_string_equal(p->args[2], "echo hi");
        assert_null(p->args[3]);
        assert_int_equal(strv_length(p->env), 4);
        assert_string_equal(p->env[3], "EMPTY=");
        assert_string_equal(p->cwd, "/work");
        assert_true(p->caps.present);
        assert_int_equal(p->caps.bounding, cap_bit(0) | cap_bit(1) | cap_bit(5) | cap_bit(10) | cap_bit(18));
        assert_int_equal(p->caps.effective, cap_bit(0) | cap_bit(5));
        assert_int_equal(p->caps.permitted, cap_bit(0) | cap_bit(5));
        assert_int_equal(p->caps.inheritable, 0);
        assert_int_equal(p->caps.ambient, cap_bit(10));
        assert_int_equal(p->n_rlimits, 2);
        assert_int_equal(p->rlimits[0].resource, RLIMIT_NOFILE);
        assert_string_equal(p->rlimits[0].type, "RLIMIT_NOFILE");
        assert_int_equal(p->rlimits[0].hard, 1048576);
        assert_int_equal(p->rlimits[0].soft, 1024);
        assert_int_equal(p->rlimits[1].resource, RLIMIT_CORE);
        assert_true(p->rlimits[1].hard == UINT64_MAX && p->rlimits[1].soft == UINT64_MAX);
        assert_true(p->no_new_privileges);
        assert_true(p->has_oom_score_adj);
        assert_int_equal(p->oom_score_adj, -500);
        assert_null(p->apparmor_profile);
        assert_null(p->selinux_label);

        /* mounts */
        assert_int_equal(c->n_mounts, 7);
        const struct oci_mount *m = c->mounts;
        assert_string_equal(m[0].destination, "/proc");
        assert_string_equal(m[0].type, "proc");
        assert_int_equal(m[0].flags, MS_NOSUID | MS_NOEXEC | MS_NODEV);
        assert_null(m[0].data);
        assert_int_equal(m[1].flags, MS_NOSUID | MS_STRICTATIME);
        assert_string_equal(m[1].data, "mode=755,size=65536k");
        assert_int_equal(m[2].flags, MS_NOSUID | MS_NOEXEC);
        assert_string_equal(m[2].data, "newinstance,ptmxmode=0666,mode=0620,gid=5");
        /* the last of ro/rw wins */
        assert_true(m[3].bind);
        assert_false(m[3].recursive);
        assert_int_equal(m[3].flags, MS_BIND);
        assert_int_equal(m[3].clear_flags, MS_RDONLY);
        assert_int_equal(m[3].propagation, MS_PRIVATE | MS_REC);
        assert_string_equal(m[3].source, "/run/containers/abc/hosts");
        assert_int_equal(strv_length(m[3].options), 4);
        /* tmpcopyup is recorded, never passed to the kernel */
        assert_true(m[4].tmpcopyup);
        assert_null(m[4].data);
        assert_int_equal(m[4].flags, MS_NOSUID | MS_NODEV);
        assert_int_equal(m[4].clear_flags, MS_RDONLY);
        assert_int_equal(m[5].flags, MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RELATIME | MS_RDONLY);
        assert_true(m[6].bind && m[6].recursive && m[6].idmap);
        assert_false(m[6].ridmap);
        assert_int_equal(m[6].flags, MS_BIND | MS_REC | MS_NOSYMFOLLOW | MS_LAZYTIME);
        assert_int_equal(m[6].propagation, MS_SLAVE | MS_REC);
        assert_int_equal(m[6].rec_attr_set, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOATIME);
        assert_int_equal(m[6].rec_attr_clr, MOUNT_ATTR__ATIME);
        assert_int_equal(m[6].n_uid_mappings, 1);
        assert_int_equal(m[6].uid_mappings[0].host_id, 100000);
        assert_int_equal(m[6].gid_mappings[0].size, 65536);

        /* hooks */
        assert_int_equal(c->n_hooks[OCI_HOOK_PRESTART], 1);
        const struct oci_hook *h = &c->hooks[OCI_HOOK_PRESTART][0];
        assert_string_equal(h->path, "/usr/libexec/podman/hook");
        assert_string_equal(h->args[1], "prestart");
        assert_string_equal(h->env[0], "A=B");
        assert_true(h->has_timeout);
        assert_int_equal(h->timeout, 5);
        assert_int_equal(c->n_hooks[OCI_HOOK_CREATE_RUNTIME], 2);
        assert_string_equal(c->hooks[OCI_HOOK_CREATE_RUNTIME][1].path, "/usr/bin/two");
        assert_int_equal(c->n_hooks[OCI_HOOK_CREATE_CONTAINER], 0);
        assert_int_equal(c->n_hooks[OCI_HOOK_POSTSTOP], 1);
        assert_false(c->hooks[OCI_HOOK_POSTSTOP][0].has_timeout);

        assert_string_equal(oci_config_annotation(c, "org.opencontainers.image.stopSignal"), "15");
        assert_string_equal(oci_config_annotation(c, "io.container.manager"), "libpod");
        assert_null(oci_config_annotation(c, "libpod"));

        /* linux */
        const struct oci_linux *l = &c->linux_;
        assert_string_equal(l->sysctl[0], "net.ipv4.ping_group_range");
        assert_string_equal(l->sysctl[1], "0 0");
        assert_null(l->sysctl[2]);
        assert_string_equal(l->cgroups_path, "machine.slice:libpod:abc123");
        for (int t = 0; t < _OCI_NS_MAX; t++)
                assert_int_equal(l->namespaces[t].present, t != OCI_NS_TIME);
        assert_string_equal(l->namespaces[OCI_NS_NETWORK].path, "/run/netns/netns-1234");
        assert_null(l->namespaces[OCI_NS_PID].path);
        assert_int_equal(l->n_uid_mappings, 2);
        assert_int_equal(l->uid_mappings[1].container_id, 1);
        assert_int_equal(l->uid_mappings[1].host_id, 100000);
        assert_int_equal(l->uid_mappings[1].size, 65536);
        assert_int_equal(l->n_gid_mappings, 1);
        assert_int_equal(l->rootfs_propagation, MS_SLAVE | MS_REC);
        assert_string_equal(l->masked_paths[1], "/proc/kcore");
        assert_string_equal(l->readonly_paths[1], "/proc/sysrq-trigger");
        assert_null(l->mount_label);

        const struct oci_resources *res = &l->resources;
        assert_true(l->has_resources);
        assert_true(res->has_devices);
        assert_int_equal(res->n_device_rules, 3);
        assert_false(res->device_rules[0].allow);
        assert_int_equal(res->device_rules[0].type, 'a');
        assert_int_equal(res->device_rules[0].major, -1);
        assert_int_equal(res->device_rules[2].major, 136);
        assert_int_equal(res->device_rules[2].minor, -1);
        assert_true(res->devices_standard);
        assert_false(res->devices_allow_all);
        assert_true(res->has_memory_limit);
        assert_int_equal(res->memory_limit, 536870912);
        assert_true(res->has_memory_swap);
        assert_int_equal(res->memory_swap, -1);
        assert_false(res->has_memory_reservation);
        assert_true(res->has_memory_swappiness);
        assert_int_equal(res->memory_swappiness, 60);
        assert_true(res->has_memory_disable_oom_killer);
        assert_true(res->has_cpu_shares && res->has_cpu_quota && res->has_cpu_period);
        assert_int_equal(res->cpu_quota, 50000);
        assert_int_equal(res->cpu_period, 100000);
        assert_false(res->has_cpu_idle);
        assert_string_equal(res->cpu_cpus, "0-1");
        assert_string_equal(res->cpu_mems, "0");
        assert_true(res->has_pids_limit);
        assert_int_equal(res->pids_limit, 2048);
        assert_true(res->has_io_weight);
        assert_int_equal(res->io_weight, 500);
        assert_int_equal(res->n_io_devices, 1);
        assert_int_equal(res->io_devices[0].kind, 'r');
        assert_int_equal(res->io_devices[0].major, 8);
        assert_int_equal(res->io_devices[0].rate, 1048576);

        const struct oci_seccomp *s = l->seccomp;
        uint32_t expected;
        assert_non_null(s);
        assert_int_equal(seccomp_action_from_name("SCMP_ACT_ERRNO", 38, &expected), 0);
        assert_int_equal(s->default_action, expected);
        assert_true(s->has_default_errno_ret);
        assert_int_equal(s->default_errno_ret, 38);
        assert_int_equal(s->n_architectures, 3);
        assert_int_equal(seccomp_arch_from_name("SCMP_ARCH_X32", &expected), 0);
        assert_int_equal(s->architectures[2], expected);
        assert_string_equal(s->flags[0], "SECCOMP_FILTER_FLAG_SPEC_ALLOW");
        assert_null(s->listener_path);
        assert_int_equal(s->n_syscalls, 4);
        assert_int_equal(strv_length(s->syscalls[0].names), 3);
        assert_string_equal(s->syscalls[0].names[2], "exit_group");
        assert_int_equal(seccomp_action_from_name("SCMP_ACT_ALLOW", 0, &expected), 0);
        assert_int_equal(s->syscalls[0].action, expected);
        assert_int_equal(s->syscalls[1].n_args, 1);
        assert_int_equal(s->syscalls[1].args[0].value, 8);
        int op;
        assert_int_equal(seccomp_op_from_name("SCMP_CMP_MASKED_EQ", &op), 0);
        assert_int_equal(s->syscalls[2].args[0].op, op);
        assert_int_equal(s->syscalls[2].args[0].value, 2114060288);
        assert_int_equal(seccomp_action_from_name("SCMP_ACT_ERRNO", 1, &expected), 0);
        assert_int_equal(s->syscalls[3].action, expected);
        assert_true(s->syscalls[3].has_errno_ret);
}

/* Each line: a fragment of top-level members (single quotes), the errno, the exact message. */
static const struct bad_config {
        const char *fragment;
        int code;
        const char *msg;
} bad_configs[] = {
        /* types */
        { "'process':{'args':[1],'cwd':'/'}", EINVAL,
          ORIGIN ": process.args[0]: expected a string, got number" },
        { "'process':{'args':'sh','cwd':'/'}", EINVAL,
          ORIGIN ": process.args: expected an array of strings, got string" },
        { "'process':{'args':[],'cwd':'/'}", EINVAL,
          ORIGIN ": process.args: must name at least the program to run" },
        { "'process':{'cwd':'/'}", EINVAL, ORIGIN ": process.args: required but missing" },
        { "'process':{'args':['sh']}", EINVAL, ORIGIN ": process.cwd: required but missing" },
        { "'process':{'args':['sh'],'cwd':'work'}", EINVAL,
          ORIGIN ": process.cwd: expected an absolute path, got \"work\"" },
        { "'process':{'args':['sh'],'cwd':'/','env':['A=1','B']}", EINVAL,
          ORIGIN ": process.env[1]: expected \"NAME=value\", got \"B\"" },
        { "'process':{'args':['sh'],'cwd':'/','terminal':'yes'}", EINVAL,
          ORIGIN ": process.terminal: expected a boolean, got string" },
        { "'process':{'args':['sh'],'cwd':'/','user':{'uid':-1}}", ERANGE,
          ORIGIN ": process.user.uid: expected a non-negative integer, got -1" },
        { "'process':{'args':['sh'],'cwd':'/','user':{'uid':4294967296}}", ERANGE,
          ORIGIN ": process.user.uid: 4294967296 is out of range (0..4294967295)" },
        { "'process':{'args':['sh'],'cwd':'/','user':{'gid':1.5}}", EINVAL,
          ORIGIN ": process.user.gid: expected an integer, got 1.5" },
        { "'process':{'args':['sh'],'cwd':'/','user':{'additionalGids':[1,'2']}}", EINVAL,
          ORIGIN ": process.user.additionalGids[1]: expected an integer, got string" },
        { "'process':{'args':['sh'],'cwd':'/','user':{'uid':0,'username':'root'}}", ENOTSUP,
          ORIGIN ": process.user.username: not supported by coi-runtime (Windows only)" },
        { "'process':{'args':['sh'],'cwd':'/','oomScoreAdj':1001}", ERANGE,
          ORIGIN ": process.oomScoreAdj: 1001 is out of range (-1000..1000)" },
        { "'process':{'args':['sh'],'cwd':'/','consoleSize':{'height':1}}", EINVAL,
          ORIGIN ": process.consoleSize.width: required but missing" },
        { "'root':{'path':'rootfs'}", EINVAL, ORIGIN ": root: given twice" },
        { "'hostname':7", EINVAL, ORIGIN ": hostname: expected a string, got number" },
        { "'mounts':{}", EINVAL, ORIGIN ": mounts: expected an array of objects, got object" },
        { "'mounts':[{'type':'tmpfs'}]", EINVAL, ORIGIN ": mounts[0].destination: required but missing" },
        { "'mounts':[{'destination':'/x','options':['ro',5]}]", EINVAL,
          ORIGIN ": mounts[0].options[1]: expected a string, got number" },
        { "'mounts':[{'destination':'/x','uidMappings':[{'containerID':0,'hostID':1}]}]", EINVAL,
          ORIGIN ": mounts[0].uidMappings[0].size: required but missing" },
        { "'annotations':{'io.example.n':5}", EINVAL,
          ORIGIN ": annotations[\"io.example.n\"]: expected a string, got number" },
        /* unknown and unsupported fields */
        { "'windows':{}", ENOTSUP,
          ORIGIN ": windows: not supported by coi-runtime (not a Linux configuration)" },
        { "'solaris':{}", ENOTSUP,
          ORIGIN ": solaris: not supported by coi-runtime (not a Linux configuration)" },
        { "'vm':{}", ENOTSUP, ORIGIN ": vm: not supported by coi-runtime (no virtual-machine containers)" },
        { "'linux':{'intelRdt':{'closID':'x'}}", ENOTSUP,
          ORIGIN ": linux.intelRdt: not supported by coi-runtime (no Intel RDT support)" },
        { "'linux':{'netDevices':{'eth0':{}}}", ENOTSUP,
          ORIGIN ": linux.netDevices: not supported by coi-runtime (no network device moves)" },
        { "'linux':{'mountLabel':'system_u:object_r:container_file_t:s0'}", ENOTSUP,
          ORIGIN ": linux.mountLabel: not supported by coi-runtime (no SELinux support)" },
        { "'process':{'args':['sh'],'cwd':'/','apparmorProfile':'docker-default'}", ENOTSUP,
          ORIGIN ": process.apparmorProfile: not supported by coi-runtime (no AppArmor support)" },
        { "'process':{'args':['sh'],'cwd':'/','selinuxLabel':'x'}", ENOTSUP,
          ORIGIN ": process.selinuxLabel: not supported by coi-runtime (no SELinux support)" },
        { "'process':{'args':['sh'],'cwd':'/','ioPriority':{'class':'IOPRIO_CLASS_IDLE'}}", ENOTSUP,
          ORIGIN ": process.ioPriority: not supported by coi-runtime (no ioprio_set support yet)" },
        { "'process':{'args':['sh'],'cwd':'/','scheduler':{'policy':'SCHED_OTHER'}}", ENOTSUP,
          ORIGIN ": process.scheduler: not supported by coi-runtime (no sched_setattr support yet)" },
        { "'process':{'args':['sh'],'cwd':'/','execCPUAffinity':{'initial':'0'}}", ENOTSUP,
          ORIGIN ": process.execCPUAffinity: not supported by coi-runtime (no CPU affinity support yet)" },
        { "'process':{'args':['sh'],'cwd':'/','commandLine':'sh'}", ENOTSUP,
          ORIGIN ": process.commandLine: not supported by coi-runtime (Windows only)" },
        { "'linux':{'resources':{'memory':{'kernelTCP':1}}}", ENOTSUP,
          ORIGIN ": linux.resources.memory.kernelTCP: not supported by coi-runtime (cgroup v1 only)" },
        { "'linux':{'resources':{'network':{'classID':1}}}", ENOTSUP,
          ORIGIN
          ": linux.resources.network: not supported by coi-runtime (net_cls/net_prio are cgroup v1 only)" },
        { "'linux':{'resources':{'cpu':{'realtimeRuntime':1}}}", ENOTSUP,
          ORIGIN ": linux.resources.cpu.realtimeRuntime: not supported by coi-runtime (cgroup v1 only)" },
        { "'linux':{'personality':{'domain':'LINUX','flags':['X']}}", ENOTSUP,
          ORIGIN ": linux.personality.flags: not supported by coi-runtime (personality flags)" },
        /* capabilities and rlimits */
        { "'process':{'args':['sh'],'cwd':'/','capabilities':{'bounding':['CAP_KILL','CAP_FOO']}}", EINVAL,
          ORIGIN ": process.capabilities.bounding[1]: unknown capability \"CAP_FOO\"" },
        { "'process':{'args':['sh'],'cwd':'/','capabilities':{'effective':['cap_kill']}}", EINVAL,
          ORIGIN ": process.capabilities.effective[0]: unknown capability \"cap_kill\"" },
        { "'process':{'args':['sh'],'cwd':'/','rlimits':[{'type':'RLIMIT_FOO','hard':1,'soft':1}]}", EINVAL,
          ORIGIN ": process.rlimits[0].type: unknown rlimit \"RLIMIT_FOO\"" },
        { "'process':{'args':['sh'],'cwd':'/','rlimits':[{'type':'RLIMIT_NOFILE','hard':1}]}", EINVAL,
          ORIGIN ": process.rlimits[0].soft: required but missing" },
        { "'process':{'args':['sh'],'cwd':'/','rlimits':[{'type':'RLIMIT_NOFILE','hard':1,'soft':2}]}",
          EINVAL, ORIGIN ": process.rlimits[0]: soft limit 2 is above the hard limit 1" },
        { "'process':{'args':['sh'],'cwd':'/','rlimits':[{'type':'RLIMIT_NOFILE','hard':1,'soft':1},"
          "{'type':'RLIMIT_NOFILE','hard':2,'soft':2}]}",
          EINVAL, ORIGIN ": process.rlimits[1].type: RLIMIT_NOFILE given twice" },
        /* namespaces and id mappings */
        { "'linux':{'namespaces':[{'type':'pid'},{'type':'mount'},{'type':'foo'}]}", EINVAL,
          ORIGIN ": linux.namespaces[2].type: unknown namespace type \"foo\"" },
        { "'linux':{'namespaces':[{'type':'pid'},{'type':'pid','path':'/proc/1/ns/pid'}]}", EINVAL,
          ORIGIN ": linux.namespaces[1].type: namespace \"pid\" given twice" },
        { "'linux':{'namespaces':[{'path':'/proc/1/ns/pid'}]}", EINVAL,
          ORIGIN ": linux.namespaces[0].type: required but missing" },
        { "'linux':{'namespaces':[{'type':'net','path':'x'}]}", EINVAL,
          ORIGIN ": linux.namespaces[0].type: unknown namespace type \"net\"" },
        { "'linux':{'namespaces':[{'type':'network','path':'run/netns/x'}]}", EINVAL,
          ORIGIN ": linux.namespaces[0].path: expected an absolute path, got \"run/netns/x\"" },
        { "'linux':{'namespaces':[{'type':'user'}]}", EINVAL,
          ORIGIN ": linux.uidMappings: required to create a user namespace" },
        { "'linux':{'namespaces':[{'type':'user'}],'uidMappings':[{'containerID':0,'hostID':1000,'size':1}]}",
          EINVAL, ORIGIN ": linux.gidMappings: required to create a user namespace" },
        { "'linux':{'uidMappings':[{'containerID':0,'hostID':1000,'size':1}]}", EINVAL,
          ORIGIN ": linux.uidMappings: needs a user namespace in linux.namespaces" },
        { "'linux':{'namespaces':[{'type':'user'}],'uidMappings':[{'containerID':0,'hostID':1000,'size':0}]}",
          EINVAL, ORIGIN ": linux.uidMappings[0]: size must not be 0" },
        { "'linux':{'uidMappings':[{'containerID':0,'hostID':4294967295,'size':2}]}", ERANGE,
          ORIGIN ": linux.uidMappings[0]: range goes past 4294967295" },
        { "'linux':{'timeOffsets':{'monotonic':{'secs':10}}}", EINVAL,
          ORIGIN ": linux.timeOffsets: needs a new time namespace in linux.namespaces" },
        { "'linux':{'namespaces':[{'type':'time'}],'timeOffsets':{'realtime':{'secs':10}}}", ENOTSUP,
          ORIGIN ": linux.timeOffsets.realtime: not supported by coi-runtime (a time namespace offsets only "
                 "monotonic and boottime)" },
        /* seccomp */
        { "'linux':{'seccomp':{'defaultAction':'SCMP_ACT_NOPE'}}", EINVAL,
          ORIGIN ": linux.seccomp.defaultAction: unknown seccomp action \"SCMP_ACT_NOPE\"" },
        { "'linux':{'seccomp':{'syscalls':[]}}", EINVAL,
          ORIGIN ": linux.seccomp.defaultAction: required but missing" },
        { "'linux':{'seccomp':{'defaultAction':'SCMP_ACT_ALLOW','architectures':['SCMP_ARCH_Z80']}}", EINVAL,
          ORIGIN ": linux.seccomp.architectures[0]: unknown seccomp architecture \"SCMP_ARCH_Z80\"" },
        { "'linux':{'seccomp':{'defaultAction':'SCMP_ACT_ALLOW','flags':['SECCOMP_FILTER_FLAG_FOO']}}",
          EINVAL, ORIGIN ": linux.seccomp.flags[0]: unknown seccomp flag \"SECCOMP_FILTER_FLAG_FOO\"" },
        { "'linux':{'seccomp':{'defaultAction':'SCMP_ACT_ALLOW','listenerPath':'/run/seccomp.sock'}}",
          ENOTSUP,
          ORIGIN ": linux.seccomp.listenerPath: not supported by coi-runtime (no seccomp notify listener "
                 "support yet)" },
        { "'linux':{'seccomp':{'defaultAction':'SCMP_ACT_ALLOW','defaultErrnoRet':1}}", EINVAL,
          ORIGIN ": linux.seccomp.defaultErrnoRet: only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not "
                 "SCMP_ACT_ALLOW" },
        { "'linux':{'seccomp':{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['kill'],"
          "'action':'SCMP_ACT_NOTIFY'}]}}",
          ENOTSUP,
          ORIGIN ": linux.seccomp.syscalls[0].action: SCMP_ACT_NOTIFY needs a seccomp listener, not "
                 "supported by coi-runtime" },
        { "'linux':{'seccomp':{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':[],'action':'SCMP_ACT_"
          "ERRNO'}]}}",
          EINVAL, ORIGIN ": linux.seccomp.syscalls[0].names: must name at least one syscall" },
        { "'linux':{'seccomp':{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['kill'],"
          "'action':'SCMP_ACT_KILL','errnoRet':1}]}}",
          EINVAL,
          ORIGIN ": linux.seccomp.syscalls[0].errnoRet: only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, "
                 "not SCMP_ACT_KILL" },
        { "'linux':{'seccomp':{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['kill'],"
          "'action':'SCMP_ACT_ERRNO','args':[{'index':6,'value':1,'op':'SCMP_CMP_EQ'}]}]}}",
          ERANGE, ORIGIN ": linux.seccomp.syscalls[0].args[0].index: 6 is out of range (0..5)" },
        { "'linux':{'seccomp':{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['kill'],"
          "'action':'SCMP_ACT_ERRNO','args':[{'index':0,'value':1,'op':'SCMP_CMP_LIKE'}]}]}}",
          EINVAL,
          ORIGIN ": linux.seccomp.syscalls[0].args[0].op: unknown seccomp operator \"SCMP_CMP_LIKE\"" },
        /* resources, devices, sysctl, paths */
        { "'linux':{'resources':{'unified':{'../../etc/passwd':'x'}}}", EINVAL,
          ORIGIN ": linux.resources.unified[\"../../etc/passwd\"]: invalid key \"../../etc/passwd\"" },
        { "'linux':{'resources':{'unified':{'cgroup/procs':'1'}}}", EINVAL,
          ORIGIN ": linux.resources.unified[\"cgroup/procs\"]: expected a cgroup v2 file name like "
                 "\"memory.high\", got \"cgroup/procs\"" },
        { "'linux':{'sysctl':{'net/../../kernel.x':'1'}}", EINVAL,
          ORIGIN ": linux.sysctl[\"net/../../kernel.x\"]: invalid key \"net/../../kernel.x\"" },
        { "'linux':{'resources':{'memory':{'limit':-2}}}", ERANGE,
          ORIGIN ": linux.resources.memory.limit: -2 is out of range (-1..9223372036854775807)" },
        { "'linux':{'resources':{'pids':{}}}", EINVAL,
          ORIGIN ": linux.resources.pids.limit: required but missing" },
        { "'linux':{'resources':{'devices':[{'access':'rwm'}]}}", EINVAL,
          ORIGIN ": linux.resources.devices[0].allow: required but missing" },
        { "'linux':{'resources':{'devices':[{'allow':true,'access':'rwx'}]}}", EINVAL,
          ORIGIN ": linux.resources.devices[0].access: expected a combination of r, w and m, got \"rwx\"" },
        { "'linux':{'resources':{'blockIO':{'weight':5}}}", ERANGE,
          ORIGIN ": linux.resources.blockIO.weight: 5 is out of range (10..1000)" },
        { "'linux':{'resources':{'blockIO':{'throttleReadBpsDevice':[{'major':8,'minor':0}]}}}", EINVAL,
          ORIGIN ": linux.resources.blockIO.throttleReadBpsDevice[0].rate: required but missing" },
        { "'linux':{'devices':[{'path':'/dev/fuse','type':'x','major':10,'minor':229}]}", EINVAL,
          ORIGIN ": linux.devices[0].type: expected \"c\", \"b\", \"u\" or \"p\", got \"x\"" },
        { "'linux':{'devices':[{'path':'/dev/fuse','type':'c','minor':229}]}", EINVAL,
          ORIGIN ": linux.devices[0].major: required for device type 'c'" },
        { "'linux':{'cgroupsPath':'/a/../../b'}", EINVAL,
          ORIGIN ": linux.cgroupsPath: must not contain \"..\": \"/a/../../b\"" },
        { "'linux':{'maskedPaths':['proc/kcore']}", EINVAL,
          ORIGIN ": linux.maskedPaths[0]: expected an absolute path, got \"proc/kcore\"" },
        { "'linux':{'rootfsPropagation':'rsharedd'}", EINVAL,
          ORIGIN ": linux.rootfsPropagation: unknown propagation \"rsharedd\" (expected shared, slave, "
                 "private or unbindable)" },
        { "'linux':{'personality':{'domain':'LINUX64'}}", EINVAL,
          ORIGIN ": linux.personality.domain: expected \"LINUX\" or \"LINUX32\", got \"LINUX64\"" },
        /* hooks */
        { "'hooks':{'prestart':[{'path':'hook'}]}", EINVAL,
          ORIGIN ": hooks.prestart[0].path: expected an absolute path, got \"hook\"" },
        { "'hooks':{'poststart':[{'path':'/h','timeout':0}]}", ERANGE,
          ORIGIN ": hooks.poststart[0].timeout: 0 is out of range (1..2147483647)" },
};

static void test_bad_configs(void **state)
{
        size_t failures = 0;
        for (size_t i = 0; i < ELEMENTSOF(bad_configs); i++) {
                _cleanup_free_ char *json = config_with(bad_configs[i].fragment);
                struct oci_config *c = NULL;
                struct coi_error err = { 0 };
                int r = parse(json, &c, &err);
                if (r != -bad_configs[i].code || !streq(err.msg, bad_configs[i].msg) || c) {
                        print_message("case %zu: %s\n  want %d: %s\n  got  %d: %s\n", i, json,
                                      -bad_configs[i].code, bad_configs[i].msg, r, err.msg);
                        failures++;
                }
                oci_config_free(c);
        }
        assert_int_equal(failures, 0);
}

/* Whole documents that are wrong before any field is read. */
static void test_bad_documents(void **state)
{
        static const struct {
                const char *json;
                const char *msg;
        } docs[] = {
                { "{\"ociVersion\": \"1.1.0\",}", ORIGIN
                  ": invalid JSON at line 1, column 24: parse error: invalid object key (must be a string)" },
                { "{\n  \"ociVersion\": \"1.1.0\",\n  \"root\": {\"path\" \"rootfs\"}\n}",
                  ORIGIN ": invalid JSON at line 3, column 26: parse error: object key and value must be "
                         "separated by "
                         "a colon (':')" },
                { "{\"ociVersion\": \"1.1.0\"",
                  ORIGIN ": invalid JSON at line 1, column 23: parse error: premature EOF" },
                { "", ORIGIN ": invalid JSON at line 1, column 1: parse error: premature EOF" },
                { "{} {}", ORIGIN ": invalid JSON at line 1, column 4: parse error: trailing garbage" },
                { "[]", ORIGIN ": expected an object, got array" },
                { "{\"root\": {\"path\": \"rootfs\"}}", ORIGIN ": ociVersion: required but missing" },
                { "{\"ociVersion\": \"1.1.0\"}", ORIGIN ": root: required but missing" },
                { "{\"ociVersion\": \"1.1.0\", \"root\": {}}", ORIGIN ": root.path: required but missing" },
                { "{\"ociVersion\": \"1.1.0\", \"root\": {\"path\": \"\"}}",
                  ORIGIN ": root.path: must not be empty" },
                { "{\"ociVersion\": \"2.0.0\", \"root\": {\"path\": \"r\"}}",
                  ORIGIN ": ociVersion: unsupported version \"2.0.0\" (coi-runtime reads 1.x)" },
                { "{\"ociVersion\": 1.1, \"root\": {\"path\": \"r\"}}",
                  ORIGIN ": ociVersion: expected a string, got number" },
                { "{\"ociVersion\": \"1.1.0\", \"ociVersion\": \"1.0.0\", \"root\": {\"path\": \"r\"}}",
                  ORIGIN ": ociVersion: given twice" },
        };
        size_t failures = 0;
        for (size_t i = 0; i < ELEMENTSOF(docs); i++) {
                struct oci_config *c = NULL;
                struct coi_error err = { 0 };
                int r = parse(docs[i].json, &c, &err);
                if (r != -EINVAL && r != -ENOTSUP)
                        failures++;
                if (!streq(err.msg, docs[i].msg) || c) {
                        print_message("doc %zu: want: %s\n        got:  %s\n", i, docs[i].msg, err.msg);
                        failures++;
                }
                oci_config_free(c);
        }
        assert_int_equal(failures, 0);

        /* a NUL byte inside the given length */
        struct oci_config *c = NULL;
        struct coi_error err = { 0 };
        assert_int_equal(oci_config_parse("{}\0{}", 5, ORIGIN, &c, &err), -EINVAL);
        assert_string_equal(err.msg, ORIGIN ": invalid JSON: NUL byte at offset 2");
        /* the length is honoured: no NUL terminator needed */
        const char *twice = "{\"ociVersion\":\"1.1.0\",\"root\":{\"path\":\"r\"}}XXXX";
        assert_int_equal(oci_config_parse(twice, strlen(twice) - 4, ORIGIN, &c, &err), 0);
        oci_config_free(c);
}

/* What the spec lets a runtime ignore, vendor extensions, properties it doesn't define (at any depth),
 * and nulls Go encoders write. */
static void test_tolerated_fields(void **state)
{
        _cleanup_free_ char *json = config_with(
                "'org.example.vendor':{'anything':1},'unknown':'unknown','foo':1,"
                "'process':{'args':['sh'],'cwd':'/"
                "','apparmorProfile':'','selinuxLabel':'','user':{'username':''},"
                "'capabilities':{'all':[]},'env':null},"
                "'mounts':[{'destination':'relative/dir','type':'tmpfs','options':null}],"
                "'linux':{'mountLabel':'','seccomp':{'defaultAction':'SCMP_ACT_ALLOW','listenerPath':''},"
                "'resources':{'memory':{'kernel':-1,'useHierarchy':true,'checkBeforeUpdate':true,'limt':1},"
                "'cpu':{'burst':1000,'idle':1},'hugepageLimits':[{'pageSize':'2MB','limit':1048576}],"
                "'unified':{'memory.high':'1G'},'devices':[{'allow':true,'access':'rwm'}]},"
                "'personality':{'domain':'LINUX32','flags':[]},"
                "'namespaces':[{'type':'time'}],'timeOffsets':{'monotonic':{'secs':-5,'nanosecs':7}}}");
        _cleanup_(oci_config_freep) struct oci_config *c = NULL;
        struct coi_error err = { 0 };
        int r = parse(json, &c, &err);
        if (r < 0)
                print_message("%s\n", err.msg);
        assert_int_equal(r, 0);
        assert_null(c->process.env);
        assert_string_equal(c->mounts[0].destination, "/relative/dir");
        assert_null(c->mounts[0].options);
        assert_null(c->linux_.seccomp->listener_path);
        const struct oci_resources *res = &c->linux_.resources;
        assert_true(res->has_memory_kernel);
        assert_true(res->has_memory_check_before_update && res->memory_check_before_update);
        assert_true(res->has_cpu_burst);
        assert_int_equal(res->cpu_burst, 1000);
        assert_int_equal(res->cpu_idle, 1);
        assert_string_equal(res->unified[0], "hugetlb.2MB.max");
        assert_string_equal(res->unified[1], "1048576");
        assert_string_equal(res->unified[2], "memory.high");
        assert_true(res->devices_allow_all);
        assert_false(res->devices_standard);
        assert_true(c->linux_.has_personality);
        assert_int_equal(c->linux_.personality, PER_LINUX32);
        assert_true(c->linux_.has_time_offsets);
        assert_int_equal(c->linux_.monotonic_secs, -5);
        assert_int_equal(c->linux_.monotonic_nsecs, 7);
}

static void test_process_document(void **state)
{
        _cleanup_free_ char *json = dq("{'terminal':true,'user':{'uid':5,'gid':6},'args':['ls','-l'],"
                                       "'env':['HOME=/root'],'cwd':'/tmp','noNewPrivileges':true,"
                                       "'capabilities':{'bounding':['CAP_SYS_ADMIN']}}");
        struct oci_process p = { 0 };
        struct coi_error err = { 0 };
        assert_int_equal(oci_process_parse(json, strlen(json), "process.json", &p, &err), 0);
        assert_true(p.terminal);
        assert_int_equal(p.user.uid, 5);
        assert_string_equal(p.args[1], "-l");
        assert_true(p.caps.present);
        assert_int_equal(p.caps.bounding, cap_bit(21));
        oci_process_done(&p);
        oci_process_done(&p); /* done twice is harmless */

        _cleanup_free_ char *bad = dq("{'args':['ls'],'cwd':'/','capabilities':{'ambient':['CAP_NOPE']}}");
        assert_int_equal(oci_process_parse(bad, strlen(bad), "process.json", &p, &err), -EINVAL);
        assert_string_equal(err.msg,
                            "process.json: capabilities.ambient[0]: unknown capability \"CAP_NOPE\"");
        assert_null(p.args);
        _cleanup_free_ char *no_cwd = dq("{'args':['ls']}");
        assert_int_equal(oci_process_parse(no_cwd, strlen(no_cwd), "process.json", &p, &err), -EINVAL);
        assert_string_equal(err.msg, "process.json: cwd: required but missing");
}

static void test_resources_document(void **state)
{
        _cleanup_free_ char *json = dq("{'memory':{'limit':1073741824,'reservation':536870912},"
                                       "'cpu':{'quota':-1,'period':100000},'pids':{'limit':-1},"
                                       "'blockIO':{'weightDevice':[{'major':8,'minor':16,'weight':200}],"
                                       "'throttleWriteIOPSDevice':[{'major':8,'minor':16,'rate':500}]},"
                                       "'devices':[{'allow':false,'access':'rwm'},{'allow':true,'type':'c',"
                                       "'major':10,'minor':229,'access':'rwm'}]}");
        struct oci_resources res = { 0 };
        struct coi_error err = { 0 };
        assert_int_equal(oci_resources_parse(json, strlen(json), "update", &res, &err), 0);
        assert_int_equal(res.memory_limit, 1073741824);
        assert_true(res.has_memory_reservation);
        assert_int_equal(res.cpu_quota, -1);
        assert_int_equal(res.pids_limit, -1);
        assert_int_equal(res.n_io_devices, 2);
        assert_int_equal(res.io_devices[0].kind, 'w');
        assert_int_equal(res.io_devices[0].weight, 200);
        assert_int_equal(res.io_devices[1].kind, 'o');
        assert_int_equal(res.io_devices[1].rate, 500);
        /* /dev/fuse is not among the devices every container gets */
        assert_true(res.has_devices);
        assert_false(res.devices_standard);
        assert_false(res.devices_allow_all);
        oci_resources_done(&res);

        _cleanup_free_ char *bad = dq("{'memory':{'swappiness':101}}");
        assert_int_equal(oci_resources_parse(bad, strlen(bad), "update", &res, &err), -ERANGE);
        assert_string_equal(err.msg, "update: memory.swappiness: 101 is out of range (0..100)");
}

static void test_mount_options(void **state)
{
        _cleanup_free_ char *json = config_with(
                "'mounts':[{'destination':'/a','type':'tmpfs','options':['rw','nosuid','noexec','nodev',"
                "'noatime','nodiratime','sync','dirsync','mand','nomand','iversion','silent','size=1m',"
                "'x-custom=1','unbindable','shared']},"
                "{'destination':'/b','source':'/x','options':['rbind','ridmap','rrw','rnosuid','rnodev',"
                "'rnoexec','rstrictatime','ratime','rnosymfollow','private','async','loud','noiversion',"
                "'atime','diratime','norelatime','nostrictatime','suid','dev','exec','symfollow','nolazytime'"
                ","
                "'defaults','notmpcopyup']}]");
        _cleanup_(oci_config_freep) struct oci_config *c = NULL;
        struct coi_error err = { 0 };
        int r = parse(json, &c, &err);
        if (r < 0)
                print_message("%s\n", err.msg);
        assert_int_equal(r, 0);
        const struct oci_mount *a = &c->mounts[0], *b = &c->mounts[1];
        assert_int_equal(a->flags, MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_NOATIME | MS_NODIRATIME |
                                           MS_SYNCHRONOUS | MS_DIRSYNC | MS_I_VERSION | MS_SILENT);
        assert_int_equal(a->clear_flags, MS_RDONLY | MS_MANDLOCK);
        assert_int_equal(a->propagation, MS_SHARED);
        assert_string_equal(a->data, "size=1m,x-custom=1");
        assert_false(a->bind);
        assert_string_equal(a->type, "tmpfs");

        assert_true(b->bind && b->recursive && b->ridmap);
        assert_false(b->idmap);
        assert_false(b->tmpcopyup);
        assert_null(b->type);
        assert_int_equal(b->flags, MS_BIND | MS_REC);
        assert_int_equal(b->clear_flags, MS_SYNCHRONOUS | MS_SILENT | MS_I_VERSION | MS_NOATIME |
                                                 MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME | MS_NOSUID |
                                                 MS_NODEV | MS_NOEXEC | MS_NOSYMFOLLOW | MS_LAZYTIME);
        assert_int_equal(b->propagation, MS_PRIVATE);
        assert_int_equal(b->rec_attr_set, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC |
                                                  MOUNT_ATTR_NOSYMFOLLOW | MOUNT_ATTR_RELATIME);
        assert_int_equal(b->rec_attr_clr, MOUNT_ATTR_RDONLY | MOUNT_ATTR__ATIME);
        assert_null(b->data);

        /* the features list names what the parser turns into flags, not what it only records */
        bool saw_rro = false;
        for (size_t i = 0; oci_mount_option_name(i); i++) {
                assert_false(streq(oci_mount_option_name(i), "tmpcopyup"));
                saw_rro |= streq(oci_mount_option_name(i), "rro");
        }
        assert_true(saw_rro);
}

static void test_names(void **state)
{
        assert_string_equal(oci_namespace_name(OCI_NS_NETWORK), "network");
        assert_string_equal(oci_namespace_name(OCI_NS_TIME), "time");
        assert_null(oci_namespace_name(_OCI_NS_MAX));
        assert_string_equal(oci_hook_name(OCI_HOOK_CREATE_RUNTIME), "createRuntime");
        assert_string_equal(oci_hook_name(OCI_HOOK_POSTSTOP), "poststop");
        assert_null(oci_hook_name(_OCI_HOOK_MAX));
        assert_null(oci_config_annotation(NULL, "x"));
        oci_config_free(NULL);
        oci_process_done(NULL);
        oci_resources_done(NULL);
}

static void test_load(void **state)
{
        char path[] = "/tmp/coi-test-oci-XXXXXX";
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        const char *doc =
                "{\"ociVersion\":\"1.1.0\",\"root\":{\"path\":\"rootfs\"},\"process\":{\"args\":[7]}}";
        assert_int_equal(write_all(fd, doc, strlen(doc)), 0);
        close(fd);
        struct oci_config *c = NULL;
        struct coi_error err = { 0 };
        assert_int_equal(oci_config_load(path, &c, &err), -EINVAL);
        _cleanup_free_ char *want = xasprintf("%s: process.args[0]: expected a string, got number", path);
        assert_string_equal(err.msg, want);
        unlink(path);
        assert_true(oci_config_load(path, &c, &err) == -ENOENT);
        assert_null(c);
}

static yajl_val get(yajl_val root, const char *a, const char *b, const char *c)
{
        const char *path[] = { a, b, c, NULL };
        return yajl_tree_get(root, path, yajl_t_any);
}

static bool array_has(yajl_val array, const char *s)
{
        for (size_t i = 0; YAJL_IS_ARRAY(array) && i < array->u.array.len; i++)
                if (YAJL_IS_STRING(array->u.array.values[i]) && streq(array->u.array.values[i]->u.string, s))
                        return true;
        return false;
}

static void test_features(void **state)
{
        _cleanup_free_ char *json = NULL;
        struct coi_error err = { 0 };
        assert_int_equal(coi_features_json(&json, &err), 0);
        char errbuf[256];
        yajl_val root = yajl_tree_parse(json, errbuf, sizeof(errbuf));
        if (!root)
                print_message("%s\n%s\n", errbuf, json);
        assert_non_null(root);
        assert_string_equal(YAJL_GET_STRING(get(root, "ociVersionMin", NULL, NULL)), "1.0.0");
        assert_string_equal(YAJL_GET_STRING(get(root, "ociVersionMax", NULL, NULL)), "1.1.0");
        assert_int_equal(get(root, "hooks", NULL, NULL)->u.array.len, 6);
        assert_true(array_has(get(root, "hooks", NULL, NULL), "createRuntime"));
        yajl_val opts = get(root, "mountOptions", NULL, NULL);
        assert_true(array_has(opts, "rbind") && array_has(opts, "idmap") && array_has(opts, "nosymfollow"));
        assert_false(array_has(opts, "tmpcopyup"));
        assert_int_equal(get(root, "linux", "namespaces", NULL)->u.array.len, 8);
        yajl_val caps = get(root, "linux", "capabilities", NULL);
        assert_true(array_has(caps, "CAP_SYS_ADMIN") && array_has(caps, "CAP_CHECKPOINT_RESTORE"));
        assert_true(YAJL_IS_TRUE(get(root, "linux", "cgroup", "v2")));
        assert_true(YAJL_IS_FALSE(get(root, "linux", "cgroup", "v1")));
        assert_true(YAJL_IS_FALSE(get(root, "linux", "cgroup", "systemd")));
        assert_true(YAJL_IS_TRUE(get(root, "linux", "seccomp", "enabled")));
        assert_true(array_has(get(root, "linux", "seccomp", "actions"), "SCMP_ACT_ERRNO"));
        assert_false(array_has(get(root, "linux", "seccomp", "actions"), "SCMP_ACT_NOTIFY"));
        assert_true(array_has(get(root, "linux", "seccomp", "operators"), "SCMP_CMP_MASKED_EQ"));
        assert_true(array_has(get(root, "linux", "seccomp", "archs"), "SCMP_ARCH_X86_64"));
        assert_true(array_has(get(root, "linux", "seccomp", "knownFlags"), "SECCOMP_FILTER_FLAG_LOG"));
        assert_true(array_has(get(root, "linux", "seccomp", "supportedFlags"), "SECCOMP_FILTER_FLAG_TSYNC"));
        assert_true(YAJL_IS_FALSE(get(root, "linux", "apparmor", "enabled")));
        assert_true(YAJL_IS_FALSE(get(root, "linux", "selinux", "enabled")));
        assert_true(YAJL_IS_FALSE(get(root, "linux", "intelRdt", "enabled")));
        const char *idmap[] = { "linux", "mountExtensions", "idmap", "enabled", NULL };
        assert_true(YAJL_IS_TRUE(yajl_tree_get(root, idmap, yajl_t_any)));
        assert_string_equal(YAJL_GET_STRING(get(root, "annotations", "run.coi.version", NULL)), COI_VERSION);
        yajl_tree_free(root);
}

static void test_spec_round_trip(void **state)
{
        struct coi_error err = { 0 };
        for (int rootless = 0; rootless <= 1; rootless++) {
                _cleanup_free_ char *json = NULL;
                assert_int_equal(coi_spec_json(rootless, &json, &err), 0);
                _cleanup_(oci_config_freep) struct oci_config *c = NULL;
                int r = oci_config_parse(json, strlen(json), "spec", &c, &err);
                if (r < 0)
                        print_message("%s\n%s\n", err.msg, json);
                assert_int_equal(r, 0);
                assert_string_equal(c->process.args[0], "sh");
                assert_true(c->process.terminal);
                assert_string_equal(c->process.cwd, "/");
                assert_string_equal(c->root_path, "rootfs");
                assert_true(c->root_readonly);
                assert_int_equal(c->process.caps.bounding, cap_bit(5) | cap_bit(10) | cap_bit(29));
                assert_int_equal(c->process.rlimits[0].resource, RLIMIT_NOFILE);
                assert_true(c->linux_.namespaces[OCI_NS_PID].present);
                assert_true(c->linux_.namespaces[OCI_NS_MOUNT].present);
                assert_int_equal(c->linux_.namespaces[OCI_NS_NETWORK].present, !rootless);
                assert_int_equal(c->linux_.namespaces[OCI_NS_USER].present, rootless);
                assert_non_null(c->linux_.masked_paths);
                assert_non_null(c->linux_.readonly_paths);
                assert_string_equal(c->mounts[0].destination, "/proc");
                if (rootless) {
                        assert_int_equal(c->linux_.n_uid_mappings, 1);
                        assert_int_equal(c->linux_.uid_mappings[0].host_id, getuid());
                        assert_int_equal(c->linux_.gid_mappings[0].host_id, getgid());
                        assert_false(c->linux_.has_resources);
                } else {
                        assert_true(c->linux_.resources.has_devices);
                        assert_false(c->linux_.resources.devices_allow_all);
                        assert_true(c->linux_.resources.devices_standard);
                }
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_podman_config),
                cmocka_unit_test(test_bad_configs),
                cmocka_unit_test(test_bad_documents),
                cmocka_unit_test(test_tolerated_fields),
                cmocka_unit_test(test_process_document),
                cmocka_unit_test(test_resources_document),
                cmocka_unit_test(test_mount_options),
                cmocka_unit_test(test_names),
                cmocka_unit_test(test_load),
                cmocka_unit_test(test_features),
                cmocka_unit_test(test_spec_round_trip),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
