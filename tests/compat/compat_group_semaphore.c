/* libdispatch-style groups and semaphores: group async/notify/wait (with and
 * without timing out), enter/leave, semaphore timeouts, signal waking a waiter,
 * and a semaphore bounding concurrency. */
#define _POSIX_C_SOURCE 200809L
#include <dispatch/dispatch.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "compat_check.h"

/* ---- group async + wait + notify ---- */

enum { JOBS = 200 };
static atomic_int jobs_done;

static void job(void *ctx)
{
    (void)ctx;
    atomic_fetch_add(&jobs_done, 1);
}

struct notified {
    dispatch_semaphore_t sema;
    int jobs_seen;
};

static void on_notify(void *ctx)
{
    struct notified *n = ctx;
    n->jobs_seen = atomic_load(&jobs_done);
    dispatch_semaphore_signal(n->sema);
}

static void test_group_async_notify_wait(void)
{
    dispatch_group_t g = dispatch_group_create();
    dispatch_queue_t serial = dispatch_queue_create("com.example.notify", DISPATCH_QUEUE_SERIAL);
    dispatch_queue_t global = dispatch_get_global_queue(DISPATCH_QUEUE_PRIORITY_DEFAULT, 0);
    CHECK(g != NULL && serial != NULL && global != NULL, "creation returned NULL");

    struct notified n = {dispatch_semaphore_create(0), -1};
    CHECK(n.sema != NULL, "dispatch_semaphore_create returned NULL");
    for (int i = 0; i < JOBS; i++) {
        dispatch_group_async_f(g, (i % 2) ? global : serial, NULL, job);
    }
    dispatch_group_notify_f(g, serial, &n, on_notify);
    CHECK(dispatch_group_wait(g, deadline()) == 0, "group_wait timed out");
    CHECK(atomic_load(&jobs_done) == JOBS, "group_wait returned before every job ran");
    CHECK(dispatch_semaphore_wait(n.sema, deadline()) == 0, "group notify did not run");
    CHECK(n.jobs_seen == JOBS, "group notify ran before every job finished");

    /* A group that is already empty: wait returns at once, notify still runs. */
    CHECK(dispatch_group_wait(g, DISPATCH_TIME_NOW) == 0, "wait on an empty group timed out");
    dispatch_group_notify_f(g, global, &n, on_notify);
    CHECK(dispatch_semaphore_wait(n.sema, deadline()) == 0, "notify on an empty group did not run");

    dispatch_release(n.sema);
    dispatch_release(serial);
    dispatch_release(g);
}

/* ---- group enter/leave and a wait that times out ---- */

static void leave_group(void *ctx)
{
    dispatch_group_leave((dispatch_group_t)ctx);
}

static void test_group_wait_timeout(void)
{
    dispatch_group_t g = dispatch_group_create();
    CHECK(g != NULL, "dispatch_group_create returned NULL");
    dispatch_group_enter(g);
    CHECK(dispatch_group_wait(g, DISPATCH_TIME_NOW) != 0, "wait(NOW) on a busy group succeeded");
    CHECK(dispatch_group_wait(g, in_ms(50)) != 0, "wait on a busy group did not time out");

    /* Leave from another thread later: a long wait now succeeds. */
    dispatch_after_f(in_ms(20), dispatch_get_global_queue(QOS_CLASS_DEFAULT, 0), g, leave_group);
    CHECK(dispatch_group_wait(g, deadline()) == 0, "wait did not see the leave");
    dispatch_release(g);
}

/* ---- semaphore: timeouts and counting ---- */

static void test_semaphore_timeout(void)
{
    dispatch_semaphore_t s = dispatch_semaphore_create(0);
    CHECK(s != NULL, "dispatch_semaphore_create returned NULL");
    CHECK(dispatch_semaphore_wait(s, DISPATCH_TIME_NOW) != 0, "wait(NOW) on zero succeeded");
    CHECK(dispatch_semaphore_wait(s, in_ms(30)) != 0, "wait on zero did not time out");
    CHECK(dispatch_semaphore_signal(s) == 0, "signal with no waiter claims it woke one");
    CHECK(dispatch_semaphore_signal(s) == 0, "signal with no waiter claims it woke one");
    CHECK(dispatch_semaphore_wait(s, DISPATCH_TIME_NOW) == 0, "count 2: first wait failed");
    CHECK(dispatch_semaphore_wait(s, in_ms(30)) == 0, "count 1: second wait failed");
    CHECK(dispatch_semaphore_wait(s, DISPATCH_TIME_NOW) != 0, "count 0: third wait succeeded");
    dispatch_release(s);

    CHECK(dispatch_semaphore_create(-1) == NULL, "semaphore with a negative value was created");
}

