/* libdispatch-style dispatch sources, through the _f API: a repeating timer
 * that cancels itself on its fifth fire, a one-shot strict timer with a
 * finalizer, a DATA_ADD source fed from a concurrent queue, DATA_OR and
 * DATA_REPLACE coalescing while suspended, a read source on a pipe that cancels
 * itself at end of file and closes the fd in its cancel handler, a write
 * source, a SIGUSR2 source, a process-exit source, and cancelling a source
 * before it was activated. A watchdog ends the program if anything hangs. */
#define _POSIX_C_SOURCE 200809L
#include <dispatch/dispatch.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "compat_check.h"

/* Ends the program if it is still running 20 s after start: a hang fails fast. */
static void watchdog(void *ctx)
{
    static const char msg[] = "compat_sources: watchdog: still running after 20 s\n";
    (void)ctx;
    ssize_t written = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)written;
    _exit(1);
}

/* ---- a repeating timer, cancelled from its own handler on the 5th fire ---- */

struct ticker {
    dispatch_source_t source;
    dispatch_semaphore_t cancelled;
    atomic_int registrations;
    atomic_int fires;
    atomic_int before_registration; /* event handler ran before the registration handler */
    atomic_int after_cancel;        /* event handler ran although the source was cancelled */
    atomic_int zero_data;           /* dispatch_source_get_data returned 0 in the handler */
    atomic_int cancels;
};

static void ticker_registered(void *ctx)
{
    struct ticker *t = ctx;
    atomic_fetch_add(&t->registrations, 1);
}

static void ticker_fired(void *ctx)
{
    struct ticker *t = ctx;
    if (atomic_load(&t->registrations) == 0) {
        atomic_store(&t->before_registration, 1);
    }
    if (dispatch_source_testcancel(t->source)) {
        atomic_fetch_add(&t->after_cancel, 1);
    }
    if (dispatch_source_get_data(t->source) == 0) {
        atomic_store(&t->zero_data, 1);
    }
    if (atomic_fetch_add(&t->fires, 1) + 1 == 5) {
        dispatch_source_cancel(t->source);
    }
}

static void ticker_cancelled(void *ctx)
{
    struct ticker *t = ctx;
    atomic_fetch_add(&t->cancels, 1);
    dispatch_semaphore_signal(t->cancelled);
}

static void test_repeating_timer(void)
{
    static struct ticker t;
    dispatch_queue_t q = dispatch_queue_create("com.example.sources.timer", DISPATCH_QUEUE_SERIAL);
    CHECK(q != NULL, "dispatch_queue_create returned NULL");
    t.cancelled = dispatch_semaphore_create(0);
    t.source = dispatch_source_create(DISPATCH_SOURCE_TYPE_TIMER, 0, 0, q);
    CHECK(t.source != NULL, "dispatch_source_create(TIMER) returned NULL");
    CHECK(dispatch_source_get_handle(t.source) == 0, "timer handle is not 0");
    CHECK(dispatch_source_get_mask(t.source) == 0, "timer mask is not 0");
    CHECK(!dispatch_source_testcancel(t.source), "a new source is already cancelled");

    dispatch_set_context(t.source, &t);
    dispatch_source_set_registration_handler_f(t.source, ticker_registered);
    dispatch_source_set_event_handler_f(t.source, ticker_fired);
    dispatch_source_set_cancel_handler_f(t.source, ticker_cancelled);
    dispatch_source_set_timer(t.source, dispatch_time(DISPATCH_TIME_NOW, 5 * (int64_t)NSEC_PER_MSEC),
                              10 * NSEC_PER_MSEC, 1 * NSEC_PER_MSEC);
    sleep_ms(30);
    CHECK(atomic_load(&t.fires) == 0, "an inactive timer fired");
    dispatch_activate(t.source);

    CHECK(dispatch_semaphore_wait(t.cancelled, deadline()) == 0,
          "the timer's cancel handler did not run");
    sleep_ms(50); /* five more periods: a fire after the cancel would show up */
    CHECK(dispatch_source_testcancel(t.source), "testcancel is 0 after cancel");
    CHECK(atomic_load(&t.registrations) == 1, "the registration handler did not run exactly once");
    CHECK(atomic_load(&t.before_registration) == 0, "an event handler ran before registration");
    CHECK(atomic_load(&t.fires) == 5, "the timer did not fire exactly 5 times");
    CHECK(atomic_load(&t.after_cancel) == 0, "an event handler ran after cancel");
    CHECK(atomic_load(&t.zero_data) == 0, "a timer handler saw data 0 (fires since last handler)");
    CHECK(atomic_load(&t.cancels) == 1, "the cancel handler did not run exactly once");

    dispatch_source_cancel(t.source); /* cancelling twice is harmless */
    sleep_ms(20);
    CHECK(atomic_load(&t.cancels) == 1, "a second cancel ran the cancel handler again");
    dispatch_release(t.source);
    dispatch_release(t.cancelled);
    dispatch_release(q);
}

