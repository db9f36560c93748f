/* cmd-container.c — `coi container launch|start|stop|delete|exec|list|info|mount`: parses flags, calls
 * container.c, prints. Errors: one line on stderr, exit 1; usage errors exit 2. */
#include <limits.h>

#include "json-util.h"
#include "commands.h"
#include "cmd-util.h"
#include "container/container.h"
#include "util.h"

static const char usage_text[] =
        "Usage: coi container COMMAND …\n"
        "  launch IMAGE NAME [--persistent|--ephemeral] [--no-wait]\n"
        "         [--network restricted|allowlist|open [--allow NAME|CIDR]...]   (default: no network)\n"
        "                                                 create and start a system container (--no-wait:\n"
        "                                                 return once init runs, not once systemd listens)\n"
        "  start NAME                                     start a stopped (persistent) container\n"
        "  stop NAME [--timeout N] [--force]              shut systemd down cleanly (then kill after N s)\n"
        "  delete NAME [--force]                          remove a stopped container (--force: running too)\n"
        "  exec NAME [--user UID[:GID]] [--group GID] [--cwd DIR] [--env K=V]…\n"
        "       [--capture [--format json|raw]] -- CMD…\n"
        "                                                 run CMD as root (or UID, GID: default UID) in\n"
        "                                                 DIR (default /workspace if it exists, else /);\n"
        "                                                 --capture: print {stdout, stderr, exit_code} as\n"
        "                                                 JSON, or with raw the output as it came, and\n"
        "                                                 exit with the command's code\n"
        "  list [--format text|json]\n"
        "  info NAME [--format text|json]\n"
        "  mount NAME DEVICE SOURCE PATH [--shift[=true|false]]\n"
        "                                                 add host directory SOURCE at PATH as disk device\n"
        "                                                 DEVICE (now if running, and at every start);\n"
        "                                                 --shift (default): host ids appear as themselves\n";

#define usage(...) cmd_usage("container", usage_text, __VA_ARGS__)

static int fail(const struct coi_error *err)
{
        fprintf(stderr, "coi: %s\n", err->msg);
        return 1;
}

/* "--flag value" or "--flag=value"; advances *i over a separate value. NULL if argv[*i] is not flag. */
static const char *flag_value(int argc, char **argv, int *i, const char *flag, bool *missing)
{
        size_t n = strlen(flag);
        if (strncmp(argv[*i], flag, n) != 0)
                return NULL;
        if (argv[*i][n] == '=')
                return argv[*i] + n + 1;
        if (argv[*i][n] != '\0')
                return NULL;
        if (*i + 1 >= argc) {
                *missing = true;
                return NULL;
        }
        return argv[++*i];
}

static int parse_uint(const char *s, unsigned long max, unsigned long *ret)
{
        char *end;
        errno = 0;
        unsigned long v = strtoul(s, &end, 10);
        if (errno || end == s || *end || v > max || s[0] == '-')
                return -EINVAL;
        *ret = v;
        return 0;
}

static int open_store(struct container_store **s)
{
        struct coi_error err = { 0 };
        if (container_store_open(s, &err) < 0)
                return fail(&err);
        return 0;
}

static int do_launch(int argc, char **argv)
{
        const char *pos[2] = { NULL, NULL };
        int npos = 0;
        bool ephemeral = false, persistent = false, no_wait = false, has_net = false;
        struct container_network net = { 0 };
        _cleanup_strv_ char **allowed = NULL;
        for (int i = 1; i < argc; i++) {
                if ((streq(argv[i], "--network") || streq(argv[i], "--allow")) && i + 1 >= argc)
                        return usage("launch: %s needs a value", argv[i]);
                if (streq(argv[i], "--network")) {
                        if (net_mode_from_string(argv[++i], &net.policy.mode) < 0)
                                return usage(
                                        "launch: invalid --network \"%s\": restricted, allowlist or open",
                                        argv[i]);
                        has_net = true;
                } else if (streq(argv[i], "--allow")) {
                        if (strv_push(&allowed, argv[++i]) < 0)
                                return usage("launch: out of memory");
                } else if (streq(argv[i], "--ephemeral"))
                        ephemeral = true;
                else if (streq(argv[i], "--persistent"))
                        persistent = true;
                else if (streq(argv[i], "--no-wait"))
                        no_wait = true;
                else if (argv[i][0] == '-')
                        return usage("launch: unknown flag %s", argv[i]);
                else if (npos < 2)
                        pos[npos++] = argv[i];
                else
                        return usage("launch: unexpected argument %s", argv[i]);
        }
        if (npos != 2)
                return usage("launch: needs IMAGE and NAME");
        if (ephemeral && persistent)
                return usage("launch: --ephemeral and --persistent exclude each other");
        if (allowed && !has_net)
                return usage("launch: --allow needs --network");
        net.allowed = allowed;
        _cleanup_(container_store_freep) struct container_store *s = NULL;
        int r = open_store(&s);
        if (r)
                return r;
        struct coi_error err = { 0 };
        struct container_launch_options o = { .image = pos[0],
                                              .name = pos[1],
                                              .ephemeral = ephemeral,
                                              .no_wait = no_wait,
                                              .network = has_net ? &net : NULL };
        if (container_launch(s, &o, &err) < 0)
                return fail(&err);
        return 0;
}

