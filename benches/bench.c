/* rgcd_bench - rgcd's hot paths, measured side by side with a plain pthreads work queue.
 *
 * Prints one line per figure, `name value unit`: first rgcd's figures, then the same
 * workloads on the pthreads baseline (names prefixed `pthreads.`), then `ratio.<name>`
 * (rgcd / pthreads, both measured in this run), then `vs_libdispatch.<name>` (rgcd against a
 * RECORDED libdispatch figure, not measured in this run). Lines starting with '#' are
 * comments. See benches/README.md for what each row measures.
 *
 * Usage: rgcd_bench [row] [--quick]
 *   row      run only this row: many_queues or a name in TABLE below
 *   --quick  10x fewer iterations (a smoke run; figures are noisier) */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rgcd.h"

#include "pthreads_pool.h"

/* ---- configuration, figures, checks, command line: bench_common.h ---- */

#define BENCH_NAME "rgcd_bench"
#define BENCH_BASELINE_PREFIX "pthreads."
enum impl { RGCD = 0, PTHREADS = 1 };
#include "bench_common.h"

static pp_pool g_pool; /* the pthreads baseline's pool, alive during its rows */
static volatile uint64_t g_sink;

static double per(uint64_t ns, size_t n) { return (double)ns / (double)n; }

static uint64_t median_of_3(uint64_t a, uint64_t b, uint64_t c) {
    uint64_t lo = a < b ? a : b, hi = a < b ? b : a;
    return c < lo ? lo : c > hi ? hi : c;
}

/* A row's figure: the median of three timed runs of `run` (an expression, evaluated 3x). */
#define MEDIAN_OF_3(run) median_of_3((run), (run), (run))

static void sem_wait_retry(sem_t *s) {
    while (sem_wait(s) != 0)
        if (errno != EINTR) die("sem_wait failed");
}

static void noop(void *ctx) { (void)ctx; }

/* ---- many_queues: run first, each implementation in a forked child ---- */

typedef struct mq_result {
    double create_ns; /* per queue */
    double bytes;     /* VmHWM growth per queue */
    int ok;
} mq_result;

/* VmHWM of this process in kB, read without allocating. */
static long vm_hwm_kb(void) {
    char buf[8192];
    int fd = open("/proc/self/status", O_RDONLY);
    if (fd < 0) return -1;
    ssize_t len = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (len <= 0) return -1;
    buf[len] = '\0';
    const char *line = strstr(buf, "VmHWM:");
    return line != NULL ? strtol(line + strlen("VmHWM:"), NULL, 10) : -1;
}

static void mq_send(int fd, double create_ns, double bytes) {
    mq_result r = {create_ns, bytes, 1};
    if (write(fd, &r, sizeof r) != (ssize_t)sizeof r) _exit(1);
}

static void **mq_slots(size_t n) {
    void **slots = malloc(sizeof *slots * n);
    if (slots == NULL) die("out of memory");
    memset(slots, 0, sizeof *slots * n); /* touched now, so not part of the growth */
    return slots;
}

static void mq_child_rgcd(int fd, size_t n) {
    rgcd_queue_t *qs = (rgcd_queue_t *)mq_slots(n);
    for (size_t i = 0; i < warmup_count(n); i++) CHECK(rgcd_release(new_queue("bench.q", 0)));
    long before = vm_hwm_kb();
    uint64_t t0 = now_ns();
    for (size_t i = 0; i < n; i++) qs[i] = new_queue("bench.q", RGCD_QUEUE_SERIAL);
    uint64_t elapsed = now_ns() - t0;
    long after = vm_hwm_kb();
    mq_send(fd, per(elapsed, n), (double)(after - before) * 1024.0 / (double)n);
    for (size_t i = 0; i < n; i++) CHECK(rgcd_release(qs[i]));
    free(qs);
}

