/* cmd-util.h — what the files of `coi` commands share beyond the table (cli.h): a JSON string for
 * output laid out by hand as code-on-incus lays it out. Header-only. */
#pragma once

#include <stdio.h>

/* s as a JSON string ("" for NULL). */
static inline void cmd_json_string(FILE *f, const char *s)
{
        fputc('"', f);
        for (; s && *s; s++) {
                unsigned char c = (unsigned char)*s;
                if (c == '"' || c == '\\')
                        fprintf(f, "\\%c", c);
                else if (c < 0x20)
                        fprintf(f, "\\u%04x", c);
                else
                        fputc(c, f);
        }
        fputc('"', f);
}
