// C half of the Go binding: trampolines from rgcd into Go and one-call wrappers (shim.h).
#include "shim.h"

#include <stdlib.h>
#include <string.h>

#include "_cgo_export.h"

static void task_tramp(void *ctx) { rgcdGoTask((uintptr_t)ctx); }
static void sync_tramp(void *ctx) { rgcdGoSync((uintptr_t)ctx); }
static void apply_tramp(void *ctx, size_t i) { rgcdGoApply((uintptr_t)ctx, i); }
static void handler_tramp(void *ctx) { rgcdGoHandler((uintptr_t)ctx); }
static void release_tramp(void *ctx) { rgcdGoRelease((uintptr_t)ctx); }
static void specific_tramp(void *ctx) { rgcdGoSpecificDone((uintptr_t)ctx); }
static void drain_tramp(void *ctx) { rgcdGoDrain((uintptr_t)ctx); }

int rgcd_go_drain_submit(uintptr_t q, uintptr_t id) {
	return rgcd_async_f((rgcd_queue_t)q, (void *)id, drain_tramp);
}

void rgcd_go_group_hold(rgcd_group_t g) {
	(void)rgcd_retain(g);
	(void)rgcd_group_enter(g);
}

void rgcd_go_group_drop(rgcd_group_t g) {
	(void)rgcd_group_leave(g);
	(void)rgcd_release(g);
}

static char *copy_error(void) {
	const char *m = rgcd_last_error();
	return strdup(m != NULL ? m : "");
}

static rgcd_go_res result(int status) {
	rgcd_go_res r = {status, NULL};
	if (status < 0) {
		r.msg = copy_error();
	}
	return r;
}

rgcd_time_t rgcd_go_deadline(int64_t timeout_ns) {
	if (timeout_ns < 0) {
		return RGCD_TIME_FOREVER;
	}
	return rgcd_time(RGCD_TIME_NOW, timeout_ns);
}

rgcd_go_res rgcd_go_submit(int op, uintptr_t queue, uintptr_t grp, uintptr_t slot,
			   int64_t delay_ns) {
	rgcd_queue_t q = (rgcd_queue_t)queue;
	rgcd_group_t group = (rgcd_group_t)grp;
	void *ctx = (void *)slot;
	switch (op) {
	case RGCD_GO_ASYNC:
		return result(rgcd_async_f(q, ctx, task_tramp));
	case RGCD_GO_BARRIER_ASYNC:
		return result(rgcd_barrier_async_f(q, ctx, task_tramp));
	case RGCD_GO_SYNC:
		return result(rgcd_sync_f(q, ctx, sync_tramp));
	case RGCD_GO_BARRIER_SYNC:
		return result(rgcd_barrier_sync_f(q, ctx, sync_tramp));
	case RGCD_GO_GROUP_ASYNC:
		return result(rgcd_group_async_f(group, q, ctx, task_tramp));
	case RGCD_GO_GROUP_NOTIFY:
		return result(rgcd_group_notify_f(group, q, ctx, task_tramp));
	case RGCD_GO_AFTER:
		return result(rgcd_after_f(rgcd_go_deadline(delay_ns), q, ctx, task_tramp));
	case RGCD_GO_AFTER_AT:
		return result(rgcd_after_f((rgcd_time_t)delay_ns, q, ctx, task_tramp));
	default:
		return result(RGCD_EINVAL);
	}
}

rgcd_go_res rgcd_go_apply(size_t n, rgcd_queue_t q, uintptr_t slot) {
	return result(rgcd_apply_f(n, q, (void *)slot, apply_tramp));
}

void rgcd_go_once(rgcd_once_t *pred, uintptr_t slot) {
	(void)rgcd_once_f(pred, (void *)slot, sync_tramp);
}

int rgcd_go_group_wait(rgcd_group_t g, int64_t timeout_ns) {
	return rgcd_group_wait(g, rgcd_go_deadline(timeout_ns));
}

