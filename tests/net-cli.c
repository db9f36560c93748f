/* net-cli.c — `coi network …` as a program of its own, so tests/integration/test_network.py runs the
 * network verb before (and independently of) its wiring into shim/cli/main.c. Test-only. */
#include "cli/commands.h"

int main(int argc, char **argv)
{
        return cmd_network(argc, argv);
}
