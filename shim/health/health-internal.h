/* health-internal.h — what health.c (the report) and health-checks.c (the probes) share and nobody else
 * uses: the list of checks health_run() runs, in report order. */
#pragma once

#include <stddef.h>

#include "health.h"

/* A check fills c: health_check_set() once, details as it likes; it never fails as a whole. */
typedef void (*health_check_fn)(struct health_check *c);

/* ---- health-checks.c ---- */
extern const health_check_fn health_checks[];
extern const size_t health_n_checks;