static void mq_child_pthreads(int fd, size_t n) {
    pp_strand **ss = (pp_strand **)mq_slots(n);
    for (size_t i = 0; i < warmup_count(n); i++) {
        pp_strand *s = pp_strand_create(NULL, "bench.q");
        if (s == NULL) die("out of memory");
        pp_strand_release(s);
    }
    long before = vm_hwm_kb();
    uint64_t t0 = now_ns();
    for (size_t i = 0; i < n; i++) {
        ss[i] = pp_strand_create(NULL, "bench.q");
        if (ss[i] == NULL) die("out of memory");
    }
    uint64_t elapsed = now_ns() - t0;
    long after = vm_hwm_kb();
    mq_send(fd, per(elapsed, n), (double)(after - before) * 1024.0 / (double)n);
    for (size_t i = 0; i < n; i++) pp_strand_release(ss[i]);
    free(ss);
}

/* The floor under any queue object: first-touch cost of fresh memory on this machine, as
 * mmap'ed 96-byte objects (rgcd's queue size) written once each. Printed as a comment line:
 * a recorded many_queues_create figure below it is not reachable here. */
static void mq_child_floor(int fd, size_t n) {
    size_t len = n * 96;
    uint64_t t0 = now_ns();
    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) die("mmap failed");
    for (size_t i = 0; i < n; i++) memset(p + i * 96, (int)i, 96);
    uint64_t elapsed = now_ns() - t0;
    g_sink += (uint64_t)p[len - 1];
    mq_send(fd, per(elapsed, n), 96);
    munmap(p, len);
}

/* Forks, runs child(fd, n) in the child and returns what it sent back through the pipe. */
static mq_result mq_run(void (*child)(int fd, size_t n), const char *who) {
    mq_result r = {0, 0, 0};
    int fds[2];
    if (pipe(fds) != 0) die("pipe failed");
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) die("fork failed");
    if (pid == 0) {
        close(fds[0]);
        child(fds[1], count(100000));
        _exit(0);
    }
    close(fds[1]);
    size_t got = 0;
    while (got < sizeof r) {
        ssize_t k = read(fds[0], (char *)&r + got, sizeof r - got);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) break;
        got += (size_t)k;
    }
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (got != sizeof r) r.ok = 0;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fprintf(stderr, "rgcd_bench: the %s many_queues child failed (status 0x%x)%s\n", who,
                (unsigned)status, r.ok ? " after reporting its figures" : "");
    return r;
}

static void mq_record(enum impl impl, mq_result r) {
    if (!r.ok) return;
    record(impl, "many_queues_create", r.create_ns, "ns/queue");
    record(impl, "many_queues_mem", r.bytes, "bytes/queue");
}

/* ---- serial_async ---- */

static uint64_t rgcd_serial_async_run(rgcd_queue_t q, size_t n) {
    uint64_t t0 = now_ns();
    for (size_t i = 0; i < n; i++) CHECK(rgcd_async_f(q, NULL, noop));
    CHECK(rgcd_sync_f(q, NULL, noop));
    return now_ns() - t0;
}

static void rgcd_serial_async(void) {
    size_t n = count(1000000);
    rgcd_queue_t q = new_queue("bench.serial", RGCD_QUEUE_SERIAL);
    rgcd_serial_async_run(q, warmup_count(n));
    uint64_t t = MEDIAN_OF_3(rgcd_serial_async_run(q, n));
    record(RGCD, "serial_async", per(t, n), "ns/task");
    CHECK(rgcd_release(q));
}

static uint64_t pth_serial_async_run(pp_strand *s, size_t n) {
    uint64_t t0 = now_ns();
    for (size_t i = 0; i < n; i++) pp_strand_async(s, noop, NULL);
    pp_strand_sync(s, noop, NULL);
    return now_ns() - t0;
}

static void pth_serial_async(void) {
    size_t n = count(1000000);
    pp_strand *s = pp_strand_create(&g_pool, "bench.serial");
    if (s == NULL) die("out of memory");
    pth_serial_async_run(s, warmup_count(n));
    uint64_t t = MEDIAN_OF_3(pth_serial_async_run(s, n));
    record(PTHREADS, "serial_async", per(t, n), "ns/task");
    pp_strand_release(s);
}

/* ---- concurrent_fanout ---- */

static uint64_t rgcd_fanout_run(rgcd_group_t g, rgcd_queue_t q, size_t n) {
    uint64_t t0 = now_ns();
    for (size_t i = 0; i < n; i++) CHECK(rgcd_group_async_f(g, q, NULL, noop));
    CHECK(rgcd_group_wait(g, RGCD_TIME_FOREVER));
    return now_ns() - t0;
}

