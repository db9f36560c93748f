/* cmd-health.c — `coi health [--format text|json] [-v]`: runs health.c's checks and prints them the way
 * code-on-incus does; exit 0 healthy, 1 degraded (warnings), 2 unhealthy (failures) or a usage error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "health/health.h"
#include "util.h"

static const struct {
        const char *name, *display;
} display_names[] = {
        { "os", "Operating system" },
        { "kernel_version", "Kernel version" },
        { "namespaces", "Namespaces" },
        { "idmapped_mounts", "Idmapped mounts" },
        { "cgroup_availability", "cgroup v2" },
        { "seccomp", "seccomp" },
        { "subordinate_ids", "Subordinate ids" },
        { "image", "Default image" },
        { "lsm", "LSM" },
        { "nftables", "nftables" },
        { "disk_space", "Disk space" },
        { "orphaned_resources", "Orphaned resources" },
};

static const char *display_name(const char *name)
{
        for (size_t i = 0; i < ELEMENTSOF(display_names); i++)
                if (streq(display_names[i].name, name))
                        return display_names[i].display;
        return name;
}

static const char *icon(enum health_status s)
{
        return s == HEALTH_OK ? "[OK]" : s == HEALTH_WARNING ? "[WARN]" : "[FAIL]";
}

static void print_details(const struct health_check *c)
{
        for (size_t k = 0; k < c->n_details; k++) {
                const struct health_detail *d = &c->details[k];
                printf("  %-6s   %s: ", "", d->key);
                switch (d->kind) {
                case DETAIL_STRING:
                        printf("%s\n", d->str ? d->str : "");
                        break;
                case DETAIL_INT:
                        printf("%lld\n", d->i);
                        break;
                case DETAIL_BOOL:
                        printf("%s\n", d->b ? "true" : "false");
                        break;
                case DETAIL_NUMBER:
                        printf("%.2f\n", d->num);
                        break;
                }
        }
}

static void print_text(const struct health_report *r, bool verbose)
{
        static const char *categories[] = { "SYSTEM",     "CRITICAL", "SECURITY",
                                            "NETWORKING", "STORAGE",  "STATUS" };
        printf("coi Health Check\n================\n\n");
        for (size_t k = 0; k < ELEMENTSOF(categories); k++) {
                bool header = false;
                for (size_t i = 0; i < r->n_checks; i++) {
                        const struct health_check *c = &r->checks[i];
                        if (!streq(c->category, categories[k]))
                                continue;
                        if (!header)
                                printf("%s:\n", categories[k]);
                        header = true;
                        printf("  %-6s %-18s: %s\n", icon(c->status), display_name(c->name),
                               c->message ? c->message : "");
                        if (verbose)
                                print_details(c);
                }
                if (header)
                        printf("\n");
        }
        char status[16];
        snprintf(status, sizeof(status), "%s", health_overall_to_string(r->overall));
        for (char *p = status; *p; p++)
                *p = (char)(*p - 'a' + 'A');
        printf("STATUS: %s\n", status);
        const struct health_summary *s = &r->summary;
        if (s->failed > 0) {
                printf("%d of %d checks failed", s->failed, s->total);
                if (s->warnings > 0)
                        printf(", %d warnings", s->warnings);
                printf("\n");
        } else if (s->warnings > 0) {
                printf("%d checks passed with %d warnings\n", s->passed, s->warnings);
        } else {
                printf("All %d checks passed\n", s->total);
        }
}

static int health_command(const struct cli_call *call)
{
        struct health_report r;
        health_run(&r);
        int code = health_exit_code(r.overall);
        if (streq(cli_str(call, "format"), "json")) {
                _cleanup_free_ char *json = NULL;
                struct coi_error err = { 0 };
                if (health_report_json(&r, &json, &err) < 0) {
                        code = cli_error(2, "health: %s", err.msg);
                } else {
                        fputs(json, stdout);
                        if (!json[0] || json[strlen(json) - 1] != '\n')
                                fputc('\n', stdout);
                }
        } else {
                print_text(&r, cli_bool(call, "verbose"));
        }
        health_report_done(&r);
        return code;
}

static const struct cli_flag health_flags[] = {
        CLI_FLAG_FORMAT_TEXT_JSON,
        { .name = "verbose", .shorthand = 'v', .type = CLI_BOOL, .help = "show each check's details" },
        { 0 },
};

const struct cli_command cli_cmd_health = {
        .name = "health",
        .summary = "Check system health and dependencies",
        .description =
                "Check what coi needs from this host: kernel, namespaces, idmapped mounts, cgroup v2 and\n"
                "its controllers, seccomp, LSMs, nftables, subordinate ids, the default image, disk space\n"
                "and leftovers of earlier containers. Changes nothing.\n"
                "\n"
                "Exit codes:\n"
                "  0 = healthy (all checks pass)\n"
                "  1 = degraded (warnings but functional)\n"
                "  2 = unhealthy (critical failures)",
        .flags = health_flags,
        .args = CLI_ARGS_ANY,
        .run = health_command,
        /* code-on-incus runs health on the built-in defaults when the configuration is broken */
        .no_config = true,
};
