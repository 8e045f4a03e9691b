/*
 * dispatch/dispatch.h - libdispatch source compatibility for rgcd.
 *
 * C and C++ code written against libdispatch's function-pointer API (the `_f`
 * functions) compiles unchanged with this header and links with `-lrgcd`.
 * Every name below is a thin mapping onto the rgcd C ABI declared in rgcd.h:
 * types are aliases of rgcd's handles, constants have libdispatch's values, and
 * functions are static inline wrappers.
 *
 * Where libdispatch's function returns void, the wrapper ignores rgcd's status;
 * a failed call leaves its reason in rgcd_last_error() (and, for submit calls,
 * the work function is never called). Include rgcd.h's API directly when you
 * want those statuses. The synchronous calls are the exception: when
 * dispatch_sync_f, dispatch_barrier_sync_f, dispatch_apply_f or dispatch_once_f
 * (or a block form) fails, its caller would go on as if the work had run, so
 * the wrapper writes one line to stderr (the call, the queue's label, the
 * reason: a deadlock, usually) and calls abort().
 *
 * Under clang with -fblocks (__BLOCKS__), the block variants (dispatch_async,
 * dispatch_sync, ...) are provided too; they need <Block.h> and -lBlocksRuntime.
 */
#ifndef RGCD_DISPATCH_DISPATCH_H
#define RGCD_DISPATCH_DISPATCH_H

/* Relative to this file, so it resolves both in the source tree and in an
 * installed prefix, where rgcd.h sits next to the dispatch/ directory. */
#include "../rgcd.h"

#include <stdarg.h>
#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#if defined(__BLOCKS__)
#include <Block.h>
#endif

/* The libdispatch API revision whose names this header provides. */
#ifndef DISPATCH_API_VERSION
#define DISPATCH_API_VERSION 20181008
#endif

/* Marks dispatch_main() as never returning, for C and C++ compilers alike. */
#if defined(__GNUC__) || defined(__clang__)
#define RGCD_DISPATCH_NORETURN __attribute__((__noreturn__))
#elif defined(_MSC_VER)
#define RGCD_DISPATCH_NORETURN __declspec(noreturn)
#else
#define RGCD_DISPATCH_NORETURN
#endif

/* Casts that stay quiet under C++'s -Wold-style-cast. */
#ifdef __cplusplus
#define RGCD_DISPATCH_REINTERPRET(type, value) (reinterpret_cast<type>(value))
#define RGCD_DISPATCH_STATIC(type, value) (static_cast<type>(value))
#else
#define RGCD_DISPATCH_REINTERPRET(type, value) ((type)(value))
#define RGCD_DISPATCH_STATIC(type, value) ((type)(value))
#endif

/* ======================================================================
 * Types
 * ====================================================================== */

/* Any dispatch object (queue, group, semaphore, source): rgcd's generic handle,
 * so every handle type converts to it implicitly in C and C++. */
typedef rgcd_object_t dispatch_object_t;

/* A queue handle: rgcd_queue_t. The specialised names are the same type. */
typedef rgcd_queue_t dispatch_queue_t;
typedef rgcd_queue_t dispatch_queue_global_t;     /* returned by dispatch_get_global_queue */
typedef rgcd_queue_t dispatch_queue_serial_t;     /* a serial queue */
typedef rgcd_queue_t dispatch_queue_concurrent_t; /* a concurrent queue */
typedef rgcd_queue_t dispatch_queue_main_t;       /* returned by dispatch_get_main_queue */

/* A queue attribute: never dereferenced; it carries rgcd_queue_attr_t flags cast
 * to a pointer (bit 0 concurrent, bit 1 inactive, QoS class in bits 8..15). */
typedef struct rgcd_dispatch_queue_attr_s *dispatch_queue_attr_t;

/* A group handle: rgcd_group_t. */
typedef rgcd_group_t dispatch_group_t;

/* A counting semaphore handle: rgcd_semaphore_t. */
typedef rgcd_semaphore_t dispatch_semaphore_t;

/* A dispatch source handle: rgcd_source_t. */
typedef rgcd_source_t dispatch_source_t;

/* A source type: never dereferenced; it carries an rgcd_source_type_t value
 * (RGCD_SOURCE_TYPE_*) cast to a pointer, as libdispatch's types are pointers. */
typedef const struct rgcd_dispatch_source_type_s *dispatch_source_type_t;

/* The mask of a DISPATCH_SOURCE_TYPE_PROC source (DISPATCH_PROC_* bits). */
typedef unsigned long dispatch_source_proc_flags_t;

/* The mask of a DISPATCH_SOURCE_TYPE_TIMER source (0 or DISPATCH_TIMER_STRICT). */
typedef unsigned long dispatch_source_timer_flags_t;

/* Nanoseconds on the monotonic clock, or a wall-clock deadline: rgcd_time_t. */
typedef rgcd_time_t dispatch_time_t;

/* A once predicate: must be zero-initialised static or global storage. */
typedef rgcd_once_t dispatch_once_t;

/* A work function receiving the context pointer given at submission. */
typedef void (*dispatch_function_t)(void *context);

/* A file descriptor, as libdispatch's io.h names it. */
#ifndef RGCD_DISPATCH_FD_T
#define RGCD_DISPATCH_FD_T
typedef int dispatch_fd_t;
#endif

/* A workloop: a serial queue with the workloop API. */
typedef rgcd_queue_t dispatch_workloop_t;

/* Legacy global-queue priorities (DISPATCH_QUEUE_PRIORITY_*). */
typedef long dispatch_queue_priority_t;

/* Autorelease frequencies: accepted and ignored (there is no autorelease pool on Linux). */
typedef unsigned long dispatch_autorelease_frequency_t;
#define DISPATCH_AUTORELEASE_FREQUENCY_INHERIT 0ul
#define DISPATCH_AUTORELEASE_FREQUENCY_WORK_ITEM 1ul
#define DISPATCH_AUTORELEASE_FREQUENCY_NEVER 2ul


/* QoS classes, with the values of Apple's <sys/qos.h> (skipped if it is included). */
#if !defined(_SYS_QOS_H) && !defined(RGCD_DISPATCH_HAVE_QOS_CLASS_T)
#define RGCD_DISPATCH_HAVE_QOS_CLASS_T 1
typedef unsigned int qos_class_t;
#ifndef QOS_CLASS_USER_INTERACTIVE
#define QOS_CLASS_USER_INTERACTIVE 0x21u /* RGCD_QOS_USER_INTERACTIVE */
#endif
#ifndef QOS_CLASS_USER_INITIATED
#define QOS_CLASS_USER_INITIATED 0x19u   /* RGCD_QOS_USER_INITIATED */
#endif
#ifndef QOS_CLASS_DEFAULT
#define QOS_CLASS_DEFAULT 0x15u          /* RGCD_QOS_DEFAULT */
#endif
#ifndef QOS_CLASS_UTILITY
#define QOS_CLASS_UTILITY 0x11u          /* RGCD_QOS_UTILITY */
#endif
#ifndef QOS_CLASS_BACKGROUND
#define QOS_CLASS_BACKGROUND 0x09u       /* RGCD_QOS_BACKGROUND */
#endif
#ifndef QOS_CLASS_UNSPECIFIED
#define QOS_CLASS_UNSPECIFIED 0x00u      /* RGCD_QOS_UNSPECIFIED */
#endif
#endif

/* A QoS class as used by the queue API: rgcd_qos_class_t values. */
typedef qos_class_t dispatch_qos_class_t;

/* ======================================================================
 * Constants
 * ====================================================================== */

/* Queue attributes for dispatch_queue_create: rgcd_queue_attr_t flags as pointers. */
#define RGCD_DISPATCH_ATTR(flags) \
    RGCD_DISPATCH_REINTERPRET(dispatch_queue_attr_t, RGCD_DISPATCH_STATIC(uintptr_t, flags))
#define DISPATCH_QUEUE_SERIAL NULL /* RGCD_QUEUE_SERIAL */
#define DISPATCH_QUEUE_CONCURRENT RGCD_DISPATCH_ATTR(RGCD_QUEUE_CONCURRENT)
#define DISPATCH_QUEUE_SERIAL_INACTIVE RGCD_DISPATCH_ATTR(RGCD_QUEUE_INACTIVE)
#define DISPATCH_QUEUE_CONCURRENT_INACTIVE \
    RGCD_DISPATCH_ATTR(RGCD_QUEUE_CONCURRENT | RGCD_QUEUE_INACTIVE)

/* dispatch_apply_f's queue argument meaning "pick a suitable queue" (rgcd: NULL). */
#define DISPATCH_APPLY_AUTO RGCD_DISPATCH_STATIC(dispatch_queue_t, NULL)

/* Time values: RGCD_TIME_NOW, RGCD_TIME_FOREVER, RGCD_WALLTIME_NOW. */
#define DISPATCH_TIME_NOW RGCD_TIME_NOW
#define DISPATCH_TIME_FOREVER RGCD_TIME_FOREVER
#define DISPATCH_WALLTIME_NOW RGCD_WALLTIME_NOW

/* Unit conversions (also defined by some system headers, hence the guards). */
#ifndef NSEC_PER_SEC
#define NSEC_PER_SEC 1000000000ull
#endif
#ifndef NSEC_PER_MSEC
#define NSEC_PER_MSEC 1000000ull
#endif
#ifndef USEC_PER_SEC
#define USEC_PER_SEC 1000000ull
#endif
#ifndef NSEC_PER_USEC
#define NSEC_PER_USEC 1000ull
#endif

/* The private DISPATCH_QUEUE_OVERCOMMIT flag's value (see dispatch/private.h). */
#define RGCD_DISPATCH_OVERCOMMIT 0x2ull