static void rgcd_concurrent_fanout(void) {
    size_t n = count(1000000);
    rgcd_queue_t q = rgcd_get_global_queue(RGCD_QUEUE_PRIORITY_DEFAULT, 0);
    if (q == NULL) die_rgcd("rgcd_get_global_queue", RGCD_EINVAL);
    rgcd_group_t g = rgcd_group_create();
    if (g == NULL) die_rgcd("rgcd_group_create", RGCD_ENOMEM);
    rgcd_fanout_run(g, q, warmup_count(n));
    uint64_t t = MEDIAN_OF_3(rgcd_fanout_run(g, q, n));
    record(RGCD, "concurrent_fanout", per(t, n), "ns/task");
    CHECK(rgcd_release(g));
}

static uint64_t pth_fanout_run(pp_group *g, size_t n) {
    uint64_t t0 = now_ns();
    for (size_t i = 0; i < n; i++) pp_group_async(g, &g_pool, noop, NULL);
    pp_group_wait(g);
    return now_ns() - t0;
}

static void pth_concurrent_fanout(void) {
    size_t n = count(1000000);
    pp_group g;
    pp_group_init(&g);
    pth_fanout_run(&g, warmup_count(n));
    uint64_t t = MEDIAN_OF_3(pth_fanout_run(&g, n));
    record(PTHREADS, "concurrent_fanout", per(t, n), "ns/task");
    pp_group_destroy(&g);
}

/* ---- sync_uncontended ---- */

static uint64_t rgcd_sync_run(rgcd_queue_t q, size_t n) {
    uint64_t t0 = now_ns();
    for (size_t i = 0; i < n; i++) CHECK(rgcd_sync_f(q, NULL, noop));
    return now_ns() - t0;
}

static void rgcd_sync_uncontended(void) {
    size_t n = count(10000000);
    rgcd_queue_t q = new_queue("bench.sync", RGCD_QUEUE_SERIAL);
    rgcd_sync_run(q, warmup_count(n));
    uint64_t t = MEDIAN_OF_3(rgcd_sync_run(q, n));
    record(RGCD, "sync_uncontended", per(t, n), "ns/op");
    CHECK(rgcd_release(q));
}

static uint64_t pth_sync_run(pp_strand *s, size_t n) {
    uint64_t t0 = now_ns();
    for (size_t i = 0; i < n; i++) pp_strand_sync(s, noop, NULL);
    return now_ns() - t0;
}

static void pth_sync_uncontended(void) {
    /* Every baseline sync is a hand-off to a pool thread and back (microseconds), so it
     * runs 100x fewer operations than rgcd's row to stay within the time budget. */
    size_t n = count(10000000 / 100);
    pp_strand *s = pp_strand_create(&g_pool, "bench.sync");
    if (s == NULL) die("out of memory");
    pth_sync_run(s, warmup_count(n));
    uint64_t t = MEDIAN_OF_3(pth_sync_run(s, n));
    record(PTHREADS, "sync_uncontended", per(t, n), "ns/op");
    pp_strand_release(s);
}

/* ---- pingpong: one token handed between two serial queues ---- */

typedef struct pingpong {
    void *a, *b; /* the two queues (rgcd_queue_t or pp_strand *) */
    long left;   /* hops still to make; only the token's holder touches it */
    sem_t done;
} pingpong;

static void rgcd_hop(void *ctx) {
    pingpong *p = ctx;
    if (--p->left == 0)
        sem_post(&p->done);
    else
        CHECK(rgcd_async_f((p->left & 1) ? p->a : p->b, p, rgcd_hop));
}

static uint64_t rgcd_pingpong_run(pingpong *p, size_t hops) {
    p->left = (long)hops;
    uint64_t t0 = now_ns();
    CHECK(rgcd_async_f(p->a, p, rgcd_hop));
    sem_wait_retry(&p->done);
    return now_ns() - t0;
}