int rgcd_go_semaphore_wait(rgcd_semaphore_t s, int64_t timeout_ns) {
	return rgcd_semaphore_wait(s, rgcd_go_deadline(timeout_ns));
}

rgcd_go_res rgcd_go_object(int op, void *object) {
	switch (op) {
	case RGCD_GO_RELEASE:
		return result(rgcd_release(object));
	case RGCD_GO_SUSPEND:
		return result(rgcd_suspend(object));
	case RGCD_GO_RESUME:
		return result(rgcd_resume(object));
	case RGCD_GO_ACTIVATE:
		return result(rgcd_activate(object));
	case RGCD_GO_CANCEL:
		return result(rgcd_source_cancel((rgcd_source_t)object));
	default:
		return result(RGCD_EINVAL);
	}
}

rgcd_go_res rgcd_go_set_target(void *object, rgcd_queue_t target) {
	return result(rgcd_set_target_queue(object, target));
}

rgcd_queue_t rgcd_go_queue_create(const char *label, rgcd_queue_attr_t attr,
				  rgcd_queue_t target, char **msg) {
	rgcd_queue_t q = rgcd_queue_create_with_target(label, attr, target);
	if (q == NULL) {
		*msg = copy_error();
	}
	return q;
}

rgcd_group_t rgcd_go_group_create(char **msg) {
	rgcd_group_t g = rgcd_group_create();
	if (g == NULL) {
		*msg = copy_error();
	}
	return g;
}

rgcd_semaphore_t rgcd_go_semaphore_create(intptr_t value, char **msg) {
	rgcd_semaphore_t s = rgcd_semaphore_create(value);
	if (s == NULL) {
		*msg = copy_error();
	}
	return s;
}

rgcd_source_t rgcd_go_source_create(rgcd_source_type_t type, uintptr_t handle,
				    uintptr_t mask, rgcd_queue_t q, char **msg) {
	rgcd_source_t s = rgcd_source_create(type, handle, mask, q);
	if (s == NULL) {
		*msg = copy_error();
	}
	return s;
}

rgcd_queue_t rgcd_go_global_queue(intptr_t id, char **msg) {
	rgcd_queue_t q = rgcd_get_global_queue(id, 0);
	if (q == NULL) {
		*msg = copy_error();
	}
	return q;
}

rgcd_go_res rgcd_go_source_set_handler(rgcd_source_t s, rgcd_source_handler_t which,
				       uintptr_t slot) {
	return result(rgcd_source_set_handler_ctx_f(s, which, handler_tramp, (void *)slot,
						    release_tramp));
}

rgcd_go_res rgcd_go_source_set_timer(rgcd_source_t s, int64_t start_ns, int64_t interval_ns,
				     int64_t leeway_ns) {
	uint64_t interval = interval_ns <= 0 ? RGCD_TIME_FOREVER : (uint64_t)interval_ns;
	uint64_t leeway = leeway_ns < 0 ? 0 : (uint64_t)leeway_ns;
	return result(rgcd_source_set_timer(s, rgcd_go_deadline(start_ns), interval, leeway));
}

rgcd_go_res rgcd_go_source_merge(rgcd_source_t s, uintptr_t value) {
	return result(rgcd_source_merge_data(s, value));
}

rgcd_go_res rgcd_go_set_specific(rgcd_queue_t q, uintptr_t key, uintptr_t value) {
	return result(rgcd_queue_set_specific(q, (const void *)key, (void *)value,
					      value != 0 ? specific_tramp : NULL));
}

uintptr_t rgcd_go_queue_get_specific(rgcd_queue_t q, uintptr_t key) {
	return (uintptr_t)rgcd_queue_get_specific(q, (const void *)key);
}

uintptr_t rgcd_go_get_specific(uintptr_t key) {
	return (uintptr_t)rgcd_get_specific((const void *)key);
}