/* ---- a one-shot strict timer; a source's context and finalizer ---- */

struct oneshot {
    dispatch_semaphore_t fired;
    dispatch_semaphore_t finalized;
    atomic_int fires;
    atomic_int finalizers;
};

static void oneshot_fired(void *ctx)
{
    struct oneshot *o = ctx;
    atomic_fetch_add(&o->fires, 1);
    dispatch_semaphore_signal(o->fired);
}

static void oneshot_finalized(void *ctx)
{
    struct oneshot *o = ctx;
    atomic_fetch_add(&o->finalizers, 1);
    dispatch_semaphore_signal(o->finalized);
}

static void test_oneshot_timer(void)
{
    static struct oneshot o;
    o.fired = dispatch_semaphore_create(0);
    o.finalized = dispatch_semaphore_create(0);
    dispatch_queue_t global = dispatch_get_global_queue(QOS_CLASS_USER_INITIATED, 0);
    dispatch_source_t s = dispatch_source_create(DISPATCH_SOURCE_TYPE_TIMER, 0, DISPATCH_TIMER_STRICT, global);
    CHECK(s != NULL, "dispatch_source_create(TIMER, DISPATCH_TIMER_STRICT) returned NULL");
    CHECK(dispatch_source_get_mask(s) == DISPATCH_TIMER_STRICT, "timer mask is not DISPATCH_TIMER_STRICT");
    dispatch_set_context(s, &o);
    CHECK(dispatch_get_context(s) == &o, "dispatch_get_context on a source: wrong value");
    dispatch_set_finalizer_f(s, oneshot_finalized);
    dispatch_source_set_event_handler_f(s, oneshot_fired);
    dispatch_source_set_timer(s, dispatch_time(DISPATCH_TIME_NOW, 10 * (int64_t)NSEC_PER_MSEC),
                              DISPATCH_TIME_FOREVER, 0);
    dispatch_resume(s); /* resuming a new source activates it, as in libdispatch */

    CHECK(dispatch_semaphore_wait(o.fired, deadline()) == 0, "the one-shot timer did not fire");
    sleep_ms(60);
    CHECK(atomic_load(&o.fires) == 1, "a one-shot timer fired more than once");

    /* Re-arming from outside the handler fires it once more. */
    dispatch_source_set_timer(s, dispatch_time(DISPATCH_TIME_NOW, 5 * (int64_t)NSEC_PER_MSEC),
                              DISPATCH_TIME_FOREVER, 0);
    CHECK(dispatch_semaphore_wait(o.fired, deadline()) == 0, "the re-armed timer did not fire");
    CHECK(atomic_load(&o.fires) == 2, "the re-armed timer fired more than once");

    dispatch_source_cancel(s);
    CHECK(atomic_load(&o.finalizers) == 0, "the finalizer ran while a reference remained");
    dispatch_release(s);
    CHECK(dispatch_semaphore_wait(o.finalized, deadline()) == 0, "the source's finalizer did not run");
    sleep_ms(20);
    CHECK(atomic_load(&o.finalizers) == 1, "the source's finalizer ran more than once");
    dispatch_release(o.fired);
    dispatch_release(o.finalized);
}

/* ---- DATA_ADD merged from a concurrent queue; handlers never overlap ---- */

#define MERGES 2000

struct adder {
    dispatch_source_t source;
    dispatch_semaphore_t reached;
    dispatch_semaphore_t cancelled;
    atomic_uintptr_t sum;
    atomic_int calls;
    atomic_int inside;
    atomic_int overlaps;
    atomic_int zero_data;
    uintptr_t expected;
};

