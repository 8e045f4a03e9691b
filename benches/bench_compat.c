/* rgcd_bench_compat - four hot paths measured the way existing libdispatch code links them:
 * through <dispatch/dispatch.h> only, compiled on its own (-O2) and linked against the shared
 * library, so every call crosses the library boundary (PLT, no inlining, no LTO).
 *
 * The same source builds against rgcd (include/dispatch/dispatch.h, librgcd.so) and against
 * swift-corelibs-libdispatch (its <dispatch/dispatch.h>, libdispatch.so): it uses libdispatch
 * names only, so a comparison is one program linked two ways. See benches/README.md.
 *
 * Prints one line per figure, `name value unit`; lines starting with '#' are comments (among
 * them which dispatch library this process loaded).
 *
 * Usage: rgcd_bench_compat [row] [--quick]
 *   row      run only this row: a name in TABLE below
 *   --quick  10x fewer iterations (a smoke run; figures are noisier) */
#define _GNU_SOURCE
#include <dispatch/dispatch.h>

#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Not bench_common.h: that header includes rgcd.h, and this program must build without it. */

#define BENCH_NAME "rgcd_bench_compat"

static const char *g_only; /* run only this row; NULL: all */
static size_t g_div = 1;   /* 10 with --quick */

static bool selected(const char *row) { return g_only == NULL || strcmp(g_only, row) == 0; }

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

/* ---- figures: the median of timed chunks ---- */

/* A row's count is timed in CHUNKS chunks and its figure is the median chunk (per item): on
 * a machine shared with other work, a chunk that was preempted or slowed is an outlier, not
 * part of the figure. */
#define CHUNKS 100

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, size_t k) {
    qsort(v, k, sizeof v[0], cmp_double);
    return k % 2 ? v[k / 2] : (v[k / 2 - 1] + v[k / 2]) / 2;
}

static void record(const char *name, double value, const char *unit) {
    printf("%s %.*f %s\n", name, value < 10 ? 2 : 1, value, unit);
    fflush(stdout);
}

static void die(const char *what) {
    fflush(stdout);
    fprintf(stderr, BENCH_NAME ": %s\n", what);
    _exit(1);
}

static void noop(void *ctx) { (void)ctx; }

static void bump(void *ctx) { (*(size_t *)ctx)++; }

static dispatch_queue_t new_serial_queue(const char *label) {
    dispatch_queue_t q = dispatch_queue_create(label, DISPATCH_QUEUE_SERIAL);
    if (q == NULL) die("dispatch_queue_create failed");
    return q;
}

/* The timed loops are not inlined into their callers, so that a profiler (callgrind) can
 * report each loop's cost as one function: instructions per iteration = its inclusive cost /
 * the iterations it ran. */
#define LOOP __attribute__((noinline))

/* Times `loop(arg, n / CHUNKS)` CHUNKS times; returns the median ns per iteration. */
static double chunked(void (*loop)(void *arg, size_t n), void *arg, size_t n) {
    double per[CHUNKS];
    size_t k = n / CHUNKS > 0 ? n / CHUNKS : 1;
    for (size_t c = 0; c < CHUNKS; c++) {
        uint64_t t0 = now_ns();
        loop(arg, k);
        per[c] = (double)(now_ns() - t0) / (double)k;
    }
    return median(per, CHUNKS);
}

/* ---- retain_release: dispatch_retain + dispatch_release of a serial queue ---- */

static LOOP void retain_release_loop(void *q, size_t n) {
    for (size_t i = 0; i < n; i++) {
        dispatch_retain((dispatch_queue_t)q);
        dispatch_release((dispatch_queue_t)q);
    }
}

static void row_retain_release(void) {
    size_t n = count(10000000);
    dispatch_queue_t q = new_serial_queue("bench.rc");
    retain_release_loop(q, warmup_count(n));
    record("retain_release", chunked(retain_release_loop, q, n), "ns/pair");
    dispatch_release(q);
}

/* ---- semaphore_signal_wait: signal + wait(FOREVER), one thread, never blocks ---- */

static LOOP void semaphore_loop(void *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (dispatch_semaphore_signal((dispatch_semaphore_t)s) != 0)
            die("dispatch_semaphore_signal woke a thread");
        if (dispatch_semaphore_wait((dispatch_semaphore_t)s, DISPATCH_TIME_FOREVER) != 0)
            die("dispatch_semaphore_wait failed");
    }
}

static void row_semaphore_signal_wait(void) {
    size_t n = count(10000000);
    dispatch_semaphore_t s = dispatch_semaphore_create(0);
    if (s == NULL) die("dispatch_semaphore_create failed");
    semaphore_loop(s, warmup_count(n));
    record("semaphore_signal_wait", chunked(semaphore_loop, s, n), "ns/pair");
    dispatch_release(s);
}

/* ---- enqueue_suspended: dispatch_async_f onto a suspended serial queue ---- */

