/* compat_check.h - what the libdispatch-compatibility tests share: CHECK, the bounded
 * deadline every wait uses, and small helpers. Uses only <dispatch/dispatch.h> and POSIX.
 *
 * Define _POSIX_C_SOURCE (200809L) before the first #include of the test: sleep_ms needs
 * nanosleep. The helpers are `static inline` so that a test may leave some unused. */
#ifndef COMPAT_CHECK_H
#define COMPAT_CHECK_H

#ifndef _POSIX_C_SOURCE
#error "define _POSIX_C_SOURCE 200809L before any #include (compat_check.h needs nanosleep)"
#endif

#include <dispatch/dispatch.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

/* Fails the test (exit 1) with file:line, `msg` and the condition when `cond` is false. */
#define CHECK(cond, msg)                                                              \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "%s:%d: %s (%s)\n", __FILE__, __LINE__, msg, #cond);      \
            exit(1);                                                                  \
        }                                                                             \
    } while (0)

/* `ms` milliseconds from now. */
static inline dispatch_time_t in_ms(int64_t ms)
{
    return dispatch_time(DISPATCH_TIME_NOW, ms * (int64_t)NSEC_PER_MSEC);
}

/* The generous bound of every wait that should succeed: 10 s from now. */
static inline dispatch_time_t deadline(void)
{
    return in_ms(10 * 1000);
}

static inline void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000 * 1000};
    nanosleep(&ts, NULL);
}

static inline void nop(void *ctx)
{
    (void)ctx;
}

/* CPU time (user + system) the whole process has used, in nanoseconds. */
static inline uint64_t process_cpu_ns(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000ull +
           ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000ull;
}

/* The state after: every rgcd object made since the live count was `base` is freed (within
 * 10 s), and the process uses under 50 ms of CPU in the second after (nothing spins). */
static inline void check_freed_and_quiet(size_t base)
{
    for (int i = 0; i < 10000 && rgcd_debug_live_objects() > base; i++) sleep_ms(1);
    CHECK(rgcd_debug_live_objects() == base, "rgcd objects left alive");
    sleep_ms(150); /* workers stop spinning after the last work */
    uint64_t c0 = process_cpu_ns();
    sleep_ms(1000);
    CHECK(process_cpu_ns() - c0 < 50000000ull, "CPU used in the second after");
}

#endif /* COMPAT_CHECK_H */
