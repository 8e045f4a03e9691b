/* libdispatch-style queue usage: serial FIFO, concurrency, barriers, sync,
 * target queues, inactive queues, labels and queue-specific data. */
#define _POSIX_C_SOURCE 200809L
#include <dispatch/dispatch.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "compat_check.h"

static void pause_briefly(void)
{
    struct timespec ts = {0, 2 * 1000 * 1000};
    nanosleep(&ts, NULL);
}

/* ---- serial FIFO ---- */

enum { FIFO_COUNT = 1000 };
static int fifo_order[FIFO_COUNT];
static int fifo_next;

static void fifo_item(void *ctx)
{
    fifo_order[fifo_next++] = (int)(intptr_t)ctx;
}

static void test_serial_fifo(void)
{
    dispatch_queue_t q = dispatch_queue_create("com.example.fifo", DISPATCH_QUEUE_SERIAL);
    CHECK(q != NULL, "dispatch_queue_create returned NULL");
    for (intptr_t i = 0; i < FIFO_COUNT; i++) {
        dispatch_async_f(q, (void *)i, fifo_item);
    }
    dispatch_sync_f(q, NULL, nop); /* runs after every earlier item */
    CHECK(fifo_next == FIFO_COUNT, "not every async item ran before the sync");
    for (int i = 0; i < FIFO_COUNT; i++) {
        CHECK(fifo_order[i] == i, "serial queue ran items out of order");
    }
    dispatch_release(q);
}

/* ---- concurrent queue: two items run at the same time ---- */

struct pair {
    dispatch_semaphore_t sema;
    atomic_int waited_ok;
};

static void pair_waiter(void *ctx)
{
    struct pair *p = ctx;
    atomic_store(&p->waited_ok, dispatch_semaphore_wait(p->sema, deadline()) == 0);
}

static void pair_signaller(void *ctx)
{
    struct pair *p = ctx;
    dispatch_semaphore_signal(p->sema);
}

static void test_concurrent_runs_in_parallel(void)
{
    dispatch_queue_t q = dispatch_queue_create("com.example.parallel", DISPATCH_QUEUE_CONCURRENT);
    CHECK(q != NULL, "dispatch_queue_create(CONCURRENT) returned NULL");
    struct pair p = {dispatch_semaphore_create(0), 0};
    CHECK(p.sema != NULL, "dispatch_semaphore_create returned NULL");
    dispatch_group_t g = dispatch_group_create();
    CHECK(g != NULL, "dispatch_group_create returned NULL");
    /* If the queue ran one item at a time, the waiter would time out. */
    dispatch_group_async_f(g, q, &p, pair_waiter);
    dispatch_group_async_f(g, q, &p, pair_signaller);
    CHECK(dispatch_group_wait(g, dispatch_time(DISPATCH_TIME_NOW, 20 * (int64_t)NSEC_PER_SEC)) == 0,
          "concurrent items did not finish");
    CHECK(atomic_load(&p.waited_ok), "concurrent queue did not run two items at once");
    dispatch_release(g);
    dispatch_release(p.sema);
    dispatch_release(q);
}

/* ---- concurrent queue + barrier ---- */

enum { READERS = 64 };
static atomic_int readers_running;
static atomic_int readers_done;
static atomic_int barrier_ran;
static atomic_int barrier_saw_done;
static atomic_int barrier_saw_running;
static atomic_int late_readers_before_barrier;

static void early_reader(void *ctx)
{
    (void)ctx;
    atomic_fetch_add(&readers_running, 1);
    pause_briefly();
    atomic_fetch_sub(&readers_running, 1);
    atomic_fetch_add(&readers_done, 1);
}

static void barrier_item(void *ctx)
{
    (void)ctx;
    atomic_store(&barrier_saw_done, atomic_load(&readers_done));
    int running = atomic_load(&readers_running);
    pause_briefly(); /* a reader running alongside would show up here */
    running += atomic_load(&readers_running);
    atomic_store(&barrier_saw_running, running);
    atomic_store(&barrier_ran, 1);
}