static void rgcd_pingpong(void) {
    size_t n = count(200000);
    pingpong p;
    p.a = new_queue("bench.ping", RGCD_QUEUE_SERIAL);
    p.b = new_queue("bench.pong", RGCD_QUEUE_SERIAL);
    if (sem_init(&p.done, 0, 0) != 0) die("sem_init failed");
    rgcd_pingpong_run(&p, warmup_count(n));
    uint64_t t = MEDIAN_OF_3(rgcd_pingpong_run(&p, n));
    record(RGCD, "pingpong", per(t, n), "ns/hop");
    sem_destroy(&p.done);
    CHECK(rgcd_release(p.a));
    CHECK(rgcd_release(p.b));
}

static void pth_hop(void *ctx) {
    pingpong *p = ctx;
    if (--p->left == 0)
        sem_post(&p->done);
    else
        pp_strand_async((p->left & 1) ? p->a : p->b, pth_hop, p);
}

static uint64_t pth_pingpong_run(pingpong *p, size_t hops) {
    p->left = (long)hops;
    uint64_t t0 = now_ns();
    pp_strand_async(p->a, pth_hop, p);
    sem_wait_retry(&p->done);
    return now_ns() - t0;
}

static void pth_pingpong(void) {
    size_t n = count(200000);
    pingpong p;
    p.a = pp_strand_create(&g_pool, "bench.ping");
    p.b = pp_strand_create(&g_pool, "bench.pong");
    if (p.a == NULL || p.b == NULL) die("out of memory");
    if (sem_init(&p.done, 0, 0) != 0) die("sem_init failed");
    pth_pingpong_run(&p, warmup_count(n));
    uint64_t t = MEDIAN_OF_3(pth_pingpong_run(&p, n));
    record(PTHREADS, "pingpong", per(t, n), "ns/hop");
    sem_destroy(&p.done);
    pp_strand_release(p.a);
    pp_strand_release(p.b);
}

/* ---- apply_small: a tiny body, so the figure is apply's per-iteration overhead ---- */

static void small_body(void *ctx, size_t i) {
    uint32_t *out = ctx;
    out[i] = (uint32_t)(i * 2);
}

/* Read through a volatile pointer so the serial loop calls the body like apply does. */
static void (*volatile g_small_body)(void *, size_t) = small_body;

static uint32_t *small_array(size_t n) {
    uint32_t *out = malloc(sizeof *out * n);
    if (out == NULL) die("out of memory");
    memset(out, 0xff, sizeof *out * n); /* fault the pages in before timing */
    return out;
}

/* Every slot written exactly as the body says (checked outside the timed part). */
static void small_verify(const uint32_t *out, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (out[i] != (uint32_t)(i * 2)) die("apply_small: a slot was not written");
}

static uint64_t rgcd_apply_small_run(uint32_t *out, size_t n) {
    memset(out, 0xff, sizeof *out * n);
    uint64_t t0 = now_ns();
    CHECK(rgcd_apply_f(n, NULL, out, small_body));
    uint64_t elapsed = now_ns() - t0;
    small_verify(out, n);
    return elapsed;
}

static uint64_t serial_small_run(uint32_t *out, size_t n) {
    memset(out, 0xff, sizeof *out * n);
    void (*body)(void *, size_t) = g_small_body;
    uint64_t t0 = now_ns();
    for (size_t i = 0; i < n; i++) body(out, i);
    uint64_t elapsed = now_ns() - t0;
    small_verify(out, n);
    return elapsed;
}

static void rgcd_apply_small(void) {
    size_t n = count(10000000);
    uint32_t *out = small_array(n);
    rgcd_apply_small_run(out, warmup_count(n));
    uint64_t t = MEDIAN_OF_3(rgcd_apply_small_run(out, n));
    record(RGCD, "apply_small", per(t, n), "ns/iter");

    t = MEDIAN_OF_3(serial_small_run(out, n));
    record(RGCD, "apply_small_serial_loop", per(t, n), "ns/iter");
    free(out);
}

static uint64_t pth_apply_small_run(uint32_t *out, size_t n) {
    memset(out, 0xff, sizeof *out * n);
    uint64_t t0 = now_ns();
    pp_apply(&g_pool, n, out, small_body);
    uint64_t elapsed = now_ns() - t0;
    small_verify(out, n);
    return elapsed;
}

