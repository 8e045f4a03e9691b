/* A real race that the annotations must not hide: items of two different serial queues
 * (each serial, but not serial with each other) write one variable while both run. */
#include "../tsan_check.h"

static long shared;
static atomic_int arrived[2];

static void write_a(void *ctx) {
  (void)ctx;
  rendezvous(&arrived[0], &arrived[1]);
  shared += 1;
}

static void write_b(void *ctx) {
  (void)ctx;
  rendezvous(&arrived[1], &arrived[0]);
  shared += 2;
}

int main(void) {
  rgcd_group_t g = rgcd_group_create();
  rgcd_queue_t a = rgcd_queue_create("race.a", RGCD_QUEUE_SERIAL);
  rgcd_queue_t b = rgcd_queue_create("race.b", RGCD_QUEUE_SERIAL);
  CHECK(rgcd_group_async_f(g, a, NULL, write_a) == 0);
  CHECK(rgcd_group_async_f(g, b, NULL, write_b) == 0);
  CHECK(rgcd_group_wait(g, RGCD_TIME_FOREVER) == 0);
  rgcd_release(a);
  rgcd_release(b);
  rgcd_release(g);
  puts("two_serial_queues: done");
  return 0;
}
