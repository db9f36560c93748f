/* fuzz-oci-config.c — libFuzzer harness for the runtime's config.json parser: the input is parsed as a
 * whole config (its seccomp section compiled to BPF, not installed), as an exec --process object and
 * as an update --resources object. */
#include <stdint.h>
#include <stdlib.h>

#include "oci-config.h"
#include "seccomp-bpf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_refusal(int r, const struct coi_error *err)
{
        if (r < 0 && !err->msg[0])
                abort(); /* every refusal says why */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *json = (const char *)data;
        struct coi_error err = { 0 };
        struct oci_config *config = NULL;
        int r = oci_config_parse(json, size, "config.json", &config, &err);
        check_refusal(r, &err);
        if (r == 0 && config->linux_.seccomp) {
                struct seccomp_program prog = { 0 };
                struct coi_error serr = { 0 };
                r = seccomp_program_build(NULL, config->linux_.seccomp, &prog, &serr);
                check_refusal(r, &serr);
                seccomp_program_done(&prog);
        }
        if (config) {
                for (size_t i = 0; i < config->n_mounts; i++)
                        if (!config->mounts[i].destination)
                                abort(); /* a mount without destination must have been refused */
                (void)oci_config_annotation(config, "org.opencontainers.image.os");
        }
        oci_config_free(config);

        struct oci_process process = { 0 };
        err = (struct coi_error){ 0 };
        r = oci_process_parse(json, size, "process.json", &process, &err);
        check_refusal(r, &err);
        if (r == 0)
                oci_process_done(&process);

        struct oci_resources resources = { 0 };
        err = (struct coi_error){ 0 };
        r = oci_resources_parse(json, size, "resources.json", &resources, &err);
        check_refusal(r, &err);
        if (r == 0)
                oci_resources_done(&resources);
        return 0;
}