/* Verbs of the shape VERB NAME [flags]. */
struct name_flags {
        const char *name;
        bool force;
        bool has_timeout;
        unsigned long timeout;
        const char *format;
};

static int parse_name_flags(int argc, char **argv, bool allow_force, bool allow_timeout, bool allow_format,
                            struct name_flags *f)
{
        for (int i = 1; i < argc; i++) {
                bool missing = false;
                const char *v;
                if (allow_force && (streq(argv[i], "--force") || streq(argv[i], "-f"))) {
                        f->force = true;
                } else if (allow_timeout && (v = flag_value(argc, argv, &i, "--timeout", &missing))) {
                        if (parse_uint(v, 86400, &f->timeout) < 0)
                                return usage("--timeout %s: expected seconds (0 … 86400)", v);
                        f->has_timeout = true;
                } else if (allow_format && (v = flag_value(argc, argv, &i, "--format", &missing))) {
                        if (!streq(v, "text") && !streq(v, "json"))
                                return usage("--format %s: expected text or json", v);
                        f->format = v;
                } else if (missing) {
                        return usage("%s needs a value", argv[i]);
                } else if (argv[i][0] == '-') {
                        return usage("unknown flag %s", argv[i]);
                } else if (!f->name) {
                        f->name = argv[i];
                } else {
                        return usage("unexpected argument %s", argv[i]);
                }
        }
        if (!f->name)
                return usage("%s needs a container NAME", argv[0]);
        return 0;
}

/* The opening of every verb on one container: its flags and NAME, then the store. */
static int parse_name_and_open(int argc, char **argv, bool allow_force, bool allow_timeout, bool allow_format,
                               struct name_flags *f, struct container_store **ret_store)
{
        int r = parse_name_flags(argc, argv, allow_force, allow_timeout, allow_format, f);
        return r ? r : open_store(ret_store);
}

static int do_start(int argc, char **argv)
{
        struct name_flags f = { 0 };
        _cleanup_(container_store_freep) struct container_store *s = NULL;
        int r = parse_name_and_open(argc, argv, false, false, false, &f, &s);
        if (r)
                return r;
        struct coi_error err = { 0 };
        /* With the workspace and protected-path mounts its session launched it with, if recorded. */
        return container_start_recorded(s, f.name, &err) < 0 ? fail(&err) : 0;
}

static int do_stop(int argc, char **argv)
{
        struct name_flags f = { 0 };
        _cleanup_(container_store_freep) struct container_store *s = NULL;
        int r = parse_name_and_open(argc, argv, true, true, false, &f, &s);
        if (r)
                return r;
        struct coi_error err = { 0 };
        struct container_stop_result res = { 0 };
        int timeout = f.has_timeout ? (int)f.timeout : CONTAINER_STOP_TIMEOUT;
        if (container_stop(s, f.name, timeout, f.force, &res, &err) < 0)
                return fail(&err);
        if (res.killed && !f.force)
                fprintf(stderr, "coi: container %s did not shut down within %d s: killed\n", f.name, timeout);
        return 0;
}

static int do_delete(int argc, char **argv)
{
        struct name_flags f = { 0 };
        _cleanup_(container_store_freep) struct container_store *s = NULL;
        int r = parse_name_and_open(argc, argv, true, false, false, &f, &s);
        if (r)
                return r;
        struct coi_error err = { 0 };
        return container_delete(s, f.name, f.force, &err) < 0 ? fail(&err) : 0;
}

