/* target_hierarchy: a concurrent queue that targets a serial queue runs one item at a time;
 * a barrier on a concurrent queue excludes the drains of serial queues that target it; a sync
 * onto a queue whose target is busy waits its turn and runs inside the target (its specific
 * data is visible). */
#include "check.h"
#include <stdatomic.h>

static atomic_int inflight;
static atomic_int overlaps;
static atomic_int ran;
static char key;
static int tag = 7;
static rgcd_semaphore_t gate;

static void exclusive(void *ctx) {
  (void)ctx;
  if (atomic_fetch_add(&inflight, 1) != 0) atomic_fetch_add(&overlaps, 1);
  spin(2000);
  atomic_fetch_sub(&inflight, 1);
  atomic_fetch_add(&ran, 1);
}

static atomic_int barrier_violations;
static atomic_int child_running;
static void child_item(void *ctx) {
  (void)ctx;
  atomic_fetch_add(&child_running, 1);
  spin(2000);
  atomic_fetch_sub(&child_running, 1);
  atomic_fetch_add(&ran, 1);
}
static void parent_barrier(void *ctx) {
  (void)ctx;
  if (atomic_load(&child_running) != 0) atomic_fetch_add(&barrier_violations, 1);
  spin(2000);
  if (atomic_load(&child_running) != 0) atomic_fetch_add(&barrier_violations, 1);
  atomic_fetch_add(&ran, 1);
}

static void hold(void *ctx) {
  (void)ctx;
  CHECK_OK(rgcd_semaphore_wait(gate, deadline_ms(30000)));
}
static atomic_int sync_saw;
static void in_sync(void *ctx) {
  (void)ctx;
  int *t = rgcd_get_specific(&key);
  atomic_store(&sync_saw, t ? *t : -1);
}
static void release_gate(void *ctx) {
  (void)ctx;
  sleep_ms(50);
  rgcd_semaphore_signal(gate);
}

int main(void) {
  start_watchdog(60);
  gate = rgcd_semaphore_create(0);

  /* 1. concurrent -> serial target: serialised. */
  rgcd_queue_t s = rgcd_queue_create("s", RGCD_QUEUE_SERIAL);
  rgcd_queue_t c = rgcd_queue_create_with_target("c", RGCD_QUEUE_CONCURRENT, s);
  rgcd_group_t g = rgcd_group_create();
  for (int i = 0; i < 500; i++) CHECK_OK(rgcd_group_async_f(g, c, NULL, exclusive));
  CHECK_OK(rgcd_group_wait(g, deadline_ms(30000)));
  CHECK_EQ(atomic_load(&overlaps), 0);
  CHECK_EQ(atomic_load(&ran), 500);

  /* 2. serial children -> wide concurrent parent: a parent barrier excludes child drains. */
  rgcd_queue_t parent = rgcd_queue_create("parent", RGCD_QUEUE_CONCURRENT);
  rgcd_queue_t kids[4];
  for (int k = 0; k < 4; k++) kids[k] = rgcd_queue_create_with_target("kid", RGCD_QUEUE_SERIAL, parent);
  atomic_store(&ran, 0);
  for (int i = 0; i < 400; i++) {
    CHECK_OK(rgcd_group_async_f(g, kids[i % 4], NULL, child_item));
    if (i % 50 == 49) CHECK_OK(rgcd_barrier_async_f(parent, NULL, parent_barrier));
  }
  CHECK_OK(rgcd_group_wait(g, deadline_ms(30000)));
  WAIT_UNTIL(atomic_load(&ran) == 408, 30000);
  CHECK_EQ(atomic_load(&barrier_violations), 0);

  /* 3. sync onto a queue whose serial target is busy: waits, runs inside the target. */
  rgcd_queue_t t = rgcd_queue_create("t", RGCD_QUEUE_SERIAL);
  CHECK_OK(rgcd_queue_set_specific(t, &key, &tag, NULL));
  rgcd_queue_t q = rgcd_queue_create_with_target("q", RGCD_QUEUE_SERIAL, t);
  CHECK_OK(rgcd_async_f(t, NULL, hold));
  CHECK_OK(rgcd_async_f(rgcd_get_global_queue(RGCD_QOS_DEFAULT, 0), NULL, release_gate));
  CHECK_OK(rgcd_sync_f(q, NULL, in_sync));
  CHECK_EQ(atomic_load(&sync_saw), 7);

  for (int k = 0; k < 4; k++) CHECK_OK(rgcd_release(kids[k]));
  CHECK_OK(rgcd_release(parent));
  CHECK_OK(rgcd_release(c));
  CHECK_OK(rgcd_release(s));
  CHECK_OK(rgcd_release(q));
  CHECK_OK(rgcd_release(t));
  CHECK_OK(rgcd_release(g));
  CHECK_OK(rgcd_release(gate));
  printf("target_hierarchy: ok\n");
  return 0;
}
