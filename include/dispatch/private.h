/* dispatch/private.h - the two private libdispatch names that portable programs still use,
 * so they build against rgcd: DISPATCH_QUEUE_OVERCOMMIT and dispatch_queue_set_width.
 *
 * DISPATCH_QUEUE_OVERCOMMIT asks dispatch_get_global_queue for the overcommit global queue
 * of a class: work waiting there gets a thread of its own whatever the CPU count (up to
 * RGCD_MAX_THREADS), as in libdispatch; the ordinary global queues add threads beyond one
 * per CPU only for workers that block.
 * dispatch_queue_set_width limits a concurrent queue to that many items at once
 * (rgcd_queue_set_width). Unlike libdispatch it takes effect at once rather than as a
 * barrier, a width above 255 (LONG_MAX) means no limit of the queue's own, and a serial
 * queue cannot be made wider (the call is ignored; rgcd_last_error() says why). */
#ifndef RGCD_DISPATCH_PRIVATE_H
#define RGCD_DISPATCH_PRIVATE_H

#include "dispatch.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A dispatch_get_global_queue flag: the overcommit global queue of the class. */
#define DISPATCH_QUEUE_OVERCOMMIT RGCD_DISPATCH_OVERCOMMIT

/* Width values of libdispatch's private API. */
#define DISPATCH_QUEUE_WIDTH_ACTIVE_CPUS (-2)
#define DISPATCH_QUEUE_WIDTH_MAX_PHYSICAL_CPUS (-1)
#define DISPATCH_QUEUE_WIDTH_MAX_LOGICAL_CPUS (-3)

/* rgcd_queue_set_width: see the note at the top of this file. */
static inline void dispatch_queue_set_width(dispatch_queue_t queue, long width)
{
    (void)rgcd_queue_set_width(queue, RGCD_DISPATCH_STATIC(intptr_t, width));
}

#ifdef __cplusplus
}
#endif

#endif /* RGCD_DISPATCH_PRIVATE_H */
