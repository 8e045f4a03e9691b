/* libdispatch-style dispatch_apply_f, dispatch_once_f and dispatch_after_f:
 * apply visits every index once, once runs exactly once while concurrent callers
 * wait for it, and after never fires before its deadline. */
#define _POSIX_C_SOURCE 200809L
#include <dispatch/dispatch.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "compat_check.h"

/* ---- apply ---- */

enum { ITERATIONS = 10000 };
static atomic_llong apply_sum;
static atomic_int visits[ITERATIONS];

static void apply_body(void *ctx, size_t i)
{
    CHECK(ctx == &apply_sum, "apply passed the wrong context");
    CHECK(i < ITERATIONS, "apply index out of range");
    atomic_fetch_add(&apply_sum, (long long)i);
    atomic_fetch_add(&visits[i], 1);
}

static void never_called(void *ctx, size_t i)
{
    (void)ctx;
    (void)i;
    CHECK(0, "apply with zero iterations called its function");
}

static void test_apply(dispatch_queue_t queue)
{
    atomic_store(&apply_sum, 0);
    for (int i = 0; i < ITERATIONS; i++) {
        atomic_store(&visits[i], 0);
    }
    dispatch_apply_f(ITERATIONS, queue, &apply_sum, apply_body);
    long long expected = (long long)ITERATIONS * (ITERATIONS - 1) / 2;
    CHECK(atomic_load(&apply_sum) == expected, "apply: wrong sum of indices");
    for (int i = 0; i < ITERATIONS; i++) {
        CHECK(atomic_load(&visits[i]) == 1, "apply: an index was not visited exactly once");
    }
    dispatch_apply_f(0, queue, NULL, never_called);
}

/* ---- once ---- */

static dispatch_once_t once_predicate;
static atomic_int once_calls;
static atomic_int once_value;
static atomic_int once_saw_value;

static void once_init(void *ctx)
{
    CHECK(ctx == &once_value, "once passed the wrong context");
    atomic_fetch_add(&once_calls, 1);
    struct timespec ts = {0, 20 * 1000 * 1000}; /* let other callers pile up */
    nanosleep(&ts, NULL);
    atomic_store(&once_value, 42);
}

static void once_caller(void *ctx, size_t i)
{
    (void)ctx;
    (void)i;
    dispatch_once_f(&once_predicate, &once_value, once_init);
    if (atomic_load(&once_value) == 42) {
        atomic_fetch_add(&once_saw_value, 1);
    }
}

static void test_once(void)
{
    enum { CALLERS = 16 };
    dispatch_apply_f(CALLERS, dispatch_get_global_queue(QOS_CLASS_DEFAULT, 0), NULL, once_caller);
    CHECK(atomic_load(&once_calls) == 1, "once function did not run exactly once");
    CHECK(atomic_load(&once_saw_value) == CALLERS, "a caller returned before the once function finished");
    CHECK(once_predicate == ~(dispatch_once_t)0, "predicate not ~0 after once completed");
    dispatch_once_f(&once_predicate, &once_value, once_init); /* the inline fast path */
    CHECK(atomic_load(&once_calls) == 1, "once function ran again");
}

/* ---- after ---- */

struct fired {
    dispatch_semaphore_t sema;
    dispatch_time_t at;       /* dispatch_time(NOW, 0) when the work ran */
    struct timespec wall_at;  /* CLOCK_REALTIME when the work ran */
};

static void record_fire(void *ctx)
{
    struct fired *f = ctx;
    f->at = dispatch_time(DISPATCH_TIME_NOW, 0);
    clock_gettime(CLOCK_REALTIME, &f->wall_at);
    dispatch_semaphore_signal(f->sema);
}

static int timespec_before(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static void test_after(void)
{
    dispatch_queue_t q = dispatch_queue_create("com.example.after", DISPATCH_QUEUE_SERIAL);
    CHECK(q != NULL, "dispatch_queue_create returned NULL");
    struct fired f = {dispatch_semaphore_create(0), 0, {0, 0}};
    CHECK(f.sema != NULL, "dispatch_semaphore_create returned NULL");

    /* Monotonic deadline. */
    dispatch_time_t when = in_ms(100);
    dispatch_after_f(when, q, &f, record_fire);
    CHECK(dispatch_semaphore_wait(f.sema, in_ms(10 * 1000)) == 0, "dispatch_after_f never fired");
    CHECK(f.at >= when, "dispatch_after_f fired before its deadline");

    /* Wall-clock deadline: 80 ms from now on CLOCK_REALTIME. */
    struct timespec now, target;
    clock_gettime(CLOCK_REALTIME, &now);
    target = now;
    target.tv_nsec += 80 * 1000 * 1000;
    if (target.tv_nsec >= 1000 * 1000 * 1000) {
        target.tv_sec += 1;
        target.tv_nsec -= 1000 * 1000 * 1000;
    }
    dispatch_after_f(dispatch_walltime(&now, 80 * (int64_t)NSEC_PER_MSEC), q, &f, record_fire);
    CHECK(dispatch_semaphore_wait(f.sema, in_ms(10 * 1000)) == 0, "walltime after never fired");
    CHECK(!timespec_before(&f.wall_at, &target), "walltime after fired before its deadline");

    /* DISPATCH_TIME_NOW: fires promptly. */
    dispatch_after_f(DISPATCH_TIME_NOW, q, &f, record_fire);
    CHECK(dispatch_semaphore_wait(f.sema, in_ms(10 * 1000)) == 0, "after(NOW) never fired");

    dispatch_release(f.sema);
    dispatch_release(q);
}

int main(void)
{
    test_apply(dispatch_get_global_queue(DISPATCH_QUEUE_PRIORITY_DEFAULT, 0));
    test_apply(DISPATCH_APPLY_AUTO);
    dispatch_queue_t concurrent = dispatch_queue_create("com.example.apply", DISPATCH_QUEUE_CONCURRENT);
    CHECK(concurrent != NULL, "dispatch_queue_create returned NULL");
    test_apply(concurrent);
    dispatch_release(concurrent);
    test_once();
    test_after();
    printf("compat_apply_once_after: ok\n");
    return 0;
}