static void adder_fired(void *ctx)
{
    struct adder *a = ctx;
    if (atomic_fetch_add(&a->inside, 1) != 0) {
        atomic_store(&a->overlaps, 1);
    }
    uintptr_t data = dispatch_source_get_data(a->source);
    if (data == 0) {
        atomic_store(&a->zero_data, 1);
    }
    atomic_fetch_add(&a->calls, 1);
    if (atomic_fetch_add(&a->sum, data) + data == a->expected) {
        dispatch_semaphore_signal(a->reached);
    }
    sleep_ms(0); /* widen the window an overlapping handler would fall into */
    atomic_fetch_sub(&a->inside, 1);
}

static void adder_cancelled(void *ctx)
{
    struct adder *a = ctx;
    dispatch_semaphore_signal(a->cancelled);
}

static void adder_merge(void *ctx, size_t i)
{
    struct adder *a = ctx;
    dispatch_source_merge_data(a->source, (uintptr_t)i + 1);
}

static void test_data_add(void)
{
    static struct adder a;
    a.expected = (uintptr_t)MERGES * (MERGES + 1) / 2;
    a.reached = dispatch_semaphore_create(0);
    a.cancelled = dispatch_semaphore_create(0);
    /* Handlers go to a concurrent queue: the source itself must serialize them. */
    dispatch_queue_t handlers = dispatch_queue_create("com.example.sources.add", DISPATCH_QUEUE_CONCURRENT);
    dispatch_queue_t producers = dispatch_queue_create("com.example.sources.producers", DISPATCH_QUEUE_CONCURRENT);
    CHECK(handlers != NULL && producers != NULL, "dispatch_queue_create returned NULL");
    a.source = dispatch_source_create(DISPATCH_SOURCE_TYPE_DATA_ADD, 0, 0, handlers);
    CHECK(a.source != NULL, "dispatch_source_create(DATA_ADD) returned NULL");
    dispatch_set_context(a.source, &a);
    dispatch_source_set_event_handler_f(a.source, adder_fired);
    dispatch_source_set_cancel_handler_f(a.source, adder_cancelled);
    dispatch_activate(a.source);

    dispatch_apply_f(MERGES, producers, &a, adder_merge);
    CHECK(dispatch_semaphore_wait(a.reached, deadline()) == 0, "merged data was lost");
    sleep_ms(30);
    CHECK(atomic_load(&a.sum) == a.expected, "the handlers saw more data than was merged");
    CHECK(atomic_load(&a.calls) >= 1 && atomic_load(&a.calls) <= MERGES,
          "more handler calls than merges");
    CHECK(atomic_load(&a.overlaps) == 0, "two handlers of one source ran at the same time");
    CHECK(atomic_load(&a.zero_data) == 0, "a DATA_ADD handler saw data 0");

    /* Merging 0 has no effect and does not run the handler. */
    int calls = atomic_load(&a.calls);
    dispatch_source_merge_data(a.source, 0);
    sleep_ms(50);
    CHECK(atomic_load(&a.calls) == calls, "merging 0 ran the DATA_ADD handler");

    dispatch_source_cancel(a.source);
    CHECK(dispatch_semaphore_wait(a.cancelled, deadline()) == 0, "the cancel handler did not run");
    dispatch_release(a.source);
    dispatch_release(a.reached);
    dispatch_release(a.cancelled);
    dispatch_release(handlers);
    dispatch_release(producers);
}

/* ---- DATA_OR and DATA_REPLACE: merges while suspended are coalesced ---- */

struct merged {
    dispatch_source_t source;
    dispatch_semaphore_t fired;
    dispatch_semaphore_t cancelled;
    atomic_int calls;
    atomic_uintptr_t last;
};

static void merged_fired(void *ctx)
{
    struct merged *m = ctx;
    atomic_store(&m->last, dispatch_source_get_data(m->source));
    atomic_fetch_add(&m->calls, 1);
    dispatch_semaphore_signal(m->fired);
}

static void merged_cancelled(void *ctx)
{
    struct merged *m = ctx;
    dispatch_semaphore_signal(m->cancelled);
}

