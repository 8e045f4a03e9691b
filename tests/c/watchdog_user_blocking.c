/* watchdog_user_blocking: every worker blocks in read(2) on a pipe that only a later task
 * writes to. Nothing tells rgcd these threads are blocked, so its monitor must notice the
 * stall and add a thread for the writer (libdispatch on Linux takes about a second per thread). */
#include "check.h"
#include <unistd.h>

static int fds[2];
static int blockers;

static void blocker(void *ctx) {
  (void)ctx;
  char b;
  if (read(fds[0], &b, 1) != 1) _exit(3);
}

static void writer(void *ctx) {
  (void)ctx;
  char buf[64] = {0};
  if (write(fds[1], buf, (size_t)blockers) != blockers) _exit(4);
}

int main(void) {
  start_watchdog(100);
  CHECK(pipe(fds) == 0);
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  blockers = (int)(ncpu > 0 && ncpu < 32 ? ncpu : 2) + 1;
  rgcd_group_t g = rgcd_group_create();
  rgcd_queue_t global = rgcd_get_global_queue(RGCD_QOS_DEFAULT, 0);
  uint64_t t0 = now_ns();
  for (int i = 0; i < blockers; i++) CHECK_OK(rgcd_group_async_f(g, global, NULL, blocker));
  CHECK_OK(rgcd_group_async_f(g, global, NULL, writer));
  CHECK_OK(rgcd_group_wait(g, deadline_ms(30000)));
  printf("watchdog_user_blocking: %d blocked readers released in %.1f ms, %zu pool threads\n",
         blockers, (double)(now_ns() - t0) / 1e6, rgcd_pool_thread_count());
  CHECK_OK(rgcd_release(g));
  close(fds[0]);
  close(fds[1]);
  return 0;
}
