/* dispatch_sync_f (and the other synchronous calls) onto a queue that is already
 * running the caller, and dispatch_once_f from inside its own function or with a
 * predicate that was not zero-initialised: libdispatch hangs; through <dispatch/dispatch.h>, rgcd must not
 * return as if the work had run either. The wrapper writes one line to stderr that
 * names the queue and the deadlock, then aborts.
 *
 * Each scenario runs in a forked child whose stderr is a pipe; the parent checks that
 * the child died of SIGABRT, that its stderr has a line naming the queue (its label) and
 * "deadlock", and that the code after the failed call never ran. The parent makes no
 * dispatch call itself, so every child starts with a fresh rgcd. A control scenario (a
 * sync that is not a deadlock) must exit normally with nothing on stderr. */
#define _POSIX_C_SOURCE 200809L
#include <dispatch/dispatch.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "compat_check.h"

/* What the child writes when a failed call returned to it: must never be seen. */
static const char CONTINUED[] = "CONTINUED AFTER THE CALL";

static void say_continued(const char *what)
{
    fprintf(stderr, "%s: %s\n", CONTINUED, what);
}

static void inner(void *ctx)
{
    (void)ctx;
    fprintf(stderr, "%s: the inner work ran\n", CONTINUED);
}

/* ---- scenarios (each runs in a child) ---- */

/* sync onto the serial queue whose work is running (an inline sync). */
static void sync_onto_self(void *ctx)
{
    dispatch_queue_t q = ctx;
    dispatch_sync_f(q, NULL, inner);
    say_continued("dispatch_sync_f onto the current queue");
}

static void scenario_sync_self(void)
{
    dispatch_queue_t q = dispatch_queue_create("compat.deadlock.serial", DISPATCH_QUEUE_SERIAL);
    dispatch_sync_f(q, q, sync_onto_self);
}

/* sync onto a serial queue from work running on a queue that targets it. */
static dispatch_queue_t target_q;

static void sync_onto_target(void *ctx)
{
    (void)ctx;
    dispatch_sync_f(target_q, NULL, inner);
    say_continued("dispatch_sync_f onto the target of the current queue");
}

static void scenario_sync_target(void)
{
    target_q = dispatch_queue_create("compat.deadlock.target", DISPATCH_QUEUE_SERIAL);
    dispatch_queue_t child =
        dispatch_queue_create_with_target("compat.deadlock.child", DISPATCH_QUEUE_SERIAL, target_q);
    dispatch_sync_f(child, NULL, sync_onto_target);
}

/* barrier sync onto the concurrent queue whose barrier is running. */
static void barrier_onto_self(void *ctx)
{
    dispatch_queue_t q = ctx;
    dispatch_barrier_sync_f(q, NULL, inner);
    say_continued("dispatch_barrier_sync_f onto the current queue");
}

static void scenario_barrier_self(void)
{
    dispatch_queue_t q =
        dispatch_queue_create("compat.deadlock.concurrent", DISPATCH_QUEUE_CONCURRENT);
    dispatch_barrier_sync_f(q, q, barrier_onto_self);
}

/* sync onto the serial queue from its own async work, on a pool thread. */
static void async_sync_onto_self(void *ctx)
{
    dispatch_queue_t q = ctx;
    dispatch_sync_f(q, NULL, inner);
    say_continued("dispatch_sync_f onto the current queue from async work");
    exit(0);
}

static void scenario_async_self(void)
{
    dispatch_queue_t q = dispatch_queue_create("compat.deadlock.async", DISPATCH_QUEUE_SERIAL);
    dispatch_async_f(q, q, async_sync_onto_self);
    sleep_ms(20 * 1000); /* the work aborts (or exits) the process long before */
}

/* Not a deadlock, but a sync whose work cannot run: a NULL function. */
static void scenario_null_work(void)
{
    dispatch_queue_t q = dispatch_queue_create("compat.deadlock.null", DISPATCH_QUEUE_SERIAL);
    dispatch_sync_f(q, NULL, NULL);
    say_continued("dispatch_sync_f with a NULL function");
}

/* dispatch_once_f from inside its own function, for the same predicate: libdispatch
 * hangs forever. */
static dispatch_once_t recursive_pred;

static void once_again(void *ctx)
{
    (void)ctx;
    dispatch_once_f(&recursive_pred, NULL, once_again);
    say_continued("dispatch_once_f from inside its own function");
}

static void scenario_once_recursive(void)
{
    dispatch_once_f(&recursive_pred, NULL, once_again);
    say_continued("the outer dispatch_once_f");
}

/* dispatch_once_f with a predicate that was never zero-initialised. */
static void scenario_once_garbage(void)
{
    static dispatch_once_t garbage_pred;
    garbage_pred = (dispatch_once_t)0x5a5a5a5a;
    dispatch_once_f(&garbage_pred, NULL, inner);
    say_continued("dispatch_once_f with a garbage predicate");
}

/* The control: a sync onto another, free queue from a queue's work. */
static dispatch_queue_t other_q;
static int other_ran;

static void mark(void *ctx)
{
    (void)ctx;
    other_ran = 1;
}

static void sync_onto_other(void *ctx)
{
    (void)ctx;
    dispatch_sync_f(other_q, NULL, mark);
}