static void check_coalesced(dispatch_source_type_t type, const uintptr_t *values, size_t count,
                            uintptr_t expected, const char *name)
{
    struct merged m = {NULL, dispatch_semaphore_create(0), dispatch_semaphore_create(0), 0, 0};
    dispatch_queue_t q = dispatch_queue_create("com.example.sources.merged", DISPATCH_QUEUE_SERIAL);
    m.source = dispatch_source_create(type, 0, 0, q);
    if (m.source == NULL) {
        fprintf(stderr, "%s: dispatch_source_create returned NULL\n", name);
        exit(1);
    }
    dispatch_set_context(m.source, &m);
    dispatch_source_set_event_handler_f(m.source, merged_fired);
    dispatch_source_set_cancel_handler_f(m.source, merged_cancelled);
    dispatch_activate(m.source);
    dispatch_suspend(m.source);
    for (size_t i = 0; i < count; i++) {
        dispatch_source_merge_data(m.source, values[i]);
    }
    sleep_ms(50);
    if (atomic_load(&m.calls) != 0) {
        fprintf(stderr, "%s: a suspended source ran its handler\n", name);
        exit(1);
    }
    dispatch_resume(m.source);
    if (dispatch_semaphore_wait(m.fired, deadline()) != 0) {
        fprintf(stderr, "%s: no handler after resume\n", name);
        exit(1);
    }
    sleep_ms(30);
    if (atomic_load(&m.calls) != 1 || atomic_load(&m.last) != expected) {
        fprintf(stderr, "%s: %d handler calls, last data %lu (expected 1 call with %lu)\n", name,
                atomic_load(&m.calls), (unsigned long)atomic_load(&m.last), (unsigned long)expected);
        exit(1);
    }
    /* m lives on this stack frame: wait until no handler can touch it any more. */
    dispatch_source_cancel(m.source);
    if (dispatch_semaphore_wait(m.cancelled, deadline()) != 0) {
        fprintf(stderr, "%s: the cancel handler did not run\n", name);
        exit(1);
    }
    dispatch_release(m.source);
    dispatch_release(m.fired);
    dispatch_release(m.cancelled);
    dispatch_release(q);
}

static void test_data_or_replace(void)
{
    static const uintptr_t bits[] = {0x1, 0x4, 0x4, 0x10};
    check_coalesced(DISPATCH_SOURCE_TYPE_DATA_OR, bits, 4, 0x15, "DATA_OR");
    static const uintptr_t values[] = {7, 3, 42};
    check_coalesced(DISPATCH_SOURCE_TYPE_DATA_REPLACE, values, 3, 42, "DATA_REPLACE");
    static const uintptr_t addends[] = {5, 6, 0, 7};
    check_coalesced(DISPATCH_SOURCE_TYPE_DATA_ADD, addends, 4, 18, "DATA_ADD");
}

/* ---- a read source on a pipe: read until end of file, close in the cancel handler ---- */

static const char message[] = "hello from the write end of a pipe";

struct reader {
    dispatch_source_t source;
    dispatch_semaphore_t cancelled;
    int fd;
    char buf[128];
    size_t len;             /* touched by handlers only, which never overlap */
    atomic_int eof;
    atomic_int zero_data_reads; /* read() got bytes although the event's data said 0 */
    atomic_int after_close;     /* an event handler ran after the cancel handler closed fd */
    atomic_int closed;
    atomic_int cancels;
};

static void reader_readable(void *ctx)
{
    struct reader *r = ctx;
    if (atomic_load(&r->closed)) {
        atomic_fetch_add(&r->after_close, 1);
        return;
    }
    uintptr_t available = dispatch_source_get_data(r->source);
    ssize_t n = read(r->fd, r->buf + r->len, sizeof r->buf - 1 - r->len);
    if (n > 0) {
        r->len += (size_t)n;
        if (available == 0) {
            atomic_store(&r->zero_data_reads, 1);
        }
    } else if (n == 0) {
        atomic_store(&r->eof, 1);
        dispatch_source_cancel(r->source);
    } else {
        CHECK(errno == EAGAIN || errno == EINTR, "read on the pipe failed");
    }
}