static int do_exec(int argc, char **argv)
{
        struct container_exec_options o = { 0 };
        const char *name = NULL, *format = NULL;
        bool has_group = false;
        unsigned long group = 0;
        _cleanup_strv_ char **env = NULL;
        int i = 1;
        for (; i < argc; i++) {
                bool missing = false;
                const char *v;
                if (streq(argv[i], "--")) {
                        i++;
                        break;
                } else if (streq(argv[i], "--capture")) {
                        o.capture = true;
                } else if ((v = flag_value(argc, argv, &i, "--user", &missing))) {
                        unsigned long uid, gid;
                        char *colon = strchr(v, ':');
                        _cleanup_free_ char *u = colon ? strndup(v, (size_t)(colon - v)) : strdup(v);
                        if (!u || parse_uint(u, UINT32_MAX - 1, &uid) < 0 ||
                            (colon && parse_uint(colon + 1, UINT32_MAX - 1, &gid) < 0))
                                return usage("--user %s: expected UID[:GID] (numbers)", v);
                        o.uid = (uid_t)uid;
                        o.gid = colon ? (gid_t)gid : (gid_t)uid;
                } else if ((v = flag_value(argc, argv, &i, "--group", &missing))) {
                        if (parse_uint(v, UINT32_MAX - 1, &group) < 0)
                                return usage("--group %s: expected a GID (number)", v);
                        has_group = true;
                } else if ((v = flag_value(argc, argv, &i, "--format", &missing))) {
                        if (!streq(v, "json") && !streq(v, "raw"))
                                return usage("invalid format '%s': must be 'json' or 'raw'", v);
                        format = v;
                } else if ((v = flag_value(argc, argv, &i, "--cwd", &missing))) {
                        if (v[0] != '/')
                                return usage("--cwd %s: must be an absolute path", v);
                        o.cwd = v;
                } else if ((v = flag_value(argc, argv, &i, "--env", &missing))) {
                        if (!strchr(v, '=') || v[0] == '=')
                                return usage("--env %s: expected KEY=VALUE", v);
                        if (strv_push(&env, v) < 0)
                                return usage("--env: out of memory");
                } else if (missing) {
                        return usage("%s needs a value", argv[i]);
                } else if (argv[i][0] == '-') {
                        return usage("exec: unknown flag %s", argv[i]);
                } else if (!name) {
                        name = argv[i];
                } else {
                        break; /* the command starts here (no "--") */
                }
        }
        if (!name)
                return usage("exec needs a container NAME");
        if (i >= argc)
                return usage("exec needs a command after --");
        if (format && !o.capture)
                return usage("--format flag requires --capture flag");
        if (has_group)
                o.gid = (gid_t)group; /* over --user UID:GID */
        o.args = argv + i;
        o.env = env;
        _cleanup_(container_store_freep) struct container_store *s = NULL;
        int r = open_store(&s);
        if (r)
                return r;
        if (!o.cwd)
                o.cwd = container_default_cwd(s, name);
        struct coi_error err = { 0 };
        struct container_exec_result res = { 0 };
        if (container_exec(s, name, &o, &res, &err) < 0)
                return fail(&err);
        if (o.capture && format && streq(format, "raw")) {
                /* As code-on-incus: the output exactly as it came, and the command's exit code. */
                fwrite(res.out, 1, res.out_len, stdout);
                fwrite(res.err_out, 1, res.err_len, stderr);
                r = res.exit_code;
                container_exec_result_done(&res);
                return r;
        }
        if (o.capture) {
                r = container_exec_result_print_json(&res);
                container_exec_result_done(&res);
                return r;
        }
        return res.exit_code;
}

static void print_text(const struct container_info *m)
{
        printf("Name: %s\nStatus: %s\nImage: %s\nType: %s\nCreated: %s\n", m->name, m->status, m->image,
               m->ephemeral ? "ephemeral" : "persistent", m->created);
        if (m->pid)
                printf("PID: %d\n", (int)m->pid);
        printf("UIDs: %u-%u\nGIDs: %u-%u\nDirectory: %s\n", m->ids.uid, m->ids.uid + IDMAP_RANGE_SIZE - 1,
               m->ids.gid, m->ids.gid + IDMAP_RANGE_SIZE - 1, m->dir);
        if (m->cgroup)
                printf("Cgroup: %s\n", m->cgroup);
}