static void late_reader(void *ctx)
{
    (void)ctx;
    if (!atomic_load(&barrier_ran)) {
        atomic_fetch_add(&late_readers_before_barrier, 1);
    }
}

static void test_barrier(void)
{
    dispatch_queue_t q = dispatch_queue_create("com.example.rw", DISPATCH_QUEUE_CONCURRENT);
    CHECK(q != NULL, "dispatch_queue_create(CONCURRENT) returned NULL");
    for (int i = 0; i < READERS; i++) {
        dispatch_async_f(q, NULL, early_reader);
    }
    dispatch_barrier_async_f(q, NULL, barrier_item);
    for (int i = 0; i < READERS; i++) {
        dispatch_async_f(q, NULL, late_reader);
    }
    dispatch_barrier_sync_f(q, NULL, nop); /* waits for all of the above */
    CHECK(atomic_load(&barrier_ran), "barrier did not run");
    CHECK(atomic_load(&barrier_saw_done) == READERS, "barrier ran before earlier items finished");
    CHECK(atomic_load(&barrier_saw_running) == 0, "barrier ran alongside other items");
    CHECK(atomic_load(&late_readers_before_barrier) == 0, "later item ran before the barrier");
    dispatch_release(q);
}

/* ---- sync returns after the work ran ---- */

static void set_flag(void *ctx)
{
    *(int *)ctx = 1;
}

static void test_sync(void)
{
    dispatch_queue_t serial = dispatch_queue_create("com.example.sync", DISPATCH_QUEUE_SERIAL);
    dispatch_queue_t concurrent = dispatch_queue_create("com.example.sync.c", DISPATCH_QUEUE_CONCURRENT);
    CHECK(serial != NULL && concurrent != NULL, "dispatch_queue_create returned NULL");
    int a = 0, b = 0, c = 0;
    dispatch_sync_f(serial, &a, set_flag);
    dispatch_sync_f(concurrent, &b, set_flag);
    dispatch_sync_f(dispatch_get_global_queue(DISPATCH_QUEUE_PRIORITY_DEFAULT, 0), &c, set_flag);
    CHECK(a == 1 && b == 1 && c == 1, "dispatch_sync_f returned before its work ran");
    dispatch_release(serial);
    dispatch_release(concurrent);
}

/* ---- target queues: serial queues sharing a serial target never overlap ---- */

static atomic_int target_in_flight;
static atomic_int target_overlap;
static atomic_int target_ran;
static int target_key;
static int target_value = 7;
static atomic_int target_specific_ok;

static void target_item(void *ctx)
{
    (void)ctx;
    if (atomic_fetch_add(&target_in_flight, 1) != 0) {
        atomic_store(&target_overlap, 1);
    }
    if (dispatch_get_specific(&target_key) == &target_value) {
        atomic_fetch_add(&target_specific_ok, 1);
    }
    pause_briefly();
    atomic_fetch_sub(&target_in_flight, 1);
    atomic_fetch_add(&target_ran, 1);
}

static void test_target_queue(void)
{
    enum { PER_QUEUE = 20 };
    dispatch_queue_t target = dispatch_queue_create("com.example.target", DISPATCH_QUEUE_SERIAL);
    CHECK(target != NULL, "dispatch_queue_create returned NULL");
    dispatch_queue_set_specific(target, &target_key, &target_value, NULL);

    dispatch_queue_t a = dispatch_queue_create_with_target("com.example.a", DISPATCH_QUEUE_SERIAL, target);
    /* The classic pattern: create inactive, retarget, then activate. */
    dispatch_queue_t b = dispatch_queue_create("com.example.b", DISPATCH_QUEUE_SERIAL_INACTIVE);
    CHECK(a != NULL && b != NULL, "dispatch_queue_create returned NULL");
    dispatch_set_target_queue(b, target);
    dispatch_activate(b);

    dispatch_group_t g = dispatch_group_create();
    CHECK(g != NULL, "dispatch_group_create returned NULL");
    for (int i = 0; i < PER_QUEUE; i++) {
        dispatch_group_async_f(g, a, NULL, target_item);
        dispatch_group_async_f(g, b, NULL, target_item);
    }
    CHECK(dispatch_group_wait(g, deadline()) == 0, "items on targeted queues did not finish");
    CHECK(atomic_load(&target_ran) == 2 * PER_QUEUE, "not every targeted item ran");
    CHECK(atomic_load(&target_overlap) == 0, "queues sharing a serial target ran at the same time");
    CHECK(atomic_load(&target_specific_ok) == 2 * PER_QUEUE,
          "dispatch_get_specific did not find the target queue's value");
    dispatch_release(g);
    dispatch_release(a);
    dispatch_release(b);
    dispatch_release(target);
}

