// C half of the Go binding's Data (shim.h): one-call helpers and the regions trampoline.
#include <stdlib.h>
#include <string.h>

#include "shim.h"

#include "_cgo_export.h"

static char *data_copy_error(void) {
	const char *m = rgcd_last_error();
	return strdup(m != NULL ? m : "");
}

static rgcd_go_res data_result(int status) {
	rgcd_go_res r = {status, NULL};
	if (status < 0) {
		r.msg = data_copy_error();
	}
	return r;
}

static rgcd_data_t data_or_msg(rgcd_data_t d, char **msg) {
	if (d == NULL) {
		*msg = data_copy_error();
	}
	return d;
}

rgcd_data_t rgcd_go_data_create(const void *buffer, size_t size, char **msg) {
	return data_or_msg(rgcd_data_create(size != 0 ? buffer : NULL, size,
					    RGCD_DATA_DESTRUCTOR_DEFAULT),
			   msg);
}

rgcd_data_t rgcd_go_data_concat(rgcd_data_t a, rgcd_data_t b, char **msg) {
	return data_or_msg(rgcd_data_create_concat(a, b), msg);
}

rgcd_data_t rgcd_go_data_subrange(rgcd_data_t d, size_t offset, size_t length, char **msg) {
	return data_or_msg(rgcd_data_create_subrange(d, offset, length), msg);
}

rgcd_data_t rgcd_go_data_retain(rgcd_data_t d) {
	if (d != NULL && rgcd_retain(d) != 0) {
		return NULL;
	}
	return d;
}

typedef struct {
	char *dst;
	size_t cap;
	size_t copied;
} copy_ctx;

static bool copy_applier(void *context, rgcd_data_t region, size_t offset, const void *buffer,
			 size_t size) {
	(void)region;
	copy_ctx *c = context;
	if (offset >= c->cap) {
		return false;
	}
	size_t n = c->cap - offset < size ? c->cap - offset : size;
	memcpy(c->dst + offset, buffer, n);
	c->copied = offset + n;
	return n == size;
}

size_t rgcd_go_data_copy(rgcd_data_t d, void *dst, size_t cap) {
	copy_ctx c = {dst, cap, 0};
	if (cap == 0 || rgcd_data_apply_f(d, &c, copy_applier) < 0) {
		return 0;
	}
	return c.copied;
}

static bool region_tramp(void *context, rgcd_data_t region, size_t offset, const void *buffer,
			 size_t size) {
	(void)region;
	return rgcdGoDataRegion((uintptr_t)context, offset, (char *)buffer, size);
}

rgcd_go_res rgcd_go_data_apply(rgcd_data_t d, uintptr_t slot) {
	return data_result(rgcd_data_apply_f(d, (void *)slot, region_tramp));
}

