/* tsan_once_apply: a table initialised by rgcd_once_f and read by work items that all call
 * rgcd_once_f first (the end of the once function -> every once that returns); then
 * rgcd_apply_f iterations fill slots the caller reads when apply returns. */
#include "tsan_check.h"

#define N 256

static rgcd_once_t once;
static int table[N];
static int inits;
static long apply_slots[N];
static rgcd_group_t readers;

static void init_table(void *ctx) {
  (void)ctx;
  inits++;
  for (int i = 0; i < N; i++) table[i] = i * 3;
}

static void use_table(void *ctx) {
  long *out = ctx;
  CHECK(rgcd_once_f(&once, NULL, init_table) == 0);
  long s = 0;
  for (int i = 0; i < N; i++) s += table[i];
  *out = s;
}

static void fill(void *ctx, size_t i) {
  long *slots = ctx;
  slots[i] = (long)i * (long)i;
}

int main(void) {
  readers = rgcd_group_create();
  rgcd_queue_t q = rgcd_get_global_queue(0, 0);
  long sums[8];
  for (int i = 0; i < 8; i++) CHECK(rgcd_group_async_f(readers, q, &sums[i], use_table) == 0);
  CHECK(rgcd_group_wait(readers, RGCD_TIME_FOREVER) == 0);
  for (int i = 0; i < 8; i++) CHECK(sums[i] == 3L * N * (N - 1) / 2);
  CHECK(rgcd_once_f(&once, NULL, init_table) == 0);
  CHECK(inits == 1 && table[N - 1] == 3 * (N - 1));

  for (int round = 0; round < ROUNDS; round++) {
    for (int i = 0; i < N; i++) apply_slots[i] = -1;
    CHECK(rgcd_apply_f(N, q, apply_slots, fill) == 0);
    for (int i = 0; i < N; i++) CHECK(apply_slots[i] == (long)i * i);
  }
  rgcd_release(readers);
  puts("tsan_once_apply: ok");
  return 0;
}
