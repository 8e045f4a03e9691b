/* Block objects (dispatch_block_create & co) under clang -fblocks: waiting, notification,
 * cancellation, the barrier flag with async, sync and group async, perform, bad input, and
 * that every block object's state is freed with its last Block_release (its group is an rgcd
 * object, so the live-object count shows a leak).
 *
 * Build: clang -fblocks -std=c11 -Wall -Wextra -Werror -Iinclude \
 *          tests/compat/blocks/blocks_objects.c -Lbuild/lib -lrgcd -lBlocksRuntime
 */
#define _POSIX_C_SOURCE 200809L
#include <dispatch/dispatch.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "../compat_check.h"

static atomic_int runs;
static atomic_int active;
static atomic_int violations;

int main(void)
{
    size_t base = rgcd_debug_live_objects();
    dispatch_queue_t serial = dispatch_queue_create("blocks.objects", DISPATCH_QUEUE_SERIAL);
    dispatch_queue_t conc = dispatch_queue_create("blocks.objects.c", DISPATCH_QUEUE_CONCURRENT);
    dispatch_semaphore_t sem = dispatch_semaphore_create(0);
    CHECK(serial != NULL && conc != NULL && sem != NULL, "creation");

    /* 1. async + wait: wait returns once it ran, and it ran once. */
    dispatch_block_t b = dispatch_block_create(0, ^{
        sleep_ms(20);
        atomic_fetch_add(&runs, 1);
    });
    CHECK(b != NULL, "dispatch_block_create");
    CHECK(dispatch_block_testcancel(b) == 0, "a new block object is not cancelled");
    dispatch_async(serial, b);
    CHECK(dispatch_block_wait(b, deadline()) == 0, "wait for a submitted block object");
    CHECK(atomic_load(&runs) == 1, "wait returned before the block object ran");
    CHECK(dispatch_block_wait(b, DISPATCH_TIME_NOW) == 0, "a second wait returns at once");
    Block_release(b);

    /* 2. not submitted: wait times out; called directly, it completes. */
    atomic_store(&runs, 0);
    b = dispatch_block_create(0, ^{
        atomic_fetch_add(&runs, 1);
    });
    CHECK(dispatch_block_wait(b, in_ms(30)) != 0, "wait on a block object nobody ran");
    b();
    CHECK(dispatch_block_wait(b, DISPATCH_TIME_NOW) == 0, "wait after a direct call");
    CHECK(atomic_load(&runs) == 1, "a direct call runs the work");
    Block_release(b);

    /* 3. notify: the notification runs after the block object, on its queue. */
    __block int ran_before_notify = 0;
    __block int notified_ok = 0;
    b = dispatch_block_create(0, ^{
        sleep_ms(10);
        ran_before_notify = 1;
    });
    dispatch_block_notify(b, serial, ^{
        notified_ok = ran_before_notify;
        dispatch_semaphore_signal(sem);
    });
    dispatch_async(conc, b);
    CHECK(dispatch_semaphore_wait(sem, deadline()) == 0, "notification never ran");
    CHECK(notified_ok == 1, "notification ran before the block object");
    Block_release(b);

    /* 4. cancel before it runs: a no-op that still completes. */
    atomic_store(&runs, 0);
    b = dispatch_block_create(0, ^{
        atomic_fetch_add(&runs, 1);
    });
    dispatch_suspend(serial);
    dispatch_async(serial, b);
    dispatch_block_cancel(b);
    CHECK(dispatch_block_testcancel(b) != 0, "testcancel after cancel");
    dispatch_resume(serial);
    CHECK(dispatch_block_wait(b, deadline()) == 0, "a cancelled block object completes");
    CHECK(atomic_load(&runs) == 0, "a cancelled block object ran its work");
    Block_release(b);

    /* 5. DISPATCH_BLOCK_BARRIER: alone on a concurrent queue (async, sync, group async). */
    dispatch_group_t group = dispatch_group_create();
    dispatch_block_t barrier = dispatch_block_create(DISPATCH_BLOCK_BARRIER, ^{
        if (atomic_fetch_add(&active, 100) != 0) atomic_fetch_add(&violations, 1);
        sleep_ms(5);
        if (atomic_load(&active) != 100) atomic_fetch_add(&violations, 1);
        atomic_fetch_sub(&active, 100);
    });
    CHECK(barrier != NULL, "create a barrier block object");
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 8; i++) {
            dispatch_group_async(group, conc, ^{
                if (atomic_fetch_add(&active, 1) >= 100) atomic_fetch_add(&violations, 1);
                sleep_ms(2);
                atomic_fetch_sub(&active, 1);
            });
        }
        if (round == 0) {
            dispatch_async(conc, barrier);
        } else if (round == 1) {
            dispatch_sync(conc, barrier);
        } else {
            dispatch_group_async(group, conc, barrier);
        }
    }
    CHECK(dispatch_group_wait(group, deadline()) == 0, "barrier round did not finish");
    CHECK(dispatch_block_wait(barrier, deadline()) == 0, "wait for the barrier block object");
    dispatch_barrier_sync(conc, ^{
    });
    CHECK(atomic_load(&violations) == 0, "a barrier block object overlapped other work");
    Block_release(barrier);

    /* 6. perform: runs now, on this thread. */
    __block int performed = 0;
    dispatch_block_perform(DISPATCH_BLOCK_DETACHED, ^{
        performed = 1;
    });
    CHECK(performed == 1, "dispatch_block_perform ran the block");

    /* 7. flags and QoS: accepted values work, bad ones give NULL. */
    CHECK(dispatch_block_create(0x1000, ^{
          }) == NULL,
          "unknown flags");
    CHECK(dispatch_block_create_with_qos_class(0, QOS_CLASS_UTILITY, 1, ^{
          }) == NULL,
          "a positive relative priority");
    b = dispatch_block_create_with_qos_class(DISPATCH_BLOCK_ENFORCE_QOS_CLASS, QOS_CLASS_UTILITY, -4, ^{
        dispatch_semaphore_signal(sem);
    });
    CHECK(b != NULL, "create_with_qos_class");
    dispatch_group_async(group, conc, b);
    CHECK(dispatch_semaphore_wait(sem, deadline()) == 0, "qos block object never ran");
    CHECK(dispatch_group_wait(group, deadline()) == 0, "group of a block object");
    CHECK(dispatch_block_wait(b, deadline()) == 0, "wait for a qos block object");
    Block_release(b);

    /* 8. released without running: notifications still go ahead, the state is freed. */
    b = dispatch_block_create(0, ^{
        atomic_fetch_add(&violations, 1);
    });
    dispatch_block_notify(b, serial, ^{
        dispatch_semaphore_signal(sem);
    });
    Block_release(b);
    CHECK(dispatch_semaphore_wait(sem, deadline()) == 0, "notification after a release without a run");
    CHECK(atomic_load(&violations) == 0, "the work of a released block object ran");
    CHECK(dispatch_block_wait(^{
          }, DISPATCH_TIME_NOW) != 0,
          "wait on a plain block");

    dispatch_release(group);
    dispatch_release(sem);
    dispatch_release(conc);
    dispatch_release(serial);

    /* The state after: every object freed (a block object's group too), nothing spinning. */
    check_freed_and_quiet(base);
    printf("blocks_objects: ok\n");
    return 0;
}
