/* The generic forms in C++ under clang++ -fblocks (overloads, not _Generic): dispatch_wait on
 * a group, a semaphore and a block object; dispatch_notify on a group and a block object;
 * dispatch_cancel and dispatch_testcancel on a block object and a source. Then everything
 * made is freed and the process is quiet.
 *
 * Build: clang++ -fblocks -std=c++17 -Wall -Wextra -Werror -Iinclude \
 *          tests/compat/blocks/blocks_generic_cxx.cpp -Lbuild/lib -lrgcd -lBlocksRuntime
 */
#define _POSIX_C_SOURCE 200809L
#include <dispatch/dispatch.h>

#include <atomic>
#include <cstdio>

#include "../compat_check.h"

int main()
{
    size_t base = rgcd_debug_live_objects();
    dispatch_queue_t q = dispatch_queue_create("blocks.generic.cxx", DISPATCH_QUEUE_SERIAL);
    dispatch_group_t g = dispatch_group_create();
    dispatch_semaphore_t sem = dispatch_semaphore_create(0);
    CHECK(q != nullptr && g != nullptr && sem != nullptr, "creation");
    static std::atomic<int> n{0};

    dispatch_block_t b = dispatch_block_create(static_cast<dispatch_block_flags_t>(0), ^{
        n += 1;
    });
    CHECK(b != nullptr, "dispatch_block_create");
    CHECK(dispatch_wait(b, in_ms(20)) != 0, "dispatch_wait(block) times out before it runs");
    dispatch_notify(b, q, ^{
        if (n.load() == 1) n += 10;
    });
    dispatch_group_async(g, q, b);
    dispatch_notify(g, q, ^{
        n += 100;
        dispatch_semaphore_signal(sem);
    });
    CHECK(dispatch_wait(g, deadline()) == 0, "dispatch_wait(group)");
    CHECK(dispatch_wait(b, deadline()) == 0, "dispatch_wait(block)");
    CHECK(dispatch_wait(sem, deadline()) == 0, "dispatch_wait(semaphore): the group's notification");

    dispatch_block_t c = dispatch_block_create(static_cast<dispatch_block_flags_t>(0), ^{
        n += 1000;
    });
    CHECK(dispatch_testcancel(c) == 0, "dispatch_testcancel(block) before the cancel");
    dispatch_cancel(c);
    CHECK(dispatch_testcancel(c) != 0, "dispatch_testcancel(block) after the cancel");
    dispatch_async(q, c);
    CHECK(dispatch_wait(c, deadline()) == 0, "a cancelled block object completes");

    dispatch_source_t src = dispatch_source_create(DISPATCH_SOURCE_TYPE_DATA_OR, 0, 0, q);
    CHECK(src != nullptr, "source");
    dispatch_source_set_event_handler(src, ^{
    });
    dispatch_source_set_cancel_handler(src, ^{
        dispatch_semaphore_signal(sem);
    });
    dispatch_activate(src);
    dispatch_cancel(src);
    CHECK(dispatch_testcancel(src) != 0, "dispatch_testcancel(source) after the cancel");
    CHECK(dispatch_wait(sem, deadline()) == 0, "the source's cancel handler ran");

    dispatch_sync(q, ^{
    });
    CHECK(n.load() == 111, "each block ran once, in order, and the cancelled one not at all");

    Block_release(b);
    Block_release(c);
    dispatch_release(src);
    dispatch_release(sem);
    dispatch_release(g);
    dispatch_release(q);
    check_freed_and_quiet(base);
    std::puts("blocks_generic_cxx: ok");
    return 0;
}
