/* tsan_barrier: on a concurrent queue, readers run side by side and only read the shared
 * value (each writes its own slot); a barrier writes the value and sums the slots. Readers
 * after the barrier see its write; rgcd_barrier_sync_f gives the caller the last state. */
#include "tsan_check.h"

#define READERS 16

static long value;
static long slots[READERS];
static long total;

static void reader(void *ctx) {
  long *slot = ctx;
  *slot = value; /* concurrent reads of `value`: no race */
}

static void writer(void *ctx) {
  (void)ctx;
  for (int i = 0; i < READERS; i++) total += slots[i];
  value++;
}

static void final_read(void *ctx) {
  long *out = ctx;
  *out = total;
}

int main(void) {
  rgcd_queue_t q = rgcd_queue_create("tsan.concurrent", RGCD_QUEUE_CONCURRENT);
  CHECK(q != NULL);
  long want = 0;
  for (int round = 0; round < ROUNDS; round++) {
    for (int i = 0; i < READERS; i++) CHECK(rgcd_async_f(q, &slots[i], reader) == 0);
    CHECK(rgcd_barrier_async_f(q, NULL, writer) == 0);
    want += (long)round * READERS;
  }
  long seen = -1;
  CHECK(rgcd_barrier_sync_f(q, &seen, final_read) == 0);
  CHECK(seen == want);
  CHECK(value == ROUNDS);
  rgcd_release(q);
  puts("tsan_barrier: ok");
  return 0;
}