/* ---- semaphore: signal wakes a blocked waiter and says so ---- */

struct waiter {
    dispatch_semaphore_t sema;
    dispatch_semaphore_t done;
    atomic_int started;
    atomic_int result;
};

static void blocking_waiter(void *ctx)
{
    struct waiter *w = ctx;
    atomic_store(&w->started, 1);
    atomic_store(&w->result, (int)dispatch_semaphore_wait(w->sema, deadline()));
    dispatch_semaphore_signal(w->done);
}

static void test_semaphore_signal_wakes(void)
{
    /* Whether the waiter is already blocked when we signal is up to the
     * scheduler, so try a few times with growing pauses; a signal must report a
     * wake-up at least once, and every waiter must get through. */
    int woke_reported = 0;
    for (int attempt = 1; attempt <= 10 && !woke_reported; attempt++) {
        struct waiter w = {dispatch_semaphore_create(0), dispatch_semaphore_create(0), 0, -1};
        CHECK(w.sema != NULL && w.done != NULL, "dispatch_semaphore_create returned NULL");
        dispatch_async_f(dispatch_get_global_queue(QOS_CLASS_USER_INITIATED, 0), &w, blocking_waiter);
        for (int i = 0; i < 10000 && !atomic_load(&w.started); i++) {
            sleep_ms(1);
        }
        CHECK(atomic_load(&w.started), "waiter never started");
        sleep_ms(10L * attempt);
        woke_reported = dispatch_semaphore_signal(w.sema) != 0;
        CHECK(dispatch_semaphore_wait(w.done, deadline()) == 0, "waiter did not finish");
        CHECK(atomic_load(&w.result) == 0, "waiter timed out although it was signalled");
        dispatch_release(w.sema);
        dispatch_release(w.done);
    }
    CHECK(woke_reported, "dispatch_semaphore_signal never reported waking a blocked waiter");
}

/* ---- semaphore as a concurrency limit ---- */

enum { LIMIT = 2, LIMITED_JOBS = 16 };
static dispatch_semaphore_t slots;
static atomic_int in_flight;
static atomic_int max_in_flight;

static void limited_job(void *ctx)
{
    (void)ctx;
    CHECK(dispatch_semaphore_wait(slots, deadline()) == 0, "slot wait timed out");
    int now = atomic_fetch_add(&in_flight, 1) + 1;
    int seen = atomic_load(&max_in_flight);
    while (now > seen && !atomic_compare_exchange_weak(&max_in_flight, &seen, now)) {
    }
    sleep_ms(2);
    atomic_fetch_sub(&in_flight, 1);
    dispatch_semaphore_signal(slots);
}

static void test_semaphore_limits_concurrency(void)
{
    slots = dispatch_semaphore_create(LIMIT);
    dispatch_queue_t q = dispatch_queue_create("com.example.limited", DISPATCH_QUEUE_CONCURRENT);
    dispatch_group_t g = dispatch_group_create();
    CHECK(slots != NULL && q != NULL && g != NULL, "creation returned NULL");
    for (int i = 0; i < LIMITED_JOBS; i++) {
        dispatch_group_async_f(g, q, NULL, limited_job);
    }
    CHECK(dispatch_group_wait(g, deadline()) == 0, "limited jobs did not finish");
    CHECK(atomic_load(&max_in_flight) >= 1 && atomic_load(&max_in_flight) <= LIMIT,
          "semaphore did not bound the number of jobs in flight");
    dispatch_release(g);
    dispatch_release(q);
    dispatch_release(slots);
}

int main(void)
{
    test_group_async_notify_wait();
    test_group_wait_timeout();
    test_semaphore_timeout();
    test_semaphore_signal_wakes();
    test_semaphore_limits_concurrency();
    printf("compat_group_semaphore: ok\n");
    return 0;
}
