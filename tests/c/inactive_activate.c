/* inactive_activate: a queue created with RGCD_QUEUE_INACTIVE runs nothing until
 * rgcd_activate; its target may be set while inactive; a second activate changes nothing. */
#include "check.h"

#include <stdatomic.h>

#define ITEMS 20

static int order[ITEMS];
static atomic_int ran;
static atomic_int label_ok = 1;

static void work(void *ctx) {
  int n = atomic_fetch_add(&ran, 1);
  if (n < ITEMS) order[n] = (int)(intptr_t)ctx;
  const char *label = rgcd_queue_get_label(NULL);
  if (label == NULL || strcmp(label, "inactive_activate.q") != 0) atomic_store(&label_ok, 0);
}

static atomic_int concurrent_ran;
static void count(void *ctx) {
  (void)ctx;
  atomic_fetch_add(&concurrent_ran, 1);
}

int main(void) {
  start_watchdog(100);
  rgcd_queue_t target = rgcd_queue_create("inactive_activate.target", RGCD_QUEUE_SERIAL);
  CHECK(target != NULL);
  rgcd_queue_t q =
      rgcd_queue_create("inactive_activate.q", RGCD_QUEUE_SERIAL | RGCD_QUEUE_INACTIVE);
  CHECK(q != NULL);

  for (int i = 0; i < ITEMS; i++) CHECK_OK(rgcd_async_f(q, (void *)(intptr_t)i, work));
  sleep_ms(100);
  CHECK_EQ(atomic_load(&ran), 0);

  /* Retarget while inactive, and prove the new target is used: with the target suspended,
   * activating q still runs nothing. */
  CHECK_OK(rgcd_set_target_queue(q, target));
  CHECK_OK(rgcd_suspend(target));
  CHECK_OK(rgcd_activate(q));
  sleep_ms(100);
  CHECK_EQ(atomic_load(&ran), 0);
  CHECK_OK(rgcd_resume(target));
  WAIT_UNTIL(atomic_load(&ran) == ITEMS, 30000);
  for (int i = 0; i < ITEMS; i++) CHECK_EQ(order[i], i);
  CHECK(atomic_load(&label_ok));

  /* A second activate does nothing and returns 0 (as documented); work still runs once. */
  CHECK_OK(rgcd_activate(q));
  CHECK_OK(rgcd_sync_f(q, (void *)(intptr_t)ITEMS, work));
  sleep_ms(50);
  CHECK_EQ(atomic_load(&ran), ITEMS + 1);

  /* An inactive concurrent queue behaves the same. */
  rgcd_queue_t cq = rgcd_queue_create("inactive_activate.concurrent",
                                      RGCD_QUEUE_CONCURRENT | RGCD_QUEUE_INACTIVE);
  CHECK(cq != NULL);
  for (int i = 0; i < 10; i++) CHECK_OK(rgcd_async_f(cq, NULL, count));
  sleep_ms(100);
  CHECK_EQ(atomic_load(&concurrent_ran), 0);
  CHECK_OK(rgcd_activate(cq));
  WAIT_UNTIL(atomic_load(&concurrent_ran) == 10, 30000);
  sleep_ms(50);
  CHECK_EQ(atomic_load(&concurrent_ran), 10);

  CHECK_OK(rgcd_release(cq));
  CHECK_OK(rgcd_release(q));
  CHECK_OK(rgcd_release(target));
  return 0;
}
