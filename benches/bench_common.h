/* bench_common.h - what rgcd's benchmark programs share: row selection and iteration counts,
 * the monotonic clock, figures (recorded, printed as `name value unit`, looked up again for
 * ratios), error exits and the command line.
 *
 * Header-only (`static` functions) so that each benchmark stays one translation unit.
 * Before including it, a program defines:
 *   BENCH_NAME             its name, for messages ("rgcd_bench")
 *   BENCH_BASELINE_PREFIX  the prefix of its baseline's figure names ("pthreads.")
 *   enum impl              { RGCD = 0, <its baseline> = 1 }: whose figure a figure is */
#ifndef RGCD_BENCH_COMMON_H
#define RGCD_BENCH_COMMON_H

#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rgcd.h"

/* ---- configuration ---- */

static const char *g_only; /* run only this row; NULL: all */
static size_t g_div = 1;   /* 10 with --quick */

static bool selected(const char *row) { return g_only == NULL || strcmp(g_only, row) == 0; }

/* The iteration count for a row: full, or a tenth of it with --quick. */
static size_t count(size_t full) {
    size_t n = full / g_div;
    return n > 0 ? n : 1;
}

static size_t warmup_count(size_t n) { return n / 10 > 0 ? n / 10 : 1; }

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- figures ---- */

typedef struct figure {
    char name[48];
    double value;
    char unit[16];
} figure;

#define MAX_FIGURES 32
static figure g_figures[2][MAX_FIGURES];
static int g_nfigures[2];

static void print_line(const char *prefix, const char *name, double value, const char *unit) {
    double mag = value < 0 ? -value : value;
    if (mag != 0 && mag < 0.1)
        printf("%s%s %.2g %s\n", prefix, name, value, unit); /* e.g. 0.00067 */
    else
        printf("%s%s %.*f %s\n", prefix, name, mag < 10 ? 2 : 1, value, unit);
    fflush(stdout);
}

/* Prints a figure and keeps it for the ratios (the baseline's names get its prefix). */
static void record(enum impl impl, const char *name, double value, const char *unit) {
    if (g_nfigures[impl] < MAX_FIGURES) {
        figure *f = &g_figures[impl][g_nfigures[impl]++];
        snprintf(f->name, sizeof f->name, "%s", name);
        f->value = value;
        snprintf(f->unit, sizeof f->unit, "%s", unit);
    }
    print_line(impl == RGCD ? "" : BENCH_BASELINE_PREFIX, name, value, unit);
}

static const figure *find_figure(enum impl impl, const char *name) {
    for (int i = 0; i < g_nfigures[impl]; i++)
        if (strcmp(g_figures[impl][i].name, name) == 0) return &g_figures[impl][i];
    return NULL;
}

/* `ratio.<name> value <unit>` for every rgcd figure the baseline also has (skipped where the
 * baseline's figure is <= 0, and with skip_nonpositive_rgcd where rgcd's is). */
static void print_ratios_as(const char *unit, bool skip_nonpositive_rgcd) {
    for (int i = 0; i < g_nfigures[RGCD]; i++) {
        const figure *r = &g_figures[RGCD][i];
        const figure *b = find_figure((enum impl)1, r->name); /* the baseline's */
        if (b == NULL || b->value <= 0 || (skip_nonpositive_rgcd && r->value <= 0)) continue;
        print_line("ratio.", r->name, r->value / b->value, unit);
    }
}

/* `vs_libdispatch.<name>`: rgcd's figure against a RECORDED reference value, as
 * rgcd/<reference_unit> (or <reference_unit>/rgcd where higher is better); nothing where
 * rgcd has no positive figure of that name. */
static void print_vs_reference_line(const char *name, double reference, bool higher_is_better,
                                    const char *reference_unit) {
    const figure *r = find_figure(RGCD, name);
    if (r == NULL || r->value <= 0) return;
    char unit[96];
    if (higher_is_better) {
        snprintf(unit, sizeof unit, "%s/rgcd", reference_unit);
        print_line("vs_libdispatch.", r->name, reference / r->value, unit);
    } else {
        snprintf(unit, sizeof unit, "rgcd/%s", reference_unit);
        print_line("vs_libdispatch.", r->name, r->value / reference, unit);
    }
}

/* A comment line with the load average: other processes' load skews every figure. */
static void print_load(const char *when) {
    char buf[128] = "";
    int fd = open("/proc/loadavg", O_RDONLY);
    if (fd >= 0) {
        ssize_t len = read(fd, buf, sizeof buf - 1);
        buf[len > 0 ? len : 0] = '\0';
        close(fd);
    }
    buf[strcspn(buf, "\n")] = '\0';
    printf("# loadavg %s: %s\n", when, buf[0] != '\0' ? buf : "unknown");
}

/* ---- checks ---- */

/* Ends the run at once: other threads may be stuck, so no exit handlers run. */
static void die(const char *what) {
    fflush(stdout);
    fprintf(stderr, BENCH_NAME ": %s\n", what);
    _exit(1);
}

static void die_rgcd(const char *what, int rc) {
    fflush(stdout);
    fprintf(stderr, BENCH_NAME ": %s failed: %d (%s): %s\n", what, rc, rgcd_strerror(rc),
            rgcd_last_error());
    _exit(1);
}

/* Aborts the run on an rgcd error status (RGCD_TIMED_OUT is not an error). */
#define CHECK(call)                                                                        \
    do {                                                                                   \
        int rc_ = (call);                                                                  \
        if (rc_ < 0) die_rgcd(#call, rc_);                                                 \
    } while (0)

static rgcd_queue_t new_queue(const char *label, rgcd_queue_attr_t attr) {
    rgcd_queue_t q = rgcd_queue_create(label, attr);
    if (q == NULL) die_rgcd("rgcd_queue_create", RGCD_EINVAL);
    return q;
}

/* ---- the command line: [row] [--quick] ---- */

static void usage(FILE *out, const char *const *rows, size_t nrows) {
    fprintf(out, "usage: " BENCH_NAME " [row] [--quick]\nrows:");
    for (size_t i = 0; i < nrows; i++) fprintf(out, " %s", rows[i]);
    fprintf(out, "\n");
}

/* Sets g_div and g_only; `rows` are the row names a program accepts. */
static void parse_args(int argc, char **argv, const char *const *rows, size_t nrows) {
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            g_div = 10;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout, rows, nrows);
            exit(0);
        } else {
            bool known = false;
            for (size_t r = 0; r < nrows; r++) known = known || strcmp(argv[i], rows[r]) == 0;
            if (!known || g_only != NULL) {
                fprintf(stderr, BENCH_NAME ": unexpected argument '%s'\n", argv[i]);
                usage(stderr, rows, nrows);
                exit(2);
            }
            g_only = argv[i];
        }
    }
}

#endif /* RGCD_BENCH_COMMON_H */