/* ---- labels ---- */

static void read_current_label(void *ctx)
{
    const char **out = ctx;
    *out = dispatch_queue_get_label(DISPATCH_CURRENT_QUEUE_LABEL);
}

static void test_label(void)
{
    dispatch_queue_t q = dispatch_queue_create("com.example.label", DISPATCH_QUEUE_SERIAL);
    CHECK(q != NULL, "dispatch_queue_create returned NULL");
    CHECK(strcmp(dispatch_queue_get_label(q), "com.example.label") == 0, "wrong label");
    const char *current = NULL;
    dispatch_sync_f(q, &current, read_current_label);
    CHECK(current != NULL && strcmp(current, "com.example.label") == 0,
          "DISPATCH_CURRENT_QUEUE_LABEL inside an item is not the queue's label");
    dispatch_queue_t global = dispatch_get_global_queue(QOS_CLASS_UTILITY, 0);
    CHECK(global != NULL, "dispatch_get_global_queue(QOS_CLASS_UTILITY) returned NULL");
    CHECK(dispatch_queue_get_label(global) != NULL, "global queue label is NULL");
    dispatch_release(q);
}

/* ---- queue-specific data ---- */

static int key_a, key_b;
static int value_1 = 1, value_2 = 2;
static atomic_int destructor_calls;

static void count_destructor(void *ctx)
{
    if (ctx == &value_1) {
        atomic_fetch_add(&destructor_calls, 1);
    }
}

static void read_specific(void *ctx)
{
    void **out = ctx;
    out[0] = dispatch_get_specific(&key_a);
    out[1] = dispatch_get_specific(&key_b);
}

static void test_specific(void)
{
    dispatch_queue_t q = dispatch_queue_create("com.example.specific", DISPATCH_QUEUE_SERIAL);
    CHECK(q != NULL, "dispatch_queue_create returned NULL");
    dispatch_queue_set_specific(q, &key_a, &value_1, count_destructor);
    CHECK(dispatch_queue_get_specific(q, &key_a) == &value_1, "queue_get_specific: wrong value");
    CHECK(dispatch_queue_get_specific(q, &key_b) == NULL, "queue_get_specific: unset key not NULL");
    CHECK(dispatch_get_specific(&key_a) == NULL, "get_specific outside any queue is not NULL");

    void *seen[2] = {NULL, NULL};
    dispatch_sync_f(q, seen, read_specific);
    CHECK(seen[0] == &value_1, "get_specific inside the queue: wrong value");
    CHECK(seen[1] == NULL, "get_specific inside the queue: unset key not NULL");

    /* Replacing the value runs the destructor on the old one. */
    dispatch_queue_set_specific(q, &key_a, &value_2, count_destructor);
    CHECK(dispatch_queue_get_specific(q, &key_a) == &value_2, "replaced value not visible");
    for (int i = 0; i < 5000 && atomic_load(&destructor_calls) == 0; i++) {
        pause_briefly();
    }
    CHECK(atomic_load(&destructor_calls) == 1, "destructor not called once for the replaced value");
    dispatch_release(q);
}

int main(void)
{
    test_serial_fifo();
    test_concurrent_runs_in_parallel();
    test_barrier();
    test_sync();
    test_target_queue();
    test_label();
    test_specific();
    printf("compat_queues: ok\n");
    return 0;
}
