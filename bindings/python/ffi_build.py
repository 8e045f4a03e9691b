"""cffi builder for ``rgcd._rgcd_cffi``: the declarations of the C ABI the binding uses
(``include/rgcd.h``) plus the C trampolines that C calls back into Python through.

The extension does not link librgcd: ``rgcd._lib`` loads the library with ``RTLD_GLOBAL``
before importing it, so one built extension works with the bundled library and with the one
in a CMake build tree (``RGCD_LIBRARY``).
"""

import os

from cffi import FFI

HERE = os.path.dirname(os.path.abspath(__file__))
INCLUDE = os.path.normpath(os.path.join(HERE, "..", "..", "include"))

CDEF = r"""
typedef uint64_t rgcd_time_t;
typedef void *rgcd_object_t;
typedef struct rgcd_queue_s *rgcd_queue_t;
typedef struct rgcd_group_s *rgcd_group_t;
typedef struct rgcd_semaphore_s *rgcd_semaphore_t;
typedef struct rgcd_source_s *rgcd_source_t;
typedef uint32_t rgcd_queue_attr_t;
typedef uint32_t rgcd_qos_class_t;
typedef uint32_t rgcd_source_type_t;
typedef uint32_t rgcd_source_handler_t;
typedef intptr_t rgcd_once_t;
typedef void (*rgcd_function_t)(void *context);
typedef void (*rgcd_apply_function_t)(void *context, size_t iteration);
typedef struct rgcd_data_s *rgcd_data_t;
typedef uint32_t rgcd_data_destructor_t;
typedef struct rgcd_io_s *rgcd_io_t;
typedef unsigned long rgcd_io_type_t;
typedef unsigned long rgcd_io_close_flags_t;
typedef unsigned long rgcd_io_interval_flags_t;
typedef void (*rgcd_io_data_function_t)(void *context, rgcd_data_t data, int error);
typedef void (*rgcd_io_cleanup_function_t)(void *context, int error);
typedef void (*rgcd_io_handler_function_t)(void *context, bool done, rgcd_data_t data, int error);
struct timespec { long tv_sec; long tv_nsec; ...; };

const char *rgcd_last_error(void);
rgcd_group_t rgcd_group_create(void);
int rgcd_group_enter(rgcd_group_t group);
int rgcd_group_leave(rgcd_group_t group);
int rgcd_group_wait(rgcd_group_t group, rgcd_time_t timeout);
int rgcd_group_notify_f(rgcd_group_t, rgcd_queue_t, void *, rgcd_function_t);
int rgcd_group_async_f(rgcd_group_t, rgcd_queue_t, void *, rgcd_function_t);
int rgcd_retain(rgcd_object_t object);
int rgcd_release(rgcd_object_t object);
int rgcd_suspend(rgcd_object_t object);
int rgcd_resume(rgcd_object_t object);
int rgcd_activate(rgcd_object_t object);
int rgcd_set_context(rgcd_object_t object, void *context);
void *rgcd_get_context(rgcd_object_t object);
int rgcd_set_finalizer_f(rgcd_object_t object, rgcd_function_t finalizer);
int rgcd_set_target_queue(rgcd_object_t object, rgcd_queue_t target);
rgcd_queue_t rgcd_queue_create(const char *label, rgcd_queue_attr_t attr);
rgcd_queue_t rgcd_get_global_queue(intptr_t identifier, uintptr_t flags);
rgcd_queue_t rgcd_get_main_queue(void);
const char *rgcd_queue_get_label(rgcd_queue_t queue);
rgcd_qos_class_t rgcd_queue_get_qos_class(rgcd_queue_t queue, int *relative_priority);
int rgcd_async_f(rgcd_queue_t, void *, rgcd_function_t);
int rgcd_barrier_async_f(rgcd_queue_t, void *, rgcd_function_t);
int rgcd_sync_f(rgcd_queue_t, void *, rgcd_function_t);
int rgcd_barrier_sync_f(rgcd_queue_t, void *, rgcd_function_t);
int rgcd_after_f(rgcd_time_t when, rgcd_queue_t, void *, rgcd_function_t);
int rgcd_apply_f(size_t iterations, rgcd_queue_t, void *, rgcd_apply_function_t);
int rgcd_once_f(rgcd_once_t *predicate, void *context, rgcd_function_t function);
int rgcd_queue_set_specific(rgcd_queue_t, const void *key, void *context, rgcd_function_t destructor);
void *rgcd_queue_get_specific(rgcd_queue_t queue, const void *key);
void *rgcd_get_specific(const void *key);
size_t rgcd_pool_thread_count(void);
size_t rgcd_debug_live_objects(void);
rgcd_semaphore_t rgcd_semaphore_create(intptr_t value);
int rgcd_semaphore_wait(rgcd_semaphore_t sema, rgcd_time_t timeout);
int rgcd_semaphore_signal(rgcd_semaphore_t sema);
rgcd_source_t rgcd_source_create(rgcd_source_type_t, uintptr_t handle, uintptr_t mask, rgcd_queue_t);
int rgcd_source_set_handler_ctx_f(rgcd_source_t, rgcd_source_handler_t which, rgcd_function_t handler,
                                  void *handler_context, rgcd_function_t release);
int rgcd_source_cancel(rgcd_source_t source);
int rgcd_source_testcancel(rgcd_source_t source);
uintptr_t rgcd_source_get_data(rgcd_source_t source);
int rgcd_source_set_timer(rgcd_source_t, rgcd_time_t start, uint64_t interval, uint64_t leeway);
rgcd_time_t rgcd_time(rgcd_time_t when, int64_t delta);
int rgcd_queue_is_current(rgcd_queue_t queue);
rgcd_queue_t rgcd_workloop_create(const char *label);
rgcd_queue_t rgcd_workloop_create_inactive(const char *label);

rgcd_data_t rgcd_data_empty(void);
rgcd_data_t rgcd_data_create(const void *buffer, size_t size, rgcd_data_destructor_t destructor);
size_t rgcd_data_get_size(rgcd_data_t data);
rgcd_data_t rgcd_data_create_concat(rgcd_data_t first, rgcd_data_t second);
rgcd_data_t rgcd_data_create_subrange(rgcd_data_t data, size_t offset, size_t length);
rgcd_data_t rgcd_data_create_map(rgcd_data_t data, const void **buffer_ptr, size_t *size_ptr);
rgcd_data_t rgcd_data_copy_region(rgcd_data_t data, size_t location, size_t *offset_ptr);

int rgcd_read_f(int fd, size_t length, rgcd_queue_t queue, void *context,
                rgcd_io_data_function_t handler);
int rgcd_write_f(int fd, rgcd_data_t data, rgcd_queue_t queue, void *context,
                 rgcd_io_data_function_t handler);
rgcd_io_t rgcd_io_create(rgcd_io_type_t type, int fd, rgcd_queue_t queue, void *context,
                         rgcd_io_cleanup_function_t cleanup_handler);
int rgcd_io_read_f(rgcd_io_t channel, int64_t offset, size_t length, rgcd_queue_t queue,
                   void *context, rgcd_io_handler_function_t handler);
int rgcd_io_write_f(rgcd_io_t channel, int64_t offset, rgcd_data_t data, rgcd_queue_t queue,
                    void *context, rgcd_io_handler_function_t handler);
int rgcd_io_close(rgcd_io_t channel, rgcd_io_close_flags_t flags);
int rgcd_io_barrier_f(rgcd_io_t channel, void *context, rgcd_function_t barrier);
int rgcd_io_get_descriptor(rgcd_io_t channel);
int rgcd_io_set_high_water(rgcd_io_t channel, size_t high_water);
int rgcd_io_set_low_water(rgcd_io_t channel, size_t low_water);
int rgcd_io_set_interval(rgcd_io_t channel, uint64_t interval, rgcd_io_interval_flags_t flags);
rgcd_time_t rgcd_walltime(const struct timespec *when, int64_t delta);

/* Python side of the trampolines (rgcd/_core.py). */
extern "Python" void _rgcdpy_run_once(void *);
extern "Python" void _rgcdpy_run_kept(void *);
extern "Python" void _rgcdpy_drop(void *);
extern "Python" void _rgcdpy_apply(void *, size_t);
extern "Python" void _rgcdpy_io_data(void *, rgcd_data_t, int);
extern "Python" void _rgcdpy_io_handler(void *, bool, rgcd_data_t, int);
extern "Python" void _rgcdpy_io_cleanup(void *, int);
extern "Python" void _rgcdpy_drain(void *);

/* C side: what is handed to rgcd as function pointers. */
void rgcdpy_once(void *);
void rgcdpy_kept(void *);
void rgcdpy_drop(void *);
void rgcdpy_apply(void *, size_t);
void rgcdpy_io_data(void *, rgcd_data_t, int);
void rgcdpy_io_handler(void *, bool, rgcd_data_t, int);
void rgcdpy_io_cleanup(void *, int);
void rgcdpy_drain(void *);
void rgcdpy_set_closing(int);
int rgcdpy_in_flight(void);
"""

