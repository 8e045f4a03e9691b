/* The rest of libdispatch's portable queue/object names through <dispatch/dispatch.h> and
 * <dispatch/private.h>: dispatch_get_current_queue (on a queue, through a target, off any
 * queue), dispatch_assert_queue / _not / _barrier (a failed one aborts, in a child), workloops
 * (FIFO, inactive creation, autorelease frequency accepted), dispatch_debug, dispatch_fd_t,
 * the C11 generic dispatch_wait / dispatch_cancel / dispatch_testcancel, and the private
 * DISPATCH_QUEUE_OVERCOMMIT and dispatch_queue_set_width. */
#define _POSIX_C_SOURCE 200809L
#include "compat_check.h"

#include <dispatch/private.h>

#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static dispatch_queue_t q, child_q;
static int results[8];
static int fifo[100];
static int fifo_n;

static void on_q(void *ctx)
{
    (void)ctx;
    results[0] = dispatch_get_current_queue() == q;
    dispatch_assert_queue(q);
    dispatch_assert_queue_barrier(q);
    dispatch_assert_queue_not(child_q);
    dispatch_assert_queue_debug(q);
}

static void on_child(void *ctx)
{
    (void)ctx;
    results[1] = dispatch_get_current_queue() == child_q;
    dispatch_assert_queue(q); /* runs as part of q through its target */
    dispatch_assert_queue(child_q);
}

static void push(void *ctx)
{
    fifo[fifo_n++] = (int)(intptr_t)ctx;
}

static void mark(void *ctx) { *(int *)ctx = 1; }

int main(void)
{
    q = dispatch_queue_create("compat.extras", DISPATCH_QUEUE_SERIAL);
    child_q = dispatch_queue_create_with_target("compat.extras.child", DISPATCH_QUEUE_SERIAL, q);
    CHECK(q && child_q, "queues");
    dispatch_sync_f(q, NULL, on_q);
    dispatch_sync_f(child_q, NULL, on_child);
    CHECK(results[0] && results[1], "dispatch_get_current_queue on a queue");
    dispatch_assert_queue_not(q);
    /* Off any queue, on the main thread: the main queue. */
    CHECK(dispatch_get_current_queue() == dispatch_get_main_queue(), "off any queue");

    /* A failed assertion: one line naming the queue, then abort. */
    int err[2];
    CHECK(pipe(err) == 0, "pipe");
    pid_t pid = fork();
    CHECK(pid >= 0, "fork");
    if (pid == 0) {
        dup2(err[1], 2);
        dispatch_assert_queue(q);
        _exit(0);
    }
    close(err[1]);
    char buf[256] = {0};
    ssize_t n = read(err[0], buf, sizeof buf - 1);
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "a failed assertion aborts");
    CHECK(n > 0 && strstr(buf, "compat.extras") != NULL, "the assertion names the queue");

    /* Workloops. */
    dispatch_workloop_t wl = dispatch_workloop_create_inactive("compat.workloop");
    CHECK(wl != NULL, "workloop");
    dispatch_workloop_set_autorelease_frequency(wl, DISPATCH_AUTORELEASE_FREQUENCY_WORK_ITEM);
    for (intptr_t i = 0; i < 100; i++)
        dispatch_async_f(wl, (void *)i, push);
    sleep_ms(10);
    CHECK(fifo_n == 0, "an inactive workloop runs nothing");
    dispatch_activate(wl);
    int done = 0;
    dispatch_sync_f(wl, &done, mark);
    CHECK(done && fifo_n == 100, "workloop ran everything");
    for (int i = 0; i < 100; i++)
        CHECK(fifo[i] == i, "workloop FIFO");
    dispatch_workloop_t wl2 = dispatch_workloop_create("compat.workloop2");
    dispatch_sync_f(wl2, &done, mark);
    dispatch_release(wl2);
    dispatch_release(wl);

    /* Generic waits and cancels. */
    dispatch_group_t g = dispatch_group_create();
    dispatch_semaphore_t s = dispatch_semaphore_create(1);
    CHECK(dispatch_wait(g, DISPATCH_TIME_NOW) == 0, "dispatch_wait(group)");
    CHECK(dispatch_wait(s, DISPATCH_TIME_NOW) == 0, "dispatch_wait(semaphore)");
    CHECK(dispatch_wait(s, DISPATCH_TIME_NOW) != 0, "dispatch_wait(semaphore) times out");
    dispatch_fd_t fd = 0;
    (void)fd;
    dispatch_source_t src = dispatch_source_create(DISPATCH_SOURCE_TYPE_DATA_ADD, 0, 0, q);
    dispatch_resume(src);
    CHECK(dispatch_testcancel(src) == 0, "not cancelled");
    dispatch_cancel(src);
    CHECK(dispatch_testcancel(src) != 0, "cancelled");
    dispatch_release(src);
    dispatch_release(g);
    dispatch_release(s);

    /* dispatch_debug writes a line; private names. */
    dispatch_debug(q, "compat_queue_extras: %s %d", "debug line", 1);
    dispatch_queue_t oc = dispatch_get_global_queue(DISPATCH_QUEUE_PRIORITY_DEFAULT, DISPATCH_QUEUE_OVERCOMMIT);
    CHECK(oc != NULL && oc != dispatch_get_global_queue(DISPATCH_QUEUE_PRIORITY_DEFAULT, 0),
          "the overcommit global queue is a queue of its own");
    done = 0;
    dispatch_sync_f(oc, &done, mark);
    CHECK(done, "sync on the overcommit global queue");
    dispatch_queue_t c = dispatch_queue_create("compat.width", DISPATCH_QUEUE_CONCURRENT);
    dispatch_queue_set_width(c, DISPATCH_QUEUE_WIDTH_MAX_LOGICAL_CPUS);
    done = 0;
    dispatch_sync_f(c, &done, mark);
    CHECK(done, "a queue after set_width");
    dispatch_release(c);
    dispatch_release(child_q);
    dispatch_release(q);
    return 0;
}
