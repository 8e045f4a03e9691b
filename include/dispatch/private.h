/* dispatch/private.h - the two private libdispatch names that portable programs still use,
 * so they build against rgcd: DISPATCH_QUEUE_OVERCOMMIT and dispatch_queue_set_width.
 *
 * rgcd's pool grows whenever workers block with work waiting, so "overcommit" global queues
 * (which in libdispatch may exceed the CPU count) are the ordinary global queues here.
 * dispatch_queue_set_width is accepted for compatibility: rgcd queues are serial or
 * concurrent from creation, and a concurrent queue has no width limit of its own (the pool
 * bounds it), which is what libdispatch's widths above 1 amount to. */
#ifndef RGCD_DISPATCH_PRIVATE_H
#define RGCD_DISPATCH_PRIVATE_H

#include "dispatch.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A dispatch_get_global_queue flag: accepted; the global queues already overcommit. */
#define DISPATCH_QUEUE_OVERCOMMIT RGCD_DISPATCH_OVERCOMMIT

/* Width values of libdispatch's private API. */
#define DISPATCH_QUEUE_WIDTH_ACTIVE_CPUS (-2)
#define DISPATCH_QUEUE_WIDTH_MAX_PHYSICAL_CPUS (-1)
#define DISPATCH_QUEUE_WIDTH_MAX_LOGICAL_CPUS (-3)

/* Accepted and ignored: see the note at the top of this file. */
static inline void dispatch_queue_set_width(dispatch_queue_t queue, long width)
{
    (void)queue;
    (void)width;
}

#ifdef __cplusplus
}
#endif

#endif /* RGCD_DISPATCH_PRIVATE_H */
