/* watchdog_rounds: with a warm pool, every worker alive blocks in read(2), then one more task
 * must still get a thread — three rounds in one process. A worker that steals a batch can hold
 * a second blocker in its own deque behind the one it runs; the pool must notice that work too
 * (this hung before the fix). */
#include "check.h"
#include <stdatomic.h>
#include <unistd.h>

static int fds[2];
static atomic_int blocked;
static atomic_int probed;

static void blocker(void *ctx) {
  (void)ctx;
  atomic_fetch_add(&blocked, 1);
  char b;
  if (read(fds[0], &b, 1) != 1) _exit(3);
}

static void probe(void *ctx) {
  (void)ctx;
  atomic_store(&probed, 1);
}

int main(void) {
  start_watchdog(100);
  CHECK(pipe(fds) == 0);
  rgcd_queue_t g = rgcd_get_global_queue(RGCD_QOS_DEFAULT, 0);
  rgcd_group_t warm = rgcd_group_create();
  for (int i = 0; i < 4; i++) CHECK_OK(rgcd_group_async_f(warm, g, NULL, probe));
  CHECK_OK(rgcd_group_wait(warm, deadline_ms(30000)));
  sleep_ms(300); /* let the workers go to sleep */
  for (int round = 0; round < 3; round++) {
    int n = (int)rgcd_pool_thread_count();
    CHECK(n >= 1 && n < 64);
    atomic_store(&blocked, 0);
    atomic_store(&probed, 0);
    for (int i = 0; i < n; i++) CHECK_OK(rgcd_async_f(g, NULL, blocker));
    WAIT_UNTIL(atomic_load(&blocked) == n, 30000);
    uint64_t t0 = now_ns();
    CHECK_OK(rgcd_async_f(g, NULL, probe));
    WAIT_UNTIL(atomic_load(&probed) == 1, 30000);
    printf("watchdog_rounds: round %d, %d workers blocked, probe ran after %.2f ms (%zu threads)\n",
           round, n, (double)(now_ns() - t0) / 1e6, rgcd_pool_thread_count());
    char buf[64] = {0};
    CHECK(write(fds[1], buf, (size_t)n) == n);
    sleep_ms(200);
  }
  CHECK_OK(rgcd_release(warm));
  close(fds[0]);
  close(fds[1]);
  return 0;
}