/* Legacy priorities for dispatch_get_global_queue: RGCD_QUEUE_PRIORITY_* values. */
#define DISPATCH_QUEUE_PRIORITY_HIGH 2
#define DISPATCH_QUEUE_PRIORITY_DEFAULT 0
#define DISPATCH_QUEUE_PRIORITY_LOW (-2)
#define DISPATCH_QUEUE_PRIORITY_BACKGROUND (-32767 - 1) /* INT16_MIN */

/* dispatch_queue_get_label's argument meaning "the queue running the caller". */
#define DISPATCH_CURRENT_QUEUE_LABEL NULL

/* dispatch_set_target_queue's argument meaning "the default target". */
#define DISPATCH_TARGET_QUEUE_DEFAULT NULL

/* Source types for dispatch_source_create: RGCD_SOURCE_TYPE_* values as pointers.
 * What handle, mask and dispatch_source_get_data mean for each: */
#define RGCD_DISPATCH_SOURCE_TYPE(type) \
    RGCD_DISPATCH_REINTERPRET(dispatch_source_type_t, RGCD_DISPATCH_STATIC(uintptr_t, type))
/* handle 0, mask 0; data: the sum of the values merged since the last handler. */
#define DISPATCH_SOURCE_TYPE_DATA_ADD RGCD_DISPATCH_SOURCE_TYPE(RGCD_SOURCE_TYPE_DATA_ADD)
/* handle 0, mask 0; data: the bitwise OR of the values merged since the last handler. */
#define DISPATCH_SOURCE_TYPE_DATA_OR RGCD_DISPATCH_SOURCE_TYPE(RGCD_SOURCE_TYPE_DATA_OR)
/* handle 0, mask 0; data: the value merged last. */
#define DISPATCH_SOURCE_TYPE_DATA_REPLACE RGCD_DISPATCH_SOURCE_TYPE(RGCD_SOURCE_TYPE_DATA_REPLACE)
/* handle: a file descriptor, mask 0; data: bytes available to read (0 at end of file). */
#define DISPATCH_SOURCE_TYPE_READ RGCD_DISPATCH_SOURCE_TYPE(RGCD_SOURCE_TYPE_READ)
/* handle: a file descriptor, mask 0; data: an estimate of the buffer space free (>= 1). */
#define DISPATCH_SOURCE_TYPE_WRITE RGCD_DISPATCH_SOURCE_TYPE(RGCD_SOURCE_TYPE_WRITE)
/* handle: a signal number, mask 0; data: deliveries since the last handler. */
#define DISPATCH_SOURCE_TYPE_SIGNAL RGCD_DISPATCH_SOURCE_TYPE(RGCD_SOURCE_TYPE_SIGNAL)
/* handle: a pid, mask: DISPATCH_PROC_* events; data: the events seen. */
#define DISPATCH_SOURCE_TYPE_PROC RGCD_DISPATCH_SOURCE_TYPE(RGCD_SOURCE_TYPE_PROC)
/* handle 0, mask 0 or DISPATCH_TIMER_STRICT; data: fires since the last handler.
 * Arm it with dispatch_source_set_timer. */
#define DISPATCH_SOURCE_TYPE_TIMER RGCD_DISPATCH_SOURCE_TYPE(RGCD_SOURCE_TYPE_TIMER)

/* Process events (the mask of a PROC source): RGCD_PROC_* values. rgcd delivers
 * DISPATCH_PROC_EXIT; the others are accepted and never delivered. */
#define DISPATCH_PROC_EXIT 0x80000000ul   /* RGCD_PROC_EXIT */
#define DISPATCH_PROC_FORK 0x40000000ul   /* RGCD_PROC_FORK */
#define DISPATCH_PROC_EXEC 0x20000000ul   /* RGCD_PROC_EXEC */
#define DISPATCH_PROC_SIGNAL 0x08000000ul /* RGCD_PROC_SIGNAL */

/* Timer flag (the mask of a TIMER source): fire as close to the deadline as
 * possible, ignoring the leeway. RGCD_TIMER_STRICT. */
#define DISPATCH_TIMER_STRICT 0x1ul

