/* libdispatch's block API (clang -fblocks) over rgcd: async, sync, barriers,
 * after, apply, once, group async and notify. Asynchronous blocks are copied,
 * so they may capture locals of a function that has already returned.
 *
 * Build: clang -fblocks -std=c11 -Wall -Wextra -Werror -Iinclude \
 *          tests/compat/blocks/blocks_basic.c -Ltarget/release -lrgcd -lBlocksRuntime
 */
#define _POSIX_C_SOURCE 200809L
#include <dispatch/dispatch.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "../compat_check.h"

static atomic_int captured_sum;
static int order[100]; /* only touched on the serial queue */

/* Submits a block capturing this frame's locals, then returns before it runs. */
static void submit_from_frame(dispatch_queue_t q, dispatch_group_t g, int a, int b)
{
    int local = a * 100 + b;
    dispatch_group_async(g, q, ^{
        atomic_fetch_add(&captured_sum, local);
    });
}

int main(void)
{
    dispatch_queue_t serial = dispatch_queue_create("com.example.blocks", DISPATCH_QUEUE_SERIAL);
    dispatch_queue_t concurrent = dispatch_queue_create("com.example.blocks.c", DISPATCH_QUEUE_CONCURRENT);
    dispatch_group_t group = dispatch_group_create();
    CHECK(serial != NULL && concurrent != NULL && group != NULL, "creation returned NULL");

    /* async + sync on a serial queue: FIFO, sync sees every earlier block. */
    __block int next = 0;
    for (int i = 0; i < 100; i++) {
        dispatch_async(serial, ^{
            order[next++] = i;
        });
    }
    __block int seen = -1;
    dispatch_sync(serial, ^{
        seen = next;
    });
    CHECK(seen == 100, "sync ran before earlier async blocks");
    for (int i = 0; i < 100; i++) {
        CHECK(order[i] == i, "async blocks ran out of order");
    }

    /* Blocks capturing locals of a returned frame. */
    for (int i = 0; i < 10; i++) {
        submit_from_frame(concurrent, group, i, 1);
    }
    CHECK(dispatch_group_wait(group, deadline()) == 0, "group_async blocks did not finish");
    CHECK(atomic_load(&captured_sum) == 4500 + 10, "copied blocks lost their captures");

    /* Barriers: the barrier sees every earlier block finished. */
    __block atomic_int before = 0;
    __block int barrier_saw = -1;
    for (int i = 0; i < 20; i++) {
        dispatch_async(concurrent, ^{
            atomic_fetch_add(&before, 1);
        });
    }
    dispatch_barrier_async(concurrent, ^{
        barrier_saw = atomic_load(&before);
    });
    __block int flushed = 0;
    dispatch_barrier_sync(concurrent, ^{
        flushed = 1;
    });
    CHECK(flushed == 1 && barrier_saw == 20, "barrier did not wait for earlier blocks");

    /* apply */
    __block atomic_long sum = 0;
    dispatch_apply(1000, DISPATCH_APPLY_AUTO, ^(size_t i) {
        atomic_fetch_add(&sum, (long)i);
    });
    CHECK(atomic_load(&sum) == 999L * 1000 / 2, "apply: wrong sum");

    /* once */
    static dispatch_once_t once;
    __block atomic_int once_calls = 0;
    dispatch_apply(8, dispatch_get_global_queue(QOS_CLASS_DEFAULT, 0), ^(size_t i) {
        (void)i;
        dispatch_once(&once, ^{
            atomic_fetch_add(&once_calls, 1);
        });
    });
    CHECK(atomic_load(&once_calls) == 1, "once block did not run exactly once");

    /* after + group notify */
    dispatch_semaphore_t done = dispatch_semaphore_create(0);
    CHECK(done != NULL, "dispatch_semaphore_create returned NULL");
    dispatch_time_t when = dispatch_time(DISPATCH_TIME_NOW, 30 * (int64_t)NSEC_PER_MSEC);
    __block dispatch_time_t fired_at = 0;
    dispatch_after(when, serial, ^{
        fired_at = dispatch_time(DISPATCH_TIME_NOW, 0);
        dispatch_semaphore_signal(done);
    });
    CHECK(dispatch_semaphore_wait(done, deadline()) == 0, "after block never ran");
    CHECK(fired_at >= when, "after block ran before its deadline");

    dispatch_group_enter(group);
    __block int notified = 0;
    dispatch_group_notify(group, serial, ^{
        notified = 1;
        dispatch_semaphore_signal(done);
    });
    dispatch_async(concurrent, ^{
        dispatch_group_leave(group);
    });
    CHECK(dispatch_semaphore_wait(done, deadline()) == 0, "notify block never ran");
    CHECK(notified == 1, "notify block did not run");

    dispatch_release(done);
    dispatch_release(group);
    dispatch_release(concurrent);
    dispatch_release(serial);
    printf("blocks_basic: ok\n");
    return 0;
}
