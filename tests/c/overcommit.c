/* overcommit: work on the overcommit global queue gets a thread whenever it waits, whatever
 * the CPU count. More items than CPUs that spin (never block, so the ordinary pool would not
 * grow for them) all run at once; once they end, the extra threads retire. */
#include "check.h"

#include <stdatomic.h>

static atomic_int running;
static atomic_int finished;
static int want;

/* Spins until every item is running (or 20 s pass: the test then fails). */
static void spinner(void *ctx) {
  (void)ctx;
  atomic_fetch_add(&running, 1);
  uint64_t end = now_ns() + 20000000000ull;
  while (atomic_load(&running) < want && now_ns() < end) spin(1000);
  atomic_fetch_add(&finished, 1);
}

int main(void) {
  start_watchdog(120);
  size_t base = rgcd_debug_live_objects();
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  CHECK(ncpu > 0);
  want = (int)ncpu * 2 + 4;

  rgcd_queue_t oc = rgcd_get_global_queue(RGCD_QUEUE_PRIORITY_DEFAULT, RGCD_GLOBAL_QUEUE_OVERCOMMIT);
  CHECK(oc != NULL);
  CHECK(oc != rgcd_get_global_queue(RGCD_QUEUE_PRIORITY_DEFAULT, 0));
  CHECK_NULL_ERR(rgcd_get_global_queue(RGCD_QUEUE_PRIORITY_DEFAULT, 4));

  /* Half directly on the overcommit queue, half through serial queues targeting it. */
  rgcd_queue_t serial[64];
  int nserial = want / 2;
  for (int i = 0; i < nserial; i++) {
    serial[i] = rgcd_queue_create_with_target("overcommit.serial", RGCD_QUEUE_SERIAL, oc);
    CHECK(serial[i] != NULL);
    CHECK_OK(rgcd_async_f(serial[i], NULL, spinner));
  }
  for (int i = nserial; i < want; i++) CHECK_OK(rgcd_async_f(oc, NULL, spinner));

  WAIT_UNTIL(atomic_load(&finished) == want, 60000);
  CHECK_EQ(atomic_load(&running), want);
  size_t peak = rgcd_pool_thread_count();
  printf("overcommit: %d spinning items ran at once on %ld CPUs (%zu threads)\n", want, ncpu,
         peak);
  CHECK(peak >= (size_t)want);

  for (int i = 0; i < nserial; i++) CHECK_OK(rgcd_release(serial[i]));
  /* The extra threads retire (after 5 s parked). */
  WAIT_UNTIL(rgcd_pool_thread_count() <= (size_t)ncpu, 30000);
  check_quiet_and_freed(base, "overcommit");
  printf("overcommit: ok, %zu threads after\n", (size_t)rgcd_pool_thread_count());
  return 0;
}