static void reader_cancelled(void *ctx)
{
    struct reader *r = ctx;
    CHECK(close(r->fd) == 0, "close in the cancel handler failed");
    atomic_store(&r->closed, 1);
    atomic_fetch_add(&r->cancels, 1);
    dispatch_semaphore_signal(r->cancelled);
}

struct writer {
    int fd;
    const char *text;
    size_t len;
};

/* Writes the rest of the message, then closes the write end (the reader's EOF). */
static void writer_finish(void *ctx)
{
    struct writer *w = ctx;
    CHECK(write(w->fd, w->text, w->len) == (ssize_t)w->len, "write to the pipe failed");
    CHECK(close(w->fd) == 0, "close of the write end failed");
}

static void test_read_pipe(void)
{
    static struct reader r;
    static struct writer w;
    int fds[2];
    CHECK(pipe(fds) == 0, "pipe failed");
    CHECK(fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK) == 0, "fcntl O_NONBLOCK failed");
    r.fd = fds[0];
    r.cancelled = dispatch_semaphore_create(0);
    dispatch_queue_t q = dispatch_queue_create("com.example.sources.read", DISPATCH_QUEUE_SERIAL);
    r.source = dispatch_source_create(DISPATCH_SOURCE_TYPE_READ, (uintptr_t)fds[0], 0, q);
    CHECK(r.source != NULL, "dispatch_source_create(READ) returned NULL");
    CHECK(dispatch_source_get_handle(r.source) == (uintptr_t)fds[0], "read source handle is not the fd");
    dispatch_set_context(r.source, &r);
    dispatch_source_set_event_handler_f(r.source, reader_readable);
    dispatch_source_set_cancel_handler_f(r.source, reader_cancelled);
    dispatch_activate(r.source);

    /* The first half now, the rest and the end of file a little later. */
    size_t half = sizeof message / 2;
    CHECK(write(fds[1], message, half) == (ssize_t)half, "write to the pipe failed");
    w.fd = fds[1];
    w.text = message + half;
    w.len = strlen(message) - half;
    dispatch_after_f(dispatch_time(DISPATCH_TIME_NOW, 20 * (int64_t)NSEC_PER_MSEC),
                     dispatch_get_global_queue(DISPATCH_QUEUE_PRIORITY_DEFAULT, 0), &w, writer_finish);

    CHECK(dispatch_semaphore_wait(r.cancelled, deadline()) == 0,
          "the read source did not reach end of file and cancel");
    sleep_ms(30);
    CHECK(atomic_load(&r.eof) == 1, "end of file not seen");
    CHECK(r.len == strlen(message) && memcmp(r.buf, message, r.len) == 0, "the message was not read back");
    CHECK(atomic_load(&r.zero_data_reads) == 0, "an event with data 0 had bytes to read");
    CHECK(atomic_load(&r.after_close) == 0, "an event handler ran after the cancel handler");
    CHECK(atomic_load(&r.cancels) == 1, "the cancel handler did not run exactly once");
    dispatch_release(r.source);
    dispatch_release(r.cancelled);
    dispatch_release(q);
}

/* ---- a write source: the pipe has room, so it fires with data >= 1 ---- */

struct writable {
    dispatch_source_t source;
    dispatch_semaphore_t cancelled;
    int fd;
    atomic_uintptr_t space;
    atomic_int fires;
};

static void writable_fired(void *ctx)
{
    struct writable *w = ctx;
    if (atomic_fetch_add(&w->fires, 1) == 0) {
        atomic_store(&w->space, dispatch_source_get_data(w->source));
        CHECK(write(w->fd, "x", 1) == 1, "write in the write source's handler failed");
        dispatch_source_cancel(w->source);
    }
}

static void writable_cancelled(void *ctx)
{
    struct writable *w = ctx;
    CHECK(close(w->fd) == 0, "close in the cancel handler failed");
    dispatch_semaphore_signal(w->cancelled);
}