static void scenario_control(void)
{
    dispatch_queue_t q = dispatch_queue_create("compat.deadlock.control", DISPATCH_QUEUE_SERIAL);
    other_q = dispatch_queue_create("compat.deadlock.other", DISPATCH_QUEUE_SERIAL);
    dispatch_sync_f(q, NULL, sync_onto_other);
    if (!other_ran) {
        fprintf(stderr, "the control sync did not run its work\n");
        exit(2);
    }
    dispatch_release(other_q);
    dispatch_release(q);
}

/* ---- the harness ---- */

struct outcome {
    int status;       /* from waitpid */
    char err[8192];   /* the child's stderr */
};

static void run_child(void (*scenario)(void), struct outcome *out)
{
    int fds[2];
    CHECK(pipe(fds) == 0, "pipe failed");
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0, "fork failed");
    if (pid == 0) {
        struct rlimit no_core = {0, 0};
        (void)setrlimit(RLIMIT_CORE, &no_core); /* an abort must not leave a core file */
        alarm(30);                              /* a hang ends the child with SIGALRM */
        close(fds[0]);
        if (dup2(fds[1], 2) < 0) {
            _exit(3);
        }
        close(fds[1]);
        scenario();
        fflush(stderr);
        _exit(0);
    }
    close(fds[1]);
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fds[0], out->err + len, sizeof out->err - 1 - len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        len += (size_t)n;
        if (len == sizeof out->err - 1) {
            break;
        }
    }
    out->err[len] = '\0';
    close(fds[0]);
    while (waitpid(pid, &out->status, 0) < 0) {
        CHECK(errno == EINTR, "waitpid failed");
    }
}

/* The child died of SIGABRT, and one line of its stderr holds every needle. */
static void expect_abort(const char *name, void (*scenario)(void), const char *const needles[])
{
    struct outcome out;
    run_child(scenario, &out);
    int ok = WIFSIGNALED(out.status) && WTERMSIG(out.status) == SIGABRT;
    if (!ok) {
        if (WIFSIGNALED(out.status)) {
            fprintf(stderr, "%s: the child died of signal %d, not SIGABRT\n", name,
                    WTERMSIG(out.status));
        } else {
            fprintf(stderr, "%s: the child exited with status %d instead of aborting\n", name,
                    WEXITSTATUS(out.status));
        }
    }
    if (strstr(out.err, CONTINUED) != NULL) {
        fprintf(stderr, "%s: the caller went on after the failed call\n", name);
        ok = 0;
    }
    int found = 0;
    for (char *line = out.err; line != NULL && *line != '\0';) {
        char *end = strchr(line, '\n');
        if (end != NULL) {
            *end = '\0';
        }
        int all = 1;
        for (size_t i = 0; needles[i] != NULL; i++) {
            all = all && strstr(line, needles[i]) != NULL;
        }
        found = found || all;
        line = end != NULL ? end + 1 : NULL;
        if (end != NULL) {
            *end = '\n';
        }
    }
    if (!found) {
        fprintf(stderr, "%s: no line of the child's stderr holds all of:", name);
        for (size_t i = 0; needles[i] != NULL; i++) {
            fprintf(stderr, " [%s]", needles[i]);
        }
        fprintf(stderr, "\n");
        ok = 0;
    }
    if (!ok) {
        fprintf(stderr, "%s: the child's stderr was:\n%s\n", name, out.err);
        exit(1);
    }
}

int main(void)
{
    static const char *const sync_self[] = {"dispatch_sync_f", "\"compat.deadlock.serial\"",
                                            "deadlock", NULL};
    expect_abort("sync onto the current serial queue", scenario_sync_self, sync_self);

    static const char *const sync_target[] = {"dispatch_sync_f", "\"compat.deadlock.target\"",
                                              "deadlock", NULL};
    expect_abort("sync onto the target of the current queue", scenario_sync_target, sync_target);

    static const char *const barrier_self[] = {"dispatch_barrier_sync_f",
                                               "\"compat.deadlock.concurrent\"", "deadlock", NULL};
    expect_abort("barrier sync onto the current concurrent queue", scenario_barrier_self,
                 barrier_self);

    static const char *const async_self[] = {"dispatch_sync_f", "\"compat.deadlock.async\"",
                                             "deadlock", NULL};
    expect_abort("sync onto the current queue from async work", scenario_async_self, async_self);

    static const char *const null_work[] = {"dispatch_sync_f", "NULL", "aborting", NULL};
    expect_abort("sync with a NULL function", scenario_null_work, null_work);

    static const char *const once_recursive[] = {"dispatch_once_f", "deadlock",
                                                 "inside its own function", NULL};
    expect_abort("dispatch_once_f from its own function", scenario_once_recursive,
                 once_recursive);

    static const char *const once_garbage[] = {"dispatch_once_f", "0x5a5a5a5a",
                                               "zero-initialised", NULL};
    expect_abort("dispatch_once_f with a garbage predicate", scenario_once_garbage, once_garbage);

    struct outcome out;
    run_child(scenario_control, &out);
    CHECK(WIFEXITED(out.status) && WEXITSTATUS(out.status) == 0,
          "the control child (no deadlock) did not exit normally");
    if (out.err[0] != '\0') {
        fprintf(stderr, "the control child wrote to stderr:\n%s\n", out.err);
        exit(1);
    }
    return 0;
}
