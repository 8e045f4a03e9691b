/* C helpers for the Go binding: each wraps one rgcd call (or two that must run on the same
 * thread, such as a call and rgcd_last_error()) so that Go makes a single cgo call, and
 * passes Go's slot numbers to rgcd as context pointers. Nothing here keeps state. */
#ifndef RGCD_GO_SHIM_H
#define RGCD_GO_SHIM_H

#include <rgcd.h>
#include <stdint.h>

/* The outcome of a call: status as rgcd returns it and, when it is negative, a malloc'ed copy
 * of rgcd_last_error() taken on the same thread (the Go side frees it). */
typedef struct {
	int status;
	char *msg;
} rgcd_go_res;

enum {
	RGCD_GO_ASYNC,
	RGCD_GO_BARRIER_ASYNC,
	RGCD_GO_SYNC,
	RGCD_GO_BARRIER_SYNC,
	RGCD_GO_GROUP_ASYNC,
	RGCD_GO_GROUP_NOTIFY,
	RGCD_GO_AFTER,
	RGCD_GO_AFTER_AT,
};

/* Submits Go slot `slot` to `q` as operation `op` (RGCD_GO_*). `group` is used by the group
 * operations, `delay_ns` by RGCD_GO_AFTER (negative: never) and, as an absolute monotonic
 * time in nanoseconds (rgcd_time_t), by RGCD_GO_AFTER_AT. Sync operations call the sync
 * trampoline (the slot stays allocated), the others the task trampoline (which frees it).
 * Handles pass as integers: cgo would check every pointer argument on each call. */
rgcd_go_res rgcd_go_submit(int op, uintptr_t q, uintptr_t group, uintptr_t slot,
			   int64_t delay_ns);

/* Submits the Go drainer of batch queue `id` to global queue `q` (see batch.go). Handles
 * pass as integers in the hot calls: cgo checks every pointer argument. */
int rgcd_go_drain_submit(uintptr_t q, uintptr_t id);

/* Group accounting of the batch queues: retain + enter, and leave + release. */
void rgcd_go_group_hold(rgcd_group_t g);
void rgcd_go_group_drop(rgcd_group_t g);

/* rgcd_apply_f over the Go slot `slot` (the apply trampoline). */
rgcd_go_res rgcd_go_apply(size_t n, rgcd_queue_t q, uintptr_t slot);

/* rgcd_once_f with the once trampoline. */
void rgcd_go_once(rgcd_once_t *pred, uintptr_t slot);

/* A timeout in nanoseconds from now as a deadline (negative: forever). */
rgcd_time_t rgcd_go_deadline(int64_t timeout_ns);

int rgcd_go_group_wait(rgcd_group_t g, int64_t timeout_ns);
int rgcd_go_semaphore_wait(rgcd_semaphore_t s, int64_t timeout_ns);

/* Generic object calls that report failures with their message. */
rgcd_go_res rgcd_go_object(int op, void *object);
enum { RGCD_GO_RELEASE, RGCD_GO_SUSPEND, RGCD_GO_RESUME, RGCD_GO_ACTIVATE, RGCD_GO_CANCEL };

rgcd_go_res rgcd_go_set_target(void *object, rgcd_queue_t target);

/* Constructors: the handle, or NULL with *msg set to a malloc'ed message. */
rgcd_queue_t rgcd_go_queue_create(const char *label, rgcd_queue_attr_t attr,
				  rgcd_queue_t target, char **msg);
rgcd_group_t rgcd_go_group_create(char **msg);
rgcd_semaphore_t rgcd_go_semaphore_create(intptr_t value, char **msg);
rgcd_source_t rgcd_go_source_create(rgcd_source_type_t type, uintptr_t handle,
				    uintptr_t mask, rgcd_queue_t q, char **msg);
rgcd_queue_t rgcd_go_global_queue(intptr_t id, char **msg);