static void test_write_pipe(void)
{
    static struct writable w;
    int fds[2];
    CHECK(pipe(fds) == 0, "pipe failed");
    w.fd = fds[1];
    w.cancelled = dispatch_semaphore_create(0);
    w.source = dispatch_source_create(DISPATCH_SOURCE_TYPE_WRITE, (uintptr_t)fds[1], 0,
                                      dispatch_get_global_queue(QOS_CLASS_UTILITY, 0));
    CHECK(w.source != NULL, "dispatch_source_create(WRITE) returned NULL");
    dispatch_set_context(w.source, &w);
    dispatch_source_set_event_handler_f(w.source, writable_fired);
    dispatch_source_set_cancel_handler_f(w.source, writable_cancelled);
    dispatch_activate(w.source);
    CHECK(dispatch_semaphore_wait(w.cancelled, deadline()) == 0, "the write source did not fire and cancel");
    CHECK(atomic_load(&w.fires) == 1, "the write source fired after cancel");
    CHECK(atomic_load(&w.space) >= 1, "a write source's data (free space) was 0");
    char c = 0;
    CHECK(read(fds[0], &c, 1) == 1 && c == 'x', "the byte written by the handler is missing");
    CHECK(close(fds[0]) == 0, "close of the read end failed");
    dispatch_release(w.source);
    dispatch_release(w.cancelled);
}

/* ---- a signal source for SIGUSR2 ---- */

struct signals {
    dispatch_source_t source;
    dispatch_semaphore_t registered;
    dispatch_semaphore_t delivered;
    dispatch_semaphore_t cancelled;
    atomic_uintptr_t count;
};

static void signals_registered(void *ctx)
{
    struct signals *s = ctx;
    dispatch_semaphore_signal(s->registered);
}

static void signals_fired(void *ctx)
{
    struct signals *s = ctx;
    atomic_fetch_add(&s->count, dispatch_source_get_data(s->source));
    dispatch_semaphore_signal(s->delivered);
}

static void signals_cancelled(void *ctx)
{
    struct signals *s = ctx;
    dispatch_semaphore_signal(s->cancelled);
}

static void test_signal(void)
{
    static struct signals s;
    /* As with libdispatch: the default action must not run, the source sees it anyway. */
    CHECK(signal(SIGUSR2, SIG_IGN) != SIG_ERR, "signal(SIGUSR2, SIG_IGN) failed");
    s.registered = dispatch_semaphore_create(0);
    s.delivered = dispatch_semaphore_create(0);
    s.cancelled = dispatch_semaphore_create(0);
    dispatch_queue_t q = dispatch_queue_create("com.example.sources.signal", DISPATCH_QUEUE_SERIAL);
    s.source = dispatch_source_create(DISPATCH_SOURCE_TYPE_SIGNAL, SIGUSR2, 0, q);
    CHECK(s.source != NULL, "dispatch_source_create(SIGNAL) returned NULL");
    CHECK(dispatch_source_get_handle(s.source) == SIGUSR2, "signal source handle is not SIGUSR2");
    dispatch_set_context(s.source, &s);
    dispatch_source_set_registration_handler_f(s.source, signals_registered);
    dispatch_source_set_event_handler_f(s.source, signals_fired);
    dispatch_source_set_cancel_handler_f(s.source, signals_cancelled);
    dispatch_activate(s.source);
    CHECK(dispatch_semaphore_wait(s.registered, deadline()) == 0, "the registration handler did not run");

    CHECK(raise(SIGUSR2) == 0, "raise failed");
    CHECK(dispatch_semaphore_wait(s.delivered, deadline()) == 0, "SIGUSR2 was not delivered to the source");
    CHECK(atomic_load(&s.count) >= 1, "the signal handler saw data 0");
    /* Still armed after the first delivery. */
    uintptr_t before = atomic_load(&s.count);
    CHECK(raise(SIGUSR2) == 0, "raise failed");
    CHECK(dispatch_semaphore_wait(s.delivered, deadline()) == 0, "a second SIGUSR2 was not delivered");
    CHECK(atomic_load(&s.count) > before, "the second delivery was not counted");

    dispatch_source_cancel(s.source);
    CHECK(dispatch_semaphore_wait(s.cancelled, deadline()) == 0, "the cancel handler did not run");
    /* The program's disposition (SIG_IGN) applies again: this must not end the process. */
    CHECK(raise(SIGUSR2) == 0, "raise after cancel failed");
    sleep_ms(20);
    dispatch_release(s.source);
    dispatch_release(s.registered);
    dispatch_release(s.delivered);
    dispatch_release(s.cancelled);
    dispatch_release(q);
}

