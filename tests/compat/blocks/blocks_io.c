/* dispatch I/O with blocks (clang -fblocks): dispatch_write and dispatch_read on a pipe, then
 * a file written through a RANDOM channel made from a path (dispatch_io_create_with_path) and
 * read back through a STREAM channel made from it (dispatch_io_create_with_io) with a high
 * water mark, a barrier block between them, and dispatch_io_close with DISPATCH_IO_STOP on a
 * pipe channel: the pending read ends with ECANCELED; each cleanup block runs once. */
#define _POSIX_C_SOURCE 200809L
#include <dispatch/dispatch.h>

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../compat_check.h"

int main(void)
{
    dispatch_queue_t q = dispatch_queue_create("compat.io.blocks", DISPATCH_QUEUE_SERIAL);
    dispatch_semaphore_t sem = dispatch_semaphore_create(0);
    __block atomic_int errors = 0;
    __block atomic_int cleanups = 0;
    int fds[2];
    CHECK(pipe(fds) == 0, "pipe");

    dispatch_data_t hello = dispatch_data_create("hello", 5, NULL, DISPATCH_DATA_DESTRUCTOR_DEFAULT);
    dispatch_write(fds[1], hello, q, ^(dispatch_data_t rest, int error) {
        if (rest != NULL || error != 0)
            atomic_fetch_add(&errors, 1);
        dispatch_semaphore_signal(sem);
    });
    dispatch_read(fds[0], 100, q, ^(dispatch_data_t data, int error) {
        if (error != 0 || dispatch_data_get_size(data) != 5)
            atomic_fetch_add(&errors, 1);
        dispatch_semaphore_signal(sem);
    });
    CHECK(dispatch_semaphore_wait(sem, deadline()) == 0, "dispatch_write");
    CHECK(dispatch_semaphore_wait(sem, deadline()) == 0, "dispatch_read");

    char path[] = "/tmp/rgcd-blocks-io-XXXXXX";
    int tmp = mkstemp(path);
    CHECK(tmp >= 0, "mkstemp");
    close(tmp);
    dispatch_io_t w = dispatch_io_create_with_path(DISPATCH_IO_RANDOM, path, O_RDWR, 0, q, ^(int error) {
        if (error != 0)
            atomic_fetch_add(&errors, 1);
        atomic_fetch_add(&cleanups, 1);
        dispatch_semaphore_signal(sem);
    });
    CHECK(w != NULL, "create_with_path");
    dispatch_data_t tail = dispatch_data_create("world", 5, NULL, DISPATCH_DATA_DESTRUCTOR_DEFAULT);
    dispatch_io_write(w, 5, tail, q, ^(bool done, dispatch_data_t rest, int error) {
        (void)rest;
        if (done && error != 0)
            atomic_fetch_add(&errors, 1);
    });
    dispatch_io_write(w, 0, hello, q, ^(bool done, dispatch_data_t rest, int error) {
        (void)rest;
        if (done && error != 0)
            atomic_fetch_add(&errors, 1);
    });
    __block int fd_in_barrier = -1;
    dispatch_io_barrier(w, ^{
        fd_in_barrier = dispatch_io_get_descriptor(w);
    });
    dispatch_io_t r = dispatch_io_create_with_io(DISPATCH_IO_STREAM, w, q, ^(int error) {
        if (error != 0)
            atomic_fetch_add(&errors, 1);
        atomic_fetch_add(&cleanups, 1);
        dispatch_semaphore_signal(sem);
    });
    dispatch_io_set_high_water(r, 3);
    static char text_buf[16];
    char *text = text_buf;
    __block size_t len = 0;
    dispatch_io_read(r, 0, SIZE_MAX, q, ^(bool done, dispatch_data_t data, int error) {
        if (error != 0 || dispatch_data_get_size(data) > 3)
            atomic_fetch_add(&errors, 1);
        dispatch_data_apply(data, ^bool(dispatch_data_t region, size_t off, const void *buf, size_t size) {
            (void)region;
            (void)off;
            memcpy(text + len, buf, size);
            len += size;
            return true;
        });
        if (done)
            dispatch_semaphore_signal(sem);
    });
    CHECK(dispatch_semaphore_wait(sem, deadline()) == 0, "read back");
    CHECK(len == 10 && memcmp(text, "helloworld", 10) == 0, "random writes, stream read");
    CHECK(fd_in_barrier >= 0, "descriptor inside the barrier");
    dispatch_io_close(w, 0);
    dispatch_io_close(r, 0);
    CHECK(dispatch_semaphore_wait(sem, deadline()) == 0, "cleanup");
    CHECK(dispatch_semaphore_wait(sem, deadline()) == 0, "cleanup");

    dispatch_io_t p = dispatch_io_create(DISPATCH_IO_STREAM, fds[0], q, ^(int error) {
        if (error != 0)
            atomic_fetch_add(&errors, 1);
        atomic_fetch_add(&cleanups, 1);
        dispatch_semaphore_signal(sem);
    });
    __block int stop_error = 0;
    dispatch_io_read(p, 0, SIZE_MAX, q, ^(bool done, dispatch_data_t data, int error) {
        (void)data;
        if (done) {
            stop_error = error;
            dispatch_semaphore_signal(sem);
        }
    });
    dispatch_io_close(p, DISPATCH_IO_STOP);
    CHECK(dispatch_semaphore_wait(sem, deadline()) == 0, "stopped");
    CHECK(dispatch_semaphore_wait(sem, deadline()) == 0, "cleanup");
    CHECK(stop_error == ECANCELED, "ECANCELED");
    CHECK(atomic_load(&cleanups) == 3, "each cleanup once");
    CHECK(atomic_load(&errors) == 0, "no errors");
    dispatch_release(p);
    dispatch_release(w);
    dispatch_release(r);
    dispatch_release(hello);
    dispatch_release(tail);
    dispatch_release(q);
    dispatch_release(sem);
    close(fds[0]);
    close(fds[1]);
    unlink(path);
    return 0;
}