SOURCE = r"""
#include <time.h>
#include "rgcd.h"

/* Set by the interpreter's atexit hook: from then on, callbacks do not enter Python (an
 * interpreter that is finalizing ends any foreign thread that asks for the GIL). */
static volatile int rgcdpy_closing = 0;
/* Callbacks between their closing check and their return (see rgcd/_core.py, _at_exit). */
static int rgcdpy_inflight = 0;

static void _rgcdpy_run_once(void *);
static void _rgcdpy_run_kept(void *);
static void _rgcdpy_drop(void *);
static void _rgcdpy_apply(void *, size_t);
static void _rgcdpy_io_data(void *, rgcd_data_t, int);
static void _rgcdpy_io_handler(void *, bool, rgcd_data_t, int);
static void _rgcdpy_io_cleanup(void *, int);
static void _rgcdpy_drain(void *);

static void rgcdpy_set_closing(int v) { __atomic_store_n(&rgcdpy_closing, v, __ATOMIC_SEQ_CST); }
static int rgcdpy_in_flight(void) { return __atomic_load_n(&rgcdpy_inflight, __ATOMIC_SEQ_CST); }

/* Enter: count the call, then re-check closing (the atexit hook sets closing, then waits for
 * the count to drain). Returns 0 when the callback must not enter Python. */
static int rgcdpy_enter(void) {
    __atomic_add_fetch(&rgcdpy_inflight, 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&rgcdpy_closing, __ATOMIC_SEQ_CST)) {
        __atomic_sub_fetch(&rgcdpy_inflight, 1, __ATOMIC_SEQ_CST);
        return 0;
    }
    return 1;
}
static void rgcdpy_leave(void) { __atomic_sub_fetch(&rgcdpy_inflight, 1, __ATOMIC_SEQ_CST); }

/* Runs a Python trampoline. On a worker thread that already has a Python thread state (cffi
 * created and kept it on the first call), the GIL is taken here, between
 * rgcd_pool_lock_wait_begin/end: a worker queued on the GIL is not blocked work, and the
 * pool must not grow for it. cffi's own GIL handling inside py() then finds the GIL held. */
#define RGCDPY_CALL(py_call)                                                          \
    do {                                                                              \
        if (!rgcdpy_enter()) return;                                                  \
        if (PyGILState_GetThisThreadState() != NULL && !PyGILState_Check()) {         \
            rgcd_pool_lock_wait_begin();                                              \
            PyGILState_STATE st_ = PyGILState_Ensure();                               \
            rgcd_pool_lock_wait_end();                                                \
            py_call;                                                                  \
            PyGILState_Release(st_);                                                  \
        } else {                                                                      \
            py_call;                                                                  \
        }                                                                             \
        rgcdpy_leave();                                                               \
    } while (0)

static void rgcdpy_once(void *ctx) { RGCDPY_CALL(_rgcdpy_run_once(ctx)); }
static void rgcdpy_kept(void *ctx) { RGCDPY_CALL(_rgcdpy_run_kept(ctx)); }
static void rgcdpy_drop(void *ctx) { RGCDPY_CALL(_rgcdpy_drop(ctx)); }
static void rgcdpy_apply(void *ctx, size_t i) { RGCDPY_CALL(_rgcdpy_apply(ctx, i)); }
static void rgcdpy_io_data(void *ctx, rgcd_data_t d, int e) { RGCDPY_CALL(_rgcdpy_io_data(ctx, d, e)); }
static void rgcdpy_io_handler(void *ctx, bool done, rgcd_data_t d, int e) {
    RGCDPY_CALL(_rgcdpy_io_handler(ctx, done, d, e));
}
static void rgcdpy_io_cleanup(void *ctx, int e) { RGCDPY_CALL(_rgcdpy_io_cleanup(ctx, e)); }
/* A drainer: runs queued Python callables of one batched queue (rgcd/_batch.py). */
static void rgcdpy_drain(void *ctx) { RGCDPY_CALL(_rgcdpy_drain(ctx)); }
"""

ffibuilder = FFI()
ffibuilder.cdef(CDEF)
ffibuilder.set_source("rgcd._rgcd_cffi", SOURCE, include_dirs=[INCLUDE])

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
