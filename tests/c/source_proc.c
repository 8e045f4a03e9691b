/* source_proc: a PROC source with RGCD_PROC_EXIT fires once when the process exits, with
 * RGCD_PROC_EXIT in its data, and rgcd does not reap the child (waitpid still returns it
 * with its exit status). A pid that no longer exists reports the exit at once after
 * activation. The other RGCD_PROC_* flags are accepted in the mask. */
#include "check.h"

#include <errno.h>
#include <stdatomic.h>
#include <sys/types.h>
#include <sys/wait.h>

struct src {
  rgcd_source_t src;
  atomic_int calls;
  atomic_ullong data_or;
  atomic_int cancelled;
};

static void on_proc(void *ctx) {
  struct src *s = ctx;
  atomic_fetch_or(&s->data_or, (unsigned long long)rgcd_source_get_data(s->src));
  atomic_fetch_add(&s->calls, 1);
}

static void on_cancel(void *ctx) {
  struct src *s = ctx;
  atomic_fetch_add(&s->cancelled, 1);
}

/* A child that sleeps `ms` and exits with `code` (it never touches rgcd). */
static pid_t spawn(long ms, int code) {
  fflush(NULL);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    if (ms > 0) sleep_ms(ms);
    _exit(code);
  }
  return pid;
}

static void start_source(struct src *s, pid_t pid, uintptr_t mask, rgcd_queue_t q) {
  s->src = rgcd_source_create(RGCD_SOURCE_TYPE_PROC, (uintptr_t)pid, mask, q);
  CHECK(s->src != NULL);
  CHECK_EQ(rgcd_source_get_handle(s->src), pid);
  CHECK_EQ(rgcd_source_get_mask(s->src), mask);
  CHECK_OK(rgcd_set_context(s->src, s));
  CHECK_OK(rgcd_source_set_event_handler_f(s->src, on_proc));
  CHECK_OK(rgcd_source_set_cancel_handler_f(s->src, on_cancel));
  CHECK_OK(rgcd_activate(s->src));
}

/* The source fired exactly once with RGCD_PROC_EXIT; then cancel it. */
static void check_exit_once(struct src *s, const char *what) {
  WAIT_UNTIL(atomic_load(&s->calls) >= 1, 20000);
  sleep_ms(200);
  printf("source_proc: %s: %d call(s), data 0x%llx\n", what, atomic_load(&s->calls),
         (unsigned long long)atomic_load(&s->data_or));
  CHECK_EQ(atomic_load(&s->calls), 1);
  CHECK(atomic_load(&s->data_or) & RGCD_PROC_EXIT);
  CHECK_OK(rgcd_source_cancel(s->src));
  WAIT_UNTIL(atomic_load(&s->cancelled) == 1, 20000);
  sleep_ms(50);
  CHECK_EQ(atomic_load(&s->cancelled), 1);
  CHECK_EQ(atomic_load(&s->calls), 1);
  CHECK_OK(rgcd_release(s->src));
}

static void reap(pid_t pid, int code) {
  int status = 0;
  pid_t r;
  do {
    r = waitpid(pid, &status, 0);
  } while (r < 0 && errno == EINTR);
  CHECK_EQ(r, pid); /* rgcd did not reap it */
  CHECK(WIFEXITED(status));
  CHECK_EQ(WEXITSTATUS(status), code);
}

int main(void) {
  start_watchdog(100);
  rgcd_queue_t q = rgcd_queue_create("source_proc.serial", RGCD_QUEUE_SERIAL);
  rgcd_queue_t global = rgcd_get_global_queue(RGCD_QOS_DEFAULT, 0);
  CHECK(q != NULL && global != NULL);

  /* 1. A child that exits with status 3 after 200 ms. */
  {
    pid_t pid = spawn(200, 3);
    static struct src s;
    start_source(&s, pid, RGCD_PROC_EXIT, q);
    check_exit_once(&s, "child exiting after 200 ms");
    reap(pid, 3);
  }

  /* 2. A pid that no longer exists (the child was already reaped). */
  {
    pid_t pid = spawn(0, 0);
    reap(pid, 0);
    static struct src s;
    start_source(&s, pid, RGCD_PROC_EXIT, global);
    check_exit_once(&s, "pid already gone");
  }

  /* 3. A zombie (exited, not reaped yet) and every flag in the mask. */
  {
    pid_t pid = spawn(0, 7);
    siginfo_t info;
    memset(&info, 0, sizeof info);
    CHECK(waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT) == 0); /* exited, not reaped */
    static struct src s;
    start_source(&s, pid,
                 RGCD_PROC_EXIT | RGCD_PROC_FORK | RGCD_PROC_EXEC | RGCD_PROC_SIGNAL, q);
    check_exit_once(&s, "zombie, all flags");
    reap(pid, 7);
  }

  CHECK_OK(rgcd_release(q));
  return 0;
}
