/* no_thread_starvation: 200 tasks on a global queue block on one semaphore that only a 201st
 * task signals, and it signals only once all 200 are running. The pool must grow past the
 * blocked workers (up to its cap of 255) so that every task gets a thread. */
#include "check.h"

#include <stdatomic.h>

#define WAITERS 200

static rgcd_semaphore_t gate;
static atomic_int woke;
static atomic_int timed_out;
static atomic_int errors;
static atomic_int started;
static atomic_int signaller_gave_up;

static void waiter(void *ctx) {
  (void)ctx;
  atomic_fetch_add(&started, 1);
  int r = rgcd_semaphore_wait(gate, deadline_ms(50000));
  if (r == 0)
    atomic_fetch_add(&woke, 1);
  else if (r == RGCD_TIMED_OUT)
    atomic_fetch_add(&timed_out, 1);
  else
    atomic_fetch_add(&errors, 1);
}

static void signaller(void *ctx) {
  (void)ctx;
  /* Signalling early would let waiters pass without blocking; wait until every waiter
   * holds a thread (bounded: a pool that does not grow fails the test below). */
  uint64_t give_up = now_ns() + 30000 * 1000000ull;
  while (atomic_load(&started) < WAITERS) {
    if (now_ns() > give_up) {
      atomic_store(&signaller_gave_up, 1); /* the pool stopped growing: fail, but finish */
      break;
    }
    sleep_ms(1);
  }
  for (int i = 0; i < WAITERS; i++) {
    if (rgcd_semaphore_signal(gate) < 0) atomic_fetch_add(&errors, 1);
  }
}

int main(void) {
  start_watchdog(100);
  gate = rgcd_semaphore_create(0);
  CHECK(gate != NULL);
  rgcd_group_t group = rgcd_group_create();
  CHECK(group != NULL);
  rgcd_queue_t global = rgcd_get_global_queue(RGCD_QOS_DEFAULT, 0);
  CHECK(global != NULL);

  uint64_t t0 = now_ns();
  for (int i = 0; i < WAITERS; i++) CHECK_OK(rgcd_group_async_f(group, global, NULL, waiter));
  CHECK_OK(rgcd_group_async_f(group, global, NULL, signaller));

  int r = rgcd_group_wait(group, deadline_ms(60000));
  size_t threads = rgcd_pool_thread_count();
  printf("no_thread_starvation: %d waiters released in %.1f ms, %zu pool threads\n", WAITERS,
         (double)(now_ns() - t0) / 1e6, threads);
  CHECK_OK(r);
  CHECK_EQ(atomic_load(&signaller_gave_up), 0);
  CHECK_EQ(atomic_load(&started), WAITERS);
  CHECK_EQ(atomic_load(&errors), 0);
  CHECK_EQ(atomic_load(&timed_out), 0);
  CHECK_EQ(atomic_load(&woke), WAITERS);
  CHECK(threads <= 255);

  CHECK_OK(rgcd_release(group));
  CHECK_OK(rgcd_release(gate));
  return 0;
}
