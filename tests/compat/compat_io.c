/* dispatch I/O's function API through <dispatch/dispatch.h> (no blocks): dispatch_write_f and
 * dispatch_read_f on a pipe, then a STREAM read channel and a STREAM write channel on another
 * pipe (dispatch_io_create_f, dispatch_io_write_f, dispatch_io_read_f with a high water mark,
 * dispatch_io_set_low_water / _interval, dispatch_io_get_descriptor), a barrier
 * (dispatch_io_barrier_f), dispatch_io_close with DISPATCH_IO_STOP ending a pending read with
 * ECANCELED, and each cleanup handler run once. dispatch_fd_t comes from the header. */
#define _POSIX_C_SOURCE 200809L
#include "compat_check.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

static dispatch_semaphore_t sem;
static atomic_int errors, cleanups, stopped, barrier_ran;
static char got[64];
static size_t got_len;

static void on_written(void *ctx, dispatch_data_t remaining, int error)
{
    (void)ctx;
    if (remaining != NULL || error != 0)
        atomic_fetch_add(&errors, 1);
    dispatch_semaphore_signal(sem);
}

static void on_read(void *ctx, dispatch_data_t data, int error)
{
    (void)ctx;
    const void *p;
    size_t n = 0;
    dispatch_data_t m = dispatch_data_create_map(data, &p, &n);
    if (error != 0 || n != 5 || memcmp(p, "hello", 5) != 0)
        atomic_fetch_add(&errors, 1);
    dispatch_release(m);
    dispatch_semaphore_signal(sem);
}

static void on_chunk(void *ctx, bool done, dispatch_data_t data, int error)
{
    (void)ctx;
    if (error != 0 || data == NULL || dispatch_data_get_size(data) > 4)
        atomic_fetch_add(&errors, 1);
    if (data != NULL) {
        const void *p;
        size_t n = 0;
        dispatch_data_t m = dispatch_data_create_map(data, &p, &n);
        memcpy(got + got_len, p, n);
        got_len += n;
        dispatch_release(m);
    }
    if (done)
        dispatch_semaphore_signal(sem);
}

static void on_progress(void *ctx, bool done, dispatch_data_t data, int error)
{
    (void)ctx;
    (void)data;
    if (error != 0)
        atomic_fetch_add(&errors, 1);
    if (done)
        dispatch_semaphore_signal(sem);
}

static void on_stopped(void *ctx, bool done, dispatch_data_t data, int error)
{
    (void)ctx;
    (void)data;
    if (done && error == ECANCELED)
        atomic_fetch_add(&stopped, 1);
    if (done)
        dispatch_semaphore_signal(sem);
}

static void barrier(void *ctx)
{
    (void)ctx;
    atomic_fetch_add(&barrier_ran, 1);
}

static void on_cleanup(void *ctx, int error)
{
    if (error != 0)
        atomic_fetch_add(&errors, 1);
    close((int)(intptr_t)ctx);
    atomic_fetch_add(&cleanups, 1);
    dispatch_semaphore_signal(sem);
}

int main(void)
{
    sem = dispatch_semaphore_create(0);
    dispatch_queue_t q = dispatch_queue_create("compat.io", DISPATCH_QUEUE_CONCURRENT);
    dispatch_fd_t fds[2];
    CHECK(pipe(fds) == 0, "pipe");

    dispatch_data_t hello = rgcd_data_create("hello", 5, RGCD_DATA_DESTRUCTOR_DEFAULT);
    dispatch_write_f(fds[1], hello, q, NULL, on_written);
    CHECK(dispatch_semaphore_wait(sem, deadline()) == 0, "dispatch_write_f");
    dispatch_read_f(fds[0], SIZE_MAX, q, NULL, on_read);
    CHECK(dispatch_semaphore_wait(sem, deadline()) == 0, "dispatch_read_f");

    dispatch_io_t rd = dispatch_io_create_f(DISPATCH_IO_STREAM, fds[0], q, (void *)(intptr_t)fds[0], on_cleanup);
    dispatch_io_t wr = dispatch_io_create_f(DISPATCH_IO_STREAM, fds[1], q, (void *)(intptr_t)fds[1], on_cleanup);
    CHECK(rd != NULL && wr != NULL, "dispatch_io_create_f");
    CHECK(dispatch_io_get_descriptor(rd) == fds[0], "get_descriptor");
    dispatch_io_set_high_water(rd, 4);
    dispatch_io_set_low_water(rd, 1);
    dispatch_io_set_interval(wr, NSEC_PER_SEC, 0);
    dispatch_io_read_f(rd, 0, 26, q, NULL, on_chunk);
    dispatch_data_t abc = rgcd_data_create("abcdefghijklmnopqrstuvwxyz", 26, RGCD_DATA_DESTRUCTOR_DEFAULT);
    dispatch_io_write_f(wr, 0, abc, q, NULL, on_progress);
    dispatch_io_barrier_f(rd, NULL, barrier);
    CHECK(dispatch_semaphore_wait(sem, deadline()) == 0, "read or write done");
    CHECK(dispatch_semaphore_wait(sem, deadline()) == 0, "read or write done");
    CHECK(got_len == 26 && memcmp(got, "abcdefghijklmnopqrstuvwxyz", 26) == 0, "read through channels");

    dispatch_io_read_f(rd, 0, SIZE_MAX, q, NULL, on_stopped); /* nothing comes: pending */
    dispatch_io_close(rd, DISPATCH_IO_STOP);
    dispatch_io_close(wr, 0);
    for (int i = 0; i < 3; i++)
        CHECK(dispatch_semaphore_wait(sem, deadline()) == 0, "stopped read and cleanups");
    CHECK(atomic_load(&stopped) == 1, "DISPATCH_IO_STOP: ECANCELED");
    CHECK(atomic_load(&cleanups) == 2, "each cleanup once");
    CHECK(atomic_load(&barrier_ran) == 1, "barrier");
    CHECK(atomic_load(&errors) == 0, "no errors");
    dispatch_release(rd);
    dispatch_release(wr);
    dispatch_release(hello);
    dispatch_release(abc);
    dispatch_release(q);
    dispatch_release(sem);
    return 0;
}
