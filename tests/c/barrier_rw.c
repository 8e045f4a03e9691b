/* barrier_rw: a concurrent queue with a 90/10 read/write mix, reads via async and writes via
 * barrier_async. Writers run alone, readers never overlap a writer, and every operation sees
 * exactly the writes submitted before it. */
#include "check.h"

#include <stdatomic.h>

#define OPS 20000

struct op {
  int is_write;
  long writes_before; /* writes submitted before this op */
};

static struct op ops[OPS];
static atomic_long value; /* the "shared state": number of writes applied */
static atomic_int readers_active;
static atomic_int max_readers; /* reported, not asserted: parallelism is not an outcome */
static atomic_int writers_active;
static atomic_int exclusion_violations;
static atomic_int order_violations;
static atomic_int remaining = OPS;
static atomic_int reads_done;
static atomic_int writes_done;
static rgcd_semaphore_t all_done;

static void finish(void) {
  if (atomic_fetch_sub(&remaining, 1) == 1) rgcd_semaphore_signal(all_done);
}

static void reader(void *ctx) {
  struct op *op = ctx;
  int r = atomic_fetch_add(&readers_active, 1) + 1;
  int m = atomic_load(&max_readers);
  while (r > m && !atomic_compare_exchange_weak(&max_readers, &m, r)) {
  }
  if (atomic_load(&writers_active) != 0) atomic_fetch_add(&exclusion_violations, 1);
  if (atomic_load(&value) != op->writes_before) atomic_fetch_add(&order_violations, 1);
  spin(200);
  if (atomic_load(&writers_active) != 0) atomic_fetch_add(&exclusion_violations, 1);
  atomic_fetch_sub(&readers_active, 1);
  atomic_fetch_add(&reads_done, 1);
  finish();
}

static void writer(void *ctx) {
  struct op *op = ctx;
  if (atomic_fetch_add(&writers_active, 1) != 0) atomic_fetch_add(&exclusion_violations, 1);
  if (atomic_load(&readers_active) != 0) atomic_fetch_add(&exclusion_violations, 1);
  long v = atomic_load(&value);
  if (v != op->writes_before) atomic_fetch_add(&order_violations, 1);
  spin(500);
  atomic_store(&value, v + 1);
  if (atomic_load(&readers_active) != 0) atomic_fetch_add(&exclusion_violations, 1);
  atomic_fetch_sub(&writers_active, 1);
  atomic_fetch_add(&writes_done, 1);
  finish();
}

int main(void) {
  start_watchdog(100);
  all_done = rgcd_semaphore_create(0);
  CHECK(all_done != NULL);
  rgcd_queue_t q = rgcd_queue_create("barrier_rw", RGCD_QUEUE_CONCURRENT);
  CHECK(q != NULL);

  long writes = 0;
  for (int i = 0; i < OPS; i++) {
    ops[i].is_write = (i % 10 == 3);
    ops[i].writes_before = writes;
    if (ops[i].is_write) {
      writes++;
      CHECK_OK(rgcd_barrier_async_f(q, &ops[i], writer));
    } else {
      CHECK_OK(rgcd_async_f(q, &ops[i], reader));
    }
  }

  CHECK_OK(rgcd_semaphore_wait(all_done, deadline_ms(60000)));
  printf("barrier_rw: %d ops (%ld writes), at most %d readers at once\n", OPS, writes,
         atomic_load(&max_readers));
  CHECK_EQ(atomic_load(&exclusion_violations), 0);
  CHECK_EQ(atomic_load(&order_violations), 0);
  CHECK_EQ(atomic_load(&writes_done), writes);
  CHECK_EQ(atomic_load(&reads_done), OPS - writes);
  CHECK_EQ(atomic_load(&value), writes);

  CHECK_OK(rgcd_release(q));
  CHECK_OK(rgcd_release(all_done));
  return 0;
}
