/* main.c — coi-runtime: global flags, dispatch to one file per verb. Placeholder until the verbs land. */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
        if (argc > 1 && strcmp(argv[1], "--version") == 0) {
                printf("coi-runtime version %s\nspec: 1.1.0\n", COI_VERSION);
                return 0;
        }
        fprintf(stderr, "coi-runtime: no command given\n");
        return 1;
}