static void pth_apply_small(void) {
    size_t n = count(10000000);
    uint32_t *out = small_array(n);
    pth_apply_small_run(out, warmup_count(n));
    uint64_t t = MEDIAN_OF_3(pth_apply_small_run(out, n));
    record(PTHREADS, "apply_small", per(t, n), "ns/iter");
    free(out);
}

/* ---- apply_heavy: ~10 us of calibrated spinning per iteration ---- */

#define HEAVY_ITERATIONS_FULL 1000
#define HEAVY_REPS 5

/* A dependent multiply-add chain the compiler can neither fold nor drop. */
static uint64_t spin(uint64_t iterations, uint64_t seed) {
    uint64_t x = seed;
    for (uint64_t i = 0; i < iterations; i++) {
        x = x * 6364136223846793005u + 1442695040888963407u;
        __asm__ volatile("" : "+r"(x));
    }
    return x;
}

/* Spin iterations taking about 10 us on this machine (calibrated once, shared by both). */
static uint64_t spins_per_10us(void) {
    static uint64_t cached;
    if (cached != 0) return cached;
    const uint64_t probe = 200000;
    uint64_t best = UINT64_MAX;
    for (uint64_t r = 0; r < 5; r++) {
        uint64_t t0 = now_ns();
        g_sink ^= spin(probe, r);
        uint64_t dt = now_ns() - t0;
        if (dt < best) best = dt;
    }
    cached = probe * 10000 / (best > 0 ? best : 1);
    if (cached == 0) cached = 1;
    return cached;
}

typedef struct heavy {
    uint64_t spins;
    uint64_t out[HEAVY_ITERATIONS_FULL];
} heavy;

static void heavy_body(void *ctx, size_t i) {
    heavy *h = ctx;
    h->out[i] = spin(h->spins, i);
}

static heavy *heavy_new(void) {
    heavy *h = calloc(1, sizeof *h);
    if (h == NULL) die("out of memory");
    h->spins = spins_per_10us();
    return h;
}

static uint64_t heavy_serial_run(heavy *h, size_t n) {
    uint64_t t0 = now_ns();
    for (size_t i = 0; i < n; i++) heavy_body(h, i);
    return now_ns() - t0;
}

static void rgcd_heavy_apply(heavy *h, size_t n) { CHECK(rgcd_apply_f(n, NULL, h, heavy_body)); }

static void pth_heavy_apply(heavy *h, size_t n) { pp_apply(&g_pool, n, h, heavy_body); }

/* The best of HEAVY_REPS applies and of HEAVY_REPS plain loops, alternated so a burst of
 * load from another process skews both alike rather than only one side of the speedup. */
static void apply_heavy_row(enum impl impl, void (*apply)(heavy *h, size_t n)) {
    size_t n = count(HEAVY_ITERATIONS_FULL);
    heavy *h = heavy_new();
    apply(h, n); /* warm-up */
    uint64_t serial = UINT64_MAX, parallel = UINT64_MAX;
    for (int r = 0; r < HEAVY_REPS; r++) {
        uint64_t dt = heavy_serial_run(h, n);
        if (dt < serial) serial = dt;
        uint64_t t0 = now_ns();
        apply(h, n);
        dt = now_ns() - t0;
        if (dt < parallel) parallel = dt;
    }
    record(impl, "apply_heavy", (double)parallel, "ns");
    record(impl, "apply_heavy_speedup", (double)serial / (double)parallel, "x");
    free(h);
}

static void rgcd_apply_heavy(void) { apply_heavy_row(RGCD, rgcd_heavy_apply); }

static void pth_apply_heavy(void) { apply_heavy_row(PTHREADS, pth_heavy_apply); }

/* ---- group_enter_leave ---- */

static uint64_t rgcd_enter_leave_run(rgcd_group_t g, size_t n) {
    uint64_t t0 = now_ns();
    for (size_t i = 0; i < n; i++) {
        CHECK(rgcd_group_enter(g));
        CHECK(rgcd_group_leave(g));
    }
    return now_ns() - t0;
}

