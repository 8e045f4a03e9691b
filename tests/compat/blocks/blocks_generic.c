/* The generic forms under clang -fblocks: dispatch_wait on a group, a semaphore and a block
 * object; dispatch_notify on a group and a block object; dispatch_cancel and
 * dispatch_testcancel on a source and a block object. Each form must reach the right
 * function (a timed-out wait, a cancelled block object that still completes, a notification
 * that runs after its object), and everything made is freed at the end.
 *
 * Build: clang -fblocks -std=c11 -Wall -Wextra -Werror -Iinclude \
 *          tests/compat/blocks/blocks_generic.c -Lbuild/lib -lrgcd -lBlocksRuntime
 */
#define _POSIX_C_SOURCE 200809L
#include <dispatch/dispatch.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "../compat_check.h"

static atomic_int ran;
static atomic_int notified;

int main(void)
{
    size_t base = rgcd_debug_live_objects();
    dispatch_queue_t serial = dispatch_queue_create("blocks.generic", DISPATCH_QUEUE_SERIAL);
    CHECK(serial != NULL, "queue");

    /* dispatch_wait on a group: times out while work is held back, then returns 0. */
    dispatch_group_t g = dispatch_group_create();
    dispatch_semaphore_t gate = dispatch_semaphore_create(0);
    dispatch_group_async(g, serial, ^{
        dispatch_semaphore_wait(gate, DISPATCH_TIME_FOREVER);
        atomic_fetch_add(&ran, 1);
    });
    CHECK(dispatch_wait(g, in_ms(20)) != 0, "dispatch_wait(group) times out while work waits");
    /* dispatch_notify on a group: runs after the group's work. */
    dispatch_notify(g, serial, ^{
        if (atomic_load(&ran) == 1) atomic_fetch_add(&notified, 1);
    });
    dispatch_semaphore_signal(gate);
    CHECK(dispatch_wait(g, deadline()) == 0, "dispatch_wait(group)");

    /* dispatch_wait on a semaphore. */
    dispatch_semaphore_t sem = dispatch_semaphore_create(0);
    CHECK(dispatch_wait(sem, in_ms(10)) != 0, "dispatch_wait(semaphore) times out at 0");
    dispatch_semaphore_signal(sem);
    CHECK(dispatch_wait(sem, DISPATCH_TIME_NOW) == 0, "dispatch_wait(semaphore) after a signal");

    /* dispatch_wait and dispatch_notify on a block object. */
    dispatch_block_t b = dispatch_block_create(0, ^{
        atomic_fetch_add(&ran, 1);
    });
    CHECK(b != NULL, "dispatch_block_create");
    CHECK(dispatch_wait(b, in_ms(20)) != 0, "dispatch_wait(block) times out before it runs");
    dispatch_notify(b, serial, ^{
        if (atomic_load(&ran) == 2) atomic_fetch_add(&notified, 1);
    });
    dispatch_async(serial, b);
    CHECK(dispatch_wait(b, deadline()) == 0, "dispatch_wait(block)");
    CHECK(atomic_load(&ran) == 2, "the block object ran once");
    Block_release(b);

    /* dispatch_cancel / dispatch_testcancel on a block object: it completes without running. */
    b = dispatch_block_create(0, ^{
        atomic_fetch_add(&ran, 100);
    });
    CHECK(dispatch_testcancel(b) == 0, "dispatch_testcancel(block) before the cancel");
    dispatch_cancel(b);
    CHECK(dispatch_testcancel(b) != 0, "dispatch_testcancel(block) after the cancel");
    dispatch_async(serial, b);
    CHECK(dispatch_wait(b, deadline()) == 0, "a cancelled block object completes");
    CHECK(atomic_load(&ran) == 2, "a cancelled block object does not run its work");
    Block_release(b);

    /* dispatch_cancel / dispatch_testcancel on a source. */
    dispatch_source_t src = dispatch_source_create(DISPATCH_SOURCE_TYPE_DATA_ADD, 0, 0, serial);
    CHECK(src != NULL, "source");
    __block int cancelled = 0;
    dispatch_source_set_event_handler(src, ^{
    });
    dispatch_source_set_cancel_handler(src, ^{
        cancelled++;
        dispatch_semaphore_signal(sem);
    });
    dispatch_activate(src);
    CHECK(dispatch_testcancel(src) == 0, "dispatch_testcancel(source) before the cancel");
    dispatch_cancel(src);
    CHECK(dispatch_testcancel(src) != 0, "dispatch_testcancel(source) after the cancel");
    CHECK(dispatch_wait(sem, deadline()) == 0, "the source's cancel handler ran");

    dispatch_sync(serial, ^{
    }); /* the notifications queued before this have run */
    CHECK(atomic_load(&notified) == 2, "both notifications ran after their objects");
    CHECK(cancelled == 1, "the cancel handler ran once");

    dispatch_release(src);
    dispatch_release(sem);
    dispatch_release(gate);
    dispatch_release(g);
    dispatch_release(serial);
    check_freed_and_quiet(base);
    puts("blocks_generic: ok");
    return 0;
}
