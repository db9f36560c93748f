/* main.c — coi: global flags and dispatch to one file per command. */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
        if (argc > 1 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0)) {
                printf("coi version %s\n", COI_VERSION);
                return 0;
        }
        fprintf(stderr, "coi: unknown command\n");
        return 2;
}
