/* concurrent_width: a concurrent queue that targets another concurrent queue keeps its width.
 * Its items overlap (async and sync), a barrier on either queue runs alone (no item of the
 * inner queue and no other barrier overlaps it), and rgcd_queue_set_width bounds how many run
 * at once. */
#include "check.h"

#include <stdatomic.h>

#define READERS 6

static atomic_int active;     /* items of the inner queue running now */
static atomic_int max_active; /* reported, and checked against a width */
static atomic_int barriers;   /* barriers running now */
static atomic_int violations;
static atomic_int done;

static void note_max(int r) {
  int m = atomic_load(&max_active);
  while (r > m && !atomic_compare_exchange_weak(&max_active, &m, r)) {
  }
}

/* Waits (sleeping, so the pool may add threads) until `want` items are in at once; fails
 * the test after 10 s, which is what a serialised queue would do. */
static void rendezvous(void *ctx) {
  int want = (int)(intptr_t)ctx;
  int r = atomic_fetch_add(&active, 1) + 1;
  note_max(r);
  uint64_t end = now_ns() + 10000000000ull;
  while (atomic_load(&max_active) < want) {
    if (now_ns() > end) {
      fprintf(stderr, "concurrent_width: only %d of %d items ran at once\n",
              atomic_load(&max_active), want);
      exit(1);
    }
    sleep_ms(1);
  }
  atomic_fetch_sub(&active, 1);
  atomic_fetch_add(&done, 1);
}

static void reader(void *ctx) {
  (void)ctx;
  int r = atomic_fetch_add(&active, 1) + 1;
  note_max(r);
  if (atomic_load(&barriers) != 0) atomic_fetch_add(&violations, 1);
  spin(2000);
  if (atomic_load(&barriers) != 0) atomic_fetch_add(&violations, 1);
  atomic_fetch_sub(&active, 1);
  atomic_fetch_add(&done, 1);
}

static void barrier(void *ctx) {
  (void)ctx;
  if (atomic_fetch_add(&barriers, 1) != 0) atomic_fetch_add(&violations, 1);
  if (atomic_load(&active) != 0) atomic_fetch_add(&violations, 1);
  spin(5000);
  if (atomic_load(&active) != 0) atomic_fetch_add(&violations, 1);
  atomic_fetch_sub(&barriers, 1);
  atomic_fetch_add(&done, 1);
}

/* Slept-in item for the width check: records the peak, sleeps 20 ms. */
static void slow_item(void *ctx) {
  (void)ctx;
  int r = atomic_fetch_add(&active, 1) + 1;
  note_max(r);
  sleep_ms(20);
  atomic_fetch_sub(&active, 1);
  atomic_fetch_add(&done, 1);
}

static rgcd_queue_t sync_target;

/* On a global queue: a sync reader onto the inner queue that waits for the others. */
static void sync_caller(void *ctx) {
  CHECK_OK(rgcd_sync_f(sync_target, ctx, rendezvous));
}

static void reset(void) {
  atomic_store(&active, 0);
  atomic_store(&max_active, 0);
  atomic_store(&done, 0);
}

int main(void) {
  start_watchdog(120);
  size_t base = rgcd_debug_live_objects();
  rgcd_queue_t outer = rgcd_queue_create("width.outer", RGCD_QUEUE_CONCURRENT);
  CHECK(outer != NULL);
  rgcd_queue_t inner =
      rgcd_queue_create_with_target("width.inner", RGCD_QUEUE_CONCURRENT, outer);
  CHECK(inner != NULL);

  /* 1. async items of the inner queue overlap. */
  reset();
  for (int i = 0; i < READERS; i++)
    CHECK_OK(rgcd_async_f(inner, (void *)(intptr_t)READERS, rendezvous));
  WAIT_UNTIL(atomic_load(&done) == READERS, 20000);
  CHECK_EQ(atomic_load(&max_active), READERS);

  /* 2. sync readers of the inner queue, from several threads, overlap too. */
  reset();
  sync_target = inner;
  rgcd_queue_t g = rgcd_get_global_queue(RGCD_QUEUE_PRIORITY_DEFAULT, 0);
  for (int i = 0; i < READERS; i++)
    CHECK_OK(rgcd_async_f(g, (void *)(intptr_t)READERS, sync_caller));
  WAIT_UNTIL(atomic_load(&done) == READERS, 20000);
  CHECK_EQ(atomic_load(&max_active), READERS);

  /* 3. barriers on both levels exclude the inner queue's items and each other. */
  reset();
  int items = 0;
  for (int i = 0; i < 3000; i++) {
    if (i % 50 == 7) {
      CHECK_OK(rgcd_barrier_async_f(inner, NULL, barrier));
    } else if (i % 50 == 31) {
      CHECK_OK(rgcd_barrier_async_f(outer, NULL, barrier));
    } else if (i % 100 == 60) {
      CHECK_OK(rgcd_barrier_sync_f(i % 200 == 60 ? inner : outer, NULL, barrier));
    } else {
      CHECK_OK(rgcd_async_f(inner, NULL, reader));
    }
    items++;
  }
  WAIT_UNTIL(atomic_load(&done) == items, 60000);
  CHECK_EQ(atomic_load(&violations), 0);
  printf("concurrent_width: up to %d inner items at once between barriers\n",
         atomic_load(&max_active));

  /* 4. a width limit: never more than 3 at once, and 3 are reached. */
  CHECK_OK(rgcd_queue_set_width(inner, 3));
  reset();
  for (int i = 0; i < 3; i++) CHECK_OK(rgcd_async_f(inner, (void *)(intptr_t)3, rendezvous));
  for (int i = 0; i < 30; i++) CHECK_OK(rgcd_async_f(inner, NULL, slow_item));
  WAIT_UNTIL(atomic_load(&done) == 33, 30000);
  CHECK_EQ(atomic_load(&max_active), 3);
  /* Width 1: one at a time. */
  CHECK_OK(rgcd_queue_set_width(inner, 1));
  reset();
  for (int i = 0; i < 10; i++) CHECK_OK(rgcd_async_f(inner, NULL, slow_item));
  WAIT_UNTIL(atomic_load(&done) == 10, 30000);
  CHECK_EQ(atomic_load(&max_active), 1);
  /* Back to no limit of its own. */
  CHECK_OK(rgcd_queue_set_width(inner, 1L << 40));
  reset();
  for (int i = 0; i < READERS; i++)
    CHECK_OK(rgcd_async_f(inner, (void *)(intptr_t)READERS, rendezvous));
  WAIT_UNTIL(atomic_load(&done) == READERS, 20000);

  /* A serial queue or a global queue has no width to set. */
  rgcd_queue_t serial = rgcd_queue_create("width.serial", RGCD_QUEUE_SERIAL);
  CHECK(serial != NULL);
  CHECK_ERR(rgcd_queue_set_width(serial, 4), RGCD_ENOTSUP);
  CHECK_ERR(rgcd_queue_set_width(g, 4), RGCD_ENOTSUP);

  CHECK_OK(rgcd_release(serial));
  CHECK_OK(rgcd_release(inner));
  CHECK_OK(rgcd_release(outer));
  check_quiet_and_freed(base, "concurrent_width");
  printf("concurrent_width: ok\n");
  return 0;
}