static int do_list(int argc, char **argv)
{
        const char *format = "text";
        for (int i = 1; i < argc; i++) {
                bool missing = false;
                const char *v = flag_value(argc, argv, &i, "--format", &missing);
                if (missing)
                        return usage("--format needs a value");
                if (!v)
                        return usage("list: unexpected argument %s", argv[i]);
                if (!streq(v, "text") && !streq(v, "json"))
                        return usage("--format %s: expected text or json", v);
                format = v;
        }
        _cleanup_(container_store_freep) struct container_store *s = NULL;
        int r = open_store(&s);
        if (r)
                return r;
        struct coi_error err = { 0 };
        struct container_info **list = NULL;
        if (container_list(s, &list, &err) < 0)
                return fail(&err);
        size_t n = 0;
        while (list[n])
                n++;
        if (streq(format, "json")) {
                _cleanup_free_ char *json = NULL;
                r = container_info_json(list, n, true, &json, &err);
                container_info_list_free(list);
                if (r < 0)
                        return fail(&err);
                printf("%s\n", json);
                return 0;
        }
        printf("%-24s %-9s %-24s %-10s %-8s %s\n", "NAME", "STATUS", "IMAGE", "TYPE", "PID", "UIDS");
        for (size_t i = 0; i < n; i++) {
                const struct container_info *m = list[i];
                char pid[16] = "-";
                if (m->pid)
                        snprintf(pid, sizeof(pid), "%d", (int)m->pid);
                printf("%-24s %-9s %-24s %-10s %-8s %u-%u\n", m->name, m->status, m->image,
                       m->ephemeral ? "ephemeral" : "persistent", pid, m->ids.uid,
                       m->ids.uid + IDMAP_RANGE_SIZE - 1);
        }
        container_info_list_free(list);
        return 0;
}

static int do_info(int argc, char **argv)
{
        struct name_flags f = { .format = "text" };
        _cleanup_(container_store_freep) struct container_store *s = NULL;
        int r = parse_name_and_open(argc, argv, false, false, true, &f, &s);
        if (r)
                return r;
        struct coi_error err = { 0 };
        _cleanup_(container_info_freep) struct container_info *m = NULL;
        if (container_info_get(s, f.name, &m, &err) < 0)
                return fail(&err);
        if (streq(f.format, "json")) {
                _cleanup_free_ char *json = NULL;
                if (container_info_json(&m, 1, false, &json, &err) < 0)
                        return fail(&err);
                printf("%s\n", json);
        } else {
                print_text(m);
        }
        return 0;
}

static int do_mount(int argc, char **argv)
{
        const char *pos[4] = { NULL, NULL, NULL, NULL };
        int npos = 0;
        bool shift = true;
        for (int i = 1; i < argc; i++) {
                if (streq(argv[i], "--shift") || streq(argv[i], "--shift=true"))
                        shift = true;
                else if (streq(argv[i], "--shift=false"))
                        shift = false;
                else if (argv[i][0] == '-')
                        return usage("mount: unknown flag %s", argv[i]);
                else if (npos < 4)
                        pos[npos++] = argv[i];
                else
                        return usage("mount: unexpected argument %s", argv[i]);
        }
        if (npos != 4)
                return usage("mount needs NAME DEVICE SOURCE PATH");
        _cleanup_(container_store_freep) struct container_store *s = NULL;
        int r = open_store(&s);
        if (r)
                return r;
        struct coi_error err = { 0 };
        if (container_mount_device(s, pos[0], pos[1], pos[2], pos[3], shift, &err) < 0)
                return fail(&err);
        fprintf(stderr, "Disk mounted: %s -> %s:%s\n", pos[2], pos[0], pos[3]);
        return 0;
}

static const struct {
        const char *name;
        int (*run)(int argc, char **argv);
} verbs[] = {
        { "launch", do_launch }, { "start", do_start }, { "stop", do_stop }, { "delete", do_delete },
        { "exec", do_exec },     { "list", do_list },   { "info", do_info }, { "mount", do_mount },
};

static int cmd_container(int argc, char **argv)
{
        if (argc < 2)
                return usage(NULL);
        if (streq(argv[1], "--help") || streq(argv[1], "-h") || streq(argv[1], "help")) {
                fputs(usage_text, stdout);
                return 0;
        }
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(argv[1], verbs[i].name))
                        return verbs[i].run(argc - 1, argv + 1);
        return usage("unknown command \"%s\"", argv[1]);
}

/* TRANSITIONAL (issue 18): parses its own argv until it takes a cli_call. */
const struct cli_command cli_cmd_container = { .name = "container",
                                               .summary = "Low-level container operations",
                                               .raw = cmd_container };
