/* Block handlers on sources (clang -fblocks): a repeating timer whose event handler block
 * captures a counter and cancels the source on its fifth fire; the cancel handler block
 * signals the main thread. Handler blocks are released by rgcd once the source is done. */
#define _POSIX_C_SOURCE 200809L
#include <dispatch/dispatch.h>

#include "../compat_check.h"

int main(void)
{
    dispatch_queue_t q = dispatch_queue_create("blocks.sources", DISPATCH_QUEUE_SERIAL);
    dispatch_semaphore_t done = dispatch_semaphore_create(0);
    __block int fires = 0;
    __block int registered = 0;
    dispatch_source_t timer = dispatch_source_create(DISPATCH_SOURCE_TYPE_TIMER, 0, 0, q);
    CHECK(timer != NULL, "timer source created");
    dispatch_source_set_registration_handler(timer, ^{ registered++; });
    dispatch_source_set_event_handler(timer, ^{
        fires += (int)dispatch_source_get_data(timer);
        if (fires >= 5) dispatch_source_cancel(timer);
    });
    dispatch_source_set_cancel_handler(timer, ^{ dispatch_semaphore_signal(done); });
    dispatch_source_set_timer(timer, dispatch_time(DISPATCH_TIME_NOW, 5 * NSEC_PER_MSEC), 5 * NSEC_PER_MSEC, 0);
    dispatch_activate(timer);
    CHECK(dispatch_semaphore_wait(done, deadline()) == 0, "cancel handler ran");
    CHECK(fires >= 5, "five fires counted");
    CHECK(registered == 1, "registration handler ran once");

    /* Replacing a handler releases the old block; the new one runs. */
    dispatch_source_t add = dispatch_source_create(DISPATCH_SOURCE_TYPE_DATA_ADD, 0, 0, q);
    __block uintptr_t seen = 0;
    dispatch_source_set_event_handler(add, ^{ seen += 1000; });
    dispatch_source_set_event_handler(add, ^{
        seen += dispatch_source_get_data(add);
        dispatch_semaphore_signal(done);
    });
    dispatch_activate(add);
    dispatch_source_merge_data(add, 7);
    CHECK(dispatch_semaphore_wait(done, deadline()) == 0, "data handler ran");
    CHECK(seen == 7, "the replacement handler ran, not the first one");
    dispatch_source_cancel(add);
    dispatch_release(add);
    dispatch_release(timer);
    dispatch_release(done);
    dispatch_release(q);
    printf("blocks_sources: ok\n");
    return 0;
}
