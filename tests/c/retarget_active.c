/* retarget_active: rgcd_set_target_queue on a busy serial queue takes effect after the work
 * queued before the call: earlier items see the old target's specific data, later ones the
 * new target's; FIFO order and exactly-once hold across the switch. */
#include "check.h"
#include <stdatomic.h>

#define N 2000
static char key;
static int tag_a = 1, tag_b = 2;
static atomic_int seen[N];
static atomic_int next_seq;
static atomic_int order_errors;
static rgcd_semaphore_t gate;

static void item(void *ctx) {
  int i = (int)(intptr_t)ctx;
  if (atomic_fetch_add(&next_seq, 1) != i) atomic_fetch_add(&order_errors, 1);
  int *t = rgcd_get_specific(&key);
  atomic_store(&seen[i], t ? *t : -1);
}

static void hold(void *ctx) {
  (void)ctx;
  CHECK_OK(rgcd_semaphore_wait(gate, deadline_ms(30000)));
}

int main(void) {
  start_watchdog(60);
  gate = rgcd_semaphore_create(0);
  rgcd_queue_t a = rgcd_queue_create("a", RGCD_QUEUE_SERIAL);
  rgcd_queue_t b = rgcd_queue_create("b", RGCD_QUEUE_SERIAL);
  CHECK_OK(rgcd_queue_set_specific(a, &key, &tag_a, NULL));
  CHECK_OK(rgcd_queue_set_specific(b, &key, &tag_b, NULL));
  rgcd_queue_t q = rgcd_queue_create_with_target("q", RGCD_QUEUE_SERIAL, a);
  CHECK(q != NULL);
  /* Keep q busy so the retarget cannot happen at once. */
  CHECK_OK(rgcd_async_f(q, NULL, hold));
  for (int i = 0; i < N / 2; i++) CHECK_OK(rgcd_async_f(q, (void *)(intptr_t)i, item));
  CHECK_OK(rgcd_set_target_queue(q, b));
  for (int i = N / 2; i < N; i++) CHECK_OK(rgcd_async_f(q, (void *)(intptr_t)i, item));
  CHECK(rgcd_semaphore_signal(gate) >= 0);
  WAIT_UNTIL(atomic_load(&next_seq) == N, 30000);
  CHECK_EQ(atomic_load(&order_errors), 0);
  for (int i = 0; i < N; i++) {
    int want = i < N / 2 ? 1 : 2;
    if (atomic_load(&seen[i]) != want) {
      fprintf(stderr, "item %d saw target tag %d, want %d\n", i, atomic_load(&seen[i]), want);
      return 1;
    }
  }
  /* Idle retarget takes effect at once. */
  CHECK_OK(rgcd_set_target_queue(q, a));
  atomic_store(&next_seq, 0);
  CHECK_OK(rgcd_sync_f(q, (void *)(intptr_t)0, item));
  CHECK_EQ(atomic_load(&seen[0]), 1);
  CHECK_OK(rgcd_release(q));
  CHECK_OK(rgcd_release(a));
  CHECK_OK(rgcd_release(b));
  CHECK_OK(rgcd_release(gate));
  printf("retarget_active: ok\n");
  return 0;
}