static void rgcd_group_enter_leave(void) {
    size_t n = count(10000000);
    rgcd_group_t g = rgcd_group_create();
    if (g == NULL) die_rgcd("rgcd_group_create", RGCD_ENOMEM);
    rgcd_enter_leave_run(g, warmup_count(n));
    uint64_t t = MEDIAN_OF_3(rgcd_enter_leave_run(g, n));
    record(RGCD, "group_enter_leave", per(t, n), "ns/pair");
    CHECK(rgcd_release(g));
}

static uint64_t pth_enter_leave_run(pp_group *g, size_t n) {
    uint64_t t0 = now_ns();
    for (size_t i = 0; i < n; i++) {
        pp_group_enter(g);
        pp_group_leave(g);
    }
    return now_ns() - t0;
}

static void pth_group_enter_leave(void) {
    size_t n = count(10000000);
    pp_group g;
    pp_group_init(&g);
    pth_enter_leave_run(&g, warmup_count(n));
    uint64_t t = MEDIAN_OF_3(pth_enter_leave_run(&g, n));
    record(PTHREADS, "group_enter_leave", per(t, n), "ns/pair");
    pp_group_destroy(&g);
}

/* ---- semaphore_uncontended ---- */

static uint64_t rgcd_semaphore_run(rgcd_semaphore_t s, size_t n) {
    uint64_t t0 = now_ns();
    for (size_t i = 0; i < n; i++) {
        CHECK(rgcd_semaphore_signal(s));
        CHECK(rgcd_semaphore_wait(s, RGCD_TIME_FOREVER));
    }
    return now_ns() - t0;
}

static void rgcd_semaphore_uncontended(void) {
    size_t n = count(10000000);
    rgcd_semaphore_t s = rgcd_semaphore_create(0);
    if (s == NULL) die_rgcd("rgcd_semaphore_create", RGCD_ENOMEM);
    rgcd_semaphore_run(s, warmup_count(n));
    uint64_t t = MEDIAN_OF_3(rgcd_semaphore_run(s, n));
    record(RGCD, "semaphore_uncontended", per(t, n), "ns/pair");
    CHECK(rgcd_release(s));
}

static uint64_t pth_semaphore_run(sem_t *s, size_t n) {
    uint64_t t0 = now_ns();
    for (size_t i = 0; i < n; i++) {
        if (sem_post(s) != 0) die("sem_post failed");
        sem_wait_retry(s);
    }
    return now_ns() - t0;
}

static void pth_semaphore_uncontended(void) {
    size_t n = count(10000000);
    sem_t s;
    if (sem_init(&s, 0, 0) != 0) die("sem_init failed");
    pth_semaphore_run(&s, warmup_count(n));
    uint64_t t = MEDIAN_OF_3(pth_semaphore_run(&s, n));
    record(PTHREADS, "semaphore_uncontended", per(t, n), "ns/pair");
    sem_destroy(&s);
}

/* ---- retain_release ---- */

static uint64_t rgcd_retain_release_run(rgcd_queue_t q, size_t n) {
    uint64_t t0 = now_ns();
    for (size_t i = 0; i < n; i++) {
        CHECK(rgcd_retain(q));
        CHECK(rgcd_release(q));
    }
    return now_ns() - t0;
}

static void rgcd_retain_release(void) {
    size_t n = count(10000000);
    rgcd_queue_t q = new_queue("bench.rc", RGCD_QUEUE_SERIAL);
    rgcd_retain_release_run(q, warmup_count(n));
    uint64_t t = MEDIAN_OF_3(rgcd_retain_release_run(q, n));
    record(RGCD, "retain_release", per(t, n), "ns/pair");
    CHECK(rgcd_release(q));
}

static uint64_t pth_retain_release_run(pp_strand *s, size_t n) {
    uint64_t t0 = now_ns();
    for (size_t i = 0; i < n; i++) {
        pp_strand_retain(s);
        pp_strand_release(s);
    }
    return now_ns() - t0;
}

static void pth_retain_release(void) {
    size_t n = count(10000000);
    pp_strand *s = pp_strand_create(&g_pool, "bench.rc");
    if (s == NULL) die("out of memory");
    pth_retain_release_run(s, warmup_count(n));
    uint64_t t = MEDIAN_OF_3(pth_retain_release_run(s, n));
    record(PTHREADS, "retain_release", per(t, n), "ns/pair");
    pp_strand_release(s);
}

