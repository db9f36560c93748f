/* commands.h — the table of coi's commands: each lives in its own cmd-*.c and takes argv from its
 * own name on (argv[0] = "image"), returning the process exit code. */
#pragma once

struct coi_command {
        const char *name;
        int (*run)(int argc, char **argv);
        const char *summary;
};

int cmd_version(int argc, char **argv);
int cmd_help(int argc, char **argv);
int cmd_build(int argc, char **argv);      /* cmd-build.c */
int cmd_completion(int argc, char **argv); /* cmd-completion.c */
int cmd_config(int argc, char **argv);     /* cmd-config.c */
int cmd_container(int argc, char **argv);  /* cmd-container.c */
int cmd_file(int argc, char **argv);       /* cmd-file.c */
int cmd_health(int argc, char **argv);     /* cmd-health.c */
int cmd_image(int argc, char **argv);      /* cmd-image.c */
/* allow, deny, show [--format json], log, and the plumbing verbs attach / detach / prune that `coi run`
 * performs itself (cmd-network.c). */
int cmd_network(int argc, char **argv);
int cmd_profile(int argc, char **argv); /* cmd-profile.c */
int cmd_run(int argc, char **argv);     /* cmd-run.c */
int cmd_shell(int argc, char **argv);   /* cmd-shell.c */
int cmd_attach(int argc, char **argv);
/* cmd-session.c */
int cmd_list(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_shutdown(int argc, char **argv);
int cmd_kill(int argc, char **argv);
int cmd_persist(int argc, char **argv);
int cmd_unfreeze(int argc, char **argv);
int cmd_clean(int argc, char **argv);
int cmd_snapshot(int argc, char **argv); /* cmd-snapshot.c */
int cmd_tmux(int argc, char **argv);     /* cmd-tmux.c */