#ifdef __cplusplus
extern "C" {
#endif

/* ======================================================================
 * Queue attributes
 * ====================================================================== */

/* Returns attr with the inactive flag (RGCD_QUEUE_INACTIVE) added: the queue is
 * created inactive and runs nothing until dispatch_activate. */
static inline dispatch_queue_attr_t
dispatch_queue_attr_make_initially_inactive(dispatch_queue_attr_t attr)
{
    uintptr_t flags = RGCD_DISPATCH_REINTERPRET(uintptr_t, attr) | RGCD_QUEUE_INACTIVE;
    return RGCD_DISPATCH_REINTERPRET(dispatch_queue_attr_t, flags);
}

/* Returns attr with its QoS class replaced (bits 8..15). As in libdispatch, an
 * unknown class or a relative priority outside [-15, 0] returns attr unchanged;
 * rgcd ignores the relative priority itself. */
static inline dispatch_queue_attr_t
dispatch_queue_attr_make_with_qos_class(dispatch_queue_attr_t attr, dispatch_qos_class_t qos_class,
                                        int relative_priority)
{
    uintptr_t flags = RGCD_DISPATCH_REINTERPRET(uintptr_t, attr);
    uintptr_t qos = qos_class;
    switch (qos_class) {
    case RGCD_QOS_USER_INTERACTIVE:
    case RGCD_QOS_USER_INITIATED:
    case RGCD_QOS_DEFAULT:
    case RGCD_QOS_UTILITY:
    case RGCD_QOS_BACKGROUND:
    case RGCD_QOS_UNSPECIFIED:
        break;
    default:
        return attr;
    }
    if (relative_priority > 0 || relative_priority < -15) {
        return attr;
    }
    flags &= ~(RGCD_DISPATCH_STATIC(uintptr_t, 0xff) << RGCD_QUEUE_QOS_SHIFT);
    flags |= qos << RGCD_QUEUE_QOS_SHIFT;
    return RGCD_DISPATCH_REINTERPRET(dispatch_queue_attr_t, flags);
}

/* ======================================================================
 * Queues
 * ====================================================================== */

/* Autorelease pools do not exist here: the attribute is returned unchanged. */
static inline dispatch_queue_attr_t
dispatch_queue_attr_make_with_autorelease_frequency(dispatch_queue_attr_t attr,
                                                    dispatch_autorelease_frequency_t frequency)
{
    (void)frequency;
    return attr;
}

#define DISPATCH_QUEUE_SERIAL_WITH_AUTORELEASE_POOL DISPATCH_QUEUE_SERIAL
#define DISPATCH_QUEUE_CONCURRENT_WITH_AUTORELEASE_POOL DISPATCH_QUEUE_CONCURRENT

/* The rgcd_queue_attr_t flags carried by a dispatch_queue_attr_t. */
static inline rgcd_queue_attr_t rgcd_dispatch_attr_flags(dispatch_queue_attr_t attr)
{
    return RGCD_DISPATCH_STATIC(rgcd_queue_attr_t, RGCD_DISPATCH_REINTERPRET(uintptr_t, attr));
}

/* rgcd_queue_create: a new queue (+1 reference), or NULL with rgcd_last_error().
 * The label is copied; attr is DISPATCH_QUEUE_SERIAL, DISPATCH_QUEUE_CONCURRENT or
 * a value built by the dispatch_queue_attr_make_* functions. */
static inline dispatch_queue_t dispatch_queue_create(const char *label, dispatch_queue_attr_t attr)
{
    return rgcd_queue_create(label, rgcd_dispatch_attr_flags(attr));
}

/* rgcd_queue_create_with_target: as dispatch_queue_create, targeting `target`
 * (DISPATCH_TARGET_QUEUE_DEFAULT for the default). */
static inline dispatch_queue_t dispatch_queue_create_with_target(const char *label,
                                                                 dispatch_queue_attr_t attr,
                                                                 dispatch_queue_t target)
{
    return rgcd_queue_create_with_target(label, rgcd_dispatch_attr_flags(attr), target);
}

/* rgcd_get_global_queue: the borrowed root queue for a QoS class or legacy
 * priority; flags is 0 or DISPATCH_QUEUE_OVERCOMMIT (dispatch/private.h), which gives
 * the overcommit root of the class (its work gets a thread whenever it waits). */
static inline dispatch_queue_global_t dispatch_get_global_queue(intptr_t identifier,
                                                                uintptr_t flags)
{
    return rgcd_get_global_queue(identifier, flags);
}

/* rgcd_get_main_queue: the borrowed queue drained by dispatch_main() on the main thread. */
static inline dispatch_queue_main_t dispatch_get_main_queue(void)
{
    return rgcd_get_main_queue();
}

/* rgcd_queue_get_label: the queue's label (DISPATCH_CURRENT_QUEUE_LABEL: the queue
 * running the caller); "" when there is none, never NULL. */
static inline const char *dispatch_queue_get_label(dispatch_queue_t queue)
{
    const char *label = rgcd_queue_get_label(queue);
    return label ? label : "";
}

/* rgcd_queue_get_qos_class: the queue's QoS class; stores the relative priority
 * in *relative_priority_ptr when it is not NULL. */
static inline dispatch_qos_class_t dispatch_queue_get_qos_class(dispatch_queue_t queue,
                                                                int *relative_priority_ptr)
{
    return rgcd_queue_get_qos_class(queue, relative_priority_ptr);
}

/* Ends the program after a synchronous call failed (rgcd returned `status`, not 0):
 * libdispatch's dispatch_sync_f and friends return void, and their caller goes on
 * as if the work had run, so the failure must not pass silently. Writes one line
 * to stderr naming the call and the reason, then aborts. The usual reason is
 * RGCD_EDEADLK, reported with the queue's label: a sync onto a serial queue (or a
 * barrier sync onto any queue) that is already running the caller, directly or
 * through a queue targeting it, which libdispatch would leave hanging forever. */
RGCD_DISPATCH_NORETURN static inline void rgcd_dispatch_sync_failed(const char *call,
                                                                    dispatch_queue_t queue,
                                                                    int status)
{
    if (status == RGCD_EDEADLK && queue != NULL) {
        const char *label = rgcd_queue_get_label(queue);
        int named = label != NULL && label[0] != '\0';
        fprintf(stderr,
                "%s: deadlock: %s%s%s is already running the calling thread (directly or "
                "through a queue that targets it); the work was not run, aborting\n",
                call, named ? "queue \"" : "an unlabelled queue", named ? label : "",
                named ? "\"" : "");
    } else {
        /* rgcd's message names the argument at fault. */
        fprintf(stderr, "%s: %s: %s; the work was not run, aborting\n", call,
                rgcd_strerror(status), rgcd_last_error());
    }
    abort();
}

/* rgcd_async_f: runs work(context) later on queue; returns immediately. */
static inline void dispatch_async_f(dispatch_queue_t queue, void *context,
                                    dispatch_function_t work)
{
    (void)rgcd_async_f(queue, context, work);
}

/* rgcd_sync_f: runs work(context) on queue and returns once it has run. A sync
 * onto a serial queue already running the caller (directly or through its
 * targets) hangs forever in libdispatch; rgcd detects it, writes one line to
 * stderr naming the queue and the deadlock, and aborts. Any other failure (a NULL
 * or dead queue, a NULL work function) aborts the same way. */
static inline void dispatch_sync_f(dispatch_queue_t queue, void *context,
                                   dispatch_function_t work)
{
    int status = rgcd_sync_f(queue, context, work);
    if (status != 0) {
        rgcd_dispatch_sync_failed("dispatch_sync_f", queue, status);
    }
}

/* rgcd_barrier_async_f: on a concurrent queue, work runs alone after earlier items. */
static inline void dispatch_barrier_async_f(dispatch_queue_t queue, void *context,
                                            dispatch_function_t work)
{
    (void)rgcd_barrier_async_f(queue, context, work);
}

/* rgcd_barrier_sync_f: a barrier that returns once work has run. Onto a queue
 * already running the caller (serial or concurrent), or on any other failure, it
 * aborts as dispatch_sync_f does. */
static inline void dispatch_barrier_sync_f(dispatch_queue_t queue, void *context,
                                           dispatch_function_t work)
{
    int status = rgcd_barrier_sync_f(queue, context, work);
    if (status != 0) {
        rgcd_dispatch_sync_failed("dispatch_barrier_sync_f", queue, status);
    }
}

/* rgcd_after_f: submits work to queue once the deadline `when` has passed
 * (DISPATCH_TIME_FOREVER: never). */
static inline void dispatch_after_f(dispatch_time_t when, dispatch_queue_t queue, void *context,
                                    dispatch_function_t work)
{
    (void)rgcd_after_f(when, queue, context, work);
}

/* rgcd_apply_f: runs work(context, i) for i in [0, iterations) in parallel, the
 * caller taking part; returns when all have run. queue may be DISPATCH_APPLY_AUTO.
 * On failure (a NULL work function, a bad queue) it aborts as dispatch_sync_f does. */
static inline void dispatch_apply_f(size_t iterations, dispatch_queue_t queue, void *context,
                                    void (*work)(void *context, size_t iteration))
{
    int status = rgcd_apply_f(iterations, queue, context, work);
    if (status != 0) {
        rgcd_dispatch_sync_failed("dispatch_apply_f", queue, status);
    }
}

/* rgcd_once_f: runs function(context) exactly once per predicate; concurrent
 * callers wait for it. The inline fast path skips the call once *predicate is ~0.
 * On failure it writes one line to stderr and aborts, as dispatch_sync_f does: a
 * NULL function, a call from inside its own function for the same predicate
 * (libdispatch hangs forever there), or a predicate that was not
 * zero-initialised (holding a value rgcd never wrote). */
static inline void dispatch_once_f(dispatch_once_t *predicate, void *context,
                                   dispatch_function_t function)
{
#if defined(__GNUC__) || defined(__clang__)
    if (__builtin_expect(__atomic_load_n(predicate, __ATOMIC_ACQUIRE) == ~RGCD_DISPATCH_STATIC(dispatch_once_t, 0), 1)) {
        return;
    }
#endif
    int status = rgcd_once_f(predicate, context, function);
    if (status != 0) {
        rgcd_dispatch_sync_failed("dispatch_once_f", NULL, status);
    }
}

/* rgcd_queue_set_specific: associates context with key on queue; destructor (may
 * be NULL) is called with the old context when it is replaced or the queue dies. */
static inline void dispatch_queue_set_specific(dispatch_queue_t queue, const void *key,
                                               void *context, dispatch_function_t destructor)
{
    (void)rgcd_queue_set_specific(queue, key, context, destructor);
}

/* rgcd_queue_get_specific: the context for key on queue, or NULL. */
static inline void *dispatch_queue_get_specific(dispatch_queue_t queue, const void *key)
{
    return rgcd_queue_get_specific(queue, key);
}

/* rgcd_get_specific: the context for key on the current queue or its targets, or NULL. */
static inline void *dispatch_get_specific(const void *key)
{
    return rgcd_get_specific(key);
}

/* rgcd_main: parks the main thread draining the main queue; never returns (the
 * program ends with exit()). If rgcd refuses (not the main thread), prints
 * rgcd_last_error() to stderr and aborts. */
RGCD_DISPATCH_NORETURN static inline void dispatch_main(void)
{
    (void)rgcd_main();
    fprintf(stderr, "dispatch_main: %s\n", rgcd_last_error());
    abort();
}

/* ======================================================================
 * Groups
 * ====================================================================== */

/* rgcd_group_create: a new group (+1 reference), or NULL. */
static inline dispatch_group_t dispatch_group_create(void)
{
    return rgcd_group_create();
}

/* rgcd_group_enter: counts one more outstanding piece of work. */
static inline void dispatch_group_enter(dispatch_group_t group)
{
    (void)rgcd_group_enter(group);
}

/* rgcd_group_leave: balances one dispatch_group_enter (unbalanced: reported by rgcd). */
static inline void dispatch_group_leave(dispatch_group_t group)
{
    (void)rgcd_group_leave(group);
}

/* rgcd_group_wait: blocks until the group is empty or the deadline passes.
 * Returns 0 when empty, non-zero on timeout (RGCD_TIMED_OUT) or error (< 0). */
static inline intptr_t dispatch_group_wait(dispatch_group_t group, dispatch_time_t timeout)
{
    return rgcd_group_wait(group, timeout);
}

/* rgcd_group_notify_f: submits work to queue once the group is empty. */
static inline void dispatch_group_notify_f(dispatch_group_t group, dispatch_queue_t queue,
                                           void *context, dispatch_function_t work)
{
    (void)rgcd_group_notify_f(group, queue, context, work);
}

/* rgcd_group_async_f: dispatch_async_f, with the work counted in group until it returns. */
static inline void dispatch_group_async_f(dispatch_group_t group, dispatch_queue_t queue,
                                          void *context, dispatch_function_t work)
{
    (void)rgcd_group_async_f(group, queue, context, work);
}

/* ======================================================================
 * Semaphores
 * ====================================================================== */

/* rgcd_semaphore_create: a semaphore starting at value (+1 reference); NULL if
 * value < 0. */
static inline dispatch_semaphore_t dispatch_semaphore_create(intptr_t value)
{
    return rgcd_semaphore_create(value);
}

/* rgcd_semaphore_wait: decrements, blocking until the deadline if needed.
 * Returns 0 on success, non-zero on timeout (RGCD_TIMED_OUT) or error (< 0). */
static inline intptr_t dispatch_semaphore_wait(dispatch_semaphore_t dsema, dispatch_time_t timeout)
{
    return rgcd_semaphore_wait(dsema, timeout);
}

/* rgcd_semaphore_signal: increments. Returns non-zero if a waiting thread was
 * woken, 0 otherwise (also on error). */
static inline intptr_t dispatch_semaphore_signal(dispatch_semaphore_t dsema)
{
    int woke = rgcd_semaphore_signal(dsema);
    return woke > 0 ? woke : 0;
}

/* ======================================================================
 * Sources
 *
 * A source watches one event (a timer, a readable or writable fd, a signal, a
 * process exit, or data merged by the program) and submits its event handler to
 * its queue when it fires. Handlers receive the source's context
 * (dispatch_set_context) and never run concurrently with each other. Events
 * that arrive while a handler is pending are merged into its data, never lost.
 * Sources are the generic objects of the "Objects" section too: retain,
 * release, suspend, resume, activate, context, finalizer, target queue.
 * ====================================================================== */

/* rgcd_source_create: a new source (+1 reference) or NULL with rgcd_last_error()
 * (an unknown type, a handle or mask the type does not take, an fd that is not
 * open, a signal that cannot be caught). A PROC source for a process that has
 * already gone reports DISPATCH_PROC_EXIT at once. The source starts inactive:
 * set its handlers, then call dispatch_activate (or dispatch_resume). queue runs
 * the handlers (NULL: the default global queue). */
static inline dispatch_source_t dispatch_source_create(dispatch_source_type_t type,
                                                       uintptr_t handle, uintptr_t mask,
                                                       dispatch_queue_t queue)
{
    rgcd_source_type_t rtype =
        RGCD_DISPATCH_STATIC(rgcd_source_type_t, RGCD_DISPATCH_REINTERPRET(uintptr_t, type));
    return rgcd_source_create(rtype, handle, mask, queue);
}

/* rgcd_source_set_event_handler_f: handler(context) runs for each (merged) event. */
static inline void dispatch_source_set_event_handler_f(dispatch_source_t source,
                                                       dispatch_function_t handler)
{
    (void)rgcd_source_set_event_handler_f(source, handler);
}

/* rgcd_source_set_cancel_handler_f: handler(context) runs once after
 * dispatch_source_cancel, when the last event handler has returned: the place to
 * close the source's fd. NULL removes it. */
static inline void dispatch_source_set_cancel_handler_f(dispatch_source_t source,
                                                        dispatch_function_t handler)
{
    (void)rgcd_source_set_cancel_handler_f(source, handler);
}

/* rgcd_source_set_registration_handler_f: handler(context) runs once, on the
 * source's queue, when the source is activated, before any event handler.
 * NULL removes it. */
static inline void dispatch_source_set_registration_handler_f(dispatch_source_t source,
                                                              dispatch_function_t handler)
{
    (void)rgcd_source_set_registration_handler_f(source, handler);
}

/* rgcd_source_cancel: asynchronous cancellation. No event handler starts after
 * it returns (one running finishes); then the cancel handler runs once. */
static inline void dispatch_source_cancel(dispatch_source_t source)
{
    (void)rgcd_source_cancel(source);
}

/* rgcd_source_testcancel: non-zero once the source has been cancelled, else 0
 * (also 0 for a bad handle: see rgcd_last_error()). */
static inline intptr_t dispatch_source_testcancel(dispatch_source_t source)
{
    return rgcd_source_testcancel(source) > 0;
}

/* rgcd_source_get_data: inside the event handler, the data of the event being
 * handled (see DISPATCH_SOURCE_TYPE_* for its meaning). */
static inline uintptr_t dispatch_source_get_data(dispatch_source_t source)
{
    return rgcd_source_get_data(source);
}

/* rgcd_source_get_handle: the handle given to dispatch_source_create. */
static inline uintptr_t dispatch_source_get_handle(dispatch_source_t source)
{
    return rgcd_source_get_handle(source);
}

/* rgcd_source_get_mask: the mask given to dispatch_source_create. */
static inline uintptr_t dispatch_source_get_mask(dispatch_source_t source)
{
    return rgcd_source_get_mask(source);
}

/* rgcd_source_merge_data: merges value into a DATA_ADD, DATA_OR or DATA_REPLACE
 * source and schedules its event handler (other types: ignored, reported by rgcd). */
static inline void dispatch_source_merge_data(dispatch_source_t source, uintptr_t value)
{
    (void)rgcd_source_merge_data(source, value);
}

/* rgcd_source_set_timer: arms a TIMER source to fire first at start
 * (dispatch_time/dispatch_walltime; DISPATCH_TIME_FOREVER disarms), then every
 * interval ns (DISPATCH_TIME_FOREVER: once), each fire possibly delayed by up to
 * leeway ns. May be called again, also from the event handler, to re-arm.
 * Unlike libdispatch, which clamps them, a "negative" interval or leeway (above
 * INT64_MAX, other than DISPATCH_TIME_FOREVER) is refused: the timer keeps its
 * previous setting and rgcd_last_error() says why. */
static inline void dispatch_source_set_timer(dispatch_source_t source, dispatch_time_t start,
                                             uint64_t interval, uint64_t leeway)
{
    (void)rgcd_source_set_timer(source, start, interval, leeway);
}

/* ======================================================================
 * Time
 * ====================================================================== */

/* rgcd_time: `when` (DISPATCH_TIME_NOW for now) plus delta nanoseconds;
 * DISPATCH_TIME_FOREVER saturates. */
static inline dispatch_time_t dispatch_time(dispatch_time_t when, int64_t delta)
{
    return rgcd_time(when, delta);
}

/* rgcd_walltime: a wall-clock deadline at *when (NULL: now) plus delta nanoseconds. */
static inline dispatch_time_t dispatch_walltime(const struct timespec *when, int64_t delta)
{
    return rgcd_walltime(when, delta);
}

/* ======================================================================
 * Objects (any handle)
 * ====================================================================== */

/* rgcd_retain: one more reference (no-op for global and main queues). */
static inline void dispatch_retain(dispatch_object_t object)
{
    (void)rgcd_retain(object);
}

/* rgcd_release: drops one reference; the last one frees the object (the
 * finalizer runs on its target queue if the context is non-NULL). No-op for
 * global and main queues. The last release of a suspended or inactive queue
 * discards the work still queued on it (libdispatch crashes there instead):
 * that writes one line to stderr saying so. */
static inline void dispatch_release(dispatch_object_t object)
{
    if (rgcd_release(object) == RGCD_ESTATE)
        fprintf(stderr, "dispatch_release: %s\n", rgcd_last_error());
}

/* rgcd_suspend: stops a queue from starting new items, or a source from running
 * its handlers (events meanwhile are merged); nests by count. */
static inline void dispatch_suspend(dispatch_object_t object)
{
    (void)rgcd_suspend(object);
}

/* rgcd_resume: balances one dispatch_suspend. */
static inline void dispatch_resume(dispatch_object_t object)
{
    (void)rgcd_resume(object);
}

/* rgcd_activate: starts an object created inactive (queues made with an inactive
 * attribute, every new source). */
static inline void dispatch_activate(dispatch_object_t object)
{
    (void)rgcd_activate(object);
}

/* rgcd_set_context: the application pointer passed to the finalizer (and, for a
 * source, to its _f handlers). */
static inline void dispatch_set_context(dispatch_object_t object, void *context)
{
    (void)rgcd_set_context(object, context);
}

/* rgcd_get_context: the pointer set by dispatch_set_context, or NULL. */
static inline void *dispatch_get_context(dispatch_object_t object)
{
    return rgcd_get_context(object);
}

/* rgcd_set_finalizer_f: finalizer(context) runs once, on the object's target
 * queue, after the last release; as in libdispatch, not at all if the object's
 * context is NULL at that time. */
static inline void dispatch_set_finalizer_f(dispatch_object_t object,
                                            dispatch_function_t finalizer)
{
    (void)rgcd_set_finalizer_f(object, finalizer);
}

/* rgcd_set_target_queue: items of object run as part of queue from now on
 * (DISPATCH_TARGET_QUEUE_DEFAULT: the default target). */
static inline void dispatch_set_target_queue(dispatch_object_t object, dispatch_queue_t queue)
{
    (void)rgcd_set_target_queue(object, queue);
}

/* ======================================================================
 * Workloops, the current queue, assertions, debugging
 * ====================================================================== */

/* rgcd_workloop_create: a serial queue (items one at a time, FIFO). */
static inline dispatch_workloop_t dispatch_workloop_create(const char *label)
{
    return rgcd_workloop_create(label);
}

/* rgcd_workloop_create_inactive: configure, then dispatch_activate. */
static inline dispatch_workloop_t dispatch_workloop_create_inactive(const char *label)
{
    return rgcd_workloop_create_inactive(label);
}

/* Accepted and ignored (no autorelease pools on Linux). */
static inline void dispatch_workloop_set_autorelease_frequency(dispatch_workloop_t workloop,
                                                               dispatch_autorelease_frequency_t frequency)
{
    (void)workloop;
    (void)frequency;
}

/* Deprecated in libdispatch: the queue running the caller (rgcd_get_current_queue); off any
 * queue, the main queue on the main thread, else the default global queue. */
static inline dispatch_queue_t dispatch_get_current_queue(void)
{
    return rgcd_get_current_queue();
}

/* Reports a failed dispatch_assert_queue* (one line naming the queue) and aborts. */
static inline void rgcd_dispatch_assert_failed(const char *what, dispatch_queue_t queue)
{
    const char *label = rgcd_queue_get_label(queue);
    fprintf(stderr, "rgcd: %s failed for queue \"%s\"\n", what, label ? label : "?");
    abort();
}

/* True when the caller runs on queue, directly or through target queues (never waits). */
static inline int rgcd_dispatch_on_queue(dispatch_queue_t queue)
{
    return rgcd_queue_is_current(queue) == 1;
}

/* Aborts unless the caller runs on queue (a serial queue, or the queue running it). */
static inline void dispatch_assert_queue(dispatch_queue_t queue)
{
    if (!rgcd_dispatch_on_queue(queue)) {
        rgcd_dispatch_assert_failed("dispatch_assert_queue", queue);
    }
}

/* As dispatch_assert_queue: rgcd runs a barrier alone on its queue. */
static inline void dispatch_assert_queue_barrier(dispatch_queue_t queue)
{
    if (!rgcd_dispatch_on_queue(queue)) {
        rgcd_dispatch_assert_failed("dispatch_assert_queue_barrier", queue);
    }
}

/* Aborts if the caller runs on queue. */
static inline void dispatch_assert_queue_not(dispatch_queue_t queue)
{
    if (rgcd_dispatch_on_queue(queue)) {
        rgcd_dispatch_assert_failed("dispatch_assert_queue_not", queue);
    }
}

#ifdef NDEBUG
#define dispatch_assert_queue_debug(q) ((void)(q))
#define dispatch_assert_queue_barrier_debug(q) ((void)(q))
#define dispatch_assert_queue_not_debug(q) ((void)(q))
#else
#define dispatch_assert_queue_debug(q) dispatch_assert_queue(q)
#define dispatch_assert_queue_barrier_debug(q) dispatch_assert_queue_barrier(q)
#define dispatch_assert_queue_not_debug(q) dispatch_assert_queue_not(q)
#endif

/* Deprecated in libdispatch: prints the object and a message to stderr. */
static inline void dispatch_debugv(dispatch_object_t object, const char *message, va_list ap)
{
    fprintf(stderr, "rgcd object %p: ", object);
    vfprintf(stderr, message, ap);
    fputc('\n', stderr);
}

#if defined(__GNUC__) || defined(__clang__)
__attribute__((__format__(__printf__, 2, 3)))
#endif
static inline void dispatch_debug(dispatch_object_t object, const char *message, ...)
{
    va_list ap;
    va_start(ap, message);
    dispatch_debugv(object, message, ap);
    va_end(ap);
}

/* ======================================================================
 * dispatch_wait, dispatch_cancel, dispatch_testcancel on any object that has them
 * (C11 _Generic or C++ overloads; with -fblocks, block objects and dispatch_notify too:
 * see after dispatch_block_testcancel)
 * ====================================================================== */
#if defined(__cplusplus)
}
static inline intptr_t dispatch_wait(dispatch_group_t group, dispatch_time_t timeout)
{
    return dispatch_group_wait(group, timeout);
}
static inline intptr_t dispatch_wait(dispatch_semaphore_t sema, dispatch_time_t timeout)
{
    return dispatch_semaphore_wait(sema, timeout);
}
static inline void dispatch_cancel(dispatch_source_t source)
{
    dispatch_source_cancel(source);
}
static inline intptr_t dispatch_testcancel(dispatch_source_t source)
{
    return dispatch_source_testcancel(source);
}
extern "C" {
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#define dispatch_wait(object, timeout)                                                          \
    _Generic((object), dispatch_group_t: dispatch_group_wait, dispatch_semaphore_t: dispatch_semaphore_wait)( \
        (object), (timeout))
#define dispatch_cancel(object) _Generic((object), dispatch_source_t: dispatch_source_cancel)((object))
#define dispatch_testcancel(object) _Generic((object), dispatch_source_t: dispatch_source_testcancel)((object))
#endif

/* ======================================================================
 * Data: immutable buffers made of regions (rgcd_data_*)
 * ====================================================================== */

/* Data objects: rgcd_data_t; retained and released with dispatch_retain/release. */
typedef rgcd_data_t dispatch_data_t;

/* The empty data object (never freed; retain/release do nothing to it). */
#define dispatch_data_empty (rgcd_data_empty())

/* rgcd_data_get_size. */
static inline size_t dispatch_data_get_size(dispatch_data_t data)
{
    return rgcd_data_get_size(data);
}

/* rgcd_data_create_map: a contiguous view (data itself, or a copy). */
static inline dispatch_data_t dispatch_data_create_map(dispatch_data_t data, const void **buffer_ptr,
                                                       size_t *size_ptr)
{
    return rgcd_data_create_map(data, buffer_ptr, size_ptr);
}

/* rgcd_data_create_concat: nothing is copied. */
static inline dispatch_data_t dispatch_data_create_concat(dispatch_data_t data1, dispatch_data_t data2)
{
    return rgcd_data_create_concat(data1, data2);
}

/* rgcd_data_create_subrange: nothing is copied. */
static inline dispatch_data_t dispatch_data_create_subrange(dispatch_data_t data, size_t offset,
                                                            size_t length)
{
    return rgcd_data_create_subrange(data, offset, length);
}

/* rgcd_data_copy_region. */
static inline dispatch_data_t dispatch_data_copy_region(dispatch_data_t data, size_t location,
                                                        size_t *offset_ptr)
{
    return rgcd_data_copy_region(data, location, offset_ptr);
}

/* ======================================================================
 * I/O channels: dispatch_read/dispatch_write and dispatch_io_* (rgcd_io_*,
 * rgcd_read_f, rgcd_write_f). Pipes and sockets are made non-blocking while
 * rgcd uses them and no thread blocks on them; regular-file I/O runs on pool
 * threads that count as blocked. Handlers receive errno values.
 * The _f variants carry the names of libdispatch's io_private.h.
 * ====================================================================== */

#include <sys/types.h> /* off_t, mode_t */

/* A native file descriptor (libdispatch's type). */
#ifndef RGCD_DISPATCH_FD_T
#define RGCD_DISPATCH_FD_T
typedef int dispatch_fd_t;
#endif

/* An I/O channel: rgcd_io_t; retained and released with dispatch_retain/release. */
typedef rgcd_io_t dispatch_io_t;

/* Channel types: RGCD_IO_STREAM, RGCD_IO_RANDOM. */
typedef unsigned long dispatch_io_type_t;
#define DISPATCH_IO_STREAM 0
#define DISPATCH_IO_RANDOM 1

/* dispatch_io_close flags: DISPATCH_IO_STOP ends pending operations with ECANCELED. */
typedef unsigned long dispatch_io_close_flags_t;
#define DISPATCH_IO_STOP 0x1

/* dispatch_io_set_interval flags: deliver at every interval, even below the low water mark. */
typedef unsigned long dispatch_io_interval_flags_t;
#define DISPATCH_IO_STRICT_INTERVAL 0x1

/* The function form of an I/O handler: (context, done, data, error). */
typedef void (*dispatch_io_handler_function_t)(void *context, bool done, dispatch_data_t data, int error);

/* rgcd_read_f: handler(context, data, error) runs once on queue with what was read. */
static inline void dispatch_read_f(dispatch_fd_t fd, size_t length, dispatch_queue_t queue, void *context,
                                   void (*handler)(void *context, dispatch_data_t data, int error))
{
    (void)rgcd_read_f(fd, length, queue, context, handler);
}

/* rgcd_write_f: handler(context, data_remaining, error) runs once on queue (NULL data: all written). */
static inline void dispatch_write_f(dispatch_fd_t fd, dispatch_data_t data, dispatch_queue_t queue, void *context,
                                    void (*handler)(void *context, dispatch_data_t data, int error))
{
    (void)rgcd_write_f(fd, data, queue, context, handler);
}

/* rgcd_io_create: the cleanup handler runs once when the channel lets the fd go. */
static inline dispatch_io_t dispatch_io_create_f(dispatch_io_type_t type, dispatch_fd_t fd, dispatch_queue_t queue,
                                                 void *context, void (*cleanup_handler)(void *context, int error))
{
    return rgcd_io_create(type, fd, queue, context, cleanup_handler);
}

/* rgcd_io_create_with_path: path must be absolute; it is opened on first use. */
static inline dispatch_io_t dispatch_io_create_with_path_f(dispatch_io_type_t type, const char *path, int oflag,
                                                           mode_t mode, dispatch_queue_t queue, void *context,
                                                           void (*cleanup_handler)(void *context, int error))
{
    return rgcd_io_create_with_path(type, path, oflag, RGCD_DISPATCH_STATIC(uint32_t, mode), queue, context,
                                    cleanup_handler);
}

/* rgcd_io_create_with_io: shares io's fd or path, not its type or policy. */
static inline dispatch_io_t dispatch_io_create_with_io_f(dispatch_io_type_t type, dispatch_io_t io,
                                                         dispatch_queue_t queue, void *context,
                                                         void (*cleanup_handler)(void *context, int error))
{
    return rgcd_io_create_with_io(type, io, queue, context, cleanup_handler);
}

/* rgcd_io_read_f. */
static inline void dispatch_io_read_f(dispatch_io_t channel, off_t offset, size_t length, dispatch_queue_t queue,
                                      void *context, dispatch_io_handler_function_t io_handler)
{
    (void)rgcd_io_read_f(channel, RGCD_DISPATCH_STATIC(int64_t, offset), length, queue, context, io_handler);
}

/* rgcd_io_write_f. */
static inline void dispatch_io_write_f(dispatch_io_t channel, off_t offset, dispatch_data_t data,
                                       dispatch_queue_t queue, void *context,
                                       dispatch_io_handler_function_t io_handler)
{
    (void)rgcd_io_write_f(channel, RGCD_DISPATCH_STATIC(int64_t, offset), data, queue, context, io_handler);
}

/* rgcd_io_barrier_f. */
static inline void dispatch_io_barrier_f(dispatch_io_t channel, void *context, dispatch_function_t barrier)
{
    (void)rgcd_io_barrier_f(channel, context, barrier);
}

/* rgcd_io_close. */
static inline void dispatch_io_close(dispatch_io_t channel, dispatch_io_close_flags_t flags)
{
    (void)rgcd_io_close(channel, flags);
}

/* rgcd_io_get_descriptor: -1 when closed or not opened yet. */
static inline dispatch_fd_t dispatch_io_get_descriptor(dispatch_io_t channel)
{
    return rgcd_io_get_descriptor(channel);
}

/* rgcd_io_set_high_water. */
static inline void dispatch_io_set_high_water(dispatch_io_t channel, size_t high_water)
{
    (void)rgcd_io_set_high_water(channel, high_water);
}

/* rgcd_io_set_low_water. */
static inline void dispatch_io_set_low_water(dispatch_io_t channel, size_t low_water)
{
    (void)rgcd_io_set_low_water(channel, low_water);
}

/* rgcd_io_set_interval. */
static inline void dispatch_io_set_interval(dispatch_io_t channel, uint64_t interval,
                                            dispatch_io_interval_flags_t flags)
{
    (void)rgcd_io_set_interval(channel, interval, flags);
}

/* ======================================================================
 * Blocks (clang -fblocks): inline wrappers over the _f functions.
 * Asynchronous variants copy the block (Block_copy) and a trampoline calls and
 * releases it; synchronous ones call the caller's block directly.
 * ====================================================================== */
#if defined(__BLOCKS__)

/* A block taking no arguments and returning nothing. */
typedef void (^dispatch_block_t)(void);

/* The block type taken by dispatch_apply: called with each iteration index. */
typedef void (^rgcd_dispatch_apply_block_t)(size_t iteration);

/* Calls a block passed as context (synchronous variants). */
static inline void rgcd_dispatch_block_call(void *context)
{
    RGCD_DISPATCH_REINTERPRET(dispatch_block_t, context)();
}

/* Calls a Block_copy'd block passed as context, then releases it. */
static inline void rgcd_dispatch_block_call_release(void *context)
{
    dispatch_block_t block = RGCD_DISPATCH_REINTERPRET(dispatch_block_t, context);
    block();
    Block_release(block);
}

/* Calls an apply block passed as context with the iteration index. */
static inline void rgcd_dispatch_apply_block_call(void *context, size_t iteration)
{
    RGCD_DISPATCH_REINTERPRET(rgcd_dispatch_apply_block_t, context)(iteration);
}

/* ---- Block objects: the layout (functions further down) ----
 *
 * dispatch_block_create returns a block built by hand to the Blocks ABI (the layout clang
 * gives every block), so that it owns its state: the runtime calls its copy/dispose helpers,
 * and the state (the work, a group entered until the first run, the flags) is freed with the
 * block's last Block_release. Such a block says it is one in the layout's `reserved` word,
 * which clang sets to 0 in every block it compiles; dispatch_async and the others read it to
 * honour DISPATCH_BLOCK_BARRIER. Everything is in this header: no rgcd_ function is added. */

/* Flags of dispatch_block_create (libdispatch's values). */
typedef unsigned long dispatch_block_flags_t;
#define DISPATCH_BLOCK_BARRIER 0x1ul            /* submitted with dispatch_async & co: a barrier */
#define DISPATCH_BLOCK_DETACHED 0x2ul           /* accepted (rgcd propagates no context) */
#define DISPATCH_BLOCK_ASSIGN_CURRENT 0x4ul     /* accepted (no per-item QoS in rgcd) */
#define DISPATCH_BLOCK_NO_QOS_CLASS 0x8ul       /* accepted */
#define DISPATCH_BLOCK_INHERIT_QOS_CLASS 0x10ul /* accepted */
#define DISPATCH_BLOCK_ENFORCE_QOS_CLASS 0x20ul /* accepted */
#define RGCD_DISPATCH_BLOCK_FLAGS_MASK 0x3ful

/* The runtime's class of blocks on the stack (libBlocksRuntime). */
extern void *_NSConcreteStackBlock[32];

/* What a block object owns. */
struct rgcd_dispatch_block_state {
    dispatch_block_flags_t flags;
    dispatch_block_t work;  /* a copy of the caller's block */
    dispatch_group_t group; /* entered at creation, left by the first run (or the last release) */
    int cancelled;          /* atomic */
    int runs;               /* atomic: times invoked */
};

/* The Blocks ABI's descriptor with copy and dispose helpers. */
struct rgcd_dispatch_block_descriptor {
    unsigned long reserved;
    unsigned long size;
    void (*copy)(void *dst, const void *src);
    void (*dispose)(const void *block);
};

/* The Blocks ABI's block layout, with one captured pointer. */
struct rgcd_dispatch_block_literal {
    void *isa;
    int flags;
    int reserved; /* RGCD_DISPATCH_BLOCK_MAGIC in a block object, 0 in compiled blocks */
    void (*invoke)(struct rgcd_dispatch_block_literal *self);
    const struct rgcd_dispatch_block_descriptor *descriptor;
    struct rgcd_dispatch_block_state *state;
};

#define RGCD_DISPATCH_BLOCK_MAGIC 0x52474344 /* "RGCD" */
#define RGCD_DISPATCH_BLOCK_HAS_COPY_DISPOSE (1 << 25)

/* The state of a block object, or NULL for any other block. */
static inline struct rgcd_dispatch_block_state *rgcd_dispatch_block_state_of(dispatch_block_t block)
{
    const struct rgcd_dispatch_block_literal *b =
        RGCD_DISPATCH_REINTERPRET(const struct rgcd_dispatch_block_literal *, block);
    if (b == NULL || b->reserved != RGCD_DISPATCH_BLOCK_MAGIC) {
        return NULL;
    }
    return b->state;
}

/* Is block a block object created with DISPATCH_BLOCK_BARRIER? One load for other blocks. */
static inline int rgcd_dispatch_block_is_barrier(dispatch_block_t block)
{
    const struct rgcd_dispatch_block_literal *b =
        RGCD_DISPATCH_REINTERPRET(const struct rgcd_dispatch_block_literal *, block);
    return __builtin_expect(b->reserved == RGCD_DISPATCH_BLOCK_MAGIC, 0) &&
           (b->state->flags & DISPATCH_BLOCK_BARRIER) != 0;
}

/* dispatch_async_f with a copy of block (a barrier for a DISPATCH_BLOCK_BARRIER object). */
static inline void dispatch_async(dispatch_queue_t queue, dispatch_block_t block)
{
    dispatch_block_t copy = Block_copy(block);
    if ((rgcd_dispatch_block_is_barrier(block) ? rgcd_barrier_async_f : rgcd_async_f)(queue, RGCD_DISPATCH_REINTERPRET(void *, copy), rgcd_dispatch_block_call_release) != 0) {
        Block_release(copy);
    }
}

/* dispatch_sync_f calling block (a deadlock or other failure aborts; a barrier for a
 * DISPATCH_BLOCK_BARRIER object). */
static inline void dispatch_sync(dispatch_queue_t queue, dispatch_block_t block)
{
    int status = (rgcd_dispatch_block_is_barrier(block) ? rgcd_barrier_sync_f : rgcd_sync_f)(queue, RGCD_DISPATCH_REINTERPRET(void *, block), rgcd_dispatch_block_call);
    if (status != 0) {
        rgcd_dispatch_sync_failed("dispatch_sync", queue, status);
    }
}

/* dispatch_barrier_async_f with a copy of block. */
static inline void dispatch_barrier_async(dispatch_queue_t queue, dispatch_block_t block)
{
    dispatch_block_t copy = Block_copy(block);
    if (rgcd_barrier_async_f(queue, RGCD_DISPATCH_REINTERPRET(void *, copy), rgcd_dispatch_block_call_release) != 0) {
        Block_release(copy);
    }
}

/* dispatch_barrier_sync_f calling block (a deadlock or other failure aborts). */
static inline void dispatch_barrier_sync(dispatch_queue_t queue, dispatch_block_t block)
{
    int status = rgcd_barrier_sync_f(queue, RGCD_DISPATCH_REINTERPRET(void *, block), rgcd_dispatch_block_call);
    if (status != 0) {
        rgcd_dispatch_sync_failed("dispatch_barrier_sync", queue, status);
    }
}

/* dispatch_after_f with a copy of block. */
static inline void dispatch_after(dispatch_time_t when, dispatch_queue_t queue,
                                  dispatch_block_t block)
{
    dispatch_block_t copy = Block_copy(block);
    if (rgcd_after_f(when, queue, RGCD_DISPATCH_REINTERPRET(void *, copy), rgcd_dispatch_block_call_release) != 0) {
        Block_release(copy);
    }
}

/* dispatch_apply_f calling block(i) for each iteration (a failure aborts). */
static inline void dispatch_apply(size_t iterations, dispatch_queue_t queue,
                                  rgcd_dispatch_apply_block_t block)
{
    int status = rgcd_apply_f(iterations, queue, RGCD_DISPATCH_REINTERPRET(void *, block), rgcd_dispatch_apply_block_call);
    if (status != 0) {
        rgcd_dispatch_sync_failed("dispatch_apply", queue, status);
    }
}

/* dispatch_once_f calling block, with the same inline fast path. */
static inline void dispatch_once(dispatch_once_t *predicate, dispatch_block_t block)
{
    if (__builtin_expect(__atomic_load_n(predicate, __ATOMIC_ACQUIRE) == ~RGCD_DISPATCH_STATIC(dispatch_once_t, 0), 1)) {
        return;
    }
    int status = rgcd_once_f(predicate, RGCD_DISPATCH_REINTERPRET(void *, block), rgcd_dispatch_block_call);
    if (status != 0) {
        rgcd_dispatch_sync_failed("dispatch_once", NULL, status);
    }
}

/* dispatch_group_async_f with a copy of block (for a DISPATCH_BLOCK_BARRIER object: a
 * barrier inside the group). */
static inline void dispatch_group_async(dispatch_group_t group, dispatch_queue_t queue,
                                        dispatch_block_t block)
{
    if (rgcd_dispatch_block_is_barrier(block)) {
        if (rgcd_group_enter(group) != 0) {
            return;
        }
        dispatch_block_t inner = Block_copy(block);
        dispatch_block_t copy = Block_copy(^{
            inner();
            (void)rgcd_group_leave(group);
        });
        Block_release(inner);
        if (rgcd_barrier_async_f(queue, RGCD_DISPATCH_REINTERPRET(void *, copy), rgcd_dispatch_block_call_release) != 0) {
            Block_release(copy);
            (void)rgcd_group_leave(group);
        }
        return;
    }
    dispatch_block_t copy = Block_copy(block);
    if (rgcd_group_async_f(group, queue, RGCD_DISPATCH_REINTERPRET(void *, copy), rgcd_dispatch_block_call_release) != 0) {
        Block_release(copy);
    }
}

/* dispatch_group_notify_f with a copy of block. */
static inline void dispatch_group_notify(dispatch_group_t group, dispatch_queue_t queue,
                                         dispatch_block_t block)
{
    dispatch_block_t copy = Block_copy(block);
    if (rgcd_group_notify_f(group, queue, RGCD_DISPATCH_REINTERPRET(void *, copy), rgcd_dispatch_block_call_release) != 0) {
        Block_release(copy);
    }
}

/* ---- Block objects: the functions ---- */

/* A block object's invoke: runs the work unless cancelled; the first run leaves the group. */
static inline void rgcd_dispatch_block_invoke(struct rgcd_dispatch_block_literal *self)
{
    struct rgcd_dispatch_block_state *st = self->state;
    if (!__atomic_load_n(&st->cancelled, __ATOMIC_ACQUIRE)) {
        st->work();
    }
    if (__atomic_fetch_add(&st->runs, 1, __ATOMIC_ACQ_REL) == 0) {
        (void)rgcd_group_leave(st->group);
    }
}

/* Copy helper: the one heap copy takes over the state from the stack literal. */
static inline void rgcd_dispatch_block_copy_helper(void *dst, const void *src)
{
    (void)dst;
    (void)src;
}

/* Dispose helper (last Block_release): a block object released without having run still
 * completes (its waiters and notifications go ahead, as in libdispatch). */
static inline void rgcd_dispatch_block_dispose_helper(const void *block)
{
    struct rgcd_dispatch_block_state *st =
        RGCD_DISPATCH_REINTERPRET(const struct rgcd_dispatch_block_literal *, block)->state;
    if (__atomic_load_n(&st->runs, __ATOMIC_ACQUIRE) == 0) {
        (void)rgcd_group_leave(st->group);
    }
    Block_release(st->work);
    (void)rgcd_release(st->group);
    free(st);
}

/* A block object: calling or submitting it runs block (unless cancelled first); it can be
 * waited for (dispatch_block_wait), watched (dispatch_block_notify) and cancelled. Release
 * it with Block_release. NULL for unknown flags or when out of memory. */
static inline dispatch_block_t dispatch_block_create(dispatch_block_flags_t flags, dispatch_block_t block)
{
    static const struct rgcd_dispatch_block_descriptor descriptor = {
        0, sizeof(struct rgcd_dispatch_block_literal), rgcd_dispatch_block_copy_helper,
        rgcd_dispatch_block_dispose_helper};
    if ((flags & ~RGCD_DISPATCH_BLOCK_FLAGS_MASK) != 0 || block == NULL) {
        return NULL;
    }
    struct rgcd_dispatch_block_state *st =
        RGCD_DISPATCH_STATIC(struct rgcd_dispatch_block_state *, calloc(1, sizeof(struct rgcd_dispatch_block_state)));
    if (st == NULL) {
        return NULL;
    }
    st->group = rgcd_group_create();
    if (st->group == NULL) {
        free(st);
        return NULL;
    }
    (void)rgcd_group_enter(st->group);
    st->flags = flags;
    st->work = Block_copy(block);
    struct rgcd_dispatch_block_literal literal = {
        _NSConcreteStackBlock, RGCD_DISPATCH_BLOCK_HAS_COPY_DISPOSE, RGCD_DISPATCH_BLOCK_MAGIC,
        rgcd_dispatch_block_invoke, &descriptor, st};
    return Block_copy(RGCD_DISPATCH_REINTERPRET(dispatch_block_t, &literal));
}

/* dispatch_block_create; the QoS class is accepted and not applied (rgcd runs an item at
 * its queue's QoS). NULL for an unknown class or a relative priority outside -15..0. */
static inline dispatch_block_t dispatch_block_create_with_qos_class(dispatch_block_flags_t flags,
                                                                    dispatch_qos_class_t qos_class,
                                                                    int relative_priority,
                                                                    dispatch_block_t block)
{
    if (relative_priority > 0 || relative_priority < -15) {
        return NULL;
    }
    switch (RGCD_DISPATCH_STATIC(unsigned, qos_class)) {
    case 0x21: case 0x19: case 0x15: case 0x11: case 0x09: case 0x05: case 0x00:
        break;
    default:
        return NULL;
    }
    return dispatch_block_create(flags, block);
}

/* Runs block now, on this thread, as a block object with flags would run. */
static inline void dispatch_block_perform(dispatch_block_flags_t flags, dispatch_block_t block)
{
    dispatch_block_t b = dispatch_block_create(flags, block);
    if (b == NULL) {
        block();
        return;
    }
    b();
    Block_release(b);
}

/* Waits until the block object has run (its first run ended) or timeout passes: 0, or
 * non-zero on timeout. Non-zero at once for a block that is not a block object. */
static inline intptr_t dispatch_block_wait(dispatch_block_t block, dispatch_time_t timeout)
{
    struct rgcd_dispatch_block_state *st = rgcd_dispatch_block_state_of(block);
    if (st == NULL) {
        return -1;
    }
    return rgcd_group_wait(st->group, timeout) == 0 ? 0 : 1;
}

/* Submits notification_block to queue once the block object has run (at once if it has). */
static inline void dispatch_block_notify(dispatch_block_t block, dispatch_queue_t queue,
                                         dispatch_block_t notification_block)
{
    struct rgcd_dispatch_block_state *st = rgcd_dispatch_block_state_of(block);
    if (st != NULL) {
        dispatch_group_notify(st->group, queue, notification_block);
    }
}

/* Cancels the block object: a run that has not started yet does nothing (but still counts
 * as its run for waiters and notifications). A run in progress is not interrupted. */
static inline void dispatch_block_cancel(dispatch_block_t block)
{
    struct rgcd_dispatch_block_state *st = rgcd_dispatch_block_state_of(block);
    if (st != NULL) {
        __atomic_store_n(&st->cancelled, 1, __ATOMIC_RELEASE);
    }
}

/* Non-zero once the block object was cancelled. */
static inline intptr_t dispatch_block_testcancel(dispatch_block_t block)
{
    struct rgcd_dispatch_block_state *st = rgcd_dispatch_block_state_of(block);
    return st != NULL && __atomic_load_n(&st->cancelled, __ATOMIC_ACQUIRE) != 0;
}

/* The generic forms know block objects too under -fblocks: dispatch_wait on a group, a
 * semaphore or a block object; dispatch_notify on a group or a block object;
 * dispatch_cancel and dispatch_testcancel on a source or a block object. */
#if defined(__cplusplus)
}
static inline intptr_t dispatch_wait(dispatch_block_t block, dispatch_time_t timeout)
{
    return dispatch_block_wait(block, timeout);
}
static inline void dispatch_notify(dispatch_group_t group, dispatch_queue_t queue, dispatch_block_t notification_block)
{
    dispatch_group_notify(group, queue, notification_block);
}
static inline void dispatch_notify(dispatch_block_t block, dispatch_queue_t queue, dispatch_block_t notification_block)
{
    dispatch_block_notify(block, queue, notification_block);
}
static inline void dispatch_cancel(dispatch_block_t block)
{
    dispatch_block_cancel(block);
}
static inline intptr_t dispatch_testcancel(dispatch_block_t block)
{
    return dispatch_block_testcancel(block);
}
extern "C" {
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#undef dispatch_wait
#undef dispatch_cancel
#undef dispatch_testcancel
#define dispatch_wait(object, timeout)                                                          \
    _Generic((object), dispatch_group_t: dispatch_group_wait, dispatch_semaphore_t: dispatch_semaphore_wait, \
             dispatch_block_t: dispatch_block_wait)((object), (timeout))
#define dispatch_notify(object, queue, notification_block)                                     \
    _Generic((object), dispatch_group_t: dispatch_group_notify, dispatch_block_t: dispatch_block_notify)( \
        (object), (queue), (notification_block))
#define dispatch_cancel(object)                                                                 \
    _Generic((object), dispatch_source_t: dispatch_source_cancel, dispatch_block_t: dispatch_block_cancel)((object))
#define dispatch_testcancel(object)                                                             \
    _Generic((object), dispatch_source_t: dispatch_source_testcancel,                           \
             dispatch_block_t: dispatch_block_testcancel)((object))
#endif

/* Releases a Block_copy'd block passed as context. */
static inline void rgcd_dispatch_block_release(void *context)
{
    Block_release(RGCD_DISPATCH_REINTERPRET(dispatch_block_t, context));
}

/* Sets a copy of block as one of source's handlers (rgcd_source_set_handler_ctx_f: the copy
 * is the handler's own context, released by rgcd once the handler is gone — replaced, after
 * the cancel handler ran, or with the source). A NULL block clears a cancel or registration
 * handler; the event handler cannot be cleared (rgcd reports RGCD_EINVAL). */
static inline void rgcd_dispatch_source_set_block(dispatch_source_t source, rgcd_source_handler_t which,
                                                   dispatch_block_t block)
{
    if (block == NULL) {
        if (which == RGCD_SOURCE_HANDLER_CANCEL) {
            (void)rgcd_source_set_cancel_handler_f(source, NULL);
        } else if (which == RGCD_SOURCE_HANDLER_REGISTRATION) {
            (void)rgcd_source_set_registration_handler_f(source, NULL);
        }
        return;
    }
    dispatch_block_t copy = Block_copy(block);
    if (rgcd_source_set_handler_ctx_f(source, which, rgcd_dispatch_block_call,
                                      RGCD_DISPATCH_REINTERPRET(void *, copy),
                                      rgcd_dispatch_block_release) != 0) {
        Block_release(copy);
    }
}

/* dispatch_source_set_event_handler_f with a copy of handler. */
static inline void dispatch_source_set_event_handler(dispatch_source_t source, dispatch_block_t handler)
{
    rgcd_dispatch_source_set_block(source, RGCD_SOURCE_HANDLER_EVENT, handler);
}

/* dispatch_source_set_cancel_handler_f with a copy of handler. */
static inline void dispatch_source_set_cancel_handler(dispatch_source_t source, dispatch_block_t handler)
{
    rgcd_dispatch_source_set_block(source, RGCD_SOURCE_HANDLER_CANCEL, handler);
}

/* dispatch_source_set_registration_handler_f with a copy of handler. */
static inline void dispatch_source_set_registration_handler(dispatch_source_t source, dispatch_block_t handler)
{
    rgcd_dispatch_source_set_block(source, RGCD_SOURCE_HANDLER_REGISTRATION, handler);
}

/* ---- Data with blocks ---- */

/* dispatch_data_create's destructors: DEFAULT copies the buffer now; FREE and MUNMAP take it
 * over (free() / munmap() once no data object uses it). Any other block is copied and called
 * once, on the queue given, when the bytes are no longer needed. */
#define DISPATCH_DATA_DESTRUCTOR_DEFAULT RGCD_DISPATCH_REINTERPRET(dispatch_block_t, 0)
#define DISPATCH_DATA_DESTRUCTOR_FREE RGCD_DISPATCH_REINTERPRET(dispatch_block_t, 1)
#define DISPATCH_DATA_DESTRUCTOR_MUNMAP RGCD_DISPATCH_REINTERPRET(dispatch_block_t, 2)

/* rgcd_data_create (DEFAULT, FREE, MUNMAP) or rgcd_data_create_f with a copy of destructor. */
static inline dispatch_data_t dispatch_data_create(const void *buffer, size_t size, dispatch_queue_t queue,
                                                   dispatch_block_t destructor)
{
    if (destructor == DISPATCH_DATA_DESTRUCTOR_DEFAULT) {
        return rgcd_data_create(buffer, size, RGCD_DATA_DESTRUCTOR_DEFAULT);
    }
    if (destructor == DISPATCH_DATA_DESTRUCTOR_FREE) {
        return rgcd_data_create(buffer, size, RGCD_DATA_DESTRUCTOR_FREE);
    }
    if (destructor == DISPATCH_DATA_DESTRUCTOR_MUNMAP) {
        return rgcd_data_create(buffer, size, RGCD_DATA_DESTRUCTOR_MUNMAP);
    }
    dispatch_block_t copy = Block_copy(destructor);
    dispatch_data_t data = rgcd_data_create_f(buffer, size, queue, RGCD_DISPATCH_REINTERPRET(void *, copy),
                                              rgcd_dispatch_block_call_release);
    if (data == NULL) {
        Block_release(copy);
    }
    return data;
}

/* The block dispatch_data_apply calls for each region; return false to stop. */
typedef bool (^dispatch_data_applier_t)(dispatch_data_t region, size_t offset, const void *buffer,
                                        size_t size);

static inline bool rgcd_dispatch_data_apply_block(void *context, dispatch_data_t region, size_t offset,
                                                  const void *buffer, size_t size)
{
    return RGCD_DISPATCH_REINTERPRET(dispatch_data_applier_t, context)(region, offset, buffer, size);
}

/* rgcd_data_apply_f with the block: true when every region was visited. */
static inline bool dispatch_data_apply(dispatch_data_t data, dispatch_data_applier_t applier)
{
    return rgcd_data_apply_f(data, RGCD_DISPATCH_REINTERPRET(void *, applier), rgcd_dispatch_data_apply_block) == 1;
}

/* ---- I/O with blocks ---- */

/* The block of dispatch_read / dispatch_write: (data, error). */
typedef void (^rgcd_dispatch_io_data_block_t)(dispatch_data_t data, int error);

/* The block of dispatch_io_read / dispatch_io_write: called until done is set. */
typedef void (^dispatch_io_handler_t)(bool done, dispatch_data_t data, int error);

/* A cleanup block: called once with 0 or an errno. */
typedef void (^rgcd_dispatch_io_cleanup_block_t)(int error);

static inline void rgcd_dispatch_io_data_call_release(void *context, dispatch_data_t data, int error)
{
    rgcd_dispatch_io_data_block_t block = RGCD_DISPATCH_REINTERPRET(rgcd_dispatch_io_data_block_t, context);
    block(data, error);
    Block_release(block);
}

static inline void rgcd_dispatch_io_cleanup_call_release(void *context, int error)
{
    rgcd_dispatch_io_cleanup_block_t block = RGCD_DISPATCH_REINTERPRET(rgcd_dispatch_io_cleanup_block_t, context);
    block(error);
    Block_release(block);
}

/* Calls an I/O handler block; the last call (done) releases it. */
static inline void rgcd_dispatch_io_handler_call(void *context, bool done, dispatch_data_t data, int error)
{
    dispatch_io_handler_t block = RGCD_DISPATCH_REINTERPRET(dispatch_io_handler_t, context);
    block(done, data, error);
    if (done) {
        Block_release(block);
    }
}

/* rgcd_read_f with a copy of handler. */
static inline void dispatch_read(dispatch_fd_t fd, size_t length, dispatch_queue_t queue,
                                 void (^handler)(dispatch_data_t data, int error))
{
    rgcd_dispatch_io_data_block_t copy = Block_copy(handler);
    if (rgcd_read_f(fd, length, queue, RGCD_DISPATCH_REINTERPRET(void *, copy), rgcd_dispatch_io_data_call_release) != 0) {
        Block_release(copy);
    }
}

/* rgcd_write_f with a copy of handler. */
static inline void dispatch_write(dispatch_fd_t fd, dispatch_data_t data, dispatch_queue_t queue,
                                  void (^handler)(dispatch_data_t data, int error))
{
    rgcd_dispatch_io_data_block_t copy = Block_copy(handler);
    if (rgcd_write_f(fd, data, queue, RGCD_DISPATCH_REINTERPRET(void *, copy), rgcd_dispatch_io_data_call_release) != 0) {
        Block_release(copy);
    }
}

/* rgcd_io_create with a copy of cleanup_handler (which may be NULL). */
static inline dispatch_io_t dispatch_io_create(dispatch_io_type_t type, dispatch_fd_t fd, dispatch_queue_t queue,
                                               void (^cleanup_handler)(int error))
{
    if (cleanup_handler == NULL) {
        return rgcd_io_create(type, fd, queue, NULL, NULL);
    }
    rgcd_dispatch_io_cleanup_block_t copy = Block_copy(cleanup_handler);
    dispatch_io_t io = rgcd_io_create(type, fd, queue, RGCD_DISPATCH_REINTERPRET(void *, copy),
                                      rgcd_dispatch_io_cleanup_call_release);
    if (io == NULL) {
        Block_release(copy);
    }
    return io;
}

/* rgcd_io_create_with_path with a copy of cleanup_handler (which may be NULL). */
static inline dispatch_io_t dispatch_io_create_with_path(dispatch_io_type_t type, const char *path, int oflag,
                                                         mode_t mode, dispatch_queue_t queue,
                                                         void (^cleanup_handler)(int error))
{
    if (cleanup_handler == NULL) {
        return rgcd_io_create_with_path(type, path, oflag, RGCD_DISPATCH_STATIC(uint32_t, mode), queue, NULL, NULL);
    }
    rgcd_dispatch_io_cleanup_block_t copy = Block_copy(cleanup_handler);
    dispatch_io_t io = rgcd_io_create_with_path(type, path, oflag, RGCD_DISPATCH_STATIC(uint32_t, mode), queue,
                                                RGCD_DISPATCH_REINTERPRET(void *, copy),
                                                rgcd_dispatch_io_cleanup_call_release);
    if (io == NULL) {
        Block_release(copy);
    }
    return io;
}

/* rgcd_io_create_with_io with a copy of cleanup_handler (which may be NULL). */
static inline dispatch_io_t dispatch_io_create_with_io(dispatch_io_type_t type, dispatch_io_t channel,
                                                       dispatch_queue_t queue, void (^cleanup_handler)(int error))
{
    if (cleanup_handler == NULL) {
        return rgcd_io_create_with_io(type, channel, queue, NULL, NULL);
    }
    rgcd_dispatch_io_cleanup_block_t copy = Block_copy(cleanup_handler);
    dispatch_io_t io = rgcd_io_create_with_io(type, channel, queue, RGCD_DISPATCH_REINTERPRET(void *, copy),
                                              rgcd_dispatch_io_cleanup_call_release);
    if (io == NULL) {
        Block_release(copy);
    }
    return io;
}

/* rgcd_io_read_f with a copy of io_handler (released after its last call). */
static inline void dispatch_io_read(dispatch_io_t channel, off_t offset, size_t length, dispatch_queue_t queue,
                                    dispatch_io_handler_t io_handler)
{
    dispatch_io_handler_t copy = Block_copy(io_handler);
    if (rgcd_io_read_f(channel, RGCD_DISPATCH_STATIC(int64_t, offset), length, queue,
                       RGCD_DISPATCH_REINTERPRET(void *, copy), rgcd_dispatch_io_handler_call) != 0) {
        Block_release(copy);
    }
}

/* rgcd_io_write_f with a copy of io_handler (released after its last call). */
static inline void dispatch_io_write(dispatch_io_t channel, off_t offset, dispatch_data_t data,
                                     dispatch_queue_t queue, dispatch_io_handler_t io_handler)
{
    dispatch_io_handler_t copy = Block_copy(io_handler);
    if (rgcd_io_write_f(channel, RGCD_DISPATCH_STATIC(int64_t, offset), data, queue,
                        RGCD_DISPATCH_REINTERPRET(void *, copy), rgcd_dispatch_io_handler_call) != 0) {
        Block_release(copy);
    }
}

/* rgcd_io_barrier_f with a copy of barrier. */
static inline void dispatch_io_barrier(dispatch_io_t channel, dispatch_block_t barrier)
{
    dispatch_block_t copy = Block_copy(barrier);
    if (rgcd_io_barrier_f(channel, RGCD_DISPATCH_REINTERPRET(void *, copy), rgcd_dispatch_block_call_release) != 0) {
        Block_release(copy);
    }
}

#endif /* __BLOCKS__ */

#ifdef __cplusplus
}
#endif

#endif /* RGCD_DISPATCH_DISPATCH_H */
