// C half of the Go binding's I/O channels (shim.h): trampolines and one-call helpers.
#include <stdlib.h>
#include <string.h>

#include "shim.h"

#include "_cgo_export.h"

static char *io_copy_error(void) {
	const char *m = rgcd_last_error();
	return strdup(m != NULL ? m : "");
}

static rgcd_go_res io_result(int status) {
	rgcd_go_res r = {status, NULL};
	if (status < 0) {
		r.msg = io_copy_error();
	}
	return r;
}

static void cleanup_tramp(void *context, int error) {
	rgcdGoIOCleanup((uintptr_t)context, error);
}

static void io_handler_tramp(void *context, bool done, rgcd_data_t data, int error) {
	rgcdGoIOHandler((uintptr_t)context, done, data, error);
}

static void io_data_tramp(void *context, rgcd_data_t data, int error) {
	rgcdGoIOData((uintptr_t)context, data, error);
}

static void barrier_tramp(void *context) { rgcdGoTask((uintptr_t)context); }

static rgcd_io_t io_or_msg(rgcd_io_t ch, char **msg) {
	if (ch == NULL) {
		*msg = io_copy_error();
	}
	return ch;
}

rgcd_io_t rgcd_go_io_create(rgcd_io_type_t type, int fd, rgcd_queue_t q, int has_cleanup,
			    uintptr_t slot, char **msg) {
	return io_or_msg(rgcd_io_create(type, fd, q, (void *)slot,
					has_cleanup ? cleanup_tramp : NULL),
			 msg);
}

rgcd_io_t rgcd_go_io_create_with_path(rgcd_io_type_t type, const char *path, int oflag,
				      uint32_t mode, rgcd_queue_t q, int has_cleanup,
				      uintptr_t slot, char **msg) {
	return io_or_msg(rgcd_io_create_with_path(type, path, oflag, mode, q, (void *)slot,
						  has_cleanup ? cleanup_tramp : NULL),
			 msg);
}

rgcd_io_t rgcd_go_io_create_with_io(rgcd_io_type_t type, rgcd_io_t io, rgcd_queue_t q,
				    int has_cleanup, uintptr_t slot, char **msg) {
	return io_or_msg(rgcd_io_create_with_io(type, io, q, (void *)slot,
						has_cleanup ? cleanup_tramp : NULL),
			 msg);
}

rgcd_go_res rgcd_go_io_read(rgcd_io_t ch, int64_t offset, size_t length, rgcd_queue_t q,
			    uintptr_t slot) {
	return io_result(rgcd_io_read_f(ch, offset, length, q, (void *)slot, io_handler_tramp));
}

rgcd_go_res rgcd_go_io_write(rgcd_io_t ch, int64_t offset, rgcd_data_t d, rgcd_queue_t q,
			     uintptr_t slot) {
	return io_result(rgcd_io_write_f(ch, offset, d, q, (void *)slot, io_handler_tramp));
}

rgcd_go_res rgcd_go_io_barrier(rgcd_io_t ch, uintptr_t slot) {
	return io_result(rgcd_io_barrier_f(ch, (void *)slot, barrier_tramp));
}

rgcd_go_res rgcd_go_io_set(int op, rgcd_io_t ch, uint64_t value, unsigned long flags) {
	switch (op) {
	case RGCD_GO_IO_CLOSE:
		return io_result(rgcd_io_close(ch, flags));
	case RGCD_GO_IO_HIGH_WATER:
		return io_result(rgcd_io_set_high_water(ch, (size_t)value));
	case RGCD_GO_IO_LOW_WATER:
		return io_result(rgcd_io_set_low_water(ch, (size_t)value));
	case RGCD_GO_IO_INTERVAL:
		return io_result(rgcd_io_set_interval(ch, value, flags));
	default:
		return io_result(RGCD_EINVAL);
	}
}

rgcd_go_res rgcd_go_read(int fd, size_t length, rgcd_queue_t q, uintptr_t slot) {
	return io_result(rgcd_read_f(fd, length, q, (void *)slot, io_data_tramp));
}

rgcd_go_res rgcd_go_write(int fd, rgcd_data_t d, rgcd_queue_t q, uintptr_t slot) {
	return io_result(rgcd_write_f(fd, d, q, (void *)slot, io_data_tramp));
}
