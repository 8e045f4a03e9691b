/* tsan_serial: a plain counter incremented by every item of a serial queue (the items run
 * one at a time, on whichever worker drains the queue), read by the caller through
 * rgcd_sync_f; then two serial queues that target one serial queue share a counter (their
 * items never overlap either). */
#include "tsan_check.h"

#define ITEMS 64

static long counter;
static long shared_by_children;
static long seen;

static void incr(void *ctx) {
  (void)ctx;
  counter++;
}

static void incr_shared(void *ctx) {
  (void)ctx;
  shared_by_children++;
}

static void read_counter(void *ctx) {
  (void)ctx;
  seen = counter;
}

static void read_shared(void *ctx) {
  (void)ctx;
  seen = shared_by_children;
}

int main(void) {
  rgcd_queue_t q = rgcd_queue_create("tsan.serial", RGCD_QUEUE_SERIAL);
  CHECK(q != NULL);
  for (int round = 0; round < ROUNDS; round++) {
    for (int i = 0; i < ITEMS; i++) CHECK(rgcd_async_f(q, NULL, incr) == 0);
    CHECK(rgcd_sync_f(q, NULL, read_counter) == 0);
    CHECK(seen == (long)(round + 1) * ITEMS);
    CHECK(counter == seen); /* after sync the caller sees the items' writes */
  }

  rgcd_queue_t target = rgcd_queue_create("tsan.target", RGCD_QUEUE_SERIAL);
  rgcd_queue_t a = rgcd_queue_create_with_target("tsan.a", RGCD_QUEUE_SERIAL, target);
  rgcd_queue_t b = rgcd_queue_create_with_target("tsan.b", RGCD_QUEUE_SERIAL, target);
  CHECK(target != NULL && a != NULL && b != NULL);
  for (int round = 0; round < ROUNDS; round++) {
    for (int i = 0; i < ITEMS / 2; i++) {
      CHECK(rgcd_async_f(a, NULL, incr_shared) == 0);
      CHECK(rgcd_async_f(b, NULL, incr_shared) == 0);
    }
  }
  CHECK(rgcd_sync_f(a, NULL, read_shared) == 0);
  CHECK(rgcd_sync_f(b, NULL, read_shared) == 0);
  CHECK(rgcd_sync_f(target, NULL, read_shared) == 0);
  CHECK(seen == (long)ROUNDS * ITEMS);

  rgcd_release(a);
  rgcd_release(b);
  rgcd_release(target);
  rgcd_release(q);
  puts("tsan_serial: ok");
  return 0;
}
