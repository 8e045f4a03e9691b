/* A real race that the annotations must not hide: two items of a concurrent queue (no
 * barrier between them) write one variable while both run. TSan must report it against the
 * annotated rgcd too. */
#include "../tsan_check.h"

static long shared;
static atomic_int arrived[2];
static rgcd_semaphore_t done;

static void write_a(void *ctx) {
  (void)ctx;
  rendezvous(&arrived[0], &arrived[1]);
  shared += 1;
  rgcd_semaphore_signal(done);
}

static void write_b(void *ctx) {
  (void)ctx;
  rendezvous(&arrived[1], &arrived[0]);
  shared += 2;
  rgcd_semaphore_signal(done);
}

int main(void) {
  done = rgcd_semaphore_create(0);
  rgcd_queue_t q = rgcd_queue_create("race.concurrent", RGCD_QUEUE_CONCURRENT);
  CHECK(rgcd_async_f(q, NULL, write_a) == 0);
  CHECK(rgcd_async_f(q, NULL, write_b) == 0);
  for (int i = 0; i < 2; i++) CHECK(rgcd_semaphore_wait(done, RGCD_TIME_FOREVER) == 0);
  rgcd_release(q);
  rgcd_release(done);
  puts("concurrent_items: done");
  return 0;
}
