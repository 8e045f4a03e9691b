/* thread_cap: with RGCD_MAX_THREADS=2, two work items block (on a semaphore) while ten more
 * wait behind them. The pool cannot grow past its cap: it says so once on stderr (the cap, how
 * many items wait, how many workers are busy or blocked) — once, however long the stall and
 * however often it would grow — and the waiting work runs as soon as the blocked items
 * return. The test re-executes itself with the variable set and its stderr captured. */
#define _GNU_SOURCE
#include "check.h"

#include <stdatomic.h>
#include <sys/wait.h>

static rgcd_semaphore_t gate;
static atomic_int blocked_started, quick_done;

static void blocker(void *ctx) {
  (void)ctx;
  atomic_fetch_add(&blocked_started, 1);
  CHECK_EQ(rgcd_semaphore_wait(gate, deadline_ms(30000)), 0);
}

static void quick(void *ctx) {
  (void)ctx;
  atomic_fetch_add(&quick_done, 1);
}

static int child(void) {
  start_watchdog(60);
  rgcd_queue_t g = rgcd_get_global_queue(RGCD_QOS_DEFAULT, 0);
  gate = rgcd_semaphore_create(0);
  CHECK(gate != NULL);
  CHECK_OK(rgcd_async_f(g, NULL, blocker));
  CHECK_OK(rgcd_async_f(g, NULL, blocker));
  WAIT_UNTIL(atomic_load(&blocked_started) == 2, 10000);
  for (int i = 0; i < 10; i++) CHECK_OK(rgcd_async_f(g, NULL, quick));
  sleep_ms(500); /* the pool would grow here, several times over, if it could */
  CHECK_EQ(atomic_load(&quick_done), 0);
  CHECK(rgcd_pool_thread_count() <= 2);
  rgcd_semaphore_signal(gate);
  rgcd_semaphore_signal(gate);
  WAIT_UNTIL(atomic_load(&quick_done) == 10, 10000);
  printf("thread_cap: the 10 waiting items ran after the blocked ones returned\n");
  return 0;
}

int main(int argc, char **argv) {
  (void)argc;
  if (getenv("RGCD_MAX_THREADS") != NULL) return child();
  start_watchdog(90);
  int err[2];
  CHECK(pipe(err) == 0);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    dup2(err[1], 2);
    setenv("RGCD_MAX_THREADS", "2", 1);
    execv("/proc/self/exe", argv);
    _exit(127);
  }
  close(err[1]);
  char buf[4096];
  size_t have = 0;
  for (ssize_t n; (n = read(err[0], buf + have, sizeof buf - 1 - have)) > 0;) have += (size_t)n;
  buf[have] = '\0';
  int status = 0;
  CHECK(waitpid(pid, &status, 0) == pid);
  fprintf(stderr, "%s", buf);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  const char *first = strstr(buf, "at its cap of 2 threads");
  CHECK(first != NULL);
  CHECK(strstr(first + 1, "at its cap of") == NULL); /* said once */
  CHECK(strstr(buf, "waiting") != NULL);
  return 0;
}