static LOOP void enqueue_loop(dispatch_queue_t q, size_t *counter, size_t n) {
    for (size_t i = 0; i < n; i++) dispatch_async_f(q, counter, bump);
}

/* Queues n items while q is suspended and returns the ns this took per item. Resuming and
 * draining (a sync that returns once every item queued before it ran) is not timed. */
static double enqueue_suspended_batch(dispatch_queue_t q, size_t n) {
    size_t counter = 0;
    dispatch_suspend(q);
    uint64_t t0 = now_ns();
    enqueue_loop(q, &counter, n);
    double per = (double)(now_ns() - t0) / (double)n;
    dispatch_resume(q);
    dispatch_sync_f(q, NULL, noop);
    if (counter != n) die("enqueue_suspended: not every item ran exactly once");
    return per;
}

/* Every item in one suspension: the queue holds the whole count before it drains, so this
 * row is one chunk, and its figure the median of three runs. */
static void row_enqueue_suspended(void) {
    size_t n = count(1000000);
    dispatch_queue_t q = new_serial_queue("bench.suspended");
    enqueue_suspended_batch(q, warmup_count(n));
    double runs[3];
    for (int r = 0; r < 3; r++) runs[r] = enqueue_suspended_batch(q, n);
    record("enqueue_suspended", median(runs, 3), "ns/item");
    dispatch_release(q);
}

/* Suspensions of n / CHUNKS items (10,000): memory freed by one batch's drain serves the
 * next. Each batch is a chunk. */
static void row_enqueue_suspended_10k(void) {
    size_t n = count(1000000), k = n / CHUNKS > 0 ? n / CHUNKS : 1;
    dispatch_queue_t q = new_serial_queue("bench.suspended");
    for (size_t done = 0; done < warmup_count(n); done += k) enqueue_suspended_batch(q, k);
    double per[CHUNKS];
    for (size_t c = 0; c < CHUNKS; c++) per[c] = enqueue_suspended_batch(q, k);
    record("enqueue_suspended_10k", median(per, CHUNKS), "ns/item");
    dispatch_release(q);
}

/* ---- sync_uncontended: dispatch_sync_f of an empty function onto an idle serial queue ---- */

static LOOP void sync_loop(void *q, size_t n) {
    for (size_t i = 0; i < n; i++) dispatch_sync_f((dispatch_queue_t)q, NULL, noop);
}

static void row_sync_uncontended(void) {
    size_t n = count(10000000);
    dispatch_queue_t q = new_serial_queue("bench.sync");
    sync_loop(q, warmup_count(n));
    record("sync_uncontended", chunked(sync_loop, q, n), "ns/op");
    dispatch_release(q);
}

/* ---- the row table, main ---- */

static const struct {
    const char *name;
    void (*run)(void);
} TABLE[] = {
    {"retain_release", row_retain_release},
    {"semaphore_signal_wait", row_semaphore_signal_wait},
    {"enqueue_suspended", row_enqueue_suspended},
    {"enqueue_suspended_10k", row_enqueue_suspended_10k},
    {"sync_uncontended", row_sync_uncontended},
};
#define NTABLE (sizeof TABLE / sizeof TABLE[0])

/* A comment line naming the dispatch library this process loaded (from /proc/self/maps), so
 * a run shows which build it measured. */
static void print_library(void) {
    FILE *f = fopen("/proc/self/maps", "r");
    char line[4096];
    const char *found = NULL;
    while (f != NULL && found == NULL && fgets(line, sizeof line, f) != NULL) {
        char *path = strchr(line, '/');
        if (path == NULL) continue;
        path[strcspn(path, "\n")] = '\0';
        const char *base = strrchr(path, '/') + 1;
        if (strncmp(base, "librgcd.", 8) == 0 || strncmp(base, "libdispatch.", 12) == 0)
            found = path;
    }
    printf("# library: %s\n", found != NULL ? found : "unknown (statically linked?)");
    if (f != NULL) fclose(f);
}

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

static void usage(FILE *out) {
    fprintf(out, "usage: " BENCH_NAME " [row] [--quick]\nrows:");
    for (size_t i = 0; i < NTABLE; i++) fprintf(out, " %s", TABLE[i].name);
    fprintf(out, "\n");
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            g_div = 10;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            bool known = false;
            for (size_t r = 0; r < NTABLE; r++) known = known || strcmp(argv[i], TABLE[r].name) == 0;
            if (!known || g_only != NULL) {
                fprintf(stderr, BENCH_NAME ": unexpected argument '%s'\n", argv[i]);
                usage(stderr);
                return 2;
            }
            g_only = argv[i];
        }
    }
    printf("# " BENCH_NAME ": %s counts%s%s\n", g_div == 1 ? "full" : "quick (1/10)",
           g_only != NULL ? ", row " : "", g_only != NULL ? g_only : "");
    print_library();
    print_load("at start");
    for (size_t i = 0; i < NTABLE; i++)
        if (selected(TABLE[i].name)) TABLE[i].run();
    print_load("at end");
    return 0;
}