/* ---- a process-exit source on a child ---- */

struct child {
    dispatch_source_t source;
    dispatch_semaphore_t exited;
    atomic_uintptr_t events;
};

static void child_event(void *ctx)
{
    struct child *c = ctx;
    atomic_fetch_or(&c->events, dispatch_source_get_data(c->source));
    if (atomic_load(&c->events) & DISPATCH_PROC_EXIT) {
        dispatch_source_cancel(c->source);
        dispatch_semaphore_signal(c->exited);
    }
}

static void test_proc_exit(void)
{
    static struct child c;
    c.exited = dispatch_semaphore_create(0);
    pid_t pid = fork();
    CHECK(pid >= 0, "fork failed");
    if (pid == 0) {
        _exit(7);
    }
    c.source = dispatch_source_create(DISPATCH_SOURCE_TYPE_PROC, (uintptr_t)pid, DISPATCH_PROC_EXIT, NULL);
    CHECK(c.source != NULL, "dispatch_source_create(PROC) returned NULL");
    CHECK(dispatch_source_get_handle(c.source) == (uintptr_t)pid, "proc source handle is not the pid");
    CHECK(dispatch_source_get_mask(c.source) == DISPATCH_PROC_EXIT, "proc source mask is not PROC_EXIT");
    dispatch_set_context(c.source, &c);
    dispatch_source_set_event_handler_f(c.source, child_event);
    dispatch_activate(c.source);
    CHECK(dispatch_semaphore_wait(c.exited, deadline()) == 0, "the child's exit was not reported");
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid, "waitpid failed: the source must not reap the child");
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 7, "the child's exit status was lost");
    dispatch_release(c.source);
    dispatch_release(c.exited);
}

/* ---- cancelling a source that was never activated ---- */

struct idle {
    atomic_int events;
    atomic_int cancels;
    dispatch_semaphore_t cancelled;
};

static void idle_event(void *ctx)
{
    struct idle *i = ctx;
    atomic_fetch_add(&i->events, 1);
}

static void idle_cancelled(void *ctx)
{
    struct idle *i = ctx;
    atomic_fetch_add(&i->cancels, 1);
    dispatch_semaphore_signal(i->cancelled);
}

static void test_cancel_inactive(void)
{
    static struct idle i;
    i.cancelled = dispatch_semaphore_create(0);
    dispatch_source_t s = dispatch_source_create(DISPATCH_SOURCE_TYPE_DATA_ADD, 0, 0, NULL);
    CHECK(s != NULL, "dispatch_source_create(DATA_ADD) returned NULL");
    dispatch_set_context(s, &i);
    dispatch_source_set_event_handler_f(s, idle_event);
    dispatch_source_set_cancel_handler_f(s, idle_cancelled);
    dispatch_source_merge_data(s, 3);
    dispatch_source_cancel(s);
    CHECK(dispatch_source_testcancel(s), "testcancel is 0 after cancelling an inactive source");
    sleep_ms(30);
    CHECK(atomic_load(&i.cancels) == 0, "an inactive source ran its cancel handler");
    dispatch_activate(s);
    CHECK(dispatch_semaphore_wait(i.cancelled, deadline()) == 0,
          "the cancel handler did not run after activation");
    sleep_ms(30);
    CHECK(atomic_load(&i.events) == 0, "a source cancelled before activation ran its event handler");
    CHECK(atomic_load(&i.cancels) == 1, "the cancel handler did not run exactly once");
    dispatch_release(s);
    dispatch_release(i.cancelled);
}

int main(void)
{
    dispatch_after_f(dispatch_time(DISPATCH_TIME_NOW, 20 * (int64_t)NSEC_PER_SEC),
                     dispatch_get_global_queue(DISPATCH_QUEUE_PRIORITY_HIGH, 0), NULL, watchdog);
    test_repeating_timer();
    test_oneshot_timer();
    test_data_add();
    test_data_or_replace();
    test_read_pipe();
    test_write_pipe();
    test_signal();
    test_proc_exit();
    test_cancel_inactive();
    printf("compat_sources: ok\n");
    return 0;
}
