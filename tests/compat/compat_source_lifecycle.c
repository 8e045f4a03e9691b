/* compat_source_lifecycle: sources through <dispatch/dispatch.h>, checked after the fact as
 * a libdispatch user would see them. Timer, data and read sources cancelled right after
 * dispatch_resume: each cancel handler runs once and each finalizer runs (the sources were
 * freed); data merged after the cancel is dropped; a read source on a pipe whose writer
 * closed gets its bytes, then one EOF, then nothing; and the process uses under 50 ms of CPU
 * in the second after. */
#define _POSIX_C_SOURCE 200809L
#include "compat_check.h"

#include <stdatomic.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

struct counts {
    atomic_int events, cancels, finalized;
    dispatch_source_t src;
    int fd;
    atomic_long bytes;
    atomic_int eofs;
};

static void on_event(void *ctx)
{
    struct counts *c = ctx;
    if (c->fd >= 0) {
        char buf[8];
        ssize_t n = read(c->fd, buf, sizeof buf);
        if (n > 0)
            atomic_fetch_add(&c->bytes, n);
        else if (n == 0)
            atomic_fetch_add(&c->eofs, 1);
    }
    atomic_fetch_add(&c->events, 1);
}

static void on_cancel(void *ctx) { atomic_fetch_add(&((struct counts *)ctx)->cancels, 1); }
static void on_finalize(void *ctx) { atomic_fetch_add(&((struct counts *)ctx)->finalized, 1); }

static dispatch_source_t make(struct counts *c, dispatch_source_type_t type, uintptr_t handle,
                              dispatch_queue_t q)
{
    memset(c, 0, sizeof *c);
    c->fd = -1;
    dispatch_source_t s = dispatch_source_create(type, handle, 0, q);
    CHECK(s != NULL, "dispatch_source_create");
    c->src = s;
    dispatch_set_context(s, c);
    dispatch_set_finalizer_f(s, on_finalize);
    dispatch_source_set_event_handler_f(s, on_event);
    dispatch_source_set_cancel_handler_f(s, on_cancel);
    return s;
}

static void wait_gone(struct counts *c, const char *what)
{
    for (int i = 0; i < 10000 && (c->cancels == 0 || c->finalized == 0); i++)
        sleep_ms(1);
    sleep_ms(5);
    if (c->cancels != 1 || c->finalized != 1) {
        fprintf(stderr, "%s: cancel handler %d times, finalizer %d times\n", what,
                (int)c->cancels, (int)c->finalized);
        exit(1);
    }
}

int main(void)
{
    dispatch_queue_t q = dispatch_queue_create("compat.source_lifecycle", NULL);
    CHECK(q != NULL, "queue");

    for (int round = 0; round < 20; round++) {
        struct counts c;
        dispatch_source_t t = make(&c, DISPATCH_SOURCE_TYPE_TIMER, 0, q);
        dispatch_source_set_timer(t, DISPATCH_TIME_NOW, 1000, 0);
        dispatch_resume(t);
        if (round % 2)
            sleep_ms(1);
        dispatch_source_cancel(t);
        dispatch_release(t);
        wait_gone(&c, "timer");

        dispatch_source_t d = make(&c, DISPATCH_SOURCE_TYPE_DATA_ADD, 0, q);
        dispatch_resume(d);
        dispatch_source_merge_data(d, 1);
        dispatch_source_cancel(d);
        for (int i = 0; i < 100; i++)
            dispatch_source_merge_data(d, 1);
        dispatch_release(d);
        wait_gone(&c, "data_add");
    }

    int p[2];
    CHECK(pipe(p) == 0, "pipe");
    CHECK(write(p[1], "0123456789abcdefghij", 20) == 20, "write");
    close(p[1]);
    struct counts r;
    dispatch_source_t rd = make(&r, DISPATCH_SOURCE_TYPE_READ, (uintptr_t)p[0], q);
    r.fd = p[0];
    dispatch_resume(rd);
    for (int i = 0; i < 10000 && r.eofs == 0; i++)
        sleep_ms(1);
    CHECK(r.eofs == 1 && r.bytes == 20, "bytes then EOF");
    int events = r.events;
    sleep_ms(150);
    uint64_t c0 = process_cpu_ns();
    sleep_ms(1000);
    uint64_t used = process_cpu_ns() - c0;
    printf("compat_source_lifecycle: %d read events, %d EOF, %.1f ms CPU in the second after\n",
           (int)r.events, (int)r.eofs, (double)used / 1e6);
    CHECK(r.events == events && r.eofs == 1, "EOF delivered once");
    CHECK(used < 50000000ull, "quiet after EOF and cancels");
    dispatch_source_cancel(rd);
    dispatch_release(rd);
    wait_gone(&r, "read");
    close(p[0]);
    dispatch_release(q);
    return 0;
}