/* Sets source handler `which` to call Go slot `slot`; the slot is freed when rgcd drops it. */
rgcd_go_res rgcd_go_source_set_handler(rgcd_source_t s, rgcd_source_handler_t which,
				       uintptr_t slot);
rgcd_go_res rgcd_go_source_set_timer(rgcd_source_t s, int64_t start_ns, int64_t interval_ns,
				     int64_t leeway_ns);
rgcd_go_res rgcd_go_source_merge(rgcd_source_t s, uintptr_t value);

/* Queue-specific values: keys and values are Go-side numbers passed as pointers. */
rgcd_go_res rgcd_go_set_specific(rgcd_queue_t q, uintptr_t key, uintptr_t value);
uintptr_t rgcd_go_queue_get_specific(rgcd_queue_t q, uintptr_t key);
uintptr_t rgcd_go_get_specific(uintptr_t key);

/* Data (data.go). Constructors return the handle, or NULL with *msg set. */
rgcd_data_t rgcd_go_data_create(const void *buffer, size_t size, char **msg);
rgcd_data_t rgcd_go_data_concat(rgcd_data_t a, rgcd_data_t b, char **msg);
rgcd_data_t rgcd_go_data_subrange(rgcd_data_t d, size_t offset, size_t length, char **msg);
/* Retains `d` (borrowed in a handler) for a Go wrapper; NULL stays NULL. */
rgcd_data_t rgcd_go_data_retain(rgcd_data_t d);
/* Copies the bytes of `d` (at most `cap`) to `dst` in C, region by region; returns the count. */
size_t rgcd_go_data_copy(rgcd_data_t d, void *dst, size_t cap);
/* rgcd_data_apply_f calling the Go regions callback of slot `slot` (which stays allocated). */
rgcd_go_res rgcd_go_data_apply(rgcd_data_t d, uintptr_t slot);

/* I/O (io.go). A cleanup slot is passed only when has_cleanup is set; it is freed by the
 * cleanup callback, or by Go when the constructor fails. Operation slots are freed by the
 * last (done) call of their handler, or by Go when the call fails. */
rgcd_io_t rgcd_go_io_create(rgcd_io_type_t type, int fd, rgcd_queue_t q, int has_cleanup,
			    uintptr_t slot, char **msg);
rgcd_io_t rgcd_go_io_create_with_path(rgcd_io_type_t type, const char *path, int oflag,
				      uint32_t mode, rgcd_queue_t q, int has_cleanup,
				      uintptr_t slot, char **msg);
rgcd_io_t rgcd_go_io_create_with_io(rgcd_io_type_t type, rgcd_io_t io, rgcd_queue_t q,
				    int has_cleanup, uintptr_t slot, char **msg);
rgcd_go_res rgcd_go_io_read(rgcd_io_t ch, int64_t offset, size_t length, rgcd_queue_t q,
			    uintptr_t slot);
rgcd_go_res rgcd_go_io_write(rgcd_io_t ch, int64_t offset, rgcd_data_t d, rgcd_queue_t q,
			     uintptr_t slot);
rgcd_go_res rgcd_go_io_barrier(rgcd_io_t ch, uintptr_t slot);
enum { RGCD_GO_IO_CLOSE, RGCD_GO_IO_HIGH_WATER, RGCD_GO_IO_LOW_WATER, RGCD_GO_IO_INTERVAL };
/* rgcd_io_close (value: flags), the water marks (value) or the interval (value, flags). */
rgcd_go_res rgcd_go_io_set(int op, rgcd_io_t ch, uint64_t value, unsigned long flags);
/* rgcd_read_f / rgcd_write_f with the one-shot data trampoline. */
rgcd_go_res rgcd_go_read(int fd, size_t length, rgcd_queue_t q, uintptr_t slot);
rgcd_go_res rgcd_go_write(int fd, rgcd_data_t d, rgcd_queue_t q, uintptr_t slot);

#endif
