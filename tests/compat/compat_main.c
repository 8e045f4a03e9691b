/* libdispatch-style main queue: work posted from a global queue to the main
 * queue runs on the main thread, in order, once main() parks in dispatch_main().
 * The last item exits 0; a watchdog on a global queue exits 1 after 10 s. */
#define _POSIX_C_SOURCE 200809L
#include <dispatch/dispatch.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static pthread_t main_thread;
static int steps; /* only touched on the main queue */

static void fail(const char *msg)
{
    fprintf(stderr, "compat_main: %s\n", msg);
    exit(1);
}

static void watchdog(void *ctx)
{
    (void)ctx;
    fail("main queue work did not run within 10 s");
}

static void first_on_main(void *ctx)
{
    (void)ctx;
    if (!pthread_equal(pthread_self(), main_thread)) {
        fail("main queue work ran off the main thread");
    }
    if (steps != 0) {
        fail("main queue items ran out of order");
    }
    steps = 1;
}

static void last_on_main(void *ctx)
{
    (void)ctx;
    if (!pthread_equal(pthread_self(), main_thread)) {
        fail("main queue work ran off the main thread");
    }
    if (steps != 1) {
        fail("main queue items ran out of order");
    }
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
    if (global == NULL || dispatch_get_main_queue() == NULL) {
        fail("global or main queue is NULL");
    }
    dispatch_after_f(dispatch_time(DISPATCH_TIME_NOW, 10 * (int64_t)NSEC_PER_SEC), global, NULL,
                     watchdog);
    dispatch_async_f(global, NULL, from_global);
    dispatch_main();
}