/* ---- rw_barrier_90_10: 9 reads (concurrent) to 1 write (exclusive) ---- */

typedef struct rw_state {
    atomic_long counter; /* written only while exclusive: by barriers, or under wrlock */
    pthread_rwlock_t lock; /* the baseline's exclusion */
} rw_state;

static void rw_read(void *ctx) {
    rw_state *s = ctx;
    (void)atomic_load_explicit(&s->counter, memory_order_relaxed);
}

static void rw_write(void *ctx) {
    rw_state *s = ctx;
    long v = atomic_load_explicit(&s->counter, memory_order_relaxed);
    atomic_store_explicit(&s->counter, v + 1, memory_order_relaxed);
}

static void rw_verify(rw_state *s, size_t n) {
    if ((size_t)atomic_load(&s->counter) != n / 10) die("rw_barrier_90_10: a write was lost");
}

static uint64_t rgcd_rw_run(rgcd_queue_t q, rw_state *s, size_t n) {
    atomic_store(&s->counter, 0);
    uint64_t t0 = now_ns();
    for (size_t i = 0; i < n; i++) {
        if (i % 10 == 9)
            CHECK(rgcd_barrier_async_f(q, s, rw_write));
        else
            CHECK(rgcd_async_f(q, s, rw_read));
    }
    CHECK(rgcd_barrier_sync_f(q, NULL, noop));
    uint64_t elapsed = now_ns() - t0;
    rw_verify(s, n);
    return elapsed;
}

static void rgcd_rw_barrier(void) {
    size_t n = count(1000000);
    rgcd_queue_t q = new_queue("bench.rw", RGCD_QUEUE_CONCURRENT);
    rw_state s;
    atomic_init(&s.counter, 0);
    rgcd_rw_run(q, &s, warmup_count(n));
    uint64_t t = MEDIAN_OF_3(rgcd_rw_run(q, &s, n));
    record(RGCD, "rw_barrier_90_10", per(t, n), "ns/op");
    CHECK(rgcd_release(q));
}

static void pth_rw_read(void *ctx) {
    rw_state *s = ctx;
    pthread_rwlock_rdlock(&s->lock);
    rw_read(s);
    pthread_rwlock_unlock(&s->lock);
}

static void pth_rw_write(void *ctx) {
    rw_state *s = ctx;
    pthread_rwlock_wrlock(&s->lock);
    rw_write(s);
    pthread_rwlock_unlock(&s->lock);
}

static uint64_t pth_rw_run(rw_state *s, size_t n) {
    atomic_store(&s->counter, 0);
    pp_group g;
    pp_group_init(&g);
    uint64_t t0 = now_ns();
    for (size_t i = 0; i < n; i++)
        pp_group_async(&g, &g_pool, i % 10 == 9 ? pth_rw_write : pth_rw_read, s);
    pp_group_wait(&g);
    uint64_t elapsed = now_ns() - t0;
    pp_group_destroy(&g);
    rw_verify(s, n);
    return elapsed;
}

static void pth_rw_barrier(void) {
    size_t n = count(1000000);
    rw_state s;
    atomic_init(&s.counter, 0);
    PP_CHECK(pthread_rwlock_init(&s.lock, NULL));
    pth_rw_run(&s, warmup_count(n));
    uint64_t t = MEDIAN_OF_3(pth_rw_run(&s, n));
    record(PTHREADS, "rw_barrier_90_10", per(t, n), "ns/op");
    pthread_rwlock_destroy(&s.lock);
}

/* ---- the row table, the recorded reference, main ---- */

typedef struct row {
    const char *name;
    void (*rgcd)(void);
    void (*pthreads)(void);
} row;

/* many_queues is not here: it runs first, in forked children (see main). */
static const row TABLE[] = {
    {"serial_async", rgcd_serial_async, pth_serial_async},
    {"concurrent_fanout", rgcd_concurrent_fanout, pth_concurrent_fanout},
    {"sync_uncontended", rgcd_sync_uncontended, pth_sync_uncontended},
    {"pingpong", rgcd_pingpong, pth_pingpong},
    {"apply_small", rgcd_apply_small, pth_apply_small},
    {"apply_heavy", rgcd_apply_heavy, pth_apply_heavy},
    {"group_enter_leave", rgcd_group_enter_leave, pth_group_enter_leave},
    {"semaphore_uncontended", rgcd_semaphore_uncontended, pth_semaphore_uncontended},
    {"retain_release", rgcd_retain_release, pth_retain_release},
    {"rw_barrier_90_10", rgcd_rw_barrier, pth_rw_barrier},
};
#define NTABLE (sizeof TABLE / sizeof TABLE[0])

