/* libdispatch-style main queue: work posted from a global queue to the main
 * queue runs on the main thread, in order, once main() parks in dispatch_main().
 * The last item exits 0; a watchdog on a global queue exits 1 after 10 s. */
#define _POSIX_C_SOURCE 200809L
#include <dispatch/dispatch.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "compat_check.h"

static pthread_t main_thread;
static int steps; /* only touched on the main queue */

static void watchdog(void *ctx)
{
    (void)ctx;
    CHECK(0, "main queue work did not run within 10 s");
}

/* Main queue item number `step` (from 0): on the main thread, after the ones before it. */
static void check_step_on_main(int step)
{
    CHECK(pthread_equal(pthread_self(), main_thread), "main queue work ran off the main thread");
    CHECK(steps == step, "main queue items ran out of order");
    steps = step + 1;
}

static void first_on_main(void *ctx)
{
    (void)ctx;
    check_step_on_main(0);
}

static void last_on_main(void *ctx)
{
    (void)ctx;
    check_step_on_main(1);
    printf("compat_main: ok\n");
    exit(0);
}

static void from_global(void *ctx)
{
    (void)ctx;
    dispatch_queue_t main_queue = dispatch_get_main_queue();
    dispatch_async_f(main_queue, NULL, first_on_main);
    dispatch_async_f(main_queue, NULL, last_on_main);
}

int main(void)
{
    main_thread = pthread_self();
    dispatch_queue_t global = dispatch_get_global_queue(DISPATCH_QUEUE_PRIORITY_DEFAULT, 0);
    CHECK(global != NULL && dispatch_get_main_queue() != NULL, "global or main queue is NULL");
    dispatch_after_f(deadline(), global, NULL, watchdog);
    dispatch_async_f(global, NULL, from_global);
    dispatch_main();
}