/* libdispatch (swift-corelibs-libdispatch e85f6a0, Release) on a 2-core machine of this
 * kind, recorded once: NOT measured by this program. */
#define REFERENCE_UNIT "libdispatch-e85f6a0-recorded"
static const struct {
    const char *name;
    double value;
    bool higher_is_better; /* report reference/rgcd instead of rgcd/reference */
} REFERENCE[] = {
    {"serial_async", 142, false},        {"concurrent_fanout", 220, false},
    {"sync_uncontended", 17.4, false},   {"pingpong", 845, false},
    {"apply_small", 22.1, false},        {"apply_small_serial_loop", 1.6, false},
    {"apply_heavy_speedup", 1.97, true}, {"group_enter_leave", 22.1, false},
    {"semaphore_uncontended", 10.6, false}, {"retain_release", 10.6, false},
    {"many_queues_create", 36.7, false}, {"many_queues_mem", 197, false},
    {"rw_barrier_90_10", 226, false},
};

static void print_ratios(void) {
    printf("# ratios: rgcd / pthreads baseline, both measured in this run"
           " (for apply_heavy_speedup higher is better)\n");
    print_ratios_as("rgcd/pthreads", false);
}

static void print_vs_reference(void) {
    printf("# vs_libdispatch: rgcd against RECORDED libdispatch figures (swift-corelibs-libdispatch"
           " e85f6a0, Release, 2-core machine), NOT measured in this run; below 1 is better\n");
    for (size_t i = 0; i < sizeof REFERENCE / sizeof REFERENCE[0]; i++)
        print_vs_reference_line(REFERENCE[i].name, REFERENCE[i].value,
                                REFERENCE[i].higher_is_better, REFERENCE_UNIT);
}

int main(int argc, char **argv) {
    const char *rows[NTABLE + 1] = {"many_queues"};
    for (size_t i = 0; i < NTABLE; i++) rows[i + 1] = TABLE[i].name;
    parse_args(argc, argv, rows, NTABLE + 1);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    if (ncpu < 1) ncpu = 1;
    printf("# rgcd_bench: %ld cpus, %s counts%s%s\n", ncpu, g_div == 1 ? "full" : "quick (1/10)",
           g_only != NULL ? ", row " : "", g_only != NULL ? g_only : "");
    print_load("at start");

    /* many_queues first, before this process makes any rgcd call or thread. */
    mq_result mq_rgcd = {0, 0, 0}, mq_pthreads = {0, 0, 0};
    if (selected("many_queues")) {
        mq_rgcd = mq_run(mq_child_rgcd, "rgcd");
        mq_pthreads = mq_run(mq_child_pthreads, "pthreads");
        mq_result floor = mq_run(mq_child_floor, "memory floor");
        if (floor.ok)
            printf("# many_queues floor on this machine: %.1f ns to first-touch 96 fresh bytes "
                   "(the memory of one rgcd queue)\n",
                   floor.create_ns);
    }

    printf("# rgcd\n");
    mq_record(RGCD, mq_rgcd);
    for (size_t i = 0; i < NTABLE; i++)
        if (selected(TABLE[i].name)) TABLE[i].rgcd();

    printf("# pthreads baseline: %ld-thread pool, mutex+condvar FIFO, strands\n", ncpu);
    mq_record(PTHREADS, mq_pthreads);
    bool pool_needed = g_only == NULL || strcmp(g_only, "many_queues") != 0;
    if (pool_needed) pp_pool_start(&g_pool, (int)ncpu);
    for (size_t i = 0; i < NTABLE; i++)
        if (selected(TABLE[i].name)) TABLE[i].pthreads();
    if (pool_needed) pp_pool_stop(&g_pool);
    print_load("at end");

    print_ratios();
    print_vs_reference();
    return 0;
}
